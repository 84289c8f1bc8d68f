//! Compile errors in FreeBSD dtrace's shape, with guestrace's name, the offending source line and
//! a caret under the column.

use std::fmt;

/// A 1-based line and column in one source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub col: u32,
}

/// An error found at one position of one source, before we know which source it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where.
    pub pos: Pos,
    /// dtrace's wording where it has one.
    pub message: String,
}

/// Which kind of source an error is in: it decides the first words of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// `-s FILE`.
    Script,
    /// `-n SPEC`.
    Description,
    /// A library (translator) file compiled before the user's program.
    Library,
}

/// One D source text handed to [`crate::compile`].
#[derive(Debug, Clone)]
pub struct Source {
    /// The file name (for -s and libraries) or the description itself (for -n).
    pub name: String,
    /// Which kind.
    pub kind: SourceKind,
    /// The program text.
    pub text: String,
}

impl Source {
    /// A `-s` script.
    pub fn script(name: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            kind: SourceKind::Script,
            text: text.into(),
        }
    }
    /// A `-n` description (with optional predicate and body).
    pub fn description(text: impl Into<String>) -> Source {
        let text = text.into();
        Source {
            name: text.clone(),
            kind: SourceKind::Description,
            text,
        }
    }
    /// A library file such as a provider's translator `.d`.
    pub fn library(name: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            kind: SourceKind::Library,
            text: text.into(),
        }
    }
}

/// A compile error with everything needed to print dtrace's three-line report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CompileError {
    /// Script, description or library.
    pub kind: SourceKind,
    /// The file name or description.
    pub source_name: String,
    /// Where in that source.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
    /// The text of the offending line (empty if unknown).
    pub line_text: String,
}

impl CompileError {
    /// Attaches a positioned error to its source.
    pub fn new(src: &Source, e: SyntaxError) -> CompileError {
        let line_text = src
            .text
            .lines()
            .nth(e.pos.line.saturating_sub(1) as usize)
            .unwrap_or("")
            .to_string();
        CompileError {
            kind: src.kind.clone(),
            source_name: src.name.clone(),
            pos: e.pos,
            message: e.message,
            line_text,
        }
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SourceKind::Description => write!(
                f,
                "guestrace: invalid probe specifier {}: ",
                self.source_name
            )?,
            _ => write!(
                f,
                "guestrace: failed to compile script {}: ",
                self.source_name
            )?,
        }
        write!(f, "line {}: {}", self.pos.line, self.message)?;
        if !self.line_text.is_empty() {
            // Tabs are kept so the caret lines up under the same column on a terminal.
            let pad: String = self
                .line_text
                .chars()
                .take(self.pos.col.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n{}\n{}^ column {}", self.line_text, pad, self.pos.col)?;
        }
        Ok(())
    }
}

/// Builds a positioned error.
pub fn err_at(pos: Pos, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        pos,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_three_lines_with_caret() {
        let src = Source::script("x.d", "BEGIN\n{\n\ttrace(y);\n}\n");
        let e = CompileError::new(
            &src,
            err_at(
                Pos { line: 3, col: 8 },
                "failed to resolve y: Unknown variable name",
            ),
        );
        assert_eq!(
            e.to_string(),
            "guestrace: failed to compile script x.d: line 3: failed to resolve y: Unknown variable name\n\
             \ttrace(y);\n\t      ^ column 8"
        );
    }

    #[test]
    fn descriptions_use_the_probe_specifier_wording() {
        let src = Source::description("BEGIN { x( }");
        let e = CompileError::new(
            &src,
            err_at(Pos { line: 1, col: 12 }, "syntax error near \"}\""),
        );
        assert!(e
            .to_string()
            .starts_with("guestrace: invalid probe specifier BEGIN { x( }: line 1: syntax error"));
    }
}
