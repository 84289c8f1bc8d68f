//! Leaving the guest as it was found: undo, finish pending emulated returns, clear every
//! breakpoint with `D`, and make sure the VM runs.

use super::*;

impl Target {
    /// Undoes every change and leaves the VM running; the connection is closed.
    pub fn detach(mut self) -> Result<UndoReport> {
        self.restore()
    }

    /// Stops the VM if needed, finishes a pending emulated return (so a function whose body
    /// must not run does not), removes breakpoints, restores memory, resumes with `D`.
    pub(super) fn restore(&mut self) -> Result<UndoReport> {
        if self.finished || self.restoring {
            return Ok(UndoReport::default());
        }
        self.restoring = true;
        let r = match self.restore_inner() {
            Err(e) if matches!(e, Error::Closed | Error::Io(_)) => self.restore_anew(e),
            r => r,
        };
        self.restoring = false;
        self.finished = true;
        r
    }

    fn restore_inner(&mut self) -> Result<UndoReport> {
        if self.stopped.is_none() {
            self.interrupt_sent = true;
            let s = self.rsp.interrupt()?;
            self.classify(s)?;
        }
        // Pending register writes are dropped; a vCPU left at an emulated-return function
        // returns from it as part of the undo (its `ReturnAt` change).
        self.reg_writes.clear();
        // Data first (e.g. probe ids back to 0), so no new call starts; then run a moment
        // with the breakpoints still in place, so a vCPU already past the probe's check but
        // not yet at the call is caught, not let into the function's body.
        let mut report = self.undo.undo_writes(&mut self.rsp)?;
        self.drain(DRAIN)?;
        report.merge(self.undo.undo_all(&mut self.rsp));
        // `D` removes every breakpoint on every vCPU (see `reattach`); then make sure the VM
        // really runs: a hit QEMU queued while stopping would stop it again with nobody there.
        let mut rsp = reattach_in_place(&mut self.rsp, &self.addr, &self.opts)?;
        let r = keep_running(&mut rsp);
        rsp.close();
        r.map(|()| report)
    }

    /// The connection was lost before the guest was restored: a new one replays the journal,
    /// as the next tracer would, so a dropped connection still leaves the guest as found and
    /// running. When QEMU itself is gone the connect fails at once and `lost` is returned.
    fn restore_anew(&mut self, lost: Error) -> Result<UndoReport> {
        if self.opts.journal == Journal::Off || self.undo.changes().is_empty() {
            return Err(lost);
        }
        let Ok(fresh) = Target::connect(&self.addr, self.opts.clone()) else {
            return Err(lost);
        };
        let report = fresh.recovered().cloned().unwrap_or_default();
        fresh.detach()?;
        Ok(report)
    }

    /// Lets the guest run for `span` with every breakpoint still handled as usual; ends
    /// stopped.
    fn drain(&mut self, span: Duration) -> Result<()> {
        let end = Instant::now() + span;
        for _ in 0..MAX_DRAIN_STOPS {
            self.resume()?;
            let reply = match self.rsp.wait_stop(Some(end), false) {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(Error::Timeout { .. }) => {
                    self.interrupt_sent = true;
                    let s = self.rsp.interrupt()?;
                    self.classify(s)?;
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            self.classify(reply)?;
            if Instant::now() >= end {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// How long in-flight calls get to reach a breakpoint on detach.
const DRAIN: Duration = Duration::from_millis(30);
/// Stops handled while draining before giving up on it.
const MAX_DRAIN_STOPS: u32 = 256;

impl Drop for Target {
    fn drop(&mut self) {
        // Best effort with short time-outs: a dead stub must not hang the tracer's exit.
        self.rsp
            .set_timeout(self.rsp.timeout().min(Duration::from_secs(2)));
        let _ = self.restore();
    }
}

/// Sends `D` (QEMU drops every gdb breakpoint on every vCPU and resumes), hangs up, and
/// connects again; QEMU stops the VM for the new connection.
pub(super) fn reattach(mut rsp: Rsp, addr: &str, opts: &Options) -> Result<Rsp> {
    reattach_in_place(&mut rsp, addr, opts)
}

fn reattach_in_place(rsp: &mut Rsp, addr: &str, opts: &Options) -> Result<Rsp> {
    rsp.detach()?;
    rsp.close();
    Rsp::connect(addr, opts.timeout, opts.acks_while_stopped)
}

/// Continues until the VM runs for a while without stopping: each immediate stop is a hit
/// QEMU queued before the breakpoints were removed.
fn keep_running(rsp: &mut Rsp) -> Result<()> {
    for _ in 0..16 {
        rsp.resume(Resume::Continue)?;
        let settle = Some(Instant::now() + Duration::from_millis(50));
        match rsp.wait_stop(settle, false) {
            Err(Error::Timeout { .. }) => return Ok(()),
            Ok(_) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::State("stopping again on every resume after detach"))
}
