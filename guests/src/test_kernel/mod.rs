//! The small test kernel of introspect's tests (sources in `guests/test-kernel`): two vCPUs
//! calling functions that tests put breakpoints on, with 4 KiB, 2 MiB and 1 GiB pages, and no
//! FreeBSD in it. It boots through the model guest's PVH entry (`guests/kernel/boot.S`).
//!
//! [`TestKernel`] compiles it with gcc and ld and reads its symbols with nm (at run time, so
//! ordinary builds of this crate do not pay for it); [`TestKernel::boot`] starts it under QEMU
//! with the same launcher as the model guest and waits until every vCPU has come up.

mod error;
mod image;
mod vm;

pub use error::TestKernelError;
pub use image::TestKernel;
pub use vm::{GdbTransport, TestBoot, TestVm};
