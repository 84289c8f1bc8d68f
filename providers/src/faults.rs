//! Runs that end abnormally: the guest going away mid-trace (QEMU exited, the gdbstub
//! connection closed), and a test hook that injects an internal error so tests can see the
//! guest restored on that path too.

use lang::Program;

use crate::error::Error;
use crate::output::WriterSink;

/// Environment variable read only by the reliability tests: fail the run with an internal
/// error once this many guest stops were handled.
const FAULT_AFTER: &str = "GUESTRACE_TEST_FAULT_AFTER";

/// The injected internal error, once `events` reaches [`FAULT_AFTER`] (never when unset).
pub(crate) fn injected(events: u64) -> Result<(), Error> {
    let at = std::env::var(FAULT_AFTER)
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    match at {
        Some(n) if events >= n => Err(Error::Internal(format!(
            "injected internal error after {events} guest stops ({FAULT_AFTER})"
        ))),
        _ => Ok(()),
    }
}

/// True when `e` means the guest (or the way to it) is gone.
fn is_lost(e: &Error) -> bool {
    matches!(
        e,
        Error::Target {
            source: introspect::Error::Closed
                | introspect::Error::Io(_)
                | introspect::Error::Exited(_),
            ..
        }
    )
}

/// When the guest went away mid-trace, prints what was collected (the aggregations; END is not
/// fired, since its clauses could only read a dead guest) and says so; other errors pass through.
pub(crate) fn print_if_lost(e: Error, program: &mut Program, out: &mut WriterSink) -> Error {
    if !is_lost(&e) {
        return e;
    }
    program.end_without_probe(&mut lang::HostContext::default(), out);
    out.flush();
    let Error::Target { source, .. } = e else {
        return e;
    };
    Error::target(
        "the guest went away mid-trace (QEMU exited or its gdbstub connection closed); the \
         aggregations collected so far were printed",
        source,
    )
}
