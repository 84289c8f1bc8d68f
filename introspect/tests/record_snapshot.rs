//! Records tests/data/snapshot.txt from the model guest (two vCPUs), stopped at a real hit of
//! ip:::send on sdt_probe_stub. Symbols are stored under the roles the fake-target tests use.
//! Run by hand when the model guest or the fake changes:
//! `cargo test -p introspect --test record_snapshot -- --ignored`
mod common;

use std::time::Duration;

use common::model::{Model, SDT_PROBE_ID};
use common::snapshot::Snapshot;
use introspect::tdesc::includes;
use introspect::{Event, Journal, Kind, Options, Target};

#[test]
#[ignore = "writes tests/data/snapshot.txt; run by hand"]
fn record_snapshot() {
    let m = Model::boot(2, Some(0));
    let opts = Options {
        journal: Journal::Off,
        ..Options::default()
    };
    let mut t = Target::connect(&m.addr(), opts).unwrap();
    let stub = m.sym("sdt_probe_stub");
    t.write_memory(m.sym("sdt_ip___send") + SDT_PROBE_ID, &1u64.to_le_bytes())
        .unwrap();
    t.add_breakpoint(stub, Kind::EmulatedReturn).unwrap();
    let stop = t.resume_and_wait(Some(Duration::from_secs(20))).unwrap();
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
    // Role -> address: what the fake-target tests touch.
    let roles = [
        ("stub", stub),
        ("entry", m.sym("ip_output")),
        ("nested", m.sym("tcp_output")),
        ("code", m.sym("ip_output") + 0x40),
        ("string", m.sym("osrelease")),
        ("data", m.sym("sdt_ip___send") + SDT_PROBE_ID),
    ];
    for (role, addr) in roles {
        snap.symbols.insert(role.to_string(), addr);
        pages.push(addr);
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
