//! SIGINT, SIGTERM, SIGHUP and SIGPIPE end a run the way ^C ends dtrace's: END fires, the
//! aggregations print, and the guest is restored. A second signal restores the guest at once.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;

use introspect::{Cleanup, Interrupter};

static SIGNALS: AtomicU32 = AtomicU32::new(0);
/// When the first signal came (CLOCK_MONOTONIC, ms).
static FIRST_MS: AtomicU64 = AtomicU64::new(0);
/// A second signal restores the guest at once only if it comes this long after the first
/// (`timeout(1)` and process-group kills deliver the same signal twice in a row).
const ESCALATE_AFTER_MS: u64 = 1000;

/// CLOCK_MONOTONIC in milliseconds; async-signal-safe.
fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime is async-signal-safe and writes only to `ts`.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000
}
static INTERRUPTER: OnceLock<Interrupter> = OnceLock::new();
static CLEANUP: OnceLock<Cleanup> = OnceLock::new();

extern "C" fn on_signal(sig: libc::c_int) {
    // Only atomics and the introspect handles' async-signal-safe calls in here.
    if sig == libc::SIGPIPE {
        request_stop();
        return;
    }
    let n = SIGNALS.fetch_add(1, Ordering::SeqCst);
    let now = monotonic_ms();
    if n == 0 {
        FIRST_MS.store(now, Ordering::SeqCst);
        if let Some(i) = INTERRUPTER.get() {
            i.interrupt();
        }
    } else if now.saturating_sub(FIRST_MS.load(Ordering::SeqCst)) >= ESCALATE_AFTER_MS {
        if let Some(c) = CLEANUP.get() {
            c.trigger();
        }
    }
}

/// Installs the handlers (once per process).
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
        // SAFETY: a zeroed sigaction with a plain handler is valid; the handler only touches
        // atomics and async-signal-safe calls.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Lets a signal wake the tracer out of a wait on the guest.
pub fn register(interrupter: Interrupter, cleanup: Cleanup) {
    let _ = INTERRUPTER.set(interrupter);
    let _ = CLEANUP.set(cleanup);
}

/// True once a signal (or a broken output pipe) asked the run to end.
pub fn stop_requested() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// Asks the run to end as a first signal would (a broken pipe: the reader went away). Never
/// escalates to an immediate restore, however often it is called.
pub fn request_stop() {
    if SIGNALS
        .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        FIRST_MS.store(monotonic_ms(), Ordering::SeqCst);
        if let Some(i) = INTERRUPTER.get() {
            i.interrupt();
        }
    }
}
