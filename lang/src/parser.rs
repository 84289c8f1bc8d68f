//! D's parser: declarations, probe clauses and C expressions, into [`crate::ast`].

use std::collections::{HashSet, VecDeque};

use crate::ast::*;
use crate::error::{err_at, Pos, SyntaxError};
use crate::lexer::{Lexer, MacroArgs, Tok, Token};

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: u32 = 100;

/// Words that start a top-level declaration rather than a probe description.
const DECL_WORDS: [&str; 14] = [
    "inline",
    "typedef",
    "struct",
    "union",
    "enum",
    "translator",
    "self",
    "this",
    "extern",
    "static",
    "const",
    "volatile",
    "signed",
    "unsigned",
];

/// Parses one source text. `typedefs` holds the typedef names known so far (D-declared ones are
/// added as they are parsed); `is_guest_type` says whether the guest knows a typedef name.
pub fn parse(
    src: &str,
    macros: &MacroArgs,
    typedefs: &mut HashSet<String>,
    is_guest_type: &dyn Fn(&str) -> bool,
) -> Result<Vec<Item>, SyntaxError> {
    parse_counting_macros(src, macros, "", typedefs, is_guest_type).map(|(items, _)| items)
}

/// [`parse`] of the script named `program` (what `$0` reads), also returning the highest `$N`
/// the text references (for D_MACRO_UNUSED).
pub fn parse_counting_macros(
    src: &str,
    macros: &MacroArgs,
    program: &str,
    typedefs: &mut HashSet<String>,
    is_guest_type: &dyn Fn(&str) -> bool,
) -> Result<(Vec<Item>, usize), SyntaxError> {
    let mut lx = Lexer::new(src, macros);
    lx.program = program.to_string();
    let mut p = Parser {
        lx,
        la: VecDeque::new(),
        typedefs,
        is_guest_type,
        depth: 0,
    };
    let items = p.program()?;
    Ok((items, p.lx.max_macro_used))
}

/// Parses a C type name written as a string (a probe argument's type, e.g. `struct tcpcb *`).
pub fn parse_type_name(
    text: &str,
    typedefs: &mut HashSet<String>,
    is_guest_type: &dyn Fn(&str) -> bool,
) -> Result<TypeName, SyntaxError> {
    let macros = MacroArgs::default();
    let mut p = Parser {
        lx: Lexer::new(text, &macros),
        la: VecDeque::new(),
        typedefs,
        is_guest_type,
        depth: 0,
    };
    let t = p.type_name()?;
    match p.next()? {
        Token { tok: Tok::Eof, .. } => Ok(t),
        t => Err(err_at(t.pos, near(&t))),
    }
}

struct Parser<'a, 's> {
    lx: Lexer<'a>,
    la: VecDeque<Token>,
    typedefs: &'s mut HashSet<String>,
    is_guest_type: &'s dyn Fn(&str) -> bool,
    depth: u32,
}

fn near(t: &Token) -> String {
    let shown = match &t.tok {
        Tok::Ident(s) | Tok::Backquote(s) => s.clone(),
        Tok::Int { value, .. } => value.to_string(),
        Tok::Char(v) => v.to_string(),
        Tok::Str(s) => format!("\"{}\"", String::from_utf8_lossy(s)),
        Tok::Punct(p) => (*p).to_string(),
        Tok::Slash { .. } => "/".into(),
        Tok::Control(c) => format!("#{c}"),
        Tok::Eof => return "syntax error near end of input".into(),
    };
    format!("syntax error near \"{shown}\"")
}

impl Parser<'_, '_> {
    fn peek(&mut self) -> Result<&Token, SyntaxError> {
        self.peek_at(0)
    }

    fn peek_at(&mut self, k: usize) -> Result<&Token, SyntaxError> {
        while self.la.len() <= k {
            let t = self.lx.next_token()?;
            self.la.push_back(t);
        }
        Ok(&self.la[k])
    }

    fn next(&mut self) -> Result<Token, SyntaxError> {
        self.peek()?;
        self.la
            .pop_front()
            .ok_or_else(|| err_at(self.lx.pos(), "syntax error near end of input"))
    }

    fn is_punct(&mut self, p: &str) -> Result<bool, SyntaxError> {
        Ok(matches!(&self.peek()?.tok, Tok::Punct(q) if *q == p))
    }

    fn eat(&mut self, p: &str) -> Result<bool, SyntaxError> {
        if self.is_punct(p)? {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect(&mut self, p: &str) -> Result<Pos, SyntaxError> {
        let t = self.next()?;
        match &t.tok {
            Tok::Punct(q) if *q == p => Ok(t.pos),
            _ => Err(err_at(t.pos, near(&t))),
        }
    }

    fn ident(&mut self) -> Result<(String, Pos), SyntaxError> {
        let t = self.next()?;
        match t.tok {
            Tok::Ident(s) => Ok((s, t.pos)),
            _ => Err(err_at(t.pos, near(&t))),
        }
    }

    fn enter(&mut self, pos: Pos) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err_at(pos, "expression is nested too deeply"));
        }
        Ok(())
    }

    fn is_type_word(&self, w: &str) -> bool {
        DECL_WORDS[8..].contains(&w)
            || matches!(
                w,
                "struct" | "union" | "enum" | "short" | "long" | "char" | "int" | "void"
            )
            || crate::types::builtin_type(w).is_some()
            || self.typedefs.contains(w)
            || (self.is_guest_type)(w)
    }

    fn starts_type(&mut self, k: usize) -> Result<bool, SyntaxError> {
        let t = self.peek_at(k)?.tok.clone();
        Ok(matches!(&t, Tok::Ident(w) if self.is_type_word(w)))
    }

    fn program(&mut self) -> Result<Vec<Item>, SyntaxError> {
        let mut items = Vec::new();
        loop {
            if self.la.is_empty() {
                let word = self.lx.peek_word()?;
                if !word.is_empty()
                    && (DECL_WORDS.contains(&word.as_str()) || self.is_type_word(&word))
                {
                    items.extend(self.declaration()?);
                    continue;
                }
                if let Some(first) = self.lx.probe_spec()? {
                    items.push(Item::Clause(self.clause(first)?));
                    continue;
                }
            }
            let t = self.next()?;
            match t.tok {
                Tok::Eof => return Ok(items),
                Tok::Control(c) => items.push(Item::Control(c, t.pos)),
                Tok::Punct(";") => {}
                _ => return Err(err_at(t.pos, near(&t))),
            }
        }
    }

    fn clause(&mut self, first: (String, Pos)) -> Result<Clause, SyntaxError> {
        let pos = first.1;
        let mut descs = vec![first];
        loop {
            // Descriptions are read raw, so no token may be buffered here.
            if !self.la.is_empty() {
                break;
            }
            let t = self.lx.next_token()?;
            if matches!(t.tok, Tok::Punct(",")) {
                match self.lx.probe_spec()? {
                    Some(d) => descs.push(d),
                    None => {
                        let t = self.next()?;
                        return Err(err_at(t.pos, near(&t)));
                    }
                }
            } else {
                self.la.push_back(t);
            }
        }
        let mut pred = None;
        if matches!(self.peek()?.tok, Tok::Slash { .. }) {
            self.next()?;
            pred = Some(self.expr()?);
            let t = self.next()?;
            if !matches!(t.tok, Tok::Slash { .. }) {
                return Err(err_at(t.pos, near(&t)));
            }
        }
        let mut body = Vec::new();
        if self.eat("{")? {
            loop {
                if self.eat("}")? {
                    break;
                }
                if self.eat(";")? {
                    continue;
                }
                if let Tok::Control(_) = self.peek()?.tok {
                    self.next()?;
                    continue;
                }
                body.push(self.expr()?);
                if !self.is_punct("}")? {
                    self.expect(";")?;
                }
            }
        } else if pred.is_some() || !matches!(self.peek()?.tok, Tok::Eof) {
            let t = self.next()?;
            return Err(err_at(t.pos, near(&t)));
        }
        Ok(Clause {
            descs,
            pred,
            body,
            pos,
        })
    }

    // ---- declarations ----

    fn declaration(&mut self) -> Result<Vec<Item>, SyntaxError> {
        let t = self.peek()?.clone();
        let Tok::Ident(w) = &t.tok else {
            return Err(err_at(t.pos, near(&t)));
        };
        match w.as_str() {
            "inline" => {
                self.next()?;
                let ty = self.base_type()?;
                let ty = self.stars(ty)?;
                let (name, pos) = self.ident()?;
                let mut params = Vec::new();
                if self.eat("[")? {
                    loop {
                        let pty = self.type_name()?;
                        let (pname, _) = self.ident()?;
                        params.push((pty, pname));
                        if !self.eat(",")? {
                            break;
                        }
                    }
                    self.expect("]")?;
                }
                self.expect("=")?;
                let body = self.expr()?;
                self.expect(";")?;
                Ok(vec![Item::Inline {
                    ty,
                    name,
                    params,
                    body,
                    pos,
                }])
            }
            "typedef" => {
                self.next()?;
                let base = self.base_type()?;
                let mut out = Vec::new();
                loop {
                    let (ty, name, pos) = self.declarator(base.clone())?;
                    self.typedefs.insert(name.clone());
                    out.push(Item::Typedef { ty, name, pos });
                    if !self.eat(",")? {
                        break;
                    }
                }
                self.expect(";")?;
                Ok(out)
            }
            "translator" => {
                let pos = self.next()?.pos;
                let out = self.type_name()?;
                self.expect("<")?;
                let input = self.base_type()?;
                let input = self.stars(input)?;
                let (param, _) = self.ident()?;
                self.expect(">")?;
                self.expect("{")?;
                let mut members = Vec::new();
                while !self.eat("}")? {
                    let (m, mpos) = self.ident()?;
                    self.expect("=")?;
                    let e = self.expr()?;
                    self.expect(";")?;
                    members.push((m, e, mpos));
                }
                self.expect(";")?;
                Ok(vec![Item::Translator {
                    out,
                    input,
                    param,
                    members,
                    pos,
                }])
            }
            _ => {
                let scope = match w.as_str() {
                    "self" => Scope::Thread,
                    "this" => Scope::Clause,
                    _ => Scope::Global,
                };
                if scope != Scope::Global {
                    self.next()?;
                }
                while matches!(&self.peek()?.tok, Tok::Ident(w) if w == "extern" || w == "static") {
                    self.next()?;
                }
                let base = self.base_type()?;
                if self.eat(";")? {
                    return Ok(vec![Item::TypeDecl(base)]);
                }
                let mut out = Vec::new();
                loop {
                    let ty = self.stars(base.clone())?;
                    let (name, pos) = self.ident()?;
                    let mut keys = None;
                    let mut ty = ty;
                    if self.eat("[")? {
                        if self.starts_type(0)? {
                            let mut ks = Vec::new();
                            loop {
                                ks.push(self.type_name()?);
                                if !self.eat(",")? {
                                    break;
                                }
                            }
                            keys = Some(ks);
                        } else {
                            ty.dims.push(self.expr()?);
                        }
                        self.expect("]")?;
                    }
                    out.push(Item::Var {
                        scope,
                        ty,
                        name,
                        keys,
                        pos,
                    });
                    if !self.eat(",")? {
                        break;
                    }
                }
                self.expect(";")?;
                Ok(out)
            }
        }
    }

    /// `*`s, a name and `[N]` dimensions after a base type.
    fn declarator(&mut self, base: TypeName) -> Result<(TypeName, String, Pos), SyntaxError> {
        let mut ty = self.stars(base)?;
        let (name, pos) = self.ident()?;
        while self.eat("[")? {
            ty.dims.push(self.expr()?);
            self.expect("]")?;
        }
        Ok((ty, name, pos))
    }

    fn stars(&mut self, mut ty: TypeName) -> Result<TypeName, SyntaxError> {
        loop {
            if self.eat("*")? {
                ty.stars = ty.stars.saturating_add(1);
            } else if matches!(&self.peek()?.tok, Tok::Ident(w) if w == "const" || w == "volatile" || w == "restrict")
            {
                self.next()?;
            } else {
                return Ok(ty);
            }
        }
    }

    /// A complete abstract type name: base type, stars and optional `[N]`.
    pub(crate) fn type_name(&mut self) -> Result<TypeName, SyntaxError> {
        let base = self.base_type()?;
        let mut ty = self.stars(base)?;
        while self.eat("[")? {
            ty.dims.push(self.expr()?);
            self.expect("]")?;
        }
        Ok(ty)
    }

    fn base_type(&mut self) -> Result<TypeName, SyntaxError> {
        let pos = self.peek()?.pos;
        let mut words: Vec<String> = Vec::new();
        loop {
            let t = self.peek()?.clone();
            let Tok::Ident(w) = &t.tok else { break };
            match w.as_str() {
                "const" | "volatile" | "restrict" => {
                    self.next()?;
                }
                "struct" | "union" | "enum" if words.is_empty() => {
                    self.next()?;
                    return self.tagged(w.clone(), pos);
                }
                "signed" | "unsigned" | "short" | "long" | "int" | "char" => {
                    self.next()?;
                    words.push(w.clone());
                }
                _ if words.is_empty() && self.is_type_word(w) => {
                    self.next()?;
                    return Ok(TypeName {
                        base: BaseType::Named(w.clone()),
                        stars: 0,
                        dims: vec![],
                        pos,
                    });
                }
                _ => break,
            }
        }
        if words.is_empty() {
            let t = self.next()?;
            return Err(err_at(t.pos, near(&t)));
        }
        // Canonical spelling: "unsigned long long int" and "long unsigned" both name one type.
        let unsigned = words.iter().any(|w| w == "unsigned");
        let longs = words.iter().filter(|w| *w == "long").count();
        let count = |w: &str| words.iter().filter(|x| *x == w).count();
        let sizes = count("char") + count("short") + usize::from(longs > 0);
        let invalid = sizes > 1
            || longs > 2
            || count("int") > 1
            || (count("char") + count("int") > 1)
            || (count("signed") + count("unsigned") > 1);
        if invalid {
            return Err(err_at(
                pos,
                format!("invalid type combination: {}", words.join(" ")),
            ));
        }
        let core = if words.iter().any(|w| w == "char") {
            "char"
        } else if words.iter().any(|w| w == "short") {
            "short"
        } else if longs >= 2 {
            "long long"
        } else if longs == 1 {
            "long"
        } else {
            "int"
        };
        let name = if unsigned {
            format!("unsigned {core}")
        } else {
            core.to_string()
        };
        let name = if core == "char" && words.iter().any(|w| w == "signed") {
            "signed char".into()
        } else {
            name
        };
        Ok(TypeName {
            base: BaseType::Named(name),
            stars: 0,
            dims: vec![],
            pos,
        })
    }

    fn tagged(&mut self, kw: String, pos: Pos) -> Result<TypeName, SyntaxError> {
        let tag = match self.peek()?.tok.clone() {
            Tok::Ident(_) => Some(self.ident()?.0),
            // `struct D`s`, `struct kernel`tcpcb`: the module only qualifies the name.
            Tok::Backquote(name) => {
                self.next()?;
                Some(name)
            }
            _ => None,
        };
        if !self.is_punct("{")? {
            let Some(tag) = tag else {
                let t = self.next()?;
                return Err(err_at(t.pos, near(&t)));
            };
            return Ok(TypeName {
                base: BaseType::Named(format!("{kw} {tag}")),
                stars: 0,
                dims: vec![],
                pos,
            });
        }
        self.next()?;
        self.enter(pos)?;
        let base = if kw == "enum" {
            let mut values = Vec::new();
            while !self.eat("}")? {
                let (n, npos) = self.ident()?;
                let v = if self.eat("=")? {
                    Some(self.cond_expr()?)
                } else {
                    None
                };
                values.push((n, v, npos));
                if !self.eat(",")? {
                    self.expect("}")?;
                    break;
                }
            }
            BaseType::Enum { tag, values }
        } else {
            let mut fields = Vec::new();
            while !self.eat("}")? {
                let fbase = self.base_type()?;
                if self.eat(";")? {
                    // An anonymous struct/union member.
                    fields.push(Field {
                        ty: fbase,
                        name: String::new(),
                        bits: None,
                    });
                    continue;
                }
                loop {
                    let (ty, name, _) = if self.is_punct(":")? {
                        (fbase.clone(), String::new(), pos)
                    } else {
                        self.declarator(fbase.clone())?
                    };
                    let bits = if self.eat(":")? {
                        Some(self.cond_expr()?)
                    } else {
                        None
                    };
                    fields.push(Field { ty, name, bits });
                    if !self.eat(",")? {
                        break;
                    }
                }
                self.expect(";")?;
            }
            BaseType::Record {
                is_union: kw == "union",
                tag,
                fields,
            }
        };
        self.depth -= 1;
        Ok(TypeName {
            base,
            stars: 0,
            dims: vec![],
            pos,
        })
    }

    // ---- expressions ----

    /// A full expression (assignment level; D has no comma operator in clause bodies).
    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        let pos = self.peek()?.pos;
        self.enter(pos)?;
        let lhs = self.cond_expr()?;
        let t = self.peek()?.clone();
        let op = match &t.tok {
            Tok::Punct("=") => Some(None),
            Tok::Punct(p) => assign_op(p),
            _ => None,
        };
        let out = match op {
            Some(op) => {
                self.next()?;
                let rhs = self.expr()?;
                Expr {
                    kind: ExprKind::Assign(op, Box::new(lhs), Box::new(rhs)),
                    pos: t.pos,
                }
            }
            None => lhs,
        };
        self.depth -= 1;
        Ok(out)
    }

    fn cond_expr(&mut self) -> Result<Expr, SyntaxError> {
        let c = self.binary(0)?;
        if self.is_punct("?")? {
            let pos = self.next()?.pos;
            self.enter(pos)?;
            let a = self.expr()?;
            self.expect(":")?;
            let b = self.cond_expr()?;
            self.depth -= 1;
            return Ok(Expr {
                kind: ExprKind::Cond(Box::new(c), Box::new(a), Box::new(b)),
                pos,
            });
        }
        Ok(c)
    }

    fn binop_here(&mut self) -> Result<Option<(BinOp, u8)>, SyntaxError> {
        let t = &self.peek()?.tok;
        let op = match t {
            Tok::Slash { closes: false } => BinOp::Div,
            Tok::Punct(p) => match *p {
                "||" => BinOp::LOr,
                "^^" => BinOp::LXor,
                "&&" => BinOp::LAnd,
                "|" => BinOp::Or,
                "^" => BinOp::Xor,
                "&" => BinOp::And,
                "==" => BinOp::Eq,
                "!=" => BinOp::Ne,
                "<" => BinOp::Lt,
                "<=" => BinOp::Le,
                ">" => BinOp::Gt,
                ">=" => BinOp::Ge,
                "<<" => BinOp::Shl,
                ">>" => BinOp::Shr,
                "+" => BinOp::Add,
                "-" => BinOp::Sub,
                "*" => BinOp::Mul,
                "%" => BinOp::Mod,
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        let prec = match op {
            BinOp::LOr => 1,
            BinOp::LXor => 2,
            BinOp::LAnd => 3,
            BinOp::Or => 4,
            BinOp::Xor => 5,
            BinOp::And => 6,
            BinOp::Eq | BinOp::Ne => 7,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 8,
            BinOp::Shl | BinOp::Shr => 9,
            BinOp::Add | BinOp::Sub => 10,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 11,
        };
        Ok(Some((op, prec)))
    }

    fn binary(&mut self, min: u8) -> Result<Expr, SyntaxError> {
        let mut lhs = self.unary()?;
        let entered = self.depth;
        while let Some((op, prec)) = self.binop_here()? {
            if prec <= min {
                break;
            }
            let pos = self.next()?.pos;
            // A chain `a + b + c ...` nests to the left: every link counts as a level, since
            // the checker and evaluator recurse through it.
            self.enter(pos)?;
            let rhs = self.binary(prec)?;
            lhs = Expr {
                kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                pos,
            };
        }
        self.depth = entered;
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        let t = self.peek()?.clone();
        self.enter(t.pos)?;
        let op = match &t.tok {
            Tok::Punct("-") => Some(UnOp::Neg),
            Tok::Punct("+") => Some(UnOp::Plus),
            Tok::Punct("~") => Some(UnOp::BitNot),
            Tok::Punct("!") => Some(UnOp::Not),
            Tok::Punct("*") => Some(UnOp::Deref),
            Tok::Punct("&") => Some(UnOp::AddrOf),
            Tok::Punct("++") => Some(UnOp::PreInc),
            Tok::Punct("--") => Some(UnOp::PreDec),
            _ => None,
        };
        let out = if let Some(op) = op {
            self.next()?;
            let e = self.unary()?;
            Expr {
                kind: ExprKind::Unary(op, Box::new(e)),
                pos: t.pos,
            }
        } else if matches!(&t.tok, Tok::Punct("(")) && self.starts_type(1)? {
            self.next()?;
            let ty = self.type_name()?;
            self.expect(")")?;
            let e = self.unary()?;
            Expr {
                kind: ExprKind::Cast(ty, Box::new(e)),
                pos: t.pos,
            }
        } else if matches!(&t.tok, Tok::Ident(w) if w == "sizeof" || w == "stringof") {
            self.next()?;
            let is_sizeof = matches!(&t.tok, Tok::Ident(w) if w == "sizeof");
            if is_sizeof && self.is_punct("(")? && self.starts_type(1)? {
                self.next()?;
                let ty = self.type_name()?;
                self.expect(")")?;
                Expr {
                    kind: ExprKind::SizeofType(ty),
                    pos: t.pos,
                }
            } else {
                let e = Box::new(self.unary()?);
                let kind = if is_sizeof {
                    ExprKind::SizeofExpr(e)
                } else {
                    ExprKind::Stringof(e)
                };
                Expr { kind, pos: t.pos }
            }
        } else {
            self.postfix()?
        };
        self.depth -= 1;
        Ok(out)
    }

    fn postfix(&mut self) -> Result<Expr, SyntaxError> {
        let mut e = self.primary()?;
        loop {
            let t = self.peek()?.clone();
            match &t.tok {
                Tok::Punct("[") => {
                    self.next()?;
                    let mut keys = Vec::new();
                    if !self.is_punct("]")? {
                        loop {
                            keys.push(self.expr()?);
                            if !self.eat(",")? {
                                break;
                            }
                        }
                    }
                    self.expect("]")?;
                    e = Expr {
                        kind: ExprKind::Index(Box::new(e), keys),
                        pos: t.pos,
                    };
                }
                Tok::Punct(p @ ("." | "->")) => {
                    self.next()?;
                    let (name, npos) = self.ident()?;
                    e = Expr {
                        kind: ExprKind::Member {
                            base: Box::new(e),
                            name,
                            arrow: *p == "->",
                        },
                        pos: npos,
                    };
                }
                Tok::Punct("++") => {
                    self.next()?;
                    e = Expr {
                        kind: ExprKind::Unary(UnOp::PostInc, Box::new(e)),
                        pos: t.pos,
                    };
                }
                Tok::Punct("--") => {
                    self.next()?;
                    e = Expr {
                        kind: ExprKind::Unary(UnOp::PostDec, Box::new(e)),
                        pos: t.pos,
                    };
                }
                _ => return Ok(e),
            }
        }
    }

    fn call_args(&mut self) -> Result<Vec<Expr>, SyntaxError> {
        let mut args = Vec::new();
        if self.eat(")")? {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            if !self.eat(",")? {
                break;
            }
        }
        self.expect(")")?;
        Ok(args)
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let t = self.next()?;
        let pos = t.pos;
        let kind = match t.tok {
            Tok::Int {
                value,
                decimal,
                unsigned,
                longs,
            } => ExprKind::Int {
                value,
                decimal,
                unsigned,
                longs,
            },
            Tok::Char(v) => ExprKind::Char(v),
            Tok::Str(mut s) => {
                // Adjacent string literals concatenate, as in C.
                while let Tok::Str(more) = &self.peek()?.tok {
                    s.extend_from_slice(more);
                    self.next()?;
                }
                ExprKind::Str(s)
            }
            Tok::Backquote(s) => ExprKind::Backquote(s),
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                return Ok(e);
            }
            Tok::Punct("@") => {
                let next = self.peek()?.clone();
                let adjacent = next.pos.line == pos.line && next.pos.col == pos.col + 1;
                let name = match next.tok {
                    Tok::Ident(n) if adjacent => {
                        self.next()?;
                        n
                    }
                    _ => String::new(),
                };
                ExprKind::Agg(name)
            }
            Tok::Ident(w) => match w.as_str() {
                "self" | "this" => {
                    self.expect("->")?;
                    let (name, _) = self.ident()?;
                    if w == "self" {
                        ExprKind::ThreadVar(name)
                    } else {
                        ExprKind::ClauseVar(name)
                    }
                }
                "offsetof" => {
                    self.expect("(")?;
                    let ty = self.type_name()?;
                    self.expect(",")?;
                    let (m, _) = self.ident()?;
                    self.expect(")")?;
                    ExprKind::Offsetof(ty, m)
                }
                "xlate" => {
                    self.expect("<")?;
                    let base = self.base_type()?;
                    let ty = self.stars(base)?;
                    self.expect(">")?;
                    self.expect("(")?;
                    let e = self.expr()?;
                    self.expect(")")?;
                    ExprKind::Xlate(ty, Box::new(e))
                }
                "if" | "else" | "for" | "while" | "do" | "switch" | "case" | "break"
                | "continue" | "goto" | "return" | "default" => {
                    return Err(err_at(pos, format!("syntax error near \"{w}\"")));
                }
                _ => {
                    if self.is_punct("(")? {
                        self.next()?;
                        ExprKind::Call(w, self.call_args()?)
                    } else {
                        ExprKind::Ident(w)
                    }
                }
            },
            _ => return Err(err_at(pos, near(&t))),
        };
        Ok(Expr { kind, pos })
    }
}

fn assign_op(p: &str) -> Option<Option<BinOp>> {
    let op = match p {
        "+=" => BinOp::Add,
        "-=" => BinOp::Sub,
        "*=" => BinOp::Mul,
        "/=" => BinOp::Div,
        "%=" => BinOp::Mod,
        "&=" => BinOp::And,
        "|=" => BinOp::Or,
        "^=" => BinOp::Xor,
        "<<=" => BinOp::Shl,
        ">>=" => BinOp::Shr,
        _ => return None,
    };
    Some(Some(op))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(src: &str) -> Result<Vec<Item>, SyntaxError> {
        let mut td = HashSet::new();
        parse(src, &MacroArgs::default(), &mut td, &|_| false)
    }

    #[test]
    fn clause_with_several_descriptions_and_predicate() {
        let items =
            parse_str("ip:::send,\nip:::receive /x > 1 && y/ { printf(\"%d\", x / 2); exit(0) }")
                .unwrap();
        let Item::Clause(c) = &items[0] else {
            panic!("not a clause")
        };
        assert_eq!(
            c.descs.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
            vec!["ip:::send", "ip:::receive"]
        );
        assert!(c.pred.is_some());
        assert_eq!(c.body.len(), 2);
    }

    #[test]
    fn declarations() {
        let items = parse_str(
            "inline string s[int32_t st] = st == 1 ? \"a\" : \"b\";\nint last[uint64_t];\nself int x;\n\
             typedef struct foo { int a:3; char b[4]; } foo_t;\ntranslator foo_t < int *p > { a = *p; };",
        )
        .unwrap();
        assert!(matches!(&items[0], Item::Inline { params, .. } if params.len() == 1));
        assert!(matches!(&items[1], Item::Var { keys: Some(k), .. } if k.len() == 1));
        assert!(matches!(
            &items[2],
            Item::Var {
                scope: Scope::Thread,
                ..
            }
        ));
        assert!(matches!(&items[3], Item::Typedef { name, .. } if name == "foo_t"));
        assert!(matches!(&items[4], Item::Translator { members, .. } if members.len() == 1));
    }

    #[test]
    fn casts_need_known_type_names() {
        let items = parse_str("BEGIN { x = (uint8_t)y; z = (y) - 1; }").unwrap();
        let Item::Clause(c) = &items[0] else {
            panic!("not a clause")
        };
        assert!(
            matches!(&c.body[0].kind, ExprKind::Assign(None, _, r) if matches!(r.kind, ExprKind::Cast(..)))
        );
        assert!(
            matches!(&c.body[1].kind, ExprKind::Assign(None, _, r) if matches!(r.kind, ExprKind::Binary(..)))
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_str("BEGIN\n{\n  x = ;\n}").unwrap_err();
        assert_eq!(
            (e.pos.line, e.pos.col, e.message.as_str()),
            (3, 7, "syntax error near \";\"")
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let src = format!("BEGIN {{ x = {}1{}; }}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse_str(&src)
            .unwrap_err()
            .message
            .contains("nested too deeply"));
    }
}
