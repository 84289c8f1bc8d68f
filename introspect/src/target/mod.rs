//! The high-level handle on one VM: connect, stop/resume, breakpoints of three kinds,
//! registers, guest memory, and restoring everything when done. This module holds the handle,
//! connecting and registers; the submodules one job each.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::breakpoints::{BpId, Breakpoint, CallId, Kind, PendingCall, Table};
use crate::cleanup::{Cleanup, Interrupter};
use crate::cpu_mirror::CpuMirror;
use crate::error::{Error, MemError, Result};
use crate::paging::{TranslationCache, Walk};
use crate::regs::Registers;
use crate::rsp::{BpType, Resume, Rsp};
use crate::shared_ram::SharedRam;
use crate::stop::StopReply;
use crate::tdesc::{RegId, RegLayout};
use crate::undo::{load_journal, remove_journal, Change, UndoLog, UndoReport};

mod memory;
mod planting;
mod restore;
mod run;
mod types;

use restore::reattach;
pub use types::{Event, Journal, Options, RamStatus, Stats, StepOver, Stop};
/// Unreported stops of one vCPU at one place in a row before suspecting a loop.
const MAX_SILENT_STOPS: u32 = 1_000;

/// What to do for the stopped vCPU on the next resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Nothing,
    /// Return from the function the vCPU is at. `rewound`: it was caught past its first push,
    /// which the cached registers already undo but the vCPU's own RSP does not yet.
    EmulateReturn {
        rewound: bool,
    },
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
    /// A `ret` instruction emulated returns resume at (see [`Target::set_return_gadget`]).
    return_gadget: Option<u64>,
    /// Where QEMU keeps the vCPUs' registers, when found (see `cpu_mirror`).
    mirror: Option<CpuMirror>,
    table: Table,
    unplant_on_resume: Vec<(BpType, u64)>,
    undo: UndoLog,
    ram: Option<SharedRam>,
    ram_status: RamStatus,
    tlb: TranslationCache,
    interrupt_sent: bool,
    finished: bool,
    /// Inside `restore` (which itself resumes while draining in-flight calls).
    restoring: bool,
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
            return_gadget: None,
            mirror: None,
            table: Table::default(),
            unplant_on_resume: Vec::new(),
            undo: UndoLog::new(journal),
            ram: None,
            ram_status: RamStatus::NotConfigured,
            tlb: TranslationCache::default(),
            interrupt_sent: false,
            finished: false,
            restoring: false,
            recovered,
            stats: Stats::default(),
            opts,
        };
        t.load_registers(vcpu)?;
        if t.opts.registers_from_qemu {
            t.mirror = t.find_mirror();
        }
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
        if !self.restoring && self.rsp.wake().cleanup.load(Ordering::SeqCst) {
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
        let mirrored = self
            .mirror
            .as_ref()
            .and_then(|m| m.read(&self.layout, vcpu));
        if let Some(regs) = mirrored {
            if !self.mirror.as_ref().is_some_and(CpuMirror::checking) {
                self.stats.mirrored_registers += 1;
                self.regs = Some(regs);
                return Ok(());
            }
            let by_g = self.read_g(vcpu)?;
            let same = self
                .mirror
                .as_mut()
                .is_some_and(|m| m.check(&regs, &by_g, &self.layout));
            if !same {
                self.mirror = None;
            }
            self.regs = Some(by_g);
            return Ok(());
        }
        self.regs = Some(self.read_g(vcpu)?);
        Ok(())
    }

    fn read_g(&mut self, vcpu: u32) -> Result<Registers> {
        self.rsp.select_thread(vcpu)?;
        let mut raw = Vec::with_capacity(self.layout.g_len());
        self.rsp.read_all_registers(&mut raw)?;
        Ok(Registers::new(self.layout.clone(), raw, vcpu))
    }

    /// Locates the vCPUs' register blocks in a local QEMU (VM stopped, registers loaded).
    /// Not under KVM: there QEMU's copy of the registers is only brought up to date when
    /// something asks for it (as `g` does), so it may be stale at a stop.
    fn find_mirror(&mut self) -> Option<CpuMirror> {
        let pid = self.rsp.peer_pid()?;
        let tcg = self
            .rsp
            .monitor("info kvm")
            .is_ok_and(|out| !out.contains("enabled"));
        if !tcg {
            return None;
        }
        let mut snapshots = Vec::new();
        for v in self.threads.clone() {
            snapshots.push(self.read_g(v).ok()?);
        }
        let stopped = self.stopped?;
        self.rsp.select_thread(stopped).ok()?;
        CpuMirror::find(pid, &self.layout, &snapshots)
    }

    /// Whether registers come from QEMU's memory (see [`Options::registers_from_qemu`]).
    pub fn registers_mirrored(&self) -> bool {
        self.mirror.is_some()
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
