//! Type checking and lowering of expressions: values, operators with C's conversions, the
//! ternary, casts and the built-in operators (sizeof, offsetof, stringof, xlate). Names,
//! places and calls have their own modules.

use std::rc::Rc;

use super::typing::{arith, int_op, literal_type, norm};
use super::{CResult, Compiler, Translator};
use crate::ast::{BinOp, Expr, ExprKind, UnOp};
use crate::error::{err_at, Pos};
use crate::ir::{BinI, Node, Place, Store, StrCmp};
use crate::types::{BitField, IntType, Type};

/// A compiled expression before it is turned into a value.
#[derive(Debug, Clone)]
pub(crate) enum CE {
    /// A value.
    Val(Node, Type),
    /// An object in guest memory at `addr`.
    Mem {
        addr: Node,
        ty: Type,
        bits: Option<BitField>,
    },
    /// A D variable.
    Var { place: Place, ty: Type },
    /// A translated struct (or a pointer to one) over `input`.
    Xlate {
        tr: Rc<Translator>,
        input: Node,
        ptr: bool,
    },
    /// An aggregation.
    Agg(String),
}

/// How a value is handed to output: an integer of a size and sign, or a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgKind {
    /// An integer (pointers are 8-byte unsigned).
    Int(IntType),
    /// A string.
    Str,
    /// `stack([n])`: the provider's kernel stack, at most n frames.
    Stack(u32),
    /// A `float` (4) or `double` (8), carried as its raw bits.
    Float(u8),
}

impl ArgKind {
    /// The output kind of a value type.
    pub fn of(t: &Type) -> Option<ArgKind> {
        match t {
            Type::String => Some(ArgKind::Str),
            Type::Float(n @ (4 | 8)) => Some(ArgKind::Float(*n)),
            t => t.as_int().map(ArgKind::Int),
        }
    }
}

pub(crate) fn store_of(t: &Type) -> Store {
    match t {
        Type::String => Store::Str,
        Type::Record(_) => Store::Rec,
        Type::Float(_) => Store::Int(IntType::ULONG),
        t => Store::Int(t.as_int().unwrap_or(IntType::LONG)),
    }
}

impl Compiler<'_> {
    pub(crate) fn pc(&mut self) -> u32 {
        self.next_pc += 1;
        self.next_pc * 4
    }

    /// An expression as a value (node and type).
    pub(crate) fn rvalue(&mut self, e: &Expr) -> CResult<(Node, Type)> {
        let ce = self.expr(e)?;
        self.value(ce, e.pos)
    }

    /// An integer constant expression's value.
    pub(crate) fn const_int(&mut self, e: &Expr) -> CResult<u64> {
        let (n, t) = self.rvalue(e)?;
        match (n.as_const(), t.is_scalar()) {
            (Some(v), true) => Ok(v),
            _ => Err(err_at(e.pos, "expression must be an integer constant")),
        }
    }

    /// Turns a compiled expression into a value: loads from guest memory, reads variables.
    pub(crate) fn value(&mut self, ce: CE, pos: Pos) -> CResult<(Node, Type)> {
        match ce {
            CE::Val(n, t) => Ok((n, t)),
            CE::Var { place, ty, .. } => Ok((Node::Get(place), ty)),
            CE::Agg(name) => Err(err_at(
                pos,
                format!("aggregation @{name} cannot be used as a scalar: aggregations may only be printed with printa()"),
            )),
            CE::Xlate { input, ptr: true, tr } => Ok((input, tr.out.clone().pointer_to())),
            CE::Xlate { tr, .. } => Err(err_at(pos, format!("translated {} cannot be used as a value", tr.out))),
            CE::Mem { addr, ty, bits } => {
                let pc = self.pc();
                match &ty {
                    Type::Array(elem, n) if matches!(**elem, Type::Int(IntType { size: 1, .. })) => {
                        let max = (*n).min(self.opts.strsize) as u32;
                        Ok((Node::LoadStr { addr: Box::new(addr), max, pc }, Type::String))
                    }
                    Type::Array(elem, _) => Ok((addr, Type::Pointer(elem.clone()))),
                    Type::Record(_) => Err(err_at(pos, format!("{ty} cannot be used as a value; use a member"))),
                    Type::Function => Ok((addr, Type::Void.pointer_to())),
                    // D moves and prints floating-point values but cannot compute with them:
                    // they travel as their raw bits.
                    Type::Float(n @ (4 | 8)) => {
                        let (addr, off) = split_offset(addr);
                        let raw = IntType { size: *n, signed: false };
                        Ok((Node::Load { addr: Box::new(addr), off, ty: raw, pc }, ty.clone()))
                    }
                    t => {
                        let Some(it) = t.as_int() else {
                            return Err(err_at(pos, format!("values of type {t} are not supported")));
                        };
                        let node = match bits {
                            Some(b) => Node::LoadBits {
                                addr: Box::new(addr),
                                unit: it.size,
                                shift: b.shift,
                                width: b.width,
                                signed: it.signed,
                                pc,
                            },
                            None => {
                                let (addr, off) = split_offset(addr);
                                Node::Load { addr: Box::new(addr), off, ty: it, pc }
                            }
                        };
                        Ok((node, ty))
                    }
                }
            }
        }
    }

    /// A value converted to a string where D allows it (strings, char arrays, char pointers via
    /// stringof-like reading, and the constant 0 as "").
    pub(crate) fn string_value(&mut self, n: Node, t: &Type, pos: Pos) -> CResult<Node> {
        match t {
            Type::String => Ok(n),
            _ if n.as_const() == Some(0) => Ok(Node::Str(Rc::from(&b""[..]))),
            t if t.is_char_sequence() => {
                let pc = self.pc();
                Ok(Node::LoadStr {
                    addr: Box::new(n),
                    max: self.opts.strsize as u32,
                    pc,
                })
            }
            t => Err(err_at(
                pos,
                format!("operand of type {t} cannot be used as a string"),
            )),
        }
    }

    /// Compiles an expression.
    pub(crate) fn expr(&mut self, e: &Expr) -> CResult<CE> {
        let pos = e.pos;
        match &e.kind {
            ExprKind::Int {
                value,
                decimal,
                unsigned,
                longs,
            } => {
                let t = literal_type(*value, *decimal, *unsigned, *longs);
                Ok(CE::Val(Node::Const(t.normalize(*value)), Type::Int(t)))
            }
            ExprKind::Char(v) => Ok(CE::Val(
                Node::Const(IntType::INT.normalize(*v as u64)),
                Type::Int(IntType::INT),
            )),
            ExprKind::Str(s) => Ok(CE::Val(Node::Str(Rc::from(s.as_slice())), Type::String)),
            ExprKind::Ident(name) => self.ident(name, pos),
            ExprKind::Backquote(name) => match self.types.kernel_symbol(name) {
                Some((addr, ty)) => Ok(CE::Mem {
                    addr: Node::Const(addr),
                    ty,
                    bits: None,
                }),
                None => Err(err_at(
                    pos,
                    format!("failed to resolve `{name}: Unknown symbol name"),
                )),
            },
            ExprKind::ThreadVar(name) => match self.threads.get(name) {
                Some(v) if v.keys.is_none() => Ok(CE::Var {
                    place: Place::Thread(v.id, vec![]),
                    ty: v.ty.clone(),
                }),
                Some(_) => Err(err_at(
                    pos,
                    format!("self->{name} is an array and needs [keys]"),
                )),
                None => self.undefined(&format!("self->{name}"), pos),
            },
            ExprKind::ClauseVar(name) => match self.locals.get(name) {
                Some(v) => Ok(CE::Var {
                    place: Place::Local(v.id),
                    ty: v.ty.clone(),
                }),
                None => self.undefined(&format!("this->{name}"), pos),
            },
            ExprKind::Agg(name) => Ok(CE::Agg(name.clone())),
            ExprKind::Index(base, keys) => self.index(base, keys, pos),
            ExprKind::Call(name, args) => self.call(name, args, pos),
            ExprKind::Member { base, name, arrow } => self.member(base, name, *arrow, pos),
            ExprKind::Unary(op, x) => self.unary(*op, x, pos),
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, pos),
            ExprKind::Assign(op, lhs, rhs) => self.assign(*op, lhs, rhs, pos),
            ExprKind::Cond(c, a, b) => self.cond(c, a, b, pos),
            ExprKind::Cast(tn, x) => {
                let t = self.resolve(tn)?;
                let (n, xt) = self.rvalue(x)?;
                self.cast(n, &xt, t, pos)
            }
            ExprKind::SizeofType(tn) => {
                let t = self.resolve(tn)?;
                if matches!(t, Type::Void | Type::Function) {
                    return Err(err_at(
                        pos,
                        format!("cannot apply sizeof to an expression of type {t}"),
                    ));
                }
                let t = if let Type::Record(_) = t {
                    Type::Record(self.complete(&t, pos)?)
                } else {
                    t
                };
                Ok(CE::Val(
                    Node::Const(t.size(self.opts.strsize)),
                    Type::Int(IntType::ULONG),
                ))
            }
            ExprKind::SizeofExpr(x) => {
                if let ExprKind::Str(s) = &x.kind {
                    // A string constant's size is its length with the NUL, as in C.
                    return Ok(CE::Val(
                        Node::Const(s.len() as u64 + 1),
                        Type::Int(IntType::ULONG),
                    ));
                }
                let ty = match self.expr(x)? {
                    CE::Val(_, t) | CE::Var { ty: t, .. } | CE::Mem { ty: t, .. } => t,
                    CE::Xlate { tr, ptr, .. } => {
                        if ptr {
                            tr.out.clone().pointer_to()
                        } else {
                            tr.out.clone()
                        }
                    }
                    CE::Agg(n) => {
                        return Err(err_at(
                            pos,
                            format!("sizeof cannot be applied to aggregation @{n}"),
                        ))
                    }
                };
                let ty = if let Type::Record(_) = ty {
                    Type::Record(self.complete(&ty, pos)?)
                } else {
                    ty
                };
                Ok(CE::Val(
                    Node::Const(ty.size(self.opts.strsize)),
                    Type::Int(IntType::ULONG),
                ))
            }
            ExprKind::Offsetof(tn, m) => {
                let t = self.resolve(tn)?;
                let rec = self.complete(&t, pos)?;
                match rec.member(m) {
                    Some(mem) if mem.bitfield.is_none() => {
                        Ok(CE::Val(Node::Const(mem.offset), Type::Int(IntType::ULONG)))
                    }
                    Some(_) => Err(err_at(
                        pos,
                        format!("cannot take offset of a bit-field: {m}"),
                    )),
                    None => Err(self.no_member(&t, m, pos)),
                }
            }
            ExprKind::Stringof(x) => {
                let (n, t) = self.rvalue(x)?;
                let n = match &t {
                    Type::String => n,
                    Type::Pointer(_) => {
                        let pc = self.pc();
                        Node::LoadStr {
                            addr: Box::new(n),
                            max: self.opts.strsize as u32,
                            pc,
                        }
                    }
                    t if t.is_integer() => Node::IntToStr(Box::new(n)),
                    t => {
                        return Err(err_at(
                            pos,
                            format!("stringof( ) operand must be of scalar type, not {t}"),
                        ))
                    }
                };
                Ok(CE::Val(n, Type::String))
            }
            ExprKind::Xlate(tn, x) => {
                let t = self.resolve(tn)?;
                let (out, ptr) = match &t {
                    Type::Pointer(inner) => ((**inner).clone(), true),
                    t => (t.clone(), false),
                };
                let (n, xt) = self.rvalue(x)?;
                let tr = self.find_translator(&out, &xt, pos)?;
                Ok(CE::Xlate { tr, input: n, ptr })
            }
        }
    }

    pub(crate) fn unary(&mut self, op: UnOp, x: &Expr, pos: Pos) -> CResult<CE> {
        match op {
            UnOp::Deref => {
                let (n, t) = self.rvalue(x)?;
                match t {
                    Type::Pointer(inner) if !matches!(*inner, Type::Void) => Ok(CE::Mem {
                        addr: n,
                        ty: (*inner).clone(),
                        bits: None,
                    }),
                    t => Err(err_at(
                        pos,
                        format!("operator * cannot be applied to an operand of type {t}"),
                    )),
                }
            }
            UnOp::AddrOf => match self.expr(x)? {
                CE::Mem { bits: Some(_), .. } => {
                    Err(err_at(pos, "cannot take address of bit-field"))
                }
                CE::Mem { addr, ty, .. } => Ok(CE::Val(addr, ty.pointer_to())),
                CE::Var { .. } => Err(err_at(pos, "cannot take address of a D variable")),
                _ => Err(err_at(pos, "unacceptable operand for unary & operator")),
            },
            UnOp::PreInc | UnOp::PreDec | UnOp::PostInc | UnOp::PostDec => {
                let post = matches!(op, UnOp::PostInc | UnOp::PostDec);
                let bin = if matches!(op, UnOp::PreInc | UnOp::PostInc) {
                    BinI::Add
                } else {
                    BinI::Sub
                };
                // A variable born of ++/-- is an int64_t, as in dtrace.
                let (place, store, ty) = self.lvalue(x, None)?;
                if !ty.is_scalar() {
                    return Err(err_at(
                        pos,
                        format!("operator ++/-- cannot be applied to {ty}"),
                    ));
                }
                let step = match &ty {
                    Type::Pointer(inner) => inner.size(self.opts.strsize),
                    _ => 1,
                };
                Ok(CE::Val(
                    Node::Update {
                        place,
                        store,
                        op: bin,
                        rhs: Box::new(Node::Const(step)),
                        post,
                    },
                    ty,
                ))
            }
            UnOp::Not => {
                let (n, t) = self.rvalue(x)?;
                if !t.is_scalar() {
                    return Err(err_at(
                        pos,
                        format!("operator ! requires an operand of scalar type, not {t}"),
                    ));
                }
                let n = match n.as_const() {
                    Some(v) => Node::Const(u64::from(v == 0)),
                    None => Node::Not(Box::new(n)),
                };
                Ok(CE::Val(n, Type::Int(IntType::INT)))
            }
            UnOp::Neg | UnOp::Plus | UnOp::BitNot => {
                let (n, t) = self.rvalue(x)?;
                let Some(it) = t.as_int().filter(|_| t.is_integer()) else {
                    return Err(err_at(
                        pos,
                        format!("operator requires an operand of integer type, not {t}"),
                    ));
                };
                let it = it.promoted();
                let n = match (op, n.as_const()) {
                    (UnOp::Plus, _) => n,
                    (UnOp::Neg, Some(v)) => Node::Const(v.wrapping_neg()),
                    (UnOp::BitNot, Some(v)) => Node::Const(!v),
                    (UnOp::Neg, None) => Node::Neg(Box::new(n)),
                    _ => Node::BitNot(Box::new(n)),
                };
                Ok(CE::Val(n, Type::Int(it)))
            }
        }
    }

    pub(crate) fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr, pos: Pos) -> CResult<CE> {
        let (an, at) = self.rvalue(a)?;
        let (bn, bt) = self.rvalue(b)?;
        let int = Type::Int(IntType::INT);
        if matches!(op, BinOp::LAnd | BinOp::LOr | BinOp::LXor) {
            for (t, e) in [(&at, a), (&bt, b)] {
                if !t.is_scalar() {
                    return Err(err_at(
                        e.pos,
                        format!("operator {} requires operands of scalar type", op.text()),
                    ));
                }
            }
            let n = match op {
                BinOp::LAnd => Node::And(Box::new(an), Box::new(bn)),
                BinOp::LOr => Node::Or(Box::new(an), Box::new(bn)),
                _ => Node::LXor(Box::new(an), Box::new(bn)),
            };
            return Ok(CE::Val(n, int));
        }
        if op.is_comparison() && (matches!(at, Type::String) || matches!(bt, Type::String)) {
            let an = self
                .string_value(an, &at, a.pos)
                .map_err(|_| incompatible(op, &at, &bt, pos))?;
            let bn = self
                .string_value(bn, &bt, b.pos)
                .map_err(|_| incompatible(op, &at, &bt, pos))?;
            let c = match op {
                BinOp::Eq => StrCmp::Eq,
                BinOp::Ne => StrCmp::Ne,
                BinOp::Lt => StrCmp::Lt,
                BinOp::Le => StrCmp::Le,
                BinOp::Gt => StrCmp::Gt,
                _ => StrCmp::Ge,
            };
            return Ok(CE::Val(Node::StrCmp(c, Box::new(an), Box::new(bn)), int));
        }
        let (Some(ai), Some(bi)) = (at.as_int(), bt.as_int()) else {
            return Err(incompatible(op, &at, &bt, pos));
        };
        let fail = |m: &str| err_at(pos, m);
        // Pointer arithmetic scales by the pointee's size.
        if matches!(op, BinOp::Add | BinOp::Sub) {
            match (&at, &bt) {
                (Type::Pointer(p), t) | (t, Type::Pointer(p))
                    if t.is_integer()
                        && !(op == BinOp::Sub
                            && bt.as_int().is_some()
                            && matches!(bt, Type::Pointer(_))) =>
                {
                    if matches!(**p, Type::Void | Type::Function) {
                        return Err(incompatible(op, &at, &bt, pos));
                    }
                    let size = p.size(self.opts.strsize).max(1);
                    let (pn, inn, pty) = if matches!(at, Type::Pointer(_)) {
                        (an, bn, at.clone())
                    } else {
                        (bn, an, bt.clone())
                    };
                    let off = int_op(BinI::Mul, inn, Node::Const(size)).map_err(fail)?;
                    let bin = if op == BinOp::Add {
                        BinI::Add
                    } else {
                        BinI::Sub
                    };
                    return Ok(CE::Val(int_op(bin, pn, off).map_err(fail)?, pty));
                }
                (Type::Pointer(p), Type::Pointer(_)) if op == BinOp::Sub => {
                    if matches!(**p, Type::Void | Type::Function) {
                        return Err(incompatible(op, &at, &bt, pos));
                    }
                    let size = p.size(self.opts.strsize).max(1);
                    let d = int_op(BinI::Sub, an, bn).map_err(fail)?;
                    let n = int_op(BinI::DivS, d, Node::Const(size)).map_err(fail)?;
                    return Ok(CE::Val(n, Type::int(8, true)));
                }
                _ => {}
            }
        }
        let is_ptr = matches!(at, Type::Pointer(_)) || matches!(bt, Type::Pointer(_));
        if is_ptr && !op.is_comparison() && !matches!(op, BinOp::And | BinOp::Or | BinOp::Xor) {
            return Err(incompatible(op, &at, &bt, pos));
        }
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            let t = ai.promoted();
            let bin = match (op, t.signed) {
                (BinOp::Shl, _) => BinI::Shl,
                (_, true) => BinI::ShrS,
                _ => BinI::ShrU,
            };
            let n = int_op(bin, an, bn).map_err(fail)?;
            let t = n.as_const().map_or(t, |v| fit_constant(v, t));
            return Ok(CE::Val(n, Type::Int(t)));
        }
        // Operands stay in their 64-bit registers (DIF converts nothing before operating).
        let t = arith(ai, bi);
        let s = t.signed;
        let (bin, swap) = match op {
            BinOp::Add => (BinI::Add, false),
            BinOp::Sub => (BinI::Sub, false),
            BinOp::Mul => (BinI::Mul, false),
            BinOp::Div => (if s { BinI::DivS } else { BinI::DivU }, false),
            BinOp::Mod => (if s { BinI::ModS } else { BinI::ModU }, false),
            BinOp::And => (BinI::And, false),
            BinOp::Or => (BinI::Or, false),
            BinOp::Xor => (BinI::Xor, false),
            BinOp::Eq => (BinI::Eq, false),
            BinOp::Ne => (BinI::Ne, false),
            BinOp::Lt => (if s { BinI::LtS } else { BinI::LtU }, false),
            BinOp::Le => (if s { BinI::LeS } else { BinI::LeU }, false),
            BinOp::Gt => (if s { BinI::LtS } else { BinI::LtU }, true),
            BinOp::Ge => (if s { BinI::LeS } else { BinI::LeU }, true),
            _ => return Err(incompatible(op, &at, &bt, pos)),
        };
        let (x, y) = if swap { (bn, an) } else { (an, bn) };
        let n = int_op(bin, x, y).map_err(fail)?;
        let rt = if op.is_comparison() {
            int
        } else if let (Some(v), false) = (n.as_const(), is_ptr) {
            // dtrace types a folded constant by its value, as it would a literal.
            Type::Int(fit_constant(v, t))
        } else if is_ptr {
            if matches!(at, Type::Pointer(_)) {
                at.clone()
            } else {
                bt.clone()
            }
        } else {
            Type::Int(t)
        };
        Ok(CE::Val(n, rt))
    }

    pub(crate) fn cond(&mut self, c: &Expr, a: &Expr, b: &Expr, pos: Pos) -> CResult<CE> {
        let (cn, ct) = self.rvalue(c)?;
        if !ct.is_scalar() {
            return Err(err_at(c.pos, "operator ?: requires a scalar first operand"));
        }
        let (an, at) = self.rvalue(a)?;
        let (bn, bt) = self.rvalue(b)?;
        let (an, bn, t) = match (&at, &bt) {
            (Type::String, _) | (_, Type::String) => {
                let an = self
                    .string_value(an, &at, a.pos)
                    .map_err(|_| cond_mismatch(&at, &bt, pos))?;
                let bn = self
                    .string_value(bn, &bt, b.pos)
                    .map_err(|_| cond_mismatch(&at, &bt, pos))?;
                (an, bn, Type::String)
            }
            (Type::Pointer(_), t) if t.is_scalar() => (an, bn, at.clone()),
            (t, Type::Pointer(_)) if t.is_scalar() => (an, bn, bt.clone()),
            (x, y) if x.is_integer() && y.is_integer() => {
                let t = arith(
                    x.as_int().unwrap_or(IntType::INT),
                    y.as_int().unwrap_or(IntType::INT),
                );
                (norm(t, an), norm(t, bn), Type::Int(t))
            }
            _ => return Err(cond_mismatch(&at, &bt, pos)),
        };
        let n = match cn.as_const() {
            Some(0) => bn,
            Some(_) => an,
            None => Node::Cond(Box::new(cn), Box::new(an), Box::new(bn)),
        };
        Ok(CE::Val(n, t))
    }

    pub(crate) fn cast(&mut self, n: Node, from: &Type, to: Type, pos: Pos) -> CResult<CE> {
        let bad = || {
            err_at(
                pos,
                format!("invalid cast expression: \"{from}\" to \"{to}\""),
            )
        };
        match &to {
            Type::String => Ok(CE::Val(self.string_value(n, from, pos)?, to)),
            Type::Void => Ok(CE::Val(n, to)),
            t if t.is_scalar() && from.is_scalar() => {
                let it = t.as_int().ok_or_else(bad)?;
                Ok(CE::Val(norm(it, n), to))
            }
            _ => Err(bad()),
        }
    }
}

pub(crate) fn incompatible(op: BinOp, a: &Type, b: &Type, pos: Pos) -> crate::error::SyntaxError {
    err_at(
        pos,
        format!(
            "operator {} requires operands of compatible types: \"{a}\" {} \"{b}\"",
            op.text(),
            op.text()
        ),
    )
}

pub(crate) fn cond_mismatch(a: &Type, b: &Type, pos: Pos) -> crate::error::SyntaxError {
    err_at(
        pos,
        format!("operator ?: operands must have compatible types: \"{a}\" and \"{b}\""),
    )
}

/// The type of a folded constant: its operands' type if that holds the value, else a 64-bit type.
pub(crate) fn fit_constant(v: u64, t: IntType) -> IntType {
    if t.normalize(v) == v {
        t
    } else if (v as i64) >= 0 {
        IntType::LONG
    } else {
        IntType::ULONG
    }
}

/// Splits `base + constant` so a load can add the member offset itself (one node less per member).
pub(crate) fn split_offset(addr: Node) -> (Node, u64) {
    match addr {
        Node::Bin(BinI::Add, base, off) => match *off {
            Node::Const(c) => (*base, c),
            off => (Node::Bin(BinI::Add, base, Box::new(off)), 0),
        },
        addr => (addr, 0),
    }
}
