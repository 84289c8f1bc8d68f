//! Client tests against the scripted fake target: milliseconds, no QEMU. The fake serves the
//! snapshot recorded from the model guest (stopped at a hit of ip:::send on `sdt_probe_stub`);
//! its symbols are stored by role: stub, entry, nested, code, string, data.
mod common;

use std::time::{Duration, Instant};

use common::fake::{Fake, Quirks, ResumeRecord, ScriptStop};
use common::snapshot::Snapshot;
use introspect::{Error, Event, Journal, Kind, MemError, Options, Target};

fn opts() -> Options {
    Options {
        journal: Journal::Off,
        timeout: Duration::from_secs(2),
        ..Options::default()
    }
}

fn stop(vcpu: u32, set: &[(&'static str, u64)]) -> ScriptStop {
    ScriptStop {
        vcpu,
        set: set.to_vec(),
    }
}

fn fake(script: Vec<ScriptStop>, quirks: Quirks) -> (Snapshot, Fake) {
    let snap = Snapshot::recorded();
    let f = Fake::start(&snap, script, quirks);
    (snap, f)
}

fn le_u64(snap_fake: &Fake, addr: u64) -> u64 {
    let vm = snap_fake.vm();
    let b: Vec<u8> = (0..8).map(|i| vm.byte(addr + i).expect("mapped")).collect();
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

#[test]
fn reads_registers_of_each_vcpu_from_the_layout() {
    let (snap, f) = fake(vec![], Quirks::default());
    let mut t = Target::connect(&f.addr(), opts()).unwrap();
    assert_eq!(t.vcpus(), &[1, 2]);
    for v in [1, 2] {
        let r = t.registers_of(v).unwrap();
        for name in ["rip", "rsp", "rdi", "gs_base", "cr3", "eflags", "efer"] {
            assert_eq!(
                r.get(name),
                Some(f.vm().register(v, name)),
                "vcpu {v} {name}"
            );
        }
    }
    // The recorded stop is at the stub on some vCPU; `p` agrees with `g`.
    let rip = t.reg("rip").unwrap();
    let regnum = t.layout().find("rip").unwrap().regnum;
    let v = t.stopped_vcpu().unwrap();
    t.rsp().select_thread(v).unwrap();
    let p = t.rsp().read_register(regnum).unwrap();
    assert_eq!(u64::from_le_bytes(p.try_into().unwrap()), rip);
    let at_stub = [1, 2]
        .iter()
        .any(|&v| f.vm().register(v, "rip") == snap.sym("stub"));
    assert!(at_stub && rip == f.vm().register(t.stopped_vcpu().unwrap(), "rip"));
}

#[test]
fn survives_unsolicited_stop_and_stray_acks() {
    let quirks = Quirks {
        unsolicited_stop: true,
        stray_acks: true,
        ..Quirks::default()
    };
    let (snap, f) = fake(vec![], quirks);
    let mut t = Target::connect(&f.addr(), opts()).unwrap();
    let mut release = [0u8; 13];
    t.read_memory(snap.sym("string"), &mut release).unwrap();
    assert_eq!(&release, b"10.4-RELEASE\0", "osrelease");
    assert!(t.rsp().unsolicited_stops() >= 1);
}

#[test]
fn uses_no_ack_mode_when_offered_and_never_acks_while_running() {
    for offer in [false, true] {
        let stub = Snapshot::recorded().sym("stub");
        let script = (0..5).map(|_| stop(1, &[("rip", stub)])).collect();
        let quirks = Quirks {
            offer_no_ack: offer,
            ..Quirks::default()
        };
        let (_, f) = fake(script, quirks);
        let o = Options {
            acks_while_stopped: true,
            ..opts()
        };
        let mut t = Target::connect(&f.addr(), o).unwrap();
        let rsp = t.reg("rsp").unwrap();
        t.add_breakpoint(stub, Kind::EmulatedReturn).unwrap();
        for _ in 0..5 {
            // Keep the stack where the recorded return address is.
            t.set_register("rsp", rsp).unwrap();
            let s = t.resume_and_wait(Some(Duration::from_secs(2))).unwrap();
            assert!(matches!(
                s.event,
                Event::Breakpoint {
                    kind: Kind::EmulatedReturn,
                    ..
                }
            ));
        }
        assert_eq!(f.vm().stray_bytes_while_running, 0, "offer_no_ack={offer}");
        t.detach().unwrap();
    }
}

#[test]
fn emulated_return_pops_the_return_address_without_stepping() {
    let snap = Snapshot::recorded();
    let stub = snap.sym("stub");
    let (_, f) = fake(
        vec![stop(2, &[("rip", stub)]), stop(1, &[("rip", stub)])],
        Quirks::default(),
    );
    let mut t = Target::connect(&f.addr(), opts()).unwrap();
    let bp = t.add_breakpoint(stub, Kind::EmulatedReturn).unwrap();
    let s = t.resume_and_wait(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(
        s.event,
        Event::Breakpoint {
            id: bp,
            kind: Kind::EmulatedReturn,
            addr: stub
        }
    );
    assert_eq!(s.vcpu, 2);
    let sp = t.registers().unwrap().rsp();
    let ret = le_u64(&f, sp);
    // The caller reads a stack argument before the return is emulated.
    assert_eq!(t.read_u64(sp + 8).unwrap(), le_u64(&f, sp + 8));
    let first = f.vm().resumes.len();
    let s = t.resume_and_wait(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(s.vcpu, 1);
    // One plain continue, with vCPU 2 already returned: RIP = [RSP], RSP + 8, no step.
    let vm = f.vm();
    assert_eq!(
        vm.resumes[first..],
        [ResumeRecord {
            vcpu: 2,
            rip: ret,
            rsp: sp + 8,
            step: false
        }]
    );
}

#[test]
fn entry_step_over_retries_spurious_steps_and_never_continues_from_the_breakpoint() {
    let snap = Snapshot::recorded();
    let f_addr = snap.sym("entry");
    let script = (0..6)
        .map(|i| stop(1 + (i % 2), &[("rip", f_addr)]))
        .collect();
    let quirks = Quirks {
        spurious_step_every: 2,
        ..Quirks::default()
    };
    let (_, f) = fake(script, quirks);
    let o = Options {
        emulate_push: false,
        ..opts()
    };
    let mut t = Target::connect(&f.addr(), o).unwrap();
    let bp = t.add_breakpoint(f_addr, Kind::Entry).unwrap();
    let mut hits = 0;
    loop {
        match t
            .resume_and_wait(Some(Duration::from_millis(300)))
            .unwrap()
            .event
        {
            Event::Breakpoint { id, .. } => {
                assert_eq!(id, bp);
                hits += 1;
            }
            Event::Interrupted => break,
            e => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(hits, 6, "one event per scripted hit, no duplicates");
    assert!(t.stats().spurious_steps >= 2, "{:?}", t.stats());
    let vm = f.vm();
    assert!(
        vm.resumes.iter().all(|r| r.step || r.rip != f_addr),
        "continued from the breakpoint PC: {:?}",
        vm.resumes
    );
    // The breakpoint stayed inserted through the steps (TCG mode: no z/Z per hit).
    assert!(vm.bps.contains(&f_addr));
}

#[test]
fn an_entry_push_is_executed_host_side_in_one_stop() {
    let snap = Snapshot::recorded();
    let f_addr = snap.sym("entry");
    assert_eq!(
        snap.pages[&(f_addr & !0xfff)][(f_addr & 0xfff) as usize],
        0x55,
        "push %rbp"
    );
    let (_, f) = fake(
        vec![stop(1, &[("rip", f_addr)]), stop(1, &[("rip", f_addr)])],
        Quirks::default(),
    );
    let mut t = Target::connect(&f.addr(), opts()).unwrap();
    t.add_breakpoint(f_addr, Kind::Entry).unwrap();
    t.resume_and_wait(Some(Duration::from_secs(2))).unwrap();
    let (sp, rbp) = (t.reg("rsp").unwrap(), t.reg("rbp").unwrap());
    let first = f.vm().resumes.len();
    t.resume_and_wait(Some(Duration::from_secs(2))).unwrap();
    let vm = f.vm();
    assert_eq!(
        vm.resumes[first..],
        [ResumeRecord {
            vcpu: 1,
            rip: f_addr + 1,
            rsp: sp - 8,
            step: false
        }]
    );
    let pushed: Vec<u8> = (0..8).map(|i| vm.byte(sp - 8 + i).unwrap()).collect();
    assert_eq!(pushed, rbp.to_le_bytes());
}

#[test]
fn return_catches_pair_by_stack_pointer_across_recursion_and_vcpus() {
    let snap = Snapshot::recorded();
    let entry = snap.sym("nested");
    let ra = snap.sym("code");
    let (_, f) = fake(vec![], Quirks::default());
    // Frames above where the vCPUs stand, clear of anything the client itself pushes.
    let s1 = (f.vm().register(1, "rsp") + 0x400) & !0xf;
    let s2 = (f.vm().register(2, "rsp") + 0x400) & !0xf;
    let (inner, foreign) = (s1 - 0x40, s1 - 0x80);
    {
        let mut vm = f.vm();
        for sp in [s1, s2, inner, foreign] {
            for (i, b) in ra.to_le_bytes().iter().enumerate() {
                let page = vm
                    .pages
                    .get_mut(&((sp + i as u64) & !0xfff))
                    .expect("stack page");
                page[((sp + i as u64) & 0xfff) as usize] = *b;
            }
        }
        vm.script.extend([
            stop(1, &[("rip", entry), ("rsp", s1)]),
            stop(2, &[("rip", entry), ("rsp", s2)]),
            stop(1, &[("rip", entry), ("rsp", inner)]),
            stop(1, &[("rip", ra), ("rsp", inner + 8)]),
            stop(1, &[("rip", ra), ("rsp", foreign + 8)]),
            stop(2, &[("rip", ra), ("rsp", s2 + 8)]),
            stop(1, &[("rip", ra), ("rsp", s1 + 8)]),
        ]);
    }
    let mut t = Target::connect(&f.addr(), opts()).unwrap();
    let bp = t.add_breakpoint(entry, Kind::Entry).unwrap();
    let mut tags = Vec::new();
    let mut returns = Vec::new();
    for i in 0..6 {
        let s = t.resume_and_wait(Some(Duration::from_secs(2))).unwrap();
        match s.event {
            Event::Breakpoint { id, .. } => {
                let tag = 10 + i;
                t.catch_return(id, tag).unwrap();
                tags.push((tag, s.vcpu));
            }
            Event::Return { entry: e, tag, .. } => {
                assert_eq!(e, bp);
                returns.push((tag, s.vcpu, t.reg("rsp").unwrap()));
            }
            e => panic!("unexpected {e:?}"),
        }
    }
    // Innermost first, the other vCPU's own call next, the outer call last; the return at the
    // foreign frame was stepped over silently.
    assert_eq!(tags, vec![(10, 1), (11, 2), (12, 1)]);
    assert_eq!(
        returns,
        vec![(12, 1, inner + 8), (11, 2, s2 + 8), (10, 1, s1 + 8)]
    );
    assert_eq!(t.stats().foreign_returns, 1);
    // With no call left to catch, the return breakpoint is gone at the next resume.
    let s = t.resume_and_wait(Some(Duration::from_millis(200))).unwrap();
    assert_eq!(s.event, Event::Interrupted);
    let bps = f.vm().bps.clone();
    assert!(!bps.contains(&ra) && bps.contains(&entry), "{bps:x?}");
}

#[test]
fn unmapped_memory_is_an_error_value() {
    let (snap, f) = fake(vec![], Quirks::default());
    let mut t = Target::connect(&f.addr(), opts()).unwrap();
    let mut b = [0u8; 16];
    assert_eq!(
        t.read_memory(0x1000, &mut b),
        Err(MemError::Unmapped { addr: 0x1000 })
    );
    // A read that runs off the end of a mapped page fails at the first unmapped byte.
    let page = *snap
        .pages
        .keys()
        .find(|&&p| !snap.pages.contains_key(&(p + 0x1000)))
        .unwrap();
    let mut big = vec![0u8; 0x1800];
    assert_eq!(
        t.read_memory(page + 0x800, &mut big),
        Err(MemError::Unmapped {
            addr: page + 0x1000
        })
    );
    assert!(matches!(
        t.write_memory(0x1000, &[1]),
        Err(Error::Memory(MemError::Unmapped { .. }))
    ));
    assert!(
        t.changes().is_empty(),
        "a failed write leaves nothing to undo"
    );
}

#[test]
fn a_peer_that_hangs_up_is_a_clear_error() {
    let quirks = Quirks {
        hang_up_after: Some(12),
        ..Quirks::default()
    };
    let (snap, f) = fake(vec![], quirks);
    let mut t = Target::connect(&f.addr(), opts()).unwrap();
    let mut err = None;
    for _ in 0..20 {
        let mut b = [0u8; 8];
        t.rsp().select_thread(1).unwrap_or(());
        if let Err(e) = t.rsp().read_memory(snap.sym("string"), &mut b) {
            err = Some(e);
            break;
        }
    }
    assert!(matches!(err, Some(Error::Closed)), "{err:?}");
}

#[test]
fn a_peer_that_stalls_times_out() {
    let quirks = Quirks {
        stall_after: Some(12),
        ..Quirks::default()
    };
    let (snap, f) = fake(vec![], quirks);
    let o = Options {
        timeout: Duration::from_millis(200),
        ..opts()
    };
    let mut t = Target::connect(&f.addr(), o).unwrap();
    let start = Instant::now();
    let mut err = None;
    for _ in 0..20 {
        let mut b = [0u8; 8];
        if let Err(e) = t.read_memory(snap.sym("string") + 0x100, &mut b) {
            err = Some(e);
            break;
        }
    }
    assert!(start.elapsed() < Duration::from_secs(2));
    let msg = err.expect("stalled peer must fail").to_string();
    assert!(msg.contains("did not answer within"), "{msg}");
}

fn plant_and_write(t: &mut Target, snap: &Snapshot) -> (u64, u64, u8) {
    let data = snap.sym("data");
    let code = snap.sym("entry");
    t.add_breakpoint(code, Kind::Entry).unwrap();
    t.add_breakpoint(snap.sym("stub"), Kind::EmulatedReturn)
        .unwrap();
    let before = snap.pages[&(data & !0xfff)][(data & 0xfff) as usize];
    t.write_memory(data, &[0x5a; 8]).unwrap();
    t.write_memory(data, &[0x7b; 4]).unwrap();
    (data, code, before)
}

fn assert_restored(f: &Fake, snap: &Snapshot, data: u64) {
    // The fake marks the VM running once its session with the client has ended.
    let start = Instant::now();
    while !f.vm().running && start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let vm = f.vm();
    assert!(vm.bps.is_empty(), "breakpoints left: {:?}", vm.bps);
    for i in 0..8 {
        let orig = snap.pages[&(data & !0xfff)][((data + i) & 0xfff) as usize];
        assert_eq!(vm.byte(data + i), Some(orig), "byte {i}");
    }
    assert!(vm.running, "VM left stopped");
}

#[test]
fn detach_and_drop_undo_everything_and_leave_the_vm_running() {
    for by_drop in [false, true] {
        let (snap, f) = fake(vec![], Quirks::default());
        let mut t = Target::connect(&f.addr(), opts()).unwrap();
        let (data, _, before) = plant_and_write(&mut t, &snap);
        assert_ne!(f.vm().byte(data), Some(before));
        assert_eq!(f.vm().bps.len(), 2);
        if by_drop {
            drop(t);
        } else {
            let r = t.detach().unwrap();
            assert_eq!((r.breakpoints_removed, r.writes_restored), (2, 2));
        }
        assert_restored(&f, &snap, data);
    }
}

#[test]
fn cleanup_handle_from_another_thread_ends_a_wait_and_restores() {
    let (snap, f) = fake(vec![], Quirks::default());
    let mut t = Target::connect(&f.addr(), opts()).unwrap();
    let (data, _, _) = plant_and_write(&mut t, &snap);
    let cleanup = t.cleanup_handle();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        cleanup.trigger();
    });
    let r = t.resume_and_wait(None);
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    h.join().unwrap();
    assert_restored(&f, &snap, data);
    assert!(matches!(t.registers(), Err(Error::Cancelled)));
}

#[test]
fn interrupter_and_wait_timeout_stop_a_running_vm() {
    let (_, f) = fake(vec![], Quirks::default());
    let mut t = Target::connect(&f.addr(), opts()).unwrap();
    let i = t.interrupter();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        i.interrupt();
    });
    assert_eq!(t.resume_and_wait(None).unwrap().event, Event::Interrupted);
    h.join().unwrap();
    let start = Instant::now();
    assert_eq!(
        t.resume_and_wait(Some(Duration::from_millis(50)))
            .unwrap()
            .event,
        Event::Interrupted
    );
    assert!(start.elapsed() >= Duration::from_millis(50));
    t.resume().unwrap();
    assert_eq!(t.interrupt().unwrap().event, Event::Interrupted);
}

#[test]
fn journal_left_by_a_dead_tracer_is_undone_on_connect() {
    let (snap, f) = fake(vec![], Quirks::default());
    let data = snap.sym("data");
    let code = snap.sym("entry");
    let original: Vec<u8> = (0..8).map(|i| f.vm().byte(data + i).unwrap()).collect();
    let stub = snap.sym("stub");
    // What a tracer killed with SIGKILL leaves: a breakpoint, written bytes, a vCPU stopped at
    // the entry of a function whose body must not run, and its journal.
    let (sp, ret) = {
        let mut vm = f.vm();
        vm.set_reg(2, "rip", stub);
        let sp = vm.register(2, "rsp");
        let ret: Vec<u8> = (0..8).map(|i| vm.byte(sp + i).unwrap()).collect();
        vm.bps.push(code);
        (sp, u64::from_le_bytes(ret.try_into().unwrap()))
    };
    {
        let mut vm = f.vm();
        for i in 0..8 {
            let page = vm.pages.get_mut(&(data & !0xfff)).unwrap();
            page[((data + i) & 0xfff) as usize] = 0x11;
        }
    }
    let dir = std::env::temp_dir().join(format!("introspect-journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let journal = dir.join("undo.journal");
    let mut text =
        format!("guestrace-undo 1\nbp sw {stub:x}\nret {stub:x}\nbp sw {code:x}\nwrite {data:x} ");
    text += &original
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    text += " 1111111111111111\n";
    std::fs::write(&journal, text).unwrap();
    let o = Options {
        journal: Journal::At(journal.clone()),
        ..opts()
    };
    let t = Target::connect(&f.addr(), o).unwrap();
    let rep = t.recovered().cloned().expect("recovery ran");
    assert_eq!(
        (
            rep.breakpoints_removed,
            rep.writes_restored,
            rep.returns_finished
        ),
        (2, 1, 1)
    );
    assert!(f.vm().bps.is_empty());
    // The vCPU at the stub returned instead of running it.
    let (rip2, rsp2) = {
        let vm = f.vm();
        (vm.register(2, "rip"), vm.register(2, "rsp"))
    };
    assert_eq!((rip2, rsp2), (ret, sp + 8));
    let now: Vec<u8> = (0..8).map(|i| f.vm().byte(data + i).unwrap()).collect();
    assert_eq!(now, original);
    assert!(!journal.exists());
    drop(t);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn monitor_commands_and_raw_register_block() {
    let (_, f) = fake(vec![], Quirks::default());
    let mut t = Target::connect(&f.addr(), opts()).unwrap();
    let out = t.rsp().monitor("info version").unwrap();
    assert_eq!(out.trim(), "fake monitor: info version");
    assert!(
        f.vm().monitor.contains(&"info kvm".to_string()),
        "step-over mode probed"
    );
    let mut raw = Vec::new();
    t.rsp().read_all_registers(&mut raw).unwrap();
    assert_eq!(raw.len(), t.layout().g_len());
    let rax = t.layout().find("rax").unwrap().clone();
    raw[rax.offset..rax.offset + 8].copy_from_slice(&0x1122334455667788u64.to_le_bytes());
    t.rsp().write_all_registers(&raw).unwrap();
    let v = t.stopped_vcpu().unwrap();
    assert_eq!(f.vm().register(v, "rax"), 0x1122334455667788);
}

#[test]
fn a_breakpoint_left_by_someone_else_is_reported_not_spun_on() {
    let (snap, f) = fake(vec![], Quirks::default());
    let code = snap.sym("code");
    {
        // Not ours: planted in the stub before we came, with the vCPU standing on it.
        let mut vm = f.vm();
        vm.bps.push(code);
        let cur = vm.current;
        vm.set_reg(cur, "rip", code);
    }
    let mut t = Target::connect(&f.addr(), opts()).unwrap();
    match t.resume_and_wait(Some(Duration::from_secs(10))) {
        Err(Error::Breakpoint { addr, reason }) => {
            assert_eq!(addr, code);
            assert!(reason.contains("times in a row"), "{reason}");
        }
        other => panic!("expected a loop report, got {other:?}"),
    }
    assert!(t.stats().spurious_stops >= 1000);
}
