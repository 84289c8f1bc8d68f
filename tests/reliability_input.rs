//! Issue 8, point 2: bad input gets a clear message naming the problem and a non-zero exit,
//! and leaves the guest as it was found.

mod reliability_support;

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use reliability_support::*;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A scratch directory of this test process.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "guestrace-reliability-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// guestrace with `args`, `--gdb gdb` and `--kernel kernel`, at most `limit` long.
fn run_against(gdb: &str, kernel: &Path, args: &[&str], limit: Duration) -> Output {
    let started = Instant::now();
    let out = Command::new(guestrace())
        .args(args)
        .args(["--gdb", gdb, "--kernel"])
        .arg(kernel)
        .output()
        .expect("run guestrace");
    assert!(
        started.elapsed() < limit,
        "took {:?}: {}",
        started.elapsed(),
        text(&out.stderr)
    );
    out
}

fn assert_fails(out: &Output, needles: &[&str]) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} in: {err}");
        // Said once: an error chain that repeats its causes is hard to read.
        assert_eq!(err.matches(n).count(), 1, "{n:?} said once in: {err}");
    }
    assert!(!err.contains("panicked"), "a failure, not a panic: {err}");
}

#[test]
fn gdb_addresses_where_no_gdbstub_answers() {
    let dir = scratch("gdb");
    let kernel = PathBuf::from(
        String::from_utf8(
            Command::new(guestrace())
                .args(["model", "kernel"])
                .output()
                .expect("guestrace model kernel")
                .stdout,
        )
        .expect("utf-8")
        .trim(),
    );
    let probe = ["-n", "ip:::send"];

    // Nothing there: a unix path, and a TCP port nobody listens on.
    let nowhere = dir.join("nothing.sock");
    let out = run_against(
        &nowhere.display().to_string(),
        &kernel,
        &probe,
        Duration::from_secs(10),
    );
    assert_fails(&out, &["cannot connect to the gdbstub at"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let out = run_against(
        &format!("127.0.0.1:{port}"),
        &kernel,
        &probe,
        Duration::from_secs(10),
    );
    assert_fails(&out, &["cannot connect to the gdbstub at 127.0.0.1"]);

    // Something that accepts and never answers, and something that answers garbage.
    for (name, reply) in [
        ("silent", &b""[..]),
        ("garbage", &b"SSH-2.0-OpenSSH_9.2\r\n"[..]),
    ] {
        let path = dir.join(format!("{name}.sock"));
        let l = UnixListener::bind(&path).expect("listen");
        let reply = reply.to_vec();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for c in l.incoming() {
                let Ok(mut c) = c else { return };
                let _ = c.write_all(&reply);
                held.push(c);
            }
        });
        let out = run_against(
            &path.display().to_string(),
            &kernel,
            &probe,
            Duration::from_secs(20),
        );
        assert_fails(
            &out,
            &[&format!("connecting to the gdbstub at {}", path.display())],
        );
        let err = text(&out.stderr);
        assert!(
            err.contains("did not answer") || err.contains("malformed"),
            "{name}: a time-out or protocol error, said plainly: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A kernel file with `n` functions (built with gcc, with DWARF), not FreeBSD's.
fn kernel_with_functions(dir: &Path, n: usize) -> PathBuf {
    let mut c = String::new();
    for i in 0..n {
        c.push_str(&format!("int fn_{i}(int x) {{ return x + {i}; }}\n"));
    }
    let src = dir.join("many.c");
    std::fs::write(&src, c).expect("write C");
    let elf = dir.join("many.elf");
    let s = Command::new("gcc")
        .args([
            "-g",
            "-O0",
            "-nostdlib",
            "-ffreestanding",
            "-static",
            "-Wl,-e,fn_0",
            "-o",
        ])
        .arg(&elf)
        .arg(&src)
        .status()
        .expect("gcc");
    assert!(s.success(), "gcc built the many-function kernel");
    elf
}

#[test]
fn bad_kernel_files_are_refused_by_name() {
    let guest = boot();
    let gdb = guest.gdb_socket().display().to_string();
    let dir = scratch("kernel");
    let probe = ["-n", "ip:::send"];
    let limit = Duration::from_secs(60);

    let missing = dir.join("no-such-kernel");
    let out = run_against(&gdb, &missing, &probe, limit);
    assert_fails(&out, &[&missing.display().to_string()]);

    let not_elf = dir.join("kernel.txt");
    std::fs::write(&not_elf, "this is not an ELF file\n").expect("write");
    let out = run_against(&gdb, &not_elf, &probe, limit);
    assert_fails(&out, &[&not_elf.display().to_string()]);

    let stripped = dir.join("kernel.stripped");
    let s = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(guest.kernel_elf())
        .arg(&stripped)
        .status()
        .expect("objcopy");
    assert!(s.success());
    let out = run_against(&gdb, &stripped, &probe, limit);
    assert_fails(&out, &[&stripped.display().to_string()]);
    assert!(
        text(&out.stderr).to_lowercase().contains("dwarf") || text(&out.stderr).contains("debug"),
        "names the missing debug info: {}",
        text(&out.stderr)
    );

    // A glob wider than guestrace's fbt limit (the model kernel has fewer functions than
    // that, so a kernel file with more is used; it has no version banner to compare).
    let many = kernel_with_functions(&dir, 1100);
    let out = run_against(&gdb, &many, &["-n", "fbt::fn_*:entry"], limit);
    assert_fails(
        &out,
        &[
            "\"fn_*\" matches 1100 kernel functions",
            "narrow the pattern",
        ],
    );

    assert_as_found(&guest, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn script_errors_are_refused_with_their_place_and_leave_the_guest_alone() {
    let guest = boot();
    let gdb = guest.gdb_socket().display().to_string();
    let kernel = guest.kernel_elf().to_path_buf();
    let limit = Duration::from_secs(60);
    let cases: &[(&str, &[&str])] = &[
        // Syntax: the line and column of the bad token.
        (
            "ip:::send\n{ printf(\"%d\\n\", 1 }",
            &["line 2", "syntax error"],
        ),
        (
            "ip:::nosuch { }",
            &["probe description ip:::nosuch does not match any probes"],
        ),
        (
            "ip:::send { trace(args[2]->ip_nosuch); }",
            &["ip_nosuch is not a member of struct ipinfo"],
        ),
        (
            "ip:::send { @ = count(1); }",
            &["count( ) prototype mismatch: 1 args passed, 0 expected"],
        ),
        (
            "ip:::send { trace(strlen()); }",
            &["strlen( ) prototype mismatch: 0 args passed"],
        ),
    ];
    for (program, needles) in cases {
        let out = run_against(&gdb, &kernel, &["-n", program], limit);
        assert_fails(&out, needles);
        assert!(out.stdout.is_empty(), "nothing traced for {program:?}");
    }
    assert_as_found(&guest, 0);
}

#[test]
fn a_ram_file_that_is_not_the_guests_is_detected_and_the_run_goes_on() {
    let guest = boot();
    let dir = scratch("ram");
    let size = std::fs::metadata(guest.ram_file()).expect("ram file").len();
    // Same size, other content (zeros); and a file of the wrong size.
    let zeros = dir.join("zeros.ram");
    std::fs::File::create(&zeros)
        .and_then(|f| f.set_len(size))
        .expect("zero file");
    let small = dir.join("small.ram");
    std::fs::write(&small, vec![0u8; 4096]).expect("small file");
    for ram in [&zeros, &small] {
        let out = Command::new(guestrace())
            .args([
                "-q",
                "-n",
                "ip:::send { printf(\"%s\\n\", args[2]->ip_daddr); n++; }",
                "-n",
                "ip:::send /n == 20/ { exit(0); }",
                "--gdb",
            ])
            .arg(guest.gdb_socket())
            .arg("--kernel")
            .arg(guest.kernel_elf())
            .arg("--ram")
            .arg(ram)
            .output()
            .expect("run guestrace");
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(
            err.contains("warning: not using the shared RAM file"),
            "the fallback is announced: {err}"
        );
        // The addresses are real ones, read through the gdbstub: the guest's destinations.
        let truth = truth_after(&guest, 2);
        let dsts: std::collections::BTreeSet<String> = truth
            .rounds
            .iter()
            .flat_map(|r| r.ip_events().map(|e| e.dst.clone()))
            .collect();
        let stdout = text(&out.stdout);
        let traced: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(traced.len(), 20, "{stdout}");
        for l in traced {
            assert!(dsts.contains(l), "{l} is one of the guest's destinations");
        }
    }
    assert_as_found(&guest, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
