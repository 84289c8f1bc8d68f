//! Structured records: what a firing traced and what aggregations printed, as values rather
//! than bytes, for sinks that want them (JSON output). Built only when the sink asks
//! ([`crate::OutputSink::wants_records`]), so text-only runs pay nothing.

use lang_output::{AggRow, Datum};

use crate::probes::ProbeInfo;

/// Which action wrote a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A clause that traced nothing itself: dtrace's default record (the probe line).
    Default,
    /// `printf()`.
    Printf,
    /// `trace()`.
    Trace,
    /// `tracemem()`.
    Tracemem,
    /// `stack()`.
    Stack,
}

impl RecordKind {
    /// The action's name in D.
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Default => "default",
            RecordKind::Printf => "printf",
            RecordKind::Trace => "trace",
            RecordKind::Tracemem => "tracemem",
            RecordKind::Stack => "stack",
        }
    }
}

/// Where and when a record was written.
#[derive(Debug, Clone, Copy)]
pub struct Firing<'a> {
    /// The probe that fired.
    pub probe: &'a ProbeInfo,
    /// The CPU it fired on (`cpu`).
    pub cpu: u32,
    /// `timestamp` at the firing.
    pub timestamp: u64,
}

/// One structured record, handed to the sink right after its bytes.
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// One action's output in a firing (or the default record).
    Action {
        /// The firing.
        firing: Firing<'a>,
        /// The action.
        kind: RecordKind,
        /// The bytes this action printed (for the default record, the probe line).
        text: &'a [u8],
        /// Its raw values: printf's arguments, trace()'s value, tracemem()'s bytes as one
        /// string datum, stack()'s pcs.
        args: &'a [Datum],
    },
    /// One row printed by `printa()` in a firing.
    PrintaRow {
        /// The firing.
        firing: Firing<'a>,
        /// The aggregations' names (without `@`), in the printa()'s order.
        aggregations: &'a [String],
        /// Keys and one value per aggregation.
        row: &'a AggRow,
    },
    /// One row of an aggregation printed at the end of the run.
    Aggregation {
        /// Its name (without `@`; empty for `@`).
        name: &'a str,
        /// The aggregating function (`count`, `quantize`, ...).
        function: &'a str,
        /// Keys and the value.
        row: &'a AggRow,
    },
}

/// A record collected while a clause runs; handed on only if the clause completes.
#[derive(Debug, Clone)]
pub(crate) enum Pending {
    Action {
        kind: RecordKind,
        text: std::ops::Range<usize>,
        args: Vec<Datum>,
    },
    Printa {
        aggregations: Vec<String>,
        rows: Vec<AggRow>,
    },
}

impl Pending {
    /// Hands the record to `out` with the clause's bytes `buf` and its firing.
    pub(crate) fn emit(&self, firing: Firing<'_>, buf: &[u8], out: &mut dyn crate::OutputSink) {
        match self {
            Pending::Action { kind, text, args } => out.record(&Record::Action {
                firing,
                kind: *kind,
                text: buf.get(text.clone()).unwrap_or_default(),
                args,
            }),
            Pending::Printa { aggregations, rows } => {
                for row in rows {
                    out.record(&Record::PrintaRow {
                        firing,
                        aggregations,
                        row,
                    });
                }
            }
        }
    }
}
