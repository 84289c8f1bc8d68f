//! FreeBSD 10.4's own DTrace test suite as an oracle, run locally.
//!
//! Each scenario re-expresses, with this crate's API, what one of the suite's D scripts asks
//! dtrace to print; the expected bytes are that test's `.d.out` file, read from the FreeBSD
//! source tree (never copied here). Run with
//! `FREEBSD_DTRACE_TESTS=.../cddl/contrib/opensolaris/cmd/dtrace/test/tst/common \
//!  cargo test -p lang-output --test freebsd_oracle -- --ignored --nocapture`.

use lang_output::subr::{self, StrtokState};
use lang_output::{
    print_unprinted, printa, printa_format, trace_datum, AggFunc, AggPrintOptions, Aggregation,
    Datum, FloatVal, Format, IntVal, NoSymbols, SortOrder, Symbolizer,
};

type Scenario = (&'static str, fn() -> Vec<u8>);

const BIG: u64 = 0x1234_5678_90ab_cdef;

fn int(bits: u64, size: u8, signed: bool) -> Datum {
    Datum::Int(IntVal::new(bits, size, signed))
}

fn s(v: &str) -> Datum {
    Datum::str(v)
}

fn pf(out: &mut Vec<u8>, fmt: &str, args: &[Datum]) {
    pf_sym(out, fmt, args, &NoSymbols);
}

fn pf_sym(out: &mut Vec<u8>, fmt: &str, args: &[Datum], sym: &dyn Symbolizer) {
    Format::parse(fmt)
        .expect("format parses")
        .render(args, sym, out)
        .expect("format renders");
}

/// What dtrace prints once the run ends: a newline, then the unprinted aggregations.
fn at_exit(out: &mut Vec<u8>, aggs: &[&Aggregation]) {
    out.push(b'\n');
    print_unprinted(aggs, &AggPrintOptions::default(), out);
}

fn opts(order: SortOrder) -> AggPrintOptions {
    AggPrintOptions {
        order,
        ..AggPrintOptions::default()
    }
}

fn printf_ints() -> Vec<u8> {
    let mut o = Vec::new();
    for (conv, signs) in [
        ("d", [true, false]),
        ("u", [true, false]),
        ("x", [false, true]),
        ("o", [false, true]),
    ] {
        for signed in signs {
            for (i, size) in [1u8, 2, 4, 8].into_iter().enumerate() {
                let lead = if i == 0 { "\n" } else { "" };
                pf(
                    &mut o,
                    &format!("{lead}%{conv}\n"),
                    &[int(BIG, size, signed)],
                );
            }
        }
    }
    pf(&mut o, "\n%p\n", &[int(0x12345678, 8, false)]);
    pf(&mut o, "%p\n", &[int(0x90abcdef, 8, false)]);
    pf(&mut o, "%p\n", &[int(0x67890abc, 8, false)]);
    o.push(b'\n'); // the newline dtrace prints at exit
    o
}

fn printf_signs() -> Vec<u8> {
    let mut o = Vec::new();
    let x = int(u64::MAX, 2, false);
    let y = int(u64::MAX, 2, true);
    pf(&mut o, "%d %i %u\n", &[x.clone(), x.clone(), x]);
    pf(&mut o, "%d %i %u\n", &[y.clone(), y.clone(), y]);
    o.push(b'\n'); // the newline dtrace prints at exit
    o
}

fn printf_flags() -> Vec<u8> {
    let mut o = Vec::new();
    pf(&mut o, "\n", &[]);
    pf(&mut o, "# %#8x\n", &[Datum::i32(0x123)]);
    pf(&mut o, "0 %08x\n", &[Datum::i32(0x123)]);
    pf(&mut o, "- %-8x\n", &[Datum::i32(0x123)]);
    pf(&mut o, "+ %+8d\n", &[Datum::i32(123)]);
    pf(&mut o, "  % 8d\n", &[Datum::i32(123)]);
    o.push(b'\n'); // the newline dtrace prints at exit
    o
}

struct Malloc;

impl Symbolizer for Malloc {
    fn symbolize(&self, _addr: u64) -> Option<String> {
        Some("kernel`malloc".into())
    }
}

fn printf_basics() -> Vec<u8> {
    let mut o = Vec::new();
    let i = Datum::i32(97);
    let short = int(97, 2, true);
    let ushort = int(97, 2, false);
    let long = int(97, 8, true);
    let ulong = int(97, 8, false);
    let uint = int(97, 4, false);
    pf(&mut o, "\n", &[]);
    pf_sym(
        &mut o,
        "%%a = %a\n",
        &[int(0xffffffff80a00000, 8, false)],
        &Malloc,
    );
    for (f, a) in [
        ("%%c = %c\n", &i),
        ("%%d = %d\n", &i),
        ("%%hd = %hd\n", &short),
        ("%%hi = %hi\n", &short),
        ("%%ho = %ho\n", &ushort),
        ("%%hu = %hu\n", &ushort),
        ("%%hx = %hx\n", &ushort),
        ("%%hX = %hX\n", &ushort),
        ("%%i = %i\n", &i),
        ("%%lc = %lc\n", &i),
        ("%%ld = %ld\n", &long),
        ("%%li = %li\n", &long),
        ("%%lo = %lo\n", &ulong),
        ("%%lu = %lu\n", &ulong),
        ("%%lx = %lx\n", &ulong),
        ("%%lX = %lX\n", &ulong),
        ("%%o = %o\n", &uint),
        ("%%p = %p\n", &ulong),
        ("%%s = %s\n", &s("hello")),
        ("%%u = %u\n", &uint),
        ("%%wc = %wc\n", &i),
        ("%%x = %x\n", &uint),
        ("%%X = %X\n", &uint),
    ] {
        pf(&mut o, f, std::slice::from_ref(a));
    }
    o.push(b'\n'); // the newline dtrace prints at exit
    o
}

fn hist_by_i(func: AggFunc) -> Vec<u8> {
    let mut a = Aggregation::new(0, "a", func);
    for i in (0..1000).step_by(100) {
        a.update(&[Datum::i32(i)], i64::from(i), 1);
    }
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    o
}

fn aggs_quantize() -> Vec<u8> {
    hist_by_i(AggFunc::Quantize)
}

fn aggs_lquantize() -> Vec<u8> {
    hist_by_i(AggFunc::Lquantize {
        base: -100,
        limit: 1100,
        step: 100,
    })
}

/// tst.negquant and tst.neglquant feed the same keys and increments to different functions.
fn negative_weights(func: AggFunc, shifted: bool) -> Vec<u8> {
    let mut a = Aggregation::new(0, "", func);
    let mut up = |k: &str, v: i64, incr: i64| a.update(&[s(k)], v, incr);
    let max = i64::MAX;
    up("j-church", 1, 100);
    up("j-church", 1, -99);
    up("j-church", 1, -1);
    up("k-ingleside", 1, -123);
    up("l-taraval", 0, -123);
    up("l-taraval", -1, -123);
    up("l-taraval", 1, 123);
    up("l-taraval", 1, 123);
    up("m-oceanview", 1, max);
    up("m-oceanview", 1, 1);
    up("m-oceanview", 2, max);
    up("m-oceanview", 8, 400000);
    up("n-judah", 1, 123);
    up("n-judah", 2, 123);
    up("n-judah", 2, 123);
    up("n-judah", 2, 1);
    for (name, first) in [
        ("f-market", max),
        ("s-castro", if shifted { max - 3 } else { max - 6 }),
    ] {
        if shifted {
            let (mut i, mut v) = (1i64, first);
            for _ in 0..4 {
                up(name, i, v);
                i <<= 1;
                v >>= 1;
            }
        } else {
            up(name, 1, first);
            for i in 2..=7 {
                up(name, i, max / i);
            }
        }
    }
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    o
}

fn aggs_negquant() -> Vec<u8> {
    negative_weights(AggFunc::Quantize, true)
}

fn aggs_neglquant() -> Vec<u8> {
    negative_weights(
        AggFunc::Lquantize {
            base: 0,
            limit: 10,
            step: 1,
        },
        false,
    )
}

/// tst.quantzero / llquantize tst.negorder: keys 1.. with increments from the script's
/// arithmetic, printed with printa(@).
fn zero_weights(func: AggFunc, value: i64, title: &str, trailing_newline: bool) -> Vec<u8> {
    let (a, b) = (7i64, 13i64);
    let mut val = -a * b + a;
    let mut i = 0;
    let mut agg = Aggregation::new(0, "", func);
    let mut o = Vec::new();
    loop {
        let incr = val % b;
        val += a;
        if val == 0 {
            val += a;
        }
        if incr != 0 {
            i += 1;
            agg.update(&[Datum::i64(i)], value, incr);
        } else {
            o.extend_from_slice(title.as_bytes());
            printa(&[&agg], &AggPrintOptions::default(), &mut o);
            if trailing_newline {
                o.push(b'\n');
            }
            break;
        }
    }
    at_exit(&mut o, &[&agg]);
    o
}

fn aggs_quantzero() -> Vec<u8> {
    zero_weights(AggFunc::Quantize, 0, "", false)
}

fn llquantize_negorder() -> Vec<u8> {
    zero_weights(
        AggFunc::Llquantize {
            factor: 10,
            low: 0,
            high: 10,
            nsteps: 10,
        },
        1,
        "Ordering of llquantize() with some negative weights:\n",
        true,
    )
}

fn aggs_keysort() -> Vec<u8> {
    let mut t = Aggregation::new(0, "tour", AggFunc::Sum);
    let (mut i, mut j) = (0i32, 0i32);
    let groups: [&[&str]; 9] = [
        &["Ghent"],
        &["Berlin"],
        &["London", "Dublin"],
        &["Shanghai"],
        &["Zurich"],
        &[
            "Regina",
            "Winnipeg",
            "Edmonton",
            "Calgary",
            "Vancouver",
            "Victoria",
        ],
        &["Prague", "London"],
        &["Brisbane", "Sydney", "Melbourne"],
        &["Amsterdam"],
    ];
    for g in groups {
        for city in g {
            t.update(
                &[s(city), Datum::i32(i), Datum::i32(j)],
                i64::from(5 - j),
                1,
            );
            i += 1;
        }
        j += 1;
    }
    let fmt = Format::parse("%20s %8d %8d %8@d\n").expect("parses");
    let mut o = Vec::new();
    let mut show = |title: &str, order: SortOrder| {
        o.extend_from_slice(title.as_bytes());
        printa_format(&fmt, &[&t], &opts(order), &NoSymbols, &mut o).expect("prints");
    };
    let key = |key_pos, reverse| SortOrder {
        by_key: true,
        key_pos,
        reverse,
        ..SortOrder::default()
    };
    show("By value:\n", SortOrder::default());
    show("\nBy key, position 0:\n", key(0, false));
    show("\nBy key, position 1:\n", key(1, false));
    show("\nBy key, position 2:\n", key(2, false));
    show(
        "\nReversed by value:\n",
        SortOrder {
            reverse: true,
            ..SortOrder::default()
        },
    );
    show("\nReversed by key, position 0:\n", key(0, true));
    show("\nReversed by key, position 1:\n", key(1, true));
    show("\nReversed by key, position 2:\n", key(2, true));
    o.push(b'\n');
    o
}

fn aggs_signedkeys() -> Vec<u8> {
    let mut o = Vec::new();
    let sizes = [(1u8, true), (2, true), (4, true), (8, true)];
    for (n, &(size, signed)) in sizes.iter().enumerate() {
        if n > 0 {
            trace_datum(&s("\n"), true, &mut o);
        }
        for v in -2i64..=2 {
            trace_datum(&int(v as u64, size, signed), true, &mut o);
            trace_datum(&s("\n"), true, &mut o);
        }
    }
    let mut aggs = Vec::new();
    for (id, &(size, signed)) in sizes.iter().enumerate() {
        let mut a = Aggregation::new(id as u32, "i", AggFunc::Sum);
        for v in -2i64..=2 {
            a.update(&[int(v as u64, size, signed)], v, 1);
        }
        aggs.push(a);
    }
    o.push(b'\n');
    let refs: Vec<&Aggregation> = aggs.iter().collect();
    print_unprinted(
        &refs,
        &opts(SortOrder {
            by_key: true,
            ..SortOrder::default()
        }),
        &mut o,
    );
    o
}

fn aggs_sizedkeys() -> Vec<u8> {
    let mut a = Aggregation::new(0, "", AggFunc::Sum);
    a.update(&[Datum::i32(1), Datum::i32(0)], 10, 1);
    a.update(&[int(2, 8, false), Datum::i32(0)], 20, 1);
    a.update(&[Datum::i32(3), Datum::i32(0)], 30, 1);
    a.update(&[int(4, 8, false), Datum::i32(0)], 40, 1);
    let mut o = Vec::new();
    printa(&[&a], &AggPrintOptions::default(), &mut o);
    at_exit(&mut o, &[&a]);
    o
}

fn aggs_avg() -> Vec<u8> {
    let mut a = Aggregation::new(0, "a", AggFunc::Avg);
    for i in (0..1000).step_by(100) {
        a.update(&[], i, 1);
    }
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    o
}

fn aggs_stddev() -> Vec<u8> {
    let mut a = Aggregation::new(0, "a", AggFunc::Stddev);
    let mut b = Aggregation::new(1, "b", AggFunc::Stddev);
    for k in 0..10 {
        a.update(&[], 5_000_000_000 + 100 * k, 1);
        b.update(&[], -5_000_000_000 - 100 * k, 1);
    }
    let mut o = Vec::new();
    let fmt = Format::parse("%@d\n").expect("parses");
    printa_format(&fmt, &[&a], &AggPrintOptions::default(), &NoSymbols, &mut o).expect("prints");
    at_exit(&mut o, &[&a, &b]);
    o
}

fn aggs_clear() -> Vec<u8> {
    let mut f = Aggregation::new(0, "func", AggFunc::Sum);
    let mut o = Vec::new();
    let mut i = 0i64;
    while i < 20 {
        f.update(&[Datum::i32((i % 5) as i32)], i * 100, 1);
        i += 1;
        if i == 10 {
            o.extend_from_slice(b"Aggregation data before clear():\n");
            printa(&[&f], &AggPrintOptions::default(), &mut o);
            f.clear();
            o.extend_from_slice(b"Aggregation data after clear():\n");
            printa(&[&f], &AggPrintOptions::default(), &mut o);
            i += 1;
        }
    }
    o.extend_from_slice(b"Final aggregation data:\n");
    printa(&[&f], &AggPrintOptions::default(), &mut o);
    at_exit(&mut o, &[&f]);
    o
}

fn aggs_trunc() -> Vec<u8> {
    let mut a = Aggregation::new(0, "", AggFunc::Sum);
    for i in 0..100 {
        a.update(&[Datum::i32(i)], i64::from(i), 1);
    }
    a.trunc(Some(10));
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    o
}

fn aggs_normalize() -> Vec<u8> {
    let mut f = Aggregation::new(0, "func", AggFunc::Sum);
    for i in 0..20i64 {
        f.update(&[Datum::i32((i % 5) as i32)], i * 100, 1);
    }
    let mut o = b"normalized data:\n".to_vec();
    f.normalize(5).expect("non-zero");
    at_exit(&mut o, &[&f]);
    o
}

fn printa_basics() -> Vec<u8> {
    let funcs = [
        ("a", AggFunc::Avg, "%@u"),
        ("b", AggFunc::Count, "%@u"),
        (
            "c",
            AggFunc::Lquantize {
                base: 1,
                limit: 10,
                step: 1,
            },
            "%@d",
        ),
        ("d", AggFunc::Max, "%@u"),
        ("e", AggFunc::Min, "%@u"),
        ("f", AggFunc::Sum, "%@u"),
        ("g", AggFunc::Quantize, "%@d"),
        ("h", AggFunc::Stddev, "%@d"),
    ];
    let mut o = Vec::new();
    let mut aggs = Vec::new();
    for (id, (name, func, conv)) in funcs.into_iter().enumerate() {
        let mut a = Aggregation::new(id as u32, name, func);
        a.update(&[], 1, 1);
        let fmt = Format::parse(format!("@{name} = {conv}\n")).expect("parses");
        printa_format(&fmt, &[&a], &AggPrintOptions::default(), &NoSymbols, &mut o)
            .expect("prints");
        aggs.push(a);
    }
    let refs: Vec<&Aggregation> = aggs.iter().collect();
    at_exit(&mut o, &refs);
    o
}

fn printa_dynwidth() -> Vec<u8> {
    let mut a = Aggregation::new(0, "", AggFunc::Sum);
    a.update(&[Datum::i32(10), Datum::i32(100)], 1, 1);
    a.update(&[Datum::i32(-10), Datum::i32(200)], 2, 1);
    let mut o = Vec::new();
    for f in ["-->%-*d<--\n", "-->%*d<--\n"] {
        let fmt = Format::parse(f).expect("parses");
        printa_format(&fmt, &[&a], &AggPrintOptions::default(), &NoSymbols, &mut o)
            .expect("prints");
    }
    at_exit(&mut o, &[&a]);
    o
}

fn multiaggs_zero() -> Vec<u8> {
    let agg_bop = Aggregation::new(0, "agg_bop", AggFunc::Quantize);
    let agg_baz = Aggregation::new(
        1,
        "agg_baz",
        AggFunc::Lquantize {
            base: -10,
            limit: 10,
            step: 1,
        },
    );
    let mut agg_foo = Aggregation::new(2, "agg_foo", AggFunc::Sum);
    let mut agg_bar = Aggregation::new(3, "agg_bar", AggFunc::Sum);
    agg_foo.update(&[Datum::i32(123)], 123, 1);
    agg_bar.update(&[Datum::i32(456)], 456, 1);
    agg_foo.update(&[Datum::i32(789)], 789, 1);
    agg_bar.update(&[Datum::i32(789)], 789, 1);
    let mut o = Vec::new();
    let d = AggPrintOptions::default();
    for (f, aggs) in [
        ("%10d %@10d %@10d\n", vec![&agg_foo, &agg_bar]),
        (
            "%10d %@10d %@10d %@10d\n",
            vec![&agg_foo, &agg_bar, &agg_bop],
        ),
        (
            "%10d %@10d %@10d %@10d %@10d\n",
            vec![&agg_foo, &agg_bar, &agg_bop, &agg_baz],
        ),
    ] {
        let fmt = Format::parse(f).expect("parses");
        printa_format(&fmt, &aggs, &d, &NoSymbols, &mut o).expect("prints");
    }
    at_exit(&mut o, &[&agg_bop, &agg_baz, &agg_foo, &agg_bar]);
    o
}

fn llquantize_basic() -> Vec<u8> {
    let f = AggFunc::llquantize(10, 0, 10, 10).expect("valid");
    let mut a = Aggregation::new(0, "", f);
    for i in 1..=101 {
        a.update(&[], i, 1);
    }
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    o
}

fn llquantize_bases() -> Vec<u8> {
    let params = [
        (2, 0, 6, 2),
        (3, 0, 1, 9),
        (4, 0, 1, 4),
        (5, 0, 1, 25),
        (6, 0, 3, 12),
        (7, 0, 1, 7),
        (8, 0, 1, 16),
        (9, 0, 1, 9),
        (10, 0, 1, 10),
    ];
    let mut aggs: Vec<Aggregation> = params
        .iter()
        .enumerate()
        .map(|(id, &(f, l, h, n))| {
            Aggregation::new(
                id as u32,
                "",
                AggFunc::llquantize(f, l, h, n).expect("valid"),
            )
        })
        .collect();
    for i in 1..=101 {
        for a in &mut aggs {
            a.update(&[], i, 1);
        }
    }
    let refs: Vec<&Aggregation> = aggs.iter().collect();
    let mut o = Vec::new();
    at_exit(&mut o, &refs);
    o
}

fn printf_precs_widths() -> Vec<(&'static str, Vec<u8>)> {
    let hello = s("hello");
    let mut precs = b"\n".to_vec();
    for p in 0..=5 {
        pf(
            &mut precs,
            &format!("%.{p}s\n"),
            std::slice::from_ref(&hello),
        );
    }
    for x in 0..=5 {
        pf(&mut precs, "%.*s\n", &[Datum::i32(x), hello.clone()]);
    }
    precs.push(b'\n');
    let mut widths = b"\n".to_vec();
    for w in 0..=5 {
        pf(&mut widths, &format!("%{w}d\n"), &[Datum::i32(1)]);
    }
    for x in 0..=5 {
        pf(&mut widths, "%*d\n", &[Datum::i32(x), Datum::i32(1)]);
    }
    widths.push(b'\n');
    let mut wp = b"\n".to_vec();
    for w in 0..=9 {
        pf(
            &mut wp,
            &format!("%{w}.{w}s\n"),
            std::slice::from_ref(&hello),
        );
    }
    for x in 0..=9 {
        // printf("%*.*s\n", x, x++, "hello") passes the same x as width and precision:
        // the increment lands after both are read.
        pf(
            &mut wp,
            "%*.*s\n",
            &[Datum::i32(x), Datum::i32(x), hello.clone()],
        );
    }
    wp.push(b'\n');
    let mut q = Vec::new();
    for t in [
        "this",
        " %should work.\n",
        "%don't w%orry -- this won't cause a %segfault.\n",
    ] {
        trace_datum(&s(t), true, &mut q);
    }
    q.push(b'\n');
    vec![
        ("printf/tst.precs.d.out", precs),
        ("printf/tst.widths.d.out", widths),
        ("printf/tst.wp.d.out", wp),
        ("trace/tst.qstring.d.out", q),
    ]
}

fn printa_small() -> Vec<(&'static str, Vec<u8>)> {
    let d = AggPrintOptions::default();
    let count1 = |key: &[Datum]| {
        let mut a = Aggregation::new(0, "a", AggFunc::Count);
        a.update(key, 0, 1);
        a
    };
    let mut v = Vec::new();
    let a = count1(&[]);
    let mut o = Vec::new();
    printa(&[&a], &d, &mut o);
    at_exit(&mut o, &[&a]);
    v.push(("printa/tst.def.d.out", o));
    for (name, f) in [
        ("printa/tst.fmt.d.out", "%@u"),
        ("printa/tst.manyval.d.out", "%@u %@u %@u %@u %@u %@u %@u\n"),
    ] {
        let a = count1(&[]);
        let mut o = Vec::new();
        let fmt = Format::parse(f).expect("parses");
        printa_format(&fmt, &[&a], &d, &NoSymbols, &mut o).expect("prints");
        at_exit(&mut o, &[&a]);
        v.push((name, o));
    }
    let key: Vec<Datum> = (1..=5).map(Datum::i32).collect();
    let a = count1(&key);
    let mut o = b"\n".to_vec();
    for n in 0..=5 {
        let f = if n == 0 {
            "%@u: -\n".to_string()
        } else {
            format!("%@u: {}\n", vec!["%d"; n].join(" "))
        };
        let fmt = Format::parse(f).expect("parses");
        printa_format(&fmt, &[&a], &d, &NoSymbols, &mut o).expect("prints");
    }
    at_exit(&mut o, &[&a]);
    v.push(("printa/tst.tuple.d.out", o));
    v
}

fn multiaggs_more() -> Vec<(&'static str, Vec<u8>)> {
    let d = AggPrintOptions::default();
    let mut v = Vec::new();
    // tst.sort
    let mut aggs: Vec<Aggregation> = (0..4)
        .map(|id| Aggregation::new(id, "", AggFunc::Sum))
        .collect();
    for i in 1..=100i64 {
        for (n, a) in aggs.iter_mut().enumerate() {
            a.update(&[Datum::i64(i)], 100 - i / (2 << n), 1);
        }
    }
    let fmt = Format::parse("%10d %@10d %@10d %@10d %@10d\n").expect("parses");
    let mut o = Vec::new();
    let fwd: Vec<&Aggregation> = aggs.iter().collect();
    let rev: Vec<&Aggregation> = aggs.iter().rev().collect();
    printa_format(&fmt, &fwd, &d, &NoSymbols, &mut o).expect("prints");
    printa_format(&fmt, &rev, &d, &NoSymbols, &mut o).expect("prints");
    at_exit(&mut o, &fwd);
    v.push(("multiaggs/tst.sort.d.out", o));
    // tst.sortpos
    let mut aggs: Vec<Aggregation> = (0..4)
        .map(|id| Aggregation::new(id, "", AggFunc::Sum))
        .collect();
    for i in 1..=100i64 {
        for (n, a) in aggs.iter_mut().enumerate() {
            let v = if n == 0 { i } else { (25 * n as i64 + i) % 100 };
            a.update(&[Datum::i64(i)], v, 1);
        }
    }
    let fmt = Format::parse("%9d %@9d %@9d %@9d %@9d %@9d %@9d\n").expect("parses");
    let mut o = Vec::new();
    let order = [&aggs[0], &aggs[1], &aggs[2], &aggs[0], &aggs[3], &aggs[0]];
    for j in 0..10 {
        pf(&mut o, "Sorted at position %d:\n", &[Datum::i32(j)]);
        let opts = opts(SortOrder {
            sort_pos: j as usize,
            ..SortOrder::default()
        });
        printa_format(&fmt, &order, &opts, &NoSymbols, &mut o).expect("prints");
        o.push(b'\n');
    }
    let all: Vec<&Aggregation> = aggs.iter().collect();
    at_exit(&mut o, &all);
    v.push(("multiaggs/tst.sortpos.d.out", o));
    // tst.same
    let mut a = Aggregation::new(0, "", AggFunc::Sum);
    a.update(&[], 90904, 1);
    let fmt = Format::parse("%@d %@d %@d\n").expect("parses");
    let mut o = Vec::new();
    printa_format(&fmt, &[&a, &a, &a], &d, &NoSymbols, &mut o).expect("prints");
    printa_format(&fmt, &[&a], &d, &NoSymbols, &mut o).expect("prints");
    at_exit(&mut o, &[&a]);
    v.push(("multiaggs/tst.same.d.out", o));
    // tst.zero2 / tst.zero3
    let lq = AggFunc::Lquantize {
        base: -10,
        limit: 10,
        step: 1,
    };
    let mut agg_bop = Aggregation::new(0, "bop", AggFunc::Quantize);
    let mut agg_baz = Aggregation::new(1, "baz", lq);
    let empty_bop = Aggregation::new(0, "bop", AggFunc::Quantize);
    let empty_baz = Aggregation::new(1, "baz", lq);
    agg_bop.update(&[Datum::i32(345)], 0, 0);
    agg_baz.update(&[Datum::i32(345)], 0, 0);
    let mut sums: Vec<Aggregation> = (2..4)
        .map(|id| Aggregation::new(id, "", AggFunc::Sum))
        .collect();
    for (n, k) in [(0usize, 123), (1, 456), (0, 789), (1, 789)] {
        sums[n].update(&[Datum::i32(k)], i64::from(k), 1);
    }
    let mut o = Vec::new();
    for (f, aggs) in [
        ("%10d %@10d %@10d\n", vec![&sums[0], &sums[1]]),
        (
            "%10d %@10d %@10d %@10d\n",
            vec![&sums[0], &sums[1], &agg_bop],
        ),
        (
            "%10d %@10d %@10d %@10d %@10d\n",
            vec![&sums[0], &sums[1], &agg_bop, &agg_baz],
        ),
    ] {
        let fmt = Format::parse(f).expect("parses");
        printa_format(&fmt, &aggs, &d, &NoSymbols, &mut o).expect("prints");
    }
    at_exit(&mut o, &[&agg_bop, &agg_baz, &sums[0], &sums[1]]);
    v.push(("multiaggs/tst.zero2.d.out", o));
    let mut o = Vec::new();
    printa(&[&empty_bop], &d, &mut o);
    printa(&[&empty_baz], &d, &mut o);
    let fmt = Format::parse("%@10d %@10d\n").expect("parses");
    printa_format(&fmt, &[&empty_bop, &empty_baz], &d, &NoSymbols, &mut o).expect("prints");
    at_exit(&mut o, &[&empty_bop, &empty_baz]);
    v.push(("multiaggs/tst.zero3.d.out", o));
    // tst.tuplecompat
    let key = [
        s("foo"),
        Datum::i32(789),
        s("bar"),
        Datum::u64(0xfffff80012345000),
    ];
    let mut one = Aggregation::new(0, "one", AggFunc::Sum);
    let mut two = Aggregation::new(1, "two", AggFunc::Sum);
    one.update(&key, 123, 1);
    two.update(&key, 456, 1);
    let fmt = Format::parse("%10s %10d %10s %@10d %@10d\n").expect("parses");
    let mut o = Vec::new();
    printa_format(&fmt, &[&one, &two], &d, &NoSymbols, &mut o).expect("prints");
    at_exit(&mut o, &[&one, &two]);
    v.push(("multiaggs/tst.tuplecompat.d.out", o));
    v
}

fn aggs_order() -> Vec<u8> {
    let d = AggPrintOptions::default();
    let mut plain = Aggregation::new(0, "", AggFunc::Sum);
    for k in [8, 6, 7, 5, 3, 0, 9] {
        plain.update(&[Datum::i32(k)], 1, 1);
    }
    let mut tour = Aggregation::new(1, "tour", AggFunc::Sum);
    for c in [
        "Ghent", "Berlin", "London", "Dublin", "Shanghai", "Zurich", "Regina", "Winnipeg",
        "Edmonton", "Calgary",
    ] {
        tour.update(&[s(c)], 1, 1);
    }
    let mut ate = Aggregation::new(2, "ate", AggFunc::Sum);
    for f in [
        "Rice",
        "Oatmeal",
        "Barley",
        "Carrots",
        "Sweet potato",
        "Asparagus",
        "Squash",
    ] {
        ate.update(&[Datum::i32(8), s(f)], 1, 1);
    }
    let mut chars = Aggregation::new(3, "chars", AggFunc::Sum);
    for c in [b'a', b's', b'd', b'f'] {
        chars.update(&[int(u64::from(c), 1, true)], 1, 1);
    }
    let mut o = Vec::new();
    for (f, a) in [
        ("%d\n", &plain),
        ("%s\n", &tour),
        ("%d %s\n", &ate),
        ("%c\n", &chars),
    ] {
        let fmt = Format::parse(f).expect("parses");
        printa_format(&fmt, &[a], &d, &NoSymbols, &mut o).expect("prints");
        o.push(b'\n');
    }
    at_exit(&mut o, &[&plain, &tour, &ate, &chars]);
    o
}

fn aggs_negorder() -> Vec<u8> {
    let (a, b) = (7i64, 13i64);
    let mut val = -a * b + a;
    let mut i = 0;
    let funcs = [
        ("quantize", AggFunc::Quantize),
        (
            "lquantize",
            AggFunc::Lquantize {
                base: -10,
                limit: 10,
                step: 1,
            },
        ),
        ("sum", AggFunc::Sum),
        ("max", AggFunc::Max),
        ("min", AggFunc::Min),
    ];
    let mut aggs: Vec<Aggregation> = funcs
        .iter()
        .enumerate()
        .map(|(id, (_, f))| Aggregation::new(id as u32, "", *f))
        .collect();
    let mut o = Vec::new();
    loop {
        let incr = val % b;
        val += a;
        if val == 0 {
            val += a;
        }
        if incr == 0 {
            break;
        }
        i += 1;
        for (n, agg) in aggs.iter_mut().enumerate() {
            let (value, inc) = if n < 2 { (1, incr) } else { (incr, 1) };
            agg.update(&[Datum::i64(i)], value, inc);
        }
    }
    for ((name, _), agg) in funcs.iter().zip(&aggs) {
        o.extend_from_slice(
            format!("Ordering of {name}() with some negative weights:\n").as_bytes(),
        );
        printa(&[agg], &AggPrintOptions::default(), &mut o);
        o.push(b'\n');
    }
    let refs: Vec<&Aggregation> = aggs.iter().collect();
    at_exit(&mut o, &refs);
    o
}

fn aggs_values() -> Vec<(&'static str, Vec<u8>)> {
    let d = AggPrintOptions::default();
    let mut v = Vec::new();
    let single = |func, values: &[i64]| {
        let mut a = Aggregation::new(0, "", func);
        for &x in values {
            a.update(&[], x, 1);
        }
        let mut o = Vec::new();
        at_exit(&mut o, &[&a]);
        o
    };
    v.push(("aggs/tst.min_neg.d.out", single(AggFunc::Min, &[0, -900])));
    v.push(("aggs/tst.avg_neg.d.out", single(AggFunc::Avg, &[0, -900])));
    // tst.clearavg2: avg(0) every fifth tick, printed and cleared on ticks 6..=20.
    let mut t = Aggregation::new(0, "time", AggFunc::Avg);
    let fmt = Format::parse(" %@d\n").expect("parses");
    let mut o = Vec::new();
    let mut x = 0;
    loop {
        let before = x;
        x += 1;
        if before % 5 == 0 {
            t.update(&[], 0, 1);
        }
        if x > 5 && x <= 20 {
            printa_format(&fmt, &[&t], &d, &NoSymbols, &mut o).expect("prints");
            t.clear();
        }
        if x > 20 {
            break;
        }
    }
    at_exit(&mut o, &[&t]);
    v.push(("aggs/tst.clearavg2.d.out", o));
    // tst.denormalizeonly, tst.fmtnormalize, tst.multinormalize
    let func_data = |mul: i64, shift: i32| {
        let mut a = Aggregation::new(0, "func", AggFunc::Sum);
        for i in 0..20i64 {
            a.update(&[Datum::i32((i % 5) as i32 + shift)], i * mul, 1);
        }
        a
    };
    let mut a = func_data(100, 0);
    a.denormalize();
    let mut o = b"denormalized:".to_vec();
    at_exit(&mut o, &[&a]);
    v.push(("aggs/tst.denormalizeonly.d.out", o));
    let mut a = func_data(100, 0);
    a.normalize(5).expect("non-zero");
    let mut o = b"normalized data:\n".to_vec();
    let fmt = Format::parse("%u %@u\n").expect("parses");
    printa_format(&fmt, &[&a], &d, &NoSymbols, &mut o).expect("prints");
    at_exit(&mut o, &[&a]);
    v.push(("aggs/tst.fmtnormalize.d.out", o));
    let mut a = func_data(100, 0);
    let mut b = func_data(200, 1);
    let mut o = b"normalized data #1:\n".to_vec();
    a.normalize(5).expect("non-zero");
    printa(&[&a], &d, &mut o);
    o.extend_from_slice(b"\nnormalized data #2:\n");
    b.normalize(5).expect("non-zero");
    at_exit(&mut o, &[&a, &b]);
    v.push(("aggs/tst.multinormalize.d.out", o));
    // tst.lquantnormal
    let lq = |base, limit| AggFunc::Lquantize {
        base,
        limit,
        step: 1,
    };
    let mut a = Aggregation::new(0, "", lq(0, 10));
    for i in 1..=10 {
        for _ in 0..5 {
            a.update(&[], i, 1);
        }
    }
    a.normalize(5).expect("non-zero");
    let mut o = Vec::new();
    printa(&[&a], &d, &mut o);
    at_exit(&mut o, &[&a]);
    v.push(("aggs/tst.lquantnormal.d.out", o));
    // tst.lquantround / tst.quantround: 2 zeros, 6 ones, 19 twos.
    for (name, func) in [
        ("aggs/tst.lquantround.d.out", lq(0, 4)),
        ("aggs/tst.quantround.d.out", AggFunc::Quantize),
    ] {
        let mut values = vec![0; 2];
        values.extend([1; 6]);
        values.extend([2; 19]);
        v.push((name, single(func, &values)));
    }
    // tst.negtrunc, tst.negtruncquant, tst.trunc0
    let mut a = Aggregation::new(0, "", AggFunc::Sum);
    for i in 0..100 {
        a.update(&[Datum::i32(i)], i64::from(i), 1);
    }
    a.trunc(Some(-10));
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    v.push(("aggs/tst.negtrunc.d.out", o));
    let mut a = Aggregation::new(0, "", lq(0, 150));
    for i in 0..100 {
        for k in 0..4 {
            a.update(&[Datum::i32(i)], i64::from(i + k), 1);
        }
    }
    a.trunc(Some(-5));
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    v.push(("aggs/tst.negtruncquant.d.out", o));
    let mut a = Aggregation::new(0, "", AggFunc::Sum);
    for i in 0..10 {
        a.update(&[Datum::i32(i)], i64::from(10 - i), 1);
        if i + 1 == 5 {
            a.trunc(None);
        }
    }
    let mut o = Vec::new();
    printa(&[&a], &d, &mut o);
    at_exit(&mut o, &[&a]);
    v.push(("aggs/tst.trunc0.d.out", o));
    // tst.signedkeyspos: aggsortkey, aggsortkeypos=1, aggsortrev.
    let sums = [
        [-2, -22, -222],
        [-1, -11, -111],
        [0, 10, 100],
        [1, 11, 111],
        [2, 22, 222],
    ];
    let layouts: [(u8, [&str; 3]); 4] = [
        (1, ["cat", "dog", "mouse"]),
        (2, ["mouse", "dog", "cat"]),
        (4, ["mouse", "bear", "cat"]),
        (8, ["cat", "bear", "dog"]),
    ];
    let mut aggs = Vec::new();
    for (id, (size, names)) in layouts.iter().enumerate() {
        let mut a = Aggregation::new(id as u32, "", AggFunc::Sum);
        for (row, k) in sums.iter().zip(-2i64..) {
            for (name, &sum) in names.iter().zip(row) {
                a.update(&[s(name), int(k as u64, *size, true)], sum, 1);
            }
        }
        aggs.push(a);
    }
    let refs: Vec<&Aggregation> = aggs.iter().collect();
    let mut o = b"\n".to_vec();
    print_unprinted(
        &refs,
        &opts(SortOrder {
            by_key: true,
            key_pos: 1,
            reverse: true,
            ..SortOrder::default()
        }),
        &mut o,
    );
    v.push(("aggs/tst.signedkeyspos.d.out", o));
    let mut a = Aggregation::new(0, "", AggFunc::Sum);
    for (x, y) in [(1, 3), (2, 2), (3, 1)] {
        a.update(&[Datum::i32(x), Datum::i32(y)], 0, 1);
    }
    let mut o = b"\n".to_vec();
    print_unprinted(
        &[&a],
        &opts(SortOrder {
            key_pos: 1,
            ..SortOrder::default()
        }),
        &mut o,
    );
    v.push(("aggs/tst.valsortkeypos.d.out", o));
    v
}

fn llquantize_more() -> Vec<(&'static str, Vec<u8>)> {
    let d = AggPrintOptions::default();
    let ll = |f, l, h, n| AggFunc::llquantize(f, l, h, n).expect("valid");
    let mut v = Vec::new();
    let mut a = Aggregation::new(0, "", ll(10, 1, 2, 20));
    for (k, x, incr) in [
        ("Screven", 0, 25),
        ("Katz", 1, -100),
        ("Kurian", 7, 15),
        ("Rozwat", 49, 15),
        ("Fowler", 343, 150),
    ] {
        a.update(&[s(k)], x, incr);
    }
    let mut o = Vec::new();
    printa(&[&a], &d, &mut o);
    at_exit(&mut o, &[&a]);
    v.push(("llquantize/tst.range.d.out", o));
    let mut aggs = [
        Aggregation::new(0, "", ll(10, 0, 10, 20)),
        Aggregation::new(1, "hunid", ll(10, 0, 10, 100)),
        Aggregation::new(2, "large", ll(10, 0, 10, 1000)),
    ];
    for i in 1..=101i64 {
        for (a, m) in aggs.iter_mut().zip([1, 10, 100]) {
            a.update(&[], i * m, 1);
        }
    }
    let mut o = Vec::new();
    for (a, t) in aggs
        .iter()
        .zip(["20 steps:\n", "100 steps:\n", "1000 steps:\n"])
    {
        o.extend_from_slice(t.as_bytes());
        printa(&[a], &d, &mut o);
    }
    let refs: Vec<&Aggregation> = aggs.iter().collect();
    at_exit(&mut o, &refs);
    v.push(("llquantize/tst.steps.d.out", o));
    let mut a = Aggregation::new(0, "", ll(10, 1, 2, 10));
    for i in 0..100i64 {
        for k in 0..4 {
            a.update(&[Datum::i32(i as i32)], i + k, 150);
        }
    }
    a.trunc(Some(5));
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    v.push(("llquantize/tst.trunc.d.out", o));
    let mut a = Aggregation::new(0, "", ll(10, 0, 10, 10));
    for i in 1..=101 {
        a.update(&[], i, 1);
    }
    a.normalize(10).expect("non-zero");
    let mut o = Vec::new();
    printa(&[&a], &d, &mut o);
    at_exit(&mut o, &[&a]);
    v.push(("llquantize/tst.normal.d.out", o));
    let mut a = Aggregation::new(0, "", ll(10, 0, 10, 10));
    for i in 1..=101 {
        a.update(&[], i, 50 - i);
    }
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    v.push(("llquantize/tst.negvalue.d.out", o));
    v
}

fn numbers() -> Vec<(&'static str, Vec<u8>)> {
    let mut v = Vec::new();
    let vals = [-10i64, -1, 0, 10, 100, 1000, 1 << 62];
    let mut o = Vec::new();
    for base in -2..=40i64 {
        for &x in &vals {
            pf(
                &mut o,
                "base %2d of %20d:  ",
                &[Datum::i32(base as i32), Datum::i64(x)],
            );
            match subr::lltostr(x, Some(base)) {
                Ok(t) => pf(&mut o, "  %s\n", &[Datum::Str(t)]),
                Err(_) => pf(&mut o, "  <error>\n", &[]),
            }
        }
    }
    o.push(b'\n');
    v.push(("funcs/tst.lltostrbase.d.out", o));
    let mut o = Vec::new();
    for (t, b) in [
        ("0", Some(2)),
        ("1", Some(36)),
        ("0x20", Some(16)),
        ("-32", Some(10)),
        ("010", Some(8)),
        ("101010", Some(2)),
        ("9223372036854775807", None),
        ("-9223372036854775808", None),
        ("0777777777777777777777", Some(8)),
        ("-01000000000000000000000", Some(8)),
        ("1000000000000000000000", Some(8)),
        ("-1000000000000000000001", Some(8)),
        ("baddcafe", Some(16)),
        ("12j", Some(10)),
        ("102", Some(2)),
        ("-0DTrace4EverZ", Some(36)),
        ("1985", None),
        ("-2012", None),
        ("", None),
    ] {
        let n = subr::strtoll(t.as_bytes(), b).expect("valid base");
        pf(&mut o, "%d\n", &[Datum::i64(n)]);
    }
    o.push(b'\n');
    v.push(("strtoll/tst.strtoll.d.out", o));
    v
}

/// The scripts' `incr = val % b` sequence of weights (tst.quantzero and friends).
fn weights() -> Vec<i64> {
    let (a, b) = (7i64, 13i64);
    let mut val = -a * b + a;
    let mut out = Vec::new();
    loop {
        let incr = val % b;
        val += a;
        if val == 0 {
            val += a;
        }
        if incr == 0 {
            return out;
        }
        out.push(incr);
    }
}

fn aggs_more() -> Vec<(&'static str, Vec<u8>)> {
    let d = AggPrintOptions::default();
    let mut v = Vec::new();
    // tst.forms
    let mut aggs = [
        Aggregation::new(0, "a", AggFunc::Count),
        Aggregation::new(1, "b", AggFunc::Max),
        Aggregation::new(2, "c", AggFunc::Count),
        Aggregation::new(3, "d", AggFunc::Max),
    ];
    for (n, a) in aggs.iter_mut().enumerate() {
        let key = if n < 2 { vec![] } else { vec![Datum::i32(0)] };
        a.update(&key, 1, 1);
    }
    let mut o = Vec::new();
    for (a, f) in aggs
        .iter()
        .zip(["\n@a = %@u\n", "@b = %@u\n", "@c = %@u\n", "@d = %@u\n"])
    {
        let fmt = Format::parse(f).expect("parses");
        printa_format(&fmt, &[a], &d, &NoSymbols, &mut o).expect("prints");
    }
    let refs: Vec<&Aggregation> = aggs.iter().collect();
    at_exit(&mut o, &refs);
    v.push(("aggs/tst.forms.d.out", o));
    // tst.multiaggs2 / tst.multiaggs3
    let lq = AggFunc::Lquantize {
        base: 0,
        limit: 1000,
        step: 100,
    };
    let make = |funcs: &[AggFunc]| -> Vec<Aggregation> {
        let mut aggs: Vec<Aggregation> = funcs
            .iter()
            .enumerate()
            .map(|(id, f)| Aggregation::new(id as u32, "", *f))
            .collect();
        for i in (0..1000).step_by(100) {
            for a in &mut aggs {
                a.update(&[], i, 1);
            }
        }
        aggs
    };
    use AggFunc::*;
    let aggs = make(&[Avg, Sum, Min, Max, Quantize, lq, Stddev]);
    let refs: Vec<&Aggregation> = aggs.iter().collect();
    let mut o = Vec::new();
    at_exit(&mut o, &refs);
    v.push(("aggs/tst.multiaggs2.d.out", o));
    let aggs = make(&[Count, Avg, Sum, Min, Max, Quantize, lq, Stddev]);
    let mut o = Vec::new();
    let fmt = Format::parse("%@d\n").expect("parses");
    for a in aggs.iter().rev() {
        printa_format(&fmt, &[a], &d, &NoSymbols, &mut o).expect("prints");
    }
    let refs: Vec<&Aggregation> = aggs.iter().collect();
    at_exit(&mut o, &refs);
    v.push(("aggs/tst.multiaggs3.d.out", o));
    // tst.allquant
    let mut a = Aggregation::new(0, "", Quantize);
    for i in 0..64 {
        let p = 1i64.wrapping_shl(i);
        for x in [
            p,
            p.wrapping_add(1),
            p.wrapping_neg(),
            p.wrapping_neg().wrapping_sub(1),
        ] {
            a.update(&[], x, 1);
        }
    }
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    v.push(("aggs/tst.allquant.d.out", o));
    // tst.quantmany
    let mut a = Aggregation::new(0, "", Quantize);
    let (mut val, mut shift) = (0i64, 0i64);
    loop {
        if val == 0 {
            val = -(1i64 << shift);
            shift += 1;
        }
        if shift == 32 {
            break;
        }
        if val == -1 {
            val = 1i64 << shift;
        }
        a.update(&[Datum::i64(shift)], val, val);
        val >>= 1;
    }
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    v.push(("aggs/tst.quantmany.d.out", o));
    // tst.lquantrange
    let mut a = Aggregation::new(
        0,
        "",
        Lquantize {
            base: -10,
            limit: 10,
            step: 1,
        },
    );
    for (k, x, incr) in [
        ("Nixon", -20, 25),
        ("Hoover", 20, -100),
        ("Harding", -10, 15),
        ("Bush", 10, 150),
    ] {
        a.update(&[s(k)], x, incr);
    }
    let mut o = Vec::new();
    printa(&[&a], &d, &mut o);
    at_exit(&mut o, &[&a]);
    v.push(("aggs/tst.lquantrange.d.out", o));
    // tst.lquantzero
    let ranges = [
        ("Zero below the range:\n", 10, 20, 1),
        ("Zero just below the range:\n", 1, 20, 5),
        ("Zero at the bottom of the range:\n", 0, 20, 1),
        ("Zero within the range:\n", -10, 10, 1),
        ("Zero at the top of the range:\n", -10, 0, 1),
        ("Zero just above the range:\n", -10, -1, 1),
        ("Zero above the range:\n", -10, -2, 1),
    ];
    let mut aggs: Vec<Aggregation> = ranges
        .iter()
        .enumerate()
        .map(|(id, &(_, base, limit, step))| {
            Aggregation::new(id as u32, "", Lquantize { base, limit, step })
        })
        .collect();
    for (i, incr) in weights().into_iter().enumerate() {
        for a in &mut aggs {
            a.update(&[Datum::i64(i as i64 + 1)], 0, incr);
        }
    }
    let mut o = Vec::new();
    for (a, (title, ..)) in aggs.iter().zip(ranges) {
        o.extend_from_slice(title.as_bytes());
        printa(&[a], &d, &mut o);
        o.push(b'\n');
    }
    let refs: Vec<&Aggregation> = aggs.iter().collect();
    at_exit(&mut o, &refs);
    v.push(("aggs/tst.lquantzero.d.out", o));
    // tst.clearlquantize
    let mut la = Aggregation::new(
        0,
        "a",
        Lquantize {
            base: 0,
            limit: 100,
            step: 1,
        },
    );
    let mut qb = Aggregation::new(1, "b", Quantize);
    let mut o = Vec::new();
    let (mut x, mut y) = (0i64, 0);
    loop {
        x += 1;
        la.update(&[s("linear")], x, 1);
        qb.update(&[s("exp")], x, 1);
        if x % 5 == 0 {
            let go = y < 5;
            y += 1;
            if go {
                printa(&[&la], &d, &mut o);
                printa(&[&qb], &d, &mut o);
                la.clear();
                qb.clear();
            }
            if y == 5 {
                break;
            }
        }
    }
    at_exit(&mut o, &[&la, &qb]);
    v.push(("aggs/tst.clearlquantize.d.out", o));
    // tst.count2
    let mut a = Aggregation::new(0, "counts", Count);
    for _ in 0..10 {
        a.update(&[s("tick-count")], 0, 1);
    }
    let mut o = Vec::new();
    at_exit(&mut o, &[&a]);
    v.push(("aggs/tst.count2.d.out", o));
    v
}

fn inet() -> Vec<(&'static str, Vec<u8>)> {
    let v6 = |set: &[(usize, u8)]| {
        let mut a = [0u8; 16];
        for &(i, b) in set {
            a[i] = b;
        }
        a
    };
    let v6s = [
        v6(&[
            (0, 0xfe),
            (1, 0x80),
            (8, 0x02),
            (9, 0x14),
            (10, 0x4f),
            (11, 0xff),
            (12, 0xfe),
            (13, 0x0b),
            (14, 0x76),
            (15, 0xc8),
        ]),
        v6(&[
            (0, 0x10),
            (1, 0x80),
            (10, 0x08),
            (11, 0x08),
            (13, 0x0c),
            (14, 0x41),
            (15, 0x7a),
        ]),
        v6(&[(15, 0x01)]),
        v6(&[]),
        v6(&[(12, 0x7f), (15, 0x01)]),
        v6(&[(10, 0xff), (11, 0xff), (12, 0x7f), (15, 0x01)]),
        v6(&[(10, 0xff), (11, 0xfe), (12, 0x7f), (15, 0x01)]),
    ];
    let v4s: [[u8; 4]; 4] = [
        0xc0a8_0117u32.to_be_bytes(),
        0x7f00_0001u32.to_be_bytes(),
        [0xff; 4],
        [0; 4],
    ];
    let line = |o: &mut Vec<u8>, t: Vec<u8>| {
        o.extend(t);
        o.push(b'\n');
    };
    let mut ntoa = Vec::new();
    let mut ntop = Vec::new();
    for a in &v4s {
        line(&mut ntoa, subr::inet_ntoa(a));
        line(
            &mut ntop,
            subr::inet_ntop(subr::AF_INET, a).expect("AF_INET"),
        );
    }
    let mut ntoa6 = Vec::new();
    for a in &v6s {
        line(&mut ntoa6, subr::inet_ntoa6(a));
        line(
            &mut ntop,
            subr::inet_ntop(subr::AF_INET6, a).expect("AF_INET6"),
        );
    }
    line(
        &mut ntop,
        subr::inet_ntop(subr::AF_INET6, &[0xff; 16]).expect("AF_INET6"),
    );
    for o in [&mut ntoa, &mut ntoa6, &mut ntop] {
        o.push(b'\n');
    }
    vec![
        ("funcs/tst.inet_ntoa.d.out", ntoa),
        ("funcs/tst.inet_ntoa6.d.out", ntoa6),
        ("funcs/tst.inet_ntop.d.out", ntop),
    ]
}

/// tst.basename's generated ksh: `` if [ `basename "X"` != "Y" ] `` lines carry dtrace's
/// results (no rows when the file is absent).
fn funcs_basename() -> (usize, Vec<String>) {
    let text =
        String::from_utf8_lossy(&read("funcs/tst.basename.d.out").unwrap_or_default()).into_owned();
    let mut rows = 0;
    let mut bad = Vec::new();
    for line in text.lines() {
        for (name, f) in [
            ("basename", subr::basename as fn(&[u8]) -> Vec<u8>),
            ("dirname", subr::dirname),
        ] {
            let prefix = format!("if [ `{name} \"");
            let Some(rest) = line.strip_prefix(prefix.as_str()) else {
                continue;
            };
            let Some((arg, want)) = rest.split_once("\"` != \"") else {
                continue;
            };
            let want = want.trim_end_matches("\" ]; then");
            rows += 1;
            let got = string(f(arg.as_bytes()));
            if got != want {
                bad.push(format!("{name}({arg:?}) = {got:?}, dtrace {want:?}"));
            }
        }
    }
    (rows, bad)
}

fn aggs_simple() -> Vec<(&'static str, Vec<u8>)> {
    let d = AggPrintOptions::default();
    let run = |func, values: &[i64], printa_first: bool, clear: bool| {
        let mut a = Aggregation::new(0, "a", func);
        for &x in values {
            a.update(&[], x, 1);
        }
        if clear {
            a.clear();
        }
        let mut o = Vec::new();
        if printa_first {
            printa(&[&a], &d, &mut o);
        }
        at_exit(&mut o, &[&a]);
        o
    };
    let hundreds: Vec<i64> = (0..1000).step_by(100).collect();
    let stamps: Vec<i64> = (1..=5).map(|k| 1_000_000_000 * k + 12345).collect();
    let mut v = vec![
        (
            "aggs/tst.count.d.out",
            run(AggFunc::Count, &[0, 0], false, false),
        ),
        (
            "aggs/tst.sum.d.out",
            run(AggFunc::Sum, &hundreds, false, false),
        ),
        (
            "aggs/tst.max.d.out",
            run(AggFunc::Max, &hundreds, true, false),
        ),
        (
            "aggs/tst.min.d.out",
            run(AggFunc::Min, &hundreds, false, false),
        ),
        (
            "aggs/tst.max_neg.d.out",
            run(AggFunc::Max, &[0, -900], false, false),
        ),
        (
            "aggs/tst.clearavg.d.out",
            run(AggFunc::Avg, &stamps, false, true),
        ),
        (
            "aggs/tst.clearstddev.d.out",
            run(AggFunc::Stddev, &stamps, false, true),
        ),
    ];
    let mut f = Aggregation::new(0, "func", AggFunc::Sum);
    for i in 0..20i64 {
        f.update(&[Datum::i32((i % 5) as i32)], i * 100, 1);
    }
    f.normalize(5).expect("non-zero");
    let mut o = b"denormalized:".to_vec();
    f.denormalize();
    printa(&[&f], &d, &mut o);
    at_exit(&mut o, &[&f]);
    v.push(("aggs/tst.denormalize.d.out", o));
    v
}

fn multiaggs_many() -> Vec<u8> {
    let d = AggPrintOptions::default();
    // @agg996..@agg999 appear first in the program (a BEGIN /0/ clause), so they get ids 0..=3.
    let lq = AggFunc::Lquantize {
        base: -10,
        limit: 10,
        step: 1,
    };
    let a996 = Aggregation::new(0, "agg996", AggFunc::Quantize);
    let a997 = Aggregation::new(1, "agg997", AggFunc::Count);
    let a998 = Aggregation::new(2, "agg998", AggFunc::Min);
    let a999 = Aggregation::new(3, "agg999", lq);
    let mut sums: Vec<Aggregation> = (0..247)
        .map(|i| Aggregation::new(4 + i as u32, format!("agg{i}"), AggFunc::Sum))
        .collect();
    for (i, a) in sums.iter_mut().enumerate() {
        a.update(&[Datum::i32(i as i32)], i as i64, 1);
    }
    let mut o = Vec::new();
    let mut show = |f: &str, aggs: &[&Aggregation]| {
        let fmt = Format::parse(f).expect("parses");
        printa_format(&fmt, aggs, &d, &NoSymbols, &mut o).expect("prints");
        o.push(b'\n');
    };
    let three = "%8d %8@d %8@d\n";
    show(three, &[&sums[0], &sums[1]]);
    show(three, &[&sums[0], &a996]);
    show(
        "%4d %4@d %4@d %4@d %4@d %4@d %4@d %4@d %4@d %4@d %4@d %4@d\n",
        &[
            &sums[12], &sums[3], &sums[73], &a997, &sums[9], &sums[9], &sums[4], &a998, &sums[11],
            &sums[23], &sums[69],
        ],
    );
    show(three, &[&sums[245], &sums[246]]);
    show(three, &[&a999, &sums[246]]);
    let mut all: Vec<&Aggregation> = vec![&a996, &a997, &a998, &a999];
    all.extend(sums.iter());
    at_exit(&mut o, &all);
    o
}

fn printf_floats() -> Vec<(&'static str, Vec<u8>)> {
    let f = Datum::Float(FloatVal {
        value: 0.0,
        size: 4,
    });
    let d = Datum::Float(FloatVal {
        value: 0.0,
        size: 8,
    });
    let run = |lines: &[(&str, &Datum)]| {
        let mut o = b"\n".to_vec();
        for (fmt, v) in lines {
            pf(&mut o, fmt, std::slice::from_ref(*v));
        }
        o.push(b'\n');
        o
    };
    vec![
        (
            "printf/tst.printeE.d.out",
            run(&[
                ("%%e = %e\n", &f),
                ("%%E = %E\n", &f),
                ("%%e = %e\n", &d),
                ("%%E = %E\n", &d),
            ]),
        ),
        (
            "printf/tst.printgG.d.out",
            run(&[
                ("%%g = %g\n", &f),
                ("%%g = %g\n", &d),
                ("%%G = %G\n", &f),
                ("%%G = %G\n", &d),
            ]),
        ),
        (
            "printf/tst.print-f.d.out",
            run(&[("%%f = %f\n", &f), ("%%f = %f\n", &d)]),
        ),
    ]
}

/// The `if (name(args) ne "result")` / `if (name(args) != n)` checks of a generated perl
/// script: each row is dtrace's own result for those arguments.
fn table(path: &str, name: &str) -> Vec<(Vec<String>, String)> {
    let text = read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text).into_owned();
    let prefix = format!("if ({name}(");
    let mut rows = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix(prefix.as_str()) else {
            continue;
        };
        let Some((args, result)) = rest
            .rsplit_once(") ne ")
            .or_else(|| rest.rsplit_once(") != "))
        else {
            continue;
        };
        rows.push((split_args(args), unquote(result.trim_end_matches(") {"))));
    }
    rows
}

fn unquote(s: &str) -> String {
    s.trim_matches('"').replace("\\\"", "\"")
}

fn split_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                args.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    args.push(cur.trim().to_string());
    args
}

fn table_scenario(path: &str, name: &str, f: impl Fn(&[String]) -> String) -> (usize, Vec<String>) {
    let rows = table(path, name);
    let mut bad = Vec::new();
    for (args, want) in &rows {
        let got = f(args);
        if &got != want {
            bad.push(format!("{name}{args:?} = {got:?}, dtrace {want:?}"));
        }
    }
    (rows.len(), bad)
}

fn string(v: Vec<u8>) -> String {
    String::from_utf8_lossy(&v).into_owned()
}

fn funcs_cleanpath() -> Vec<u8> {
    let text = String::from_utf8_lossy(&read("funcs/tst.cleanpath.d.out").unwrap_or_default())
        .into_owned();
    let mut o = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("cleanpath(\"") {
            if let Some((arg, _)) = rest.split_once("\") = ") {
                let c = string(subr::cleanpath(arg.as_bytes(), 256));
                o.extend_from_slice(format!("cleanpath(\"{arg}\") = \"{c}\"\n").as_bytes());
            }
        }
    }
    o.push(b'\n');
    o
}

fn funcs_fixed() -> Vec<(&'static str, Vec<u8>)> {
    let mut v = Vec::new();
    let mut o = Vec::new();
    for x in [0, 1, -1, 123456789, -123456789, 1 << 62, -(1 << 62)] {
        o.extend(subr::lltostr(x, None).expect("base 10"));
        o.push(b'\n');
    }
    o.push(b'\n');
    v.push(("funcs/tst.lltostr.d.out", o));
    let mut o = Vec::new();
    for (a, b) in [("foo", "baz"), ("foo", ""), ("", "baz"), ("", "")] {
        o.extend(subr::strjoin(a.as_bytes(), b.as_bytes(), 256).expect("fits"));
        o.push(b'\n');
    }
    o.push(b'\n');
    v.push(("funcs/tst.strjoin.d.out", o));
    let mut o = Vec::new();
    let mut st = StrtokState::default();
    let mut arg: Option<&[u8]> = Some(b",,,Carrots,,Barley,Oatmeal,,,Beans,");
    while let Ok(Some(tok)) = subr::strtok(&mut st, arg.take(), b",", 256) {
        o.extend(tok);
        o.push(b'\n');
    }
    o.push(b'\n');
    v.push(("funcs/tst.strtok.d.out", o));
    let mut o = Vec::new();
    let str_ = b"fooeyfooeyfoo";
    for c in [b'f', b'y'] {
        for (name, r) in [
            ("strchr", subr::strchr(str_, c)),
            ("strrchr", subr::strrchr(str_, c)),
        ] {
            o.extend_from_slice(
                format!(
                    "{name}(\"fooeyfooeyfoo\", '{}') = \"{}\"\n",
                    c as char,
                    string(r.unwrap_or_default())
                )
                .as_bytes(),
            );
        }
    }
    let mid = subr::strchr(str_, b'y').unwrap_or_default();
    o.extend_from_slice(
        format!(
            "strrchr(\"{}\", 'y') = \"{}\"\n\n",
            string(mid.clone()),
            string(subr::strrchr(&mid, b'y').unwrap_or_default())
        )
        .as_bytes(),
    );
    v.push(("funcs/tst.strchr.d.out", o));
    v
}

fn funcs_tables() -> Vec<(&'static str, usize, Vec<String>)> {
    let mut v = Vec::new();
    let (n, bad) = funcs_basename();
    v.push(("funcs/tst.basename.d.out (basename/dirname rows)", n, bad));
    let num = |a: &String| a.parse::<i64>().unwrap_or(0);
    let (n, bad) = table_scenario("funcs/tst.substr.d.out", "substr", |a| {
        string(subr::substr(
            a[0].as_bytes(),
            num(&a[1]),
            a.get(2).map(num),
            32,
        ))
    });
    v.push(("funcs/tst.substr.d.out (substr rows)", n, bad));
    for name in ["index", "rindex"] {
        let (n, bad) = table_scenario("funcs/tst.index.d.out", name, |a| {
            let (h, nd) = (a[0].as_bytes(), a[1].as_bytes());
            let pos = a.get(2).map(num);
            let r = if name == "index" {
                subr::index(h, nd, pos)
            } else {
                subr::rindex(h, nd, pos)
            };
            r.to_string()
        });
        let label = if name == "index" {
            "funcs/tst.index.d.out (index rows)"
        } else {
            "funcs/tst.index.d.out (rindex rows)"
        };
        v.push((label, n, bad));
    }
    v
}

fn read(rel: &str) -> Option<Vec<u8>> {
    let root = std::env::var_os("FREEBSD_DTRACE_TESTS")?;
    std::fs::read(std::path::Path::new(&root).join(rel)).ok()
}

#[test]
#[ignore = "needs FREEBSD_DTRACE_TESTS pointing at FreeBSD 10.4's tst/common"]
fn matches_freebsd_10_4_expectations() {
    assert!(
        std::env::var_os("FREEBSD_DTRACE_TESTS").is_some(),
        "set FREEBSD_DTRACE_TESTS"
    );
    let scenarios: &[Scenario] = &[
        ("printf/tst.ints.d.out", printf_ints),
        ("printf/tst.signs.d.out", printf_signs),
        ("printf/tst.flags.d.out", printf_flags),
        ("printf/tst.basics.d.out", printf_basics),
        ("aggs/tst.quantize.d.out", aggs_quantize),
        ("aggs/tst.lquantize.d.out", aggs_lquantize),
        ("aggs/tst.negquant.d.out", aggs_negquant),
        ("aggs/tst.neglquant.d.out", aggs_neglquant),
        ("aggs/tst.quantzero.d.out", aggs_quantzero),
        ("aggs/tst.keysort.d.out", aggs_keysort),
        ("aggs/tst.signedkeys.d.out", aggs_signedkeys),
        ("aggs/tst.sizedkeys.d.out", aggs_sizedkeys),
        ("aggs/tst.avg.d.out", aggs_avg),
        ("aggs/tst.stddev.d.out", aggs_stddev),
        ("aggs/tst.clear.d.out", aggs_clear),
        ("aggs/tst.trunc.d.out", aggs_trunc),
        ("aggs/tst.normalize.d.out", aggs_normalize),
        ("printa/tst.basics.d.out", printa_basics),
        ("printa/tst.dynwidth.d.out", printa_dynwidth),
        ("multiaggs/tst.zero.d.out", multiaggs_zero),
        ("llquantize/tst.basic.d.out", llquantize_basic),
        ("llquantize/tst.bases.d.out", llquantize_bases),
        ("llquantize/tst.negorder.d.out", llquantize_negorder),
        ("funcs/tst.cleanpath.d.out", funcs_cleanpath),
        ("aggs/tst.order.d.out", aggs_order),
        ("aggs/tst.negorder.d.out", aggs_negorder),
        ("multiaggs/tst.many.d.out", multiaggs_many),
    ];
    let mut results: Vec<(String, Result<(), String>)> = Vec::new();
    let mut compare = |name: &str, got: Vec<u8>| {
        let r = match read(name) {
            None => Err("missing .d.out".to_string()),
            Some(want) if want == got => Ok(()),
            Some(want) => Err(first_difference(&want, &got)),
        };
        results.push((name.to_string(), r));
    };
    for (name, f) in scenarios {
        compare(name, f());
    }
    let groups = [
        funcs_fixed(),
        printf_precs_widths(),
        printa_small(),
        multiaggs_more(),
        aggs_values(),
        llquantize_more(),
        numbers(),
        aggs_more(),
        inet(),
        aggs_simple(),
        printf_floats(),
    ];
    for (name, got) in groups.into_iter().flatten() {
        compare(name, got);
    }
    for (name, rows, bad) in funcs_tables() {
        let r = if rows == 0 {
            Err("no rows found".into())
        } else if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("\n"))
        };
        results.push((format!("{name}: {rows} rows"), r));
    }
    let failed: Vec<_> = results.iter().filter(|(_, r)| r.is_err()).collect();
    for (name, r) in &results {
        match r {
            Ok(()) => println!("PASS {name}"),
            Err(e) => println!("FAIL {name}\n{e}"),
        }
    }
    println!(
        "{} passed, {} failed",
        results.len() - failed.len(),
        failed.len()
    );
    assert!(failed.is_empty());
}

fn first_difference(want: &[u8], got: &[u8]) -> String {
    let w = String::from_utf8_lossy(want);
    let g = String::from_utf8_lossy(got);
    for (n, (a, b)) in w.lines().zip(g.lines()).enumerate() {
        if a != b {
            return format!("  line {}:\n  dtrace: {a:?}\n  ours:   {b:?}", n + 1);
        }
    }
    format!(
        "  lengths differ: dtrace {} lines / {} bytes, ours {} lines / {} bytes",
        w.lines().count(),
        want.len(),
        g.lines().count(),
        got.len()
    )
}
