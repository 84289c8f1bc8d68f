//! The DTrace providers (dtrace, profile, fbt, sdt, ip, tcp, udp) and the tracing session that
//! joins a guest (`introspect`), its kernel's debug info (`symbols`) and a D program (`lang`).
//!
//! Owns: probe discovery and enabling, turning guest stops into probe firings, the translators
//! as D library files, and the event loop.
//!
//! Must not depend on: the command line. The binary only wires options into this crate.
