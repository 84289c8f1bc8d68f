//! The model guest boots under TCG with 1 and 2 vCPUs, runs rounds, and its ground truth is
//! self-consistent: the two ends of every exchange agree, connections follow the TCP state
//! diagram, every state is entered each round, the sums match the events, FreeBSD's quirks
//! show, and the same events come out on every boot and at every pace.

mod common;

use std::collections::{BTreeMap, HashMap};

use guests::model::ground_truth::{Direction, Event, GroundTruth, Round, TcpProbe};
use guests::model::{BootOptions, ModelError, ModelGuest};

/// The edges tcp_state_change can take in FreeBSD 10.4 (tcp_fsm.h numbering).
const EDGES: [(i32, i32); 21] = [
    (0, 1),
    (0, 2),
    (0, 3),
    (1, 0),
    (2, 3),
    (2, 4),
    (2, 6),
    (3, 0),
    (3, 4),
    (3, 6),
    (4, 0),
    (4, 5),
    (4, 6),
    (5, 0),
    (5, 8),
    (6, 0),
    (6, 7),
    (6, 9),
    (6, 10),
    (7, 10),
    (9, 10),
];

fn check_state_diagram(round: &Round) {
    let mut current: HashMap<u64, i32> = HashMap::new();
    for sc in round.state_changes() {
        assert!(
            EDGES.contains(&(sc.old, sc.new)),
            "cpu{} round {}: illegal transition {} -> {}",
            sc.cpu,
            round.n,
            sc.old,
            sc.new
        );
        // A transition out of CLOSED starts a connection on a (possibly reused) inpcb.
        if sc.old != 0 {
            assert_eq!(
                current.get(&sc.inp),
                Some(&sc.old),
                "cpu{} round {}: inp {:#x} jumps from {:?} via {}",
                sc.cpu,
                round.n,
                sc.inp,
                current.get(&sc.inp),
                sc.old
            );
        }
        current.insert(sc.inp, sc.new);
    }
}

fn check_round(round: &Round, cpu: u32) {
    let n = round.n;
    assert_eq!(round.mbufs_outstanding, 0, "cpu{cpu} round {n} leaks mbufs");

    // Every TCP state entered, and the summary agrees with the events.
    let mut seen = [0u64; 11];
    for sc in round.state_changes() {
        seen[sc.new as usize] += 1;
    }
    assert_eq!(
        seen, round.states_seen,
        "cpu{cpu} round {n}: states summary vs events"
    );
    assert!(
        seen.iter().all(|&c| c > 0),
        "cpu{cpu} round {n}: a state was never entered: {seen:?}"
    );
    check_state_diagram(round);

    // Flow sums equal the ip events; what one end sends the other receives.
    let mut from_events: BTreeMap<(String, u8, String, String), [u64; 4]> = BTreeMap::new();
    for ip in round.ip_events() {
        let e = from_events
            .entry((
                ip.ifname.clone(),
                ip.proto,
                ip.src.replace("fe80:1::", "fe80::"),
                ip.dst.replace("fe80:1::", "fe80::"),
            ))
            .or_default();
        let i = if ip.dir == Direction::Send { 0 } else { 2 };
        e[i] += 1;
        e[i + 1] += u64::from(ip.plen);
    }
    assert!(!round.flows.is_empty());
    for f in &round.flows {
        let key = (f.ifname.clone(), f.proto, f.src.clone(), f.dst.clone());
        let ev = from_events.get(&key).copied().unwrap_or_default();
        assert_eq!(
            ev,
            [f.sent_pkts, f.sent_bytes, f.rcvd_pkts, f.rcvd_bytes],
            "cpu{cpu} round {n}: flow {key:?} vs ip events"
        );
        match f.ifname.as_str() {
            "lo0" => assert_eq!(
                (f.sent_pkts, f.sent_bytes),
                (f.rcvd_pkts, f.rcvd_bytes),
                "lo0 flow {key:?}"
            ),
            "em0" => {
                assert_eq!(
                    (f.sent_pkts, f.sent_bytes),
                    (f.peer_rcvd_pkts, f.peer_rcvd_bytes),
                    "em0 out {key:?}"
                );
                assert_eq!(
                    (f.peer_sent_pkts, f.peer_sent_bytes),
                    (f.rcvd_pkts, f.rcvd_bytes),
                    "em0 in {key:?}"
                );
            }
            other => panic!("unknown interface {other}"),
        }
    }
    assert!(
        round
            .flows
            .iter()
            .any(|f| f.ifname == "em0" && f.ver == 6 && f.proto == 17),
        "UDP over IPv6 on em0"
    );
    assert!(
        round
            .flows
            .iter()
            .any(|f| f.ifname == "lo0" && f.ver == 6 && f.proto == 6),
        "TCP over IPv6 on lo0"
    );
    assert!(
        round.flows.iter().any(|f| f.proto == 1 && f.sent_pkts == 2),
        "ICMP echo request and reply sent"
    );
    assert!(
        round.flows.iter().any(|f| f.proto == 1 && f.rcvd_pkts == 2),
        "ICMP echo request and reply received"
    );

    // Socket-level bytes: for TCP, what a socket wrote is what tcp:::send carried on its
    // 4-tuple; for lo0 connections, one end's sent equals the other end's received.
    let socks: Vec<_> = round.socket_closes().collect();
    for s in socks.iter().filter(|s| s.proto == "tcp") {
        let Some((la, lp, ra, rp)) = &s.endpoints else {
            continue;
        };
        let sent: u64 = round
            .tcp_events()
            .filter(|t| {
                t.probe == TcpProbe::Send
                    && &t.src == la
                    && t.sport == *lp
                    && &t.dst == ra
                    && t.dport == *rp
            })
            .map(|t| u64::from(t.len))
            .sum();
        assert_eq!(
            sent, s.sent,
            "cpu{cpu} round {n}: {} socket {la}:{lp} sent",
            s.exec
        );
        let rcvd: u64 = round
            .tcp_events()
            .filter(|t| {
                t.probe == TcpProbe::Receive
                    && &t.dst == la
                    && t.dport == *lp
                    && &t.src == ra
                    && t.sport == *rp
            })
            .map(|t| u64::from(t.len))
            .sum();
        assert_eq!(
            rcvd, s.rcvd,
            "cpu{cpu} round {n}: {} socket {la}:{lp} received",
            s.exec
        );
        if let Some(peer) = socks
            .iter()
            .find(|p| p.endpoints == Some((ra.clone(), *rp, la.clone(), *lp)))
        {
            assert_eq!(
                (s.sent, s.rcvd),
                (peer.rcvd, peer.sent),
                "lo0 connection {la}:{lp} <-> {ra}:{rp}"
            );
        }
    }
    let udp_sock_sent: u64 = socks
        .iter()
        .filter(|s| s.proto == "udp")
        .map(|s| s.sent)
        .sum();
    let udp_sock_rcvd: u64 = socks
        .iter()
        .filter(|s| s.proto == "udp")
        .map(|s| s.rcvd)
        .sum();
    assert_eq!(
        udp_sock_sent,
        round
            .udp_events()
            .filter(|u| u.dir == Direction::Send)
            .map(|u| u64::from(u.len))
            .sum::<u64>()
    );
    assert_eq!(
        udp_sock_rcvd,
        round
            .udp_events()
            .filter(|u| u.dir == Direction::Receive)
            .map(|u| u64::from(u.len))
            .sum::<u64>()
    );

    // Per-process sums equal the probe events attributed to each execname.
    let mut procs: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    for t in round.tcp_events() {
        let i = match t.probe {
            TcpProbe::Send => 0,
            TcpProbe::Receive => 1,
            _ => continue,
        };
        procs.entry(t.ctx.exec.clone()).or_default()[i] += u64::from(t.len);
    }
    for u in round.udp_events() {
        procs.entry(u.ctx.exec.clone()).or_default()
            [if u.dir == Direction::Send { 2 } else { 3 }] += u64::from(u.len);
    }
    procs.retain(|_, v| v.iter().any(|&x| x > 0));
    let summary: BTreeMap<String, [u64; 4]> = round
        .procs
        .iter()
        .map(|p| {
            (
                p.exec.clone(),
                [p.tcp_sent, p.tcp_rcvd, p.udp_sent, p.udp_rcvd],
            )
        })
        .collect();
    assert_eq!(procs, summary, "cpu{cpu} round {n}: per-process bytes");
    for exec in ["sshd", "ssh", "fetch", "ntpd", "intr"] {
        assert!(
            summary.contains_key(exec),
            "cpu{cpu} round {n}: no bytes for {exec}"
        );
    }

    // Out-of-order segments from this CPU's remote host, matching the events.
    let host = format!("10.0.2.{}", 2 + cpu);
    let ooo_events: Vec<_> = round
        .events
        .iter()
        .filter_map(|e| {
            if let Event::OutOfOrder(o) = e {
                Some(o)
            } else {
                None
            }
        })
        .collect();
    assert!(
        !ooo_events.is_empty(),
        "cpu{cpu} round {n}: no out-of-order segment"
    );
    let o = round
        .ooo
        .iter()
        .find(|o| o.host == host)
        .expect("ooo sum for the remote host");
    assert_eq!(
        o.segs,
        ooo_events.iter().filter(|e| e.host == host).count() as u64
    );
    assert!(
        ooo_events
            .iter()
            .all(|e| (e.seq as i32).wrapping_sub(e.rnxt as i32) > 0),
        "out-of-order means ahead of rcv_nxt"
    );

    // FreeBSD 10.4 quirks.
    let tcp: Vec<_> = round.tcp_events().collect();
    assert!(
        !tcp.iter()
            .any(|t| t.probe == TcpProbe::Receive && t.flags == 0x02 && t.dport == 22),
        "tcp:::receive fired for a SYN to a listening socket"
    );
    assert!(
        tcp.iter()
            .any(|t| t.probe == TcpProbe::Receive && t.src == host && t.iphl == 0),
        "no ipovly-clobbered header at tcp:::receive on em0"
    );
    assert!(
        round
            .udp_events()
            .filter(|u| u.dir == Direction::Send && u.ver == 4)
            .all(|u| u.iphl == 0),
        "ip_hl must be 0 at udp:::send"
    );
    let refused: Vec<_> = tcp
        .iter()
        .filter(|t| t.probe == TcpProbe::AcceptRefused)
        .collect();
    assert!(
        refused.len() >= 2 && refused.iter().all(|t| t.flags & 0x04 != 0 && t.tp == 0),
        "accept-refused on RSTs from tcp_respond"
    );
    assert!(
        tcp.iter()
            .filter(|t| t.probe == TcpProbe::ConnectRefused)
            .count()
            >= 2
    );
    let syns = tcp
        .iter()
        .filter(|t| t.probe == TcpProbe::ConnectRequest && t.dport == 80)
        .count();
    assert_eq!(
        syns, 2,
        "the lost SYN to the web server is retransmitted once"
    );
    let synacks_sent = round
        .ip_events()
        .filter(|i| i.dir == Direction::Send && i.tcp_flags == Some(0x12))
        .count();
    let synacks_probed = tcp
        .iter()
        .filter(|t| t.probe == TcpProbe::Send && t.flags == 0x12)
        .count();
    assert!(
        synacks_sent > 0 && synacks_probed == 0,
        "syncache SYN|ACKs have no tcp:::send"
    );
    // Processes read everything that arrived before they send, so what they send offers the
    // whole receive window again.
    for t in tcp
        .iter()
        .filter(|t| t.probe == TcpProbe::Send && t.ctx.exec != "intr" && t.flags & 0x04 == 0)
    {
        assert_eq!(
            t.win, 65535,
            "cpu{cpu} round {n}: {} offers a shrunken window: {t:?}",
            t.ctx.exec
        );
    }
    // Every send and receive probe fires in a named context.
    assert!(tcp
        .iter()
        .filter(|t| t.probe == TcpProbe::Receive)
        .all(|t| t.ctx.exec == "intr"));
}

fn check_truth(gt: &GroundTruth, smp: u32, rounds: usize) {
    let up = gt.up.as_ref().expect("up line");
    assert_eq!(up.ncpu, smp);
    assert_eq!(up.osrelease, "10.4-RELEASE");
    assert_eq!(
        gt.stub_calls, 0,
        "no probe is enabled, so the stub must stay silent"
    );
    for cpu in 0..smp {
        let rs: Vec<&Round> = gt.rounds_of(cpu).collect();
        assert!(rs.len() >= rounds);
        for (i, r) in rs.iter().enumerate() {
            assert_eq!(r.n as usize, i + 1, "rounds numbered in order");
            assert!(r.end_tick > r.begin_tick);
            check_round(r, cpu);
        }
    }
}

/// Rounds with pointers and ticks, for comparing boots.
fn events_of(gt: &GroundTruth, cpu: u32, rounds: usize) -> Vec<Event> {
    gt.rounds_of(cpu)
        .take(rounds)
        .flat_map(|r| r.events.clone())
        .collect()
}

#[test]
fn one_vcpu_runs_consistent_rounds() {
    let (guest, gt) = common::boot_rounds(&common::fast(1), 3);
    check_truth(&gt, 1, 3);
    guest.shutdown().unwrap();
}

#[test]
fn two_vcpus_each_run_their_share_deterministically() {
    // A different pace must not change a single event: nothing depends on wall time.
    let opts = BootOptions {
        pace: Some(3000),
        ..common::fast(2)
    };
    let (guest, gt) = common::boot_rounds(&opts, 2);
    check_truth(&gt, 2, 2);
    // Both CPUs fire probes, each in its own address space of PCBs.
    let tp0: Vec<u64> = gt
        .rounds_of(0)
        .flat_map(|r| r.tcp_events().map(|t| t.tp).collect::<Vec<_>>())
        .collect();
    let tp1: Vec<u64> = gt
        .rounds_of(1)
        .flat_map(|r| r.tcp_events().map(|t| t.tp).collect::<Vec<_>>())
        .collect();
    assert!(tp0.iter().filter(|&&t| t != 0).all(|t| !tp1.contains(t)));
    guest.shutdown().unwrap();

    let (again, gt1) = common::boot_rounds(&common::fast(1), 2);
    assert_eq!(
        events_of(&gt, 0, 2),
        events_of(&gt1, 0, 2),
        "cpu0's events differ between boots"
    );
    again.shutdown().unwrap();
}

#[test]
fn shutdown_removes_socket_ram_file_and_run_dir() {
    let guest = ModelGuest::boot(&common::fast(1)).unwrap();
    let (sock, ram, dir) = (
        guest.gdb_socket().to_path_buf(),
        guest.ram_file().to_path_buf(),
        guest.run_dir().to_path_buf(),
    );
    let pid = guest.pid();
    assert!(sock.exists() && ram.exists());
    assert_eq!(std::fs::metadata(&ram).unwrap().len(), 128 << 20);
    drop(guest);
    assert!(!sock.exists() && !ram.exists() && !dir.exists());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "QEMU still running"
    );
}

#[test]
fn missing_qemu_is_a_clear_error() {
    let opts = BootOptions {
        qemu: Some("/nonexistent/qemu-system-x86_64".into()),
        ..BootOptions::default()
    };
    let err = ModelGuest::boot(&opts).unwrap_err();
    assert!(matches!(err, ModelError::QemuNotFound(_)), "{err}");
    assert!(err.to_string().contains("apt-get install qemu-system-x86"));
    let bad = BootOptions {
        smp: 3,
        ..BootOptions::default()
    };
    assert!(matches!(
        ModelGuest::boot(&bad),
        Err(ModelError::BadOption(_))
    ));
}

#[test]
fn sockets_are_attached_by_their_processes_and_by_intr_for_accepted_ones() {
    let (guest, gt) = common::boot_rounds(&common::fast(1), 1);
    let round = gt.rounds_of(0).next().unwrap();
    let mut attaches: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in &round.events {
        if let Event::Attach { ctx, proto, .. } = e {
            *attaches
                .entry((ctx.exec.clone(), proto.clone()))
                .or_default() += 1;
        }
    }
    // Every socket that was attached was also closed, by a process.
    let attached: usize = attaches.values().sum();
    assert_eq!(attached, round.socket_closes().count());
    // sshd's two listeners, ssh's two connections, fetch's three, the three connections the
    // syncache completes (as intr), and the UDP sockets of ntpd, syslogd and sshd.
    let want: BTreeMap<(String, String), usize> = [
        (("fetch", "tcp"), 3),
        (("intr", "tcp"), 3),
        (("ntpd", "udp"), 2),
        (("ssh", "tcp"), 2),
        (("sshd", "tcp"), 2),
        (("sshd", "udp"), 2),
        (("syslogd", "udp"), 2),
    ]
    .into_iter()
    .map(|((e, p), n)| ((e.to_string(), p.to_string()), n))
    .collect();
    assert_eq!(attaches, want);

    // What each process passed to sosend and got from soreceive adds up to its sockets' totals.
    let mut calls: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for e in &round.events {
        match e {
            Event::Sosend { ctx, resid, .. } => {
                calls.entry(ctx.exec.clone()).or_default().0 += resid
            }
            Event::Soreceive { ctx, got, .. } => {
                calls.entry(ctx.exec.clone()).or_default().1 += got
            }
            _ => {}
        }
    }
    let mut by_owner: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for s in round.socket_closes() {
        let e = by_owner.entry(s.exec.clone()).or_default();
        e.0 += s.sent;
        e.1 += s.rcvd;
    }
    by_owner.retain(|_, v| *v != (0, 0));
    assert_eq!(calls, by_owner);
    guest.shutdown().unwrap();
}

#[test]
fn rounds_go_on_across_the_wrap_of_the_logical_clock() {
    // About one and a half rounds before the 32-bit clock wraps.
    let opts = BootOptions {
        start_tick: Some(u32::MAX - 90_000),
        ..common::fast(1)
    };
    let (guest, gt) = common::boot_rounds(&opts, 3);
    let rounds: Vec<&Round> = gt.rounds_of(0).collect();
    assert!(
        rounds.iter().any(|r| r.end_tick < r.begin_tick),
        "the clock did not wrap"
    );
    for r in rounds {
        check_round(r, 0);
    }
    guest.shutdown().unwrap();
}
