//! Fires the benchmark's flags clause in a loop, for profilers (`perf record`).

#[path = "../tests/common/tcp.rs"]
mod tcp;

fn main() {
    // An optional second argument names another script to fire instead.
    let script = match std::env::args().nth(2) {
        Some(path) => std::fs::read_to_string(path).unwrap_or_default(),
        None => include_str!("../benches/flags.d").to_string(),
    };
    let sources = [
        lang::Source::library("tcp.d", tcp::LIBRARY),
        lang::Source::script("bench.d", script.as_str()),
    ];
    let mut p = match lang::compile(
        &sources,
        &tcp::catalog(),
        &tcp::types(),
        &lang::CompileOptions::default(),
    ) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let mut ctx = tcp::segment(0x12, true);
    let mut sink = lang::BufferSink::default();
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let t = std::time::Instant::now();
    let cpu0 = cpu_ns();
    for _ in 0..n {
        sink.out.clear();
        p.fire(10, &mut ctx, &mut sink);
    }
    let wall = t.elapsed().as_nanos() as u64 / n;
    let cpu = cpu_ns().zip(cpu0).map(|(b, a)| (b - a) / n);
    match cpu {
        Some(cpu) => println!("{wall} ns wall, {cpu} ns on-CPU per firing"),
        None => println!("{wall} ns wall per firing"),
    }
}

/// This thread's time on a CPU so far (Linux schedstat), which a loaded machine does not inflate.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
