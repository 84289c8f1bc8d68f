//! Benchmark mode (`bench=1`): the guest runs the same workload, prints no per-event lines, and
//! its per-round counts equal what a normal boot's ground truth shows for the same round.

mod common;

use std::time::{Duration, Instant};

use guests::model::bench::{parse_bench_rounds, BenchRound};
use guests::model::ground_truth::{Direction, Round, TcpProbe};
use guests::model::{BootOptions, ModelGuest};

/// The counts a bench line should carry, taken from a normal boot's ground truth.
fn counts_of(round: &Round) -> BenchRound {
    let mut c = BenchRound {
        cpu: round.cpu,
        round: u64::from(round.n),
        ..BenchRound::default()
    };
    for ip in round.ip_events() {
        match ip.dir {
            Direction::Send => {
                c.ip_send += 1;
                c.ip4_send += u64::from(ip.ver == 4);
            }
            Direction::Receive => c.ip_receive += 1,
        }
    }
    for tcp in round.tcp_events() {
        match tcp.probe {
            TcpProbe::Send => c.tcp_send += 1,
            TcpProbe::Receive => c.tcp_receive += 1,
            _ => c.tcp_other += 1,
        }
    }
    for udp in round.udp_events() {
        match udp.dir {
            Direction::Send => c.udp_send += 1,
            Direction::Receive => c.udp_receive += 1,
        }
    }
    c.state = round.state_changes().count() as u64;
    c
}

#[test]
fn bench_mode_counts_match_a_normal_boots_ground_truth() {
    let mut normal = ModelGuest::boot(&common::fast(1)).expect("normal boot");
    let bench = ModelGuest::boot(&BootOptions {
        bench: true,
        ..common::fast(1)
    })
    .expect("bench boot");
    let truth = normal
        .wait_rounds(3, Duration::from_secs(120))
        .expect("normal rounds");
    let start = Instant::now();
    let log = loop {
        let log = std::fs::read_to_string(bench.serial_log()).unwrap_or_default();
        if parse_bench_rounds(&log).len() >= 3 {
            break log;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no 3 bench rounds:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        !log.lines().any(|l| l.starts_with("gt 0 ip ")
            || l.starts_with("gt 0 tcp ")
            || l.starts_with("gt 0 state ")),
        "bench mode printed per-event lines"
    );
    let bench_rounds = parse_bench_rounds(&log);
    for round in truth.rounds_of(0).take(3) {
        let want = counts_of(round);
        assert!(want.ip_send > 0 && want.tcp_send > 0, "{want:?}");
        let got = bench_rounds
            .iter()
            .find(|b| b.cpu == 0 && b.round == want.round)
            .unwrap_or_else(|| panic!("no bench line for round {}", want.round));
        assert_eq!(*got, want, "round {}", want.round);
    }
}
