//! The model guest: its kernel images ([`kernel_elf`]), the QEMU launcher ([`ModelGuest`]) and
//! the parser of the ground truth it prints on its serial console ([`ground_truth`]), and of the
//! per-round counts it prints instead in benchmark mode ([`bench`]).
//!
//! The kernel sources live in `guests/kernel`; `guests/README.md` describes the guest, one
//! round of its workload and the ground-truth line format.

pub mod bench;
mod error;
pub mod ground_truth;
mod kernel;
mod launcher;

pub use error::ModelError;
pub use kernel::{kernel_bytes, kernel_elf, DwarfVersion};
pub use launcher::{BootOptions, ModelGuest, UP_MARKER};
