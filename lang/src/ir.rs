//! The compiled form a program runs as: expression trees with every name already resolved to a
//! slot, offset or operation, and per-clause action lists. Built once by [`crate::compile`].

use std::rc::Rc;

use crate::probes::Builtin;
use crate::types::IntType;

/// Integer binary operations; signedness is decided at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinI {
    /// wrapping add
    Add,
    /// wrapping sub
    Sub,
    /// wrapping mul
    Mul,
    /// signed division
    DivS,
    /// unsigned division
    DivU,
    /// signed remainder
    ModS,
    /// unsigned remainder
    ModU,
    /// bitwise and
    And,
    /// bitwise or
    Or,
    /// bitwise xor
    Xor,
    /// shift left
    Shl,
    /// arithmetic shift right
    ShrS,
    /// logical shift right
    ShrU,
    /// ==
    Eq,
    /// !=
    Ne,
    /// signed <
    LtS,
    /// unsigned <
    LtU,
    /// signed <=
    LeS,
    /// unsigned <=
    LeU,
}

/// String comparisons (strcmp order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrCmp {
    /// ==
    Eq,
    /// !=
    Ne,
    /// <
    Lt,
    /// <=
    Le,
    /// >
    Gt,
    /// >=
    Ge,
}

/// Subroutines callable in expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subr {
    /// strlen(s)
    Strlen,
    /// strjoin(a, b)
    Strjoin,
    /// substr(s, i[, n])
    Substr,
    /// index(s, t[, start])
    Index,
    /// rindex(s, t[, start])
    Rindex,
    /// strstr(a, b)
    Strstr,
    /// strchr(s, c)
    Strchr,
    /// strrchr(s, c)
    Strrchr,
    /// strtok(s, delim)
    Strtok,
    /// lltostr(x[, base])
    Lltostr,
    /// strtoll(s[, base])
    Strtoll,
    /// tolower(s)
    Tolower,
    /// toupper(s)
    Toupper,
    /// basename(s)
    Basename,
    /// dirname(s)
    Dirname,
    /// cleanpath(s)
    Cleanpath,
    /// ntohs/htons
    Swap16,
    /// ntohl/htonl
    Swap32,
    /// ntohll/htonll
    Swap64,
    /// inet_ntoa(ipaddr_t *)
    InetNtoa,
    /// inet_ntoa6(struct in6_addr *)
    InetNtoa6,
    /// inet_ntop(af, addr *)
    InetNtop,
    /// rand()
    Rand,
    /// func(pc), sym(addr): the symbol as a string
    Sym,
    /// mod(addr): the module as a string
    Mod,
}

/// Where a variable's value lives.
#[derive(Debug, Clone)]
pub enum Place {
    /// A global scalar slot.
    Global(u32),
    /// A `this->` slot (also hidden temporaries for inline and translator parameters).
    Local(u32),
    /// A global associative array element.
    Assoc(u32, Vec<Node>),
    /// A `self->` variable (and its keys, for `self->` arrays).
    Thread(u32, Vec<Node>),
    /// Member `index` (of `arity`, stored as `store`) of a struct held in a D variable.
    Field {
        record: Box<Place>,
        index: u32,
        arity: u32,
        store: Store,
    },
}

/// How a stored value is kept: an integer of this type, or a string of at most strsize bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// Truncate/extend to this integer type.
    Int(IntType),
    /// A string.
    Str,
    /// A struct held in a D variable (its members, in order).
    Rec,
}

/// An expression node.
#[derive(Debug, Clone)]
pub enum Node {
    /// An integer constant (already normalized to its type).
    Const(u64),
    /// A string constant.
    Str(Rc<[u8]>),
    /// Raw argument argN.
    Arg(u8),
    /// A numeric built-in from the provider.
    Builtin(Builtin),
    /// `execname`.
    Execname,
    /// `probeprov`, `probemod`, `probefunc`, `probename` (0..=3).
    ProbeName(u8),
    /// `id`: the probe id.
    ProbeId,
    /// `epid`.
    Epid,
    /// Reads a variable.
    Get(Place),
    /// Stores into a variable; yields the stored value.
    Set(Place, Store, Box<Node>),
    /// `++`/`--`/`op=` on a variable: yields the old value if `post`, else the new one.
    Update {
        place: Place,
        store: Store,
        op: BinI,
        rhs: Box<Node>,
        post: bool,
    },
    /// Two's-complement negation.
    Neg(Box<Node>),
    /// Bitwise not.
    BitNot(Box<Node>),
    /// Logical not.
    Not(Box<Node>),
    /// An integer operation.
    Bin(BinI, Box<Node>, Box<Node>),
    /// A string comparison.
    StrCmp(StrCmp, Box<Node>, Box<Node>),
    /// `&&` (short-circuit).
    And(Box<Node>, Box<Node>),
    /// `||` (short-circuit).
    Or(Box<Node>, Box<Node>),
    /// `^^`.
    LXor(Box<Node>, Box<Node>),
    /// `c ? a : b`.
    Cond(Box<Node>, Box<Node>, Box<Node>),
    /// Truncates/extends to an integer type.
    Norm(IntType, Box<Node>),
    /// Loads an integer from guest memory at `addr + off` (member offsets folded in).
    Load {
        addr: Box<Node>,
        off: u64,
        ty: IntType,
        pc: u32,
    },
    /// Loads a bit-field from the storage unit at `addr`.
    LoadBits {
        addr: Box<Node>,
        unit: u8,
        shift: u8,
        width: u8,
        signed: bool,
        pc: u32,
    },
    /// Reads a NUL-terminated string of at most `max` bytes from guest memory.
    LoadStr { addr: Box<Node>, max: u32, pc: u32 },
    /// Reads `len` raw bytes from guest memory as a byte-string value (for `inet_ntoa`'s pointer).
    ReadBytes { addr: Box<Node>, len: u32, pc: u32 },
    /// A subroutine call.
    Subr(Subr, Vec<Node>),
    /// Evaluates the first nodes for effect (parameter binding), yields the last.
    Seq(Vec<Node>, Box<Node>),
    /// Converts an integer to a string of its decimal digits (string context for macro ints).
    IntToStr(Box<Node>),
}

impl Node {
    /// The value if the node is an integer constant.
    pub fn as_const(&self) -> Option<u64> {
        match self {
            Node::Const(v) => Some(*v),
            _ => None,
        }
    }
}
