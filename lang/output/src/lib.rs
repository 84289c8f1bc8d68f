//! The bytes FreeBSD 10's dtrace(1) prints: printf conversions, trace() and tracemem() records,
//! the default record header, aggregation storage, sorting and printing (printa, quantize,
//! lquantize, llquantize), and the pure string and network subroutines D scripts call.
//!
//! Owns: output formats and aggregation data, byte-compatible with FreeBSD 10.4's libdtrace.
//!
//! Must not depend on: the D parser or evaluator, QEMU, DWARF or any guest. Callers hand it
//! plain values (integers with their size and sign, byte strings).

pub mod agg;
mod cfmt;
mod datum;
pub mod printf;
mod record;
pub mod subr;

pub use agg::{
    print_unprinted, printa, printa_format, AggError, AggFunc, AggParamError, AggPrintOptions,
    Aggregation, SortOrder,
};
pub use datum::{Datum, IntVal};
pub use printf::{Format, FormatError, NoSymbols, RenderError, Symbolizer};
pub use record::{
    record_end, record_header, record_prefix, trace_datum, trace_datum_with, tracemem,
    RecordOptions,
};
