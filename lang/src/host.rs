//! Running a program with no guest: BEGIN, then `tick-N`/`profile-N` at their real rates on the
//! host's clock until `exit()` or a stop request (Ctrl-C), then END and the end-of-run output.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::context::{HostContext, OutputSink};
use crate::probes::{ProbeKind, BEGIN_ID};
use crate::program::{Flow, Program};

/// How often a run with nothing to fire looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(20);

/// Runs `program` on the host as dtrace runs a script with only dtrace and profile probes;
/// returns the exit status (exit()'s, or 0 when stopped). `stop` is set by a Ctrl-C handler.
pub fn run_without_guest(
    program: &mut Program,
    out: &mut dyn OutputSink,
    stop: &AtomicBool,
) -> i32 {
    let mut ctx = HostContext::default();
    let mut flow = program.fire(BEGIN_ID, &mut ctx, out);
    let ticks: Vec<(u32, Duration)> = program
        .enabled_probes()
        .iter()
        .filter_map(|p| match p.kind {
            ProbeKind::Tick { period_ns } | ProbeKind::Profile { period_ns } => {
                Some((p.info.id, Duration::from_nanos(period_ns)))
            }
            _ => None,
        })
        .collect();
    let start = Instant::now();
    let mut due: Vec<Instant> = ticks.iter().map(|(_, period)| start + *period).collect();
    while flow == Flow::Continue && !stop.load(Ordering::Relaxed) {
        let Some((i, &when)) = due.iter().enumerate().min_by_key(|(_, t)| **t) else {
            std::thread::sleep(STOP_POLL);
            continue;
        };
        let now = Instant::now();
        if when > now {
            std::thread::sleep((when - now).min(STOP_POLL));
            continue;
        }
        due[i] = when + ticks[i].1;
        flow = program.fire(ticks[i].0, &mut ctx, out);
    }
    program.end(&mut ctx, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::BufferSink;
    use crate::error::Source;
    use crate::{compile, CompileOptions, NoProbes, NoTypes};

    fn program(text: &str) -> Program {
        match compile(
            &[Source::script("t.d", text)],
            &NoProbes,
            &NoTypes,
            &CompileOptions::default(),
        ) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn ticks_fire_until_exit_then_end_runs() {
        let mut p = program("#pragma D option quiet\ntick-1ms /++n == 3/ { exit(4); }\ntick-1ms { printf(\"t\"); }\nEND { printf(\"end %d\\n\", n); }");
        let mut sink = BufferSink::default();
        let status = run_without_guest(&mut p, &mut sink, &AtomicBool::new(false));
        assert_eq!(status, 4);
        assert_eq!(String::from_utf8_lossy(&sink.out), "ttend 3\n\n");
    }

    #[test]
    fn a_stop_request_ends_the_run_like_ctrl_c() {
        let mut p =
            program("#pragma D option quiet\nBEGIN { @c = count(); }\nEND { printf(\"end\\n\"); }");
        let mut sink = BufferSink::default();
        let status = run_without_guest(&mut p, &mut sink, &AtomicBool::new(true));
        assert_eq!(status, 0);
        assert_eq!(
            String::from_utf8_lossy(&sink.out),
            "end\n\n                1\n"
        );
    }
}
