//! The article's examples (scripts/) run against the model guest; what guestrace prints is
//! checked against the guest's own ground truth (its serial log), round by round. Each test
//! adds clauses that mark the guest's rounds (and, for scripts that aggregate, print and reset
//! the script's own aggregations at each round), so a complete round's output can be compared
//! with that round's ground truth.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::*;
use guests::model::ground_truth::{Direction, Round, TcpProbe};

const STATES: [&str; 11] = [
    "state-closed",
    "state-listen",
    "state-syn-sent",
    "state-syn-received",
    "state-established",
    "state-close-wait",
    "state-fin-wait-1",
    "state-closing",
    "state-last-ack",
    "state-fin-wait-2",
    "state-time-wait",
];

fn args(script_name: &str, markers: Vec<String>) -> Vec<String> {
    let mut v = vec!["-s".to_string(), script(script_name).display().to_string()];
    v.extend(markers);
    v
}

/// Splits `addr:port` at the last colon (IPv6 addresses have colons of their own).
fn endpoint(s: &str) -> (String, u16) {
    let (a, p) = s.rsplit_once(':').unwrap_or((s, "0"));
    (a.to_string(), p.parse().unwrap_or(0))
}

fn flag_names(flags: u8) -> String {
    let mut s = String::new();
    for (bit, name) in [
        (0x01, "FIN|"),
        (0x02, "SYN|"),
        (0x04, "RST|"),
        (0x08, "PUSH|"),
        (0x10, "ACK|"),
        (0x20, "URG|"),
    ] {
        if flags & bit != 0 {
            s.push_str(name);
        }
    }
    s
}

#[test]
fn tcp_flags_prints_every_segment_with_its_4_tuple_size_and_flags() {
    let guest = boot();
    let t = trace_rounds(&guest, &args("tcp_flags.d", round_markers("", "")), 1);
    assert_eq!(t.status, Some(0), "stderr: {}", t.stderr);
    assert!(
        t.stdout.starts_with("CPU LOCAL"),
        "header first: {}",
        t.stdout
    );
    let last = *t.rounds.keys().last().expect("a complete round was traced");
    let gt = truth_after(&guest, last);
    for (n, lines) in &t.rounds {
        let got: Vec<(String, u16, String, String, u16, i64, String)> = lines
            .iter()
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let (la, lp) = endpoint(w[1]);
                let (ra, rp) = endpoint(w[3]);
                let flags = w[5]
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .trim_end_matches('\u{8}')
                    .to_string();
                (
                    la,
                    lp,
                    w[2].to_string(),
                    ra,
                    rp,
                    w[4].parse().unwrap_or(-1),
                    flags,
                )
            })
            .collect();
        let want: Vec<(String, u16, String, String, u16, i64, String)> = round(&gt, *n)
            .tcp_events()
            .filter(|e| matches!(e.probe, TcpProbe::Send | TcpProbe::Receive))
            .map(|e| {
                let (dir, local, remote) = match e.probe {
                    TcpProbe::Send => ("->", (&e.src, e.sport), (&e.dst, e.dport)),
                    _ => ("<-", (&e.dst, e.dport), (&e.src, e.sport)),
                };
                (
                    local.0.clone(),
                    local.1,
                    dir.to_string(),
                    remote.0.clone(),
                    remote.1,
                    i64::from(e.len),
                    flag_names(e.flags),
                )
            })
            .collect();
        assert!(!want.is_empty());
        assert_eq!(got, want, "round {n}");
    }
    assert_restored(&guest);
}

#[test]
fn ip_destinations_names_every_sent_packet() {
    let guest = boot();
    let t = trace_rounds(&guest, &args("ip_destinations.d", round_markers("", "")), 1);
    assert_eq!(t.status, Some(0), "stderr: {}", t.stderr);
    assert!(
        t.stderr
            .contains("guestrace: description 'ip:::send' matched 1 probe\n"),
        "dtrace's match message: {}",
        t.stderr
    );
    assert!(t
        .stdout
        .starts_with("CPU     ID                    FUNCTION:NAME"));
    let last = *t.rounds.keys().last().expect("a complete round");
    let gt = truth_after(&guest, last);
    for (n, lines) in &t.rounds {
        let got: Vec<&str> = lines
            .iter()
            .filter(|l| l.contains(" none:send "))
            .filter_map(|l| l.split_whitespace().last())
            .collect();
        let want: Vec<&str> = round(&gt, *n)
            .ip_events()
            .filter(|e| e.dir == Direction::Send)
            .map(|e| e.dst.as_str())
            .collect();
        assert!(want.iter().any(|a| a.contains(':')), "IPv6 too");
        assert_eq!(got, want, "round {n}");
    }
    assert_restored(&guest);
}

#[test]
fn state_changes_follow_each_connection() {
    let guest = boot();
    let t = trace_rounds(
        &guest,
        &args("tcp_state_changes.d", round_markers("", "")),
        1,
    );
    assert_eq!(t.status, Some(0), "stderr: {}", t.stderr);
    let last = *t.rounds.keys().last().expect("a complete round");
    let gt = truth_after(&guest, last);
    for (n, lines) in &t.rounds {
        let got: Vec<(u64, String, u16, String, u16, String, String)> = lines
            .iter()
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let cid = u64::from_str_radix(w[1].trim_start_matches("0x"), 16).unwrap_or(0);
                let (la, lp) = endpoint(w[2]);
                let (ra, rp) = endpoint(w[3]);
                assert!(w[7].parse::<u64>().is_ok(), "a time delta: {l}");
                (cid, la, lp, ra, rp, w[4].to_string(), w[6].to_string())
            })
            .collect();
        let want: Vec<(u64, String, u16, String, u16, String, String)> = round(&gt, *n)
            .state_changes()
            .map(|s| {
                (
                    s.inp,
                    s.laddr.clone(),
                    s.lport,
                    s.raddr.clone(),
                    s.rport,
                    STATES[s.old as usize].to_string(),
                    STATES[s.new as usize].to_string(),
                )
            })
            .collect();
        let seen: std::collections::HashSet<&String> = want.iter().map(|w| &w.6).collect();
        assert_eq!(seen.len(), 11, "every state is entered in a round");
        assert_eq!(got, want, "round {n}");
    }
    assert_restored(&guest);
}

/// Parses dtrace's default printa of histogram aggregations: key lines, then rows
/// `label |bars count` until a blank line. Returns (keys, label) -> count for nonzero rows.
fn histograms(lines: &[String]) -> BTreeMap<(Vec<String>, String), u64> {
    let mut out = BTreeMap::new();
    let mut keys: Vec<String> = Vec::new();
    for l in lines {
        if l.trim().is_empty() || l.contains("Distribution") {
            continue;
        }
        match l.split_once('|') {
            Some((label, rest)) => {
                let count: u64 = rest
                    .trim_start_matches(['@', ' '])
                    .trim()
                    .parse()
                    .unwrap_or(0);
                if count > 0 {
                    out.insert((keys.clone(), label.trim().to_string()), count);
                }
            }
            None => keys = l.split_whitespace().map(str::to_string).collect(),
        }
    }
    out
}

#[test]
fn ip_sizes_by_interface_match_the_packets() {
    let guest = boot();
    let t = trace_rounds(
        &guest,
        &args(
            "ip_sizes_by_interface.d",
            round_markers("printa(@sizes);", "trunc(@sizes);"),
        ),
        1,
    );
    assert_eq!(t.status, Some(0), "stderr: {}", t.stderr);
    let last = *t.rounds.keys().last().expect("a complete round");
    let gt = truth_after(&guest, last);
    for (n, lines) in &t.rounds {
        // Only the printa block: the probe records before it are the non-quiet default output.
        let at = lines.iter().position(|l| l.trim().is_empty()).unwrap_or(0);
        let got = histograms(&lines[at..]);
        let mut want: BTreeMap<(Vec<String>, String), u64> = BTreeMap::new();
        for e in round(&gt, *n).ip_events() {
            let dir = if e.dir == Direction::Send {
                "send"
            } else {
                "receive"
            };
            let label = if e.plen >= 1500 {
                ">= 1500".to_string()
            } else {
                (e.plen / 64 * 64).to_string()
            };
            *want
                .entry((vec![e.ifname.clone(), dir.to_string()], label))
                .or_default() += 1;
        }
        assert_eq!(got, want, "round {n}");
    }
    assert_restored(&guest);
}

#[test]
fn connection_durations_count_each_connection_per_remote_host() {
    let guest = boot();
    let t = trace_rounds(
        &guest,
        &args(
            "tcp_connection_duration.d",
            round_markers("printa(@lifetime_us);", "trunc(@lifetime_us);"),
        ),
        1,
    );
    assert_eq!(t.status, Some(0), "stderr: {}", t.stderr);
    assert!(
        t.stdout
            .contains("TCP connection lifetimes (microseconds) per remote host:"),
        "END's report (its header prints even when no connection closed since the last round)"
    );
    let last = *t.rounds.keys().last().expect("a complete round");
    let gt = truth_after(&guest, last);
    for (n, lines) in &t.rounds {
        let mut got: BTreeMap<String, u64> = BTreeMap::new();
        for ((keys, _), c) in histograms(lines) {
            *got.entry(keys.join(" ")).or_default() += c;
        }
        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        let mut open: HashMap<u64, bool> = HashMap::new();
        for s in round(&gt, *n).state_changes() {
            if s.new == 4 && (s.old == 2 || s.old == 3) {
                open.insert(s.inp, true);
            } else if (s.new == 10 || s.new == 0) && open.remove(&s.inp).is_some() {
                *want.entry(s.raddr.clone()).or_default() += 1;
            }
        }
        assert!(want.len() >= 3);
        assert_eq!(got, want, "round {n}");
    }
    assert_restored(&guest);
}

#[test]
fn out_of_order_segments_per_remote_host() {
    let guest = boot();
    let t = trace_rounds(
        &guest,
        &args(
            "tcp_out_of_order.d",
            round_markers(
                "printa(\"@@ooo %s %@d %@d\\n\", @segments, @bytes);",
                "trunc(@segments); trunc(@bytes);",
            ),
        ),
        1,
    );
    assert_eq!(t.status, Some(0), "stderr: {}", t.stderr);
    assert!(t.stdout.contains("REMOTE HOST"), "END's report");
    let last = *t.rounds.keys().last().expect("a complete round");
    let gt = truth_after(&guest, last);
    for (n, lines) in &t.rounds {
        let got: BTreeMap<String, (u64, u64)> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("@@ooo "))
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (
                    w[0].to_string(),
                    (w[1].parse().unwrap_or(0), w[2].parse().unwrap_or(0)),
                )
            })
            .collect();
        let want: BTreeMap<String, (u64, u64)> = round(&gt, *n)
            .ooo
            .iter()
            .map(|o| (o.host.clone(), (o.segs, o.bytes)))
            .collect();
        assert!(!want.is_empty());
        assert_eq!(got, want, "round {n}");
    }
    assert_restored(&guest);
}

/// Per-process bytes through sosend/soreceive of one protocol, from the sockets' close records.
fn socket_bytes(r: &Round, proto: &str) -> BTreeMap<(String, i32), (u64, u64)> {
    let mut m: BTreeMap<(String, i32), (u64, u64)> = BTreeMap::new();
    for s in r.socket_closes().filter(|s| s.proto == proto) {
        let e = m.entry((s.exec.clone(), s.pid)).or_default();
        e.0 += s.sent;
        e.1 += s.rcvd;
    }
    m.retain(|_, v| *v != (0, 0));
    m
}

fn bytes_by_process(script_name: &str, proto: &str) {
    let guest = boot();
    // The script's own 2-second reports truncate its aggregations; a round's total is the sum
    // of the reports printed inside it plus what the round-end marker prints.
    let mut a = args(
        script_name,
        round_markers(
            "printa(\"@@bytes %s %d %@d %@d\\n\", @sent, @received);",
            "trunc(@sent); trunc(@received);",
        ),
    );
    // fbt's 7th argument comes from the stack: sosend's td is the current thread.
    a.extend([
        "-n".to_string(),
        "fbt::sosend_generic:entry,fbt::sosend_dgram:entry /args[6] != curthread/ { printf(\"@@bad td\\n\"); }".to_string(),
    ]);
    let t = trace_rounds(&guest, &a, 1);
    assert_eq!(t.status, Some(0), "stderr: {}", t.stderr);
    assert!(!t.stdout.contains("@@bad td"), "args[6] is td");
    assert!(t.stdout.contains("PID"), "the periodic report");
    let last = *t.rounds.keys().last().expect("a complete round");
    let gt = truth_after(&guest, last);
    for (n, lines) in &t.rounds {
        let mut got: BTreeMap<(String, i32), (u64, u64)> = BTreeMap::new();
        for l in lines {
            let l = l.strip_prefix("@@bytes ").unwrap_or(l);
            let w: Vec<&str> = l.split_whitespace().collect();
            // A report line: process, pid, sent, received (the header and blank lines are not).
            if w.len() != 4 || w[1..].iter().any(|v| v.parse::<u64>().is_err()) {
                continue;
            }
            let e = got
                .entry((w[0].to_string(), w[1].parse().unwrap_or(0)))
                .or_default();
            e.0 += w[2].parse::<u64>().unwrap_or(0);
            e.1 += w[3].parse::<u64>().unwrap_or(0);
        }
        got.retain(|_, v| *v != (0, 0));
        let want = socket_bytes(round(&gt, *n), proto);
        assert!(!want.is_empty());
        assert_eq!(got, want, "round {n}");
    }
    assert_restored(&guest);
}

#[test]
fn tcp_bytes_by_process_match_the_sockets() {
    bytes_by_process("tcp_bytes_by_process.d", "tcp");
}

#[test]
fn udp_bytes_by_process_match_the_sockets() {
    bytes_by_process("udp_bytes_by_process.d", "udp");
}

#[test]
fn every_network_probe_fires_in_the_guests_order() {
    let guest = boot();
    let mut a = vec![
        "-q".to_string(),
        "-n".to_string(),
        "ip:::,tcp:::,udp::: { printf(\"%s %s %s\\n\", probeprov, probename, execname); }"
            .to_string(),
    ];
    a.extend(round_markers("", ""));
    let t = trace_rounds(&guest, &a, 1);
    assert_eq!(t.status, Some(0), "stderr: {}", t.stderr);
    let last = *t.rounds.keys().last().expect("a complete round");
    let gt = truth_after(&guest, last);
    for (n, lines) in &t.rounds {
        let want: Vec<String> = round(&gt, *n)
            .events
            .iter()
            .filter_map(|e| {
                use guests::model::ground_truth::Event;
                let dir = |d: Direction| {
                    if d == Direction::Send {
                        "send"
                    } else {
                        "receive"
                    }
                };
                Some(match e {
                    Event::Ip(x) => format!("ip {} {}", dir(x.dir), x.ctx.exec),
                    Event::Tcp(x) => format!("tcp {} {}", x.probe.name(), x.ctx.exec),
                    Event::Udp(x) => format!("udp {} {}", dir(x.dir), x.ctx.exec),
                    Event::State(x) => format!("tcp state-change {}", x.ctx.exec),
                    _ => return None,
                })
            })
            .collect();
        for probe in [
            "tcp connect-refused",
            "tcp accept-refused",
            "tcp connect-request",
            "tcp accept-established",
        ] {
            assert!(
                want.iter().any(|w| w.starts_with(probe)),
                "{probe} fires in a round"
            );
        }
        assert_eq!(lines, &want, "round {n}");
    }
    assert_restored(&guest);
}

#[test]
fn two_vcpus_each_report_their_own_cpu_and_threads() {
    let guest = guests::model::ModelGuest::boot(&guests::model::BootOptions {
        smp: 2,
        ..guests::model::BootOptions::default()
    })
    .expect("boot a 2-vCPU model guest");
    let round_no = "`__pcpu[cpu].pc_model->round";
    let a: Vec<String> = vec![
        "-q".into(),
        "-n".into(),
        format!(
            "fbt::gt_round_begin:entry {{ seen[cpu] = 1; printf(\"@@b %d %d\\n\", cpu, {round_no}); }}"
        ),
        "-n".into(),
        "tcp:::send,tcp:::receive,udp:::send,udp:::receive { printf(\"@@x %d %s %s %s %d %d\\n\", \
         cpu, probeprov, probename, execname, pid, tid); }"
            .into(),
        "-n".into(),
        format!("fbt::gt_round_end:entry {{ printf(\"@@e %d %d\\n\", cpu, {round_no}); }}"),
        // Done once each vCPU has completed a round seen from its beginning.
        "-n".into(),
        "fbt::gt_round_end:entry /seen[cpu]/ { done[cpu] = 1; }".into(),
        "-n".into(),
        "fbt::gt_round_end:entry /done[0] && done[1]/ { exit(0); }".into(),
        "-n".into(),
        "tick-120s { exit(1); }".into(),
    ];
    let out = std::process::Command::new(guestrace())
        .args(&a)
        .args(target_args(&guest))
        .output()
        .expect("run guestrace");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Per CPU: the events between that CPU's begin and end markers of round N.
    let mut open: HashMap<u32, (u32, Vec<String>)> = HashMap::new();
    let mut done: Vec<(u32, u32, Vec<String>)> = Vec::new();
    for l in stdout.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        let num = |i: usize| {
            w.get(i)
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(u32::MAX)
        };
        match w.first().copied() {
            Some("@@b") => {
                open.insert(num(1), (num(2), Vec::new()));
            }
            Some("@@e") => {
                if let Some((n, lines)) = open.remove(&num(1)) {
                    if n == num(2) {
                        done.push((num(1), n, lines));
                    }
                }
            }
            Some("@@x") => {
                if let Some((_, lines)) = open.get_mut(&num(1)) {
                    lines.push(w[2..].join(" "));
                }
            }
            _ => {}
        }
    }
    let cpus: std::collections::BTreeSet<u32> = done.iter().map(|d| d.0).collect();
    assert_eq!(cpus.len(), 2, "complete rounds on both vCPUs: {stdout}");
    let last = done.iter().map(|d| d.1).max().unwrap_or(0);
    let gt = truth_after(&guest, last);
    for (cpu, n, lines) in done {
        let r = gt
            .rounds_of(cpu)
            .find(|r| r.n == n)
            .unwrap_or_else(|| panic!("cpu {cpu} round {n} in the ground truth"));
        let dir = |d: Direction| {
            if d == Direction::Send {
                "send"
            } else {
                "receive"
            }
        };
        let want: Vec<String> = r
            .events
            .iter()
            .filter_map(|e| {
                use guests::model::ground_truth::Event;
                let (prov, name, ctx) = match e {
                    Event::Tcp(x) if matches!(x.probe, TcpProbe::Send | TcpProbe::Receive) => {
                        ("tcp", x.probe.name(), &x.ctx)
                    }
                    Event::Udp(x) => ("udp", dir(x.dir), &x.ctx),
                    _ => return None,
                };
                Some(format!(
                    "{prov} {name} {} {} {}",
                    ctx.exec, ctx.pid, ctx.tid
                ))
            })
            .collect();
        assert_eq!(lines, want, "cpu {cpu} round {n}");
    }
    assert_restored(&guest);
}
