//! C type spellings: the canonical name of a base type (gcc says "long unsigned int" where clang
//! says "unsigned long") and the parse of a type asked for by name ("struct tcpcb *").

use crate::error::{Error, Result};
use crate::index::TypeTag;

/// The spelling of a C base type that every producer's variant maps to.
pub(crate) fn canonical_base_name(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let known = [
        "signed", "unsigned", "char", "short", "int", "long", "__int128",
    ];
    if words.is_empty() || !words.iter().all(|w| known.contains(w)) {
        return words.join(" ");
    }
    let has = |w: &str| words.contains(&w);
    let longs = words.iter().filter(|w| **w == "long").count();
    let unsigned = has("unsigned");
    if has("char") {
        return match (unsigned, has("signed")) {
            (true, _) => "unsigned char",
            (false, true) => "signed char",
            _ => "char",
        }
        .to_string();
    }
    let base = if has("__int128") {
        "__int128"
    } else if has("short") {
        "short"
    } else if longs >= 2 {
        "long long"
    } else if longs == 1 {
        "long"
    } else {
        "int"
    };
    match (unsigned, base) {
        (true, "int") => "unsigned int".to_string(),
        (true, b) => format!("unsigned {b}"),
        (false, b) => b.to_string(),
    }
}

/// What a type name given by a user or a provider asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeQuery {
    /// `struct`/`union`/`enum` when spelled with a keyword; None for a typedef or base type name.
    pub(crate) tag: Option<TypeTag>,
    /// The name without keyword, qualifiers or stars.
    pub(crate) name: String,
    /// Number of trailing `*`.
    pub(crate) pointers: u8,
}

/// Parses "struct tcpcb *", "unsigned long", "tcp_seq", "const char *".
pub(crate) fn parse_type_query(text: &str) -> Result<TypeQuery> {
    let bad = || Error::Invalid(format!("cannot parse type name '{text}'"));
    let trimmed = text.trim();
    let stars = trimmed
        .chars()
        .rev()
        .take_while(|c| *c == '*' || c.is_whitespace())
        .filter(|c| *c == '*')
        .count();
    let body = trimmed.trim_end_matches(|c: char| c == '*' || c.is_whitespace());
    if body.contains(['[', ']', '(', ')', '*']) {
        return Err(bad());
    }
    // Qualifiers do not change layout; the index has no qualified entries to return.
    let words: Vec<&str> = body
        .split_whitespace()
        .filter(|w| !matches!(*w, "const" | "volatile" | "restrict"))
        .collect();
    let (tag, rest) = match words.first() {
        Some(&"struct") => (Some(TypeTag::Struct), &words[1..]),
        Some(&"union") => (Some(TypeTag::Union), &words[1..]),
        Some(&"enum") => (Some(TypeTag::Enum), &words[1..]),
        Some(_) => (None, &words[..]),
        None => return Err(bad()),
    };
    if rest.is_empty() || (tag.is_some() && rest.len() != 1) {
        return Err(bad());
    }
    Ok(TypeQuery {
        tag,
        name: rest.join(" "),
        pointers: u8::try_from(stars).map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcc_and_clang_spellings_meet() {
        assert_eq!(
            canonical_base_name("long unsigned int"),
            canonical_base_name("unsigned long")
        );
        assert_eq!(
            canonical_base_name("long long int"),
            canonical_base_name("long long")
        );
        assert_eq!(canonical_base_name("short unsigned int"), "unsigned short");
        assert_ne!(
            canonical_base_name("signed char"),
            canonical_base_name("char")
        );
        assert_eq!(canonical_base_name("_Bool"), "_Bool");
    }

    #[test]
    fn queries_parse() {
        let q = parse_type_query("struct tcpcb *").unwrap();
        assert_eq!(
            (q.tag, q.name.as_str(), q.pointers),
            (Some(TypeTag::Struct), "tcpcb", 1)
        );
        let q = parse_type_query("const unsigned long").unwrap();
        assert_eq!(
            (q.tag, q.name.as_str(), q.pointers),
            (None, "unsigned long", 0)
        );
        assert!(parse_type_query("struct").is_err());
        assert!(parse_type_query("int [4]").is_err());
    }
}
