//! Issue 8, points 1, 3 and 4: every way a run can end leaves the guest as guestrace found it
//! and running (checked from a fresh gdbstub connection), guest faults are script errors, and
//! QEMU going away mid-trace ends the run promptly with what was collected.

mod reliability_support;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Command;
use std::time::{Duration, Instant};

use reliability_support::*;

/// SDT probes, an fbt entry and an fbt return: every kind of change guestrace makes.
const TRACE: &[&str] = &[
    "-q",
    "-n",
    "ip:::send,tcp:::receive { @c[probename] = count(); }",
    "-n",
    "fbt::gt_round_end:entry { printf(\"@@round\\n\"); }",
    "-n",
    "fbt::soreceive_dgram:return { @r[\"dgram-returns\"] = count(); }",
];

fn with(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = TRACE.to_vec();
    v.extend_from_slice(extra);
    v
}

/// The aggregations printed at the end: `send` and `receive` counted, and the fbt returns.
fn assert_aggregations(stdout: &str) {
    for key in ["send", "receive", "dgram-returns"] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(key)
                && l.split_whitespace()
                    .last()
                    .and_then(|n| n.parse::<u64>().ok())
                    > Some(0)),
            "{key} counted at the end: {stdout}"
        );
    }
}

#[test]
fn every_ending_leaves_the_guest_as_found() {
    let guest = boot();

    // exit(0) and exit(3) from a clause: END and the aggregations, then the status.
    for (code, status) in [("exit(0);", 0), ("exit(3);", 3)] {
        let clause = format!("fbt::gt_round_end:entry /++n == 2/ {{ {code} }}");
        let mut args = TRACE.to_vec();
        args.extend(["-n", &clause]);
        let r = Running::start(&guest, &args);
        let (got, out, err) = r.finish(Duration::from_secs(120));
        assert_eq!(got, Some(status), "{code}: {err}");
        assert_aggregations(&out);
        assert_as_found(&guest, 0);
    }

    // ^C, kill, the terminal closing: like ^C, status 0 with the aggregations.
    for sig in ["-INT", "-TERM", "-HUP"] {
        let r = Running::start(&guest, TRACE);
        // A whole round traced, so every aggregation has rows.
        r.wait_for("@@round", 2);
        r.signal(sig);
        let (got, out, err) = r.finish(Duration::from_secs(30));
        assert_eq!(got, Some(0), "{sig}: {err}");
        assert_aggregations(&out);
        assert_as_found(&guest, 0);
    }

    // `guestrace ... | head -1`: the reader goes away; the next write ends the run.
    let mut line = guestrace().to_string();
    for a in with(&["-n", "ip:::send { printf(\"%s\\n\", args[2]->ip_daddr); }"])
        .iter()
        .map(|s| s.to_string())
        .chain(target_args(&guest))
    {
        line.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
    }
    let started = Instant::now();
    let out = Command::new("bash")
        .args([
            "-c",
            &format!("{line} | head -1; echo \"status ${{PIPESTATUS[0]}}\""),
        ])
        .output()
        .expect("run the pipeline");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "one traced line, then the status: {stdout}");
    // An IPv4 or IPv6 destination (whichever packet came first), or the round marker.
    assert!(
        lines[0].contains('.') || lines[0].contains(':') || lines[0] == "@@round",
        "{stdout}"
    );
    // SIGPIPE is handled: guestrace ends by itself, not killed by the signal.
    assert_eq!(
        lines[1],
        "status 0",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_as_found(&guest, 0);
}

#[test]
fn guest_faults_are_script_errors_and_a_storm_of_them_harms_nothing() {
    let guest = boot();
    // Every ip event faults three ways (NULL, an unmapped kernel address, a user address),
    // each in its own clause; a fourth clause keeps counting: the run goes on.
    let r = Running::start(
        &guest,
        &[
            "-q",
            "-n",
            "ip:::send,ip:::receive { trace(*(int *)0); }",
            "-n",
            "ip:::send,ip:::receive { trace(*(long *)0xfffffffff0000000); }",
            "-n",
            "ip:::send,ip:::receive { trace(*(int *)0x7ffff0000000); }",
            "-n",
            "ip:::send,ip:::receive { @events = count(); }",
            "-n",
            "fbt::gt_round_end:entry /++n == 3/ { exit(0); }",
        ],
    );
    let (status, out, err) = r.finish(Duration::from_secs(120));
    assert_eq!(status, Some(0), "{err}");
    let events: u64 = out
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(events > 10, "the counting clause ran on: {out}");
    let count_of = |needle: &str| err.lines().filter(|l| l.contains(needle)).count() as u64;
    let reported = err
        .lines()
        .filter(|l| l.starts_with("guestrace: error on enabled probe ID"))
        .count() as u64;
    assert_eq!(count_of("invalid address (0x0)"), events, "{err}");
    assert_eq!(
        count_of("invalid address (0xfffffffff0000000)"),
        events,
        "{err}"
    );
    assert_eq!(
        count_of("invalid address (0x7ffff0000000)"),
        events,
        "{err}"
    );
    assert_eq!(reported, 3 * events, "one error line per faulting clause");
    // The total at exit, in dtrace's "%llu %s%s" form.
    assert!(
        err.contains(&format!("guestrace: {} errors", 3 * events)),
        "error count at exit: {err}"
    );
    assert_as_found(&guest, 0);
}

#[test]
fn an_internal_error_restores_the_guest() {
    let guest = boot();
    let r = Running::start_with(&guest, TRACE, &[("GUESTRACE_TEST_FAULT_AFTER", "50")]);
    let (status, _out, err) = r.finish(Duration::from_secs(60));
    assert_eq!(status, Some(1), "{err}");
    assert!(err.contains("injected internal error"), "{err}");
    assert_as_found(&guest, 0);
}

/// Forwards unix-socket connections to the gdbstub; `drop_first` hangs up the first one
/// after `after` (a connection dropping mid-trace) and forwards later ones untouched.
fn proxy(listen: &std::path::Path, to: std::path::PathBuf, after: Duration) {
    let l = UnixListener::bind(listen).expect("bind the proxy");
    std::thread::spawn(move || {
        for (n, c) in l.incoming().enumerate() {
            let Ok(client) = c else { return };
            let Ok(server) = UnixStream::connect(&to) else {
                return;
            };
            let pipe = |mut a: UnixStream, mut b: UnixStream| {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    loop {
                        match a.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(k) => {
                                if b.write_all(&buf[..k]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = b.shutdown(std::net::Shutdown::Both);
                })
            };
            let (c2, s2) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            pipe(client, server);
            pipe(s2, c2.try_clone().expect("clone"));
            if n == 0 {
                std::thread::spawn(move || {
                    std::thread::sleep(after);
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
}

#[test]
fn a_dropped_gdbstub_connection_ends_the_run_and_the_guest_is_restored() {
    let guest = boot();
    let via = guest.run_dir().join("proxy.sock");
    proxy(
        &via,
        guest.gdb_socket().to_path_buf(),
        Duration::from_secs(4),
    );
    let mut cmd = Command::new(guestrace());
    cmd.args(TRACE)
        .arg("--gdb")
        .arg(&via)
        .arg("--kernel")
        .arg(guest.kernel_elf())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let r = Running::spawn(cmd);
    let (status, out, err) = r.finish(Duration::from_secs(60));
    assert_eq!(status, Some(1), "{out}\n{err}");
    assert!(
        err.contains("closed the connection"),
        "says what happened: {err}"
    );
    // What was collected is printed.
    assert!(out.contains("send"), "{out}");
    assert_as_found(&guest, 0);
}

#[test]
fn sigkill_then_cleanup_restores_everything() {
    let guest = boot();
    let mut r = Running::start(&guest, TRACE);
    r.wait_for("@@round", 1);
    let _ = r.child.kill();
    let _ = r.child.wait();
    let out = Command::new(guestrace())
        .arg("--cleanup")
        .args(target_args(&guest))
        .output()
        .expect("guestrace --cleanup");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("undid"), "{said}");
    let complaints = stub_calls_now(&guest);
    assert_as_found(&guest, complaints);
}

#[test]
fn qemu_exiting_mid_trace_prints_what_was_collected_and_exits_at_once() {
    let guest = boot();
    let r = Running::start(
        &guest,
        &with(&["-n", "dtrace:::END { printf(\"@@end-fired\\n\"); }"]),
    );
    r.wait_for("@@round", 2);
    let killed = Instant::now();
    let _ = Command::new("kill")
        .args(["-KILL", &guest.pid().to_string()])
        .status();
    let (status, out, err) = r.finish(Duration::from_secs(10));
    let took = killed.elapsed();
    assert_eq!(status, Some(1), "{err}");
    assert!(
        took < Duration::from_secs(1),
        "exited {took:?} after QEMU died"
    );
    assert!(err.contains("QEMU"), "says what happened: {err}");
    assert_aggregations(&out);
    assert!(
        !out.contains("@@end-fired"),
        "END must not fire against a dead guest: {out}"
    );
    // The journal stays for a VM guestrace could not reach; this one will not come back.
    let journal = introspect::auto_journal_path(&guest.gdb_socket().display().to_string());
    assert!(
        journal.exists(),
        "the undo journal is kept for a later --cleanup"
    );
    let _ = std::fs::remove_file(journal);
}

#[test]
fn model_boot_ends_when_its_qemu_is_killed() {
    let mut cmd = Command::new(guestrace());
    cmd.args(["model", "boot"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let r = Running::spawn(cmd);
    let line = r.wait_for("gdb ", 1).concat();
    // The socket's directory is named after guestrace's pid; QEMU is its child.
    let sock = line
        .split_whitespace()
        .nth(1)
        .expect("gdb socket")
        .to_string();
    let out = Command::new("pgrep")
        .args(["-f", &format!("qemu-system.*{sock}")])
        .output()
        .expect("pgrep");
    let qemu = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("QEMU's pid")
        .to_string();
    let killed = Instant::now();
    let _ = Command::new("kill").args(["-KILL", &qemu]).status();
    let (status, _out, err) = r.finish(Duration::from_secs(10));
    assert_eq!(status, Some(1), "{err}");
    assert!(err.contains("QEMU (pid"), "{err}");
    assert!(
        killed.elapsed() < Duration::from_secs(2),
        "{:?}",
        killed.elapsed()
    );
}

/// The checks above are not vacuous: a breakpoint a dead tracer left (its connection closed
/// without `D`) is seen from the fresh connection.
#[test]
fn the_fresh_connection_check_sees_a_breakpoint_left_behind() {
    let guest = boot();
    let image = symbols::KernelImage::open(guest.kernel_elf()).expect("kernel");
    let addr = image.elf_symbol("gt_round_end").expect("symbol").address;
    let sock = guest.gdb_socket().display().to_string();
    let mut rsp =
        introspect::rsp::Rsp::connect(&sock, Duration::from_secs(10), false).expect("connect");
    rsp.insert_breakpoint(introspect::BpType::Software, addr)
        .expect("plant a breakpoint");
    // Hang up as a killed tracer would: no `D`, so QEMU keeps the breakpoint.
    rsp.close();
    drop(rsp);
    let checked = std::panic::catch_unwind(|| assert_code_and_no_breakpoints(&guest));
    assert!(checked.is_err(), "the leftover breakpoint went unnoticed");
}
