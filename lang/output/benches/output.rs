//! Per-event costs of the output half: the article's TCP flags printf and aggregation updates.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lang_output::{AggFunc, Aggregation, Datum, Format, IntVal, NoSymbols};

fn printf_tcp_flags(c: &mut Criterion) {
    let fmt = Format::parse("%3d %15s:%-6d -> %15s:%-6d %6d  (%s%s%s%s%s%s\x08)\n")
        .expect("the article's format parses");
    let args = vec![
        Datum::i32(0),
        Datum::str("10.0.2.15"),
        Datum::Int(IntVal::u16(22)),
        Datum::str("10.0.2.2"),
        Datum::Int(IntVal::u16(52110)),
        Datum::i32(36),
        Datum::str(""),
        Datum::str(""),
        Datum::str(""),
        Datum::str("PUSH|"),
        Datum::str("ACK|"),
        Datum::str(""),
    ];
    let mut out = Vec::with_capacity(256);
    c.bench_function("printf_tcp_flags_render", |b| {
        b.iter(|| {
            out.clear();
            fmt.render(black_box(&args), &NoSymbols, &mut out)
                .expect("renders");
            black_box(out.len())
        })
    });
}

fn aggregation_updates(c: &mut Criterion) {
    let keys: Vec<[Datum; 1]> = (0..16)
        .map(|i| [Datum::str(format!("10.0.0.{i}"))])
        .collect();
    let mut count = Aggregation::new(0, "sources", AggFunc::Count);
    let mut i = 0usize;
    c.bench_function("agg_update_count_string_key", |b| {
        b.iter(|| {
            i = (i + 1) & 15;
            count.update(black_box(&keys[i]), 0, 1);
        })
    });
    let int_keys: Vec<[Datum; 1]> = (0..16).map(|i| [Datum::i32(i)]).collect();
    let mut count_int = Aggregation::new(0, "c", AggFunc::Count);
    c.bench_function("agg_update_count_int_key", |b| {
        b.iter(|| {
            i = (i + 1) & 15;
            count_int.update(black_box(&int_keys[i]), 0, 1);
        })
    });
    let mut quant = Aggregation::new(1, "lat", AggFunc::Quantize);
    let mut v: i64 = 1;
    c.bench_function("agg_update_quantize_int_key", |b| {
        b.iter(|| {
            i = (i + 1) & 15;
            v = v
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            quant.update(black_box(&int_keys[i]), (v >> 40) & 0xfffff, 1);
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(std::time::Duration::from_secs(2))
        .warm_up_time(std::time::Duration::from_millis(500));
    targets = printf_tcp_flags, aggregation_updates
}
criterion_main!(benches);
