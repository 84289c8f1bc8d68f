//! Several aggregations printed by one printa(): entries joined on their key tuples, a key
//! missing from one aggregation counting as zero there (`dtrace_aggregate_walk_joined`).

use std::cmp::Ordering;
use std::collections::HashMap;

use super::sort::{key_cmp, value_cmp, SortOrder};
use super::store::Aggregation;
use crate::datum::Datum;

/// One key tuple and the entry each aggregation has for it.
struct Bundle {
    rep: (usize, usize),
    entries: Vec<Option<usize>>,
}

/// The joined, sorted view.
pub(crate) struct Joined<'a> {
    aggs: &'a [&'a Aggregation],
    bundles: Vec<Bundle>,
    zeros: Vec<Vec<i64>>,
}

impl<'a> Joined<'a> {
    pub(crate) fn new(aggs: &'a [&'a Aggregation], order: &SortOrder) -> Self {
        let mut index: HashMap<&[Datum], usize> = HashMap::new();
        let mut bundles: Vec<Bundle> = Vec::new();
        for (a, agg) in aggs.iter().enumerate() {
            for i in 0..agg.len() {
                let b = *index.entry(agg.key(i)).or_insert_with(|| {
                    bundles.push(Bundle {
                        rep: (a, i),
                        entries: vec![None; aggs.len()],
                    });
                    bundles.len() - 1
                });
                bundles[b].entries[a] = Some(i);
            }
        }
        let zeros = aggs.iter().map(|a| vec![0i64; a.func().words()]).collect();
        let mut j = Joined {
            aggs,
            bundles: Vec::new(),
            zeros,
        };
        let n = aggs.len();
        let pos = if order.sort_pos >= n {
            0
        } else {
            order.sort_pos
        };
        bundles.sort_by(|x, y| {
            let kx = j.rep_key(x);
            let ky = j.rep_key(y);
            let mut c = if order.by_key {
                key_cmp(kx, ky, order.key_pos)
            } else {
                Ordering::Equal
            };
            for step in 0..n {
                if c != Ordering::Equal {
                    break;
                }
                let a = (step + pos) % n;
                c = value_cmp(&aggs[a].func(), j.words(x, a), j.words(y, a));
            }
            if c == Ordering::Equal && !order.by_key {
                c = key_cmp(kx, ky, order.key_pos);
            }
            if order.reverse {
                c.reverse()
            } else {
                c
            }
        });
        j.bundles = bundles;
        j
    }

    fn rep_key(&self, b: &Bundle) -> &'a [Datum] {
        self.aggs[b.rep.0].key(b.rep.1)
    }

    fn words<'s>(&'s self, b: &Bundle, a: usize) -> &'s [i64] {
        match b.entries[a] {
            Some(i) => self.aggs[a].words(i),
            None => &self.zeros[a],
        }
    }

    /// Bundle indices in output order.
    pub(crate) fn bundles(&self) -> std::ops::Range<usize> {
        0..self.bundles.len()
    }

    /// The key tuple of bundle `b`.
    pub(crate) fn key(&self, b: usize) -> &'a [Datum] {
        self.rep_key(&self.bundles[b])
    }

    /// Each aggregation's words for bundle `b` (zeros where it has no entry).
    pub(crate) fn values(&self, b: usize) -> Vec<(&'a Aggregation, &[i64])> {
        let bundle = &self.bundles[b];
        (0..self.aggs.len())
            .map(|a| (self.aggs[a], self.words(bundle, a)))
            .collect()
    }
}
