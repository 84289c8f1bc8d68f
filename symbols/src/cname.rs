//! C spellings of types for messages and `ptype`-like output: "struct tcpcb *",
//! "int (*)(struct mbuf *, int)", "char [16]", "const char *".

use crate::decode::TypeDecoder;
use crate::error::Result;
use crate::types::{TypeKind, TypeRef};

impl TypeDecoder<'_> {
    /// The C name of `t`.
    pub(crate) fn c_name(&self, t: TypeRef) -> Result<String> {
        self.declaration(t, String::new())
    }

    /// The C declaration of `inner` (a declarator such as "*", "x[4]" or "") as type `t`:
    /// C declarators read inside-out, so each derived type wraps the declarator and recurses.
    fn declaration(&self, t: TypeRef, inner: String) -> Result<String> {
        let named = |base: String| {
            if inner.is_empty() {
                base
            } else {
                format!("{base} {inner}")
            }
        };
        // Aggregates are named by their tag alone: no need to decode their members.
        if let Some((keyword, name)) = self.aggregate_tag(t)? {
            return Ok(named(tagged(keyword, name)));
        }
        let info = self.info(t)?;
        let wrap = |inner: String| {
            if inner.starts_with('*') {
                format!("({inner})")
            } else {
                inner
            }
        };
        Ok(match info.kind {
            TypeKind::Void => named("void".into()),
            TypeKind::Base(_) | TypeKind::Typedef(_) => {
                named(info.name.unwrap_or_else(|| "?".into()))
            }
            TypeKind::Struct(_) => named(tagged("struct", info.name)),
            TypeKind::Union(_) => named(tagged("union", info.name)),
            TypeKind::Enum(_) => named(tagged("enum", info.name)),
            TypeKind::Pointer(p) => self.declaration(p, format!("*{inner}"))?,
            TypeKind::Array { element, count } => {
                let dim = count.map(|c| c.to_string()).unwrap_or_default();
                self.declaration(element, format!("{}[{dim}]", wrap(inner)))?
            }
            TypeKind::Function {
                ret,
                params,
                variadic,
            } => {
                let mut list = params
                    .iter()
                    .map(|p| self.c_name(*p))
                    .collect::<Result<Vec<_>>>()?;
                if variadic {
                    list.push("...".into());
                }
                if list.is_empty() {
                    list.push("void".into());
                }
                self.declaration(ret, format!("{}({})", wrap(inner), list.join(", ")))?
            }
            TypeKind::Const(_)
            | TypeKind::Volatile(_)
            | TypeKind::Restrict(_)
            | TypeKind::Atomic(_) => {
                // Producers nest qualifiers in any order (gcc: volatile(const(int))); C spells
                // them in one canonical order.
                let order = ["const", "volatile", "restrict", "_Atomic"];
                let mut present = [false; 4];
                let mut q = t;
                loop {
                    let slot = match self.info(q)?.kind {
                        TypeKind::Const(n) => (0, n),
                        TypeKind::Volatile(n) => (1, n),
                        TypeKind::Restrict(n) => (2, n),
                        TypeKind::Atomic(n) => (3, n),
                        _ => break,
                    };
                    present[slot.0] = true;
                    q = slot.1;
                }
                let words: Vec<&str> = order
                    .iter()
                    .zip(present)
                    .filter(|(_, p)| *p)
                    .map(|(w, _)| *w)
                    .collect();
                let words = words.join(" ");
                // A qualified pointer puts the qualifiers after its star ("char *const").
                if matches!(self.info(q)?.kind, TypeKind::Pointer(_)) {
                    let inner = if inner.is_empty() {
                        words
                    } else {
                        format!("{words} {inner}")
                    };
                    self.declaration(q, inner)?
                } else {
                    format!("{words} {}", self.declaration(q, inner)?)
                }
            }
        })
    }
}

fn tagged(keyword: &str, name: Option<String>) -> String {
    match name {
        Some(n) => format!("{keyword} {n}"),
        None => format!("{keyword} {{...}}"),
    }
}
