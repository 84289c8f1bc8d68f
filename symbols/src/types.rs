//! Type handles and their decoded form: kind, name, size, alignment, members, enumerators.

/// A cheap, copyable handle to a type of one [`crate::KernelImage`].
///
/// It packs the `.debug_info` offset of the type's DIE with two derivations DWARF has no DIE
/// for: "pointer to" (so `(struct tcpcb *)arg0` can be typed) and "the sub-array after N
/// dimensions" of a multi-dimensional array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeRef(u64);

const OFFSET_BITS: u32 = 40;
const OFFSET_MASK: u64 = (1 << OFFSET_BITS) - 1;
const DIM_SHIFT: u32 = 40;
const PTR_SHIFT: u32 = 48;

impl TypeRef {
    /// The `void` type.
    pub const VOID: TypeRef = TypeRef(OFFSET_MASK);

    pub(crate) fn from_die(offset: u64) -> TypeRef {
        TypeRef(offset & OFFSET_MASK)
    }

    /// `.debug_info` offset of the DIE behind this handle (meaningless for `void`).
    pub(crate) fn die(self) -> u64 {
        self.0 & OFFSET_MASK
    }

    pub(crate) fn dims_skipped(self) -> u64 {
        (self.0 >> DIM_SHIFT) & 0xff
    }

    pub(crate) fn pointers(self) -> u64 {
        (self.0 >> PTR_SHIFT) & 0xff
    }

    /// True for `void` (not `void *`).
    pub fn is_void(self) -> bool {
        self == TypeRef::VOID
    }

    /// The type "pointer to this type" (handles up to 255 levels of indirection).
    pub fn pointer_to(self) -> TypeRef {
        TypeRef(self.0 + (1 << PTR_SHIFT))
    }

    pub(crate) fn pointee(self) -> TypeRef {
        TypeRef(self.0 - (1 << PTR_SHIFT))
    }

    pub(crate) fn next_dim(self) -> TypeRef {
        TypeRef(self.0 + (1 << DIM_SHIFT))
    }
}

/// The encoding of a base type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseEncoding {
    /// Signed integer.
    Signed,
    /// Unsigned integer.
    Unsigned,
    /// Signed character.
    SignedChar,
    /// Unsigned character.
    UnsignedChar,
    /// Boolean.
    Boolean,
    /// Floating point.
    Float,
    /// Complex floating point.
    ComplexFloat,
    /// Anything else, with the DW_ATE value.
    Other(u8),
}

impl BaseEncoding {
    /// True for integer-like encodings (including char and bool).
    pub fn is_integer(self) -> bool {
        !matches!(
            self,
            BaseEncoding::Float | BaseEncoding::ComplexFloat | BaseEncoding::Other(_)
        )
    }

    /// True for signed integer encodings.
    pub fn is_signed(self) -> bool {
        matches!(self, BaseEncoding::Signed | BaseEncoding::SignedChar)
    }
}

/// A struct or union member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Member name; None for an anonymous struct/union member or unnamed bitfield.
    pub name: Option<String>,
    /// Member type.
    pub ty: TypeRef,
    /// Byte offset from the start of the containing type (for a bitfield: of its first bit).
    pub offset: u64,
    /// Bit offset from the start of the containing type, counted from the least significant
    /// bit on this little-endian target (equals `offset * 8` unless a bitfield).
    pub bit_offset: u64,
    /// Width of a bitfield in bits; None for an ordinary member.
    pub bit_size: Option<u64>,
}

/// An enumeration constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enumerator {
    /// Constant name.
    pub name: String,
    /// Constant value.
    pub value: i64,
}

/// What kind of type a [`TypeInfo`] describes, with what that kind carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeKind {
    /// `void`.
    Void,
    /// Integer, character, boolean or floating point type.
    Base(BaseEncoding),
    /// Pointer to the type given.
    Pointer(TypeRef),
    /// Struct with its members (empty when only declared and never defined).
    Struct(Vec<Member>),
    /// Union with its members.
    Union(Vec<Member>),
    /// Enumeration with its constants.
    Enum(Vec<Enumerator>),
    /// Typedef of the type given.
    Typedef(TypeRef),
    /// One array dimension: element type (a further dimension for multi-dimensional arrays)
    /// and element count (None for a flexible array member).
    Array {
        /// Element type.
        element: TypeRef,
        /// Number of elements; None when flexible/unknown.
        count: Option<u64>,
    },
    /// Function type: return type, parameter types, and whether it takes `...`.
    Function {
        /// Return type (VOID for void).
        ret: TypeRef,
        /// Parameter types in order.
        params: Vec<TypeRef>,
        /// True when the function takes a variable argument list.
        variadic: bool,
    },
    /// `const T`.
    Const(TypeRef),
    /// `volatile T`.
    Volatile(TypeRef),
    /// `restrict T`.
    Restrict(TypeRef),
    /// `_Atomic T`.
    Atomic(TypeRef),
}

/// Everything known about a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    /// The type's own name ("tcpcb" for `struct tcpcb`, "int", "tcp_seq"); None when anonymous
    /// or derived (pointers, arrays, qualifiers).
    pub name: Option<String>,
    /// Kind and kind-specific data.
    pub kind: TypeKind,
    /// Size in bytes; None for void, functions, flexible arrays and types never defined.
    pub size: Option<u64>,
    /// Alignment in bytes; None where size is None.
    pub align: Option<u64>,
    /// True when only a declaration was found (no definition in any compile unit).
    pub incomplete: bool,
}

impl TypeRef {
    pub(crate) fn from_die_or_void(offset: Option<u64>) -> TypeRef {
        offset.map_or(TypeRef::VOID, TypeRef::from_die)
    }
}
