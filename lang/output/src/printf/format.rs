//! Parsing a printf()/printa() format string once, at compile time, the way libdtrace's
//! `dt_printf_create` does: the same flags, the same quirks, the same error texts.

use super::conv::{lookup, ArgClass, Entry};
use crate::cfmt::Spec;

/// A format string rejected by dtrace's parser; the texts are libdtrace's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Two `*` in the same width or precision (dtrace always says "precision" here).
    #[error("format conversion #{0} has more than one '*' specified for the output precision")]
    TwoStars(usize),
    /// Two `.` in one conversion.
    #[error("format conversion #{0} has more than one '.' specified")]
    TwoDots(usize),
    /// `%n$` positional arguments.
    #[error("format conversion #{0} uses unsupported positional format (%n$)")]
    Positional(usize),
    /// `%` after flags, as in `%-%`.
    #[error("format conversion #{0} cannot be combined with other format flags: %%")]
    PercentWithFlags(usize),
    /// The string ends inside a conversion.
    #[error("format conversion #{0} name expected before end of format string")]
    Unterminated(usize),
    /// A conversion name not in the table, such as `%hhd` or `%q`.
    #[error("format conversion #{0} is undefined: %{1}")]
    Undefined(usize, String),
}

/// A width or precision: absent, a number, or `*` (taken from the next integer argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// Not given (or given as 0, which dtrace treats the same).
    None,
    /// A fixed number (`?` is a width of 16).
    Fixed(usize),
    /// `*`.
    Dynamic,
}

/// The flags written in a conversion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// `#`.
    pub alt: bool,
    /// `0` (a later `-` clears it, and a `0` after `-` clears `-`).
    pub zero: bool,
    /// `-`.
    pub left: bool,
    /// `+`.
    pub plus: bool,
    /// ` `.
    pub space: bool,
    /// `'` (thousands grouping; dtrace runs in the C locale, so it never groups).
    pub group: bool,
    /// `@`: the aggregation value (printa only).
    pub agg: bool,
}

/// One conversion of a format string.
#[derive(Debug, Clone)]
pub struct Conversion {
    index: usize,
    flags: Flags,
    width: Amount,
    precision: Amount,
    pub(crate) entry: &'static Entry,
}

impl Conversion {
    /// The conversion's number as dtrace counts it in messages (every `%`, 1-based).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The conversion name with its size prefix, as dtrace prints it (`d`, `lld`, `hx`, `@`-less).
    pub fn name(&self) -> &'static str {
        self.entry.name
    }

    /// The argument this conversion needs.
    pub fn class(&self) -> ArgClass {
        self.entry.class
    }

    /// dtrace's prototype text for type errors (`char, short, int, long, or long long`).
    pub fn prototype(&self) -> &'static str {
        self.entry.proto
    }

    /// The flags.
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// The width.
    pub fn width(&self) -> Amount {
        self.width
    }

    /// The precision.
    pub fn precision(&self) -> Amount {
        self.precision
    }

    /// Whether this is `%@...`, the aggregation value in printa.
    pub fn is_agg(&self) -> bool {
        self.flags.agg
    }

    /// Whether this is `%%`, which takes no argument.
    pub fn is_percent(&self) -> bool {
        self.entry.class == ArgClass::None
    }

    /// How many arguments (or printa keys) this conversion takes: `*`s plus its value (none for
    /// `%%` and `%@`).
    pub fn arguments(&self) -> usize {
        if self.is_percent() {
            return 0;
        }
        usize::from(self.width == Amount::Dynamic)
            + usize::from(self.precision == Amount::Dynamic)
            + usize::from(!self.flags.agg)
    }

    /// Whether an aggregation value goes through libdtrace's signed printer (and so a signed
    /// normalization division): `%i`-style conversions always, `%d` when the type is signed.
    pub(crate) fn prints_signed(&self, signed_type: bool) -> bool {
        match self.entry.printer {
            super::conv::Printer::Sint => true,
            super::conv::Printer::Dint => signed_type,
            _ => false,
        }
    }

    /// The printf(3) spec before `*` values are known.
    pub(crate) fn base_spec(&self) -> Spec {
        Spec {
            alt: self.flags.alt,
            zero: self.flags.zero,
            left: self.flags.left,
            plus: self.flags.plus,
            space: self.flags.space,
            width: match self.width {
                Amount::Fixed(n) => n,
                _ => 0,
            },
            prec: match self.precision {
                Amount::Fixed(n) if n > 0 => Some(n),
                _ => None,
            },
        }
    }
}

/// Literal text followed by a conversion (the last piece may have none).
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub text: (usize, usize),
    pub conv: Option<Conversion>,
}

/// A parsed printf()/printa() format string.
#[derive(Debug, Clone)]
pub struct Format {
    pub(crate) source: Vec<u8>,
    pub(crate) pieces: Vec<Piece>,
    conversions: Vec<Conversion>,
}

impl Format {
    /// Parses a format string whose escapes the lexer has already turned into bytes. A NUL ends
    /// the string, as it does for C.
    pub fn parse(format: impl AsRef<[u8]>) -> Result<Format, FormatError> {
        let raw = format.as_ref();
        let source = crate::datum::cstr(raw).to_vec();
        let mut pieces = Vec::new();
        let s = &source;
        let mut q = 0;
        let mut count = 0;
        while let Some(off) = s[q..].iter().position(|&b| b == b'%') {
            let pct = q + off;
            count += 1;
            let (conv, end) = parse_one(s, pct, count)?;
            pieces.push(Piece {
                text: (q, pct),
                conv: Some(conv),
            });
            q = end;
        }
        if q < s.len() || s.is_empty() {
            pieces.push(Piece {
                text: (q, s.len()),
                conv: None,
            });
        }
        let conversions = pieces.iter().filter_map(|p| p.conv.clone()).collect();
        Ok(Format {
            source,
            pieces,
            conversions,
        })
    }

    /// The conversions in order, `%%` included (it has [`ArgClass::None`]).
    pub fn conversions(&self) -> &[Conversion] {
        &self.conversions
    }

    /// Whether the format string is empty (D_PRINTF_FMT_EMPTY: "%s( ) format string is empty").
    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }

    /// Number of arguments printf() needs: every `*` and every non-`%@` value.
    pub fn arguments(&self) -> usize {
        self.conversions.iter().map(Conversion::arguments).sum()
    }

    pub(crate) fn text(&self, piece: &Piece) -> &[u8] {
        &self.source[piece.text.0..piece.text.1]
    }
}

/// Parses the conversion whose `%` is at `pct`; returns it and the index after it.
fn parse_one(s: &[u8], pct: usize, index: usize) -> Result<(Conversion, usize), FormatError> {
    let mut flags = Flags::default();
    let mut width = Amount::None;
    let mut precision = Amount::None;
    let mut dot = false;
    let mut digits = 0;
    let mut name: Vec<u8> = Vec::with_capacity(4);
    let mut p = pct + 1;
    loop {
        let Some(&c) = s.get(p) else {
            return Err(FormatError::Unterminated(index));
        };
        match c {
            b'0' if !dot && digits == 0 => {
                flags.zero = true;
                flags.left = false;
            }
            b'0'..=b'9' => {
                let mut n: usize = 0;
                while let Some(&d) = s.get(p).filter(|d| d.is_ascii_digit()) {
                    n = n
                        .saturating_mul(10)
                        .saturating_add(usize::from(d - b'0'))
                        .min(super::render::MAX_FIELD);
                    p += 1;
                }
                p -= 1;
                if dot {
                    precision = Amount::Fixed(n);
                } else {
                    width = Amount::Fixed(n);
                }
                digits += 1;
            }
            b'#' => flags.alt = true,
            b'*' => {
                let slot = if dot { &mut precision } else { &mut width };
                if *slot == Amount::Dynamic {
                    return Err(FormatError::TwoStars(index));
                }
                *slot = Amount::Dynamic;
            }
            b'+' => flags.plus = true,
            b'-' => {
                flags.left = true;
                flags.zero = false;
            }
            b'.' => {
                if dot {
                    return Err(FormatError::TwoDots(index));
                }
                dot = true;
                digits = 0;
            }
            b'?' => width = Amount::Fixed(16),
            b'@' => flags.agg = true,
            b'\'' => flags.group = true,
            b' ' => flags.space = true,
            b'$' => return Err(FormatError::Positional(index)),
            b'%' if p == pct + 1 => {
                name.push(b'%');
                break;
            }
            b'%' => return Err(FormatError::PercentWithFlags(index)),
            b'h' | b'l' | b'L' | b'w' => {
                // libdtrace keeps at most six prefix characters; longer ones cannot match.
                if name.len() < 6 {
                    name.push(c);
                }
            }
            _ => {
                name.push(c);
                break;
            }
        }
        p += 1;
    }
    let entry = lookup(&name)
        .ok_or_else(|| FormatError::Undefined(index, String::from_utf8_lossy(&name).into()))?;
    // libdtrace compares the dynamic width to a '*' flag that survives only through the bit;
    // a fixed width written after '*' does not cancel it, which Amount already models.
    Ok((
        Conversion {
            index,
            flags,
            width,
            precision,
            entry,
        },
        p + 1,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_width_precision_and_prefixes() {
        let f = Format::parse("a %-08.3lld b %*.*s %@d %%").unwrap();
        let c = f.conversions();
        assert_eq!(c.len(), 4);
        // "%-08" : the 0 after - clears the left flag (dt_printf_create's order rule).
        assert!(c[0].flags().zero && !c[0].flags().left);
        assert_eq!(c[0].width(), Amount::Fixed(8));
        assert_eq!(c[0].precision(), Amount::Fixed(3));
        assert_eq!(c[0].name(), "lld");
        assert_eq!(c[0].class(), ArgClass::Exact("long long"));
        assert_eq!(c[1].arguments(), 3);
        assert!(c[2].is_agg());
        assert_eq!(c[2].arguments(), 0);
        assert!(c[3].is_percent());
        assert_eq!(f.arguments(), 4);
    }

    #[test]
    fn errors_use_dtrace_texts_and_numbers() {
        assert_eq!(
            Format::parse("%d %hhd").unwrap_err().to_string(),
            "format conversion #2 is undefined: %hhd"
        );
        assert_eq!(
            Format::parse("%5").unwrap_err().to_string(),
            "format conversion #1 name expected before end of format string"
        );
        assert_eq!(
            Format::parse("%-%").unwrap_err(),
            FormatError::PercentWithFlags(1)
        );
        assert_eq!(
            Format::parse("%1$d").unwrap_err(),
            FormatError::Positional(1)
        );
        assert_eq!(Format::parse("%**d").unwrap_err(), FormatError::TwoStars(1));
        assert_eq!(
            Format::parse("%1.2.3d").unwrap_err(),
            FormatError::TwoDots(1)
        );
    }

    #[test]
    fn question_mark_is_pointer_width() {
        let f = Format::parse("%?p").unwrap();
        assert_eq!(f.conversions()[0].width(), Amount::Fixed(16));
    }
}
