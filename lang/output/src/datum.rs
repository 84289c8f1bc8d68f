//! Plain values handed over by the evaluator: sized integers and D strings.

use std::hash::{Hash, Hasher};

/// An integer as D stores it in a trace record: its bits, its size in bytes and its signedness.
///
/// Only the low `size` bytes of `bits` are meaningful; [`IntVal::new`] truncates the rest so
/// that equal values compare and hash equal as aggregation keys.
#[derive(Debug, Clone, Copy)]
pub struct IntVal {
    /// The value's bits; the bytes above `size` are ignored.
    pub bits: u64,
    /// Size in bytes: 1, 2, 4 or 8.
    pub size: u8,
    /// Whether the D type is signed.
    pub signed: bool,
}

impl IntVal {
    /// A value of `size` bytes (1, 2, 4 or 8) made from the low bits of `bits`.
    pub fn new(bits: u64, size: u8, signed: bool) -> Self {
        IntVal {
            bits: bits & size_mask(size),
            size,
            signed,
        }
    }

    /// A signed 64-bit value (`int64_t`, `long`).
    pub fn i64(v: i64) -> Self {
        IntVal::new(v as u64, 8, true)
    }

    /// An unsigned 64-bit value (`uint64_t`).
    pub fn u64(v: u64) -> Self {
        IntVal::new(v, 8, false)
    }

    /// A signed 32-bit value (`int`).
    pub fn i32(v: i32) -> Self {
        IntVal::new(v as u32 as u64, 4, true)
    }

    /// An unsigned 32-bit value (`uint32_t`).
    pub fn u32(v: u32) -> Self {
        IntVal::new(v as u64, 4, false)
    }

    /// An unsigned 16-bit value (`uint16_t`).
    pub fn u16(v: u16) -> Self {
        IntVal::new(v as u64, 2, false)
    }

    /// An unsigned 8-bit value (`uint8_t`).
    pub fn u8(v: u8) -> Self {
        IntVal::new(v as u64, 1, false)
    }

    /// The record's bytes zero-extended, as libdtrace reads an unsigned record.
    pub fn zext(&self) -> u64 {
        self.bits & size_mask(self.size)
    }

    /// The record's bytes sign-extended from `size`, as libdtrace reads a signed record.
    pub fn sext(&self) -> i64 {
        let shift = 64 - 8 * u32::from(self.size.clamp(1, 8));
        ((self.zext() << shift) as i64) >> shift
    }

    /// The value as the evaluator's 64-bit register holds it (sign-extended when signed).
    pub fn value(&self) -> i64 {
        if self.signed {
            self.sext()
        } else {
            self.zext() as i64
        }
    }
}

impl PartialEq for IntVal {
    fn eq(&self, other: &Self) -> bool {
        self.size == other.size && self.zext() == other.zext()
    }
}

impl Eq for IntVal {}

impl Hash for IntVal {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.zext());
    }
}

/// The mask of the low `size` bytes.
pub(crate) fn size_mask(size: u8) -> u64 {
    match size {
        1 => 0xff,
        2 => 0xffff,
        4 => 0xffff_ffff,
        _ => u64::MAX,
    }
}

/// A `float`, `double` or `long double` read from memory or a declared variable (D cannot
/// compute with them, only move and print them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloatVal {
    /// The value.
    pub value: f64,
    /// Size of the C type in bytes: 4, 8 (or 16 for long double, held here as a double).
    pub size: u8,
}

impl FloatVal {
    /// The record libdtrace sees for trace() and keys: the raw bits, read as an integer of the
    /// same size (a 4-byte float prints as an int, an 8-byte double as a long long).
    pub fn record(&self) -> IntVal {
        match self.size {
            4 => IntVal::new(u64::from((self.value as f32).to_bits()), 4, false),
            _ => IntVal::new(self.value.to_bits(), 8, false),
        }
    }
}

/// A value used as a printf argument, a trace() record or an aggregation key.
#[derive(Debug, Clone)]
pub enum Datum {
    /// An integer (or pointer) of a given size and signedness.
    Int(IntVal),
    /// A D string: bytes up to (not including) a NUL; may hold non-UTF-8 bytes.
    Str(Vec<u8>),
    /// A floating-point value (printed by `%e %f %g`).
    Float(FloatVal),
    /// The program counters of stack(), innermost first (a zero pc ends the stack); printed
    /// one symbolized frame per line, as an aggregation key or through `%k`.
    Stack(Vec<u64>),
}

impl Datum {
    /// A string datum from text.
    pub fn str(s: impl AsRef<[u8]>) -> Self {
        Datum::Str(s.as_ref().to_vec())
    }

    /// A signed 64-bit integer datum.
    pub fn i64(v: i64) -> Self {
        Datum::Int(IntVal::i64(v))
    }

    /// A signed 32-bit integer datum (D's `int`).
    pub fn i32(v: i32) -> Self {
        Datum::Int(IntVal::i32(v))
    }

    /// An unsigned 64-bit integer datum.
    pub fn u64(v: u64) -> Self {
        Datum::Int(IntVal::u64(v))
    }

    /// The string bytes up to the first NUL, as C code sees a D string.
    pub fn as_cstr(&self) -> Option<&[u8]> {
        match self {
            Datum::Str(s) => Some(cstr(s)),
            _ => None,
        }
    }
}

impl PartialEq for Datum {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Datum::Int(a), Datum::Int(b)) => a == b,
            (Datum::Str(a), Datum::Str(b)) => cstr(a) == cstr(b),
            (Datum::Float(a), Datum::Float(b)) => a.record() == b.record(),
            (Datum::Stack(a), Datum::Stack(b)) => stack_frames(a) == stack_frames(b),
            _ => false,
        }
    }
}

impl Eq for Datum {}

impl Hash for Datum {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Datum::Int(i) => i.hash(state),
            Datum::Str(s) => state.write(cstr(s)),
            Datum::Float(f) => f.record().hash(state),
            Datum::Stack(pcs) => stack_frames(pcs).hash(state),
        }
    }
}

/// The frames of a stack record: the pcs before the first zero.
pub(crate) fn stack_frames(pcs: &[u64]) -> &[u64] {
    match pcs.iter().position(|&pc| pc == 0) {
        Some(n) => &pcs[..n],
        None => pcs,
    }
}

/// The bytes before the first NUL.
pub(crate) fn cstr(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_zero_extension_follow_the_size() {
        let c = IntVal::new(0x1234_5678_90ab_cdef, 1, true);
        assert_eq!(c.zext(), 0xef);
        assert_eq!(c.sext(), -17);
        let s = IntVal::new(u64::MAX, 2, true);
        assert_eq!(s.zext(), 0xffff);
        assert_eq!(s.value(), -1);
        assert_eq!(IntVal::new(u64::MAX, 2, false).value(), 65535);
    }

    #[test]
    fn strings_compare_up_to_the_nul() {
        assert_eq!(Datum::str("ab\0zz"), Datum::str("ab"));
        assert_ne!(Datum::str("ab"), Datum::str("abc"));
        assert_ne!(Datum::i32(1), Datum::i64(1));
    }
}
