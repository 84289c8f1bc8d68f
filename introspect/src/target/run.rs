//! Resuming (emulated returns, host-side pushes, step-over, pipelined writes) and turning stop
//! replies into events.

use super::*;

impl Target {
    /// Resumes every vCPU, doing first what the last stop needs (emulated return, step-over,
    /// queued register writes, all pipelined with the resume last).
    pub fn resume(&mut self) -> Result<()> {
        self.check()?;
        let vcpu = self.stopped_vcpu_or_err()?;
        let mut resume = Resume::Continue;
        if let Pending::EmulateReturn { rewound } =
            std::mem::replace(&mut self.pending, Pending::Nothing)
        {
            match self.return_gadget.filter(|&g| !self.table.is_planted(g)) {
                // The vCPU runs a `ret` itself: one packet, and no register write unless the
                // push must be undone first. (Queued here, not at the stop: restoring drops
                // writes queued before it.)
                Some(gadget) => {
                    if rewound {
                        let sp = self.registers()?.rsp();
                        self.set_known(RegId::Rsp, sp)?;
                    }
                    resume = Resume::ContinueAt(gadget);
                }
                None => {
                    let sp = self.registers()?.rsp();
                    let ret = self.read_u64(sp)?;
                    self.set_known(RegId::Rip, ret)?;
                    self.set_known(RegId::Rsp, sp.wrapping_add(8))?;
                }
            }
        }
        for (ty, addr) in std::mem::take(&mut self.unplant_on_resume) {
            if self.table.release(ty, addr) {
                self.rsp.queue_breakpoint_change(false, ty, addr);
                self.undo.forget_breakpoint(ty, addr)?;
            }
        }
        let rip = self.regs.as_ref().map(|r| r.rip());
        if let Some(rip) = rip.filter(|&r| resume == Resume::Continue && self.table.is_planted(r)) {
            if !self.emulate_push(rip)? {
                self.queue_register_writes(vcpu);
                self.step_over(vcpu, rip)?;
            }
        }
        self.queue_register_writes(vcpu);
        self.rsp.resume(resume)?;
        self.mark_running();
        Ok(())
    }

    /// Executes the `push` at an entry breakpoint host-side: the stack write and the RSP/RIP
    /// updates go out with the resume. False if the breakpoint's instruction is not a push
    /// (or the stack slot cannot be written), so the caller single-steps instead.
    fn emulate_push(&mut self, rip: u64) -> Result<bool> {
        let Some(push) = self
            .table
            .at(rip)
            .filter(|b| b.kind == Kind::Entry)
            .and_then(|b| b.push)
        else {
            return Ok(false);
        };
        let Some(regs) = self.regs.as_ref() else {
            return Ok(false);
        };
        let (Some(value), sp) = (regs.get(push.reg), regs.rsp()) else {
            return Ok(false);
        };
        let slot = sp.wrapping_sub(8);
        let bytes = value.to_le_bytes();
        // `M` translates through the selected vCPU's page tables: make it the stopped one.
        let vcpu = self.stopped_vcpu_or_err()?;
        self.rsp.queue_select_thread(vcpu);
        if self.slot_is_mapped(slot) {
            self.rsp.queue_memory_write(slot, &bytes);
        } else if self.rsp.write_memory(slot, &bytes).is_err() {
            return Ok(false);
        }
        self.set_known(RegId::Rsp, slot)?;
        self.set_known(RegId::Rip, rip.wrapping_add(push.len))?;
        Ok(true)
    }

    fn queue_register_writes(&mut self, vcpu: u32) {
        if self.reg_writes.is_empty() {
            return;
        }
        self.rsp.queue_select_thread(vcpu);
        for (regnum, value) in std::mem::take(&mut self.reg_writes) {
            let size = self
                .layout
                .registers()
                .iter()
                .find(|r| r.regnum == regnum)
                .map_or(8, |r| r.size);
            let bytes = value.to_le_bytes();
            self.rsp.queue_register_write(regnum, &bytes[..size.min(8)]);
        }
    }

    fn mark_running(&mut self) {
        self.stopped = None;
        self.regs = None;
        self.tlb.clear();
    }

    /// Single-steps `vcpu` off the breakpoint at `rip`, verifying it moved (QEMU sometimes
    /// reports a step that executed nothing).
    fn step_over(&mut self, vcpu: u32, rip: u64) -> Result<()> {
        let remove = self.step_over == StepOver::RemoveAndReinsert;
        let types = if remove {
            self.table.planted_types(rip)
        } else {
            Vec::new()
        };
        for &ty in &types {
            self.rsp.queue_breakpoint_change(false, ty, rip);
        }
        let rip_num = self
            .layout
            .known(RegId::Rip)
            .map(|r| r.regnum)
            .unwrap_or(16);
        let mut tries = 0;
        loop {
            self.rsp.resume(Resume::Step(vcpu))?;
            let deadline = Some(Instant::now() + self.rsp.timeout());
            let Some(StopReply::Signal { .. }) = self.rsp.wait_stop(deadline, false)? else {
                return Err(Error::Exited("during a single-step".into()));
            };
            self.rsp.select_thread(vcpu)?;
            let now = self.rsp.read_register(rip_num)?;
            let mut b = [0u8; 8];
            b[..now.len().min(8)].copy_from_slice(&now[..now.len().min(8)]);
            if u64::from_le_bytes(b) != rip {
                break;
            }
            self.stats.spurious_steps += 1;
            tries += 1;
            if tries > self.opts.step_retries {
                return Err(Error::Breakpoint {
                    addr: rip,
                    reason: format!("single-step made no progress {tries} times"),
                });
            }
        }
        for &ty in &types {
            self.rsp.queue_breakpoint_change(true, ty, rip);
        }
        Ok(())
    }

    /// Waits for the next stop worth reporting. `timeout` None waits until a breakpoint, an
    /// interrupt or a cleanup; on time-out the VM is interrupted ([`Event::Interrupted`]).
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Stop> {
        match self.wait_inner(timeout, true)? {
            Some(stop) => Ok(stop),
            None => Err(Error::State("wait ended without a stop")),
        }
    }

    /// Like [`Target::wait`], but a time-out leaves the VM running and returns None (wait
    /// again, or [`Target::interrupt`] it).
    pub fn wait_for(&mut self, timeout: Option<Duration>) -> Result<Option<Stop>> {
        self.wait_inner(timeout, false)
    }

    fn wait_inner(&mut self, timeout: Option<Duration>, stop_at_end: bool) -> Result<Option<Stop>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let (mut silent, mut last_silent) = (0u32, None);
        loop {
            if self.stopped.is_some() {
                return Err(Error::State("stopped; resume first"));
            }
            let reply = match self.rsp.wait_stop(deadline, true) {
                Ok(Some(s)) => s,
                Ok(None) => {
                    if self.rsp.wake().cleanup.load(Ordering::SeqCst) {
                        let _ = self.restore();
                        return Err(Error::Cancelled);
                    }
                    self.rsp.wake().interrupt.store(false, Ordering::SeqCst);
                    self.interrupt_sent = true;
                    self.stats.interrupts += 1;
                    self.rsp.interrupt()?
                }
                Err(Error::Timeout { .. }) if deadline.is_some_and(|d| Instant::now() >= d) => {
                    if !stop_at_end {
                        return Ok(None);
                    }
                    self.interrupt_sent = true;
                    self.stats.interrupts += 1;
                    self.rsp.interrupt()?
                }
                Err(e) => return Err(e),
            };
            if let Some(stop) = self.classify(reply)? {
                self.stats.events += 1;
                return Ok(Some(stop));
            }
            // The same vCPU stopping at the same place again and again for nothing of ours is
            // a loop (e.g. a breakpoint another debugger left): report it rather than spin.
            // Foreign returns and queued hits move on, so they never repeat like this.
            let here = (self.stopped, self.regs.as_ref().map_or(0, |r| r.rip()));
            silent = if last_silent == Some(here) {
                silent + 1
            } else {
                1
            };
            last_silent = Some(here);
            if silent > MAX_SILENT_STOPS {
                return Err(Error::Breakpoint {
                    addr: here.1,
                    reason: format!(
                        "the VM stopped here {silent} times in a row for no breakpoint of ours"
                    ),
                });
            }
            self.resume()?;
        }
    }

    /// [`Target::resume`] then [`Target::wait`]: one event.
    pub fn resume_and_wait(&mut self, timeout: Option<Duration>) -> Result<Stop> {
        self.resume()?;
        self.wait(timeout)
    }

    /// Stops the running VM now (same thread).
    pub fn interrupt(&mut self) -> Result<Stop> {
        self.check()?;
        if self.stopped.is_some() {
            return Err(Error::State("already stopped"));
        }
        self.interrupt_sent = true;
        self.stats.interrupts += 1;
        let s = self.rsp.interrupt()?;
        match self.classify(s)? {
            Some(stop) => Ok(stop),
            None => Ok(Stop {
                vcpu: self.stopped.unwrap_or(1),
                event: Event::Interrupted,
            }),
        }
    }

    /// Turns a stop reply into an event, or None for a stop the caller must not see.
    pub(super) fn classify(&mut self, reply: StopReply) -> Result<Option<Stop>> {
        let (signal, thread, watch) = match reply {
            StopReply::Exited(s) => {
                self.finished = true;
                return Err(Error::Exited(s));
            }
            StopReply::Signal {
                signal,
                thread,
                watch,
            } => {
                if watch.is_some() {
                    self.stats.watch_stops += 1;
                }
                (signal, thread, watch)
            }
        };
        let vcpu = thread.or(self.rsp.last_stop_thread()).unwrap_or(1);
        self.stopped = Some(vcpu);
        self.pending = Pending::Nothing;
        self.load_registers(vcpu)?;
        let (rip, sp) = match &self.regs {
            Some(r) => (r.rip(), r.rsp()),
            None => return Err(Error::State("registers unavailable")),
        };
        let interrupted = std::mem::take(&mut self.interrupt_sent);
        if let Some(call) = self.table.take_return(rip, sp) {
            // One reference per caught call; the `z` goes out when the last one is gone.
            self.unplant_on_resume.push((call.ty, rip));
            let event = Event::Return {
                call: call.id,
                entry: call.entry,
                tag: call.tag,
            };
            return Ok(Some(Stop { vcpu, event }));
        }
        // Just past a watched function's first push: a call the watch missed, caught by the
        // safety net, or a watch stop QEMU delivered one instruction late (seen when the
        // call's target page holds a breakpoint). Undo the push (the pushed register is
        // unchanged, so only RSP moves back) and report it as the entry's event, so the caller
        // sees the registers it would have seen there.
        let (rewound, rip) = match self.table.by_net(rip).map(|b| b.addr) {
            Some(entry) => {
                if watch.is_none() {
                    self.stats.net_hits += 1;
                }
                // The cached registers only: the resume writes what the return needs.
                if let Some(r) = self.regs.as_mut() {
                    r.set_known(RegId::Rsp, sp.wrapping_add(8));
                    r.set_known(RegId::Rip, entry);
                }
                (true, entry)
            }
            None => (false, rip),
        };
        // Any stop with RIP at one of our breakpoints is that breakpoint's event: its
        // instruction has not run yet, and the resume runs past it. That includes a read
        // watchpoint stop just after `call *pointer` (or `jmp *pointer`) into the function the
        // pointer serves: x86 TCG stops after the accessing instruction, so the return address
        // is pushed and RIP is the callee's entry, exactly as at the breakpoint (and QEMU
        // skips its translation-cache flush for this stop). The return is emulated from here.
        // A watch stop elsewhere (a load of the pointer) falls through to the spurious case,
        // and the safety net catches the call.
        if let Some(bp) = self.table.at(rip) {
            let (id, kind) = (bp.id, bp.kind);
            if watch.is_some() && bp.pointer == watch {
                self.stats.watch_events += 1;
            }
            if kind == Kind::EmulatedReturn {
                self.pending = Pending::EmulateReturn { rewound };
            }
            return Ok(Some(Stop {
                vcpu,
                event: Event::Breakpoint {
                    id,
                    kind,
                    addr: rip,
                },
            }));
        }
        if interrupted {
            return Ok(Some(Stop {
                vcpu,
                event: Event::Interrupted,
            }));
        }
        if self.table.returns.contains_key(&rip) {
            self.stats.foreign_returns += 1;
            return Ok(None);
        }
        if signal == 2 || signal == 5 {
            // A stop we did not ask for: a stray byte reached the stub while the VM ran (2),
            // or a vCPU's breakpoint hit that QEMU queued while stopping the VM for another
            // and delivers on the next resume, after the breakpoint may have gone (5).
            self.stats.spurious_stops += 1;
            return Ok(None);
        }
        Ok(Some(Stop {
            vcpu,
            event: Event::Other { signal },
        }))
    }
}
