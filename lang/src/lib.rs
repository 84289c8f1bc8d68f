//! The D language as FreeBSD 10's dtrace(1) speaks it: lexer, parser, checker, compiled
//! evaluator, aggregations and byte-compatible output formatting.
//!
//! Owns: everything between D source text and the bytes dtrace would print.
//!
//! Must not depend on: QEMU, the gdbstub, DWARF or any guest. It sees probes, typed arguments,
//! context variables and guest memory only through the traits the providers implement.
