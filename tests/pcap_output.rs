//! `--pcap FILE` end to end: the capture of a run against the model guest, read back by
//! tshark, holds exactly the guest's own ip:::send/receive events for the time it ran (same
//! order, interfaces, directions, 4-tuples and TCP flags), with valid checksums.

mod common;
use common::*;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use guests::model::ground_truth::{self, Direction};
use guests::model::ModelGuest;

/// One packet as both sides describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Packet {
    dir: Direction,
    ifname: String,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ports: Option<(u16, u16)>,
    tcp_flags: Option<u8>,
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn capture_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "guestrace-test-{}-{tag}.pcapng",
        std::process::id()
    ))
}

/// Runs guestrace with `args` until the guest completed two more rounds, then ^C. Returns
/// (stdout, stderr).
fn run_for_two_rounds(guest: &ModelGuest, args: &[&str]) -> (String, String) {
    let before = rounds_done(guest);
    let child = Command::new(guestrace())
        .args(args)
        .args(target_args(guest))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run guestrace");
    let deadline = Instant::now() + Duration::from_secs(120);
    while rounds_done(guest) < before + 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("guestrace ends");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

fn rounds_done(guest: &ModelGuest) -> usize {
    ground_truth::parse_file(guest.serial_log())
        .map(|gt| gt.rounds.len())
        .unwrap_or(0)
}

/// The capture as tshark reads it, checking every checksum it can.
fn tshark_packets(file: &Path) -> Vec<Packet> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args([
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-T",
            "fields",
            "-E",
            "occurrence=f",
        ])
        .args(
            [
                "frame.packet_flags_direction",
                "frame.interface_name",
                "ip.src",
                "ip.dst",
                "ipv6.src",
                "ipv6.dst",
                "ip.proto",
                "ipv6.nxt",
                "tcp.srcport",
                "tcp.dstport",
                "udp.srcport",
                "udp.dstport",
                "tcp.flags",
                "ip.checksum.status",
                "tcp.checksum.status",
                "udp.checksum.status",
            ]
            .iter()
            .flat_map(|f| ["-e", f]),
        )
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark -r failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 16, "packet {}: {line:?}", i + 1);
            for (name, status) in [("IP", f[13]), ("TCP", f[14]), ("UDP", f[15])] {
                // 1 = good; empty where the header has no checksum (IPv6) or is absent.
                assert!(
                    status.is_empty() || status == "1",
                    "packet {}: bad {name} checksum: {line:?}",
                    i + 1
                );
            }
            let either = |a: &str, b: &str| {
                if a.is_empty() {
                    b.to_string()
                } else {
                    a.to_string()
                }
            };
            let addr = |s: String| -> IpAddr {
                s.parse()
                    .unwrap_or_else(|_| panic!("packet {}: address {s:?}", i + 1))
            };
            let port = |s: &str| s.parse::<u16>().ok();
            let ports = match (port(f[8]), port(f[9]), port(f[10]), port(f[11])) {
                (Some(s), Some(d), _, _) | (_, _, Some(s), Some(d)) => Some((s, d)),
                _ => None,
            };
            let hex = |s: &str| u32::from_str_radix(s.trim_start_matches("0x"), 16).ok();
            Packet {
                // epb_flags bits 0-1: 1 inbound, 2 outbound.
                dir: match hex(f[0]).map(|v| v & 3) {
                    Some(1) => Direction::Receive,
                    Some(2) => Direction::Send,
                    other => panic!("packet {}: direction {other:?} in {line:?}", i + 1),
                },
                ifname: f[1].to_string(),
                src: addr(either(f[2], f[4])),
                dst: addr(either(f[3], f[5])),
                proto: either(f[6], f[7]).parse().expect("protocol number"),
                ports,
                tcp_flags: hex(f[12]).map(|v| v as u8),
            }
        })
        .collect()
}

/// Every ip event of the ground truth in the guest's order (one vCPU).
fn truth_packets(guest: &ModelGuest) -> Vec<Packet> {
    let gt = ground_truth::parse_file(guest.serial_log()).expect("serial log");
    gt.rounds_of(0)
        .flat_map(|r| r.ip_events())
        .map(|e| Packet {
            dir: e.dir,
            ifname: e.ifname.clone(),
            src: e.src.parse().expect("ground-truth source address"),
            dst: e.dst.parse().expect("ground-truth destination address"),
            proto: e.proto,
            ports: e.ports,
            tcp_flags: e.tcp_flags,
        })
        .collect()
}

/// The captured packets are a contiguous run of the guest's own events, at least a round long.
fn assert_matches_truth(guest: &mut ModelGuest, captured: &[Packet]) {
    assert!(
        captured.len() >= 100,
        "only {} packets captured",
        captured.len()
    );
    // The round in progress when guestrace ended must be complete in the log too.
    let done = rounds_done(guest);
    guest
        .wait_rounds(done + 1, Duration::from_secs(60))
        .expect("the guest completes another round");
    let truth = truth_packets(guest);
    truth
        .windows(captured.len())
        .position(|w| w == captured)
        .unwrap_or_else(|| {
            let first = truth.iter().position(|p| *p == captured[0]);
            let diverge = first.and_then(|k| {
                captured
                    .iter()
                    .zip(&truth[k..])
                    .position(|(c, t)| c != t)
                    .map(|i| (i, &captured[i], &truth[k + i]))
            });
            panic!(
                "the capture is not the guest's sequence of ip events: first packet at {first:?}, \
                 first difference (index, captured, truth): {diverge:?}"
            )
        });
    for name in ["lo0", "em0"] {
        assert!(
            captured.iter().any(|p| p.ifname == name),
            "no packet on {name}"
        );
    }
    for dir in [Direction::Send, Direction::Receive] {
        assert!(captured.iter().any(|p| p.dir == dir), "no {dir:?} packet");
    }
}

#[test]
fn pcap_alone_captures_the_guests_packets() {
    if !tshark_available() {
        eprintln!("skipped: tshark is not installed (tools/setup installs it)");
        return;
    }
    let mut guest = boot();
    let file = capture_path("alone");
    let (stdout, stderr) = run_for_two_rounds(&guest, &["--pcap", file.to_str().expect("path")]);
    assert!(
        stdout.trim().is_empty(),
        "nothing traced on stdout: {stdout:?}"
    );
    assert!(
        !stderr.contains("matched"),
        "the capture's own clause is not reported: {stderr}"
    );
    let captured = tshark_packets(&file);
    assert!(
        stderr.contains(&format!("guestrace: {} packets written to", captured.len())),
        "{stderr}"
    );
    assert_matches_truth(&mut guest, &captured);
    assert_restored(&guest);
    let _ = std::fs::remove_file(&file);
}

#[test]
fn pcap_beside_a_script() {
    if !tshark_available() {
        eprintln!("skipped: tshark is not installed (tools/setup installs it)");
        return;
    }
    let mut guest = boot();
    let file = capture_path("script");
    let (stdout, _) = run_for_two_rounds(
        &guest,
        &[
            "-q",
            "-n",
            "tcp:::send { printf(\"%d %d %d\\n\", args[4]->tcp_sport, args[4]->tcp_dport, args[4]->tcp_flags); }",
            "--pcap",
            file.to_str().expect("path"),
        ],
    );
    let captured = tshark_packets(&file);
    assert_matches_truth(&mut guest, &captured);
    // Every segment the script saw leave is in the capture, outbound, with its flags.
    let sent: Vec<(u16, u16, u8)> = captured
        .iter()
        .filter(|p| p.dir == Direction::Send && p.proto == 6)
        .filter_map(|p| Some((p.ports?.0, p.ports?.1, p.tcp_flags?)))
        .collect();
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines.len() > 1, "the script printed too little: {lines:?}");
    // tcp:::send fires in tcp_output before ip_output's ip:::send for the same segment, so the
    // run can end between the two for the last segment: it alone may be missing.
    for l in &lines[..lines.len() - 1] {
        let v: Vec<u16> = l.split(' ').filter_map(|w| w.parse().ok()).collect();
        assert_eq!(v.len(), 3, "{l:?}");
        assert!(
            sent.contains(&(v[0], v[1], v[2] as u8)),
            "tcp:::send {l:?} is not among the captured outbound segments"
        );
    }
    assert_restored(&guest);
    let _ = std::fs::remove_file(&file);
}
