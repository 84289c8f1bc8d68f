//! Feedback on stderr: a progress line while a slow step runs (booting, attaching, indexing the
//! kernel's DWARF, enabling probes), and what the run saw, printed when it ends.
//!
//! The progress line appears only when a step takes longer than [`DELAY`], only on a terminal
//! and never in quiet mode; it is erased when the step ends, so nothing of it stays in logs.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How long a step runs before its progress line appears.
pub const DELAY: Duration = Duration::from_secs(1);
/// How often the spinner turns.
const TICK: Duration = Duration::from_millis(125);
const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

static QUIET: AtomicBool = AtomicBool::new(false);

/// Quiet mode (`-q`, `-x quiet`): no progress lines and no summary of events seen.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

fn stderr_is_terminal() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(2) == 1 }
}

/// Runs `step`, telling the user on stderr that guestrace is `what` (e.g. "attaching to the
/// guest") if it takes longer than [`DELAY`].
pub fn during<T>(what: &str, step: impl FnOnce() -> T) -> T {
    if quiet() || !stderr_is_terminal() {
        return step();
    }
    during_on(what, DELAY, Box::new(std::io::stderr()), step)
}

/// [`during`] on any stream, with any delay (tests).
pub fn during_on<T>(
    what: &str,
    delay: Duration,
    mut out: Box<dyn Write + Send>,
    step: impl FnOnce() -> T,
) -> T {
    let (done, wait) = mpsc::channel::<()>();
    let line = format!("guestrace: {what}");
    let spinner = std::thread::spawn(move || {
        if wait.recv_timeout(delay) != Err(mpsc::RecvTimeoutError::Timeout) {
            return;
        }
        let mut shown = false;
        for c in SPINNER.iter().cycle() {
            shown = write!(out, "\r{line} {c}")
                .and_then(|_| out.flush())
                .is_ok()
                || shown;
            if wait.recv_timeout(TICK) != Err(mpsc::RecvTimeoutError::Timeout) {
                break;
            }
        }
        if shown {
            // Erase the line: the step is over and its output follows.
            let _ = write!(out, "\r\x1b[K");
            let _ = out.flush();
        }
    });
    let result = step();
    let _ = done.send(());
    let _ = spinner.join();
    result
}

/// What a run saw, for the lines printed when it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Guest stops (probe and timer firings) and how long tracing ran; None without a guest.
    pub events: Option<(u64, Duration)>,
    /// Runtime errors (each was reported when it happened).
    pub errors: u64,
    /// `--pcap`: (file, packets written, packets that could not be read).
    pub capture: Option<(String, u64, u64)>,
}

impl RunSummary {
    /// The end-of-run lines: events seen and packets captured (not in quiet mode), then
    /// packets dropped and runtime errors (always).
    pub fn lines(&self, quiet: bool) -> Vec<String> {
        let s = |n: u64| if n == 1 { "" } else { "s" };
        let mut lines = Vec::new();
        if let (false, Some((events, elapsed))) = (quiet, self.events) {
            lines.push(format!(
                "guestrace: {events} event{} seen in {:.1} s",
                s(events),
                elapsed.as_secs_f64()
            ));
        }
        if !quiet {
            if let Some((file, n, _)) = &self.capture {
                lines.push(format!("guestrace: {n} packet{} written to {file}", s(*n)));
            }
        }
        if let Some((_, _, lost)) = self.capture.as_ref().filter(|c| c.2 > 0) {
            lines.push(format!(
                "guestrace: {lost} packet drop{} (unreadable in guest memory)",
                s(*lost)
            ));
        }
        if self.errors > 0 {
            lines.push(format!(
                "guestrace: {} error{} in predicates or actions",
                self.errors,
                s(self.errors)
            ));
        }
        lines
    }

    /// Prints [`RunSummary::lines`] on stderr.
    pub fn print(&self) {
        for l in self.lines(quiet()) {
            eprintln!("{l}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text(s: &Shared) -> String {
        String::from_utf8_lossy(&s.0.lock().map(|v| v.clone()).unwrap_or_default()).into_owned()
    }

    #[test]
    fn a_quick_step_prints_nothing() {
        let out = Shared::default();
        let v = during_on(
            "indexing",
            Duration::from_millis(500),
            Box::new(out.clone()),
            || 7,
        );
        assert_eq!(v, 7);
        assert_eq!(text(&out), "");
    }

    #[test]
    fn a_slow_step_shows_a_line_and_erases_it() {
        let out = Shared::default();
        during_on(
            "enabling probes",
            Duration::from_millis(20),
            Box::new(out.clone()),
            || std::thread::sleep(Duration::from_millis(300)),
        );
        let t = text(&out);
        assert!(t.starts_with("\rguestrace: enabling probes |"), "{t:?}");
        assert!(t.ends_with("\r\x1b[K"), "{t:?}");
    }

    #[test]
    fn the_summary_names_events_drops_and_errors() {
        let s = RunSummary {
            events: Some((1, Duration::from_millis(1500))),
            errors: 2,
            capture: Some(("x.pcapng".into(), 40, 1)),
        };
        assert_eq!(
            s.lines(false),
            [
                "guestrace: 1 event seen in 1.5 s",
                "guestrace: 40 packets written to x.pcapng",
                "guestrace: 1 packet drop (unreadable in guest memory)",
                "guestrace: 2 errors in predicates or actions",
            ]
        );
        assert_eq!(s.lines(true).len(), 2);
        assert!(RunSummary::default().lines(false).is_empty());
        let host_only = RunSummary {
            errors: 1,
            ..RunSummary::default()
        };
        assert_eq!(
            host_only.lines(false),
            ["guestrace: 1 error in predicates or actions"]
        );
    }
}
