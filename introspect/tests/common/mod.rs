//! Helpers shared by the integration tests: the scripted fake target, the snapshot it serves,
//! and the QEMU test VM.
#![allow(dead_code)]

pub mod fake;
pub mod model;
pub mod qemu;
pub mod snapshot;
