//! Rendering a parsed format against run-time values (`dt_printf_format`).

use super::conv::{ArgClass, Out, Printer};
use super::escape::escape_into;
use super::format::{Amount, Conversion, Format};
use super::symbolizer::Symbolizer;
use super::time;
use crate::cfmt::{self, Radix, Spec};
use crate::datum::{cstr, Datum};

/// A run-time formatting failure (the checker normally prevents all of them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// Fewer arguments (or printa keys) than the conversions consume.
    #[error("conversion #{0} has no corresponding value")]
    MissingArgument(usize),
    /// An argument of the wrong kind (a string for `%d`, an integer for `%s`).
    #[error("conversion #{conversion} (%{name}) cannot print this value")]
    ArgType {
        /// dtrace's conversion number.
        conversion: usize,
        /// The conversion name.
        name: &'static str,
    },
    /// `%@` outside printa (D_PRINTF_AGG_CONV at compile time).
    #[error("%@ conversion requires an aggregation and is not for use with printf( )")]
    AggOutsidePrinta,
    /// A conversion D cannot feed: floating point, stacks, wide strings.
    #[error("conversion #{conversion} (%{name}) is not supported for D values")]
    Unsupported {
        /// dtrace's conversion number.
        conversion: usize,
        /// The conversion name.
        name: &'static str,
    },
}

/// The largest width or precision honoured. A `*` takes its value from traced (guest) data, and
/// C would pad to whatever it says; beyond a MiB that only exhausts the host's memory.
pub(crate) const MAX_FIELD: usize = 1 << 20;

/// Where conversions take their values from: printf's argument list or printa's key tuple and
/// aggregation values.
pub(crate) trait Source {
    /// The next argument or key.
    fn next(&mut self) -> Option<&Datum>;
    /// Prints the aggregation value for a `%@` conversion.
    fn agg(
        &mut self,
        conv: &Conversion,
        spec: &Spec,
        sym: &dyn Symbolizer,
        out: &mut Vec<u8>,
    ) -> Result<(), RenderError>;
}

struct Args<'a> {
    args: std::slice::Iter<'a, Datum>,
}

impl Source for Args<'_> {
    fn next(&mut self) -> Option<&Datum> {
        self.args.next()
    }

    fn agg(
        &mut self,
        _: &Conversion,
        _: &Spec,
        _: &dyn Symbolizer,
        _: &mut Vec<u8>,
    ) -> Result<(), RenderError> {
        Err(RenderError::AggOutsidePrinta)
    }
}

impl Format {
    /// printf(): appends the formatted bytes to `out`. `args` are the values after the format
    /// string in order (a `*` width or precision takes one integer argument before its value).
    pub fn render(
        &self,
        args: &[Datum],
        sym: &dyn Symbolizer,
        out: &mut Vec<u8>,
    ) -> Result<(), RenderError> {
        self.render_from(&mut Args { args: args.iter() }, sym, out)
    }

    pub(crate) fn render_from(
        &self,
        src: &mut dyn Source,
        sym: &dyn Symbolizer,
        out: &mut Vec<u8>,
    ) -> Result<(), RenderError> {
        for piece in &self.pieces {
            out.extend_from_slice(self.text(piece));
            let Some(conv) = &piece.conv else { continue };
            if conv.is_percent() {
                out.push(b'%');
                continue;
            }
            let mut spec = conv.base_spec();
            if conv.width() == Amount::Dynamic {
                let w = dyn_int(src.next(), conv)?;
                if w < 0 {
                    spec.left = true;
                }
                spec.width = (w.unsigned_abs() as usize).min(MAX_FIELD);
            }
            if conv.precision() == Amount::Dynamic {
                let p = dyn_int(src.next(), conv)?;
                // libdtrace only passes a precision when it is positive.
                spec.prec = (p > 0).then_some((p as usize).min(MAX_FIELD));
            }
            if conv.is_agg() {
                src.agg(conv, &spec, sym, out)?;
                continue;
            }
            let value = src
                .next()
                .ok_or(RenderError::MissingArgument(conv.index()))?;
            emit(conv, &spec, value, sym, out)?;
        }
        Ok(())
    }
}

/// A `*` value: libdtrace reads the record as a C int, sign-extending narrower records.
fn dyn_int(d: Option<&Datum>, conv: &Conversion) -> Result<i32, RenderError> {
    match d {
        Some(Datum::Int(i)) => Ok(i.sext() as i32),
        Some(_) => Err(type_error(conv)),
        None => Err(RenderError::MissingArgument(conv.index())),
    }
}

fn type_error(conv: &Conversion) -> RenderError {
    RenderError::ArgType {
        conversion: conv.index(),
        name: conv.name(),
    }
}

fn unsupported(conv: &Conversion) -> RenderError {
    RenderError::Unsupported {
        conversion: conv.index(),
        name: conv.name(),
    }
}

fn radix(out: Out) -> Radix {
    match out {
        Out::Oct => Radix::Oct,
        Out::Hex => Radix::Hex,
        Out::HexUpper => Radix::HexUpper,
        _ => Radix::Dec,
    }
}

/// Prints one value through one conversion.
pub(crate) fn emit(
    conv: &Conversion,
    spec: &Spec,
    value: &Datum,
    sym: &dyn Symbolizer,
    out: &mut Vec<u8>,
) -> Result<(), RenderError> {
    let e = conv.entry;
    match (e.printer, value) {
        (Printer::Percent, _) => out.push(b'%'),
        (Printer::Dint, Datum::Int(i)) if i.signed => cfmt::signed(out, spec, i.sext()),
        (Printer::Dint | Printer::Uint, Datum::Int(i)) => {
            cfmt::unsigned(out, spec, i.zext(), radix(e.out))
        }
        (Printer::Sint, Datum::Int(i)) if e.out == Out::Char => {
            cfmt::character(out, spec, i.sext() as u8)
        }
        (Printer::Sint, Datum::Int(i)) => cfmt::signed(out, spec, i.sext()),
        (Printer::Wide, Datum::Int(i)) if e.out == Out::Char => {
            cfmt::character(out, spec, i.zext() as u8)
        }
        (Printer::Addr | Printer::Uaddr, Datum::Int(i)) => {
            let addr = i.zext();
            match sym.symbolize(addr) {
                Some(name) => cfmt::string(out, spec, name.as_bytes()),
                None => {
                    let mut hex = Vec::with_capacity(18);
                    cfmt::hex_addr(&mut hex, addr);
                    cfmt::string(out, spec, &hex);
                }
            }
        }
        (Printer::Cstr, Datum::Str(s)) => cfmt::string(out, spec, cstr(s)),
        (Printer::Estr, Datum::Str(s)) => {
            let mut esc = Vec::with_capacity(s.len() + 2);
            escape_into(&mut esc, cstr(s), true);
            cfmt::string(out, spec, &esc);
        }
        (Printer::Echr, Datum::Int(i)) => {
            let mut esc = Vec::with_capacity(4);
            escape_into(&mut esc, &[i.zext() as u8], false);
            cfmt::string(out, spec, &esc);
        }
        (Printer::Time | Printer::Time822, Datum::Int(i)) => {
            let mut buf = [0u8; 64];
            let n = if e.printer == Printer::Time {
                time::ymd(i.sext(), &mut buf)
            } else {
                time::rfc822(i.sext(), &mut buf)
            };
            cfmt::string(out, spec, &buf[..n]);
        }
        (Printer::InetAddr, Datum::Str(s)) => match sym.host_name(cstr(s)) {
            Some(h) => cfmt::string(out, spec, h.as_bytes()),
            None => cfmt::string(out, spec, cstr(s)),
        },
        (Printer::Port, Datum::Int(i)) => match sym.service_name(i.zext() as u16) {
            Some(name) => cfmt::string(out, spec, name.as_bytes()),
            None => {
                let mut buf = Vec::with_capacity(6);
                cfmt::signed(&mut buf, &Spec::default(), i64::from(i.zext() as u16));
                cfmt::string(out, spec, &buf);
            }
        },
        (Printer::Float, Datum::Float(f)) => {
            let c = match e.out {
                Out::Float(c) => c,
                _ => b'f',
            };
            cfmt::float(out, spec, f.value, c);
        }
        (Printer::Float, _) => return Err(type_error(conv)),
        (Printer::Stack, Datum::Stack(pcs)) => stack_conversion(out, spec, pcs, sym),
        (Printer::Stack | Printer::Wide, _) => return Err(unsupported(conv)),
        _ if e.class == ArgClass::None => out.push(b'%'),
        _ => return Err(type_error(conv)),
    }
    Ok(())
}

/// `%k` (`pfprint_stack`): a `-` flag turns the width into the frames' indent; otherwise the
/// frames are not indented and each symbol is padded to the width.
fn stack_conversion(out: &mut Vec<u8>, spec: &Spec, pcs: &[u64], sym: &dyn Symbolizer) {
    let (indent, field) = if spec.left {
        (spec.width, Spec::default())
    } else {
        (0, *spec)
    };
    out.push(b'\n');
    for &pc in crate::datum::stack_frames(pcs) {
        out.resize(out.len() + indent, b' ');
        match sym.symbolize(pc) {
            Some(name) => cfmt::string(out, &field, name.as_bytes()),
            None => {
                let mut hex = Vec::with_capacity(18);
                cfmt::hex_addr(&mut hex, pc);
                cfmt::string(out, &field, &hex);
            }
        }
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datum::IntVal;
    use crate::printf::NoSymbols;

    fn pf(fmt: &str, args: &[Datum]) -> String {
        let f = Format::parse(fmt).unwrap();
        let mut out = Vec::new();
        f.render(args, &NoSymbols, &mut out).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    const BIG: u64 = 0x1234_5678_90ab_cdef;

    fn int(size: u8, signed: bool) -> Datum {
        Datum::Int(IntVal::new(BIG, size, signed))
    }

    #[test]
    fn d_follows_the_argument_signedness() {
        // printf/tst.ints: %d of (char), (short), (int), (long long) casts of 0x1234567890abcdef.
        assert_eq!(pf("%d", &[int(1, true)]), "-17");
        assert_eq!(pf("%d", &[int(2, true)]), "-12817");
        assert_eq!(pf("%d", &[int(4, true)]), "-1867788817");
        assert_eq!(pf("%d", &[int(8, true)]), "1311768467294899695");
        assert_eq!(pf("%d", &[int(1, false)]), "239");
        assert_eq!(pf("%d", &[int(4, false)]), "2427178479");
        // %u zero-extends from the record size whatever the signedness.
        assert_eq!(pf("%u", &[int(2, true)]), "52719");
        // %x and %o too.
        assert_eq!(
            pf("%x %o", &[int(4, true), int(2, true)]),
            "90abcdef 146757"
        );
        // %p prints like %x, without 0x.
        assert_eq!(pf("%p", &[Datum::u64(0x12345678)]), "12345678");
    }

    #[test]
    fn i_is_always_signed() {
        // printf/tst.signs: uint16_t 0xffff gives "65535 -1 65535" for %d %i %u.
        let x = Datum::Int(IntVal::new(u64::MAX, 2, false));
        let y = Datum::Int(IntVal::new(u64::MAX, 2, true));
        assert_eq!(pf("%d %i %u", &[x.clone(), x.clone(), x]), "65535 -1 65535");
        assert_eq!(pf("%d %i %u", &[y.clone(), y.clone(), y]), "-1 -1 65535");
    }

    #[test]
    fn dynamic_width_and_precision() {
        // A negative * width left-justifies; a zero or negative * precision is dropped.
        assert_eq!(pf("[%*d]", &[Datum::i32(-5), Datum::i32(42)]), "[42   ]");
        assert_eq!(pf("[%.*s]", &[Datum::i32(0), Datum::str("abc")]), "[abc]");
        assert_eq!(pf("[%.*s]", &[Datum::i32(2), Datum::str("abc")]), "[ab]");
        assert_eq!(pf("[%?p]", &[Datum::u64(0xff)]), "[              ff]");
        // A width from traced data is capped rather than allowed to exhaust memory.
        assert_eq!(
            pf("%*d", &[Datum::i32(i32::MAX), Datum::i32(1)]).len(),
            MAX_FIELD
        );
    }

    #[test]
    fn chars_strings_and_escapes() {
        let a = Datum::i32(97);
        assert_eq!(pf("%c %lc %wc", &[a.clone(), a.clone(), a]), "a a a");
        assert_eq!(pf("%S", &[Datum::str("a\nb")]), "a\\nb\\0");
        assert_eq!(pf("%C", &[Datum::i32(9)]), "\\t");
        assert_eq!(
            pf("%-6s|%6s", &[Datum::str("ab"), Datum::str("cd")]),
            "ab    |    cd"
        );
        assert_eq!(pf("100%%", &[]), "100%");
    }

    #[test]
    fn names_fall_back_to_raw_values() {
        assert_eq!(
            pf("%a", &[Datum::u64(0xffffffff80001000)]),
            "0xffffffff80001000"
        );
        assert_eq!(
            pf(
                "%I %P",
                &[Datum::str("10.0.0.1"), Datum::Int(IntVal::u16(80))]
            ),
            "10.0.0.1 80"
        );
    }

    #[test]
    fn every_short_format_parses_or_fails_cleanly() {
        // Exhaustive over a small alphabet of format characters: parse and render never panic.
        let alphabet = b"%-0*.?@lhdxs$'# 9Y";
        let args = [
            Datum::i32(-3),
            Datum::str("ab"),
            Datum::i64(7),
            Datum::i32(2),
        ];
        let mut out = Vec::new();
        let mut count = 0;
        let n = alphabet.len();
        for len in 1..=4u32 {
            for mut code in 0..n.pow(len) {
                let mut f = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    f.push(alphabet[code % n]);
                    code /= n;
                }
                if let Ok(fmt) = Format::parse(&f) {
                    out.clear();
                    let _ = fmt.render(&args, &NoSymbols, &mut out);
                    count += 1;
                }
            }
        }
        assert!(count > 1000, "only {count} formats parsed");
    }

    #[test]
    fn errors_are_typed() {
        let f = Format::parse("%d %s").unwrap();
        let mut out = Vec::new();
        assert_eq!(
            f.render(&[Datum::i32(1)], &NoSymbols, &mut out),
            Err(RenderError::MissingArgument(2))
        );
        assert!(matches!(
            f.render(&[Datum::str("x"), Datum::str("y")], &NoSymbols, &mut out),
            Err(RenderError::ArgType { conversion: 1, .. })
        ));
        let g = Format::parse("%@d").unwrap();
        assert_eq!(
            g.render(&[], &NoSymbols, &mut out),
            Err(RenderError::AggOutsidePrinta)
        );
        // An integer for %f is a type error (the checker's D_PRINTF_ARG_TYPE); a stack
        // conversion cannot be fed from a Datum at all.
        let h = Format::parse("%f %k").unwrap();
        assert!(matches!(
            h.render(&[Datum::i32(1)], &NoSymbols, &mut out),
            Err(RenderError::ArgType { conversion: 1, .. })
        ));
        let float = Datum::Float(crate::datum::FloatVal {
            value: 0.5,
            size: 8,
        });
        assert!(matches!(
            h.render(&[float, Datum::i32(1)], &NoSymbols, &mut out),
            Err(RenderError::Unsupported { conversion: 2, .. })
        ));
    }
}
