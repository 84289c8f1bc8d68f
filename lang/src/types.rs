//! lang's own C type model (LP64, little-endian amd64): integers with size and sign, pointers,
//! arrays, structs and unions with member offsets and bit-fields, enums, and D's `string`.
//!
//! Guest kernel types arrive through [`TypeSource`]; types declared in D source are laid out here
//! with the C rules, so both end up in the same model.

use std::fmt;
use std::rc::Rc;

/// An integer type: its width in bytes (1, 2, 4, 8) and signedness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IntType {
    /// Width in bytes.
    pub size: u8,
    /// Whether values sign-extend.
    pub signed: bool,
}

impl IntType {
    /// `int`, the type of small constants.
    pub const INT: IntType = IntType {
        size: 4,
        signed: true,
    };
    /// `unsigned int`.
    pub const UINT: IntType = IntType {
        size: 4,
        signed: false,
    };
    /// `long` (64-bit on LP64).
    pub const LONG: IntType = IntType {
        size: 8,
        signed: true,
    };
    /// `unsigned long`, also `uintptr_t`.
    pub const ULONG: IntType = IntType {
        size: 8,
        signed: false,
    };

    /// C's integer promotion: anything narrower than int becomes int.
    pub fn promoted(self) -> IntType {
        if self.size < 4 {
            IntType::INT
        } else {
            self
        }
    }

    /// Truncates and extends the 64-bit register value `v` to this type.
    pub fn normalize(self, v: u64) -> u64 {
        let bits = u32::from(self.size) * 8;
        if bits >= 64 {
            return v;
        }
        let mask = (1u64 << bits) - 1;
        let low = v & mask;
        if self.signed && low >> (bits - 1) & 1 == 1 {
            low | !mask
        } else {
            low
        }
    }
}

/// One bit-field's place within the storage unit that starts at the member's byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitField {
    /// Bits to shift right after loading the little-endian storage unit.
    pub shift: u8,
    /// Width in bits.
    pub width: u8,
}

/// A struct or union member.
#[derive(Debug, Clone)]
pub struct Member {
    /// Member name (empty for an anonymous struct/union member, whose members are then visible).
    pub name: String,
    /// Member type.
    pub ty: Type,
    /// Byte offset from the start of the enclosing record.
    pub offset: u64,
    /// Set for bit-fields; `ty` is then the storage unit's integer type.
    pub bitfield: Option<BitField>,
}

/// A struct or union. `members: None` means incomplete: resolve it by name through a [`TypeSource`].
#[derive(Debug, Clone)]
pub struct Record {
    /// Its name as written in D, e.g. `struct tcpcb` (anonymous ones get `struct <anon>`).
    pub name: String,
    /// true for a union.
    pub is_union: bool,
    /// sizeof, in bytes.
    pub size: u64,
    /// Alignment in bytes.
    pub align: u64,
    /// The members in declaration order, or None while incomplete.
    pub members: Option<Vec<Member>>,
}

impl Record {
    /// Finds a member by name, looking through anonymous struct/union members; returns it with
    /// its offset from the start of this record.
    pub fn member(&self, name: &str) -> Option<Member> {
        for m in self.members.as_deref().unwrap_or(&[]) {
            if m.name == name {
                return Some(m.clone());
            }
            if m.name.is_empty() {
                if let Type::Record(inner) = &m.ty {
                    if let Some(mut found) = inner.member(name) {
                        found.offset += m.offset;
                        return Some(found);
                    }
                }
            }
        }
        None
    }

    /// Every member name (anonymous members flattened), for "did you mean" suggestions.
    pub fn member_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in self.members.as_deref().unwrap_or(&[]) {
            match (&m.ty, m.name.is_empty()) {
                (Type::Record(inner), true) => out.extend(inner.member_names()),
                _ => out.push(m.name.clone()),
            }
        }
        out
    }
}

/// An enum: its name and enumerators.
#[derive(Debug, Clone)]
pub struct EnumDef {
    /// e.g. `enum foo`.
    pub name: String,
    /// Enumerator names and values.
    pub values: Vec<(String, i64)>,
}

/// A D or C type.
#[derive(Debug, Clone)]
pub enum Type {
    /// `void`.
    Void,
    /// An integer (char through long long, enums' storage, bools).
    Int(IntType),
    /// A floating-point type of this many bytes: may sit in kernel structs, but D cannot compute with it.
    Float(u8),
    /// D's `string`.
    String,
    /// A pointer.
    Pointer(Rc<Type>),
    /// A fixed-size array.
    Array(Rc<Type>, u64),
    /// A struct or union.
    Record(Rc<Record>),
    /// An enum (stored as int).
    Enum(Rc<EnumDef>),
    /// A function (kernel function symbols); only its address is usable.
    Function,
}

impl Type {
    /// Shorthand for an integer type.
    pub fn int(size: u8, signed: bool) -> Type {
        Type::Int(IntType { size, signed })
    }

    /// A pointer to this type.
    pub fn pointer_to(self) -> Type {
        Type::Pointer(Rc::new(self))
    }

    /// sizeof in bytes; `strsize` is the size of a string.
    pub fn size(&self, strsize: u64) -> u64 {
        match self {
            Type::Void | Type::Function => 1,
            Type::Int(i) => u64::from(i.size),
            Type::Float(n) => u64::from(*n),
            Type::String => strsize,
            Type::Pointer(_) => 8,
            Type::Array(e, n) => e.size(strsize).saturating_mul(*n),
            Type::Record(r) => r.size,
            Type::Enum(_) => 4,
        }
    }

    /// Alignment in bytes (C rules for amd64).
    pub fn align(&self) -> u64 {
        match self {
            Type::Void | Type::Function | Type::String => 1,
            Type::Int(i) => u64::from(i.size),
            Type::Float(n) => u64::from(*n).min(16),
            Type::Pointer(_) => 8,
            Type::Array(e, _) => e.align(),
            Type::Record(r) => r.align.max(1),
            Type::Enum(_) => 4,
        }
    }

    /// The integer view of scalar types (enums are int, pointers are unsigned long).
    pub fn as_int(&self) -> Option<IntType> {
        match self {
            Type::Int(i) => Some(*i),
            Type::Enum(_) => Some(IntType::INT),
            Type::Pointer(_) => Some(IntType::ULONG),
            _ => None,
        }
    }

    /// Integers and enums.
    pub fn is_integer(&self) -> bool {
        matches!(self, Type::Int(_) | Type::Enum(_))
    }

    /// Integers, enums and pointers: what a predicate or `!` accepts.
    pub fn is_scalar(&self) -> bool {
        matches!(self, Type::Int(_) | Type::Enum(_) | Type::Pointer(_))
    }

    /// `char` arrays and `char *`: what D treats as a string where a string is wanted.
    pub fn is_char_sequence(&self) -> bool {
        match self {
            Type::Array(e, _) | Type::Pointer(e) => {
                matches!(**e, Type::Int(IntType { size: 1, .. }))
            }
            _ => false,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Void => f.write_str("void"),
            Type::Int(i) => f.write_str(int_name(*i)),
            Type::Float(4) => f.write_str("float"),
            Type::Float(_) => f.write_str("double"),
            Type::String => f.write_str("string"),
            Type::Pointer(t) => write!(f, "{t} *"),
            Type::Array(t, n) => write!(f, "{t} [{n}]"),
            Type::Record(r) => f.write_str(&r.name),
            Type::Enum(e) => f.write_str(&e.name),
            Type::Function => f.write_str("function"),
        }
    }
}

/// The C name of an integer type, for messages.
fn int_name(i: IntType) -> &'static str {
    match (i.size, i.signed) {
        (1, true) => "char",
        (1, false) => "uchar_t",
        (2, true) => "short",
        (2, false) => "ushort_t",
        (4, true) => "int",
        (4, false) => "uint_t",
        (8, true) => "int64_t",
        _ => "uint64_t",
    }
}

/// D's built-in type names (base types and FreeBSD's LP64 typedefs).
pub fn builtin_type(name: &str) -> Option<Type> {
    let (size, signed) = match name {
        "char" | "signed char" | "int8_t" => (1, true),
        "unsigned char" | "uchar_t" | "uint8_t" | "u_char" | "u_int8_t" | "_Bool" | "boolean_t" => {
            (1, false)
        }
        "short" | "signed short" | "short int" | "int16_t" => (2, true),
        "unsigned short" | "ushort_t" | "uint16_t" | "u_short" | "u_int16_t" => (2, false),
        "int" | "signed int" | "signed" | "int32_t" | "pid_t" | "id_t" | "zoneid_t"
        | "processorid_t" => (4, true),
        "unsigned int" | "unsigned" | "uint_t" | "uint32_t" | "u_int" | "u_int32_t" | "uid_t"
        | "gid_t" => (4, false),
        "long" | "signed long" | "long int" | "long long" | "long long int"
        | "signed long long" | "int64_t" | "intptr_t" | "ssize_t" | "off_t" | "hrtime_t"
        | "longlong_t" => (8, true),
        "unsigned long" | "unsigned long long" | "ulong_t" | "uint64_t" | "uintptr_t"
        | "size_t" | "u_long" | "u_longlong_t" | "u_int64_t" | "caddr_t_int" => (8, false),
        "string" => return Some(Type::String),
        "void" => return Some(Type::Void),
        "float" => return Some(Type::Float(4)),
        "double" => return Some(Type::Float(8)),
        "long double" => return Some(Type::Float(16)),
        "caddr_t" => return Some(Type::int(1, true).pointer_to()),
        _ => return None,
    };
    Some(Type::int(size, signed))
}

/// Lays out members in declaration order with C's rules and returns the completed record.
/// Each input is (name, type, bit-field width).
pub fn layout_record(
    name: String,
    is_union: bool,
    fields: Vec<(String, Type, Option<u8>)>,
    strsize: u64,
) -> Record {
    let mut members = Vec::with_capacity(fields.len());
    let mut offset_bits: u64 = 0;
    let mut size: u64 = 0;
    let mut align: u64 = 1;
    for (mname, ty, width) in fields {
        let tsize = ty.size(strsize);
        let talign = ty.align();
        align = align.max(talign);
        let (offset, bitfield) = match width {
            Some(w) => {
                let unit_bits = tsize * 8;
                let start = if is_union { 0 } else { offset_bits };
                // A bit-field may not straddle its storage unit; move to the next unit if it would.
                let unit_start = start / unit_bits.max(1) * unit_bits;
                let (unit_start, in_unit) = if start - unit_start + u64::from(w) > unit_bits {
                    (unit_start + unit_bits, 0)
                } else {
                    (unit_start, start - unit_start)
                };
                if !is_union {
                    offset_bits = unit_start + in_unit + u64::from(w);
                }
                size = size.max((unit_start + in_unit + u64::from(w)).div_ceil(8));
                let bf = BitField {
                    shift: in_unit as u8,
                    width: w,
                };
                (unit_start / 8, Some(bf))
            }
            None => {
                let off = if is_union {
                    0
                } else {
                    offset_bits.div_ceil(8).next_multiple_of(talign.max(1))
                };
                if !is_union {
                    offset_bits = (off + tsize) * 8;
                }
                size = size.max(off + tsize);
                (off, None)
            }
        };
        members.push(Member {
            name: mname,
            ty,
            offset,
            bitfield,
        });
    }
    let size = size.next_multiple_of(align);
    Record {
        name,
        is_union,
        size,
        align,
        members: Some(members),
    }
}

/// Where lang finds guest kernel types and globals; the providers implement it from DWARF.
pub trait TypeSource {
    /// Resolves a type name as written in D: `struct tcpcb`, `union foo`, `enum bar`, or a typedef
    /// name such as `u_int` or `tcp_seq`. Records may come back with incomplete member records
    /// (their `members` None); lang resolves those by name when a member is used, so a named
    /// record may be left incomplete but an anonymous one (`struct <anon>`) must be complete.
    /// Called for every identifier the parser meets after `(` or `sizeof(`: keep misses cheap.
    fn resolve_type(&self, name: &str) -> Option<Type>;
    /// A backquoted kernel global (`` `hz ``): its address and type.
    fn kernel_symbol(&self, name: &str) -> Option<(u64, Type)>;
}

/// A [`TypeSource`] that knows nothing: for scripts run without a guest.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTypes;

impl TypeSource for NoTypes {
    fn resolve_type(&self, _name: &str) -> Option<Type> {
        None
    }
    fn kernel_symbol(&self, _name: &str) -> Option<(u64, Type)> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_follows_c_alignment() {
        let r = layout_record(
            "struct s".into(),
            false,
            vec![
                ("a".into(), Type::int(1, false), None),
                ("b".into(), Type::int(4, true), None),
                ("c".into(), Type::int(2, false), None),
                ("p".into(), Type::Void.pointer_to(), None),
            ],
            256,
        );
        let offs: Vec<u64> = r
            .members
            .as_ref()
            .map(|m| m.iter().map(|m| m.offset).collect())
            .unwrap_or_default();
        assert_eq!(offs, vec![0, 4, 8, 16]);
        assert_eq!(r.size, 24);
    }

    #[test]
    fn bitfields_pack_into_units() {
        // struct ip's first byte: ip_hl:4, ip_v:4 on little-endian.
        let r = layout_record(
            "struct ip".into(),
            false,
            vec![
                ("ip_hl".into(), Type::int(1, false), Some(4)),
                ("ip_v".into(), Type::int(1, false), Some(4)),
                ("ip_tos".into(), Type::int(1, false), None),
            ],
            256,
        );
        let v = r.member("ip_v").and_then(|m| m.bitfield);
        assert_eq!(v, Some(BitField { shift: 4, width: 4 }));
        assert_eq!(r.member("ip_tos").map(|m| m.offset), Some(1));
    }

    #[test]
    fn normalize_truncates_and_sign_extends() {
        assert_eq!(
            IntType {
                size: 1,
                signed: true
            }
            .normalize(0xfe),
            u64::MAX - 1
        );
        assert_eq!(
            IntType {
                size: 2,
                signed: false
            }
            .normalize(u64::MAX),
            0xffff
        );
    }
}
