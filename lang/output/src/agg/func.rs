//! Aggregating functions: their parameters, the words each entry stores, and how a value lands
//! in a bucket (the kernel's `dtrace_aggregate_*` functions).

/// An aggregating function with its compile-time parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count()`.
    Count,
    /// `sum(x)`.
    Sum,
    /// `avg(x)`.
    Avg,
    /// `min(x)`.
    Min,
    /// `max(x)`.
    Max,
    /// `stddev(x)`.
    Stddev,
    /// `quantize(x[, incr])`: power-of-two buckets.
    Quantize,
    /// `lquantize(x, base, limit[, step[, incr]])`: linear buckets.
    Lquantize {
        /// Lower bound (the first bucket's value).
        base: i32,
        /// Upper bound.
        limit: i32,
        /// Bucket width.
        step: u16,
    },
    /// `llquantize(x, factor, low, high, nsteps[, incr])`: log-linear buckets (illumos/FreeBSD
    /// algorithm, not DTrace 2.0's).
    Llquantize {
        /// The base of the orders of magnitude.
        factor: u16,
        /// The lowest order.
        low: u16,
        /// The highest order.
        high: u16,
        /// Buckets per order.
        nsteps: u16,
    },
}

/// Parameters the kernel would refuse (the checker reports these with dtrace's texts first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AggParamError {
    /// lquantize: base must be below limit, step non-zero, levels within 1..=65535.
    #[error("lquantize( ) parameters give no valid quantization levels")]
    Lquantize,
    /// llquantize: factor >= 2, low < high, nsteps >= factor, nsteps dividing a power of factor
    /// and a multiple of it.
    #[error("llquantize( ) parameters are invalid")]
    Llquantize,
}

/// Buckets of quantize(): 63 negative, zero, 63 positive.
pub(crate) const QUANTIZE_BUCKETS: usize = 127;
/// Index of quantize()'s zero bucket.
pub(crate) const QUANTIZE_ZERO: usize = 63;

/// The value a quantize() bucket stands for: ..., -2, -1, 0, 1, 2, 4, ...
pub(crate) fn quantize_bucket_value(i: usize) -> i64 {
    match i {
        0..=62 => -(1i64 << (62 - i)),
        63 => 0,
        _ => 1i64 << (i - 64),
    }
}

/// The quantize() bucket of `v`.
pub(crate) fn quantize_bucket(v: i64) -> usize {
    if v > 0 {
        127 - v.leading_zeros() as usize
    } else if v == 0 {
        QUANTIZE_ZERO
    } else {
        (v.unsigned_abs().leading_zeros() as usize).saturating_sub(1)
    }
}

/// The llquantize() bucket of `value` (`dtrace_aggregate_llquantize_bucket`).
pub(crate) fn llquantize_bucket(
    factor: u16,
    low: u16,
    high: u16,
    nsteps: u16,
    value: i64,
) -> usize {
    if factor < 2 || nsteps == 0 {
        // Parameters the kernel refuses (see validate): everything lands in one bucket.
        return 0;
    }
    let factor = i64::from(factor);
    let nsteps_i = i64::from(nsteps);
    let mut this: i64 = 1;
    for _ in 0..low {
        this = this.wrapping_mul(factor);
    }
    let mut last = this;
    if value < last {
        return 0;
    }
    let mut value = value;
    let mut base: i64 = 1;
    this = this.wrapping_mul(factor);
    let mut order = i64::from(low);
    while order <= i64::from(high) {
        let nbuckets = if this > nsteps_i { nsteps_i } else { this };
        let next = this.wrapping_mul(factor);
        if next < this {
            // The kernel clamps rather than overflow.
            value = this - 1;
        }
        if value < this {
            let width = (this / nbuckets).max(1);
            return (base + (value - last) / width) as usize;
        }
        base += nbuckets - nbuckets / factor;
        last = this;
        this = next;
        order += 1;
    }
    base as usize
}

impl AggFunc {
    /// lquantize() with its parameters checked.
    pub fn lquantize(base: i32, limit: i32, step: u16) -> Result<AggFunc, AggParamError> {
        let f = AggFunc::Lquantize { base, limit, step };
        f.validate()?;
        Ok(f)
    }

    /// llquantize() with its parameters checked.
    pub fn llquantize(
        factor: u16,
        low: u16,
        high: u16,
        nsteps: u16,
    ) -> Result<AggFunc, AggParamError> {
        let f = AggFunc::Llquantize {
            factor,
            low,
            high,
            nsteps,
        };
        f.validate()?;
        Ok(f)
    }

    /// Checks the parameters the way the kernel does before it sizes the buckets.
    pub fn validate(&self) -> Result<(), AggParamError> {
        match *self {
            AggFunc::Lquantize { base, limit, step } => {
                let levels = (i64::from(limit) - i64::from(base)) / i64::from(step.max(1));
                if step == 0 || limit <= base || !(1..=65535).contains(&levels) {
                    return Err(AggParamError::Lquantize);
                }
            }
            AggFunc::Llquantize {
                factor,
                low,
                high,
                nsteps,
            } => {
                if factor < 2 || low >= high || nsteps < factor {
                    return Err(AggParamError::Llquantize);
                }
                let mut v = u64::from(factor);
                while v < u64::from(nsteps) {
                    v *= u64::from(factor);
                }
                if v % u64::from(nsteps) != 0 || nsteps % factor != 0 {
                    return Err(AggParamError::Llquantize);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// lquantize()'s number of levels between the underflow and overflow buckets.
    pub(crate) fn levels(&self) -> usize {
        match *self {
            AggFunc::Lquantize { base, limit, step } => ((i64::from(limit) - i64::from(base))
                / i64::from(step.max(1)))
            .clamp(1, 65535) as usize,
            _ => 0,
        }
    }

    /// How many 64-bit words one entry stores.
    pub(crate) fn words(&self) -> usize {
        match *self {
            AggFunc::Count | AggFunc::Sum | AggFunc::Min | AggFunc::Max => 1,
            AggFunc::Avg => 2,
            AggFunc::Stddev => 4,
            AggFunc::Quantize => QUANTIZE_BUCKETS,
            AggFunc::Lquantize { .. } => self.levels() + 2,
            AggFunc::Llquantize {
                factor,
                low,
                high,
                nsteps,
            } => llquantize_bucket(factor, low, high, nsteps, i64::MAX) + 1,
        }
    }

    /// Whether the value prints as a histogram.
    pub fn is_histogram(&self) -> bool {
        matches!(
            self,
            AggFunc::Quantize | AggFunc::Lquantize { .. } | AggFunc::Llquantize { .. }
        )
    }

    /// The words of a new entry (min starts at INT64_MAX, max at INT64_MIN, as in the kernel).
    pub(crate) fn init(&self, words: &mut [i64]) {
        let v = match self {
            AggFunc::Min => i64::MAX,
            AggFunc::Max => i64::MIN,
            _ => 0,
        };
        words.fill(v);
    }

    /// Folds one value into an entry.
    #[inline]
    pub(crate) fn apply(&self, w: &mut [i64], value: i64, incr: i64) {
        match *self {
            AggFunc::Count => w[0] = w[0].wrapping_add(1),
            AggFunc::Sum => w[0] = w[0].wrapping_add(value),
            AggFunc::Min => w[0] = w[0].min(value),
            AggFunc::Max => w[0] = w[0].max(value),
            AggFunc::Avg => {
                w[0] = w[0].wrapping_add(1);
                w[1] = w[1].wrapping_add(value);
            }
            AggFunc::Stddev => {
                w[0] = w[0].wrapping_add(1);
                w[1] = w[1].wrapping_add(value);
                let sq = u128::from(value.unsigned_abs()) * u128::from(value.unsigned_abs());
                let acc =
                    (u128::from(w[3] as u64) << 64 | u128::from(w[2] as u64)).wrapping_add(sq);
                w[2] = acc as u64 as i64;
                w[3] = (acc >> 64) as u64 as i64;
            }
            AggFunc::Quantize => {
                let b = quantize_bucket(value);
                w[b] = w[b].wrapping_add(incr);
            }
            AggFunc::Lquantize { base, step, .. } => {
                // The kernel compares in 32 bits: the value is truncated to an int first.
                let v = value as i32;
                let levels = w.len() - 2;
                let b = if v < base {
                    0
                } else {
                    let level =
                        ((i64::from(v) - i64::from(base)) / i64::from(step.max(1))) as usize;
                    if level < levels {
                        level + 1
                    } else {
                        levels + 1
                    }
                };
                w[b] = w[b].wrapping_add(incr);
            }
            AggFunc::Llquantize {
                factor,
                low,
                high,
                nsteps,
            } => {
                let b = llquantize_bucket(factor, low, high, nsteps, value).min(w.len() - 1);
                w[b] = w[b].wrapping_add(incr);
            }
        }
    }
}

/// `dt_stddev`: sqrt(avg(x²) − avg(x)²) in 128-bit integer arithmetic, normalised.
pub(crate) fn stddev(w: &[i64], normal: u64) -> u64 {
    let count = w[0] as u64;
    if count == 0 {
        return 0;
    }
    let normal = normal.max(1);
    let sumsq = u128::from(w[3] as u64) << 64 | u128::from(w[2] as u64);
    let avg_sq = sumsq / u128::from(normal) / u128::from(normal) / u128::from(count);
    let avg = w[1]
        .wrapping_div(normal as i64)
        .wrapping_div(count as i64)
        .wrapping_abs() as u64;
    let diff = avg_sq.wrapping_sub(u128::from(avg) * u128::from(avg));
    isqrt(diff)
}

/// Floor of the square root, digit by digit as `dt_sqrt_128` computes it.
fn isqrt(n: u128) -> u64 {
    let mut rem: u128 = 0;
    let mut root: u128 = 0;
    let mut shift = 126i32;
    while shift >= 0 {
        rem = (rem << 2) | ((n >> shift) & 3);
        root <<= 1;
        let trial = (root << 1) | 1;
        if trial <= rem {
            rem -= trial;
            root |= 1;
        }
        shift -= 2;
    }
    root as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_buckets_match_the_kernel() {
        assert_eq!(quantize_bucket(0), 63);
        assert_eq!(quantize_bucket(1), 64);
        assert_eq!(quantize_bucket(2), 65);
        assert_eq!(quantize_bucket(3), 65);
        assert_eq!(quantize_bucket(4), 66);
        assert_eq!(quantize_bucket(i64::MAX), 126);
        assert_eq!(quantize_bucket(-1), 62);
        assert_eq!(quantize_bucket(-2), 61);
        assert_eq!(quantize_bucket(-3), 61);
        assert_eq!(quantize_bucket(i64::MIN), 0);
        for i in 0..QUANTIZE_BUCKETS {
            assert_eq!(quantize_bucket(quantize_bucket_value(i)), i);
        }
    }

    #[test]
    fn llquantize_buckets() {
        // factor 10, orders 0..=1, 10 steps: < 1 | 1..9 | 10,20,..,90 | >= 100.
        let b = |v| llquantize_bucket(10, 0, 1, 10, v);
        assert_eq!(b(0), 0);
        assert_eq!(b(1), 1);
        assert_eq!(b(9), 9);
        assert_eq!(b(10), 10);
        assert_eq!(b(95), 18);
        assert_eq!(b(100), 19);
        assert_eq!(b(i64::MAX), 19);
        assert!(AggFunc::llquantize(10, 0, 1, 10).is_ok());
        assert!(AggFunc::llquantize(10, 0, 1, 7).is_err());
    }

    #[test]
    fn stddev_is_integer_sqrt() {
        let f = AggFunc::Stddev;
        let mut w = [0i64; 4];
        for v in [2, 4, 4, 4, 5, 5, 7, 9] {
            f.apply(&mut w, v, 1);
        }
        assert_eq!(stddev(&w, 1), 2);
        assert_eq!(isqrt(99), 9);
        assert_eq!(isqrt(u128::from(u64::MAX) * u128::from(u64::MAX)), u64::MAX);
    }
}
