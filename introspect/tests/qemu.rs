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
