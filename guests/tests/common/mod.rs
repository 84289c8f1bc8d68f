//! Helpers shared by the model guest's integration tests.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use guests::model::ground_truth::GroundTruth;
use guests::model::{BootOptions, ModelGuest};

/// Boots the guest and waits until every CPU has completed `rounds` rounds.
pub fn boot_rounds(opts: &BootOptions, rounds: usize) -> (ModelGuest, GroundTruth) {
    let mut guest = ModelGuest::boot(opts).unwrap_or_else(|e| panic!("boot failed: {e}"));
    let gt = wait_rounds(&mut guest, rounds, Duration::from_secs(120));
    (guest, gt)
}

/// The ground truth once each CPU has `rounds` complete rounds.
pub fn wait_rounds(guest: &mut ModelGuest, rounds: usize, timeout: Duration) -> GroundTruth {
    guest
        .wait_rounds(rounds, timeout)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until the serial log contains `needle`.
pub fn wait_for_text(log: &Path, needle: &str, timeout: Duration) -> String {
    let start = Instant::now();
    loop {
        let text = String::from_utf8_lossy(&std::fs::read(log).unwrap_or_default()).into_owned();
        if text.contains(needle) {
            return text;
        }
        assert!(
            start.elapsed() < timeout,
            "{needle:?} not on the console after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs Debian's gdb in batch mode with the given commands (after loading `elf`) and returns
/// its stdout. Fails clearly if gdb is missing.
pub fn gdb_batch(elf: &Path, socket: Option<&Path>, commands: &[&str]) -> String {
    let mut cmd = Command::new("gdb");
    cmd.args([
        "-batch",
        "-nx",
        "-ex",
        "set pagination off",
        "-ex",
        "set confirm off",
    ]);
    cmd.arg("-ex").arg(format!("file {}", elf.display()));
    if let Some(sock) = socket {
        cmd.arg("-ex")
            .arg(format!("target remote {}", sock.display()));
    }
    for c in commands {
        cmd.arg("-ex").arg(c);
    }
    if socket.is_some() {
        cmd.arg("-ex").arg("detach");
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run gdb ({e}); install it with `apt-get install gdb`"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "gdb failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The value printed by gdb for `$N = value` lines, in order.
pub fn gdb_values(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.starts_with('$'))
        .filter_map(|l| l.split_once(" = ").map(|(_, v)| v.trim().to_string()))
        .collect()
}

/// Boot options for tests: fast pace so rounds complete quickly.
pub fn fast(smp: u32) -> BootOptions {
    BootOptions {
        smp,
        pace: Some(0),
        ..BootOptions::default()
    }
}
