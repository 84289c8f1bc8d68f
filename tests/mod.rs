//! Shared harness of the end-to-end tests: boot the model guest, run guestrace on it with round
//! markers, split its output by the guest's own rounds, read the ground truth, and check that
//! the guest was left as it was found.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use guests::model::ground_truth::{self, GroundTruth, Round};
use guests::model::{BootOptions, ModelGuest};

/// The guestrace binary under test.
pub fn guestrace() -> &'static str {
    env!("CARGO_BIN_EXE_guestrace")
}

/// A script of scripts/.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

/// Boots a one-vCPU model guest (a second try if the first fails on a loaded machine).
pub fn boot() -> ModelGuest {
    match ModelGuest::boot(&BootOptions::default()) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("first boot failed ({e}); trying again");
            ModelGuest::boot(&BootOptions::default()).expect("boot the model guest")
        }
    }
}

/// The `--gdb/--kernel/--ram` arguments for `guest`.
pub fn target_args(guest: &ModelGuest) -> Vec<String> {
    vec![
        "--gdb".into(),
        guest.gdb_socket().display().to_string(),
        "--kernel".into(),
        guest.kernel_elf().display().to_string(),
        "--ram".into(),
        guest.ram_file().display().to_string(),
    ]
}

/// Clauses that mark the guest's round boundaries in guestrace's output (the round number is
/// read from the guest: `__pcpu[cpu].pc_model->round`), with `at_end` run just before a round's
/// end marker and `at_begin` just before its begin marker.
pub fn round_markers(at_end: &str, at_begin: &str) -> Vec<String> {
    vec![
        "-n".into(),
        format!(
            "fbt::gt_round_begin:entry {{ {at_begin} printf(\"@@begin %d\\n\", `__pcpu[cpu].pc_model->round); }}"
        ),
        "-n".into(),
        format!(
            "fbt::gt_round_end:entry {{ {at_end} printf(\"@@end %d\\n\", `__pcpu[cpu].pc_model->round); }}"
        ),
    ]
}

/// What a run printed, split by round.
#[derive(Debug, Default)]
pub struct Traced {
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
    /// Exit status.
    pub status: Option<i32>,
    /// Lines printed inside each complete round (between its begin and end markers).
    pub rounds: BTreeMap<u32, Vec<String>>,
}

/// Runs guestrace with `args` (plus the markers) until `complete` whole rounds were printed,
/// then sends SIGINT as ^C would and collects the output.
pub fn trace_rounds(guest: &ModelGuest, args: &[String], complete: usize) -> Traced {
    let mut cmd = Command::new(guestrace());
    cmd.args(args)
        .args(target_args(guest))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run guestrace");
    let pid = child.id().to_string();
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut out = String::new();
    let mut ends = 0usize;
    let mut seen_begin = false;
    let mut signalled = false;
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        out.push_str(&line);
        if line.contains("@@begin ") {
            seen_begin = true;
        }
        if seen_begin && line.contains("@@end ") {
            ends += 1;
        }
        if !signalled && (ends >= complete || Instant::now() > deadline) {
            // ^C, as a user would end the trace (kill(1): the root package has no libc).
            let _ = Command::new("kill").args(["-INT", &pid]).status();
            signalled = true;
        }
    }
    let status = child.wait().ok().and_then(|s| s.code());
    let stderr = err_reader.join().unwrap_or_default();
    let rounds = split_rounds(&out);
    Traced {
        stdout: out,
        stderr,
        status,
        rounds,
    }
}

/// Lines between `@@begin N` and `@@end N`, per N.
pub fn split_rounds(out: &str) -> BTreeMap<u32, Vec<String>> {
    let mut rounds = BTreeMap::new();
    let mut current: Option<(u32, Vec<String>)> = None;
    for line in out.lines() {
        if let Some(n) = marker(line, "@@begin ") {
            current = Some((n, Vec::new()));
        } else if let Some(n) = marker(line, "@@end ") {
            if let Some((b, lines)) = current.take() {
                if b == n {
                    rounds.insert(n, lines);
                }
            }
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line.to_string());
        }
    }
    rounds
}

fn marker(line: &str, tag: &str) -> Option<u32> {
    let at = line.find(tag)?;
    line[at + tag.len()..].trim().parse().ok()
}

/// The ground truth so far, after giving the guest time to print the rounds traced.
pub fn truth_after(guest: &ModelGuest, last_round: u32) -> GroundTruth {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let gt = ground_truth::parse_file(guest.serial_log()).expect("parse the serial log");
        if gt.rounds.iter().any(|r| r.n == last_round) || Instant::now() > deadline {
            return gt;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Round `n` of CPU 0.
pub fn round(gt: &GroundTruth, n: u32) -> &Round {
    gt.rounds_of(0)
        .find(|r| r.n == n)
        .unwrap_or_else(|| panic!("round {n} is not in the ground truth"))
}

/// After a run: no probe id left nonzero (read from a fresh gdbstub connection), the guest still
/// running (new rounds complete) and never in `sdt_probe_stub`'s body.
pub fn assert_restored(guest: &ModelGuest) {
    assert_ids_zero(guest);
    assert_running_quietly(guest, 0);
}

/// Every SDT probe id reads 0 from a fresh gdbstub connection.
pub fn assert_ids_zero(guest: &ModelGuest) {
    let image = symbols::KernelImage::open(guest.kernel_elf()).expect("kernel");
    let mut ids = Vec::new();
    for (name, sym) in sdt_probe_objects(&image) {
        let off = image
            .find_type("struct sdt_probe")
            .and_then(|t| image.member_path(t, "id"))
            .expect("sdt_probe.id")
            .offset;
        ids.push((name, sym + off));
    }
    assert!(ids.len() >= 13, "found {} probe objects", ids.len());
    let opts = introspect::Options {
        journal: introspect::Journal::Off,
        ram_file: Some(guest.ram_file().to_path_buf()),
        ..introspect::Options::default()
    };
    {
        let sock = guest.gdb_socket().display().to_string();
        let mut t = introspect::Target::connect(&sock, opts).expect("fresh gdbstub connection");
        for (name, addr) in &ids {
            let v = t.read_u64(*addr).expect("read a probe id");
            assert_eq!(v, 0, "{name}'s id left at {v}");
        }
        t.detach().expect("detach the checking connection");
    }
}

/// The guest completes a new round, with `sdt_probe_stub`'s body run exactly `stub_calls` times
/// in all (0: never) and no panic.
pub fn assert_running_quietly(guest: &ModelGuest, stub_calls: usize) {
    let before = ground_truth::parse_file(guest.serial_log())
        .expect("serial log")
        .rounds
        .len();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let gt = ground_truth::parse_file(guest.serial_log()).expect("serial log");
        assert_eq!(gt.stub_calls, stub_calls, "sdt_probe_stub's body ran");
        assert!(gt.panic.is_none(), "guest panicked: {:?}", gt.panic);
        if gt.rounds.len() > before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the guest stopped making progress"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every `sdt_*` probe object (`struct sdt_probe`) of the kernel by its ELF symbol.
fn sdt_probe_objects(image: &symbols::KernelImage) -> Vec<(String, u64)> {
    [
        "sdt_ip___send",
        "sdt_ip___receive",
        "sdt_tcp___send",
        "sdt_tcp___receive",
        "sdt_tcp___state__change",
        "sdt_tcp___accept__established",
        "sdt_tcp___accept__refused",
        "sdt_tcp___connect__established",
        "sdt_tcp___connect__refused",
        "sdt_tcp___connect__request",
        "sdt_tcp___receive__autoresize",
        "sdt_udp___send",
        "sdt_udp___receive",
    ]
    .iter()
    .filter_map(|n| image.elf_symbol(n).ok().map(|s| (n.to_string(), s.address)))
    .collect()
}
