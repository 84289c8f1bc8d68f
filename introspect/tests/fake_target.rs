//! Client tests against the scripted fake target: milliseconds, no QEMU.
mod common;

use common::fake::{Fake, Quirks, ScriptStop};
use common::snapshot::Snapshot;
use introspect::{Journal, Options, Target};

fn opts() -> Options {
    Options {
        journal: Journal::Off,
        ..Options::default()
    }
}

#[test]
fn connects_and_reads_registers() {
    let snap = Snapshot::recorded();
    let fake = Fake::start(&snap, vec![], Quirks::default());
    let mut t = Target::connect(&fake.addr(), opts()).unwrap();
    let rip = t.reg("rip").unwrap();
    assert_eq!(rip, fake.vm().register(1, "rip"));
    let _ = ScriptStop {
        vcpu: 1,
        set: vec![],
    };
}
