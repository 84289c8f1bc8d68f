//! The parsed program: declarations and clauses, every node with its source position.

use crate::error::Pos;

/// A type as written: a base type, pointer stars and array dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeName {
    /// The base type.
    pub base: BaseType,
    /// Number of `*`.
    pub stars: u8,
    /// Array dimensions, outermost first.
    pub dims: Vec<Expr>,
    /// Where it starts.
    pub pos: Pos,
}

/// The base of a type name.
#[derive(Debug, Clone, PartialEq)]
pub enum BaseType {
    /// A named type: `int`, `unsigned long`, `uint8_t`, `struct tcpcb`, `tcpinfo_t`.
    Named(String),
    /// An inline struct/union definition (its tag, if any, names it too).
    Record {
        is_union: bool,
        tag: Option<String>,
        fields: Vec<Field>,
    },
    /// An inline enum definition.
    Enum {
        tag: Option<String>,
        values: Vec<(String, Option<Expr>, Pos)>,
    },
}

/// A struct/union member declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Its type.
    pub ty: TypeName,
    /// Its name (empty for an anonymous member).
    pub name: String,
    /// Bit-field width.
    pub bits: Option<Expr>,
}

/// Where a declared variable lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Global.
    Global,
    /// `self->`, per guest thread.
    Thread,
    /// `this->`, per probe firing.
    Clause,
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A probe clause.
    Clause(Clause),
    /// A control line (`pragma D option quiet`), without the `#`.
    Control(String, Pos),
    /// `inline T name[params] = expr;`
    Inline {
        ty: TypeName,
        name: String,
        params: Vec<(TypeName, String)>,
        body: Expr,
        pos: Pos,
    },
    /// A variable declaration; `keys` for an associative array.
    Var {
        scope: Scope,
        ty: TypeName,
        name: String,
        keys: Option<Vec<TypeName>>,
        pos: Pos,
    },
    /// `typedef T name;`
    Typedef {
        ty: TypeName,
        name: String,
        pos: Pos,
    },
    /// A struct/union/enum definition on its own.
    TypeDecl(TypeName),
    /// `translator OUT < IN param > { member = expr; ... };`
    Translator {
        out: TypeName,
        input: TypeName,
        param: String,
        members: Vec<(String, Expr, Pos)>,
        pos: Pos,
    },
}

/// `descriptions /predicate/ { statements }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// Probe descriptions with their positions.
    pub descs: Vec<(String, Pos)>,
    /// The predicate.
    pub pred: Option<Expr>,
    /// Statements (each an expression; actions are calls).
    pub body: Vec<Expr>,
    /// Where the clause starts.
    pub pos: Pos,
}

/// An expression and its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where (the operator for binary expressions).
    pub pos: Pos,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `-`
    Neg,
    /// `+`
    Plus,
    /// `~`
    BitNot,
    /// `!`
    Not,
    /// `*`
    Deref,
    /// `&`
    AddrOf,
    /// `++x`
    PreInc,
    /// `--x`
    PreDec,
    /// `x++`
    PostInc,
    /// `x--`
    PostDec,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `&`
    And,
    /// `|`
    Or,
    /// `^`
    Xor,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&&`
    LAnd,
    /// `||`
    LOr,
    /// `^^`
    LXor,
}

impl BinOp {
    /// The operator as written.
    pub fn text(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::LAnd => "&&",
            BinOp::LOr => "||",
            BinOp::LXor => "^^",
        }
    }

    /// Comparison operators.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

/// Expression kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An integer constant with its C literal attributes.
    Int {
        value: u64,
        decimal: bool,
        unsigned: bool,
        longs: u8,
    },
    /// A character constant.
    Char(i64),
    /// A string literal.
    Str(Vec<u8>),
    /// An identifier.
    Ident(String),
    /// A backquoted kernel symbol.
    Backquote(String),
    /// `self->name`.
    ThreadVar(String),
    /// `this->name`.
    ClauseVar(String),
    /// `@name` (`@` alone is the anonymous aggregation, name "").
    Agg(String),
    /// `base[k1, k2, ...]`.
    Index(Box<Expr>, Vec<Expr>),
    /// `name(args)`.
    Call(String, Vec<Expr>),
    /// `base.m` or `base->m`.
    Member {
        base: Box<Expr>,
        name: String,
        arrow: bool,
    },
    /// A unary operator.
    Unary(UnOp, Box<Expr>),
    /// A binary operator.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `lhs = rhs` or `lhs op= rhs`.
    Assign(Option<BinOp>, Box<Expr>, Box<Expr>),
    /// `c ? a : b`.
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `(T)e`.
    Cast(TypeName, Box<Expr>),
    /// `sizeof(T)`.
    SizeofType(TypeName),
    /// `sizeof e`.
    SizeofExpr(Box<Expr>),
    /// `offsetof(T, member)`.
    Offsetof(TypeName, String),
    /// `stringof e`.
    Stringof(Box<Expr>),
    /// `xlate<T>(e)`.
    Xlate(TypeName, Box<Expr>),
}
