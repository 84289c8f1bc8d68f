//! A process that booted the guest and is then terminated leaves nothing behind: on SIGTERM the
//! launcher's handler kills QEMU and removes its files; on SIGKILL QEMU dies with its parent
//! (PR_SET_PDEATHSIG) and the next boot sweeps the files.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use guests::model::ModelGuest;

const CHILD_ENV: &str = "GUESTS_SIGNAL_TEST_CHILD";
const TEST_NAME: &str = "terminated_caller_leaves_nothing_behind";

/// Child mode: boot, report the paths, wait to be killed.
fn child() -> ! {
    // If the parent test dies first, terminate (and clean up) rather than linger.
    // SAFETY: plain prctl(2).
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) };
    let guest = ModelGuest::boot(&common::fast(1)).unwrap();
    println!(
        "PATHS {} {} {} {}",
        guest.pid(),
        guest.gdb_socket().display(),
        guest.ram_file().display(),
        guest.run_dir().display()
    );
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

struct Spawned {
    child: std::process::Child,
    qemu: u32,
    files: Vec<PathBuf>,
}

fn spawn_child() -> Spawned {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The harness prints "test NAME ... " on the same line before the child's output.
    let line = lines
        .find_map(|l| {
            l.ok()
                .and_then(|l| l.split_once("PATHS ").map(|(_, rest)| rest.to_string()))
        })
        .expect("child reported no paths");
    let words: Vec<&str> = line.split_whitespace().collect();
    Spawned {
        child,
        qemu: words[0].parse().unwrap(),
        files: words[1..].iter().map(PathBuf::from).collect(),
    }
}

fn gone_within(pid: u32, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        // A zombie still has /proc/<pid>; its state is Z.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z ") {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn terminated_caller_leaves_nothing_behind() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
    }

    let mut s = spawn_child();
    assert!(s.files.iter().all(|f| f.exists()));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) };
    s.child.wait().unwrap();
    assert!(
        gone_within(s.qemu, Duration::from_secs(5)),
        "QEMU survived SIGTERM of its caller"
    );
    for f in &s.files {
        assert!(!f.exists(), "{} left behind after SIGTERM", f.display());
    }

    let mut k = spawn_child();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(k.child.id() as i32, libc::SIGKILL) };
    k.child.wait().unwrap();
    assert!(
        gone_within(k.qemu, Duration::from_secs(5)),
        "QEMU survived SIGKILL of its caller"
    );
    // The files stay behind (a concurrent boot elsewhere may already have swept them).
    let next = ModelGuest::boot(&common::fast(1)).unwrap();
    let leftovers: Vec<&Path> = k
        .files
        .iter()
        .map(PathBuf::as_path)
        .filter(|f| f.exists())
        .collect();
    assert!(leftovers.is_empty(), "not swept: {leftovers:?}");
    next.shutdown().unwrap();
}
