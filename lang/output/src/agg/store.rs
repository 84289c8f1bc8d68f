//! One aggregation's entries: keyed by a tuple of data, updated in place, hashed once per
//! update and never allocating for a key it already holds.

use std::cell::Cell;
use std::hash::{Hash, Hasher};

use hashbrown::HashTable;
use rustc_hash::FxHasher;

use super::func::AggFunc;
use super::sort::{entry_cmp, SortOrder};
use crate::datum::Datum;

/// Misuse of an aggregation at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AggError {
    /// normalize() by zero (dtrace would divide by zero when printing).
    #[error("normalization factor must be non-zero")]
    ZeroNormal,
}

/// An aggregation variable (`@name`): its entries, its normalization and whether a printa()
/// already printed it (then it is not printed again at exit).
#[derive(Debug)]
pub struct Aggregation {
    id: u32,
    name: String,
    func: AggFunc,
    stride: usize,
    keys: Vec<Box<[Datum]>>,
    hashes: Vec<u64>,
    data: Vec<i64>,
    table: HashTable<u32>,
    normal: u64,
    printed: Cell<bool>,
}

fn hash_key(key: &[Datum]) -> u64 {
    let mut h = FxHasher::default();
    for d in key {
        d.hash(&mut h);
    }
    h.finish()
}

impl Aggregation {
    /// A new, empty aggregation. `id` is its variable id: its order of declaration (first use)
    /// in the program, which orders output across aggregations.
    pub fn new(id: u32, name: impl Into<String>, func: AggFunc) -> Self {
        Aggregation {
            id,
            name: name.into(),
            func,
            stride: func.words(),
            keys: Vec::new(),
            hashes: Vec::new(),
            data: Vec::new(),
            table: HashTable::new(),
            normal: 1,
            printed: Cell::new(false),
        }
    }

    /// The variable id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The name without `@` (empty for the anonymous `@`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The aggregating function.
    pub fn func(&self) -> AggFunc {
        self.func
    }

    /// Number of entries (keys) held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no entries (such an aggregation prints nothing).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The normalization factor (1 unless normalize() was called).
    pub fn normal(&self) -> u64 {
        self.normal
    }

    /// Whether a printa() printed this aggregation (it is then skipped at exit).
    pub fn printed(&self) -> bool {
        self.printed.get()
    }

    pub(crate) fn mark_printed(&self) {
        self.printed.set(true);
    }

    /// Records one firing: `value` is the function's argument (ignored by count()), `incr` the
    /// optional increment of quantize/lquantize/llquantize (1 when not given).
    #[inline]
    pub fn update(&mut self, key: &[Datum], value: i64, incr: i64) {
        let hash = hash_key(key);
        let keys = &self.keys;
        let idx = match self.table.find(hash, |&i| &*keys[i as usize] == key) {
            Some(&i) => i as usize,
            None => self.insert(hash, key),
        };
        let s = self.stride;
        self.func
            .apply(&mut self.data[idx * s..(idx + 1) * s], value, incr);
    }

    #[cold]
    fn insert(&mut self, hash: u64, key: &[Datum]) -> usize {
        let idx = self.keys.len();
        self.keys.push(key.into());
        self.hashes.push(hash);
        let start = self.data.len();
        self.data.resize(start + self.stride, 0);
        self.func.init(&mut self.data[start..]);
        let hashes = &self.hashes;
        self.table
            .insert_unique(hash, idx as u32, |&i| hashes[i as usize]);
        idx
    }

    /// clear(): every value becomes zero; the keys stay and print with 0.
    pub fn clear(&mut self) {
        self.data.fill(0);
    }

    /// trunc(): `None` removes every entry; `Some(n)` keeps the `n` largest values (n > 0) or
    /// the `|n|` smallest (n < 0), ties broken by key as dtrace's value sort does.
    pub fn trunc(&mut self, keep: Option<i64>) {
        let Some(n) = keep else {
            self.retain_indices(&[]);
            return;
        };
        let order = SortOrder::default();
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_by(|&a, &b| {
            let c = entry_cmp(self, a, self, b, &order);
            if n > 0 {
                c.reverse()
            } else {
                c
            }
        });
        idx.truncate(n.unsigned_abs().min(idx.len() as u64) as usize);
        idx.sort_unstable();
        self.retain_indices(&idx);
    }

    /// normalize(): printed values are divided by `n` from now on (bars are unchanged).
    pub fn normalize(&mut self, n: u64) -> Result<(), AggError> {
        if n == 0 {
            return Err(AggError::ZeroNormal);
        }
        self.normal = n;
        Ok(())
    }

    /// denormalize(): back to the raw values.
    pub fn denormalize(&mut self) {
        self.normal = 1;
    }

    /// Keeps the entries at the (ascending) indices given and rebuilds the index.
    fn retain_indices(&mut self, keep: &[usize]) {
        let s = self.stride;
        let mut keys = Vec::with_capacity(keep.len());
        let mut hashes = Vec::with_capacity(keep.len());
        let mut data = Vec::with_capacity(keep.len() * s);
        for &i in keep {
            keys.push(std::mem::take(&mut self.keys[i]));
            hashes.push(self.hashes[i]);
            data.extend_from_slice(&self.data[i * s..(i + 1) * s]);
        }
        self.keys = keys;
        self.hashes = hashes;
        self.data = data;
        self.table.clear();
        for (i, &h) in self.hashes.iter().enumerate() {
            let hashes = &self.hashes;
            self.table
                .insert_unique(h, i as u32, |&j| hashes[j as usize]);
        }
    }

    /// The key tuple of entry `i`.
    pub fn key(&self, i: usize) -> &[Datum] {
        &self.keys[i]
    }

    /// The stored words of entry `i` (for printing and sorting).
    pub(crate) fn words(&self, i: usize) -> &[i64] {
        &self.data[i * self.stride..(i + 1) * self.stride]
    }

    /// The entry index for `key`, if present.
    pub fn find(&self, key: &[Datum]) -> Option<usize> {
        let keys = &self.keys;
        self.table
            .find(hash_key(key), |&i| &*keys[i as usize] == key)
            .map(|&i| i as usize)
    }

    /// Entry indices in output order under `order`.
    pub(crate) fn sorted(&self, order: &SortOrder) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_by(|&a, &b| entry_cmp(self, a, self, b, order));
        idx
    }

    /// The scalar value of entry `i` as count/sum/min/max store it, or the average for avg().
    pub fn value(&self, i: usize) -> i64 {
        let w = self.words(i);
        match self.func {
            AggFunc::Avg => match w[0] {
                0 => 0,
                c => w[1].wrapping_div(c),
            },
            _ => w[0],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Vec<Datum> {
        vec![Datum::str(s)]
    }

    #[test]
    fn update_clear_trunc() {
        let mut a = Aggregation::new(1, "a", AggFunc::Count);
        for (s, n) in [("x", 3), ("y", 1), ("z", 2)] {
            for _ in 0..n {
                a.update(&k(s), 0, 1);
            }
        }
        assert_eq!(a.len(), 3);
        assert_eq!(a.value(a.find(&k("x")).unwrap_or(9)), 3);
        let mut b = Aggregation::new(1, "a", AggFunc::Count);
        for (s, n) in [("x", 3), ("y", 1), ("z", 2)] {
            for _ in 0..n {
                b.update(&k(s), 0, 1);
            }
        }
        a.trunc(Some(2));
        assert!(a.find(&k("y")).is_none());
        assert_eq!(a.len(), 2);
        b.trunc(Some(-1));
        assert_eq!(b.len(), 1);
        assert!(b.find(&k("y")).is_some());
        a.clear();
        assert_eq!(a.len(), 2);
        assert_eq!(a.value(0), 0);
        a.update(&k("x"), 0, 1);
        assert_eq!(a.value(a.find(&k("x")).unwrap_or(9)), 1);
        a.trunc(None);
        assert!(a.is_empty());
        a.update(&k("q"), 0, 1);
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn min_max_start_from_the_extremes() {
        let mut m = Aggregation::new(0, "m", AggFunc::Min);
        m.update(&[], 5, 1);
        m.update(&[], 7, 1);
        assert_eq!(m.value(0), 5);
        let mut x = Aggregation::new(0, "x", AggFunc::Max);
        x.update(&[], -5, 1);
        assert_eq!(x.value(0), -5);
        assert_eq!(x.normalize(0), Err(AggError::ZeroNormal));
    }
}
