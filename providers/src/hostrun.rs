//! Programs that use only dtrace:::BEGIN/END/ERROR and profile probes: no guest, no QEMU.
//! Ticks fire at their real rates on the host clock; exit() or a signal ends the run.

use std::time::Duration;

use lang::{Flow, HostContext, Program, BEGIN_ID};

use crate::output::WriterSink;
use crate::signals;
use crate::timers::Timers;

/// A signal is noticed within this long while the run sleeps between ticks.
const POLL: Duration = Duration::from_millis(20);

/// Runs `program` with no guest; returns the exit status (exit()'s, or 0).
pub fn run_without_guest(program: &mut Program, out: &mut WriterSink) -> i32 {
    let mut ctx = HostContext::default();
    let mut flow = program.fire(BEGIN_ID, &mut ctx, out);
    out.flush();
    let mut timers = Timers::new(program.enabled_probes());
    while flow == Flow::Continue && !signals::stop_requested() {
        let Some(wait) = timers.until_next() else {
            // Nothing will ever fire: wait for a signal, as dtrace does.
            std::thread::sleep(POLL);
            continue;
        };
        if !wait.is_zero() {
            std::thread::sleep(wait.min(POLL));
            continue;
        }
        for t in timers.take_due() {
            ctx.cpu = 0;
            ctx.args = [0; 10];
            flow = program.fire(t.probe, &mut ctx, out);
            if flow != Flow::Continue {
                break;
            }
        }
        out.flush();
    }
    let status = program.end(&mut ctx, out);
    out.flush();
    status
}
