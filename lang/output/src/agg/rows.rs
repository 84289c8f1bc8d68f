//! Aggregation entries as numbers rather than text: the rows printa() and the end of a run
//! print, in the same order, with the same normalised values and the same histogram rows
//! (what structured output such as JSON carries).

use super::func::{quantize_bucket_value, stddev, AggFunc, QUANTIZE_BUCKETS};
use super::join::Joined;
use super::print::{llquantize_rows, normalized};
use super::sort::SortOrder;
use super::store::Aggregation;
use crate::datum::Datum;

/// Which values a histogram row stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Values below `value` (the underflow row, printed `< value`).
    Below,
    /// The bucket starting at `value`.
    At,
    /// Values at or above `value` (the overflow row, printed `>= value`).
    AtLeast,
}

/// One histogram row as printed: its bucket and its (normalised) count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// The row's label value.
    pub value: i64,
    /// How the label reads (`< value`, `value`, `>= value`).
    pub bound: Bound,
    /// The count shown on the row.
    pub count: i64,
}

/// One aggregation's value in a row, as the default layout prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowValue {
    /// count, sum, min, max, avg (normalised, signed as printed).
    Int(i64),
    /// stddev (printed unsigned).
    Unsigned(u64),
    /// quantize, lquantize, llquantize: the printed rows, zero rows included.
    Histogram(Vec<Bucket>),
}

/// One printed row: its key tuple and each aggregation's value.
#[derive(Debug, Clone, PartialEq)]
pub struct AggRow {
    /// The key tuple (empty for an aggregation without keys).
    pub key: Vec<Datum>,
    /// One value per aggregation of the printa() (or the one aggregation).
    pub values: Vec<RowValue>,
}

/// The rows `printa(@a[, @b...])` prints (with or without a format), in its order. Several
/// aggregations are joined on their keys, a missing key counting as zero.
pub fn printa_rows(aggs: &[&Aggregation], order: &SortOrder) -> Vec<AggRow> {
    if let [agg] = aggs {
        return agg
            .sorted(order)
            .into_iter()
            .map(|i| AggRow {
                key: agg.key(i).to_vec(),
                values: vec![row_value(&agg.func(), agg.words(i), agg.normal())],
            })
            .collect();
    }
    let joined = Joined::new(aggs, order);
    joined
        .bundles()
        .map(|b| AggRow {
            key: joined.key(b).to_vec(),
            values: joined
                .values(b)
                .into_iter()
                .map(|(a, w)| row_value(&a.func(), w, a.normal()))
                .collect(),
        })
        .collect()
}

/// What [`crate::print_unprinted`] prints, aggregation by aggregation in the same order.
pub fn unprinted_rows<'a>(
    aggs: &[&'a Aggregation],
    order: &SortOrder,
) -> Vec<(&'a Aggregation, Vec<AggRow>)> {
    super::print::unprinted_order(aggs, order)
        .into_iter()
        .map(|a| (a, printa_rows(&[a], order)))
        .collect()
}

/// An entry's value as the default layout prints it.
pub(crate) fn row_value(func: &AggFunc, w: &[i64], normal: u64) -> RowValue {
    match func {
        AggFunc::Count | AggFunc::Sum | AggFunc::Min | AggFunc::Max => {
            RowValue::Int(normalized(w[0], normal))
        }
        AggFunc::Avg => RowValue::Int(if w[0] == 0 {
            0
        } else {
            w[1].wrapping_div(normal.max(1) as i64).wrapping_div(w[0])
        }),
        AggFunc::Stddev => RowValue::Unsigned(stddev(w, normal)),
        _ => RowValue::Histogram(
            histogram_rows(func, w)
                .into_iter()
                .map(|(bin, value, bound)| Bucket {
                    value,
                    bound,
                    count: normalized(w[bin], normal),
                })
                .collect(),
        ),
    }
}

/// The rows a histogram prints: (bin, label value, bound), from the first non-zero bin widened
/// by one zero bin on each side (libdtrace's range).
pub(crate) fn histogram_rows(func: &AggFunc, w: &[i64]) -> Vec<(usize, i64, Bound)> {
    let n = w.len();
    let (first, last) = match func {
        AggFunc::Quantize => row_range(w, QUANTIZE_BUCKETS - 1, (62, 64)),
        AggFunc::Lquantize { .. } => row_range(w, n, (0, 2.min(n - 1))),
        _ => row_range(w, n, (0, 1)),
    };
    match *func {
        AggFunc::Quantize => (first..=last)
            .map(|i| (i, quantize_bucket_value(i), Bound::At))
            .collect(),
        AggFunc::Lquantize { base, step, .. } => {
            let levels = n - 2;
            let at =
                |i: usize| i64::from(base.wrapping_add((i as i32).wrapping_mul(i32::from(step))));
            (first..=last)
                .map(|i| {
                    if i == 0 {
                        (i, i64::from(base), Bound::Below)
                    } else if i == levels + 1 {
                        (i, at(levels), Bound::AtLeast)
                    } else {
                        (i, at(i - 1), Bound::At)
                    }
                })
                .collect()
        }
        _ => {
            let rows = llquantize_rows(func, n);
            let overflow = rows.len().saturating_sub(1);
            rows.iter()
                .enumerate()
                .filter(|(_, &(bin, _))| bin >= first && bin <= last)
                .map(|(r, &(bin, value))| {
                    let bound = if r == 0 {
                        Bound::Below
                    } else if r == overflow && bin == n - 1 {
                        Bound::AtLeast
                    } else {
                        Bound::At
                    };
                    (bin, value, bound)
                })
                .collect()
        }
    }
}

/// First and last bins to print: the non-zero range widened by one zero bin on each side.
/// `scan` bins are searched for the first non-zero one (quantize stops one short of the end,
/// as libdtrace does); `empty` is the range printed when none is found.
fn row_range(w: &[i64], scan: usize, empty: (usize, usize)) -> (usize, usize) {
    let top = w.len() - 1;
    let Some(first) = w[..scan.min(w.len())].iter().position(|&c| c != 0) else {
        return (empty.0.min(top), empty.1.min(top));
    };
    let last = w.iter().rposition(|&c| c != 0).unwrap_or(first);
    (first.saturating_sub(1), (last + 1).min(top))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::print::printa;
    use crate::agg::AggPrintOptions;

    #[test]
    fn rows_follow_printa_order_and_values() {
        let mut a = Aggregation::new(0, "a", AggFunc::Sum);
        a.update(&[Datum::str("x")], 5, 1);
        a.update(&[Datum::str("y")], 2, 1);
        a.update(&[Datum::str("x")], 5, 1);
        let rows = printa_rows(&[&a], &SortOrder::default());
        let mut text = Vec::new();
        printa(&[&a], &AggPrintOptions::default(), &mut text);
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), lines.len());
        for (row, line) in rows.iter().zip(&lines) {
            let Datum::Str(k) = &row.key[0] else {
                panic!("string key expected")
            };
            let RowValue::Int(v) = row.values[0] else {
                panic!("integer value expected")
            };
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words, [String::from_utf8_lossy(k).as_ref(), &v.to_string()]);
        }
    }

    #[test]
    fn quantize_buckets_match_the_printed_histogram() {
        let mut a = Aggregation::new(0, "q", AggFunc::Quantize);
        for v in [1, 2, 3, 3, 100] {
            a.update(&[], v, 1);
        }
        let rows = printa_rows(&[&a], &SortOrder::default());
        let RowValue::Histogram(b) = &rows[0].values[0] else {
            panic!("histogram expected")
        };
        let mut text = Vec::new();
        printa(&[&a], &AggPrintOptions::default(), &mut text);
        let text = String::from_utf8_lossy(&text);
        let printed: Vec<(i64, i64)> = text
            .lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                Some((w.first()?.parse().ok()?, w.last()?.parse().ok()?))
            })
            .collect();
        let ours: Vec<(i64, i64)> = b.iter().map(|b| (b.value, b.count)).collect();
        assert_eq!(ours, printed);
        assert_eq!(b.iter().map(|b| b.count).sum::<i64>(), 5);
    }
}
