//! Starting QEMU for guestrace: one process with its gdbstub on a unix socket and guest RAM in
//! a shared file, in a private run directory, that dies with its caller and leaves nothing
//! behind ([`Launch`], [`Qemu`]); and a VM booted from a user's disk image with a FreeBSD
//! user's defaults ([`ImageVm`]). The model guest's launcher is built on the same process.

mod accel;
mod cleanup;
mod disk;
mod error;
mod image_vm;
mod process;
mod qmp;
pub(crate) mod rundir;

pub use accel::{detect as detect_accel, Accel, AccelChoice};
pub use disk::{DiskFormat, DiskImage};
pub use error::QemuError;
pub use image_vm::{parse_mem_mib, DiskBus, ImageVm, VmOptions, DEFAULT_SSH_PORT};
pub use process::{option_with_path, Launch, Qemu, QEMU_NAME};
