//! profile:::tick-N and profile-N: when each is due next, on the host's monotonic clock.

use std::time::{Duration, Instant};

use lang::{EnabledProbe, ProbeKind};

/// One periodic probe.
#[derive(Debug, Clone)]
pub(crate) struct Timer {
    /// The probe id to fire.
    pub probe: u32,
    /// tick (one CPU) or profile (every vCPU).
    pub every_cpu: bool,
    period: Duration,
    next: Instant,
}

/// Every periodic probe of a program.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timers {
    timers: Vec<Timer>,
}

impl Timers {
    /// The tick and profile probes among `enabled`, first due one period from now.
    pub(crate) fn new(enabled: &[EnabledProbe]) -> Timers {
        let now = Instant::now();
        let timers = enabled
            .iter()
            .filter_map(|p| {
                let (ns, every_cpu) = match p.kind {
                    ProbeKind::Tick { period_ns } => (period_ns, false),
                    ProbeKind::Profile { period_ns } => (period_ns, true),
                    _ => return None,
                };
                let period = Duration::from_nanos(ns.max(1));
                Some(Timer {
                    probe: p.info.id,
                    every_cpu,
                    period,
                    next: now + period,
                })
            })
            .collect();
        Timers { timers }
    }

    /// True when there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.timers.is_empty()
    }

    /// Time until the earliest is due (zero if overdue), None without timers.
    pub(crate) fn until_next(&self) -> Option<Duration> {
        let now = Instant::now();
        self.timers
            .iter()
            .map(|t| t.next.saturating_duration_since(now))
            .min()
    }

    /// The timers due now, each advanced by whole periods (a late tick fires once, as a
    /// cyclic that missed its slot does, rather than in a burst).
    pub(crate) fn take_due(&mut self) -> Vec<Timer> {
        let now = Instant::now();
        let mut due = Vec::new();
        for t in &mut self.timers {
            if t.next <= now {
                due.push(t.clone());
                while t.next <= now {
                    t.next += t.period;
                }
            }
        }
        due
    }
}
