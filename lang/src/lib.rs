//! The D language as FreeBSD 10's dtrace(1) speaks it: lexer, parser, checker, compiled
//! evaluator, aggregations and byte-compatible output formatting.
//!
//! Owns: everything between D source text and the bytes dtrace would print.
//!
//! Must not depend on: QEMU, the gdbstub, DWARF or any guest. It sees probes, typed arguments,
//! context variables and guest memory only through the traits the providers implement.
//!
//! Use: [`compile`] sources (translator libraries first) against a [`ProbeCatalog`] and a
//! [`TypeSource`]; enable [`Program::enabled_probes`]; call [`Program::fire`] per event with a
//! [`FireContext`]; at the end call [`Program::end`].

pub mod ast;
mod compile;
pub mod context;
pub mod cpp;
pub mod error;
mod eval;
pub mod ir;
pub mod lexer;
pub mod mock;
pub mod options;
pub mod parser;
pub mod probes;
mod program;
mod subr_call;
pub mod suggest;
pub mod types;

pub use compile::{compile, CompileOptions, DeclaredTypes};
pub use context::{BufferSink, Fault, FireContext, HostContext, OutputSink};
pub use error::{CompileError, Pos, Source, SourceKind};
pub use options::Options;
pub use probes::{
    ArgType, Builtin, NoProbes, ProbeCatalog, ProbeInfo, ProbeKind, BEGIN_ID, END_ID, ERROR_ID,
};
pub use program::{DescriptionMatch, EnabledProbe, Flow, Program};
pub use types::{NoTypes, Type, TypeSource};
