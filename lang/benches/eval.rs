//! Per-event cost of compiled D: one clause like the article's TCP flags printf over
//! pre-captured arguments and guest memory, and an aggregation update through the evaluator.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lang::{compile, BufferSink, CompileOptions, Source};

#[path = "../tests/common/tcp.rs"]
mod tcp;

const FLAGS: &str = include_str!("flags.d");

const AGG: &str = r#"tcp:::send { @segments[args[4]->tcp_dport] = count(); }"#;

fn program(script: &str) -> lang::Program {
    let sources = [
        Source::library("tcp.d", tcp::LIBRARY),
        Source::script("bench.d", script),
    ];
    match compile(
        &sources,
        &tcp::catalog(),
        &tcp::types(),
        &CompileOptions::default(),
    ) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn bench(c: &mut Criterion) {
    let mut flags = program(FLAGS);
    let mut agg = program(AGG);
    let mut ctx = tcp::segment(0x12, true);
    let mut sink = BufferSink::default();
    c.bench_function("flags_printf_clause", |b| {
        b.iter(|| {
            sink.out.clear();
            black_box(flags.fire(10, &mut ctx, &mut sink));
        })
    });
    for (name, script) in [
        ("empty_clause", "tcp:::send { }"),
        ("printf_const", "tcp:::send { printf(\"%d\", 1); }"),
        ("one_member", "tcp:::send { x = args[4]->tcp_flags; }"),
        (
            "state_string",
            "tcp:::send { x = tcp_state_string[args[3]->tcps_state]; }",
        ),
    ] {
        let mut p = program(script);
        c.bench_function(name, |b| {
            b.iter(|| {
                sink.out.clear();
                black_box(p.fire(10, &mut ctx, &mut sink));
            })
        });
    }
    c.bench_function("aggregation_update", |b| {
        b.iter(|| black_box(agg.fire(10, &mut ctx, &mut sink)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
