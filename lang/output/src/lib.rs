//! The bytes FreeBSD 10's dtrace(1) prints: printf conversions, trace() and tracemem() records,
//! the default record header, aggregation storage, sorting and printing (printa, quantize,
//! lquantize, llquantize), and the pure string and network subroutines D scripts call.
//!
//! Owns: output formats and aggregation data, byte-compatible with FreeBSD 10.4's libdtrace.
//!
//! Must not depend on: the D parser or evaluator, QEMU, DWARF or any guest. Callers hand it
//! plain values (integers with their size and sign, byte strings).
//!
//! # API at a glance
//!
//! Values: [`Datum`] is `Int(`[`IntVal`]`)` (bits, size 1/2/4/8, signedness), `Str(Vec<u8>)`
//! (bytes up to a NUL), `Float(`[`FloatVal`]`)` (a float/double read from memory or a declared
//! variable) or `Stack(Vec<u64>)` (stack()'s pcs, for `@[stack()]` keys and `%k`). Build integers with [`IntVal::new`] (it truncates to the size) or the
//! `Datum::i32/i64/u64` shorthands.
//!
//! printf: [`Format::parse`] once at compile time ([`FormatError`] carries dtrace's texts);
//! [`Format::conversions`] lists each [`printf::Conversion`] (flags, width, precision, `*`,
//! size prefix in [`printf::Conversion::name`], [`printf::ArgClass`] and the prototype text);
//! [`printf::ArgClass::accepts`] applies libdtrace's type checks to a [`printf::ArgType`] and
//! [`printf::messages`] formats D_PRINTF_* errors. At run time [`Format::render`] appends to a
//! `Vec<u8>` (arguments in order, a `*` taking one integer before its value); `%a %A %I %P`
//! ask a [`Symbolizer`] ([`NoSymbols`] prints raw values). `%d` follows the argument's
//! signedness, `%i` is always signed, `%u %o %x %X %p` zero-extend from the argument's size;
//! `%e %E %f %g %G` print `Datum::Float` only: dtrace rejects integer arguments for them at
//! compile time (D_PRINTF_ARG_TYPE, prototype "float, double, or long double") and render
//! returns [`RenderError::ArgType`]; `%Y`/`%T` use the host's local time zone.
//!
//! Records: [`record_header`], [`record_prefix`], [`record_end`] (non-quiet lines),
//! [`trace_datum`]/[`trace_datum_with`] ([`RecordOptions`]: quiet, strsize, rawbytes),
//! [`tracemem`] (always a hex dump; pass the bytes to dump), [`print_stack`] (stack()).
//!
//! Aggregations: [`Aggregation::new`]`(id, name, `[`AggFunc`]`)` with `id` the declaration
//! order; [`Aggregation::update`]`(&key, value, incr)` (count ignores value; incr is for the
//! quantizations, 1 when absent); [`Aggregation::clear`], [`Aggregation::trunc`],
//! [`Aggregation::normalize`], [`Aggregation::denormalize`]. Printing takes
//! [`AggPrintOptions`] (a [`SortOrder`] for aggsortkey/aggsortrev/aggsortpos/aggsortkeypos,
//! strsize, rawbytes): [`printa`] (`printa(@a[, @b...])`, leading newline, joins several;
//! [`printa_with`] takes a [`Symbolizer`] for stack keys),
//! [`printa_format`] (`printa("fmt", @a[, @b...])`), [`print_unprinted`] (what dtrace prints at
//! exit after its own blank line, which the caller prints; [`print_unprinted_with`] takes a
//! [`Symbolizer`]). Both printa forms mark the
//! aggregations printed so that [`print_unprinted`] skips them. The same rows as numbers, for
//! structured output: [`printa_rows`] and [`unprinted_rows`] ([`AggRow`]: key tuple and a
//! [`RowValue`] per aggregation, histograms as [`Bucket`]s).
//!
//! Subroutines: [`subr`] (strjoin, substr, strlen, strchr, strrchr, strstr, index, rindex,
//! strtok with a [`subr::StrtokState`], lltostr, strtoll, toupper, tolower, basename, dirname,
//! cleanpath, inet_ntoa, inet_ntoa6, inet_ntop, the byte-order swaps), failing with
//! [`subr::SubrError`] where the kernel would raise a fault.

pub mod agg;
mod cfmt;
mod datum;
pub mod printf;
mod record;
pub mod subr;

pub use agg::{
    print_unprinted, print_unprinted_with, printa, printa_format, printa_rows, printa_with,
    unprinted_rows, AggError, AggFunc, AggParamError, AggPrintOptions, AggRow, Aggregation, Bound,
    Bucket, RowValue, SortOrder,
};
pub use datum::{Datum, FloatVal, IntVal};
pub use printf::{Format, FormatError, NoSymbols, RenderError, Symbolizer};
pub use record::{
    print_stack, record_end, record_header, record_prefix, trace_datum, trace_datum_with, tracemem,
    RecordOptions, STACK_INDENT,
};
