//! Records tests/data/snapshot.txt from the QEMU test VM, stopped at a real hit of the
//! emulated-return function. Run by hand when the kernel or the fake changes:
//! `cargo test -p introspect --test record_snapshot -- --ignored`
mod common;

use std::time::Duration;

use common::qemu::{kernel, Boot, Vm};
use common::snapshot::Snapshot;
use introspect::tdesc::includes;
use introspect::{Event, Journal, Kind, Options, Target};

#[test]
#[ignore = "writes tests/data/snapshot.txt; run by hand"]
fn record_snapshot() {
    let vm = Vm::boot(Boot::default());
    let opts = Options {
        journal: Journal::Off,
        ..Options::default()
    };
    let mut t = Target::connect(&vm.addr, opts).unwrap();
    let stub = vm.sym("probe_stub");
    t.write_memory(vm.sym("probe_enabled"), &1u64.to_le_bytes())
        .unwrap();
    t.add_breakpoint(stub, Kind::EmulatedReturn).unwrap();
    let stop = t.resume_and_wait(Some(Duration::from_secs(10))).unwrap();
    assert!(matches!(stop.event, Event::Breakpoint { .. }));

    let mut snap = Snapshot::default();
    let top = t.rsp().read_xfer_features("target.xml").unwrap();
    for inc in includes(&top) {
        let x = t.rsp().read_xfer_features(&inc).unwrap();
        snap.xml.insert(inc, x);
    }
    snap.xml.insert("target.xml".into(), top);
    let mut pages = Vec::new();
    for v in t.vcpus().to_vec() {
        let r = t.registers_of(v).unwrap();
        pages.extend([r.rip(), r.rsp(), r.rsp() + 0x1000]);
        let mut raw = Vec::new();
        t.rsp().select_thread(v).unwrap();
        t.rsp().read_all_registers(&mut raw).unwrap();
        snap.regs.insert(v, raw);
    }
    let names = [
        "probe_stub",
        "traced_func",
        "recurse",
        "kmain",
        "marker",
        "objs",
        "loops",
        "pcpus",
    ];
    for n in names {
        snap.symbols.insert(n.to_string(), vm.sym(n));
        pages.push(vm.sym(n));
    }
    for (n, a) in &kernel().symbols {
        if ["probe_enabled", "stub_body_runs", "probe_sites"].contains(&n.as_str()) {
            snap.symbols.insert(n.clone(), *a);
            pages.push(*a);
        }
    }
    for p in pages {
        let page = p & !0xfff;
        let mut buf = vec![0u8; 4096];
        if t.read_memory(page, &mut buf).is_ok() {
            snap.pages.insert(page, buf);
        }
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/snapshot.txt");
    std::fs::write(&path, snap.to_text()).unwrap();
    t.detach().unwrap();
}
