//! D's lexer: tokens with line and column, `/* */` comments, the `#!` first line, control lines
//! (`#pragma ...`), string and character escapes, macro arguments, and D's predicate `/` rule.

use crate::error::{Pos, SyntaxError};

/// A token's kind and payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An identifier or keyword.
    Ident(String),
    /// An integer constant: value, whether it was written in decimal, and its `u`/`l` suffixes.
    Int {
        value: u64,
        decimal: bool,
        unsigned: bool,
        longs: u8,
    },
    /// A string literal after escape processing.
    Str(Vec<u8>),
    /// A character constant (its packed int value).
    Char(i64),
    /// A backquoted kernel symbol: `` `hz `` or `` kernel`hz `` (module dropped).
    Backquote(String),
    /// Punctuation or an operator, e.g. `->`, `<<=`.
    Punct(&'static str),
    /// `/`: `closes` when D's predicate rule says it ends a predicate.
    Slash { closes: bool },
    /// A control line (`#pragma ...`), without the `#`.
    Control(String),
    /// End of input.
    Eof,
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Where it starts.
    pub pos: Pos,
}

/// How `$N` macro arguments expand.
#[derive(Debug, Clone, Default)]
pub struct MacroArgs {
    /// `$1..$n`, as the user typed them.
    pub args: Vec<String>,
    /// `defaultargs`: undefined arguments read as 0 or "".
    pub default_args: bool,
}

const PUNCTS: [&str; 47] = [
    "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "^^", "+=",
    "-=", "*=", "/=", "%=", "&=", "|=", "^=", "+", "-", "*", "%", "&", "|", "^", "~", "!", "<",
    ">", "=", "?", ":", ",", ";", ".", "(", ")", "[", "]", "{", "}", "@", "...",
];

/// The lexer over one source text.
pub struct Lexer<'a> {
    src: &'a [u8],
    at: usize,
    line: u32,
    line_start: usize,
    macros: &'a MacroArgs,
    /// The highest `$N` referenced, so unused operands can be reported.
    pub max_macro_used: usize,
    /// What `$0` expands to: the script's name (empty: "guestrace").
    pub program: String,
}

impl<'a> Lexer<'a> {
    /// Starts lexing `src`, discarding a `#!` first line.
    pub fn new(src: &'a str, macros: &'a MacroArgs) -> Lexer<'a> {
        let mut lx = Lexer {
            src: src.as_bytes(),
            at: 0,
            line: 1,
            line_start: 0,
            macros,
            max_macro_used: 0,
            program: String::new(),
        };
        let first_nonblank = lx
            .src
            .iter()
            .position(|c| !matches!(c, b' ' | b'\t' | b'\x0b' | b'\x0c'));
        if let Some(p) = first_nonblank {
            if lx.src[p..].starts_with(b"#!") {
                lx.at = lx.src[p..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(lx.src.len(), |n| p + n);
            }
        }
        lx
    }

    /// The current position.
    pub fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: (self.at - self.line_start) as u32 + 1,
        }
    }

    fn peek_byte(&self, k: usize) -> Option<u8> {
        self.src.get(self.at + k).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.src.get(self.at).copied()?;
        self.at += 1;
        if c == b'\n' {
            self.line += 1;
            self.line_start = self.at;
        }
        Some(c)
    }

    fn err(&self, pos: Pos, msg: impl Into<String>) -> SyntaxError {
        SyntaxError {
            pos,
            message: msg.into(),
        }
    }

    /// Skips white space, comments and backslash-newlines.
    fn skip_blank(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek_byte(0) {
                Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c') => {
                    self.bump();
                }
                Some(b'\\') if self.peek_byte(1) == Some(b'\n') => {
                    self.bump();
                    self.bump();
                }
                Some(b'/') if self.peek_byte(1) == Some(b'*') => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => {
                                return Err(
                                    self.err(start, "end-of-file encountered before matching */")
                                )
                            }
                            Some(b'*') if self.peek_byte(0) == Some(b'/') => {
                                self.bump();
                                break;
                            }
                            Some(b'/') if self.peek_byte(0) == Some(b'*') => {
                                return Err(self.err(self.pos(), "/* encountered inside a comment"));
                            }
                            Some(_) => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Whether the next non-blank text is at the start of its line (for control lines).
    fn at_line_start(&self) -> bool {
        self.src[self.line_start..self.at]
            .iter()
            .all(|c| c.is_ascii_whitespace())
    }

    /// Reads the next probe-description word at top level, if the text there is one; expands
    /// `$N` inside it. Returns None (consuming nothing but blanks) when the next text is not one.
    pub fn probe_spec(&mut self) -> Result<Option<(String, Pos)>, SyntaxError> {
        self.skip_blank()?;
        let pos = self.pos();
        let is_spec = |c: u8| c.is_ascii_alphanumeric() || b"-$:_.?*\\[]!`".contains(&c);
        let mut k = 0;
        while self.peek_byte(k).is_some_and(is_spec) {
            k += 1;
        }
        if k == 0 || self.peek_byte(0).is_some_and(|c| c.is_ascii_digit()) {
            return Ok(None);
        }
        let raw = String::from_utf8_lossy(&self.src[self.at..self.at + k]).into_owned();
        for _ in 0..k {
            self.bump();
        }
        let mut out = String::new();
        let mut chars = raw.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '$' {
                let digits: String = raw[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                if !digits.is_empty() {
                    for _ in 0..digits.len() {
                        chars.next();
                    }
                    let n: usize = digits.parse().unwrap_or(usize::MAX);
                    out.push_str(&self.macro_text(n, pos)?.unwrap_or_default());
                    continue;
                }
            }
            out.push(c);
        }
        Ok(Some((out, pos)))
    }

    /// Peeks at the identifier-like word at the current position (after blanks), without consuming it.
    pub fn peek_word(&mut self) -> Result<String, SyntaxError> {
        self.skip_blank()?;
        let mut k = 0;
        while self
            .peek_byte(k)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            k += 1;
        }
        Ok(String::from_utf8_lossy(&self.src[self.at..self.at + k]).into_owned())
    }

    /// The text of macro argument `$n` (None when undefined and defaultargs is set).
    fn macro_text(&mut self, n: usize, pos: Pos) -> Result<Option<String>, SyntaxError> {
        self.max_macro_used = self.max_macro_used.max(n);
        if n == 0 {
            let name = if self.program.is_empty() {
                "guestrace"
            } else {
                &self.program
            };
            return Ok(Some(name.to_string()));
        }
        match self.macros.args.get(n - 1) {
            Some(a) => Ok(Some(a.clone())),
            None if self.macros.default_args => Ok(None),
            None => Err(self.err(pos, format!("macro argument ${n} is not defined"))),
        }
    }

    /// The next token.
    pub fn next_token(&mut self) -> Result<Token, SyntaxError> {
        self.skip_blank()?;
        let pos = self.pos();
        let Some(c) = self.peek_byte(0) else {
            return Ok(Token { tok: Tok::Eof, pos });
        };
        let tok = match c {
            b'#' if self.at_line_start() => {
                let mut text = Vec::new();
                self.bump();
                while let Some(c) = self.peek_byte(0) {
                    if c == b'\n' {
                        break;
                    }
                    if c == b'\\' && self.peek_byte(1) == Some(b'\n') {
                        self.bump();
                        self.bump();
                        text.push(b' ');
                        continue;
                    }
                    text.push(c);
                    self.bump();
                }
                Tok::Control(String::from_utf8_lossy(&text).trim().to_string())
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let word = self.take_while(|c| c.is_ascii_alphanumeric() || c == b'_');
                if self.peek_byte(0) == Some(b'`') {
                    // module`symbol: the module is only a qualifier on a single-kernel guest.
                    self.bump();
                    Tok::Backquote(
                        self.take_while(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.'),
                    )
                } else {
                    Tok::Ident(word)
                }
            }
            b'`' => {
                self.bump();
                let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.');
                if name.is_empty() {
                    return Err(self.err(pos, "syntax error near \"`\""));
                }
                Tok::Backquote(name)
            }
            b'0'..=b'9' => self.number(pos)?,
            b'"' => Tok::Str(self.quoted(b'"', pos)?),
            b'\'' => {
                let bytes = self.quoted(b'\'', pos)?;
                if bytes.is_empty() {
                    return Err(self.err(pos, "empty character constant"));
                }
                if bytes.len() > 8 {
                    return Err(self.err(pos, "character constant is too long"));
                }
                // Multi-character constants pack big-endian into an int, the first byte sign-extended.
                let mut v: i64 = i64::from(bytes[0] as i8);
                for &b in &bytes[1..] {
                    v = (v << 8) | i64::from(b);
                }
                Tok::Char(v)
            }
            b'$' => return self.macro_token(pos),
            b'/' => {
                self.bump();
                if self.peek_byte(0) == Some(b'=') {
                    self.bump();
                    Tok::Punct("/=")
                } else {
                    let mut k = 0;
                    while self.peek_byte(k).is_some_and(|c| c.is_ascii_whitespace()) {
                        k += 1;
                    }
                    let closes = matches!(self.peek_byte(k), None | Some(b';' | b'{' | b'/'));
                    Tok::Slash { closes }
                }
            }
            _ => {
                let rest = &self.src[self.at..];
                let Some(p) = PUNCTS.iter().find(|p| rest.starts_with(p.as_bytes())) else {
                    let shown = String::from_utf8_lossy(&rest[..1.min(rest.len())]).into_owned();
                    return Err(self.err(pos, format!("syntax error near \"{shown}\"")));
                };
                for _ in 0..p.len() {
                    self.bump();
                }
                Tok::Punct(p)
            }
        };
        Ok(Token { tok, pos })
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> String {
        let start = self.at;
        while self.peek_byte(0).is_some_and(&f) {
            self.bump();
        }
        String::from_utf8_lossy(&self.src[start..self.at]).into_owned()
    }

    fn macro_token(&mut self, pos: Pos) -> Result<Token, SyntaxError> {
        self.bump();
        let forced_string = self.peek_byte(0) == Some(b'$');
        if forced_string {
            self.bump();
        }
        let digits = self.take_while(|c| c.is_ascii_digit());
        if digits.is_empty() {
            let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == b'_');
            let value = match name.as_str() {
                "pid" | "ppid" | "pgid" | "sid" => u64::from(std::process::id()),
                "target" | "uid" | "gid" | "euid" | "egid" | "projid" | "taskid" => 0,
                _ => return Err(self.err(pos, format!("syntax error near \"${name}\""))),
            };
            return Ok(Token {
                tok: Tok::Int {
                    value,
                    decimal: true,
                    unsigned: false,
                    longs: 0,
                },
                pos,
            });
        }
        let n: usize = digits
            .parse()
            .map_err(|_| self.err(pos, format!("macro argument ${digits} is not defined")))?;
        let text = self.macro_text(n, pos)?;
        let tok = match text {
            None if forced_string => Tok::Str(Vec::new()),
            None => Tok::Int {
                value: 0,
                decimal: true,
                unsigned: false,
                longs: 0,
            },
            Some(t) if forced_string => Tok::Str(t.into_bytes()),
            Some(t) => macro_value(&t),
        };
        Ok(Token { tok, pos })
    }

    fn number(&mut self, pos: Pos) -> Result<Tok, SyntaxError> {
        let text = self.take_while(|c| c.is_ascii_alphanumeric() || c == b'.');
        parse_int_literal(&text).map_err(|m| self.err(pos, m))
    }

    /// Reads a quoted literal after its opening quote, applying D's escapes.
    fn quoted(&mut self, quote: u8, pos: Pos) -> Result<Vec<u8>, SyntaxError> {
        self.bump();
        let mut out = Vec::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(self.err(pos, "end-of-file encountered before matching quote"));
            };
            match c {
                b'\n' => {
                    let what = if quote == b'"' {
                        "string literal"
                    } else {
                        "character constant"
                    };
                    return Err(self.err(pos, format!("newline encountered in {what}")));
                }
                c if c == quote => return Ok(out),
                b'\\' => self.escape(&mut out),
                c => out.push(c),
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>) {
        let Some(c) = self.bump() else { return };
        let simple = match c {
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'"' | b'\\' | b'\'' | b'?' => Some(c),
            b'\n' => return,
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            return;
        }
        if (b'0'..=b'7').contains(&c) {
            let mut v = u32::from(c - b'0');
            for _ in 0..2 {
                match self.peek_byte(0) {
                    Some(d @ b'0'..=b'7') => {
                        v = v * 8 + u32::from(d - b'0');
                        self.bump();
                    }
                    _ => break,
                }
            }
            out.push(v as u8);
        } else if c == b'x' && self.peek_byte(0).is_some_and(|d| d.is_ascii_hexdigit()) {
            let mut v: u32 = 0;
            while let Some(d) = self.peek_byte(0).and_then(|d| (d as char).to_digit(16)) {
                v = v.wrapping_mul(16).wrapping_add(d);
                self.bump();
            }
            out.push(v as u8);
        } else {
            // dtrace keeps the backslash of an unknown escape.
            out.push(b'\\');
            out.push(c);
        }
    }
}

/// How a macro argument's text becomes a token: an integer, an identifier, or a string.
fn macro_value(text: &str) -> Tok {
    let t = text.trim();
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        if let Ok(tok) = parse_int_literal(t) {
            return tok;
        }
    }
    if let Some(rest) = t.strip_prefix('-') {
        if let Ok(Tok::Int { value, .. }) = parse_int_literal(rest) {
            return Tok::Int {
                value: value.wrapping_neg(),
                decimal: true,
                unsigned: false,
                longs: 2,
            };
        }
    }
    let ident = !t.is_empty()
        && t.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        Tok::Ident(t.to_string())
    } else {
        Tok::Str(text.as_bytes().to_vec())
    }
}

/// Parses `([0-9]+|0[xX][0-9A-Fa-f]+)[uU]?[lL]?[lL]?`; a leading 0 means octal.
pub fn parse_int_literal(text: &str) -> Result<Tok, String> {
    let lower = text.to_ascii_lowercase();
    let body_end = lower.trim_end_matches(['u', 'l']).len();
    let (body, suffix) = lower.split_at(body_end);
    let unsigned = suffix.contains('u');
    let longs = suffix.matches('l').count() as u8;
    if suffix.len() > 3 || suffix.matches('u').count() > 1 || longs > 2 {
        return Err(format!("invalid digit in constant {text}"));
    }
    let (digits, radix, decimal) = if let Some(h) = body.strip_prefix("0x") {
        (h, 16, false)
    } else if body.len() > 1 && body.starts_with('0') {
        (&body[1..], 8, false)
    } else {
        (body, 10, true)
    };
    if digits.is_empty() || body.contains('.') {
        if body.contains('.') || body.contains('e') {
            return Err("floating-point constants are not permitted".into());
        }
        return Err(format!("invalid digit in constant {text}"));
    }
    if let Some(bad) = digits.chars().find(|c| !c.is_digit(radix)) {
        return Err(format!("invalid digit '{bad}' in constant {text}"));
    }
    let value = u64::from_str_radix(digits, radix)
        .map_err(|_| format!("constant {text} results in integer overflow"))?;
    Ok(Tok::Int {
        value,
        decimal,
        unsigned,
        longs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        let m = MacroArgs {
            args: vec!["42".into(), "foo".into(), "a b".into()],
            default_args: false,
        };
        let mut lx = Lexer::new(src, &m);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token().map(|t| t.tok);
            match t {
                Ok(Tok::Eof) => break,
                Ok(t) => out.push(t),
                Err(e) => {
                    out.push(Tok::Ident(format!("ERR {}", e.message)));
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn predicate_slash_rule() {
        let t = toks("/x / 2/ {");
        assert_eq!(t[0], Tok::Slash { closes: false });
        assert_eq!(t[2], Tok::Slash { closes: false });
        assert_eq!(t[4], Tok::Slash { closes: true });
    }

    #[test]
    fn escapes_keep_unknown_backslash() {
        assert_eq!(
            toks(r#""a\tb\q\101\x41""#),
            vec![Tok::Str(b"a\tb\\qAA".to_vec())]
        );
    }

    #[test]
    fn shebang_and_comments_are_skipped() {
        assert_eq!(
            toks("#!/usr/sbin/dtrace -s\n/* c */ x"),
            vec![Tok::Ident("x".into())]
        );
        assert_eq!(
            toks("/* a /* b */"),
            vec![Tok::Ident("ERR /* encountered inside a comment".into())]
        );
        assert_eq!(
            toks("/* a "),
            vec![Tok::Ident(
                "ERR end-of-file encountered before matching */".into()
            )]
        );
    }

    #[test]
    fn macro_arguments_expand_by_shape() {
        assert_eq!(
            toks("$1 $2 $3 $$1"),
            vec![
                Tok::Int {
                    value: 42,
                    decimal: true,
                    unsigned: false,
                    longs: 0
                },
                Tok::Ident("foo".into()),
                Tok::Str(b"a b".to_vec()),
                Tok::Str(b"42".to_vec())
            ]
        );
        assert_eq!(
            toks("$4"),
            vec![Tok::Ident("ERR macro argument $4 is not defined".into())]
        );
    }

    #[test]
    fn integer_literals() {
        assert_eq!(
            toks("0x10UL")[0],
            Tok::Int {
                value: 16,
                decimal: false,
                unsigned: true,
                longs: 1
            }
        );
        assert_eq!(
            toks("010")[0],
            Tok::Int {
                value: 8,
                decimal: false,
                unsigned: false,
                longs: 0
            }
        );
        assert!(matches!(&toks("08")[0], Tok::Ident(e) if e.starts_with("ERR invalid digit")));
        assert!(
            matches!(&toks("99999999999999999999")[0], Tok::Ident(e) if e.contains("overflow"))
        );
    }

    #[test]
    fn string_newline_is_an_error() {
        assert_eq!(
            toks("\"ab\ncd\""),
            vec![Tok::Ident(
                "ERR newline encountered in string literal".into()
            )]
        );
    }
}
