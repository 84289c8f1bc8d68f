//! Top-level declarations and control lines: pragmas and options, `#pragma D depends_on`,
//! variables, inlines, typedefs, structs/unions/enums laid out with C's rules, translators.

use std::collections::HashMap;
use std::rc::Rc;

use super::{action, calls, CResult, Compiler, Inline, Translator, VarClass};
use crate::ast::{BaseType, Item, Scope, TypeName};
use crate::error::{err_at, Pos, SyntaxError};
use crate::ir::{Node, Place};
use crate::types::Type;

impl Compiler<'_> {
    /// The first `#pragma D depends_on provider|library` these items state that is not met.
    pub(crate) fn unmet_dependency(
        &self,
        items: &[Item],
        libraries: &[String],
    ) -> Option<(String, Pos)> {
        items.iter().find_map(|item| {
            let Item::Control(text, pos) = item else {
                return None;
            };
            let words: Vec<&str> = text.split_whitespace().collect();
            match words.as_slice() {
                ["pragma", "D", "depends_on", "provider", p, ..]
                    if !self.probes.iter().any(|x| x.provider == *p) =>
                {
                    Some((format!("provider {p}"), *pos))
                }
                ["pragma", "D", "depends_on", "library", l, ..]
                    if !libraries.iter().any(|x| x == l) =>
                {
                    Some((format!("library {l}"), *pos))
                }
                _ => None,
            }
        })
    }

    /// Applies a top-level declaration or control line.
    pub(crate) fn declare(&mut self, item: &Item) -> CResult<()> {
        match item {
            Item::Clause(_) => Ok(()),
            Item::Control(text, pos) => self.control(text, *pos),
            Item::TypeDecl(t) => {
                if let BaseType::Named(n) = &t.base {
                    if !n.starts_with("struct ")
                        && !n.starts_with("union ")
                        && !n.starts_with("enum ")
                    {
                        return Err(err_at(t.pos, "useless declaration"));
                    }
                }
                self.resolve(t).map(|_| ())
            }
            Item::Typedef { ty, name, pos } => {
                let t = self.resolve(ty)?;
                if self.typedefs.contains_key(name) {
                    return Err(err_at(*pos, format!("type redeclared: {name}")));
                }
                self.typedefs.insert(name.clone(), t);
                Ok(())
            }
            Item::Inline {
                ty,
                name,
                params,
                body,
                pos,
            } => {
                if self.identifier_taken(name) || is_builtin_name(name) {
                    return Err(err_at(*pos, format!("identifier redeclared: {name}")));
                }
                let t = self.resolve(ty)?;
                let mut ps = Vec::new();
                for (pt, pn) in params {
                    ps.push((self.resolve(pt)?, pn.clone()));
                }
                // The body is checked now, as dtrace does: before the name exists (so an inline
                // cannot use itself) and against the declared type.
                let scope = ps
                    .iter()
                    .map(|(pt, pn)| {
                        (
                            pn.clone(),
                            Node::Get(Place::Local(self.temp_slot())),
                            pt.clone(),
                        )
                    })
                    .collect();
                let saved = std::mem::replace(&mut self.params, scope);
                let checked = self
                    .rvalue(body)
                    .and_then(|(n, bt)| self.convert(n, &bt, &t, body.pos));
                self.params = saved;
                checked?;
                self.inlines.insert(
                    name.clone(),
                    Rc::new(Inline {
                        ty: t,
                        params: ps,
                        body: body.clone(),
                    }),
                );
                Ok(())
            }
            Item::Var {
                scope,
                ty,
                name,
                keys,
                pos,
            } => self.declare_var(*scope, ty, name, keys.as_deref(), *pos),
            Item::Translator {
                out,
                input,
                param,
                members,
                pos,
            } => {
                let out_t = self.resolve(out)?;
                let out_rec = match &out_t {
                    Type::Record(_) => out_t.clone(),
                    _ => {
                        return Err(err_at(
                            *pos,
                            format!("translator output type must be a struct: {out_t}"),
                        ))
                    }
                };
                let rec = self.complete(&out_rec, *pos)?;
                let input = self.resolve(input)?;
                let (out_name, in_name) = (out_rec.to_string(), input.to_string());
                if self
                    .translators
                    .iter()
                    .any(|t| t.out.to_string() == out_name && t.input.to_string() == in_name)
                {
                    return Err(err_at(
                        *pos,
                        format!(
                            "translator from {in_name} to {out_name} has already been declared"
                        ),
                    ));
                }
                let mut map = HashMap::new();
                for (m, e, mpos) in members {
                    let Some(mem) = rec.member(m) else {
                        return Err(self.no_member(&out_rec, m, *mpos));
                    };
                    if map.contains_key(m) {
                        return Err(err_at(
                            *mpos,
                            format!("translator member {m} is already defined"),
                        ));
                    }
                    // Each member's expression is checked at declaration, with the input bound.
                    let scope = vec![(
                        param.clone(),
                        Node::Get(Place::Local(self.temp_slot())),
                        input.clone(),
                    )];
                    let saved = std::mem::replace(&mut self.params, scope);
                    let checked = self
                        .rvalue(e)
                        .and_then(|(n, t)| self.convert(n, &t, &mem.ty, e.pos));
                    self.params = saved;
                    checked?;
                    map.insert(m.clone(), e.clone());
                }
                self.translators.push(Rc::new(Translator {
                    out: out_rec,
                    input,
                    param: param.clone(),
                    members: map,
                }));
                Ok(())
            }
        }
    }

    /// A control line: `pragma D option ...`, other `pragma D` forms, `line`, `ident`.
    pub(crate) fn control(&mut self, text: &str, pos: Pos) -> CResult<()> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["pragma", "D", "option", rest @ ..] => {
                let arg = rest.join("");
                if arg.is_empty() {
                    return Err(err_at(pos, "malformed #pragma D option"));
                }
                let name = arg.split('=').next().unwrap_or("").to_string();
                self.opts.set_arg(&arg).map_err(|m| {
                    let value = arg.split_once('=').map_or("", |(_, v)| v);
                    if m == "Invalid option name" {
                        err_at(pos, format!("failed to set option '{name}': {m}"))
                    } else {
                        err_at(
                            pos,
                            format!("failed to set option '{name}' to '{value}': {m}"),
                        )
                    }
                })
            }
            ["pragma", "D", "error", ..] => {
                let msg = text.split_once("error").map_or("", |(_, m)| m.trim());
                Err(err_at(
                    pos,
                    format!("#pragma D error: {}", msg.trim_matches('"')),
                ))
            }
            ["pragma", "D", "attributes", attr, _, ..] if attr.split('/').count() == 3 => Ok(()),
            ["pragma", "D", "attributes", ..] => Err(err_at(pos, "malformed #pragma D attributes")),
            ["pragma", "D", "binding" | "depends_on" | "ident", ..] => Ok(()),
            ["pragma", "D", other, ..] => Err(err_at(
                pos,
                format!("invalid control directive: #pragma D {other}"),
            )),
            ["pragma", "D"] => Err(err_at(pos, "malformed #pragma D")),
            ["pragma", ..] | ["ident", ..] | ["line", ..] | [] => Ok(()),
            [d, ..] if d.chars().all(|c| c.is_ascii_digit()) => Ok(()),
            [d, ..] => Err(err_at(pos, format!("invalid control directive: #{d}"))),
        }
    }

    pub(crate) fn declare_var(
        &mut self,
        scope: Scope,
        ty: &TypeName,
        name: &str,
        keys: Option<&[TypeName]>,
        pos: Pos,
    ) -> CResult<()> {
        let t = self.resolve(ty)?;
        let key_types = match keys {
            Some(ks) => Some(
                ks.iter()
                    .map(|k| self.resolve(k))
                    .collect::<CResult<Vec<_>>>()?,
            ),
            None => None,
        };
        if self.identifier_taken(name) && scope == Scope::Global {
            return Err(err_at(pos, format!("identifier redeclared: {name}")));
        }
        match scope {
            Scope::Global if key_types.is_some() => {
                self.new_var(VarClass::Assoc, name, t, key_types);
            }
            Scope::Global => match t {
                // A fixed-size D array behaves as an array indexed by one integer: unset
                // elements read as zero, as they do in dtrace.
                Type::Array(elem, _) => {
                    self.new_var(
                        VarClass::Assoc,
                        name,
                        (*elem).clone(),
                        Some(vec![Type::int(8, true)]),
                    );
                }
                t => {
                    self.new_var(VarClass::Global, name, t, None);
                }
            },
            Scope::Thread => {
                self.new_var(VarClass::Thread, name, t, key_types);
            }
            Scope::Clause => {
                if key_types.is_some() {
                    return Err(err_at(
                        pos,
                        format!("local variable may not be an associative array: {name}"),
                    ));
                }
                self.new_var(VarClass::Local, name, t, None);
            }
        }
        Ok(())
    }

    pub(crate) fn identifier_taken(&self, name: &str) -> bool {
        self.globals.contains_key(name)
            || self.assocs.contains_key(name)
            || self.inlines.contains_key(name)
            || self.consts.contains_key(name)
    }

    /// Resolves a written type to the model.
    pub(crate) fn resolve(&mut self, tn: &TypeName) -> CResult<Type> {
        let mut t = match &tn.base {
            BaseType::Named(n) => self.named_type(n, tn.pos)?,
            BaseType::Record {
                is_union,
                tag,
                fields,
            } => {
                let mut fs = Vec::new();
                for f in fields {
                    let mut ft = self.resolve(&f.ty)?;
                    // A member held by value needs its struct's layout (D_DECL_INCOMPLETE).
                    if let Type::Record(r) = &ft {
                        if r.members.is_none() {
                            let full = self.complete(&ft, f.ty.pos).map_err(|_| {
                                err_at(
                                    f.ty.pos,
                                    format!(
                                        "declaration of member {} uses incomplete type {}",
                                        f.name, r.name
                                    ),
                                )
                            })?;
                            ft = Type::Record(full);
                        }
                    }
                    let bits = match &f.bits {
                        Some(e) => {
                            let w = self.const_int(e)?;
                            if w == 0 || w > 64 || !ft.is_integer() {
                                return Err(err_at(
                                    e.pos,
                                    format!("invalid bit-field width for {}", f.name),
                                ));
                            }
                            Some(w as u8)
                        }
                        None => None,
                    };
                    fs.push((f.name.clone(), ft, bits));
                }
                for (i, (n, _, _)) in fs.iter().enumerate() {
                    if !n.is_empty() && fs[..i].iter().any(|(m, _, _)| m == n) {
                        return Err(err_at(tn.pos, format!("duplicate member name: {n}")));
                    }
                }
                let kw = if *is_union { "union" } else { "struct" };
                let name = format!("{kw} {}", tag.as_deref().unwrap_or("<anon>"));
                let rec =
                    crate::types::layout_record(name.clone(), *is_union, fs, self.opts.strsize);
                let t = Type::Record(Rc::new(rec));
                if tag.is_some() {
                    if matches!(self.records.get(&name), Some(Type::Record(r)) if r.members.is_some())
                    {
                        return Err(err_at(tn.pos, format!("{name} redeclared")));
                    }
                    self.records.insert(name, t.clone());
                }
                t
            }
            BaseType::Enum { tag, values } => {
                let mut next: i64 = 0;
                let mut vals = Vec::new();
                for (n, e, pos) in values {
                    if let Some(e) = e {
                        next = self.const_int(e)? as i64;
                    }
                    if self.consts.contains_key(n) || vals.iter().any(|(v, _)| v == n) {
                        return Err(err_at(*pos, format!("identifier redeclared: {n}")));
                    }
                    if next > i64::from(i32::MAX) || next < i64::from(i32::MIN) {
                        return Err(err_at(*pos, format!("enumerator '{n}' overflows int")));
                    }
                    vals.push((n.clone(), next));
                    next = next.wrapping_add(1);
                }
                let name = format!("enum {}", tag.as_deref().unwrap_or("<anon>"));
                let t = Type::Enum(Rc::new(crate::types::EnumDef {
                    name: name.clone(),
                    values: vals.clone(),
                }));
                for (n, v) in vals {
                    self.consts.insert(n, (v as u64, t.clone()));
                }
                if tag.is_some() {
                    self.records.insert(name, t.clone());
                }
                t
            }
        };
        for _ in 0..tn.stars {
            t = t.pointer_to();
        }
        for d in tn.dims.iter().rev() {
            let n = self.const_int(d)?;
            if (n as i64) <= 0 || n > u64::from(u32::MAX) {
                return Err(err_at(
                    d.pos,
                    "array dimension must be a positive integer constant",
                ));
            }
            t = Type::Array(Rc::new(t), n);
        }
        Ok(t)
    }

    pub(crate) fn named_type(&mut self, n: &str, pos: Pos) -> CResult<Type> {
        if let Some(t) = crate::types::builtin_type(n) {
            return Ok(t);
        }
        if let Some(t) = self.typedefs.get(n).or_else(|| self.records.get(n)) {
            return Ok(t.clone());
        }
        if let Some(t) = self.types.resolve_type(n) {
            return Ok(t);
        }
        // A struct/union/enum nobody defines yet is an incomplete type, as in C.
        for kw in ["struct ", "union "] {
            if n.starts_with(kw) {
                let rec = crate::types::Record {
                    name: n.to_string(),
                    is_union: kw == "union ",
                    size: 0,
                    align: 1,
                    members: None,
                };
                return Ok(Type::Record(Rc::new(rec)));
            }
        }
        Err(err_at(pos, format!("failed to resolve type {n}")))
    }

    /// The complete form of a record type (incomplete ones are looked up by name).
    pub(crate) fn complete(&self, t: &Type, pos: Pos) -> CResult<Rc<crate::types::Record>> {
        let Type::Record(r) = t else {
            return Err(err_at(pos, format!("{t} is not a struct or union")));
        };
        if r.members.is_some() {
            return Ok(r.clone());
        }
        let found = self
            .records
            .get(&r.name)
            .cloned()
            .or_else(|| self.types.resolve_type(&r.name));
        match found {
            Some(Type::Record(full)) if full.members.is_some() => Ok(full),
            _ => Err(err_at(pos, format!("{} is an incomplete type", r.name))),
        }
    }

    /// The error for a missing member, naming the type and its near matches.
    pub(crate) fn no_member(&self, t: &Type, m: &str, pos: Pos) -> SyntaxError {
        let names = match self.complete(t, pos) {
            Ok(r) => r.member_names(),
            Err(e) => return e,
        };
        let near = crate::suggest::near_matches(m, &names);
        let hint = if near.is_empty() {
            String::new()
        } else {
            format!("; did you mean {}?", near.join(" or "))
        };
        err_at(pos, format!("{m} is not a member of {t}{hint}"))
    }
}

/// Names D itself defines (built-in variables, subroutines, actions): not available to inlines.
fn is_builtin_name(name: &str) -> bool {
    crate::probes::Builtin::from_name(name).is_some()
        || action::is_action(name)
        || action::is_agg_func(name)
        || calls::is_subroutine(name)
        || matches!(
            name,
            "args"
                | "execname"
                | "probeprov"
                | "probemod"
                | "probefunc"
                | "probename"
                | "id"
                | "epid"
                | "zonename"
        )
        || name
            .strip_prefix("arg")
            .is_some_and(|d| d.parse::<u8>().is_ok_and(|i| i < 10))
}
