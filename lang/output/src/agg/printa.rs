//! printa() with a format string: keys feed the non-`%@` conversions in order, each `%@` prints
//! the next aggregation's value (the last one repeats), histograms print whole.

use super::func::{stddev, AggFunc};
use super::join::Joined;
use super::print::{print_value, AggPrintOptions};
use super::store::Aggregation;
use crate::cfmt::Spec;
use crate::datum::{Datum, IntVal};
use crate::printf::{emit, Conversion, Format, RenderError, Source, Symbolizer};

struct Entry<'a, 'v> {
    keys: std::slice::Iter<'a, Datum>,
    values: &'v [(&'a Aggregation, &'v [i64])],
    cur: usize,
}

impl Source for Entry<'_, '_> {
    fn next(&mut self) -> Option<&Datum> {
        self.keys.next()
    }

    fn agg(
        &mut self,
        conv: &Conversion,
        spec: &Spec,
        sym: &dyn Symbolizer,
        out: &mut Vec<u8>,
    ) -> Result<(), RenderError> {
        let Some(&(agg, w)) = self.values.get(self.cur) else {
            return Err(RenderError::MissingArgument(conv.index()));
        };
        if self.cur + 1 < self.values.len() {
            self.cur += 1;
        }
        agg_value(conv, spec, agg, w, sym, out)
    }
}

/// One `%@` conversion of one value (`pfprint_average`, `pfprint_stddev`, the integer printers
/// with the normalization divisor, or a whole histogram).
fn agg_value(
    conv: &Conversion,
    spec: &Spec,
    agg: &Aggregation,
    w: &[i64],
    sym: &dyn Symbolizer,
    out: &mut Vec<u8>,
) -> Result<(), RenderError> {
    let func = agg.func();
    let normal = agg.normal().max(1);
    let value = match func {
        _ if func.is_histogram() => {
            print_value(out, &func, w, normal);
            return Ok(());
        }
        AggFunc::Avg => {
            // libdtrace divides as uint64_t here, unlike the default layout.
            let v = match w[0] {
                0 => 0,
                c => (w[1] as u64) / normal / (c as u64),
            };
            IntVal::new(v, 8, true)
        }
        AggFunc::Stddev => IntVal::new(stddev(w, normal), 8, true),
        _ => {
            // count() is uint64_t to the checker; the others int64_t.
            let signed = func != AggFunc::Count;
            let raw = w[0] as u64;
            let v = if conv.prints_signed(signed) {
                (raw as i64).wrapping_div(normal as i64) as u64
            } else {
                raw / normal
            };
            IntVal::new(v, 8, signed)
        }
    };
    emit(conv, spec, &Datum::Int(value), sym, out)
}

/// `printa(fmt, @a[, @b ...])`: every entry (or joined key tuple) formatted in sorted order,
/// with no leading newline. Marks the aggregations printed.
pub fn printa_format(
    fmt: &Format,
    aggs: &[&Aggregation],
    opts: &AggPrintOptions,
    sym: &dyn Symbolizer,
    out: &mut Vec<u8>,
) -> Result<(), RenderError> {
    if let [agg] = aggs {
        for i in agg.sorted(&opts.order) {
            let values = [(*agg, agg.words(i))];
            let mut src = Entry {
                keys: agg.key(i).iter(),
                values: &values,
                cur: 0,
            };
            fmt.render_from(&mut src, sym, out)?;
            agg.mark_printed();
        }
        return Ok(());
    }
    let joined = Joined::new(aggs, &opts.order);
    for b in joined.bundles() {
        let values = joined.values(b);
        let mut src = Entry {
            keys: joined.key(b).iter(),
            values: &values,
            cur: 0,
        };
        fmt.render_from(&mut src, sym, out)?;
    }
    for agg in aggs {
        if !agg.is_empty() {
            agg.mark_printed();
        }
    }
    Ok(())
}
