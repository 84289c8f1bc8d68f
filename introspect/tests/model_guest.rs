//! End-to-end checks against the model guest (the FreeBSD 10.4-shaped kernel in guests/):
//! enable an SDT probe the way guestrace does, take it with an emulated return (breakpoint and
//! pointer watch), an entry breakpoint on ip_output, and leave the guest as it was.
mod common;

use std::time::Duration;

use common::model::{Model, SDT_PROBE_ID, SDT_PROBE_SIZE};
use introspect::{Event, Journal, Kind, Options, RamStatus, Target};

fn connect(m: &Model) -> Target {
    let o = Options {
        ram_file: Some(m.guest.ram_file().to_path_buf()),
        journal: Journal::At(m.guest.run_dir().join("introspect.journal")),
        ..Options::default()
    };
    Target::connect(&m.addr(), o).expect("connect")
}

fn serial(m: &Model) -> String {
    std::fs::read_to_string(m.guest.serial_log()).unwrap_or_default()
}

#[test]
fn sdt_probe_taken_by_emulated_return_and_restored() {
    let m = Model::boot(2, Some(0));
    let probe = m.sym("sdt_ip___send");
    let stub = m.sym("sdt_probe_stub");
    for via_pointer in [false, true] {
        let mut t = connect(&m);
        assert_eq!(t.ram_status(), &RamStatus::Active);
        // freebsd10.md §1.7: the hook must still be the stub, the probe's id 0.
        assert_eq!(t.read_u64(m.sym("sdt_probe_func")).unwrap(), stub);
        let mut version = [0u8; 4];
        t.read_memory(probe, &mut version).unwrap();
        assert_eq!(
            u32::from_le_bytes(version),
            SDT_PROBE_SIZE,
            "struct sdt_probe layout"
        );
        assert_eq!(t.read_u64(probe + SDT_PROBE_ID).unwrap(), 0);
        let id = 7u64;
        t.write_memory(probe + SDT_PROBE_ID, &id.to_le_bytes())
            .unwrap();
        let bp = t.add_breakpoint(stub, Kind::EmulatedReturn).unwrap();
        if via_pointer {
            t.watch_pointer(bp, m.sym("sdt_probe_func")).unwrap();
        }
        let mut per_vcpu = [0u32; 3];
        for _ in 0..200 {
            let s = t.resume_and_wait(Some(Duration::from_secs(20))).unwrap();
            assert_eq!(
                s.event,
                Event::Breakpoint {
                    id: bp,
                    kind: Kind::EmulatedReturn,
                    addr: stub
                }
            );
            let r = t.registers().unwrap().clone();
            assert_eq!(
                r.arg(0).unwrap() & 0xffff_ffff,
                id,
                "edi carries the probe id"
            );
            // ip:::send(NULL, NULL, ip, ifp, ip, ip6): args[2] (rcx) and args[3] (r8) are
            // kernel pointers; args[5] sits on the stack, past the return address.
            for a in [3, 4] {
                let p = r.arg(a).unwrap();
                assert!(p >= 0xffff_8000_0000_0000, "arg {a} = {p:#x}");
                t.read_u64(p).unwrap();
            }
            t.read_u64(r.rsp() + 8).unwrap();
            per_vcpu[s.vcpu as usize] += 1;
        }
        assert!(per_vcpu[1] > 0 && per_vcpu[2] > 0, "{per_vcpu:?}");
        if via_pointer {
            // Every site is `call *sdt_probe_func(%rip)`: each call is one watch stop at the
            // stub's entry, reported as the event (no breakpoint stop, no double count).
            let st = t.stats();
            assert_eq!(st.watch_events, st.events, "{st:?}");
            assert_eq!(st.watch_stops, st.watch_events, "{st:?}");
        }
        t.detach().unwrap();
    }
    let mut t = connect(&m);
    assert_eq!(t.read_u64(probe + SDT_PROBE_ID).unwrap(), 0, "id restored");
    let (event, progressed) = m.run_a_while(&mut t);
    assert_eq!(event, Event::Interrupted, "no breakpoint left behind");
    assert!(progressed, "the guest makes progress");
    t.detach().unwrap();
    assert!(
        !serial(&m).contains("sdt_probe_stub: unexpectedly called"),
        "stub body ran"
    );
}

#[test]
fn entry_breakpoint_on_ip_output_runs_its_push_host_side() {
    let m = Model::boot(2, Some(0));
    let f = m.sym("ip_output");
    let mut t = connect(&m);
    let bp = t.add_breakpoint(f, Kind::Entry).unwrap();
    let mut per_vcpu = [0u32; 3];
    for _ in 0..200 {
        let s = t.resume_and_wait(Some(Duration::from_secs(20))).unwrap();
        assert_eq!(
            s.event,
            Event::Breakpoint {
                id: bp,
                kind: Kind::Entry,
                addr: f
            }
        );
        // ip_output(struct mbuf *m, ...): a kernel pointer in rdi; its first word readable.
        let mbuf = t.registers().unwrap().arg(0).unwrap();
        assert!(mbuf >= 0xffff_8000_0000_0000, "{mbuf:#x}");
        t.read_u64(mbuf).unwrap();
        per_vcpu[s.vcpu as usize] += 1;
    }
    assert!(per_vcpu[1] > 0 && per_vcpu[2] > 0, "{per_vcpu:?}");
    assert_eq!(t.stats().spurious_steps, 0);
    // g, M (the push), P rsp, P rip, vCont;c: five packets and one stop per event.
    let packets = t.rsp().packets_sent();
    assert!(packets < 200 * 6 + 100, "{packets} packets for 200 events");
    t.detach().unwrap();
    assert!(
        !serial(&m).contains("panic"),
        "guest panicked:\n{}",
        serial(&m)
    );
}

#[test]
fn return_of_tcp_output_pairs_with_its_call() {
    let m = Model::boot(2, Some(0));
    let f = m.sym("tcp_output");
    let mut t = connect(&m);
    let bp = t.add_breakpoint(f, Kind::Entry).unwrap();
    let mut open = std::collections::HashMap::new();
    let mut returns = 0;
    for _ in 0..200 {
        let s = t.resume_and_wait(Some(Duration::from_secs(20))).unwrap();
        let sp = t.registers().unwrap().rsp();
        match s.event {
            Event::Breakpoint { id, .. } => {
                let tp = t.registers().unwrap().arg(0).unwrap();
                let call = t.catch_return(id, tp).unwrap();
                open.insert(call, sp);
            }
            Event::Return { call, entry, .. } => {
                assert_eq!(entry, bp);
                let at_entry = open.remove(&call).expect("a caught call");
                assert_eq!(sp, at_entry + 8);
                returns += 1;
            }
            e => panic!("unexpected {e:?}"),
        }
    }
    assert!(returns > 50, "{returns}");
    t.detach().unwrap();
}
