//! GDB Remote Serial Protocol client for QEMU's system-mode gdbstub.
//!
//! Owns: the connection (unix socket or TCP), packet framing, registers learned from QEMU's
//! target description, guest memory (through the stub, or through QEMU's shared RAM file with
//! a page-table walk), breakpoints of three kinds, and the undo log that leaves the guest as
//! it was found.
//!
//! Must not depend on: anything about D, probes or a particular guest OS. It knows x86-64 and
//! the gdbstub, nothing more.
//!
//! ```no_run
//! use introspect::{Event, Kind, Options, Target};
//! let mut t = Target::connect("/tmp/vm.sock", Options::default())?;
//! let bp = t.add_breakpoint(0xffffffff80200120, Kind::EmulatedReturn)?;
//! let stop = t.resume_and_wait(None)?;
//! if let Event::Breakpoint { id, .. } = stop.event {
//!     assert_eq!(id, bp);
//!     let regs = t.registers()?;
//!     let (rdi, sp) = (regs.arg(0), regs.rsp());
//!     let arg5 = t.read_u64(sp + 8)?; // a stack argument, read before the return is emulated
//!     let _ = (rdi, arg5);
//! }
//! t.detach()?; // breakpoints removed, writes undone, VM running
//! # Ok::<(), introspect::Error>(())
//! ```

mod breakpoints;
mod cleanup;
mod conn;
mod cpu_mirror;
mod error;
pub mod packet;
mod paging;
mod prologue;
mod regs;
pub mod rsp;
mod shared_ram;
pub mod stop;
mod target;
pub mod tdesc;
mod undo;

pub use breakpoints::{BpId, CallId, Kind};
pub use cleanup::{Cleanup, Interrupter};
pub use error::{Error, MemError, Result};
pub use paging::{walk, PagingRegs, Walk};
pub use regs::Registers;
pub use rsp::BpType;
pub use shared_ram::SharedRam;
pub use target::{
    auto_journal_path, Event, Journal, Options, RamStatus, Stats, StepOver, Stop, Target,
};
pub use undo::{Change, UndoReport};

/// Reads guest memory by virtual address; what the D evaluator's memory adapter wraps.
pub trait GuestMemory {
    /// Fills `buf` from guest virtual address `addr`.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError>;
}
