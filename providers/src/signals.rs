//! SIGINT, SIGTERM, SIGHUP and SIGPIPE end a run the way ^C ends dtrace's: END fires, the
//! aggregations print, and the guest is restored. A second signal restores the guest at once.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use introspect::{Cleanup, Interrupter};

static SIGNALS: AtomicU32 = AtomicU32::new(0);
static INTERRUPTER: OnceLock<Interrupter> = OnceLock::new();
static CLEANUP: OnceLock<Cleanup> = OnceLock::new();

extern "C" fn on_signal(_sig: libc::c_int) {
    // Only atomics and the introspect handles' async-signal-safe calls in here.
    let n = SIGNALS.fetch_add(1, Ordering::SeqCst);
    if n == 0 {
        if let Some(i) = INTERRUPTER.get() {
            i.interrupt();
        }
    } else if let Some(c) = CLEANUP.get() {
        c.trigger();
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

/// Asks the run to end as a signal would (used when output can no longer be written).
pub fn request_stop() {
    on_signal(0);
}
