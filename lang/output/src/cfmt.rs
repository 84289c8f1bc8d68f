//! The part of FreeBSD libc's printf(3) that dtrace's output goes through: padding, signs,
//! precision and radix prefixes for integers, strings and characters.
//!
//! Every formatted byte in this crate is written by these functions, so the C rules live in one
//! place. FreeBSD's rules differ from glibc's in one visible way: the `0` flag also pads `%s`
//! and `%c` with zeros.

/// Flags, width and precision of one conversion, as libdtrace passes them to printf(3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spec {
    /// `#`: alternate form (`0x` for hex, a leading `0` for octal).
    pub alt: bool,
    /// `0`: pad with zeros after the sign or prefix.
    pub zero: bool,
    /// `-`: left-justify.
    pub left: bool,
    /// `+`: always print a sign for signed conversions.
    pub plus: bool,
    /// ` `: print a space where a `+` would go.
    pub space: bool,
    /// Minimum field width.
    pub width: usize,
    /// Precision; libdtrace only passes one when it is positive.
    pub prec: Option<usize>,
}

impl Spec {
    /// A plain right-justified field of `width`.
    pub const fn width(width: usize) -> Self {
        Spec {
            alt: false,
            zero: false,
            left: false,
            plus: false,
            space: false,
            width,
            prec: None,
        }
    }

    /// A left-justified field of `width`.
    pub const fn left(width: usize) -> Self {
        let mut s = Spec::width(width);
        s.left = true;
        s
    }
}

/// Integer radix and case of a conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Radix {
    /// `%d %i %u`.
    Dec,
    /// `%o`.
    Oct,
    /// `%x` (and `%p`).
    Hex,
    /// `%X`.
    HexUpper,
}

fn pad(out: &mut Vec<u8>, byte: u8, n: usize) {
    out.resize(out.len() + n, byte);
}

/// Writes `digits` (most significant first) with a sign/prefix, precision and width applied.
fn emit_number(out: &mut Vec<u8>, spec: &Spec, prefix: &[u8], digits: &[u8]) {
    let prec_zeros = spec.prec.map_or(0, |p| p.saturating_sub(digits.len()));
    let body = prefix.len() + prec_zeros + digits.len();
    let fill = spec.width.saturating_sub(body);
    // C ignores the 0 flag once a precision is given for an integer conversion.
    let zero = spec.zero && !spec.left && spec.prec.is_none();
    if !spec.left && !zero {
        pad(out, b' ', fill);
    }
    out.extend_from_slice(prefix);
    if zero {
        pad(out, b'0', fill);
    }
    pad(out, b'0', prec_zeros);
    out.extend_from_slice(digits);
    if spec.left {
        pad(out, b' ', fill);
    }
}

/// Digits of `v` in `radix` into the tail of `buf`; returns the start index.
fn digits(mut v: u64, radix: Radix, buf: &mut [u8; 24]) -> usize {
    let (base, table): (u64, &[u8; 16]) = match radix {
        Radix::Dec => (10, b"0123456789abcdef"),
        Radix::Oct => (8, b"0123456789abcdef"),
        Radix::Hex => (16, b"0123456789abcdef"),
        Radix::HexUpper => (16, b"0123456789ABCDEF"),
    };
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = table[(v % base) as usize];
        v /= base;
        if v == 0 {
            return i;
        }
    }
}

/// `%d`/`%i` of a signed value.
pub fn signed(out: &mut Vec<u8>, spec: &Spec, v: i64) {
    let mut buf = [0u8; 24];
    let start = digits(v.unsigned_abs(), Radix::Dec, &mut buf);
    let sign: &[u8] = if v < 0 {
        b"-"
    } else if spec.plus {
        b"+"
    } else if spec.space {
        b" "
    } else {
        b""
    };
    emit_number(out, spec, sign, &buf[start..]);
}

/// `%u %o %x %X` of an unsigned value (`+` and space do not apply to unsigned conversions).
pub fn unsigned(out: &mut Vec<u8>, spec: &Spec, v: u64, radix: Radix) {
    let mut buf = [0u8; 24];
    let start = digits(v, radix, &mut buf);
    let digits = &buf[start..];
    let prefix: &[u8] = match radix {
        Radix::Hex if spec.alt && v != 0 => b"0x",
        Radix::HexUpper if spec.alt && v != 0 => b"0X",
        _ => b"",
    };
    if radix == Radix::Oct
        && spec.alt
        && !matches!(spec.prec, Some(p) if p > digits.len())
        && v != 0
    {
        // The alternate octal form guarantees one leading zero.
        let mut with_zero = [0u8; 25];
        with_zero[0] = b'0';
        with_zero[1..=digits.len()].copy_from_slice(digits);
        emit_number(out, spec, prefix, &with_zero[..=digits.len()]);
        return;
    }
    emit_number(out, spec, prefix, digits);
}

/// `%s` of a byte string: precision truncates, width pads (with zeros under `0`, as BSD does).
pub fn string(out: &mut Vec<u8>, spec: &Spec, s: &[u8]) {
    let s = match spec.prec {
        Some(p) if p < s.len() => &s[..p],
        _ => s,
    };
    let fill = spec.width.saturating_sub(s.len());
    if !spec.left {
        pad(out, if spec.zero { b'0' } else { b' ' }, fill);
    }
    out.extend_from_slice(s);
    if spec.left {
        pad(out, b' ', fill);
    }
}

/// `%c` of one byte.
pub fn character(out: &mut Vec<u8>, spec: &Spec, c: u8) {
    let mut s = *spec;
    s.prec = None;
    string(out, &s, &[c]);
}

/// `%e %E %f %F %g %G` of a double, with C's rules: six digits by default, an exponent of at
/// least two digits, `%g` choosing the style by exponent and dropping trailing zeros unless `#`.
pub fn float(out: &mut Vec<u8>, spec: &Spec, v: f64, conv: u8) {
    let upper = conv.is_ascii_uppercase();
    let sign: &[u8] = if v.is_sign_negative() && !v.is_nan() {
        b"-"
    } else if spec.plus {
        b"+"
    } else if spec.space {
        b" "
    } else {
        b""
    };
    if !v.is_finite() {
        let word = match (v.is_nan(), upper) {
            (true, false) => "nan",
            (true, true) => "NAN",
            (false, false) => "inf",
            (false, true) => "INF",
        };
        let mut s = *spec;
        s.zero = false;
        s.prec = None;
        emit_number(out, &s, sign, word.as_bytes());
        return;
    }
    let a = v.abs();
    let prec = spec.prec.unwrap_or(6);
    let body = match conv.to_ascii_lowercase() {
        b'e' => exp_form(a, prec, spec.alt),
        b'g' => {
            let p = prec.max(1);
            let exp = exponent_after_rounding(a, p - 1);
            let mut s = if exp < -4 || exp >= p as i32 {
                exp_form(a, p - 1, spec.alt)
            } else {
                fixed_form(a, (p as i32 - 1 - exp) as usize, spec.alt)
            };
            if !spec.alt {
                s = strip_fraction_zeros(s);
            }
            s
        }
        _ => fixed_form(a, prec, spec.alt),
    };
    let body = if upper {
        body.to_ascii_uppercase()
    } else {
        body
    };
    let mut s = *spec;
    // The precision was consumed above; the 0 flag pads between sign and digits.
    s.prec = None;
    emit_number(out, &s, sign, body.as_bytes());
}

fn fixed_form(a: f64, prec: usize, alt: bool) -> String {
    let mut s = format!("{a:.prec$}");
    if alt && prec == 0 {
        s.push('.');
    }
    s
}

fn exponent_after_rounding(a: f64, prec: usize) -> i32 {
    let s = format!("{a:.prec$e}");
    s.rsplit_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0)
}

fn exp_form(a: f64, prec: usize, alt: bool) -> String {
    let s = format!("{a:.prec$e}");
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let dot = if alt && prec == 0 { "." } else { "" };
    let esign = if exp < 0 { '-' } else { '+' };
    format!("{mant}{dot}e{esign}{:02}", exp.unsigned_abs())
}

/// `%g` without `#`: trailing zeros of the fraction go, and the point if nothing follows it.
fn strip_fraction_zeros(s: String) -> String {
    let (mant, exp) = match s.find('e') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s.as_str(), ""),
    };
    let mant = if mant.contains('.') {
        mant.trim_end_matches('0').trim_end_matches('.')
    } else {
        mant
    };
    format!("{mant}{exp}")
}

/// An address no symbol covers, as dtrace prints it: `"0x%llx"`.
pub fn hex_addr(out: &mut Vec<u8>, addr: u64) {
    out.extend_from_slice(b"0x");
    unsigned(out, &Spec::default(), addr, Radix::Hex);
}

/// `" %16lld"`-style fields used throughout dtrace's fixed layouts.
pub fn int_field(out: &mut Vec<u8>, width: usize, v: i64) {
    signed(out, &Spec::width(width), v);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap_or_default()
    }

    #[test]
    fn flags_follow_c() {
        // printf/tst.flags: "%#8x" "%08x" "%-8x" "%+8d" "% 8d" of 0x123 / 123.
        let mut alt = Spec::width(8);
        alt.alt = true;
        assert_eq!(s(|o| unsigned(o, &alt, 0x123, Radix::Hex)), "   0x123");
        let mut zero = Spec::width(8);
        zero.zero = true;
        assert_eq!(s(|o| unsigned(o, &zero, 0x123, Radix::Hex)), "00000123");
        assert_eq!(
            s(|o| unsigned(o, &Spec::left(8), 0x123, Radix::Hex)),
            "123     "
        );
        let mut plus = Spec::width(8);
        plus.plus = true;
        assert_eq!(s(|o| signed(o, &plus, 123)), "    +123");
        let mut space = Spec::width(8);
        space.space = true;
        assert_eq!(s(|o| signed(o, &space, 123)), "     123");
    }

    #[test]
    fn precision_and_zero_padding() {
        let mut p = Spec::width(8);
        p.prec = Some(5);
        p.zero = true; // ignored with a precision
        assert_eq!(s(|o| signed(o, &p, -42)), "  -00042");
        let mut z = Spec::width(6);
        z.zero = true;
        assert_eq!(s(|o| signed(o, &z, -42)), "-00042");
        assert_eq!(
            s(|o| signed(o, &Spec::width(0), i64::MIN)),
            "-9223372036854775808"
        );
        let mut o8 = Spec::width(0);
        o8.alt = true;
        assert_eq!(s(|o| unsigned(o, &o8, 8, Radix::Oct)), "010");
        assert_eq!(s(|o| unsigned(o, &o8, 0, Radix::Hex)), "0");
    }

    #[test]
    fn floats_follow_c() {
        let f = |spec: &Spec, v: f64, c: u8| s(|o| float(o, spec, v, c));
        let d = Spec::default();
        // printf/tst.printeE, tst.print-f, tst.printgG with zero values.
        assert_eq!(f(&d, 0.0, b'e'), "0.000000e+00");
        assert_eq!(f(&d, 0.0, b'E'), "0.000000E+00");
        assert_eq!(f(&d, 0.0, b'f'), "0.000000");
        assert_eq!(f(&d, 0.0, b'g'), "0");
        assert_eq!(f(&d, 1234.5678, b'e'), "1.234568e+03");
        assert_eq!(f(&d, -1.5e-10, b'e'), "-1.500000e-10");
        assert_eq!(f(&d, 100000.0, b'g'), "100000");
        assert_eq!(f(&d, 1000000.0, b'g'), "1e+06");
        assert_eq!(f(&d, 0.0001, b'g'), "0.0001");
        assert_eq!(f(&d, 0.00001, b'G'), "1E-05");
        assert_eq!(f(&d, 2.5, b'g'), "2.5");
        let mut p = Spec::width(10);
        p.prec = Some(2);
        p.zero = true;
        assert_eq!(f(&p, -12.345, b'f'), "-000012.35");
        let alt = Spec {
            alt: true,
            ..Spec::default()
        };
        assert_eq!(f(&alt, 2.5, b'g'), "2.50000");
        assert_eq!(f(&d, f64::INFINITY, b'f'), "inf");
        assert_eq!(f(&d, f64::NAN, b'G'), "NAN");
    }

    #[test]
    fn strings_truncate_and_pad() {
        let mut p = Spec::width(5);
        p.prec = Some(2);
        assert_eq!(s(|o| string(o, &p, b"hello")), "   he");
        let mut z = Spec::width(5);
        z.zero = true;
        assert_eq!(s(|o| string(o, &z, b"ab")), "000ab");
        assert_eq!(s(|o| string(o, &Spec::left(4), b"ab")), "ab  ");
    }
}
