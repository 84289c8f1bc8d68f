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
        if self.finished {
            return Ok(UndoReport::default());
        }
        self.finished = true;
        if self.stopped.is_none() {
            let s = self.rsp.interrupt()?;
            if let StopReply::Signal { thread, .. } = s {
                self.stopped = thread.or(self.rsp.last_stop_thread());
            }
            self.regs = None;
        }
        // Pending register writes are dropped; a vCPU left at an emulated-return function
        // returns from it as part of the undo (its `ReturnAt` change).
        self.reg_writes.clear();
        let report = self.undo.undo_all(&mut self.rsp);
        // `D` removes every breakpoint on every vCPU (see `reattach`); then make sure the VM
        // really runs: a hit QEMU queued while stopping would stop it again with nobody there.
        let mut rsp = reattach_in_place(&mut self.rsp, &self.addr, &self.opts)?;
        let r = keep_running(&mut rsp);
        rsp.close();
        r.map(|()| report)
    }
}

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
