//! Names in expressions: identifiers and built-in variables, inlines, probe arguments and
//! translators (members of translated structs), with "did you mean" for unknown ones.

use std::collections::HashSet;
use std::rc::Rc;

use super::expr::{store_of, CE};
use super::typing::norm;
use super::{CResult, Compiler, Translator};
use crate::ast::Expr;
use crate::error::{err_at, Pos};
use crate::ir::{Node, Place};
use crate::probes::Builtin;
use crate::types::{IntType, Type};

/// Why a probe argument's type may be missing.
const LIBRARY_HINT: &str = " (is the provider's translator library loaded?)";

impl Compiler<'_> {
    pub(crate) fn undefined<T>(&self, name: &str, pos: Pos) -> CResult<T> {
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

    pub(crate) fn ident(&mut self, name: &str, pos: Pos) -> CResult<CE> {
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
    pub(crate) fn expand_inline(
        &mut self,
        inl: &super::Inline,
        args: &[Expr],
        pos: Pos,
    ) -> CResult<CE> {
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

    pub(crate) fn find_translator(
        &self,
        out: &Type,
        input: &Type,
        pos: Pos,
    ) -> CResult<Rc<Translator>> {
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
    pub(crate) fn probe_arg(&mut self, i: u64, pos: Pos) -> CResult<CE> {
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

    /// One member of a translated struct: the translator's expression with its parameter bound.
    pub(crate) fn xlate_member(
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
    pub(crate) fn bind_param(&mut self, n: Node, ty: &Type) -> (Option<Node>, Node) {
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
