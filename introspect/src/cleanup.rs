//! Handles another thread or a signal handler can use to stop a wait or end tracing.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::conn::Wake;

/// Ends tracing from anywhere: the next time the [`crate::Target`] runs (or at once if it is
/// waiting for the VM) it undoes every change, leaves the VM running and returns
/// [`crate::Error::Cancelled`].
#[derive(Debug, Clone)]
pub struct Cleanup {
    pub(crate) wake: Arc<Wake>,
}

impl Cleanup {
    /// Async-signal-safe (an atomic store and one write(2)): may be called from a handler.
    pub fn trigger(&self) {
        self.wake.cleanup.store(true, Ordering::SeqCst);
        self.wake.poke();
    }

    /// True once triggered.
    pub fn is_triggered(&self) -> bool {
        self.wake.cleanup.load(Ordering::SeqCst)
    }
}

/// Stops the VM from another thread: a waiting [`crate::Target::wait`] returns
/// [`crate::Event::Interrupted`].
#[derive(Debug, Clone)]
pub struct Interrupter {
    pub(crate) wake: Arc<Wake>,
}

impl Interrupter {
    /// Async-signal-safe, like [`Cleanup::trigger`].
    pub fn interrupt(&self) {
        self.wake.interrupt.store(true, Ordering::SeqCst);
        self.wake.poke();
    }
}
