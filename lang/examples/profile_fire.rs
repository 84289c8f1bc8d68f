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
    for _ in 0..n {
        sink.out.clear();
        p.fire(10, &mut ctx, &mut sink);
    }
    println!("{:?} per firing", t.elapsed() / n as u32);
}
