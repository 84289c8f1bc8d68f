//! What callers pass in and get back: options, stops, counters.

use super::*;

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
    /// Read the stopped vCPU's registers straight from QEMU's memory (process_vm_readv), when
    /// the stub is a local QEMU on a unix socket and its register blocks are found, instead of
    /// a `g` exchange per stop.
    pub registers_from_qemu: bool,
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
            registers_from_qemu: true,
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
    /// Times the VM was interrupted (time-outs, [`Target::interrupt`], interrupters).
    pub interrupts: u64,
    /// Single-steps that returned without executing anything (retried).
    pub spurious_steps: u64,
    /// Stops that were not ours (stray-byte T02) and were resumed silently.
    pub spurious_stops: u64,
    /// Returns through a return breakpoint by calls nobody caught (stepped over silently).
    pub foreign_returns: u64,
    /// Stops reported by a read watchpoint (see [`Target::watch_pointer`]).
    pub watch_stops: u64,
    /// Watchpoint stops reported as the watched function's breakpoint event (RIP at its
    /// entry after `call *pointer`): events that cost no translation-cache flush.
    pub watch_events: u64,
    /// Calls caught by the safety-net breakpoint past a watched function's first push (the
    /// watch missed them; see [`Target::watch_pointer`]).
    pub net_hits: u64,
    /// Stops whose registers were read from QEMU's memory rather than by `g`.
    pub mirrored_registers: u64,
    /// Reads served from the RAM file.
    pub ram_reads: u64,
    /// Reads served by `m`.
    pub stub_reads: u64,
}
