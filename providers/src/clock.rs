//! Guest-visible time: host monotonic time since attach, minus every interval guestrace held
//! the guest stopped (from the stop reply to the resume), so `timestamp` deltas measure what
//! the guest itself lived through.

use std::time::{Duration, Instant};

/// The clock behind `timestamp` and `vtimestamp`.
#[derive(Debug, Clone)]
pub(crate) struct GuestClock {
    start: Instant,
    held: Duration,
    stopped_at: Option<Instant>,
}

impl GuestClock {
    /// Starts counting now, with the guest stopped (as it is right after attach).
    pub(crate) fn new() -> GuestClock {
        let now = Instant::now();
        GuestClock {
            start: now,
            held: Duration::ZERO,
            stopped_at: Some(now),
        }
    }

    /// The guest just stopped.
    pub(crate) fn stopped(&mut self) {
        if self.stopped_at.is_none() {
            self.stopped_at = Some(Instant::now());
        }
    }

    /// The guest stopped at `at` (a moment already past).
    pub(crate) fn stopped_at(&mut self, at: Instant) {
        if self.stopped_at.is_none() {
            self.stopped_at = Some(at);
        }
    }

    /// The guest is about to run again.
    pub(crate) fn resumed(&mut self) {
        if let Some(t) = self.stopped_at.take() {
            self.held += t.elapsed();
        }
    }

    /// Total time the guest was held stopped so far.
    pub(crate) fn held(&self) -> Duration {
        self.held + self.stopped_at.map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// Time since the clock started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Nanoseconds of guest-visible time: frozen at the moment of the current stop.
    pub(crate) fn now_ns(&self) -> u64 {
        let at = self.stopped_at.unwrap_or_else(Instant::now);
        at.duration_since(self.start)
            .saturating_sub(self.held)
            .as_nanos() as u64
    }
}

/// Nanoseconds since the Unix epoch on the host (`walltimestamp`).
pub(crate) fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_held_stopped_is_not_counted() {
        let mut c = GuestClock::new();
        std::thread::sleep(Duration::from_millis(30));
        c.resumed();
        std::thread::sleep(Duration::from_millis(20));
        c.stopped();
        let t = c.now_ns();
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(c.now_ns(), t, "frozen while stopped");
        c.resumed();
        assert!((20_000_000..29_000_000).contains(&t), "ran ~20 ms, got {t}");
    }
}
