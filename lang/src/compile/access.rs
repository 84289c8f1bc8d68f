//! Places in expressions: associative arrays and their keys, `[]` on guest pointers and arrays,
//! `.` and `->` members (guest memory, D structs, translated structs), and assignment targets.

use super::expr::{store_of, CE};
use super::typing::{arith, int_op, norm};
use super::{CResult, Compiler, VarClass};
use crate::ast::{BinOp, Expr, ExprKind};
use crate::error::{err_at, Pos};
use crate::ir::{BinI, Node, Place, Store};
use crate::probes::Builtin;
use crate::types::{IntType, Type};

impl Compiler<'_> {
    pub(crate) fn index(&mut self, base: &Expr, keys: &[Expr], pos: Pos) -> CResult<CE> {
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

    pub(crate) fn is_known_name(&self, name: &str) -> bool {
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

    pub(crate) fn member(&mut self, base: &Expr, name: &str, arrow: bool, pos: Pos) -> CResult<CE> {
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
    pub(crate) fn var_field(
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

    pub(crate) fn mem_member(
        &mut self,
        addr: Node,
        ty: &Type,
        name: &str,
        pos: Pos,
    ) -> CResult<CE> {
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

    pub(crate) fn assign(
        &mut self,
        op: Option<BinOp>,
        lhs: &Expr,
        rhs: &Expr,
        pos: Pos,
    ) -> CResult<CE> {
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
}
