//! Structured records: a sink that asks for them gets one per traced action, per printa()
//! row and per aggregation row at exit, with the same values the text shows.

mod common;
use common::*;

use lang::{BufferSink, Flow, Record, RecordKind};
use lang_output::{Bound, Datum, RowValue};

/// A sink keeping both the text and the records (owned, in order).
#[derive(Default)]
struct Both {
    text: BufferSink,
    records: Vec<String>,
}

impl lang::OutputSink for Both {
    fn stdout(&mut self, bytes: &[u8]) {
        self.text.stdout(bytes);
    }
    fn stderr(&mut self, line: &str) {
        self.text.stderr(line);
    }
    fn wants_records(&self) -> bool {
        true
    }
    fn record(&mut self, r: &Record<'_>) {
        let show = |d: &Datum| match d {
            Datum::Int(i) => i.value().to_string(),
            Datum::Str(s) => String::from_utf8_lossy(s).into_owned(),
            other => format!("{other:?}"),
        };
        let line = match r {
            Record::Action {
                firing,
                kind,
                text,
                args,
            } => format!(
                "{} {}:{} cpu={} text={:?} args={:?}",
                kind.name(),
                firing.probe.provider,
                firing.probe.name,
                firing.cpu,
                String::from_utf8_lossy(text),
                args.iter().map(show).collect::<Vec<_>>()
            ),
            Record::PrintaRow {
                aggregations, row, ..
            } => format!(
                "printa {aggregations:?} {:?} {:?}",
                row.key.iter().map(show).collect::<Vec<_>>(),
                row.values
            ),
            Record::Aggregation {
                name,
                function,
                row,
            } => format!(
                "agg {name} {function} {:?} {:?}",
                row.key.iter().map(show).collect::<Vec<_>>(),
                row.values
            ),
        };
        self.records.push(line);
    }
}

fn run_both(script: &str) -> Both {
    let cat = Catalog::default();
    let mut prog = build(
        script,
        &cat,
        &lang::DeclaredTypes::default(),
        &lang::CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut sink = Both::default();
    let mut ctx = Ctx::default();
    assert_eq!(
        prog.fire(lang::BEGIN_ID, &mut ctx, &mut sink),
        Flow::Exit(0)
    );
    prog.end(&mut ctx, &mut sink);
    sink
}

#[test]
fn each_action_is_one_record_with_its_text_and_values() {
    // A default record first: its text is the probe line, not the column header before it.
    let b = run_both("BEGIN {}\nBEGIN { exit(0); }");
    assert!(String::from_utf8_lossy(&b.text.out).starts_with("CPU "));
    assert_eq!(
        b.records[0],
        "default dtrace:BEGIN cpu=0 text=\"  0      1                           :BEGIN \" args=[]"
    );
    let b =
        run_both("BEGIN { printf(\"%d-%s\", 42, \"x\"); trace(7); }\nBEGIN {}\nBEGIN { exit(0); }");
    let text = String::from_utf8_lossy(&b.text.out);
    assert!(text.contains("42-x        7\n"), "{text}");
    assert_eq!(
        b.records,
        [
            "printf dtrace:BEGIN cpu=0 text=\"42-x\" args=[\"42\", \"x\"]",
            "trace dtrace:BEGIN cpu=0 text=\"        7\" args=[\"7\"]",
            // The default record's text is the probe line dtrace prints for it.
            "default dtrace:BEGIN cpu=0 text=\"  0      1                           :BEGIN \" args=[]",
            "default dtrace:BEGIN cpu=0 text=\"  0      1                           :BEGIN \" args=[]",
        ]
    );
    assert_eq!(RecordKind::Printf.name(), "printf");
}

#[test]
fn printa_rows_and_exit_aggregations_carry_numbers() {
    let b = run_both(
        "#pragma D option quiet\nBEGIN { @a[\"x\"] = sum(10); @a[\"y\"] = sum(3); printa(\"%s %@d\\n\", @a); @q = quantize(5); exit(0); }",
    );
    assert_eq!(
        String::from_utf8_lossy(&b.text.out).lines().next(),
        Some("y 3")
    );
    assert_eq!(
        b.records[..2],
        [
            "printa [\"a\"] [\"y\"] [Int(3)]",
            "printa [\"a\"] [\"x\"] [Int(10)]"
        ]
    );
    // @a was printed by printa(); only @q prints at exit: buckets 2, 4 (the value), 8.
    let want = RowValue::Histogram(
        [(2, 0), (4, 1), (8, 0)]
            .iter()
            .map(|&(value, count)| lang_output::Bucket {
                value,
                bound: Bound::At,
                count,
            })
            .collect(),
    );
    assert_eq!(b.records[2..], [format!("agg q quantize [] [{want:?}]")]);
}

#[test]
fn a_sink_without_records_gets_none_and_the_same_bytes() {
    let script = "BEGIN { printf(\"%d\", 1); @c = count(); exit(0); }";
    let both = run_both(script);
    let plain = run(script);
    assert_eq!(String::from_utf8_lossy(&both.text.out), plain.out);
}
