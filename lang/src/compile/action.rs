//! Clause statements: actions (printf, printa, trace, tracemem, exit, aggregation functions,
//! clear/trunc/normalize, setopt, stack) and expression statements, with dtrace's checks.

use std::rc::Rc;

use lang_output::printf::ArgClass;
use lang_output::{AggFunc, Format};

use super::expr::{ArgKind, CE};
use super::{CResult, Compiler};
use crate::ast::{Expr, ExprKind};
use crate::error::{err_at, Pos};
use crate::ir::Node;
use crate::program::AggInfo;
use crate::types::{IntType, Type};

/// One compiled statement.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// An expression evaluated for its effect (assignments).
    Eval(Node),
    /// printf(fmt, args...).
    Printf {
        fmt: Rc<Format>,
        args: Vec<(Node, ArgKind)>,
    },
    /// trace(expr).
    Trace(Node, ArgKind),
    /// tracemem(addr, size).
    Tracemem { addr: Node, len: u32, pc: u32 },
    /// printa([fmt,] @a, ...).
    Printa {
        fmt: Option<Rc<Format>>,
        aggs: Vec<u32>,
    },
    /// @a[keys] = func(value[, incr]).
    Aggregate {
        agg: u32,
        keys: Vec<(Node, ArgKind)>,
        value: Option<Node>,
        incr: Option<Node>,
    },
    /// exit(status).
    Exit(Node),
    /// clear(@a).
    Clear(u32),
    /// trunc(@a[, n]).
    Trunc(u32, Option<Node>),
    /// normalize(@a, n).
    Normalize(u32, Node),
    /// denormalize(@a).
    Denormalize(u32),
    /// setopt(name[, value]).
    Setopt(Node, Option<Node>),
    /// stack([n]).
    Stack(u32),
}

const ACTIONS: [&str; 21] = [
    "printf",
    "printa",
    "trace",
    "tracemem",
    "exit",
    "clear",
    "trunc",
    "normalize",
    "denormalize",
    "setopt",
    "stack",
    "ustack",
    "jstack",
    "system",
    "raise",
    "stop",
    "panic",
    "chill",
    "breakpoint",
    "speculate",
    "commit",
];

/// Whether `name` is an action (a statement-only function).
pub(crate) fn is_action(name: &str) -> bool {
    ACTIONS.contains(&name)
        || matches!(
            name,
            "discard" | "freopen" | "ftruncate" | "printm" | "print" | "pcap"
        )
}

/// Whether `name` is an aggregating function.
pub(crate) fn is_agg_func(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "sum"
            | "avg"
            | "min"
            | "max"
            | "stddev"
            | "quantize"
            | "lquantize"
            | "llquantize"
    )
}

impl Compiler<'_> {
    /// Compiles one clause statement.
    pub(crate) fn statement(&mut self, e: &Expr) -> CResult<Action> {
        match &e.kind {
            ExprKind::Assign(None, lhs, rhs) if is_agg_target(lhs) => {
                self.aggregate(lhs, rhs, e.pos)
            }
            ExprKind::Call(name, args) if is_action(name) => self.action(name, args, e.pos),
            _ => {
                let ce = self.expr(e)?;
                let (n, _) = self.value(ce, e.pos)?;
                Ok(Action::Eval(n))
            }
        }
    }

    fn agg_arg(&mut self, e: &Expr) -> CResult<u32> {
        let ExprKind::Agg(name) = &e.kind else {
            return Err(err_at(e.pos, "argument must be an aggregation"));
        };
        match self.agg_names.get(name) {
            Some(id) => Ok(*id),
            None => Err(err_at(
                e.pos,
                format!("failed to resolve @{name}: Unknown aggregation name"),
            )),
        }
    }

    fn format_arg(&mut self, e: &Expr, what: &str) -> CResult<Rc<Format>> {
        let ExprKind::Str(s) = &e.kind else {
            return Err(err_at(
                e.pos,
                format!("{what}( ) argument #1 must be a string constant"),
            ));
        };
        let f = Format::parse(s).map_err(|err| err_at(e.pos, format!("{what}( ) {err}")))?;
        Ok(Rc::new(f))
    }

    /// An argument to printf/trace/a key: value node and how it is handed to output.
    pub(crate) fn output_arg(&mut self, e: &Expr) -> CResult<(Node, ArgKind, Type)> {
        // stack() is a value here (an aggregation key, a %k argument): its frames come from
        // the provider when the clause runs.
        if let ExprKind::Call(name, args) = &e.kind {
            if name == "stack" && args.len() <= 1 {
                let n = self.stack_depth(args.first())?;
                let ty = Type::Array(std::rc::Rc::new(Type::int(8, false)), u64::from(n));
                return Ok((Node::Const(0), ArgKind::Stack(n), ty));
            }
        }
        let ce = self.expr(e)?;
        if let CE::Agg(n) = &ce {
            return Err(err_at(
                e.pos,
                format!("aggregation @{n} cannot be used as a scalar: use printa()"),
            ));
        }
        let (n, t) = self.value(ce, e.pos)?;
        let Some(kind) = ArgKind::of(&t) else {
            return Err(err_at(
                e.pos,
                format!("values of type {t} cannot be traced"),
            ));
        };
        Ok((n, kind, t))
    }

    fn action(&mut self, name: &str, args: &[Expr], pos: Pos) -> CResult<Action> {
        let arity = |lo: usize, hi: usize| -> CResult<()> {
            if args.len() < lo || args.len() > hi {
                return Err(err_at(
                    pos,
                    format!(
                        "{name}( ) prototype mismatch: {} args passed, {lo} expected",
                        args.len()
                    ),
                ));
            }
            Ok(())
        };
        match name {
            "printf" => {
                if args.is_empty() {
                    return Err(err_at(
                        pos,
                        "printf( ) prototype mismatch: 0 args passed, at least 1 expected",
                    ));
                }
                let fmt = self.format_arg(&args[0], "printf")?;
                let mut vals = Vec::new();
                for a in &args[1..] {
                    vals.push(self.output_arg(a)?);
                }
                self.check_printf(&fmt, &vals, &args[1..], pos)?;
                Ok(Action::Printf {
                    fmt,
                    args: vals.into_iter().map(|(n, k, _)| (n, k)).collect(),
                })
            }
            "printa" => {
                if args.is_empty() {
                    return Err(err_at(
                        pos,
                        "printa( ) prototype mismatch: 0 args passed, at least 1 expected",
                    ));
                }
                let (fmt, rest) = match &args[0].kind {
                    ExprKind::Str(_) => (Some(self.format_arg(&args[0], "printa")?), &args[1..]),
                    _ => (None, args),
                };
                if rest.is_empty() {
                    return Err(err_at(pos, "printa( ) requires an aggregation argument"));
                }
                let aggs = rest
                    .iter()
                    .map(|a| self.agg_arg(a))
                    .collect::<CResult<Vec<_>>>()?;
                if let Some(f) = &fmt {
                    self.check_printa(f, &aggs, pos)?;
                }
                Ok(Action::Printa { fmt, aggs })
            }
            "trace" => {
                arity(1, 1)?;
                let (n, k, _) = self.output_arg(&args[0])?;
                Ok(Action::Trace(n, k))
            }
            "tracemem" => {
                arity(2, 3)?;
                let (addr, t) = self.rvalue(&args[0])?;
                if !t.is_scalar() {
                    return Err(err_at(
                        args[0].pos,
                        "tracemem( ) argument #1 must be a pointer or integer",
                    ));
                }
                let len = self.const_int(&args[1])?;
                if len == 0 || len > 64 * 1024 {
                    return Err(err_at(
                        args[1].pos,
                        "tracemem( ) size must be a positive integer constant",
                    ));
                }
                self.next_pc += 1;
                Ok(Action::Tracemem {
                    addr,
                    len: len as u32,
                    pc: self.next_pc * 4,
                })
            }
            "exit" => {
                arity(1, 1)?;
                let (n, t) = self.rvalue(&args[0])?;
                if !t.is_integer() {
                    return Err(err_at(
                        args[0].pos,
                        "exit( ) argument #1 must be an integer",
                    ));
                }
                Ok(Action::Exit(n))
            }
            "clear" | "denormalize" => {
                arity(1, 1)?;
                let a = self.agg_arg(&args[0])?;
                Ok(if name == "clear" {
                    Action::Clear(a)
                } else {
                    Action::Denormalize(a)
                })
            }
            "trunc" => {
                arity(1, 2)?;
                let a = self.agg_arg(&args[0])?;
                let n = match args.get(1) {
                    Some(e) => Some(self.integer(e, "trunc")?),
                    None => None,
                };
                Ok(Action::Trunc(a, n))
            }
            "normalize" => {
                arity(2, 2)?;
                let a = self.agg_arg(&args[0])?;
                Ok(Action::Normalize(a, self.integer(&args[1], "normalize")?))
            }
            "setopt" => {
                arity(1, 2)?;
                let (n, t) = self.rvalue(&args[0])?;
                let n = self.string_value(n, &t, args[0].pos)?;
                let v = match args.get(1) {
                    Some(e) => {
                        let (v, vt) = self.rvalue(e)?;
                        Some(self.string_value(v, &vt, e.pos)?)
                    }
                    None => None,
                };
                Ok(Action::Setopt(n, v))
            }
            "stack" => {
                arity(0, 1)?;
                Ok(Action::Stack(self.stack_depth(args.first())?))
            }
            _ => Err(err_at(
                pos,
                format!("{name}( ) is not supported by guestrace"),
            )),
        }
    }

    /// stack()'s frame count: its constant argument, else the stackframes option.
    fn stack_depth(&mut self, arg: Option<&Expr>) -> CResult<u32> {
        match arg {
            Some(e) => {
                let n = self.const_int(e)?;
                if n == 0 || n > 1024 {
                    return Err(err_at(
                        e.pos,
                        "stack( ) frame count must be between 1 and 1024",
                    ));
                }
                Ok(n as u32)
            }
            None => Ok(self.opts.stackframes.clamp(1, 1024) as u32),
        }
    }

    fn integer(&mut self, e: &Expr, what: &str) -> CResult<Node> {
        let (n, t) = self.rvalue(e)?;
        if !t.is_integer() {
            return Err(err_at(
                e.pos,
                format!("{what}( ) argument #2 must be an integer"),
            ));
        }
        Ok(n)
    }

    /// printf's argument checks, with dtrace's texts (D_PRINTF_ARG_*).
    fn check_printf(
        &self,
        fmt: &Format,
        vals: &[(Node, ArgKind, Type)],
        exprs: &[Expr],
        pos: Pos,
    ) -> CResult<()> {
        let mut i = 0;
        for conv in fmt.conversions() {
            if conv.is_agg() {
                return Err(err_at(pos, "printf( ) %@ conversion requires an aggregation and is not for use with printf( )"));
            }
            for k in 0..conv.arguments() {
                let is_value = k + 1 == conv.arguments();
                let Some((_, _, t)) = vals.get(i) else {
                    return Err(err_at(
                        pos,
                        format!(
                            "printf( ) prototype mismatch: conversion #{} (%{}) is missing a corresponding value argument",
                            conv.index(),
                            conv.name()
                        ),
                    ));
                };
                let ok = if is_value {
                    class_accepts(conv.class(), t)
                } else {
                    t.is_integer()
                };
                if !ok {
                    let proto = if is_value { conv.prototype() } else { "int" };
                    let at = exprs.get(i).map_or(pos, |e| e.pos);
                    return Err(err_at(
                        at,
                        format!(
                            "printf( ) argument #{} is incompatible with conversion #{} prototype:\n\tconversion: %{}\n\t prototype: {}\n\t  argument: {}",
                            i + 2,
                            conv.index(),
                            conv.name(),
                            proto,
                            t
                        ),
                    ));
                }
                i += 1;
            }
        }
        if i < vals.len() {
            let at = exprs.get(i).map_or(pos, |e| e.pos);
            return Err(err_at(at, format!("printf( ) prototype mismatch: only {i} arguments required by this format string")));
        }
        Ok(())
    }

    /// printa's checks: every aggregation's keys must fit the format's key conversions.
    fn check_printa(&self, fmt: &Format, aggs: &[u32], pos: Pos) -> CResult<()> {
        let infos: Vec<&AggInfo> = aggs
            .iter()
            .filter_map(|a| self.aggs.get(*a as usize))
            .collect();
        let Some(first) = infos.first() else {
            return Ok(());
        };
        let kinds = |keys: &[Type]| {
            keys.iter()
                .map(|k| matches!(k, Type::String))
                .collect::<Vec<_>>()
        };
        for other in &infos[1..] {
            if other.keys.len() != first.keys.len() || kinds(&other.keys) != kinds(&first.keys) {
                return Err(err_at(pos, "printa( ) aggregation keys do not match: every aggregation needs the same key signature"));
            }
        }
        let mut k = 0;
        for conv in fmt.conversions() {
            if conv.is_agg() || conv.is_percent() {
                continue;
            }
            for j in 0..conv.arguments() {
                let Some(t) = first.keys.get(k) else {
                    return Err(err_at(
                        pos,
                        format!(
                            "printa( ) argument #{} is incompatible with conversion #{} prototype: the aggregation has only {} keys",
                            k + 2,
                            conv.index(),
                            first.keys.len()
                        ),
                    ));
                };
                let ok = if j + 1 == conv.arguments() {
                    class_accepts(conv.class(), t)
                } else {
                    t.is_integer()
                };
                if !ok {
                    return Err(err_at(
                        pos,
                        format!(
                            "printa( ) key #{} is incompatible with conversion #{} prototype:\n\tconversion: %{}\n\t prototype: {}\n\t       key: {}",
                            k + 1,
                            conv.index(),
                            conv.name(),
                            conv.prototype(),
                            t
                        ),
                    ));
                }
                k += 1;
            }
        }
        Ok(())
    }

    fn aggregate(&mut self, lhs: &Expr, rhs: &Expr, pos: Pos) -> CResult<Action> {
        let (name, key_exprs): (&str, &[Expr]) = match &lhs.kind {
            ExprKind::Agg(n) => (n, &[]),
            ExprKind::Index(b, ks) => match &b.kind {
                ExprKind::Agg(n) => (n, ks),
                _ => return Err(err_at(pos, "invalid aggregation")),
            },
            _ => return Err(err_at(pos, "invalid aggregation")),
        };
        let ExprKind::Call(fname, fargs) = &rhs.kind else {
            return Err(err_at(
                rhs.pos,
                format!("@{name} must be assigned an aggregating function such as count()"),
            ));
        };
        if !is_agg_func(fname) {
            return Err(err_at(
                rhs.pos,
                format!("{fname}( ) is not an aggregating function"),
            ));
        }
        let (func, nvals) = self.agg_func(fname, fargs, rhs.pos)?;
        let mut keys = Vec::new();
        let mut key_types = Vec::new();
        for k in key_exprs {
            let (n, kind, t) = self.output_arg(k)?;
            keys.push((n, kind));
            key_types.push(t);
        }
        let id = match self.agg_names.get(name) {
            Some(&id) => {
                let info = &self.aggs[id as usize];
                if info.func != func {
                    return Err(err_at(
                        rhs.pos,
                        format!("@{name}: aggregation redefined: a single aggregation cannot use both {} and {fname}( )", info.func_name),
                    ));
                }
                if info.keys.len() != key_types.len()
                    || info
                        .keys
                        .iter()
                        .zip(&key_types)
                        .any(|(a, b)| matches!(a, Type::String) != matches!(b, Type::String))
                {
                    return Err(err_at(
                        lhs.pos,
                        format!("@{name}[ ] key signature does not match its first use"),
                    ));
                }
                id
            }
            None => {
                let id = self.aggs.len() as u32;
                self.aggs.push(AggInfo {
                    name: name.to_string(),
                    func,
                    func_name: fname.clone(),
                    keys: key_types,
                });
                self.agg_names.insert(name.to_string(), id);
                id
            }
        };
        let mut vals = Vec::new();
        for a in fargs.iter().take(nvals) {
            let (n, t) = self.rvalue(a)?;
            if !t.is_scalar() {
                return Err(err_at(
                    a.pos,
                    format!("{fname}( ) argument must be of scalar type, not {t}"),
                ));
            }
            vals.push(n);
        }
        let incr = match (fname.as_str(), fargs.len()) {
            ("quantize", 2) | ("lquantize", 5) | ("llquantize", 6) => {
                let last = &fargs[fargs.len() - 1];
                Some(self.rvalue(last)?.0)
            }
            _ => None,
        };
        Ok(Action::Aggregate {
            agg: id,
            keys,
            value: vals.into_iter().next(),
            incr,
        })
    }

    /// The aggregating function with its constant parameters, and how many value arguments it takes.
    fn agg_func(&mut self, fname: &str, args: &[Expr], pos: Pos) -> CResult<(AggFunc, usize)> {
        let want = |lo: usize, hi: usize| -> CResult<()> {
            if args.len() < lo || args.len() > hi {
                return Err(err_at(
                    pos,
                    format!(
                        "{fname}( ) prototype mismatch: {} args passed, {lo} expected",
                        args.len()
                    ),
                ));
            }
            Ok(())
        };
        let f = match fname {
            "count" => {
                want(0, 0)?;
                return Ok((AggFunc::Count, 0));
            }
            "sum" | "avg" | "min" | "max" | "stddev" => {
                want(1, 1)?;
                match fname {
                    "sum" => AggFunc::Sum,
                    "avg" => AggFunc::Avg,
                    "min" => AggFunc::Min,
                    "max" => AggFunc::Max,
                    _ => AggFunc::Stddev,
                }
            }
            "quantize" => {
                want(1, 2)?;
                AggFunc::Quantize
            }
            "lquantize" => {
                want(3, 5)?;
                let base = self.const_int(&args[1])? as i64;
                let limit = self.const_int(&args[2])? as i64;
                let step = match args.get(3) {
                    Some(e) => self.const_int(e)? as i64,
                    None => 1,
                };
                if base >= limit {
                    return Err(err_at(
                        args[2].pos,
                        "lquantize( ) upper bound must be greater than lower bound",
                    ));
                }
                if step <= 0 || step > i64::from(u16::MAX) {
                    return Err(err_at(
                        pos,
                        "lquantize( ) step must be a positive integer no larger than 65535",
                    ));
                }
                let (Ok(b), Ok(l)) = (i32::try_from(base), i32::try_from(limit)) else {
                    return Err(err_at(pos, "lquantize( ) bounds must be 32-bit integers"));
                };
                AggFunc::lquantize(b, l, step as u16).map_err(|e| err_at(pos, e.to_string()))?
            }
            "llquantize" => {
                want(5, 6)?;
                let mut p = [0u16; 4];
                for (i, slot) in p.iter_mut().enumerate() {
                    let v = self.const_int(&args[i + 1])?;
                    *slot = u16::try_from(v).map_err(|_| {
                        err_at(args[i + 1].pos, "llquantize( ) parameter out of range")
                    })?;
                }
                // The largest bucket, factor^(high+1), must fit in 64 bits (D_LLQUANT_MAGTOOBIG).
                if u64::from(p[0]).checked_pow(u32::from(p[2]) + 1).is_none() {
                    return Err(err_at(pos, "llquantize( ) factor (argument #2) raised to high magnitude (argument #4) overflows 64 bits"));
                }
                AggFunc::llquantize(p[0], p[1], p[2], p[3])
                    .map_err(|e| err_at(pos, e.to_string()))?
            }
            _ => {
                return Err(err_at(
                    pos,
                    format!("{fname}( ) is not an aggregating function"),
                ))
            }
        };
        Ok((f, 1))
    }
}

fn is_agg_target(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Agg(_) => true,
        ExprKind::Index(b, _) => matches!(b.kind, ExprKind::Agg(_)),
        _ => false,
    }
}

/// Whether a conversion's argument class accepts a D type.
fn class_accepts(class: ArgClass, t: &Type) -> bool {
    let it = t.as_int();
    match class {
        ArgClass::Int | ArgClass::Pointer | ArgClass::KernelAddr | ArgClass::UserAddr => {
            t.is_scalar()
        }
        ArgClass::SmallInt => t.is_integer() && it.is_some_and(|i| i.size <= 4),
        ArgClass::String => matches!(t, Type::String),
        ArgClass::Time => t.is_integer() && it.is_some_and(|i| i.size == 8),
        ArgClass::Exact(name) => match crate::types::builtin_type(name).and_then(|b| b.as_int()) {
            Some(want) => it == Some(want) && t.is_integer(),
            None => false,
        },
        ArgClass::AnyShort => it.is_some_and(|i| i.size == 2) && t.is_integer(),
        ArgClass::AnyLong | ArgClass::AnyLongLong => {
            it.is_some_and(|i| i.size == 8) && t.is_integer()
        }
        ArgClass::None => true,
        ArgClass::Stack => {
            matches!(t, Type::Array(e, _) if matches!(**e, Type::Int(IntType { size: 8, signed: false })))
        }
        ArgClass::Float => matches!(t, Type::Float(4 | 8)),
        ArgClass::WideString => false,
        #[allow(unreachable_patterns)]
        _ => false,
    }
}
