//! The order dtrace prints aggregation entries in (`dt_aggregate_varvalcmp` and friends):
//! by variable id, then value, ties by keys; or by keys with `aggsortkey`; reversed with
//! `aggsortrev`; keys compared from `aggsortkeypos` on.

use std::cmp::Ordering;

use super::func::{quantize_bucket_value, stddev, AggFunc, QUANTIZE_ZERO};
use super::store::Aggregation;
use crate::datum::Datum;

/// The sorting options (`aggsortkey`, `aggsortrev`, `aggsortpos`, `aggsortkeypos`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SortOrder {
    /// `aggsortkey`: sort by key (then value is never consulted: keys are unique).
    pub by_key: bool,
    /// `aggsortrev`: reverse the whole order.
    pub reverse: bool,
    /// `aggsortpos`: in a printa() of several aggregations, whose value sorts first.
    pub sort_pos: usize,
    /// `aggsortkeypos`: the key compared first (then the others, wrapping around).
    pub key_pos: usize,
}

/// Compares two keys: integers by record size (narrower first) then as unsigned numbers,
/// strings bytewise as their NUL-padded records, integers before strings.
pub(crate) fn datum_cmp(a: &Datum, b: &Datum) -> Ordering {
    let record = |d: &Datum| match d {
        Datum::Int(i) => Some(*i),
        Datum::Float(f) => Some(f.record()),
        _ => None,
    };
    // Within one aggregation every key position has one type; across types only the order
    // must be stable (integers, then stacks, then strings).
    let rank = |d: &Datum| match d {
        Datum::Int(_) | Datum::Float(_) => 0,
        Datum::Stack(_) => 1,
        Datum::Str(_) => 2,
    };
    match (record(a), record(b), a, b) {
        (Some(x), Some(y), ..) => x.size.cmp(&y.size).then(x.zext().cmp(&y.zext())),
        (_, _, Datum::Str(x), Datum::Str(y)) => crate::datum::cstr(x).cmp(crate::datum::cstr(y)),
        (_, _, Datum::Stack(x), Datum::Stack(y)) => stack_cmp(x, y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Stack records compare bytewise: each pc's little-endian bytes in turn, a shorter stack
/// padded with zero pcs.
fn stack_cmp(a: &[u64], b: &[u64]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).copied().unwrap_or(0).to_le_bytes();
        let y = b.get(i).copied().unwrap_or(0).to_le_bytes();
        let c = x.cmp(&y);
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

/// `dt_aggregate_keycmp`: key tuples from `key_pos` on, wrapping.
pub(crate) fn key_cmp(a: &[Datum], b: &[Datum], key_pos: usize) -> Ordering {
    let n = a.len().min(b.len());
    let pos = if key_pos >= n { 0 } else { key_pos };
    for i in 0..n {
        let j = (i + pos) % n;
        let c = datum_cmp(&a[j], &b[j]);
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

fn lquantize_params(func: &AggFunc) -> (i64, i64) {
    match *func {
        AggFunc::Lquantize { base, step, .. } => (i64::from(base), i64::from(step)),
        _ => (0, 1),
    }
}

/// Σ bucket value × count, the weight histograms sort by.
fn histogram_sum(func: &AggFunc, w: &[i64]) -> i128 {
    let mut total: i128 = 0;
    let mut add = |count: i64, at: i64| {
        total = total.saturating_add(i128::from(count) * i128::from(at));
    };
    match *func {
        AggFunc::Quantize => {
            for (i, &c) in w.iter().enumerate() {
                add(c, quantize_bucket_value(i));
            }
        }
        AggFunc::Lquantize { .. } => {
            let (mut base, step) = lquantize_params(func);
            let levels = w.len() - 2;
            add(w[0], base - 1);
            for &c in &w[1..=levels] {
                add(c, base);
                base += step;
            }
            add(w[levels + 1], base + 1);
        }
        AggFunc::Llquantize { .. } => {
            let mut bins = super::print::llquantize_rows(func, w.len()).into_iter();
            if let Some((_, at)) = bins.next() {
                add(w[0], at - 1);
            }
            for (i, at) in bins {
                add(w[i], at);
            }
        }
        _ => {}
    }
    total
}

/// The zero-bucket tie breaker of histograms.
fn histogram_zero(func: &AggFunc, w: &[i64]) -> i64 {
    match *func {
        AggFunc::Quantize => w[QUANTIZE_ZERO],
        AggFunc::Lquantize { .. } => {
            let (mut base, step) = lquantize_params(func);
            let levels = w.len() - 2;
            if base - 1 == 0 {
                return w[0];
            }
            for &c in &w[1..=levels] {
                if base == 0 {
                    return c;
                }
                base += step;
            }
            if base + 1 == 0 {
                return w[levels + 1];
            }
            0
        }
        AggFunc::Llquantize { .. } => w[0],
        _ => 0,
    }
}

/// `dt_aggregate_valcmp` for two entries of the same function.
pub(crate) fn value_cmp(func: &AggFunc, a: &[i64], b: &[i64]) -> Ordering {
    match func {
        AggFunc::Count | AggFunc::Sum | AggFunc::Min | AggFunc::Max => a[0].cmp(&b[0]),
        AggFunc::Avg => {
            let avg = |w: &[i64]| {
                if w[0] == 0 {
                    0
                } else {
                    w[1].wrapping_div(w[0])
                }
            };
            avg(a).cmp(&avg(b))
        }
        AggFunc::Stddev => stddev(a, 1).cmp(&stddev(b, 1)),
        _ => histogram_sum(func, a)
            .cmp(&histogram_sum(func, b))
            .then_with(|| histogram_zero(func, a).cmp(&histogram_zero(func, b))),
    }
}

/// The order of two entries of one printed aggregation walk (`varvalcmp`/`varkeycmp`, with
/// `aggsortrev` reversing everything).
pub(crate) fn entry_cmp(
    a: &Aggregation,
    i: usize,
    b: &Aggregation,
    j: usize,
    order: &SortOrder,
) -> Ordering {
    let c = a.id().cmp(&b.id()).then_with(|| {
        if order.by_key {
            key_cmp(a.key(i), b.key(j), order.key_pos)
        } else {
            value_cmp(&a.func(), a.words(i), b.words(j))
                .then_with(|| key_cmp(a.key(i), b.key(j), order.key_pos))
        }
    });
    if order.reverse {
        c.reverse()
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datum::IntVal;

    #[test]
    fn integer_keys_sort_unsigned_and_narrow_first() {
        let neg = Datum::Int(IntVal::i32(-1));
        let pos = Datum::Int(IntVal::i32(5));
        assert_eq!(datum_cmp(&pos, &neg), Ordering::Less);
        let narrow = Datum::Int(IntVal::u8(200));
        assert_eq!(datum_cmp(&narrow, &pos), Ordering::Less);
        assert_eq!(
            datum_cmp(&Datum::str("ab"), &Datum::str("abc")),
            Ordering::Less
        );
    }

    #[test]
    fn key_position_rotates_the_comparison() {
        let a = [Datum::i32(1), Datum::i32(9)];
        let b = [Datum::i32(2), Datum::i32(3)];
        assert_eq!(key_cmp(&a, &b, 0), Ordering::Less);
        assert_eq!(key_cmp(&a, &b, 1), Ordering::Greater);
        assert_eq!(key_cmp(&a, &b, 7), Ordering::Less);
    }
}
