//! Timings of the model guest under TCG: boot to the up line, wall time per round at the default
//! pace and flat out (rounds counted on cpu0), and console bytes per round. Run with
//! `cargo bench -p guests --bench model_timing`; prints medians over several boots.

use std::time::{Duration, Instant};

use guests::model::ground_truth;
use guests::model::{BootOptions, ModelGuest};

const BOOTS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Wall time per round (after the first) and console bytes per round, for one boot.
fn rounds(opts: &BootOptions, n: usize) -> (f64, f64, f64) {
    let start = Instant::now();
    let guest = ModelGuest::boot(opts).expect("boot");
    let up = start.elapsed().as_secs_f64();
    let mut first: Option<(Instant, usize)> = None;
    loop {
        let text = std::fs::read(guest.serial_log()).unwrap_or_default();
        let gt = ground_truth::parse(&String::from_utf8_lossy(&text)).expect("ground truth");
        let done = gt.rounds_of(0).count();
        if done >= 1 && first.is_none() {
            first = Some((Instant::now(), text.len()));
        }
        if done > n {
            let (t0, bytes0) = first.expect("first round seen");
            let per_round = t0.elapsed().as_secs_f64() / n as f64;
            let bytes = (text.len() - bytes0) as f64 / n as f64;
            guest.shutdown().expect("shutdown");
            return (up, per_round, bytes);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn main() {
    for (label, opts, n) in [
        (
            "smp=1 pace=0",
            BootOptions {
                pace: Some(0),
                ..BootOptions::default()
            },
            10,
        ),
        ("smp=1 default pace", BootOptions::default(), 3),
        (
            "smp=2 pace=0",
            BootOptions {
                smp: 2,
                pace: Some(0),
                ..BootOptions::default()
            },
            10,
        ),
    ] {
        let mut ups = Vec::new();
        let mut per = Vec::new();
        let mut bytes = Vec::new();
        for _ in 0..BOOTS {
            let (u, r, b) = rounds(&opts, n);
            ups.push(u * 1e3);
            per.push(r * 1e3);
            bytes.push(b);
        }
        println!(
            "{label}: boot to up {:.0} ms, {:.0} ms per round, {:.0} console bytes per round, all CPUs (medians of {BOOTS})",
            median(ups),
            median(per),
            median(bytes)
        );
    }
}
