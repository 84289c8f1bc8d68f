//! Guest profiles and the model guest.
//!
//! Owns: what is specific to a guest operating system (FreeBSD 10.x: probe discovery layout,
//! curthread, release detection) and the model guest, a small C kernel that reproduces FreeBSD
//! 10.4's probe machinery and reports its own ground truth, with the Rust launcher that boots
//! it under QEMU; and the small test kernel of introspect's tests ([`test_kernel`]), booted by
//! the same launcher.
//!
//! Must not depend on: D or the command line.

pub mod model;
pub mod qemu;
pub mod test_kernel;

/// The FreeBSD 10.x guest profile.
pub mod freebsd10;
