//! GDB Remote Serial Protocol client for QEMU's system-mode gdbstub.
//!
//! Owns: the connection (unix socket or TCP), packet framing, registers learned from QEMU's
//! target description, guest memory (through the stub, or through QEMU's shared RAM file with
//! a page-table walk), breakpoints of three kinds, and the undo log that leaves the guest as
//! it was found.
//!
//! Must not depend on: anything about D, probes or a particular guest OS. It knows x86-64 and
//! the gdbstub, nothing more.
