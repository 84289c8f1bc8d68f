//! Default aggregation output (`printa(@a)` and the print at exit): key columns by size, the
//! value, and the quantize/lquantize/llquantize histograms (`dt_print_datum`,
//! `dt_print_quantize`, `dt_print_lquantize`, `dt_print_llquantize`, `dt_print_quantline`).

use super::func::{stddev, AggFunc};
use super::rows::{histogram_rows, Bound};
use super::sort::SortOrder;
use super::store::Aggregation;
use crate::cfmt::{self, Radix, Spec};
use crate::datum::Datum;
use crate::printf::{NoSymbols, Symbolizer};
use crate::record::{int_record, int_width, print_bytes, print_stack, string_record, STACK_INDENT};

/// Everything that changes how aggregations print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggPrintOptions {
    /// Sort options.
    pub order: SortOrder,
    /// `strsize`, the size of string key records (an empty key prints as their hex dump).
    pub strsize: usize,
    /// `rawbytes`: string keys print as hex dumps.
    pub rawbytes: bool,
}

impl Default for AggPrintOptions {
    fn default() -> Self {
        AggPrintOptions {
            order: SortOrder::default(),
            strsize: 256,
            rawbytes: false,
        }
    }
}

/// One key column: `" %3d"`, `" %5d"`, `" %8d"`, `" %16lld"` by size, strings `"  %-50s"`.
pub(crate) fn print_key(
    out: &mut Vec<u8>,
    d: &Datum,
    opts: &AggPrintOptions,
    sym: &dyn Symbolizer,
) {
    match d {
        Datum::Stack(pcs) => print_stack(pcs, STACK_INDENT, sym, out),
        Datum::Int(i) => int_record(out, i, Some(int_width(i.size))),
        Datum::Float(f) => {
            let i = f.record();
            int_record(out, &i, Some(int_width(i.size)));
        }
        Datum::Str(s) => {
            let rec = string_record(s, opts.strsize);
            print_bytes(out, &rec, -50, false, opts.rawbytes);
        }
    }
}

/// A count/sum/min/max as the default layout divides it: `(long long)v / normal` in C converts
/// to unsigned for the division.
pub(crate) fn normalized(v: i64, normal: u64) -> i64 {
    ((v as u64) / normal.max(1)) as i64
}

/// One value in the default layout.
pub(crate) fn print_value(out: &mut Vec<u8>, func: &AggFunc, w: &[i64], normal: u64) {
    match func {
        AggFunc::Count | AggFunc::Sum | AggFunc::Min | AggFunc::Max => {
            out.push(b' ');
            cfmt::int_field(out, 16, normalized(w[0], normal));
        }
        AggFunc::Avg => {
            let v = if w[0] == 0 {
                0
            } else {
                w[1].wrapping_div(normal.max(1) as i64).wrapping_div(w[0])
            };
            out.push(b' ');
            cfmt::int_field(out, 16, v);
        }
        AggFunc::Stddev => {
            out.push(b' ');
            cfmt::unsigned(out, &Spec::width(16), stddev(w, normal), Radix::Dec);
        }
        _ => print_histogram(out, func, w, normal),
    }
}

/// The rows of an llquantize histogram: (bin, value) from the underflow bin (labelled
/// `< value`) through the overflow bin (labelled `>= value`).
pub(crate) fn llquantize_rows(func: &AggFunc, nbins: usize) -> Vec<(usize, i64)> {
    let AggFunc::Llquantize {
        factor,
        low,
        high,
        nsteps,
    } = *func
    else {
        return Vec::new();
    };
    if factor < 2 || nsteps == 0 {
        return vec![(0, 1)];
    }
    let (factor, nsteps) = (i64::from(factor), i64::from(nsteps));
    let mut value: i64 = 1;
    for _ in 0..low {
        value = value.wrapping_mul(factor);
    }
    let mut rows = vec![(0, value)];
    let mut next = value.wrapping_mul(factor);
    let mut step = if next > nsteps { next / nsteps } else { 1 };
    let mut order = i64::from(low);
    let mut bin = 1;
    while order <= i64::from(high) && bin < nbins {
        rows.push((bin, value));
        bin += 1;
        value = value.wrapping_add(step);
        if value != next {
            continue;
        }
        next = value.wrapping_mul(factor);
        step = if next > nsteps { next / nsteps } else { 1 };
        order += 1;
    }
    if bin < nbins {
        rows.push((bin, value));
    }
    rows
}

const DIST_HEADER: &[u8] =
    b"\n           value  ------------- Distribution ------------- count    \n";

fn print_histogram(out: &mut Vec<u8>, func: &AggFunc, w: &[i64], normal: u64) {
    let rows = histogram_rows(func, w);
    let (first, last) = match (rows.first(), rows.last()) {
        (Some(f), Some(l)) => (f.0, l.0),
        _ => return,
    };
    let bars = Bars::new(&w[first..=last]);
    out.extend_from_slice(DIST_HEADER);
    for (bin, value, bound) in rows {
        match bound {
            Bound::At => cfmt::int_field(out, 16, value),
            Bound::Below => cfmt::string(out, &Spec::width(16), format!("< {value}").as_bytes()),
            Bound::AtLeast => cfmt::string(out, &Spec::width(16), format!(">= {value}").as_bytes()),
        }
        out.push(b' ');
        bars.line(out, w[bin], normal);
    }
}

/// Bar scaling over the printed rows (`dt_print_quantline`).
struct Bars {
    total: u128,
    positives: bool,
    negatives: bool,
}

impl Bars {
    fn new(rows: &[i64]) -> Self {
        Bars {
            total: rows.iter().map(|&c| u128::from(c.unsigned_abs())).sum(),
            positives: rows.iter().any(|&c| c > 0),
            negatives: rows.iter().any(|&c| c < 0),
        }
    }

    /// `(uint)(|val| * len / total + 0.5)`, computed exactly (libdtrace uses long double).
    fn depth(&self, val: i64, len: u128) -> usize {
        if self.total == 0 {
            return 0;
        }
        let v = u128::from(val.unsigned_abs());
        ((2 * v * len + self.total) / (2 * self.total)) as usize
    }

    fn line(&self, out: &mut Vec<u8>, val: i64, normal: u64) {
        let shown = ((val as u64) / normal.max(1)) as i64;
        let pad = |out: &mut Vec<u8>, b: u8, n: usize| out.resize(out.len() + n, b);
        if !self.negatives {
            let d = if self.positives {
                self.depth(val, 40)
            } else {
                0
            };
            out.push(b'|');
            pad(out, b'@', d);
            pad(out, b' ', 40 - d.min(40));
        } else if !self.positives {
            let d = self.depth(val, 40);
            pad(out, b' ', 40 - d.min(40));
            pad(out, b'@', d);
            out.push(b'|');
        } else {
            let d = self.depth(val, 20).min(20);
            if val <= 0 {
                pad(out, b' ', 20 - d);
                pad(out, b'@', d);
                out.push(b'|');
                pad(out, b' ', 20);
            } else {
                pad(out, b' ', 20);
                out.push(b'|');
                pad(out, b'@', d);
                pad(out, b' ', 20 - d);
            }
        }
        out.push(b' ');
        cfmt::signed(out, &Spec::left(9), shown);
        out.push(b'\n');
    }
}

/// One entry of the default layout: keys, then each aggregation's value, then a newline.
pub(crate) fn print_entry(
    out: &mut Vec<u8>,
    key: &[Datum],
    values: &[(&Aggregation, &[i64])],
    opts: &AggPrintOptions,
    sym: &dyn Symbolizer,
) {
    for d in key {
        print_key(out, d, opts, sym);
    }
    for (agg, w) in values {
        print_value(out, &agg.func(), w, agg.normal());
    }
    out.push(b'\n');
}

/// `printa(@a)` or `printa(@a, @b, ...)` without a format: a newline, then every entry in
/// sorted order (several aggregations are joined on their keys, a missing key counting as 0).
/// Marks the aggregations printed. Stack keys print their pcs in hex; see [`printa_with`].
pub fn printa(aggs: &[&Aggregation], opts: &AggPrintOptions, out: &mut Vec<u8>) {
    printa_with(aggs, opts, &NoSymbols, out);
}

/// [`printa`] with a [`Symbolizer`] for stack() keys.
pub fn printa_with(
    aggs: &[&Aggregation],
    opts: &AggPrintOptions,
    sym: &dyn Symbolizer,
    out: &mut Vec<u8>,
) {
    out.push(b'\n');
    if let [agg] = aggs {
        for i in agg.sorted(&opts.order) {
            print_entry(out, agg.key(i), &[(agg, agg.words(i))], opts, sym);
            agg.mark_printed();
        }
        return;
    }
    let joined = super::join::Joined::new(aggs, &opts.order);
    for b in joined.bundles() {
        let values = joined.values(b);
        print_entry(out, joined.key(b), &values, opts, sym);
    }
    for agg in aggs {
        if !agg.is_empty() {
            agg.mark_printed();
        }
    }
}

/// What dtrace prints at exit for aggregations no printa() printed: each non-empty one, in
/// variable-id order (reversed with `aggsortrev`), entries in sorted order. The blank line
/// dtrace(1) prints before this (even in quiet mode) is the caller's. Stack keys print their
/// pcs in hex; see [`print_unprinted_with`].
pub fn print_unprinted(aggs: &[&Aggregation], opts: &AggPrintOptions, out: &mut Vec<u8>) {
    print_unprinted_with(aggs, opts, &NoSymbols, out);
}

/// [`print_unprinted`] with a [`Symbolizer`] for stack() keys.
pub fn print_unprinted_with(
    aggs: &[&Aggregation],
    opts: &AggPrintOptions,
    sym: &dyn Symbolizer,
    out: &mut Vec<u8>,
) {
    for agg in unprinted_order(aggs, &opts.order) {
        for i in agg.sorted(&opts.order) {
            print_entry(out, agg.key(i), &[(agg, agg.words(i))], opts, sym);
        }
    }
}

/// The aggregations printed at exit: each non-empty one no printa() printed, in variable-id
/// order (reversed with `aggsortrev`).
pub(crate) fn unprinted_order<'a>(
    aggs: &[&'a Aggregation],
    order: &SortOrder,
) -> Vec<&'a Aggregation> {
    let mut list: Vec<&Aggregation> = aggs
        .iter()
        .copied()
        .filter(|a| !a.printed() && !a.is_empty())
        .collect();
    list.sort_by_key(|a| a.id());
    if order.reverse {
        list.reverse();
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchecked_parameters_never_panic() {
        // Functions built without AggFunc::lquantize/llquantize skip validation; printing and
        // updating must still stay within bounds.
        for func in [
            AggFunc::Llquantize {
                factor: 0,
                low: 3,
                high: 1,
                nsteps: 0,
            },
            AggFunc::Llquantize {
                factor: 1,
                low: 0,
                high: 4,
                nsteps: 3,
            },
            AggFunc::Llquantize {
                factor: 10,
                low: 0,
                high: 2,
                nsteps: 0,
            },
            AggFunc::Lquantize {
                base: 5,
                limit: 5,
                step: 0,
            },
        ] {
            let mut a = Aggregation::new(0, "", func);
            a.update(&[], 7, 1);
            let mut out = Vec::new();
            printa(&[&a], &AggPrintOptions::default(), &mut out);
            assert!(out.ends_with(b"\n"));
        }
    }
}
