//! dtrace(1)'s user-facing behaviour: runs with no guest (BEGIN, ticks at real rates, exit(),
//! ^C), the probe listing, and the refusals (a kernel file that is not the running kernel).

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// guestrace with no way to start QEMU: a run that tried to boot a guest would fail.
fn no_guest(args: &[&str]) -> Command {
    let mut c = Command::new(guestrace());
    c.args(args).env("PATH", "/nonexistent");
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn begin_ticks_and_exit_run_without_a_guest() {
    let started = Instant::now();
    let out = no_guest(&[
        "-q",
        "-n",
        "BEGIN { printf(\"begin\\n\"); }",
        "-n",
        "tick-10ms { n++; }",
        "-n",
        "tick-10ms /n == 20/ { exit(7); }",
        "-n",
        "END { printf(\"end %d\\n\", n); }",
    ])
    .output()
    .expect("run guestrace");
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(7), "exit(7): {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "begin\nend 20\n\n");
    // Twenty 10 ms ticks at their real rate.
    assert!(took >= Duration::from_millis(190), "too fast: {took:?}");
    assert!(took < Duration::from_secs(5), "too slow: {took:?}");
}

#[test]
fn ctrl_c_fires_end_and_prints_aggregations() {
    let child = no_guest(&[
        "-n",
        "tick-1ms { @ticks = count(); }",
        "-n",
        "END { printf(\"end\"); }",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("run guestrace");
    std::thread::sleep(Duration::from_millis(700));
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out: Output = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("CPU     ID                    FUNCTION:NAME\n"),
        "{stdout}"
    );
    assert!(stdout.contains(":END end\n"), "END's record: {stdout}");
    let ticks: u64 = stdout
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    // ~700 ticks of 1 ms; generous bounds for a loaded machine.
    assert!((200..=1000).contains(&ticks), "{ticks} ticks: {stdout}");
    assert!(text(&out.stderr).contains("guestrace: description 'tick-1ms' matched 1 probe"));
}

#[test]
fn compile_errors_exit_1_and_usage_errors_exit_2() {
    let out = no_guest(&["-n", "BEGIN { printf(\"%d\\n\"); }"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("guestrace: invalid probe specifier"));
    let out = no_guest(&["-x"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}

/// The probes the kernel defines, from its ELF symbols (`sdt_tcp___state__change` is
/// tcp:::state-change): an oracle independent of the linker-set walk guestrace does.
fn sdt_probes_in(kernel: &std::path::Path) -> BTreeSet<(String, String)> {
    let bytes = std::fs::read(kernel).expect("kernel file");
    let mut found = BTreeSet::new();
    for prov in ["ip", "tcp", "udp"] {
        let prefix = format!("sdt_{prov}___");
        let text = String::from_utf8_lossy(&bytes);
        for (at, _) in text.match_indices(&prefix) {
            let rest = &text[at + prefix.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert((prov.to_string(), name.replace("__", "-")));
            }
        }
    }
    found
}

#[test]
fn lists_probes_like_dtrace() {
    let guest = boot();
    let run = |extra: &[&str]| {
        Command::new(guestrace())
            .arg("-l")
            .args(extra)
            .args(target_args(&guest))
            .output()
            .expect("run guestrace -l")
    };
    let out = run(&["-P", "ip", "-P", "tcp", "-P", "udp"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("   ID   PROVIDER            MODULE                          FUNCTION NAME")
    );
    let mut listed = BTreeSet::new();
    for l in lines {
        let w: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(w.len(), 5, "{l}");
        assert!(w[0].parse::<u32>().is_ok());
        assert_eq!(
            (w[2], w[3]),
            ("kernel", "none"),
            "sdt.ko's module and function: {l}"
        );
        listed.insert((w[1].to_string(), w[4].to_string()));
    }
    assert_eq!(listed, sdt_probes_in(guest.kernel_elf()));
    assert_eq!(listed.len(), 13, "FreeBSD 10.4's ip, tcp and udp probes");

    let out = run(&["-n", "tcp:::state-change", "-n", "fbt::sosend_*:entry"]);
    let stdout = text(&out.stdout);
    // tcp:::state-change, and sosend_dgram and sosend_generic (sosend itself has no "_").
    assert_eq!(stdout.lines().count(), 1 + 1 + 2, "{stdout}");
    assert!(
        stdout.contains("        fbt            kernel                    sosend_generic entry"),
        "{stdout}"
    );

    // A bare -l lists everything, as dtrace -l does: the dtrace probes, every SDT probe, and an
    // entry and a return probe for every kernel function the symbols know (not held to the
    // breakpoint limit: listing plants nothing).
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let count = |provider: &str, name: &str| {
        stdout
            .lines()
            .filter(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.get(1) == Some(&provider) && w.last() == Some(&name)
            })
            .count()
    };
    let sdt: usize = ["ip", "tcp", "udp"]
        .iter()
        .map(|p| {
            stdout
                .lines()
                .filter(|l| l.split_whitespace().nth(1) == Some(p))
                .count()
        })
        .sum();
    assert_eq!(sdt, 13, "{stdout}");
    assert!(count("fbt", "entry") > 100, "{stdout}");
    assert_eq!(count("fbt", "entry"), count("fbt", "return"));
    for f in [
        "ip_output",
        "tcp_output",
        "sosend_generic",
        "tcp_usr_attach",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>()[1..]
                    == ["fbt", "kernel", f, "entry"]),
            "fbt::{f}:entry listed"
        );
    }

    let out = run(&["-n", "nosuch:::probe"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("does not match any probes"));
    assert_restored(&guest);
}

#[test]
fn a_kernel_file_that_is_not_the_running_kernel_is_refused() {
    let guest = boot();
    let image = symbols::KernelImage::open(guest.kernel_elf()).expect("kernel");
    let version = image.global_bytes("version").expect("version string");
    let end = version
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(version.len());
    let mut file = std::fs::read(guest.kernel_elf()).expect("kernel file");
    let at = file
        .windows(end)
        .position(|w| w == &version[..end])
        .expect("the version string in the file");
    // Another build of the same source: one character of its banner differs.
    file[at] = if file[at] == b'X' { b'Y' } else { b'X' };
    let other = guest.run_dir().join("other-kernel.elf");
    std::fs::write(&other, &file).expect("write the other kernel");
    let out = Command::new(guestrace())
        .args(["-n", "ip:::send", "--gdb"])
        .arg(guest.gdb_socket())
        .arg("--kernel")
        .arg(&other)
        .output()
        .expect("run guestrace");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("does not match the running guest"), "{err}");
    assert!(out.stdout.is_empty());
    assert_restored(&guest);
}

#[test]
fn profile_samples_the_guest_kernel_and_fbt_return_gives_the_return_value() {
    let guest = boot();
    let out = Command::new(guestrace())
        .args([
            "-q",
            "-n",
            "profile-97 { @pcs[func(arg0)] = count(); }",
            "-n",
            "fbt::soreceive_dgram:return { printf(\"@@ret %d %d %d\\n\", arg1, args[1], arg0); n++; }",
            "-n",
            "fbt::soreceive_dgram:return /n == 4/ { exit(0); }",
            "-n",
            "tick-30s { exit(1); }",
        ])
        .args(target_args(&guest))
        .output()
        .expect("run guestrace");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // Samples land in the guest kernel's functions, named from its symbols, one key per
    // function (func() drops the offset, as dtrace's does).
    assert!(stdout.contains("kernel`"), "{stdout}");
    let keys: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|k| k.starts_with("kernel`"))
        .collect();
    assert!(keys.iter().all(|k| !k.contains('+')), "{stdout}");
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "one line per function: {stdout}");
    // soreceive_dgram returns 0 or EWOULDBLOCK (35); arg1 and args[1] agree; arg0 is the offset
    // of one of its `ret` instructions, as objdump disassembles them.
    let ret_offsets = ret_offsets(guest.kernel_elf(), "soreceive_dgram");
    assert!(ret_offsets.len() >= 2, "{ret_offsets:?}");
    let rets: Vec<(i64, i64, i64)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("@@ret "))
        .map(|l| {
            let w: Vec<i64> = l
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            (w[0], w[1], w[2])
        })
        .collect();
    assert!(
        !rets.is_empty(),
        "soreceive_dgram returned in 1.5 s: {stdout}"
    );
    for (a, b, off) in rets {
        assert_eq!(a, b);
        assert!(a == 0 || a == 35, "return value {a}");
        assert!(
            ret_offsets.contains(&off),
            "arg0 {off} not in {ret_offsets:?}"
        );
    }
    assert_restored(&guest);
}

/// Offsets of the `ret` instructions in `function`, from objdump's disassembly.
fn ret_offsets(elf: &std::path::Path, function: &str) -> Vec<i64> {
    let out = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn"])
        .arg(elf)
        .output()
        .expect("objdump");
    let text = text(&out.stdout);
    let header = format!("<{function}>:");
    let mut lines = text.lines().skip_while(|l| !l.ends_with(&header));
    let start = lines
        .next()
        .and_then(|l| u64::from_str_radix(l.split_whitespace().next()?, 16).ok())
        .expect("function in the disassembly");
    lines
        .take_while(|l| !l.is_empty())
        .filter(|l| l.trim_end().ends_with("\tret"))
        .filter_map(|l| u64::from_str_radix(l.trim().split(':').next()?, 16).ok())
        .map(|a| (a - start) as i64)
        .collect()
}

/// Runs guestrace tracing ip:::send in the background until it has printed `lines` lines.
fn tracing_child(guest: &guests::model::ModelGuest, lines: usize) -> std::process::Child {
    use std::io::BufRead;
    let mut child = Command::new(guestrace())
        .args([
            "-q",
            "-n",
            "ip:::send { printf(\"%s\\n\", args[2]->ip_daddr); }",
        ])
        .args(target_args(guest))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run guestrace");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    for _ in 0..lines {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
    }
    // Keep draining so the tracer never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).unwrap_or(0) > 0 {
            sink.clear();
        }
    });
    child
}

#[test]
fn sigterm_restores_the_guest_and_cleanup_repairs_after_sigkill() {
    let guest = boot();
    for sig in ["-TERM", "-HUP"] {
        let mut child = tracing_child(&guest, 5);
        let _ = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status();
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(0), "ended by {sig} like ^C");
        assert_restored(&guest);
    }

    // A tracer killed outright leaves its probe id behind: the stub then complains on the
    // console. --cleanup (or the next connection) replays the killed tracer's undo journal.
    let mut child = tracing_child(&guest, 5);
    let _ = child.kill();
    let _ = child.wait();
    let out = Command::new(guestrace())
        .args(["--cleanup"])
        .args(target_args(&guest))
        .output()
        .expect("run guestrace --cleanup");
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("undid") || said.contains("zeroed"),
        "something was repaired: {said}"
    );
    assert_ids_zero(&guest);
    // Let a complaint being printed as the id went back to 0 finish.
    std::thread::sleep(Duration::from_millis(500));
    let complaints = guests::model::ground_truth::parse_file(guest.serial_log())
        .expect("serial log")
        .stub_calls;
    assert_running_quietly(&guest, complaints);
}

/// Writes 8 bytes into the guest behind guestrace's back (no undo), through a fresh connection.
fn poke(guest: &guests::model::ModelGuest, addr: u64, value: u64) -> u64 {
    let opts = introspect::Options {
        journal: introspect::Journal::Off,
        ..introspect::Options::default()
    };
    let sock = guest.gdb_socket().display().to_string();
    let mut t = introspect::Target::connect(&sock, opts).expect("connect");
    let old = t.read_u64(addr).expect("read");
    t.rsp()
        .write_memory(addr, &value.to_le_bytes())
        .expect("write");
    t.detach().expect("detach");
    old
}

#[test]
fn refuses_when_dtrace_is_loaded_or_a_probe_id_is_taken() {
    let guest = boot();
    let image = symbols::KernelImage::open(guest.kernel_elf()).expect("kernel");
    let func = image
        .elf_symbol("sdt_probe_func")
        .expect("sdt_probe_func")
        .address;
    let probe = image
        .elf_symbol("sdt_ip___send")
        .expect("sdt_ip___send")
        .address;
    let id = probe
        + image
            .find_type("struct sdt_probe")
            .and_then(|t| image.member_path(t, "id"))
            .expect("id")
            .offset;
    let run = || {
        Command::new(guestrace())
            .args(["-n", "ip:::send"])
            .args(target_args(&guest))
            .output()
            .expect("run guestrace")
    };

    // sdt.ko loaded: sdt_probe_func no longer points at the stub.
    let stub = poke(&guest, func, 0xffff_ffff_8020_0000);
    let out = run();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("DTrace (sdt.ko) is loaded"),
        "{}",
        text(&out.stderr)
    );
    poke(&guest, func, stub);

    // Another tracer owns ip:::send (its id is set; the guest's stub complains meanwhile).
    poke(&guest, id, 77);
    let out = run();
    poke(&guest, id, 0);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("ip:kernel:none:send already has id 77"),
        "{}",
        text(&out.stderr)
    );
    assert_ids_zero(&guest);
    // Let a complaint being printed as the id went back to 0 finish.
    std::thread::sleep(Duration::from_millis(500));
    let complaints = guests::model::ground_truth::parse_file(guest.serial_log())
        .expect("serial log")
        .stub_calls;
    assert_running_quietly(&guest, complaints);
}

/// Counts from the `GUESTRACE_STATS=1` line: (stops, interrupts).
fn stops_and_interrupts(stderr: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("guestrace: stats: "))
        .unwrap_or_else(|| panic!("no stats line in {stderr}"));
    let number_before = |word: &str| {
        let at = line
            .find(word)
            .unwrap_or_else(|| panic!("{word} in {line}"));
        line[..at]
            .split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a number before {word} in {line}"))
    };
    (number_before(" stops ("), number_before(" interrupts;"))
}

#[test]
fn ticks_leave_the_guest_running_unless_their_clause_reads_it() {
    let guest = boot();
    // kdb_backtrace only runs from sdt_probe_stub's body, which tracing never lets run: the
    // fbt probe attaches to the guest and never fires.
    let run = |clause: &str| {
        let script = format!(
            "fbt::kdb_backtrace:entry {{ trace(1); }} tick-20ms {{ n++; {clause} }} \
             tick-20ms /n == 25/ {{ printf(\"@@ticks %d\\n\", n); exit(0); }}"
        );
        let out = Command::new(guestrace())
            .args(["-q", "-n", &script])
            .args(target_args(&guest))
            .env("GUESTRACE_STATS", "1")
            .output()
            .expect("run guestrace");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("@@ticks 25"),
            "{}",
            text(&out.stdout)
        );
        stops_and_interrupts(&text(&out.stderr))
    };
    // Counting and printing need nothing from the guest: no stop at all, but the one that
    // ends the run (END may read the guest).
    let (stops, interrupts) = run("");
    assert_eq!(stops, 0);
    assert!(
        interrupts <= 1,
        "{interrupts} interrupts for host-only ticks"
    );
    // execname reads the guest's current thread: each of those ticks stops the guest once.
    let (stops, interrupts) = run("@[execname] = count();");
    assert_eq!(stops, 0);
    assert!(
        (25..=27).contains(&interrupts),
        "{interrupts} interrupts for 25 guest-reading ticks"
    );
    assert_restored(&guest);
}
