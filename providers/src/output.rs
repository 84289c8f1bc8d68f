//! Where traced output goes: stdout or an `-o` file, with a broken pipe ending the run the way
//! SIGPIPE ends dtrace (but with the guest restored first).

use std::io::Write;

use lang::OutputSink;

/// An [`OutputSink`] writing to a stream and stderr.
pub struct WriterSink {
    out: Box<dyn Write>,
    prog: String,
    broken: bool,
    /// JSON output, instead of or beside the text.
    json: Option<crate::json::JsonRecords>,
}

impl WriterSink {
    /// Traced data to `out`; stderr lines get dtrace's prefix rewritten to `prog`'s name.
    pub fn new(out: Box<dyn Write>, prog: &str) -> WriterSink {
        WriterSink {
            out,
            prog: prog.to_string(),
            broken: false,
            json: None,
        }
    }

    /// Also (or instead) writes every record as a JSON line.
    pub fn with_json(mut self, json: crate::json::JsonRecords) -> WriterSink {
        self.json = Some(json);
        self
    }

    /// True once a write failed (e.g. the reader of a pipe went away).
    pub fn broken(&self) -> bool {
        self.broken
    }

    /// Flushes buffered output.
    pub fn flush(&mut self) {
        let json = self.json.as_mut().map_or(Ok(()), |j| j.flush());
        if self.out.flush().is_err() || json.is_err() {
            self.broken = true;
        }
    }
}

impl OutputSink for WriterSink {
    fn stdout(&mut self, bytes: &[u8]) {
        if self.json.as_ref().is_some_and(|j| j.replaces_text()) {
            return;
        }
        if !self.broken && self.out.write_all(bytes).is_err() {
            self.broken = true;
            crate::signals::request_stop();
        }
    }
    fn stderr(&mut self, line: &str) {
        self.flush();
        let line = match line.strip_prefix("dtrace:") {
            Some(rest) => format!("{}:{rest}", self.prog),
            None => line.to_string(),
        };
        eprintln!("{line}");
    }
    fn wants_records(&self) -> bool {
        self.json.is_some()
    }
    fn record(&mut self, record: &lang::Record<'_>) {
        let Some(json) = self.json.as_mut() else {
            return;
        };
        if !self.broken && json.write(record, &mut self.out).is_err() {
            self.broken = true;
            crate::signals::request_stop();
        }
    }
}
