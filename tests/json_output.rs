//! JSON output end to end: one run against the model guest writes its text to stdout and its
//! JSON lines to a file (`--json=FILE`); parsed back, the JSON records rebuild the text exactly
//! (printf records, printa rows), their raw arguments print as their text does, and the
//! aggregations printed at exit carry the same keys, values and histogram buckets as the text.
//! `-O json` replaces the text with JSON lines, default records included.

mod common;
use common::*;

use std::path::PathBuf;

fn json_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("guestrace-test-{}-{tag}.json", std::process::id()))
}

const SCRIPT: &str = r#"tcp:::send
{
    printf("%s %d %d %d\n", execname, args[4]->tcp_sport, args[4]->tcp_dport, args[2]->ip_plength);
    @pkts[execname] = count();
    @sizes = quantize(args[2]->ip_plength);
    @bytes[execname] = sum(args[2]->ip_plength);
}"#;

#[test]
fn json_beside_the_text_rebuilds_it() {
    let guest = boot();
    let file = json_path("beside");
    let mut args = vec![
        "-q".to_string(),
        "-n".to_string(),
        SCRIPT.to_string(),
        format!("--json={}", file.display()),
    ];
    args.extend(round_markers("printa(\"%s %@d\\n\", @pkts);", ""));
    let t = trace_rounds(&guest, &args, 2);
    assert_eq!(t.status, Some(0), "stderr: {}", t.stderr);
    let json = std::fs::read_to_string(&file).expect("the JSON file");
    let recs = providers::json::parse_lines(&json).expect("every line is a JSON object");
    assert!(recs.len() > 50, "{} records", recs.len());

    let mut rebuilt = String::new();
    let mut exit_rows = Vec::new();
    let mut last_ts = 0u64;
    let mut sends = 0;
    for r in &recs {
        match r["type"].as_str().expect("type") {
            "printf" => {
                let text = r["text"].as_str().expect("text");
                let probe = r["probe"].as_str().expect("probe");
                assert_eq!(probe.split(':').count(), 4, "{probe}");
                assert!(
                    r["id"].as_u64().is_some() && r["cpu"].as_u64() == Some(0),
                    "{r}"
                );
                let ts = r["timestamp"].as_u64().expect("timestamp");
                assert!(ts >= last_ts, "timestamps go forward: {r}");
                last_ts = ts;
                if probe.starts_with("tcp:") {
                    let a = r["args"].as_array().expect("args");
                    let words: Vec<String> = a
                        .iter()
                        .map(|v| match v.as_str() {
                            Some(s) => s.to_string(),
                            None => v.to_string(),
                        })
                        .collect();
                    assert_eq!(
                        format!("{}\n", words.join(" ")),
                        text,
                        "raw arguments of {r}"
                    );
                    sends += 1;
                }
                rebuilt.push_str(text);
            }
            "printa" => {
                assert_eq!(r["aggregations"][0], "pkts");
                let key = r["keys"][0].as_str().expect("string key");
                rebuilt.push_str(&format!("{key} {}\n", r["values"][0]));
            }
            "aggregation" => exit_rows.push(r.clone()),
            other => panic!("unexpected record type {other}: {r}"),
        }
    }
    assert!(sends > 20, "{sends} tcp:::send records");
    // The text is the records' text, then dtrace's blank line and the aggregations at exit.
    let rest = t
        .stdout
        .strip_prefix(&rebuilt)
        .unwrap_or_else(|| panic!("the text does not start with the records' text"));
    let rest = rest.strip_prefix('\n').expect("the blank line at exit");

    // @pkts was printed by printa(); @sizes (quantize) then @bytes (sum) print at exit.
    let sizes: Vec<_> = exit_rows.iter().filter(|r| r["name"] == "sizes").collect();
    let bytes: Vec<_> = exit_rows.iter().filter(|r| r["name"] == "bytes").collect();
    assert_eq!(sizes.len() + bytes.len(), exit_rows.len());
    assert_eq!(sizes.len(), 1);
    assert_eq!(sizes[0]["function"], "quantize");
    let mut lines = rest.lines().filter(|l| !l.trim().is_empty());
    assert!(lines.next().is_some_and(|l| l.contains("Distribution")));
    for b in sizes[0]["value"].as_array().expect("buckets") {
        let l = lines.next().expect("a histogram row");
        let w: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(w[0], b["value"].to_string(), "{l}");
        assert_eq!(
            w.last().copied(),
            Some(b["count"].to_string().as_str()),
            "{l}"
        );
    }
    for r in &bytes {
        assert_eq!(r["function"], "sum");
        let l = lines.next().expect("a sum row");
        let w: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(
            w,
            [r["keys"][0].as_str().expect("key"), &r["value"].to_string()]
        );
    }
    assert_eq!(lines.next(), None);
    let _ = std::fs::remove_file(&file);
    assert_restored(&guest);
}

#[test]
fn json_instead_of_text_has_default_records() {
    let guest = boot();
    let mut args = vec![
        "-O".to_string(),
        "json".to_string(),
        "-n".to_string(),
        "udp:::send".to_string(),
    ];
    args.extend(round_markers("", ""));
    let t = trace_rounds(&guest, &args, 1);
    assert_eq!(t.status, Some(0), "stderr: {}", t.stderr);
    let recs = providers::json::parse_lines(&t.stdout).expect("stdout is JSON lines only");
    // The end-of-run summary counts every event (the records' and the round markers' stops);
    // no progress line reaches a stderr that is not a terminal.
    let seen: usize = t
        .stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("guestrace: ")?
                .split_once(" events seen in ")
        })
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary line: {}", t.stderr));
    assert!(seen >= recs.len(), "{seen} events, {} records", recs.len());
    assert!(!t.stderr.contains('\r'), "{:?}", t.stderr);
    let defaults: Vec<_> = recs.iter().filter(|r| r["type"] == "default").collect();
    assert!(!defaults.is_empty());
    for r in defaults {
        let probe = r["probe"].as_str().expect("probe");
        assert!(probe.starts_with("udp:") && probe.ends_with(":send"), "{r}");
        // The text is dtrace's probe line: CPU, ID, FUNCTION:NAME.
        let text = r["text"].as_str().expect("text");
        let w: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(w[0], r["cpu"].to_string());
        assert_eq!(w[1], r["id"].to_string());
        assert!(w[2].ends_with(":send"), "{text}");
        assert_eq!(r["args"].as_array().map(Vec::len), Some(0));
    }
    assert_restored(&guest);
}
