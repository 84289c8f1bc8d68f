//! A small C preprocessor for `-C`: `#define` (object- and function-like), `#undef`, `#if`,
//! `#ifdef`, `#ifndef`, `#elif`, `#else`, `#endif`, `#include "file"`, `#error`, and `-D`/`-U`.
//! Directive and skipped lines become empty lines so line numbers stay those of the source.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::error::{err_at, Pos, SyntaxError};

/// What `-C`, `-D`, `-U` and `-I` ask of the preprocessor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CppOptions {
    /// `-D NAME[=VALUE]`, in order.
    pub defines: Vec<(String, Option<String>)>,
    /// `-U NAME`.
    pub undefines: Vec<String>,
    /// `-I DIR`.
    pub include_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
struct Macro {
    params: Option<Vec<String>>,
    body: String,
}

/// Nesting limits: includes and macro expansion depth.
const MAX_INCLUDE_DEPTH: u32 = 16;
const MAX_EXPANSION_DEPTH: u32 = 64;

/// Runs the preprocessor over `text` (from the file `name`, for relative includes).
pub fn preprocess(text: &str, name: &str, opts: &CppOptions) -> Result<String, SyntaxError> {
    let mut cpp = Cpp {
        macros: HashMap::new(),
        opts,
    };
    for (n, v) in &opts.defines {
        cpp.macros.insert(
            n.clone(),
            Macro {
                params: None,
                body: v.clone().unwrap_or_else(|| "1".into()),
            },
        );
    }
    for n in &opts.undefines {
        cpp.macros.remove(n);
    }
    let mut out = String::new();
    cpp.run(text, name, 0, &mut out)?;
    Ok(out)
}

struct Cpp<'a> {
    macros: HashMap<String, Macro>,
    opts: &'a CppOptions,
}

/// One `#if` level: whether its current branch is taken, whether any branch was, whether `#else` was seen.
struct Cond {
    active: bool,
    taken: bool,
    seen_else: bool,
    pos: Pos,
}

impl Cpp<'_> {
    fn run(
        &mut self,
        text: &str,
        name: &str,
        depth: u32,
        out: &mut String,
    ) -> Result<(), SyntaxError> {
        let mut stack: Vec<Cond> = Vec::new();
        let lines: Vec<&str> = text.split('\n').collect();
        let mut i = 0;
        while i < lines.len() {
            let pos = Pos {
                line: i as u32 + 1,
                col: 1,
            };
            // Join backslash continuations, keeping one output line per source line.
            let mut line = lines[i].to_string();
            let mut extra = 0;
            while line.ends_with('\\') && i + extra + 1 < lines.len() {
                line.pop();
                extra += 1;
                line.push_str(lines[i + extra]);
            }
            i += 1 + extra;
            let active = stack.iter().all(|c| c.active);
            let trimmed = line.trim_start();
            let directive = trimmed
                .strip_prefix('#')
                .filter(|_| !(pos.line == 1 && trimmed.starts_with("#!")));
            match directive {
                Some(d) => {
                    let d = strip_comments(d);
                    let (word, rest) = split_word(d.trim_start());
                    match word {
                        "if" | "ifdef" | "ifndef" => {
                            let taken = active
                                && match word {
                                    "if" => self.eval_if(rest, pos)? != 0,
                                    "ifdef" => self.macros.contains_key(rest.trim()),
                                    _ => !self.macros.contains_key(rest.trim()),
                                };
                            stack.push(Cond {
                                active: taken,
                                taken,
                                seen_else: false,
                                pos,
                            });
                        }
                        "elif" | "else" => {
                            let parent_active = stack.len() < 2
                                || stack[..stack.len() - 1].iter().all(|c| c.active);
                            let value = if word == "elif" && parent_active {
                                self.eval_if(rest, pos)? != 0
                            } else {
                                true
                            };
                            let Some(c) = stack.last_mut() else {
                                return Err(err_at(pos, format!("#{word} without #if")));
                            };
                            if c.seen_else {
                                return Err(err_at(pos, format!("#{word} after #else")));
                            }
                            c.seen_else = word == "else";
                            c.active = parent_active && !c.taken && value;
                            c.taken |= c.active;
                        }
                        "endif" => {
                            if stack.pop().is_none() {
                                return Err(err_at(pos, "#endif without #if"));
                            }
                        }
                        _ if !active => {}
                        "define" => self.define(rest, pos)?,
                        "undef" => {
                            self.macros.remove(rest.trim());
                        }
                        "include" => {
                            if depth >= MAX_INCLUDE_DEPTH {
                                return Err(err_at(pos, "#include nested too deeply"));
                            }
                            let file = self.find_include(rest.trim(), name, pos)?;
                            let text = std::fs::read_to_string(&file).map_err(|e| {
                                err_at(pos, format!("cannot include {}: {e}", file.display()))
                            })?;
                            let mut inner = String::new();
                            self.run(&text, &file.display().to_string(), depth + 1, &mut inner)?;
                            // The included text joins this line so later line numbers stay put.
                            out.push_str(&inner.replace('\n', " "));
                        }
                        "error" => return Err(err_at(pos, format!("#error {}", rest.trim()))),
                        // D's own control lines pass through to the lexer.
                        "pragma" | "ident" | "line" | "" => out.push_str(&line),
                        w if w.chars().all(|c| c.is_ascii_digit()) => out.push_str(&line),
                        w => {
                            return Err(err_at(
                                pos,
                                format!("invalid preprocessing directive #{w}"),
                            ))
                        }
                    }
                }
                None if active => out.push_str(&self.expand(&line, 0, pos)?),
                None => {}
            }
            for _ in 0..=extra {
                out.push('\n');
            }
        }
        out.pop();
        if let Some(c) = stack.first() {
            return Err(err_at(c.pos, "unterminated #if"));
        }
        Ok(())
    }

    fn define(&mut self, rest: &str, pos: Pos) -> Result<(), SyntaxError> {
        let rest = rest.trim_start();
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(err_at(pos, "macro names must be identifiers"));
        }
        let after = &rest[name_len..];
        let (params, body) = match after.strip_prefix('(') {
            Some(p) => {
                let Some(close) = p.find(')') else {
                    return Err(err_at(pos, "missing ) in macro parameter list"));
                };
                let params = p[..close]
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                (Some(params), p[close + 1..].trim().to_string())
            }
            None => (None, after.trim().to_string()),
        };
        self.macros.insert(name.to_string(), Macro { params, body });
        Ok(())
    }

    fn find_include(&self, spec: &str, from: &str, pos: Pos) -> Result<PathBuf, SyntaxError> {
        let (file, local) =
            if let Some(f) = spec.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                (f, true)
            } else if let Some(f) = spec.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                (f, false)
            } else {
                return Err(err_at(pos, "#include expects \"FILENAME\" or <FILENAME>"));
            };
        let mut dirs: Vec<PathBuf> = Vec::new();
        if local {
            dirs.push(
                std::path::Path::new(from)
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_default(),
            );
        }
        dirs.extend(self.opts.include_dirs.iter().cloned());
        dirs.into_iter()
            .map(|d| d.join(file))
            .find(|p| p.is_file())
            .ok_or_else(|| err_at(pos, format!("{file}: No such file or directory")))
    }

    /// Replaces macros in one line, outside string and character literals.
    fn expand(&self, line: &str, depth: u32, pos: Pos) -> Result<String, SyntaxError> {
        if depth > MAX_EXPANSION_DEPTH {
            return Err(err_at(pos, "macro expansion nests too deeply"));
        }
        let b: Vec<char> = line.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        let mut changed = false;
        while i < b.len() {
            let c = b[i];
            if c == '"' || c == '\'' {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != c {
                    i += if b[i] == '\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                out.extend(&b[start..i]);
                continue;
            }
            if c.is_ascii_alphabetic() || c == '_' {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_') {
                    i += 1;
                }
                let word: String = b[start..i].iter().collect();
                match self.macros.get(&word) {
                    Some(Macro { params: None, body }) => {
                        out.push_str(body);
                        changed = true;
                    }
                    Some(Macro {
                        params: Some(ps),
                        body,
                    }) if b[i..].iter().find(|c| !c.is_whitespace()) == Some(&'(') => {
                        let (args, end) = call_args(&b, i);
                        i = end;
                        let mut text = body.clone();
                        for (p, a) in ps.iter().zip(args.iter()) {
                            text = replace_word(&text, p, a.trim());
                        }
                        out.push_str(&text);
                        changed = true;
                    }
                    _ => out.push_str(&word),
                }
                continue;
            }
            out.push(c);
            i += 1;
        }
        if changed {
            self.expand(&out, depth + 1, pos)
        } else {
            Ok(out)
        }
    }

    /// Evaluates a `#if` expression.
    fn eval_if(&self, expr: &str, pos: Pos) -> Result<i64, SyntaxError> {
        // `defined X` and `defined(X)` are decided before macro expansion.
        let mut s = String::new();
        let mut rest = expr;
        while let Some(at) = find_word(rest, "defined") {
            s.push_str(&rest[..at]);
            let after = rest[at + 7..].trim_start();
            let (inner, tail) = match after.strip_prefix('(') {
                Some(a) => match a.find(')') {
                    Some(c) => (a[..c].trim(), &a[c + 1..]),
                    None => return Err(err_at(pos, "missing ) after \"defined\"")),
                },
                None => split_word(after),
            };
            s.push_str(if self.macros.contains_key(inner) {
                " 1 "
            } else {
                " 0 "
            });
            rest = tail;
        }
        s.push_str(rest);
        let expanded = self.expand(&s, 0, pos)?;
        let toks = if_tokens(&expanded);
        let mut p = IfParser { toks: &toks, at: 0 };
        let v = p
            .ternary()
            .ok_or_else(|| err_at(pos, format!("invalid #if expression: {}", expr.trim())))?;
        if p.at != toks.len() {
            return Err(err_at(
                pos,
                format!("invalid #if expression: {}", expr.trim()),
            ));
        }
        Ok(v)
    }
}

fn strip_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(a) = rest.find("/*") {
        out.push_str(&rest[..a]);
        match rest[a + 2..].find("*/") {
            Some(b) => rest = &rest[a + 2 + b + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

fn split_word(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn find_word(s: &str, w: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find(w) {
        let at = from + i;
        let before = s[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let after = s[at + w.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !before && !after {
            return Some(at);
        }
        from = at + w.len();
    }
    None
}

fn replace_word(text: &str, w: &str, with: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = find_word(rest, w) {
        out.push_str(&rest[..at]);
        out.push_str(with);
        rest = &rest[at + w.len()..];
    }
    out.push_str(rest);
    out
}

/// The arguments of a function-like macro call starting at `b[i..]` (at or before its `(`).
fn call_args(b: &[char], mut i: usize) -> (Vec<String>, usize) {
    while i < b.len() && b[i] != '(' {
        i += 1;
    }
    i += 1;
    let mut depth = 0;
    let mut args = vec![String::new()];
    while i < b.len() {
        let c = b[i];
        i += 1;
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => break,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = args.last_mut() {
            last.push(c);
        }
    }
    (args, i)
}

fn if_tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(b[start..i].iter().collect());
        } else {
            let two: String = b[i..(i + 2).min(b.len())].iter().collect();
            if ["&&", "||", "==", "!=", "<=", ">=", "<<", ">>"].contains(&two.as_str()) {
                out.push(two);
                i += 2;
            } else {
                out.push(c.to_string());
                i += 1;
            }
        }
    }
    out
}

/// `#if` expressions: C's integer operators; unknown identifiers are 0.
struct IfParser<'t> {
    toks: &'t [String],
    at: usize,
}

impl IfParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.at).map(String::as_str)
    }

    fn ternary(&mut self) -> Option<i64> {
        let c = self.binary(0)?;
        if self.peek() == Some("?") {
            self.at += 1;
            let a = self.ternary()?;
            if self.peek() != Some(":") {
                return None;
            }
            self.at += 1;
            let b = self.ternary()?;
            return Some(if c != 0 { a } else { b });
        }
        Some(c)
    }

    fn binary(&mut self, min: u8) -> Option<i64> {
        let mut l = self.unary()?;
        loop {
            let Some(op) = self.peek() else {
                return Some(l);
            };
            let prec = match op {
                "||" => 1,
                "&&" => 2,
                "|" => 3,
                "^" => 4,
                "&" => 5,
                "==" | "!=" => 6,
                "<" | ">" | "<=" | ">=" => 7,
                "<<" | ">>" => 8,
                "+" | "-" => 9,
                "*" | "/" | "%" => 10,
                _ => return Some(l),
            };
            if prec <= min {
                return Some(l);
            }
            let op = op.to_string();
            self.at += 1;
            let r = self.binary(prec)?;
            l = match op.as_str() {
                "||" => i64::from(l != 0 || r != 0),
                "&&" => i64::from(l != 0 && r != 0),
                "|" => l | r,
                "^" => l ^ r,
                "&" => l & r,
                "==" => i64::from(l == r),
                "!=" => i64::from(l != r),
                "<" => i64::from(l < r),
                ">" => i64::from(l > r),
                "<=" => i64::from(l <= r),
                ">=" => i64::from(l >= r),
                "<<" => l.wrapping_shl(r as u32 & 63),
                ">>" => l.wrapping_shr(r as u32 & 63),
                "+" => l.wrapping_add(r),
                "-" => l.wrapping_sub(r),
                "*" => l.wrapping_mul(r),
                "/" => l.checked_div(r)?,
                _ => l.checked_rem(r)?,
            };
        }
    }

    fn unary(&mut self) -> Option<i64> {
        let t = self.peek()?.to_string();
        self.at += 1;
        match t.as_str() {
            "!" => Some(i64::from(self.unary()? == 0)),
            "-" => Some(self.unary()?.wrapping_neg()),
            "+" => self.unary(),
            "~" => Some(!self.unary()?),
            "(" => {
                let v = self.ternary()?;
                (self.peek() == Some(")")).then(|| {
                    self.at += 1;
                    v
                })
            }
            t if t.starts_with(|c: char| c.is_ascii_digit()) => {
                let digits = t.trim_end_matches(['u', 'U', 'l', 'L']);
                if let Some(h) = digits
                    .strip_prefix("0x")
                    .or_else(|| digits.strip_prefix("0X"))
                {
                    i64::from_str_radix(h, 16).ok()
                } else if digits.len() > 1 && digits.starts_with('0') {
                    i64::from_str_radix(&digits[1..], 8).ok()
                } else {
                    digits.parse().ok()
                }
            }
            t if t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') => Some(0),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pp(src: &str) -> String {
        preprocess(src, "t.d", &CppOptions::default())
            .unwrap_or_else(|e| format!("ERR {}: {}", e.pos.line, e.message))
    }

    #[test]
    fn conditionals_and_macros_keep_line_numbers() {
        let out = pp("#if !defined(FLAG) || 0\n#define V 10\n#else\n#define V 5\n#endif\nx = V;");
        assert_eq!(out, "\n\n\n\n\nx = 10;");
        let out =
            pp("#define MAX(a, b) ((a) > (b) ? (a) : (b))\ny = MAX(1, z);\ns = \"MAX(1,2)\";");
        assert_eq!(out, "\ny = ((1) > (z) ? (1) : (z));\ns = \"MAX(1,2)\";");
    }

    #[test]
    fn command_line_defines_and_errors() {
        let opts = CppOptions {
            defines: vec![("FLAG".into(), None), ("N".into(), Some("3".into()))],
            ..Default::default()
        };
        let out = preprocess("#ifdef FLAG\na = N;\n#endif", "t.d", &opts).unwrap_or_default();
        assert_eq!(out, "\na = 3;\n");
        assert_eq!(pp("#if 1\nx"), "ERR 1: unterminated #if");
        assert_eq!(pp("#else\n"), "ERR 1: #else without #if");
        assert_eq!(
            pp("#if 1\n#else\n#else\n#endif"),
            "ERR 3: #else after #else"
        );
        assert_eq!(
            pp("#pragma D option quiet\n#!x"),
            "#pragma D option quiet\n#!x"
        );
    }
}
