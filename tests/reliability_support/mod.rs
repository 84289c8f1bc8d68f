//! Shared by the reliability tests: run guestrace in the background, and check from a fresh
//! gdbstub connection that the guest is exactly as it was found (ids, code bytes, no
//! breakpoint left) and still making progress.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use guests::model::ModelGuest;
use introspect::rsp::{Resume, Rsp};
use introspect::stop::StopReply;

#[path = "../common/mod.rs"]
mod common;
pub use common::*;

/// Functions whose first bytes the checks compare with the kernel file: every function
/// guestrace plants a breakpoint on in these tests.
pub const CODE_SITES: &[&str] = &[
    "sdt_probe_stub",
    "gt_round_begin",
    "gt_round_end",
    "soreceive_dgram",
];

/// A guestrace running in the background, its stdout lines arriving on a channel.
pub struct Running {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Running {
    /// Starts guestrace with `args` plus the guest's `--gdb/--kernel/--ram`.
    pub fn start(guest: &ModelGuest, args: &[&str]) -> Running {
        Running::start_with(guest, args, &[])
    }

    /// As [`Running::start`], with extra environment variables.
    pub fn start_with(guest: &ModelGuest, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut cmd = Command::new(guestrace());
        cmd.args(args)
            .args(target_args(guest))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Running::spawn(cmd)
    }

    /// Runs `cmd` with stdout and stderr piped.
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd.spawn().expect("run guestrace");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut l = String::new();
            while r.read_line(&mut l).unwrap_or(0) > 0 {
                if tx.send(l.clone()).is_err() {
                    break;
                }
                l.clear();
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Running {
            child,
            lines,
            stderr,
        }
    }

    /// Waits (at most 60 s) for a stdout line containing `needle`; returns every line read.
    pub fn wait_for(&self, needle: &str, times: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        let mut hits = 0;
        while hits < times {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    if l.contains(needle) {
                        hits += 1;
                    }
                    seen.push(l);
                }
                Err(_) => panic!("no {needle:?} line in time; got {seen:?}"),
            }
        }
        seen
    }

    /// Sends `signal` (a kill(1) name such as "-TERM").
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status();
    }

    /// Waits (at most `limit`) for the exit; returns the status code (None: killed by a
    /// signal), the rest of stdout and all of stderr. Panics if guestrace hangs.
    pub fn finish(mut self, limit: Duration) -> (Option<i32>, String, String) {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("guestrace did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stderr = self.stderr.join().unwrap_or_default();
        let mut rest = String::new();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(5)) {
            rest.push_str(&l);
        }
        (status.code(), rest, stderr)
    }
}

/// Everything issue 8 asks of a guest after guestrace left, checked from a fresh connection:
/// no probe id non-zero, the first bytes of every function guestrace put a breakpoint on equal
/// the kernel file's, no breakpoint left (the guest runs a second without stopping), and the
/// guest still completes rounds with `sdt_probe_stub`'s body run `stub_calls` times.
pub fn assert_as_found(guest: &ModelGuest, stub_calls: usize) {
    assert_ids_zero(guest);
    assert_code_and_no_breakpoints(guest);
    assert_running_quietly(guest, stub_calls);
}

/// Code bytes as in the kernel file, and a continue that is not stopped by any breakpoint.
pub fn assert_code_and_no_breakpoints(guest: &ModelGuest) {
    let image = symbols::KernelImage::open(guest.kernel_elf()).expect("kernel");
    let sock = guest.gdb_socket().display().to_string();
    let mut rsp = Rsp::connect(&sock, Duration::from_secs(10), false).expect("fresh connection");
    for name in CODE_SITES {
        let addr = image.elf_symbol(name).expect("code site").address;
        let want = image.read_bytes(addr, 16).expect("bytes in the file");
        let mut got = vec![0u8; 16];
        rsp.read_memory(addr, &mut got).expect("read code");
        assert_eq!(
            got, want,
            "{name}'s first bytes differ from the kernel file"
        );
    }
    // Every function guestrace plants on runs in each round of the workload: a breakpoint QEMU
    // still held would stop the guest (signal 5) before the guest completes two more rounds.
    let rounds = |g: &ModelGuest| {
        guests::model::ground_truth::parse_file(g.serial_log())
            .expect("serial log")
            .rounds
            .len()
    };
    let before = rounds(guest);
    let deadline = Instant::now() + Duration::from_secs(30);
    rsp.resume(Resume::Continue).expect("continue");
    while rounds(guest) < before + 2 * guest.smp() as usize {
        assert!(Instant::now() < deadline, "the guest made no progress");
        match rsp.wait_stop(Some(Instant::now() + Duration::from_millis(100)), false) {
            Err(introspect::Error::Timeout { .. }) => {}
            Ok(Some(StopReply::Signal { signal, .. })) => {
                panic!("the guest stopped by itself (signal {signal}): a breakpoint was left")
            }
            other => panic!("unexpected while the guest ran: {other:?}"),
        }
    }
    rsp.interrupt().expect("stop the guest again");
    rsp.detach().expect("detach the checking connection");
}

/// The serial log's stub complaints so far, after letting one being printed finish.
pub fn stub_calls_now(guest: &ModelGuest) -> usize {
    std::thread::sleep(Duration::from_millis(500));
    guests::model::ground_truth::parse_file(guest.serial_log())
        .expect("serial log")
        .stub_calls
}
