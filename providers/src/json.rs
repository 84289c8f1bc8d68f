//! JSON output (`-O json`, `--json[=FILE]`): one JSON object per line for every record lang
//! hands over (each traced action, each printa() row, each aggregation row printed at exit).
//! The schema is documented in the README's "JSON output" section.

use std::io::Write;

use lang::{Record, RecordKind};
use lang_output::{AggRow, Bound, Datum, RowValue};
use serde_json::{json, Map, Value};

/// Where JSON lines go.
pub struct JsonRecords {
    /// None: the sink's own stream, instead of the text. Some: a file, next to the text.
    file: Option<Box<dyn Write>>,
}

impl JsonRecords {
    /// JSON instead of the text, on the output stream (`-O json`, `--json`).
    pub fn instead_of_text() -> JsonRecords {
        JsonRecords { file: None }
    }

    /// JSON to `file`, the text going on as usual (`--json=FILE`).
    pub fn beside_text(file: Box<dyn Write>) -> JsonRecords {
        JsonRecords { file: Some(file) }
    }

    /// Whether the text is replaced (then the sink drops stdout bytes).
    pub(crate) fn replaces_text(&self) -> bool {
        self.file.is_none()
    }

    /// Writes one record as a line, to the file or else to `main`.
    pub(crate) fn write(&mut self, r: &Record<'_>, main: &mut dyn Write) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&record_json(r))?;
        line.push(b'\n');
        match &mut self.file {
            Some(f) => f.write_all(&line),
            None => main.write_all(&line),
        }
    }

    /// Flushes the JSON file, if any.
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Reads JSON output back: one value per non-empty line.
pub fn parse_lines(text: &str) -> Result<Vec<Value>, serde_json::Error> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

/// The JSON object of one record.
pub fn record_json(r: &Record<'_>) -> Value {
    match r {
        Record::Action {
            firing,
            kind,
            text,
            args,
        } => {
            let mut o = firing_json(kind.name(), firing);
            o.insert("text".into(), json!(String::from_utf8_lossy(text)));
            o.insert(
                "args".into(),
                Value::Array(args.iter().map(|d| datum_json(d, *kind)).collect()),
            );
            Value::Object(o)
        }
        Record::PrintaRow {
            firing,
            aggregations,
            row,
        } => {
            let mut o = firing_json("printa", firing);
            o.insert("aggregations".into(), json!(aggregations));
            o.insert("keys".into(), keys_json(row));
            o.insert(
                "values".into(),
                Value::Array(row.values.iter().map(value_json).collect()),
            );
            Value::Object(o)
        }
        Record::Aggregation {
            name,
            function,
            row,
        } => json!({
            "type": "aggregation",
            "name": name,
            "function": function,
            "keys": keys_json(row),
            "value": row.values.first().map_or(Value::Null, value_json),
        }),
    }
}

/// `type`, then where and when the record was written.
fn firing_json(kind: &str, f: &lang::records::Firing<'_>) -> Map<String, Value> {
    let p = f.probe;
    let mut o = Map::new();
    o.insert("type".into(), json!(kind));
    o.insert(
        "probe".into(),
        json!(format!(
            "{}:{}:{}:{}",
            p.provider, p.module, p.function, p.name
        )),
    );
    o.insert("id".into(), json!(p.id));
    o.insert("cpu".into(), json!(f.cpu));
    o.insert("timestamp".into(), json!(f.timestamp));
    o
}

fn keys_json(row: &AggRow) -> Value {
    Value::Array(
        row.key
            .iter()
            .map(|d| datum_json(d, RecordKind::Trace))
            .collect(),
    )
}

/// A value: integers as numbers (signed or not, as typed), strings up to their NUL, floats,
/// stacks as arrays of pcs; tracemem()'s bytes as an array of byte values.
fn datum_json(d: &Datum, kind: RecordKind) -> Value {
    match d {
        Datum::Int(i) if i.signed => json!(i.sext()),
        Datum::Int(i) => json!(i.zext()),
        Datum::Float(f) => json!(f.value),
        Datum::Stack(pcs) => json!(pcs),
        Datum::Str(bytes) if kind == RecordKind::Tracemem => json!(bytes),
        Datum::Str(_) => json!(String::from_utf8_lossy(d.as_cstr().unwrap_or_default())),
    }
}

fn value_json(v: &RowValue) -> Value {
    match v {
        RowValue::Int(n) => json!(n),
        RowValue::Unsigned(n) => json!(n),
        RowValue::Histogram(buckets) => Value::Array(
            buckets
                .iter()
                .map(|b| {
                    let mut o = Map::new();
                    o.insert("value".into(), json!(b.value));
                    o.insert("count".into(), json!(b.count));
                    match b.bound {
                        Bound::Below => {
                            o.insert("range".into(), json!("<"));
                        }
                        Bound::AtLeast => {
                            o.insert("range".into(), json!(">="));
                        }
                        Bound::At => {}
                    }
                    Value::Object(o)
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lang::records::Firing;
    use lang_output::{AggRow, Bucket, IntVal};

    fn probe() -> lang::ProbeInfo {
        lang::mock::probe(7, "ip", "kernel", "ip_output", "send", &[])
    }

    #[test]
    fn actions_carry_probe_text_and_typed_values() {
        let p = probe();
        let args = [
            Datum::Int(IntVal::new(u64::MAX, 4, true)),
            Datum::Int(IntVal::new(u64::MAX, 4, false)),
            Datum::str("lo0"),
        ];
        let v = record_json(&Record::Action {
            firing: Firing {
                probe: &p,
                cpu: 1,
                timestamp: 99,
            },
            kind: RecordKind::Printf,
            text: b"-1 4294967295 lo0\n",
            args: &args,
        });
        assert_eq!(
            v,
            json!({"type": "printf", "probe": "ip:kernel:ip_output:send", "id": 7, "cpu": 1,
                   "timestamp": 99, "text": "-1 4294967295 lo0\n",
                   "args": [-1, 4294967295u64, "lo0"]})
        );
    }

    #[test]
    fn histograms_are_buckets_of_numbers() {
        let row = AggRow {
            key: vec![Datum::str("em0")],
            values: vec![RowValue::Histogram(vec![
                Bucket {
                    value: 0,
                    bound: Bound::Below,
                    count: 2,
                },
                Bucket {
                    value: 10,
                    bound: Bound::At,
                    count: 3,
                },
            ])],
        };
        let v = record_json(&Record::Aggregation {
            name: "sizes",
            function: "lquantize",
            row: &row,
        });
        assert_eq!(
            v,
            json!({"type": "aggregation", "name": "sizes", "function": "lquantize",
                   "keys": ["em0"],
                   "value": [{"value": 0, "count": 2, "range": "<"}, {"value": 10, "count": 3}]})
        );
    }
}
