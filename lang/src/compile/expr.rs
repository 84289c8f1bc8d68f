//! Type checking and lowering of expressions: names resolved to slots and offsets, C's
//! conversions applied, translators and inlines expanded.

use std::collections::HashSet;
use std::rc::Rc;

use super::typing::{arith, int_op, literal_type, norm};
use super::{CResult, Compiler, Translator, VarClass};
use crate::ast::{BinOp, Expr, ExprKind, UnOp};
use crate::error::{err_at, Pos};
use crate::ir::{BinI, Node, Place, Store, StrCmp, Subr};
use crate::probes::Builtin;
use crate::types::{BitField, IntType, Type};

/// Why a probe argument's type may be missing.
const LIBRARY_HINT: &str = " (is the provider's translator library loaded?)";

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

fn store_of(t: &Type) -> Store {
    match t {
        Type::String => Store::Str,
        Type::Record(_) => Store::Rec,
        Type::Float(_) => Store::Int(IntType::ULONG),
        t => Store::Int(t.as_int().unwrap_or(IntType::LONG)),
    }
}

impl Compiler<'_> {
    fn pc(&mut self) -> u32 {
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

    fn undefined<T>(&self, name: &str, pos: Pos) -> CResult<T> {
        // Suggest names of the same kind that are close to the misspelt one.
        let (prefix, bare) = match name.split_once("->") {
            Some((p, b)) => (format!("{p}->"), b),
            None => (String::new(), name),
        };
        let known: Vec<String> = match prefix.as_str() {
            "self->" => self.threads.keys().cloned().collect(),
            "this->" => self.locals.keys().cloned().collect(),
            _ => self
                .globals
                .keys()
                .chain(self.assocs.keys())
                .chain(self.inlines.keys())
                .chain(self.consts.keys())
                .cloned()
                .chain(BUILTIN_NAMES.iter().map(|s| s.to_string()))
                .collect(),
        };
        let near = crate::suggest::near_matches(bare, &known);
        let hint = if near.is_empty() {
            String::new()
        } else {
            let near: Vec<String> = near.iter().map(|n| format!("{prefix}{n}")).collect();
            format!("; did you mean {}?", near.join(" or "))
        };
        Err(err_at(
            pos,
            format!("failed to resolve {name}: Unknown variable name{hint}"),
        ))
    }

    fn ident(&mut self, name: &str, pos: Pos) -> CResult<CE> {
        if let Some((_, n, t)) = self.params.iter().rev().find(|p| p.0 == name) {
            return Ok(CE::Val(n.clone(), t.clone()));
        }
        if let Some(i) = name
            .strip_prefix("arg")
            .and_then(|d| d.parse::<u8>().ok())
            .filter(|i| *i < 10)
        {
            return Ok(CE::Val(Node::Arg(i), Type::int(8, true)));
        }
        if let Some(b) = Builtin::from_name(name) {
            if let Some(why) = self.catalog.unavailable(b) {
                return Err(err_at(pos, why));
            }
            if b == Builtin::Execname {
                return Ok(CE::Val(Node::Execname, Type::String));
            }
            let t = match b {
                Builtin::Timestamp | Builtin::Vtimestamp | Builtin::Caller | Builtin::Ucaller => {
                    Type::int(8, false)
                }
                Builtin::Walltimestamp => Type::int(8, true),
                Builtin::Pid | Builtin::Ppid | Builtin::Tid | Builtin::Cpu | Builtin::Errno => {
                    Type::int(4, true)
                }
                Builtin::Uid | Builtin::Gid | Builtin::Stackdepth | Builtin::Ustackdepth => {
                    Type::int(4, false)
                }
                Builtin::Curthread => match self.types.resolve_type("struct thread") {
                    Some(t) => t.pointer_to(),
                    None => Type::Void.pointer_to(),
                },
                Builtin::Execname => Type::String,
            };
            return Ok(CE::Val(Node::Builtin(b), t));
        }
        match name {
            "probeprov" | "probemod" | "probefunc" | "probename" => {
                let i = ["probeprov", "probemod", "probefunc", "probename"]
                    .iter()
                    .position(|n| *n == name);
                return Ok(CE::Val(Node::ProbeName(i.unwrap_or(0) as u8), Type::String));
            }
            "id" => return Ok(CE::Val(Node::ProbeId, Type::int(4, false))),
            // FreeBSD has no zones: every thread is in the global zone.
            "zonename" => return Ok(CE::Val(Node::Str(Rc::from(&b"global"[..])), Type::String)),
            "epid" => return Ok(CE::Val(Node::Epid, Type::int(4, false))),
            "args" => return Err(err_at(pos, "args[ ] must be indexed")),
            _ => {}
        }
        if let Some((v, t)) = self.consts.get(name) {
            return Ok(CE::Val(Node::Const(*v), t.clone()));
        }
        if let Some(inl) = self.inlines.get(name).cloned() {
            if !inl.params.is_empty() {
                return Err(err_at(pos, format!("{name} requires [arguments]")));
            }
            return self.expand_inline(&inl, &[], pos);
        }
        if let Some(v) = self.globals.get(name) {
            return Ok(CE::Var {
                place: Place::Global(v.id),
                ty: v.ty.clone(),
            });
        }
        if self.assocs.contains_key(name) {
            return Err(err_at(
                pos,
                format!("{name} is an associative array and needs [keys]"),
            ));
        }
        if let Some((addr, ty)) = self.types.kernel_symbol(name) {
            return Ok(CE::Mem {
                addr: Node::Const(addr),
                ty,
                bits: None,
            });
        }
        if self.lenient {
            return Ok(CE::Val(Node::Const(0), Type::Int(IntType::INT)));
        }
        self.undefined(name, pos)
    }

    /// Expands an inline: parameters bound to hidden locals, the body converted to the inline's type.
    fn expand_inline(&mut self, inl: &super::Inline, args: &[Expr], pos: Pos) -> CResult<CE> {
        if args.len() != inl.params.len() {
            return Err(err_at(
                pos,
                format!(
                    "inline prototype mismatch: {} arguments passed, {} expected",
                    args.len(),
                    inl.params.len()
                ),
            ));
        }
        if self.inline_depth > 32 {
            return Err(err_at(pos, "inline definitions nest too deeply"));
        }
        let mut binds = Vec::new();
        let mut scope = Vec::new();
        for (a, (pt, pn)) in args.iter().zip(&inl.params) {
            let (n, at) = self.rvalue(a)?;
            let n = self.convert(n, &at, pt, a.pos)?;
            let (bind, use_) = self.bind_param(n, pt);
            binds.extend(bind);
            scope.push((pn.clone(), use_, pt.clone()));
        }
        let saved = std::mem::replace(&mut self.params, scope);
        self.inline_depth += 1;
        let body = self.rvalue(&inl.body);
        self.inline_depth -= 1;
        self.params = saved;
        let (n, t) = body?;
        let n = self.convert(n, &t, &inl.ty, pos)?;
        let n = if binds.is_empty() {
            n
        } else {
            Node::Seq(binds, Box::new(n))
        };
        Ok(CE::Val(n, inl.ty.clone()))
    }

    /// Converts a value to a declared type on store (truncation for integers, "" for 0 strings).
    pub(crate) fn convert(&mut self, n: Node, from: &Type, to: &Type, pos: Pos) -> CResult<Node> {
        match to {
            Type::String => self.string_value(n, from, pos),
            Type::Pointer(_) if from.is_integer() && n.as_const() != Some(0) => Err(err_at(
                pos,
                format!("operands have incompatible types: \"{to}\" = \"{from}\""),
            )),
            t if t.is_scalar() && from.is_scalar() => {
                Ok(norm(t.as_int().unwrap_or(IntType::LONG), n))
            }
            _ => Err(err_at(
                pos,
                format!("operands have incompatible types: \"{to}\" = \"{from}\""),
            )),
        }
    }

    fn find_translator(&self, out: &Type, input: &Type, pos: Pos) -> CResult<Rc<Translator>> {
        let out_name = out.to_string();
        let cands: Vec<&Rc<Translator>> = self
            .translators
            .iter()
            .filter(|t| t.out.to_string() == out_name)
            .collect();
        if cands.is_empty() {
            return Err(err_at(
                pos,
                format!("translator does not exist: {input} -> {out_name}"),
            ));
        }
        let in_name = input.to_string();
        let exact = cands.iter().find(|t| t.input.to_string() == in_name);
        let fallback = || {
            cands.iter().find(|t| match (&t.input, input) {
                (Type::Pointer(p), Type::Pointer(_)) => matches!(**p, Type::Void),
                (a, b) => a.is_integer() && b.is_integer(),
            })
        };
        match exact.or_else(fallback) {
            Some(t) => Ok((*t).clone()),
            None if cands.len() == 1 && input.is_scalar() => Ok(cands[0].clone()),
            None => Err(err_at(
                pos,
                format!("translator does not exist: {input} -> {out_name}"),
            )),
        }
    }

    /// `args[i]`: typed by the matched probes' argument types, translated where they say so.
    fn probe_arg(&mut self, i: u64, pos: Pos) -> CResult<CE> {
        if self.clause_probes.is_empty() {
            return Ok(CE::Val(Node::Arg(i.min(9) as u8), Type::int(8, true)));
        }
        let mut sig: Option<&crate::probes::ArgType> = None;
        for p in &self.clause_probes {
            let Some(a) = p.args.get(i as usize) else {
                return Err(err_at(
                    pos,
                    format!(
                        "index {i} is out of range for {}:{}:{}:{} args[ ]",
                        p.provider, p.module, p.function, p.name
                    ),
                ));
            };
            match sig {
                None => sig = Some(a),
                Some(s) if s == a => {}
                Some(_) => {
                    return Err(err_at(
                        pos,
                        "args[ ] may not be referenced because the probe description matches probes with different argument types",
                    ))
                }
            }
        }
        let Some(sig) = sig.cloned() else {
            return Err(err_at(pos, "args[ ] is not available"));
        };
        let what = |e: crate::error::SyntaxError| {
            err_at(pos, format!("args[{i}]: {}{LIBRARY_HINT}", e.message))
        };
        let native = self.type_from_str(&sig.native, pos).map_err(what)?;
        let arg = Node::Arg(i as u8);
        let arg = match native.as_int() {
            Some(it) => norm(it, arg),
            None => arg,
        };
        let Some(tr_text) = sig.translated.filter(|t| *t != sig.native) else {
            return Ok(CE::Val(arg, native));
        };
        let translated = self.type_from_str(&tr_text, pos).map_err(what)?;
        let (out, ptr) = match &translated {
            Type::Pointer(inner) if matches!(**inner, Type::Record(_)) => ((**inner).clone(), true),
            Type::Record(_) => (translated.clone(), false),
            t => return Ok(CE::Val(self.convert(arg, &native, t, pos)?, t.clone())),
        };
        let tr = self.find_translator(&out, &native, pos)?;
        Ok(CE::Xlate {
            tr,
            input: arg,
            ptr,
        })
    }

    /// Parses and resolves a C type written as text.
    pub(crate) fn type_from_str(&mut self, text: &str, pos: Pos) -> CResult<Type> {
        let mut names: HashSet<String> = self.typedefs.keys().cloned().collect();
        let types = self.types;
        let tn =
            crate::parser::parse_type_name(text, &mut names, &|n| types.resolve_type(n).is_some())
                .map_err(|_| err_at(pos, format!("type {text} is not defined")))?;
        self.resolve(&tn).map_err(|e| err_at(pos, e.message))
    }

    fn index(&mut self, base: &Expr, keys: &[Expr], pos: Pos) -> CResult<CE> {
        match &base.kind {
            ExprKind::Ident(name) if name == "args" => {
                let [k] = keys else {
                    return Err(err_at(pos, "args[ ] takes exactly one index"));
                };
                let i = self.const_int(k)?;
                return self.probe_arg(i, pos);
            }
            ExprKind::Ident(name)
                if self.inlines.get(name).is_some_and(|i| !i.params.is_empty()) =>
            {
                let inl = self.inlines.get(name).cloned();
                if let Some(inl) = inl {
                    return self.expand_inline(&inl, keys, pos);
                }
            }
            ExprKind::Ident(name)
                if !self.globals.contains_key(name) && !self.is_known_name(name) =>
            {
                return match self.assocs.get(name).cloned() {
                    Some(v) => {
                        let kn = self.keys(keys, v.keys.as_deref(), name, pos)?.0;
                        Ok(CE::Var {
                            place: Place::Assoc(v.id, kn),
                            ty: v.ty,
                        })
                    }
                    None => self.undefined(name, base.pos),
                };
            }
            ExprKind::ThreadVar(name) => {
                return match self.threads.get(name).cloned() {
                    Some(v) => {
                        let kn = self.keys(keys, v.keys.as_deref(), name, pos)?.0;
                        Ok(CE::Var {
                            place: Place::Thread(v.id, kn),
                            ty: v.ty,
                        })
                    }
                    None => self.undefined(&format!("self->{name}"), base.pos),
                };
            }
            ExprKind::Agg(name) => {
                return Err(err_at(
                    pos,
                    format!("aggregation @{name} cannot be used as a scalar"),
                ))
            }
            _ => {}
        }
        let [k] = keys else {
            return Err(err_at(pos, "only associative arrays take several keys"));
        };
        let bce = self.expr(base)?;
        let (bn, bt) = match bce {
            CE::Mem {
                addr,
                ty: Type::Array(elem, _),
                ..
            } => (addr, Type::Pointer(elem)),
            other => self.value(other, base.pos)?,
        };
        let Type::Pointer(elem) = &bt else {
            return Err(err_at(
                pos,
                format!("operator [ ] cannot be applied to {bt}"),
            ));
        };
        let (kn, kt) = self.rvalue(k)?;
        if !kt.is_integer() {
            return Err(err_at(k.pos, "array index must be an integer"));
        }
        let size = elem.size(self.opts.strsize);
        let off = int_op(BinI::Mul, kn, Node::Const(size)).map_err(|m| err_at(pos, m))?;
        let addr = int_op(BinI::Add, bn, off).map_err(|m| err_at(pos, m))?;
        Ok(CE::Mem {
            addr,
            ty: (**elem).clone(),
            bits: None,
        })
    }

    fn is_known_name(&self, name: &str) -> bool {
        self.consts.contains_key(name)
            || self.inlines.contains_key(name)
            || self.params.iter().any(|p| p.0 == name)
    }

    /// Compiles associative-array keys against the signature (or fixes it on first use).
    pub(crate) fn keys(
        &mut self,
        keys: &[Expr],
        sig: Option<&[Type]>,
        name: &str,
        pos: Pos,
    ) -> CResult<(Vec<Node>, Vec<Type>)> {
        if let Some(s) = sig {
            if s.len() != keys.len() {
                return Err(err_at(
                    pos,
                    format!(
                        "{name}[ ] prototype mismatch: {} arguments passed, {} expected",
                        keys.len(),
                        s.len()
                    ),
                ));
            }
        }
        let mut nodes = Vec::new();
        let mut types = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let (n, t) = self.rvalue(k)?;
            let want = sig.and_then(|s| s.get(i)).cloned();
            let (n, t) = match (want, &t) {
                (Some(w @ Type::String), _) => (self.string_value(n, &t, k.pos)?, w),
                (Some(w), t) if t.is_scalar() && w.is_scalar() => {
                    (norm(w.as_int().unwrap_or(IntType::LONG), n), w)
                }
                (Some(w), t) => {
                    return Err(err_at(
                        k.pos,
                        format!(
                        "{name}[ ] key #{} is incompatible with prototype: expected {w}, got {t}",
                        i + 1
                    ),
                    ))
                }
                (None, Type::String) => (n, Type::String),
                (None, t) if t.is_scalar() => (n, t.clone()),
                (None, t) => return Err(err_at(k.pos, format!("key of type {t} is not allowed"))),
            };
            nodes.push(n);
            types.push(t);
        }
        Ok((nodes, types))
    }

    fn member(&mut self, base: &Expr, name: &str, arrow: bool, pos: Pos) -> CResult<CE> {
        let b = self.expr(base)?;
        match b {
            CE::Xlate { tr, input, ptr } => {
                if ptr != arrow {
                    let op = if arrow { "->" } else { "." };
                    return Err(err_at(
                        pos,
                        format!("operator {op} cannot be applied to {}", tr.out),
                    ));
                }
                self.xlate_member(&tr, input, name, pos)
            }
            CE::Mem { addr, ty, .. } if !arrow => self.mem_member(addr, &ty, name, pos),
            CE::Var {
                place,
                ty: ty @ Type::Record(_),
            } if !arrow => {
                let (place, ty) = self.var_field(place, &ty, name, pos)?;
                Ok(CE::Var { place, ty })
            }
            other => {
                let (n, t) = self.value(other, base.pos)?;
                match (&t, arrow) {
                    (Type::Pointer(inner), true) => self.mem_member(n, inner, name, pos),
                    _ => {
                        let op = if arrow { "->" } else { "." };
                        Err(err_at(
                            pos,
                            format!("operator {op} cannot be applied to an operand of type {t}"),
                        ))
                    }
                }
            }
        }
    }

    /// Member `name` of a struct held in a D variable.
    fn var_field(
        &mut self,
        record: Place,
        ty: &Type,
        name: &str,
        pos: Pos,
    ) -> CResult<(Place, Type)> {
        let rec = self.complete(ty, pos)?;
        let members = rec.members.as_deref().unwrap_or(&[]);
        let Some(index) = members.iter().position(|m| m.name == name) else {
            return Err(self.no_member(ty, name, pos));
        };
        let mty = members[index].ty.clone();
        if !matches!(mty, Type::String | Type::Record(_)) && !mty.is_scalar() {
            return Err(err_at(
                pos,
                format!("member {name} of type {mty} cannot be held in a D variable"),
            ));
        }
        let place = Place::Field {
            record: Box::new(record),
            index: index as u32,
            arity: members.len() as u32,
            store: store_of(&mty),
        };
        Ok((place, mty))
    }

    fn mem_member(&mut self, addr: Node, ty: &Type, name: &str, pos: Pos) -> CResult<CE> {
        let rec = self.complete(ty, pos)?;
        let Some(m) = rec.member(name) else {
            return Err(self.no_member(ty, name, pos));
        };
        let addr = int_op(BinI::Add, addr, Node::Const(m.offset)).map_err(|e| err_at(pos, e))?;
        Ok(CE::Mem {
            addr,
            ty: m.ty,
            bits: m.bitfield,
        })
    }

    /// One member of a translated struct: the translator's expression with its parameter bound.
    fn xlate_member(
        &mut self,
        tr: &Rc<Translator>,
        input: Node,
        name: &str,
        pos: Pos,
    ) -> CResult<CE> {
        let rec = self.complete(&tr.out, pos)?;
        let (Some(body), Some(m)) = (tr.members.get(name), rec.member(name)) else {
            return Err(self.no_member(&tr.out, name, pos));
        };
        let (bind, use_) = self.bind_param(input, &tr.input);
        let saved = std::mem::replace(
            &mut self.params,
            vec![(tr.param.clone(), use_, tr.input.clone())],
        );
        let r = self.rvalue(body);
        self.params = saved;
        let (n, t) =
            r.map_err(|e| err_at(pos, format!("in translator member {name}: {}", e.message)))?;
        let n = self.convert(n, &t, &m.ty, pos)?;
        let n = match bind {
            Some(b) => Node::Seq(vec![b], Box::new(n)),
            None => n,
        };
        Ok(CE::Val(n, m.ty))
    }

    /// Binds an inline or translator parameter: cheap, pure values (arguments, constants,
    /// variables) are substituted where the parameter is used; others are evaluated once into a
    /// hidden local. Returns the binding node (if any) and what a use of the parameter becomes.
    fn bind_param(&mut self, n: Node, ty: &Type) -> (Option<Node>, Node) {
        match n {
            Node::Const(_)
            | Node::Arg(_)
            | Node::Str(_)
            | Node::Get(Place::Global(_) | Place::Local(_)) => (None, n),
            n => {
                let slot = self.temp_slot();
                (
                    Some(Node::Set(Place::Local(slot), store_of(ty), Box::new(n))),
                    Node::Get(Place::Local(slot)),
                )
            }
        }
    }

    fn unary(&mut self, op: UnOp, x: &Expr, pos: Pos) -> CResult<CE> {
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

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr, pos: Pos) -> CResult<CE> {
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

    fn cond(&mut self, c: &Expr, a: &Expr, b: &Expr, pos: Pos) -> CResult<CE> {
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

    fn cast(&mut self, n: Node, from: &Type, to: Type, pos: Pos) -> CResult<CE> {
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

    /// Resolves an assignable D variable, creating it (typed by `rhs`) on first assignment.
    pub(crate) fn lvalue(&mut self, e: &Expr, rhs: Option<&Type>) -> CResult<(Place, Store, Type)> {
        let pos = e.pos;
        let new_type = |rhs: Option<&Type>| -> CResult<Type> {
            match rhs {
                Some(Type::String) => Ok(Type::String),
                Some(Type::Enum(_)) => Ok(Type::Int(IntType::INT)),
                Some(t @ (Type::Int(_) | Type::Pointer(_))) => Ok(t.clone()),
                Some(t) => Err(err_at(
                    pos,
                    format!("a variable cannot hold a value of type {t}"),
                )),
                None => Ok(Type::Int(IntType::LONG)),
            }
        };
        let writable = |name: &str| {
            err_at(
                pos,
                format!("operator = requires a writable lvalue: {name}"),
            )
        };
        match &e.kind {
            ExprKind::Ident(name) => {
                if let Some(v) = self.globals.get(name) {
                    return Ok((Place::Global(v.id), store_of(&v.ty), v.ty.clone()));
                }
                if self.is_known_name(name)
                    || self.assocs.contains_key(name)
                    || Builtin::from_name(name).is_some()
                    || name == "args"
                {
                    return Err(writable(name));
                }
                let t = new_type(rhs)?;
                let v = self.new_var(VarClass::Global, name, t, None);
                Ok((Place::Global(v.id), store_of(&v.ty), v.ty))
            }
            ExprKind::ThreadVar(name) | ExprKind::ClauseVar(name) => {
                let class = if matches!(e.kind, ExprKind::ThreadVar(_)) {
                    VarClass::Thread
                } else {
                    VarClass::Local
                };
                let map = if class == VarClass::Thread {
                    &self.threads
                } else {
                    &self.locals
                };
                let v = match map.get(name) {
                    Some(v) if v.keys.is_some() => {
                        return Err(err_at(pos, format!("{name} needs [keys]")))
                    }
                    Some(v) => v.clone(),
                    None => {
                        let t = new_type(rhs)?;
                        self.new_var(class, name, t, None)
                    }
                };
                let place = if class == VarClass::Thread {
                    Place::Thread(v.id, vec![])
                } else {
                    Place::Local(v.id)
                };
                Ok((place, store_of(&v.ty), v.ty))
            }
            ExprKind::Index(base, keys) => {
                let (class, name) = match &base.kind {
                    ExprKind::Ident(n)
                        if !self.globals.contains_key(n)
                            && !self.is_known_name(n)
                            && n != "args" =>
                    {
                        (VarClass::Assoc, n.clone())
                    }
                    ExprKind::ThreadVar(n) => (VarClass::Thread, n.clone()),
                    ExprKind::ClauseVar(n) => {
                        return Err(err_at(
                            pos,
                            format!("local variable may not be an associative array: this->{n}"),
                        ))
                    }
                    _ => return Err(err_at(pos, "operator = requires a writable lvalue")),
                };
                let existing = if class == VarClass::Assoc {
                    self.assocs.get(&name)
                } else {
                    self.threads.get(&name)
                };
                let existing = existing.cloned();
                let (nodes, v) = match existing {
                    Some(v) => {
                        let Some(sig) = v.keys.clone() else {
                            return Err(err_at(pos, format!("{name} is not an associative array")));
                        };
                        (self.keys(keys, Some(&sig), &name, pos)?.0, v)
                    }
                    None => {
                        let (nodes, kt) = self.keys(keys, None, &name, pos)?;
                        let t = new_type(rhs)?;
                        (nodes, self.new_var(class, &name, t, Some(kt)))
                    }
                };
                let place = if class == VarClass::Assoc {
                    Place::Assoc(v.id, nodes)
                } else {
                    Place::Thread(v.id, nodes)
                };
                Ok((place, store_of(&v.ty), v.ty))
            }
            ExprKind::Member {
                base,
                name,
                arrow: false,
            } => {
                let (place, _, bty) = self.lvalue(base, None)?;
                if !matches!(bty, Type::Record(_)) {
                    return Err(err_at(
                        pos,
                        format!("operator . cannot be applied to an operand of type {bty}"),
                    ));
                }
                let (place, ty) = self.var_field(place, &bty, name, pos)?;
                Ok((place, store_of(&ty), ty))
            }
            ExprKind::Agg(n) => Err(err_at(
                pos,
                format!("aggregation @{n} may only be assigned an aggregating function"),
            )),
            _ => Err(err_at(pos, "operator = requires a writable lvalue")),
        }
    }

    fn assign(&mut self, op: Option<BinOp>, lhs: &Expr, rhs: &Expr, pos: Pos) -> CResult<CE> {
        if let ExprKind::Agg(n) = &lhs.kind {
            return Err(err_at(
                pos,
                format!("aggregation @{n} may only be assigned as a statement"),
            ));
        }
        if let ExprKind::Index(b, _) = &lhs.kind {
            if let ExprKind::Agg(n) = &b.kind {
                return Err(err_at(
                    pos,
                    format!("aggregation @{n} may only be assigned as a statement"),
                ));
            }
        }
        let (rn, rt) = self.rvalue(rhs)?;
        let (place, store, vt) = self.lvalue(lhs, Some(&rt))?;
        match op {
            None => {
                let compatible = match (&vt, &rt) {
                    (Type::String, Type::String) => true,
                    (Type::Float(a), Type::Float(b)) => a == b,
                    (Type::String, _) | (_, Type::String) => false,
                    (v, r) => v.is_scalar() && r.is_scalar(),
                };
                if !compatible {
                    return Err(err_at(
                        pos,
                        format!("operands have incompatible types: \"{vt}\" = \"{rt}\""),
                    ));
                }
                // As dt_cg_typecast: only a change of integer type narrows; an int stored into an
                // int keeps its whole 64-bit register.
                let n = match (vt.as_int(), rt.as_int()) {
                    (Some(v), Some(r)) if v != r => norm(v, rn),
                    _ => rn,
                };
                Ok(CE::Val(Node::Set(place, store, Box::new(n)), vt))
            }
            Some(bop) => {
                if !vt.is_scalar() || !rt.is_scalar() {
                    return Err(err_at(
                        pos,
                        format!("operator {}= requires operands of integer type", bop.text()),
                    ));
                }
                let vi = vt.as_int().unwrap_or(IntType::LONG);
                let t = arith(vi, rt.as_int().unwrap_or(IntType::INT));
                let s = t.signed;
                let bin = match bop {
                    BinOp::Add => BinI::Add,
                    BinOp::Sub => BinI::Sub,
                    BinOp::Mul => BinI::Mul,
                    BinOp::Div => {
                        if s {
                            BinI::DivS
                        } else {
                            BinI::DivU
                        }
                    }
                    BinOp::Mod => {
                        if s {
                            BinI::ModS
                        } else {
                            BinI::ModU
                        }
                    }
                    BinOp::And => BinI::And,
                    BinOp::Or => BinI::Or,
                    BinOp::Xor => BinI::Xor,
                    BinOp::Shl => BinI::Shl,
                    _ => {
                        if vi.signed {
                            BinI::ShrS
                        } else {
                            BinI::ShrU
                        }
                    }
                };
                if matches!(bin, BinI::DivS | BinI::DivU | BinI::ModS | BinI::ModU)
                    && rn.as_const() == Some(0)
                {
                    return Err(err_at(pos, "expression contains division by zero"));
                }
                Ok(CE::Val(
                    Node::Update {
                        place,
                        store,
                        op: bin,
                        rhs: Box::new(norm(t, rn)),
                        post: false,
                    },
                    vt,
                ))
            }
        }
    }

    fn call(&mut self, name: &str, args: &[Expr], pos: Pos) -> CResult<CE> {
        let str_t = Type::String;
        let (subr, arity, ret): (Subr, std::ops::RangeInclusive<usize>, Type) = match name {
            "strlen" => (Subr::Strlen, 1..=1, Type::int(8, false)),
            "strjoin" => (Subr::Strjoin, 2..=2, str_t),
            "substr" => (Subr::Substr, 2..=3, str_t),
            "index" => (Subr::Index, 2..=3, Type::int(4, true)),
            "rindex" => (Subr::Rindex, 2..=3, Type::int(4, true)),
            "strstr" => (Subr::Strstr, 2..=2, str_t),
            "strchr" => (Subr::Strchr, 2..=2, str_t),
            "strrchr" => (Subr::Strrchr, 2..=2, str_t),
            "strtok" => (Subr::Strtok, 2..=2, str_t),
            "lltostr" => (Subr::Lltostr, 1..=2, str_t),
            "strtoll" => (Subr::Strtoll, 1..=2, Type::int(8, true)),
            "tolower" => (Subr::Tolower, 1..=1, str_t),
            "toupper" => (Subr::Toupper, 1..=1, str_t),
            "basename" => (Subr::Basename, 1..=1, str_t),
            "dirname" => (Subr::Dirname, 1..=1, str_t),
            "cleanpath" => (Subr::Cleanpath, 1..=1, str_t),
            "ntohs" | "htons" => (Subr::Swap16, 1..=1, Type::int(2, false)),
            "ntohl" | "htonl" => (Subr::Swap32, 1..=1, Type::int(4, false)),
            "ntohll" | "htonll" => (Subr::Swap64, 1..=1, Type::int(8, false)),
            "inet_ntoa" => (Subr::InetNtoa, 1..=1, str_t),
            "inet_ntoa6" => (Subr::InetNtoa6, 1..=1, str_t),
            "inet_ntop" => (Subr::InetNtop, 2..=2, str_t),
            "rand" => (Subr::Rand, 0..=0, Type::int(4, true)),
            "func" | "sym" | "uaddr" | "usym" | "ufunc" => (Subr::Sym, 1..=1, str_t),
            "mod" | "umod" => (Subr::Mod, 1..=1, str_t),
            _ if super::action::is_action(name) => {
                return Err(err_at(
                    pos,
                    format!("{name}( ) may only be used as a statement"),
                ))
            }
            _ if super::action::is_agg_func(name) => {
                return Err(err_at(
                    pos,
                    format!("{name}( ) may only be used to assign an aggregation"),
                ))
            }
            "copyin" | "copyinstr" | "copyinto" | "alloca" | "bcopy" | "speculation"
            | "progenyof" | "getmajor" | "getminor" | "ddi_pathname" | "msgsize" | "msgdsize"
            | "mutex_owned" | "mutex_owner" | "rw_read_held" | "rw_write_held" | "memref"
            | "json" => {
                return Err(err_at(
                    pos,
                    format!("{name}( ) is not supported by guestrace"),
                ))
            }
            _ => {
                return Err(err_at(
                    pos,
                    format!("failed to resolve {name}: Unknown function name"),
                ))
            }
        };
        if !arity.contains(&args.len()) {
            return Err(err_at(
                pos,
                format!(
                    "{name}( ) prototype mismatch: {} args passed, {} expected",
                    args.len(),
                    arity.start()
                ),
            ));
        }
        let mut nodes = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let (n, t) = self.rvalue(a)?;
            let wants_string = match subr {
                Subr::Strlen
                | Subr::Strjoin
                | Subr::Strstr
                | Subr::Tolower
                | Subr::Toupper
                | Subr::Basename
                | Subr::Dirname
                | Subr::Cleanpath
                | Subr::Strtok => true,
                Subr::Substr | Subr::Strchr | Subr::Strrchr | Subr::Strtoll => i == 0,
                Subr::Index | Subr::Rindex => i < 2,
                _ => false,
            };
            let null_strtok = subr == Subr::Strtok && i == 0 && n.as_const() == Some(0);
            let pointer_arg = matches!(subr, Subr::InetNtoa | Subr::InetNtoa6)
                || (subr == Subr::InetNtop && i == 1);
            if pointer_arg && !matches!(t, Type::Pointer(_)) {
                return Err(err_at(
                    a.pos,
                    format!("{name}( ) argument #{} must be a pointer, not {t}", i + 1),
                ));
            }
            let n = if null_strtok || (subr == Subr::InetNtop && i == 1) {
                // strtok(NULL, ...) continues a scan; inet_ntop reads as many bytes as its family needs.
                n
            } else if wants_string {
                self.string_value(n, &t, a.pos).map_err(|_| {
                    err_at(a.pos, format!("{name}( ) argument #{} is incompatible with prototype: expected string, got {t}", i + 1))
                })?
            } else if pointer_arg {
                let len = if subr == Subr::InetNtoa { 4 } else { 16 };
                let pc = self.pc();
                Node::ReadBytes {
                    addr: Box::new(n),
                    len,
                    pc,
                }
            } else {
                if !t.is_scalar() {
                    return Err(err_at(
                        a.pos,
                        format!("{name}( ) argument #{} is incompatible with prototype: expected integer, got {t}", i + 1),
                    ));
                }
                n
            };
            nodes.push(n);
        }
        Ok(CE::Val(Node::Subr(subr, nodes), ret))
    }
}

fn incompatible(op: BinOp, a: &Type, b: &Type, pos: Pos) -> crate::error::SyntaxError {
    err_at(
        pos,
        format!(
            "operator {} requires operands of compatible types: \"{a}\" {} \"{b}\"",
            op.text(),
            op.text()
        ),
    )
}

fn cond_mismatch(a: &Type, b: &Type, pos: Pos) -> crate::error::SyntaxError {
    err_at(
        pos,
        format!("operator ?: operands must have compatible types: \"{a}\" and \"{b}\""),
    )
}

/// The type of a folded constant: its operands' type if that holds the value, else a 64-bit type.
fn fit_constant(v: u64, t: IntType) -> IntType {
    if t.normalize(v) == v {
        t
    } else if (v as i64) >= 0 {
        IntType::LONG
    } else {
        IntType::ULONG
    }
}

/// Splits `base + constant` so a load can add the member offset itself (one node less per member).
fn split_offset(addr: Node) -> (Node, u64) {
    match addr {
        Node::Bin(BinI::Add, base, off) => match *off {
            Node::Const(c) => (*base, c),
            off => (Node::Bin(BinI::Add, base, Box::new(off)), 0),
        },
        addr => (addr, 0),
    }
}

/// Whether `name` is one of D's subroutines (callable in expressions).
pub(crate) fn is_subroutine(name: &str) -> bool {
    matches!(
        name,
        "strlen"
            | "strjoin"
            | "substr"
            | "index"
            | "rindex"
            | "strstr"
            | "strchr"
            | "strrchr"
            | "strtok"
            | "lltostr"
            | "strtoll"
            | "tolower"
            | "toupper"
            | "basename"
            | "dirname"
            | "cleanpath"
            | "ntohs"
            | "htons"
            | "ntohl"
            | "htonl"
            | "ntohll"
            | "htonll"
            | "inet_ntoa"
            | "inet_ntoa6"
            | "inet_ntop"
            | "rand"
            | "func"
            | "sym"
            | "uaddr"
            | "usym"
            | "ufunc"
            | "mod"
            | "umod"
            | "copyin"
            | "copyinstr"
            | "copyinto"
            | "alloca"
            | "bcopy"
            | "speculation"
            | "progenyof"
            | "getmajor"
            | "getminor"
            | "mutex_owned"
            | "mutex_owner"
            | "rw_read_held"
            | "rw_write_held"
            | "memref"
            | "json"
    )
}

/// Built-in variable names, for "did you mean" suggestions.
const BUILTIN_NAMES: [&str; 25] = [
    "timestamp",
    "vtimestamp",
    "walltimestamp",
    "execname",
    "pid",
    "ppid",
    "tid",
    "uid",
    "gid",
    "cpu",
    "curthread",
    "errno",
    "caller",
    "stackdepth",
    "probeprov",
    "probemod",
    "probefunc",
    "probename",
    "id",
    "epid",
    "args",
    "arg0",
    "ucaller",
    "ustackdepth",
    "zonename",
];
