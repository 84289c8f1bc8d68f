//! The D language as FreeBSD 10's dtrace(1) speaks it: lexer, parser, checker, compiled
//! evaluator, aggregations and byte-compatible output formatting.
//!
//! Owns: everything between D source text and the bytes dtrace would print.
//!
//! Must not depend on: QEMU, the gdbstub, DWARF or any guest. It sees probes, typed arguments,
//! context variables and guest memory only through the traits the providers implement.
//!
//! # Using it (providers and the binary)
//!
//! 1. Implement [`ProbeCatalog`] (the guest's probes, with each argument's native and translated
//!    C type strings, and which built-in variables the guest cannot supply) and [`TypeSource`]
//!    (guest C types by name, lazily, and backquoted kernel globals). Without a guest use
//!    [`NoProbes`] and [`NoTypes`]; for tests, [`mock`] and [`DeclaredTypes`] (types written in C).
//! 2. [`compile`] the sources in order: translator libraries ([`Source::library`], skipped when
//!    their `#pragma D depends_on provider|library` is unmet), then `-s` scripts
//!    ([`Source::script`]) and `-n` descriptions ([`Source::description`]). [`CompileOptions`]
//!    carries `-x`/`-q` ([`Options::set_arg`]), `-Z` (`options.zdefs`), macro arguments, and
//!    `-C -D -U -I` ([`cpp::CppOptions`]). A [`CompileError`] displays as dtrace's message with
//!    guestrace's name, then the source line and a caret under the column.
//! 3. [`Program::description_matches`] gives "matched N probes" counts;
//!    [`Program::enabled_probes`] says what to enable: catalog probes, and lang's own
//!    [`ProbeKind::Begin`]/[`ProbeKind::End`]/[`ProbeKind::Error`] and
//!    [`ProbeKind::Tick`]/[`ProbeKind::Profile`] with their periods.
//! 4. Fire [`BEGIN_ID`] first, then every event with [`Program::fire`] and a [`FireContext`]
//!    (arguments, guest memory reads, built-ins, the `self->` thread key, stack, symbol names;
//!    [`HostContext`] when there is no guest). Output goes to an [`OutputSink`]: stdout bytes
//!    exactly as dtrace prints them, and stderr lines (runtime errors in FreeBSD 10's text; the
//!    clause is abandoned, ERROR fires, the run goes on; [`Program::error_count`]). A sink
//!    whose [`OutputSink::wants_records`] is true also gets every record as values
//!    ([`Record`]: each action's output, each printa() row, each aggregation row at exit).
//! 5. When [`Flow::Exit`] comes back (or on Ctrl-C), stop firing and call [`Program::end`]: it
//!    runs END, prints the blank line and every aggregation no printa() printed, and returns
//!    the exit status.
//!
//! Scripts that use only BEGIN/END/ERROR and profile probes need no guest at all:
//! [`run_without_guest`] fires them at their real rates on the host's clock.
//!
//! All output formatting and aggregation storage is `lang_output`'s; lang decides what to print.

pub mod ast;
mod compile;
pub mod context;
pub mod cpp;
pub mod error;
mod eval;
pub mod host;
pub mod ir;
pub mod lexer;
pub mod mock;
pub mod options;
pub mod parser;
pub mod probes;
mod program;
pub mod records;
mod subr_call;
pub mod suggest;
pub mod types;

pub use compile::{compile, CompileOptions, DeclaredTypes};
pub use context::{BufferSink, Fault, FireContext, HostContext, OutputSink};
pub use error::{CompileError, Pos, Source, SourceKind};
pub use host::run_without_guest;
pub use options::Options;
pub use probes::{
    ArgType, Builtin, NoProbes, ProbeCatalog, ProbeInfo, ProbeKind, BEGIN_ID, END_ID, ERROR_ID,
};
pub use program::{DescriptionMatch, EnabledProbe, Flow, Program};
pub use records::{Record, RecordKind};
pub use types::{NoTypes, Type, TypeSource};
