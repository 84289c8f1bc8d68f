//! Where traced output goes: stdout or an `-o` file, with a broken pipe ending the run the way
//! SIGPIPE ends dtrace (but with the guest restored first).

use std::io::Write;

use lang::OutputSink;

/// An [`OutputSink`] writing to a stream and stderr.
pub struct WriterSink {
    out: Box<dyn Write>,
    prog: String,
    broken: bool,
}

impl WriterSink {
    /// Traced data to `out`; stderr lines get dtrace's prefix rewritten to `prog`'s name.
    pub fn new(out: Box<dyn Write>, prog: &str) -> WriterSink {
        WriterSink {
            out,
            prog: prog.to_string(),
            broken: false,
        }
    }

    /// True once a write failed (e.g. the reader of a pipe went away).
    pub fn broken(&self) -> bool {
        self.broken
    }

    /// Flushes buffered output.
    pub fn flush(&mut self) {
        if self.out.flush().is_err() {
            self.broken = true;
        }
    }
}

impl OutputSink for WriterSink {
    fn stdout(&mut self, bytes: &[u8]) {
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
}
