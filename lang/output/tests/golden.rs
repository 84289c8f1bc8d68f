//! Golden tests: expected bytes derived by hand from the formats in
//! shared/facts/d-language.md §11 (each test names the rule it checks).

use lang_output::{
    print_unprinted, printa, printa_format, record_header, record_prefix, trace_datum, tracemem,
    AggFunc, AggPrintOptions, Aggregation, Datum, Format, IntVal, NoSymbols, SortOrder,
};

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

fn header() -> &'static str {
    // §11.4: "\n%16s %41s %-9s\n" of value, the 40-dash title and count.
    "\n           value  ------------- Distribution ------------- count    \n"
}

fn bar(n: usize) -> String {
    format!("|{}{}", "@".repeat(n), " ".repeat(40 - n))
}

fn row(label: &str, n: usize, count: i64) -> String {
    format!("{label:>16} {} {count:<9}\n", bar(n))
}

#[test]
fn string_keys_and_counts_in_the_default_layout() {
    // §11.4: string key "  %-50s", value " %16lld", entries sorted by value then key.
    let mut a = Aggregation::new(0, "sources", AggFunc::Count);
    for ip in ["10.0.0.2", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.2"] {
        a.update(&[Datum::str(ip)], 0, 1);
    }
    let mut out = Vec::new();
    printa(&[&a], &AggPrintOptions::default(), &mut out);
    let line = |k: &str, n: i64| format!("  {k:<50} {n:>16}\n");
    let want = format!(
        "\n{}{}{}",
        line("10.0.0.1", 1),
        line("10.0.0.3", 1),
        line("10.0.0.2", 3)
    );
    assert_eq!(text(&out), want);
    assert!(a.printed(), "printa marks the aggregation printed");
}

#[test]
fn integer_keys_by_size_and_two_keys() {
    // §11.4: 1 byte " %3d" (uint8), 2 bytes " %5d" (uint16), 4 bytes " %8d", 8 " %16lld".
    let mut a = Aggregation::new(0, "num", AggFunc::Sum);
    a.update(
        &[
            Datum::Int(IntVal::new(-2i64 as u64, 1, true)),
            Datum::Int(IntVal::new(-2i64 as u64, 2, true)),
            Datum::i32(-2),
            Datum::i64(-2),
        ],
        7,
        1,
    );
    let mut out = Vec::new();
    printa(&[&a], &AggPrintOptions::default(), &mut out);
    assert_eq!(
        text(&out),
        format!("\n 254 65534 {:>8} {:>16} {:>16}\n", -2, -2, 7)
    );
}

#[test]
fn quantize_rows_extend_one_zero_bin_each_side() {
    // §11.4 row range and bar depth = (uint)(count*40/total + 0.5).
    let mut a = Aggregation::new(0, "lat", AggFunc::Quantize);
    for v in [3, 3, 3, 20] {
        a.update(&[], v, 1);
    }
    let mut out = Vec::new();
    printa(&[&a], &AggPrintOptions::default(), &mut out);
    let want = format!(
        "\n{}{}{}{}{}{}{}\n",
        header(),
        row("1", 0, 0),
        row("2", 30, 3),
        row("4", 0, 0),
        row("8", 0, 0),
        row("16", 10, 1),
        row("32", 0, 0)
    );
    assert_eq!(text(&out), want);
}

#[test]
fn empty_quantize_prints_the_three_bins_around_zero() {
    let mut a = Aggregation::new(0, "q", AggFunc::Quantize);
    a.update(&[], 5, 0);
    let mut out = Vec::new();
    printa(&[&a], &AggPrintOptions::default(), &mut out);
    let want = format!(
        "\n{}{}{}{}\n",
        header(),
        row("-1", 0, 0),
        row("0", 0, 0),
        row("1", 0, 0)
    );
    assert_eq!(text(&out), want);
}

#[test]
fn lquantize_labels_and_underflow_overflow() {
    // §11.4: "< base" for the underflow bin, base+(i-1)*step, ">= base+levels*step".
    let f = AggFunc::lquantize(0, 30, 10).expect("valid");
    let mut a = Aggregation::new(0, "l", f);
    a.update(&[], -5, 1);
    a.update(&[], 35, 1);
    let mut out = Vec::new();
    printa(&[&a], &AggPrintOptions::default(), &mut out);
    let want = format!(
        "\n{}{}{}{}{}{}\n",
        header(),
        row("< 0", 20, 1),
        row("0", 0, 0),
        row("10", 0, 0),
        row("20", 0, 0),
        row(">= 30", 20, 1)
    );
    assert_eq!(text(&out), want);
}

#[test]
fn llquantize_labels_follow_the_illumos_scale() {
    // §12.4: "< factor^low", linear steps inside each order, ">= factor^(high+1)".
    let f = AggFunc::llquantize(10, 0, 1, 10).expect("valid");
    let mut a = Aggregation::new(0, "ll", f);
    a.update(&[], 0, 1);
    a.update(&[], 250, 1);
    let mut out = Vec::new();
    printa(&[&a], &AggPrintOptions::default(), &mut out);
    let mut want = format!("\n{}{}", header(), row("< 1", 20, 1));
    for v in 1..=9 {
        want.push_str(&row(&v.to_string(), 0, 0));
    }
    for v in (10..=90).step_by(10) {
        want.push_str(&row(&v.to_string(), 0, 0));
    }
    want.push_str(&row(">= 100", 20, 1));
    want.push('\n');
    assert_eq!(text(&out), want);
}

#[test]
fn negative_and_mixed_bars() {
    // §11.4: only negative counts draw right-aligned bars ending in '|'; mixed signs use two
    // 20-wide halves around a centre '|'.
    let mut n = Aggregation::new(0, "n", AggFunc::Quantize);
    n.update(&[], 1, -4);
    let mut out = Vec::new();
    printa(&[&n], &AggPrintOptions::default(), &mut out);
    let neg = |label: &str, d: usize, c: i64| {
        format!(
            "{label:>16} {}{}| {c:<9}\n",
            " ".repeat(40 - d),
            "@".repeat(d)
        )
    };
    let want = format!(
        "\n{}{}{}{}\n",
        header(),
        neg("0", 0, 0),
        neg("1", 40, -4),
        neg("2", 0, 0)
    );
    assert_eq!(text(&out), want);

    let mut m = Aggregation::new(0, "m", AggFunc::Quantize);
    m.update(&[], -1, -1);
    m.update(&[], 1, 3);
    let mut out = Vec::new();
    printa(&[&m], &AggPrintOptions::default(), &mut out);
    let left = |label: &str, d: usize, c: i64| {
        format!(
            "{label:>16} {}{}|{} {c:<9}\n",
            " ".repeat(20 - d),
            "@".repeat(d),
            " ".repeat(20)
        )
    };
    let right = |label: &str, d: usize, c: i64| {
        format!(
            "{label:>16} {}|{}{} {c:<9}\n",
            " ".repeat(20),
            "@".repeat(d),
            " ".repeat(20 - d)
        )
    };
    // total = 1 + 3 = 4: depth(-1) = 20*1/4 = 5, depth(3) = 15.
    let want = format!(
        "\n{}{}{}{}{}{}\n",
        header(),
        left("-2", 0, 0),
        left("-1", 5, -1),
        left("0", 0, 0),
        right("1", 15, 3),
        left("2", 0, 0)
    );
    assert_eq!(text(&out), want);
}

#[test]
fn avg_stddev_and_normalization() {
    // §10: avg prints sum/normal/count truncated toward zero; stddev " %16llu";
    // normalize divides count/sum values for display only.
    let mut avg = Aggregation::new(0, "a", AggFunc::Avg);
    for v in [-1, -2] {
        avg.update(&[], v, 1);
    }
    let mut sd = Aggregation::new(1, "s", AggFunc::Stddev);
    for v in [10, 20] {
        sd.update(&[], v, 1);
    }
    let mut sum = Aggregation::new(2, "t", AggFunc::Sum);
    sum.update(&[], 1000, 1);
    sum.normalize(3).expect("non-zero");
    let mut out = Vec::new();
    print_unprinted(&[&sd, &sum, &avg], &AggPrintOptions::default(), &mut out);
    assert_eq!(text(&out), format!("{:>17}\n{:>17}\n{:>17}\n", -1, 5, 333));
    sum.denormalize();
    assert_eq!(sum.normal(), 1);
}

#[test]
fn unprinted_skips_printed_and_empty_aggregations() {
    // §11.7 step 4: only aggregations with data that no printa() printed, in id order.
    let mut a = Aggregation::new(0, "a", AggFunc::Count);
    let mut b = Aggregation::new(1, "b", AggFunc::Count);
    let c = Aggregation::new(2, "c", AggFunc::Count);
    a.update(&[], 0, 1);
    b.update(&[], 0, 1);
    b.update(&[], 0, 1);
    let mut scratch = Vec::new();
    printa(&[&a], &AggPrintOptions::default(), &mut scratch);
    let mut out = Vec::new();
    print_unprinted(&[&c, &b, &a], &AggPrintOptions::default(), &mut out);
    assert_eq!(text(&out), format!("{:>17}\n", 2));
}

#[test]
fn clear_keeps_keys_and_trunc_none_empties() {
    let mut a = Aggregation::new(0, "a", AggFunc::Sum);
    a.update(&[Datum::i32(1)], 5, 1);
    a.clear();
    let mut out = Vec::new();
    printa(&[&a], &AggPrintOptions::default(), &mut out);
    assert_eq!(text(&out), format!("\n{:>9}{:>17}\n", 1, 0));
    a.trunc(None);
    let mut out = Vec::new();
    printa(&[&a], &AggPrintOptions::default(), &mut out);
    assert_eq!(text(&out), "\n");
}

#[test]
fn sort_options() {
    // §11.5: values ascending, ties by key; integer keys compare unsigned; aggsortkey,
    // aggsortrev and aggsortkeypos.
    let mut a = Aggregation::new(0, "a", AggFunc::Sum);
    for (k1, k2, v) in [(-1, 1, 5), (2, 3, 5), (1, 2, 1)] {
        a.update(&[Datum::i32(k1), Datum::i32(k2)], v, 1);
    }
    let fmt = Format::parse("%d/%d ").expect("parses");
    let run = |order: SortOrder| {
        let mut out = Vec::new();
        let opts = AggPrintOptions {
            order,
            ..AggPrintOptions::default()
        };
        printa_format(&fmt, &[&a], &opts, &NoSymbols, &mut out).expect("prints");
        text(&out)
    };
    assert_eq!(run(SortOrder::default()), "1/2 2/3 -1/1 ");
    let by_key = SortOrder {
        by_key: true,
        ..SortOrder::default()
    };
    assert_eq!(run(by_key), "1/2 2/3 -1/1 ");
    let second = SortOrder {
        key_pos: 1,
        ..by_key
    };
    assert_eq!(run(second), "-1/1 1/2 2/3 ");
    let rev = SortOrder {
        reverse: true,
        ..SortOrder::default()
    };
    assert_eq!(run(rev), "-1/1 2/3 1/2 ");
}

#[test]
fn printa_format_joins_aggregations() {
    // §11.6: no leading newline; keys feed non-@ conversions; the n-th %@ takes the n-th
    // aggregation; a missing key prints 0; sorted by the first aggregation's value.
    let mut x = Aggregation::new(0, "x", AggFunc::Count);
    let mut y = Aggregation::new(1, "y", AggFunc::Sum);
    x.update(&[Datum::str("a")], 0, 1);
    x.update(&[Datum::str("a")], 0, 1);
    y.update(&[Datum::str("a")], 10, 1);
    y.update(&[Datum::str("b")], 20, 1);
    let fmt = Format::parse("%-3s %@4d %@4d\n").expect("parses");
    let mut out = Vec::new();
    printa_format(
        &fmt,
        &[&x, &y],
        &AggPrintOptions::default(),
        &NoSymbols,
        &mut out,
    )
    .expect("prints");
    assert_eq!(text(&out), "b      0   20\na      2   10\n");
    assert!(x.printed() && y.printed());
}

#[test]
fn printa_at_d_prints_a_whole_histogram() {
    // §11.6: %@d of a quantize prints the histogram block in place.
    let mut q = Aggregation::new(0, "q", AggFunc::Quantize);
    q.update(&[Datum::i32(7)], 1, 1);
    let fmt = Format::parse("key %d:%@d\n").expect("parses");
    let mut out = Vec::new();
    printa_format(
        &fmt,
        &[&q],
        &AggPrintOptions::default(),
        &NoSymbols,
        &mut out,
    )
    .expect("prints");
    let want = format!(
        "key 7:{}{}{}{}\n",
        header(),
        row("0", 0, 0),
        row("1", 40, 1),
        row("2", 0, 0)
    );
    assert_eq!(text(&out), want);
}

#[test]
fn printa_dynamic_width_from_a_key() {
    let mut a = Aggregation::new(0, "a", AggFunc::Count);
    a.update(&[Datum::i32(6), Datum::str("ab")], 0, 1);
    let fmt = Format::parse("[%*s] %@u\n").expect("parses");
    let mut out = Vec::new();
    printa_format(
        &fmt,
        &[&a],
        &AggPrintOptions::default(),
        &NoSymbols,
        &mut out,
    )
    .expect("prints");
    assert_eq!(text(&out), "[    ab] 1\n");
}

#[test]
fn empty_string_key_prints_as_a_dump() {
    // §11.4 quirk: an empty-string key is not printed as a string but as a hex dump of its
    // strsize-byte record.
    let mut a = Aggregation::new(0, "a", AggFunc::Count);
    a.update(&[Datum::str("")], 0, 1);
    let opts = AggPrintOptions {
        strsize: 16,
        ..AggPrintOptions::default()
    };
    let mut out = Vec::new();
    printa(&[&a], &opts, &mut out);
    // The dump starts on a new line and every dump row ends with one, so the value column
    // starts a line of its own.
    let digits: String = (0..16).map(|i| format!("  {i:x}")).collect();
    let want = format!(
        "\n\n{}{digits}  0123456789abcdef\n         0:{}  {}\n {:>16}\n",
        " ".repeat(11),
        " 00".repeat(16),
        ".".repeat(16),
        1
    );
    assert_eq!(text(&out), want);
}

#[test]
fn records_and_trace() {
    // §11.1 and §11.2.
    let mut out = Vec::new();
    record_header(&mut out);
    record_prefix(1, 42, b"tcp_output", b"send", &mut out);
    trace_datum(&Datum::i32(7), false, &mut out);
    trace_datum(&Datum::str("x"), false, &mut out);
    assert_eq!(
        text(&out),
        format!(
            "CPU     ID                    FUNCTION:NAME\n  1     42{:>33} {:>9}  {:<33}",
            "tcp_output:send", 7, "x"
        )
    );
    let mut dump = Vec::new();
    tracemem(b"\x01", &mut dump);
    assert!(
        text(&dump).ends_with("         0: 01                                               .\n")
    );
}

struct Kernel;

impl lang_output::Symbolizer for Kernel {
    fn symbolize(&self, addr: u64) -> Option<String> {
        match addr {
            0x1010 => Some("kernel`ip_output+0x10".into()),
            0x2000 => Some("kernel`tcp_output".into()),
            _ => None,
        }
    }
}

#[test]
fn stack_keys_print_one_frame_per_line() {
    // dt_print_datum prints a stack() key with dt_print_stack: a newline, then each frame
    // indented by stackindent (14) up to the first zero pc; the value follows as " %16lld".
    let mut a = Aggregation::new(0, "", AggFunc::Count);
    a.update(&[Datum::Stack(vec![0x1010, 0x2000, 0x3000, 0])], 0, 1);
    a.update(&[Datum::Stack(vec![0x1010, 0x2000, 0x3000, 0])], 0, 1);
    let mut out = Vec::new();
    lang_output::printa_with(&[&a], &AggPrintOptions::default(), &Kernel, &mut out);
    let frame = |s: &str| format!("{}{s}\n", " ".repeat(14));
    let want = format!(
        "\n\n{}{}{} {:>16}\n",
        frame("kernel`ip_output+0x10"),
        frame("kernel`tcp_output"),
        frame("0x3000"),
        2
    );
    assert_eq!(text(&out), want);
}

#[test]
fn k_conversion_indents_only_with_the_minus_flag() {
    // pfprint_stack: "%-20k" indents frames by 20; "%20k" pads each symbol to 20 instead.
    let stack = Datum::Stack(vec![0x2000, 0x10]);
    let mut out = Vec::new();
    Format::parse("%-4k|%12k|")
        .expect("parses")
        .render(&[stack.clone(), stack], &Kernel, &mut out)
        .expect("renders");
    assert_eq!(
        text(&out),
        "\n    kernel`tcp_output\n    0x10\n|\nkernel`tcp_output\n        0x10\n|"
    );
}
