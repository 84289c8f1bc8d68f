//! The high-level handle on one VM: connect, stop/resume, breakpoints of three kinds,
//! registers, guest memory, and restoring everything when done.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::breakpoints::{BpId, Breakpoint, CallId, Kind, PendingCall, Table};
use crate::cleanup::{Cleanup, Interrupter};
use crate::error::{Error, MemError, Result};
use crate::paging::{TranslationCache, Walk};
use crate::regs::Registers;
use crate::rsp::{BpType, Resume, Rsp};
use crate::shared_ram::SharedRam;
use crate::stop::StopReply;
use crate::tdesc::{RegId, RegLayout};
use crate::undo::{load_journal, remove_journal, Change, UndoLog, UndoReport};

/// Where the undo journal lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Journal {
    /// A file in the temp directory derived from the stub address, so the next connection to
    /// the same VM finds it.
    Auto,
    /// This file.
    At(PathBuf),
    /// No journal (changes are still undone on detach, drop and cancel).
    Off,
}

/// How to run past an entry or return breakpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOver {
    /// Ask QEMU (`info kvm`): keep inserted under TCG, remove and reinsert under KVM.
    Auto,
    /// Single-step with the breakpoint left in place (TCG lets a step pass a breakpoint).
    KeepInserted,
    /// `z`, step, `Z` (hardware breakpoints under KVM re-trigger on the step otherwise).
    RemoveAndReinsert,
}

/// Connection options.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time-out for one request/reply exchange with the stub.
    pub timeout: Duration,
    /// QEMU's shared RAM file (`memory-backend-file,share=on`), for packet-free reads.
    pub ram_file: Option<PathBuf>,
    /// Undo journal placement.
    pub journal: Journal,
    /// Step-over strategy.
    pub step_over: StepOver,
    /// Breakpoint type for new breakpoints (Z0 or Z1).
    pub breakpoint_type: BpType,
    /// Acknowledge packets with `+` while the VM is stopped (never while it runs). QEMU does
    /// not need acks; off by default.
    pub acks_while_stopped: bool,
    /// How often a single-step that made no progress is retried before giving up.
    pub step_retries: u32,
    /// Run past an entry breakpoint whose first instruction is `push %reg` by doing the push
    /// host-side (one stop per event) instead of single-stepping (two stops).
    pub emulate_push: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(3),
            ram_file: None,
            journal: Journal::Auto,
            step_over: StepOver::Auto,
            breakpoint_type: BpType::Software,
            acks_while_stopped: false,
            step_retries: 16,
            emulate_push: true,
        }
    }
}

/// Why the VM stopped, as reported to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// One of the caller's breakpoints.
    Breakpoint {
        /// Which.
        id: BpId,
        /// What it does on resume.
        kind: Kind,
        /// Its address.
        addr: u64,
    },
    /// A call caught with [`Target::catch_return`] returned (RIP = the return address).
    Return {
        /// The catch.
        call: CallId,
        /// The entry breakpoint the call was caught at.
        entry: BpId,
        /// The tag given to `catch_return`.
        tag: u64,
    },
    /// Stopped by [`Target::interrupt`], an [`Interrupter`] or a wait time-out.
    Interrupted,
    /// Any other stop (signal number as the stub gave it).
    Other {
        /// GDB signal number.
        signal: u8,
    },
}

/// A stop: which vCPU and why. Registers are at [`Target::registers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    /// The vCPU (gdb thread id, 1-based) that stopped.
    pub vcpu: u32,
    /// Why.
    pub event: Event,
}

/// State of the shared-RAM fast path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RamStatus {
    /// No RAM file given: every read goes through the stub.
    NotConfigured,
    /// Reads come from the RAM file.
    Active,
    /// A RAM file was given but is not used; the reason is meant to be printed as a warning.
    Disabled(String),
}

/// Counters, for benchmarks and diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Stops reported to the caller.
    pub events: u64,
    /// Single-steps that returned without executing anything (retried).
    pub spurious_steps: u64,
    /// Stops that were not ours (stray-byte T02) and were resumed silently.
    pub spurious_stops: u64,
    /// Returns through a return breakpoint by calls nobody caught (stepped over silently).
    pub foreign_returns: u64,
    /// Stops reported by a read watchpoint (see [`Target::watch_pointer`]).
    pub watch_stops: u64,
    /// Reads served from the RAM file.
    pub ram_reads: u64,
    /// Reads served by `m`.
    pub stub_reads: u64,
}

/// Stops we resume without reporting (stray, queued or foreign) before suspecting a loop.
const MAX_SILENT_STOPS: u32 = 10_000;

/// What to do for the stopped vCPU on the next resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Nothing,
    EmulateReturn,
}

/// A connection to one VM's gdbstub.
pub struct Target {
    rsp: Rsp,
    addr: String,
    layout: Arc<RegLayout>,
    opts: Options,
    step_over: StepOver,
    threads: Vec<u32>,
    /// vCPU of the current stop; None while running.
    stopped: Option<u32>,
    regs: Option<Registers>,
    reg_writes: Vec<(usize, u64)>,
    pending: Pending,
    table: Table,
    unplant_on_resume: Vec<(BpType, u64)>,
    undo: UndoLog,
    ram: Option<SharedRam>,
    ram_status: RamStatus,
    tlb: TranslationCache,
    interrupt_sent: bool,
    finished: bool,
    recovered: Option<UndoReport>,
    stats: Stats,
}

impl Target {
    /// Connects to a stub at a unix socket path or `host:port` (prefixes `unix:`/`tcp:` force
    /// one), undoes whatever a previous tracer of this VM left behind (journal), and leaves
    /// the VM stopped, ready for breakpoints.
    pub fn connect(addr: &str, opts: Options) -> Result<Target> {
        let mut rsp = Rsp::connect(addr, opts.timeout, opts.acks_while_stopped)?;
        let layout = rsp.layout()?.clone();
        for (id, name) in [(RegId::Rip, "rip"), (RegId::Rsp, "rsp")] {
            if layout.known(id).is_none() {
                return Err(Error::NoSuchRegister(name.into()));
            }
        }
        let journal = match &opts.journal {
            Journal::Auto => Some(auto_journal_path(addr)),
            Journal::At(p) => Some(p.clone()),
            Journal::Off => None,
        };
        let mut recovered = None;
        if let Some(j) = &journal {
            if let Some(changes) = load_journal(j)? {
                // A tracer died without cleaning up. Undo its writes, then let `D` clear every
                // breakpoint QEMU holds (a `z` cannot reach a breakpoint one vCPU lost and
                // another kept), and start over on a fresh connection.
                recovered = Some(crate::undo::undo_changes(&mut rsp, &changes));
                rsp = reattach(rsp, addr, &opts)?;
                remove_journal(j);
            }
        }
        let stop = rsp.query_stop()?;
        let threads = rsp.threads()?;
        let vcpu = match stop {
            StopReply::Signal {
                thread: Some(t), ..
            } => t,
            StopReply::Signal { .. } => *threads.first().unwrap_or(&1),
            StopReply::Exited(s) => return Err(Error::Exited(s)),
        };
        let step_over = match opts.step_over {
            StepOver::Auto => match rsp.monitor("info kvm") {
                Ok(out) if out.contains("enabled") => StepOver::RemoveAndReinsert,
                _ => StepOver::KeepInserted,
            },
            s => s,
        };
        let mut t = Target {
            rsp,
            addr: addr.to_string(),
            layout,
            step_over,
            threads,
            stopped: Some(vcpu),
            regs: None,
            reg_writes: Vec::new(),
            pending: Pending::Nothing,
            table: Table::default(),
            unplant_on_resume: Vec::new(),
            undo: UndoLog::new(journal),
            ram: None,
            ram_status: RamStatus::NotConfigured,
            tlb: TranslationCache::default(),
            interrupt_sent: false,
            finished: false,
            recovered,
            stats: Stats::default(),
            opts,
        };
        t.load_registers(vcpu)?;
        if let Some(path) = t.opts.ram_file.clone() {
            t.ram_status = match SharedRam::open(&path) {
                Ok(ram) => {
                    t.ram = Some(ram);
                    t.verify_ram()
                }
                Err(e) => RamStatus::Disabled(format!(
                    "cannot map RAM file {}: {e}; reading guest memory through the gdbstub",
                    path.display()
                )),
            };
            if t.ram_status != RamStatus::Active {
                t.ram = None;
            }
        }
        Ok(t)
    }

    /// Checks that the RAM file holds this guest: walking the page tables in the file from
    /// CR3 must map RIP and RSP to the bytes `m` returns there.
    fn verify_ram(&mut self) -> RamStatus {
        let (Some(regs), Some(ram)) = (self.regs.clone(), self.ram.take()) else {
            return RamStatus::Disabled("no registers to verify the RAM file".into());
        };
        let status = self.compare_ram(&regs, &ram);
        self.ram = Some(ram);
        status
    }

    fn compare_ram(&mut self, regs: &Registers, ram: &SharedRam) -> RamStatus {
        let path = ram.path().display().to_string();
        let mismatch = |addr: u64| {
            RamStatus::Disabled(format!(
                "RAM file {path} does not hold this guest's memory (its page tables or bytes at \
                 {addr:#x} disagree with the gdbstub); reading guest memory through the gdbstub"
            ))
        };
        let Some(paging) = regs.paging() else {
            return RamStatus::Disabled("the stub reports no control registers".into());
        };
        let mut checked = 0;
        for addr in [regs.rip(), regs.rsp()] {
            let mut via_stub = [0u8; 64];
            if self.rsp.read_memory(addr, &mut via_stub).is_err() {
                continue;
            }
            let (phys, n) =
                match crate::paging::walk(&paging, addr, |pa| ram.read_u64(pa)) {
                    Ok(Walk::Mapped { phys, remaining }) => (phys, (remaining as usize).min(64)),
                    Ok(Walk::Unsupported) => return RamStatus::Disabled(
                        "the guest's paging mode is not walked here; reading through the gdbstub"
                            .into(),
                    ),
                    Err(_) => return mismatch(addr),
                };
            let mut via_ram = [0u8; 64];
            if ram.read(phys, &mut via_ram[..n]).is_err() || via_ram[..n] != via_stub[..n] {
                return mismatch(addr);
            }
            checked += 1;
        }
        if checked == 0 {
            return RamStatus::Disabled(
                "could not verify the RAM file against the gdbstub; not using it".into(),
            );
        }
        RamStatus::Active
    }

    /// What a previous tracer's journal made us undo at connect, if anything.
    pub fn recovered(&self) -> Option<&UndoReport> {
        self.recovered.as_ref()
    }

    /// State of the shared-RAM fast path (print `Disabled`'s reason as a warning).
    pub fn ram_status(&self) -> &RamStatus {
        &self.ram_status
    }

    /// The vCPUs (gdb thread ids, 1-based).
    pub fn vcpus(&self) -> &[u32] {
        &self.threads
    }

    /// The register layout from the stub's target description.
    pub fn layout(&self) -> &RegLayout {
        &self.layout
    }

    /// The step-over strategy in force.
    pub fn step_over_mode(&self) -> StepOver {
        self.step_over
    }

    /// Changes to the guest currently in force (what detach will undo), oldest first.
    pub fn changes(&self) -> &[Change] {
        self.undo.changes()
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The low-level protocol client (for benchmarks and tools; bypasses the undo log).
    pub fn rsp(&mut self) -> &mut Rsp {
        &mut self.rsp
    }

    /// A handle that ends tracing and restores the guest from another thread or a signal.
    pub fn cleanup_handle(&self) -> Cleanup {
        Cleanup {
            wake: self.rsp.wake().clone(),
        }
    }

    /// A handle that interrupts a waiting [`Target::wait`] from another thread or a signal.
    pub fn interrupter(&self) -> Interrupter {
        Interrupter {
            wake: self.rsp.wake().clone(),
        }
    }

    /// The vCPU of the current stop (None while running).
    pub fn stopped_vcpu(&self) -> Option<u32> {
        self.stopped
    }

    fn check(&mut self) -> Result<()> {
        if self.finished {
            return Err(Error::Cancelled);
        }
        if self.rsp.wake().cleanup.load(Ordering::SeqCst) {
            let _ = self.restore();
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    fn stopped_vcpu_or_err(&self) -> Result<u32> {
        self.stopped
            .ok_or(Error::State("running; wait for a stop first"))
    }

    fn load_registers(&mut self, vcpu: u32) -> Result<()> {
        self.rsp.select_thread(vcpu)?;
        let mut raw = Vec::with_capacity(self.layout.g_len());
        self.rsp.read_all_registers(&mut raw)?;
        self.regs = Some(Registers::new(self.layout.clone(), raw, vcpu));
        Ok(())
    }

    /// Registers of the stopped vCPU (read once per stop; includes queued writes).
    pub fn registers(&mut self) -> Result<&Registers> {
        self.check()?;
        let vcpu = self.stopped_vcpu_or_err()?;
        if self.regs.is_none() {
            self.load_registers(vcpu)?;
        }
        self.regs
            .as_ref()
            .ok_or(Error::State("registers unavailable"))
    }

    /// One register of the stopped vCPU by name.
    pub fn reg(&mut self, name: &str) -> Result<u64> {
        self.registers()?
            .get(name)
            .ok_or_else(|| Error::NoSuchRegister(name.into()))
    }

    /// Registers of any vCPU while stopped (one `Hg` + `g`).
    pub fn registers_of(&mut self, vcpu: u32) -> Result<Registers> {
        self.check()?;
        let stopped = self.stopped_vcpu_or_err()?;
        if vcpu == stopped {
            return self.registers().cloned();
        }
        self.rsp.select_thread(vcpu)?;
        let mut raw = Vec::new();
        self.rsp.read_all_registers(&mut raw)?;
        Ok(Registers::new(self.layout.clone(), raw, vcpu))
    }

    /// Sets a register of the stopped vCPU; sent in the same write as the next resume.
    pub fn set_register(&mut self, name: &str, value: u64) -> Result<()> {
        self.registers()?;
        let info = self
            .layout
            .find(name)
            .ok_or_else(|| Error::NoSuchRegister(name.into()))?;
        let regnum = info.regnum;
        if let Some(r) = self.regs.as_mut() {
            r.set(info, value);
        }
        self.reg_writes.retain(|&(n, _)| n != regnum);
        self.reg_writes.push((regnum, value));
        Ok(())
    }

    fn set_known(&mut self, id: RegId, value: u64) -> Result<()> {
        let name = self
            .layout
            .known(id)
            .map(|r| r.name.clone())
            .ok_or_else(|| Error::NoSuchRegister(format!("{id:?}")))?;
        self.set_register(&name, value)
    }

    /// Reads guest virtual memory as the stopped vCPU sees it: from the RAM file when
    /// available, else with `m` (chunked).
    pub fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.check().map_err(|e| failed(addr, e))?;
        if self.stopped.is_none() {
            return Err(failed(
                addr,
                Error::State("running; guest memory is read only at stops"),
            ));
        }
        if self.ram.is_some() {
            return self.read_ram(addr, buf);
        }
        self.read_stub(addr, buf)
    }

    /// Reads a little-endian u64 (e.g. a stack slot: `read_u64(rsp + 8 * n)`).
    pub fn read_u64(&mut self, addr: u64) -> Result<u64, MemError> {
        let mut b = [0u8; 8];
        self.read_memory(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn read_stub(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.stats.stub_reads += 1;
        if let Some(v) = self.stopped {
            self.rsp.select_thread(v).map_err(|e| failed(addr, e))?;
        }
        self.rsp.read_memory(addr, buf).map_err(|e| match e {
            Error::Memory(m) => m,
            e => failed(addr, e),
        })
    }

    fn read_ram(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        // Taken out for the duration so the stub fallback can borrow self mutably.
        let Some(ram) = self.ram.take() else {
            return self.read_stub(addr, buf);
        };
        let r = self.read_ram_with(&ram, addr, buf);
        self.ram = Some(ram);
        r
    }

    fn read_ram_with(
        &mut self,
        ram: &SharedRam,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<(), MemError> {
        let Some(paging) = self.regs.as_ref().and_then(|r| r.paging()) else {
            return self.read_stub(addr, buf);
        };
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr.wrapping_add(done as u64);
            let walk = self.tlb.translate(&paging, a, |pa| ram.read_u64(pa));
            let (phys, n) = match walk {
                Ok(Walk::Mapped { phys, remaining }) => {
                    (phys, (buf.len() - done).min(remaining as usize))
                }
                Err(e @ MemError::Unmapped { .. }) => return Err(e),
                // Unsupported paging mode, or tables outside the file: let QEMU translate.
                Ok(Walk::Unsupported) | Err(MemError::Failed { .. }) => {
                    return self.read_stub(a, &mut buf[done..]);
                }
            };
            if ram.contains(phys, n) {
                ram.read(phys, &mut buf[done..done + n])?;
                self.stats.ram_reads += 1;
            } else {
                // MMIO, ROM or RAM above the file: only QEMU knows.
                let slice = &mut buf[done..done + n];
                self.read_stub(a, slice)?;
            }
            done += n;
        }
        Ok(())
    }

    /// Writes guest memory through the stub (so QEMU invalidates translated code), recording
    /// the original bytes in the undo log first.
    pub fn write_memory(&mut self, addr: u64, data: &[u8]) -> Result<()> {
        self.check()?;
        let vcpu = self.stopped_vcpu_or_err()?;
        let mut original = vec![0u8; data.len()];
        self.rsp.select_thread(vcpu)?;
        self.rsp.read_memory(addr, &mut original)?;
        self.undo.push(Change::Write {
            addr,
            original,
            written: data.to_vec(),
        })?;
        self.rsp.write_memory(addr, data)?;
        self.tlb.clear();
        Ok(())
    }

    fn plant(&mut self, ty: BpType, addr: u64) -> Result<()> {
        if self.table.retain(ty, addr) {
            if let Err(e) = self.rsp.insert_breakpoint(ty, addr) {
                self.table.release(ty, addr);
                return Err(e);
            }
            self.undo.push(Change::Breakpoint { ty, addr })?;
        }
        Ok(())
    }

    fn unplant_now(&mut self, ty: BpType, addr: u64) -> Result<()> {
        if self.table.release(ty, addr) {
            self.rsp.remove_breakpoint(ty, addr)?;
            self.undo.forget_breakpoint(ty, addr)?;
        }
        Ok(())
    }

    /// Adds a breakpoint (VM stopped). At most one per address.
    pub fn add_breakpoint(&mut self, addr: u64, kind: Kind) -> Result<BpId> {
        self.check()?;
        self.stopped_vcpu_or_err()?;
        if self.table.at(addr).is_some() {
            return Err(Error::Breakpoint {
                addr,
                reason: "already has a breakpoint".into(),
            });
        }
        let ty = self.opts.breakpoint_type;
        // Read before planting: under KVM a software breakpoint patches the code.
        let mut code = [0u8; 2];
        let push = match kind {
            Kind::Entry if self.opts.emulate_push => self
                .read_stub(addr, &mut code)
                .ok()
                .and_then(|()| crate::prologue::decode(&code)),
            _ => None,
        };
        self.plant(ty, addr)?;
        let id = self.table.new_bp_id();
        self.table.bps.push(Breakpoint {
            id,
            addr,
            kind,
            ty,
            push,
            pointer: None,
        });
        Ok(id)
    }

    /// For an emulated-return breakpoint on the function that `pointer` points to: catch calls
    /// made through the pointer (`call *pointer`) with a read watchpoint on it. QEMU 7.2 flushes
    /// all translated code at every breakpoint stop but not at watchpoint stops, so these events
    /// cost less. The breakpoint stays as the fallback for calls that load the pointer first;
    /// a read of the pointer that is not such a call is resumed silently.
    pub fn watch_pointer(&mut self, id: BpId, pointer: u64) -> Result<()> {
        self.check()?;
        self.stopped_vcpu_or_err()?;
        let Some(bp) = self.table.by_id(id).cloned() else {
            return Err(Error::Breakpoint {
                addr: pointer,
                reason: format!("no breakpoint {id:?}"),
            });
        };
        if bp.kind != Kind::EmulatedReturn || bp.pointer.is_some() {
            return Err(Error::Breakpoint {
                addr: pointer,
                reason: "only one pointer per emulated-return breakpoint".into(),
            });
        }
        self.plant(BpType::ReadWatch, pointer)?;
        if let Some(b) = self.table.bps.iter_mut().find(|b| b.id == id) {
            b.pointer = Some(pointer);
        }
        Ok(())
    }

    /// Removes a breakpoint (VM stopped).
    pub fn remove_breakpoint(&mut self, id: BpId) -> Result<()> {
        self.check()?;
        self.stopped_vcpu_or_err()?;
        let Some(bp) = self.table.by_id(id).cloned() else {
            return Err(Error::Breakpoint {
                addr: 0,
                reason: format!("no breakpoint {id:?}"),
            });
        };
        self.table.bps.retain(|b| b.id != id);
        if let Some(p) = bp.pointer {
            self.unplant_now(BpType::ReadWatch, p)?;
        }
        self.unplant_now(bp.ty, bp.addr)
    }

    /// At a stop on an entry breakpoint: catch this call's return. The return is reported as
    /// [`Event::Return`] with `tag`, paired by stack pointer (so per thread and per frame).
    pub fn catch_return(&mut self, entry: BpId, tag: u64) -> Result<CallId> {
        self.check()?;
        self.stopped_vcpu_or_err()?;
        let sp = self.registers()?.rsp();
        let ret = self.read_u64(sp)?;
        let ty = self.opts.breakpoint_type;
        self.plant(ty, ret)?;
        let id = self.table.new_call_id();
        self.table
            .returns
            .entry(ret)
            .or_default()
            .push(PendingCall {
                id,
                sp_after_return: sp.wrapping_add(8),
                entry,
                tag,
                ty,
            });
        Ok(id)
    }

    /// Gives up waiting for a caught return (e.g. the thread died).
    pub fn cancel_return(&mut self, call: CallId) -> Result<()> {
        self.check()?;
        let found = self.table.returns.iter_mut().find_map(|(&addr, list)| {
            let i = list.iter().position(|c| c.id == call)?;
            Some((addr, list.swap_remove(i)))
        });
        if let Some((addr, c)) = found {
            if self.table.returns.get(&addr).is_some_and(|l| l.is_empty()) {
                self.table.returns.remove(&addr);
            }
            self.unplant_now(c.ty, addr)?;
        }
        Ok(())
    }

    /// Resumes every vCPU, doing first what the last stop needs (emulated return, step-over,
    /// queued register writes, all pipelined with the resume last).
    pub fn resume(&mut self) -> Result<()> {
        self.check()?;
        let vcpu = self.stopped_vcpu_or_err()?;
        if self.pending == Pending::EmulateReturn {
            let sp = self.registers()?.rsp();
            let ret = self.read_u64(sp)?;
            self.set_known(RegId::Rip, ret)?;
            self.set_known(RegId::Rsp, sp.wrapping_add(8))?;
            self.pending = Pending::Nothing;
        }
        for (ty, addr) in std::mem::take(&mut self.unplant_on_resume) {
            if self.table.release(ty, addr) {
                self.rsp.queue_breakpoint_change(false, ty, addr);
                self.undo.forget_breakpoint(ty, addr)?;
            }
        }
        let rip = self.regs.as_ref().map(|r| r.rip());
        if let Some(rip) = rip.filter(|&r| self.table.is_planted(r)) {
            if !self.emulate_push(rip)? {
                self.queue_register_writes(vcpu);
                self.step_over(vcpu, rip)?;
            }
        }
        self.queue_register_writes(vcpu);
        self.rsp.resume(Resume::Continue)?;
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

    /// True if the page walk over shared RAM maps `addr` (so a pipelined `M` cannot fail).
    fn slot_is_mapped(&mut self, addr: u64) -> bool {
        let (Some(ram), Some(paging)) = (
            self.ram.as_ref(),
            self.regs.as_ref().and_then(|r| r.paging()),
        ) else {
            return false;
        };
        matches!(
            self.tlb.translate(&paging, addr, |pa| ram.read_u64(pa)),
            Ok(Walk::Mapped { phys, .. }) if ram.contains(phys, 8)
        )
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
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut silent = 0u32;
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
                    self.rsp.interrupt()?
                }
                Err(Error::Timeout { .. }) if deadline.is_some_and(|d| Instant::now() >= d) => {
                    self.interrupt_sent = true;
                    self.rsp.interrupt()?
                }
                Err(e) => return Err(e),
            };
            if let Some(stop) = self.classify(reply)? {
                self.stats.events += 1;
                return Ok(stop);
            }
            silent += 1;
            if silent > MAX_SILENT_STOPS {
                // Something keeps stopping the VM that is none of ours (e.g. a breakpoint
                // another debugger left): report it rather than spin.
                let rip = self.regs.as_ref().map_or(0, |r| r.rip());
                return Err(Error::Breakpoint {
                    addr: rip,
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
    fn classify(&mut self, reply: StopReply) -> Result<Option<Stop>> {
        let (signal, thread) = match reply {
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
                (signal, thread)
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
        if let Some(bp) = self.table.at(rip) {
            let (id, kind) = (bp.id, bp.kind);
            if kind == Kind::EmulatedReturn {
                self.pending = Pending::EmulateReturn;
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

    /// Undoes every change and leaves the VM running; the connection is closed.
    pub fn detach(mut self) -> Result<UndoReport> {
        self.restore()
    }

    /// Stops the VM if needed, finishes a pending emulated return (so a function whose body
    /// must not run does not), removes breakpoints, restores memory, resumes with `D`.
    fn restore(&mut self) -> Result<UndoReport> {
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
        self.reg_writes.clear();
        self.finish_emulated_returns()?;
        let report = self.undo.undo_all(&mut self.rsp);
        // `D` removes every breakpoint on every vCPU (see `reattach`); then make sure the VM
        // really runs: a hit QEMU queued while stopping would stop it again with nobody there.
        let mut rsp = reattach_in_place(&mut self.rsp, &self.addr, &self.opts)?;
        let r = keep_running(&mut rsp);
        rsp.close();
        r.map(|()| report)
    }

    /// Any vCPU sitting on an emulated-return breakpoint returns now, before it is removed.
    fn finish_emulated_returns(&mut self) -> Result<()> {
        let emulated: Vec<u64> = self
            .table
            .bps
            .iter()
            .filter(|b| b.kind == Kind::EmulatedReturn)
            .map(|b| b.addr)
            .collect();
        if emulated.is_empty() {
            return Ok(());
        }
        let (rip_num, rsp_num) =
            match (self.layout.known(RegId::Rip), self.layout.known(RegId::Rsp)) {
                (Some(a), Some(b)) => (a.regnum, b.regnum),
                _ => return Ok(()),
            };
        for vcpu in self.threads.clone() {
            self.rsp.select_thread(vcpu)?;
            let mut raw = Vec::new();
            self.rsp.read_all_registers(&mut raw)?;
            let regs = Registers::new(self.layout.clone(), raw, vcpu);
            if !emulated.contains(&regs.rip()) {
                continue;
            }
            let mut ret = [0u8; 8];
            self.rsp.read_memory(regs.rsp(), &mut ret)?;
            self.rsp.write_register(rip_num, &ret)?;
            self.rsp
                .write_register(rsp_num, &regs.rsp().wrapping_add(8).to_le_bytes())?;
        }
        Ok(())
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

impl crate::GuestMemory for Target {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.read_memory(addr, buf)
    }
}

/// Sends `D` (QEMU drops every gdb breakpoint on every vCPU and resumes), hangs up, and
/// connects again; QEMU stops the VM for the new connection.
fn reattach(mut rsp: Rsp, addr: &str, opts: &Options) -> Result<Rsp> {
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

fn failed(addr: u64, e: Error) -> MemError {
    MemError::Failed {
        addr,
        reason: e.to_string(),
    }
}

/// The journal path [`Journal::Auto`] uses for a stub address.
pub fn auto_journal_path(addr: &str) -> PathBuf {
    let name: String = addr
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    std::env::temp_dir().join(format!("guestrace-undo-{name}.journal"))
}
