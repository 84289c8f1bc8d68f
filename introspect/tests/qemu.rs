//! Tests against a real QEMU 7.2 running the test kernel under TCG.
mod common;

use std::time::Duration;

use common::qemu::{Boot, Vm};
use introspect::{Event, Journal, Kind, Options, RamStatus, Target};

fn opts(vm: &Vm) -> Options {
    Options {
        ram_file: Some(vm.ram.clone()),
        journal: Journal::At(vm.dir.join("undo.journal")),
        ..Options::default()
    }
}

#[test]
fn attach_reads_both_vcpus() {
    let vm = Vm::boot(Boot::default());
    let mut t = Target::connect(&vm.addr, opts(&vm)).unwrap();
    assert_eq!(t.ram_status(), &RamStatus::Active);
    assert_eq!(t.vcpus(), &[1, 2]);
    let pcpus = vm.sym("pcpus");
    for v in [1u32, 2] {
        let r = t.registers_of(v).unwrap();
        // Each vCPU set GS_BASE to its own pcpu (struct pcpu is 64 bytes).
        assert_eq!(
            r.get("gs_base"),
            Some(pcpus + 64 * u64::from(v - 1)),
            "vcpu {v}"
        );
        assert_eq!(r.get("k_gs_base"), Some(0x7ffffffff000));
        let cr3 = r.get("cr3").unwrap();
        assert_eq!(cr3 & !0xfff, vm.sym("pml4"), "vcpu {v} cr3");
        assert!(r.rip() >= 0xffffffff80200000, "vcpu {v} rip {:#x}", r.rip());
    }
    let mut marker = [0u8; 27];
    t.read_memory(vm.sym("marker"), &mut marker).unwrap();
    assert_eq!(&marker, b"introspect test kernel data");
    t.detach().unwrap();
}

#[test]
fn entry_breakpoint_hits_on_both_vcpus() {
    let vm = Vm::boot(Boot::default());
    let mut t = Target::connect(&vm.addr, opts(&vm)).unwrap();
    let f = vm.sym("traced_func");
    let bp = t.add_breakpoint(f, Kind::Entry).unwrap();
    let objs = vm.sym("objs");
    let mut seen = [0u32; 3];
    for _ in 0..200 {
        let s = t.resume_and_wait(Some(Duration::from_secs(10))).unwrap();
        assert_eq!(
            s.event,
            Event::Breakpoint {
                id: bp,
                kind: Kind::Entry,
                addr: f
            }
        );
        let r = t.registers().unwrap();
        assert_eq!(r.rip(), f);
        // traced_func(&objs[cpu], loops[cpu]): the first argument names the vCPU.
        let cpu = (r.arg(0).unwrap() - objs) / 32;
        assert_eq!(
            u64::from(s.vcpu - 1),
            cpu,
            "stop on vcpu {} with objs[{cpu}]",
            s.vcpu
        );
        seen[s.vcpu as usize] += 1;
    }
    assert!(seen[1] > 0 && seen[2] > 0, "hits per vcpu {seen:?}");
    t.detach().unwrap();
}

#[test]
fn works_over_tcp() {
    let vm = Vm::boot(Boot { smp: 1, tcp: true });
    let mut t = Target::connect(&vm.addr, opts(&vm)).unwrap();
    assert_eq!(t.vcpus(), &[1]);
    let f = vm.sym("traced_func");
    t.add_breakpoint(f, Kind::Entry).unwrap();
    for _ in 0..20 {
        let s = t.resume_and_wait(Some(Duration::from_secs(10))).unwrap();
        assert!(matches!(s.event, Event::Breakpoint { addr, .. } if addr == f));
        assert_eq!(t.registers().unwrap().arg(0), Some(vm.sym("objs")));
    }
    // Over TCP there is no peer process to read registers from: every stop used `g`.
    assert!(!t.registers_mirrored());
    assert_eq!(t.stats().mirrored_registers, 0);
    t.detach().unwrap();
}

#[test]
fn registers_read_from_qemus_memory_equal_the_stubs_on_both_vcpus() {
    let vm = Vm::boot(Boot::default());
    let mut t = Target::connect(&vm.addr, opts(&vm)).unwrap();
    assert!(t.registers_mirrored(), "QEMU's register blocks not found");
    let layout = t.layout().clone();
    let names = [
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15", "rip", "gs_base", "cr0", "cr3", "cr4", "efer",
    ];
    let f = vm.sym("traced_func");
    t.add_breakpoint(f, Kind::Entry).unwrap();
    let mut per_vcpu = [0u32; 3];
    for _ in 0..60 {
        let s = t.resume_and_wait(Some(Duration::from_secs(10))).unwrap();
        let mirrored = t.registers().unwrap().clone();
        // The same registers by `g`, straight from the stub.
        let mut raw = Vec::new();
        t.rsp().select_thread(s.vcpu).unwrap();
        t.rsp().read_all_registers(&mut raw).unwrap();
        for name in names {
            let r = layout.find(name).unwrap();
            let mut b = [0u8; 8];
            b[..r.size.min(8)].copy_from_slice(&raw[r.offset..r.offset + r.size.min(8)]);
            assert_eq!(
                mirrored.get(name),
                Some(u64::from_le_bytes(b)),
                "{name} on vCPU {}",
                s.vcpu
            );
        }
        per_vcpu[s.vcpu as usize] += 1;
    }
    assert!(per_vcpu[1] > 0 && per_vcpu[2] > 0, "{per_vcpu:?}");
    // After the first checks, stops no longer needed `g`.
    assert!(t.stats().mirrored_registers >= 50, "{:?}", t.stats());
    t.detach().unwrap();
}

#[test]
fn emulated_return_skips_the_body_and_hands_over_every_argument() {
    for (via_pointer, gadget) in [(false, false), (true, false), (true, true)] {
        emulated_return(via_pointer, gadget);
    }
}

fn emulated_return(via_pointer: bool, gadget: bool) {
    let vm = Vm::boot(Boot::default());
    let mut t = Target::connect(&vm.addr, opts(&vm)).unwrap();
    let stub = vm.sym("probe_stub");
    t.write_memory(vm.sym("probe_enabled"), &1u64.to_le_bytes())
        .unwrap();
    let bp = t.add_breakpoint(stub, Kind::EmulatedReturn).unwrap();
    if via_pointer {
        t.watch_pointer(bp, vm.sym("probe_func")).unwrap();
    }
    if gadget {
        // Returns resume at the stub's own `pop %rbp; ret`'s ret.
        let mut code = [0u8; 32];
        t.read_memory(stub, &mut code).unwrap();
        let at = code.windows(2).position(|w| w == [0x5d, 0xc3]).unwrap();
        assert!(t.set_return_gadget(stub + at as u64).is_err(), "not a ret");
        t.set_return_gadget(stub + at as u64 + 1).unwrap();
    }
    let mut hits = [0u64; 3];
    for _ in 0..300 {
        let s = t.resume_and_wait(Some(Duration::from_secs(10))).unwrap();
        let want = Event::Breakpoint {
            id: bp,
            kind: Kind::EmulatedReturn,
            addr: stub,
        };
        assert_eq!(s.event, want);
        let cpu = u64::from(s.vcpu - 1);
        let r = t.registers().unwrap().clone();
        // probe_func(cpu + 1, 0x1000 + cpu, 0x2000, 0x3000, 0x4000, 0x5000, 0xabc0 + cpu)
        let args: Vec<u64> = (0..6).map(|i| r.arg(i).unwrap()).collect();
        assert_eq!(
            args,
            vec![cpu + 1, 0x1000 + cpu, 0x2000, 0x3000, 0x4000, 0x5000]
        );
        assert_eq!(
            t.read_u64(r.rsp() + 8).unwrap(),
            0xabc0 + cpu,
            "stack argument"
        );
        hits[s.vcpu as usize] += 1;
    }
    assert!(hits[1] > 0 && hits[2] > 0, "{hits:?}");
    // With the pointer watched, most calls are caught at the watchpoint; every 8th call site
    // loads the pointer first, and the breakpoint, moved past the stub's push, catches those.
    let (watched, net) = (t.stats().watch_events, t.stats().net_hits);
    if via_pointer {
        assert!(watched >= 200, "{watched} watchpoint events");
        assert!(net >= 5, "{net} calls caught past the push");
        assert_eq!(watched + net, 300, "every event is one or the other");
    } else {
        assert_eq!((watched, net), (0, 0));
    }
    let report = t.detach().unwrap();
    let planted = if via_pointer { 2 } else { 1 };
    assert_eq!(
        (report.breakpoints_removed, report.writes_restored),
        (planted, 1)
    );
    // From a fresh connection: the body never ran, and every call site reached was one hit.
    let mut t = Target::connect(&vm.addr, opts(&vm)).unwrap();
    assert_eq!(t.read_u64(vm.sym("stub_body_runs")).unwrap(), 0);
    assert_eq!(t.read_u64(vm.sym("probe_enabled")).unwrap(), 0);
    let sites_at = vm.sym("probe_sites");
    let sites = t.read_u64(sites_at).unwrap() + t.read_u64(sites_at + 8).unwrap();
    let total = hits[1] + hits[2];
    // A vCPU may have counted a site and been stopped before its call when we detached.
    assert!(
        (total..=total + 2).contains(&sites),
        "{sites} sites, {total} hits"
    );
    t.detach().unwrap();
}

#[test]
fn return_catches_pair_with_their_calls_through_recursion_on_two_vcpus() {
    let vm = Vm::boot(Boot::default());
    let mut t = Target::connect(&vm.addr, opts(&vm)).unwrap();
    let entry = vm.sym("recurse");
    let bp = t.add_breakpoint(entry, Kind::Entry).unwrap();
    let mut open = std::collections::HashMap::new();
    let (mut returns, mut per_vcpu) = (0, [0u32; 3]);
    for _ in 0..400 {
        let s = t.resume_and_wait(Some(Duration::from_secs(10))).unwrap();
        let r = t.registers().unwrap().clone();
        match s.event {
            Event::Breakpoint { id, .. } => {
                assert_eq!(id, bp);
                let n = r.arg(0).unwrap();
                let call = t.catch_return(id, n).unwrap();
                open.insert(call, (s.vcpu, r.rsp(), n));
            }
            Event::Return {
                call,
                tag,
                entry: e,
            } => {
                assert_eq!(e, bp);
                let (vcpu, sp, n) = open.remove(&call).expect("return of a caught call");
                assert_eq!((s.vcpu, r.rsp(), tag), (vcpu, sp + 8, n));
                // recurse(n) returns n(n+1)/2: the value proves it is this frame's return.
                assert_eq!(r.get("rax"), Some(n * (n + 1) / 2));
                returns += 1;
                per_vcpu[s.vcpu as usize] += 1;
            }
            e => panic!("unexpected {e:?}"),
        }
    }
    assert!(
        returns > 100 && per_vcpu[1] > 0 && per_vcpu[2] > 0,
        "{returns} {per_vcpu:?}"
    );
    assert!(open.len() <= 8, "calls never returned: {}", open.len());
    t.detach().unwrap();
}

#[test]
fn shared_ram_reads_match_the_stub_for_all_page_sizes() {
    let vm = Vm::boot(Boot { smp: 1, tcp: false });
    let mut t = Target::connect(&vm.addr, opts(&vm)).unwrap();
    // 2 MiB pages (kernel), 4 KiB pages (the window, mapped in reverse), 1 GiB pages (low
    // identity map), across page boundaries and larger than one `m`.
    let cases = [
        (vm.sym("marker"), 64usize),
        (vm.sym("kmain"), 0x2100),
        (0xffffffffc0000ff0, 0x20),
        (0xffffffffc0000000, 0x4000),
        (0x100000, 0x3000),
    ];
    for (addr, len) in cases {
        let mut via_ram = vec![0u8; len];
        let mut via_stub = vec![0u8; len];
        let before = t.stats().ram_reads;
        t.read_memory(addr, &mut via_ram).unwrap();
        assert!(
            t.stats().ram_reads > before,
            "{addr:#x} not served from RAM"
        );
        t.rsp().read_memory(addr, &mut via_stub).unwrap();
        assert!(via_ram == via_stub, "{addr:#x}+{len:#x} differs");
    }
    // Window page 0 is window_data[3]: the walk really went through the 4 KiB table.
    assert_eq!(
        t.read_u64(0xffffffffc0000008).unwrap(),
        0x5749_0003_0000_0008
    );
    let mut b = [0u8; 8];
    let bad = 0xffff_8000_0000_0000;
    assert_eq!(
        t.read_memory(bad, &mut b),
        Err(introspect::MemError::Unmapped { addr: bad })
    );
    t.detach().unwrap();
}

#[test]
fn a_ram_file_of_another_guest_is_detected_and_not_used() {
    let vm = Vm::boot(Boot { smp: 1, tcp: false });
    let other = vm.dir.join("other.ram");
    std::fs::write(&other, vec![0x5au8; 64 << 20]).unwrap();
    let o = Options {
        ram_file: Some(other),
        ..opts(&vm)
    };
    let mut t = Target::connect(&vm.addr, o).unwrap();
    match t.ram_status() {
        RamStatus::Disabled(why) => assert!(why.contains("does not hold this guest"), "{why}"),
        s => panic!("{s:?}"),
    }
    let mut marker = [0u8; 27];
    t.read_memory(vm.sym("marker"), &mut marker).unwrap();
    assert_eq!(&marker, b"introspect test kernel data");
    assert_eq!(t.stats().ram_reads, 0);
    t.detach().unwrap();
}
