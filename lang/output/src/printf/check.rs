//! Compile-time checks of printf()/printa() arguments: which D types each conversion accepts
//! (libdtrace's `pfcheck_*` functions) and the exact texts of dtrace's errors about them.

use super::conv::ArgClass;
use super::format::Conversion;

/// What the checker knows about an argument's D type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType<'a> {
    /// An integer or enum. `name` is the resolved C base type (`"int"`, `"unsigned short"`,
    /// `"long long"`, ...); `typedefs` the typedef names it was reached through, outermost
    /// first (`["uint64_t"]`), which `%llx` consults.
    Int {
        /// Size in bytes.
        size: u8,
        /// Whether the type is signed.
        signed: bool,
        /// The resolved base type name.
        name: &'a str,
        /// Typedef names on the way to it.
        typedefs: &'a [&'a str],
    },
    /// A pointer.
    Pointer,
    /// A D string.
    String,
    /// A `char` array.
    CharArray,
    /// A floating-point type (only reachable from kernel data).
    Float,
    /// The result of stack().
    Stack,
    /// A kernel symbol address (`` &`sym ``).
    SymAddr,
    /// Anything else (structs, unions, other arrays, void).
    Other,
}

/// The base type an exact-type conversion's typedef stands for on LP64 FreeBSD.
fn resolve(name: &str) -> &str {
    match name {
        "uint16_t" => "unsigned short",
        "int16_t" => "short",
        "int32_t" => "int",
        "uint32_t" => "unsigned int",
        "int64_t" => "long",
        "uint64_t" => "unsigned long",
        other => other,
    }
}

impl ArgClass {
    /// Whether an argument of type `t` passes this conversion's check. User addresses (`%A`)
    /// are refused for plain integers, as dtrace does without `-p`/`-c`.
    pub fn accepts(&self, t: &ArgType) -> bool {
        let int = matches!(t, ArgType::Int { .. });
        let name = match t {
            ArgType::Int { name, .. } => *name,
            _ => "",
        };
        match self {
            ArgClass::Int => int,
            ArgClass::SmallInt => matches!(t, ArgType::Int { size, .. } if *size <= 4),
            ArgClass::Float => matches!(t, ArgType::Float),
            ArgClass::Pointer => int || matches!(t, ArgType::Pointer),
            ArgClass::KernelAddr => int || matches!(t, ArgType::Pointer | ArgType::SymAddr),
            ArgClass::UserAddr => false,
            ArgClass::String => matches!(t, ArgType::String | ArgType::CharArray),
            ArgClass::Time => matches!(t, ArgType::Int { size: 8, .. }),
            ArgClass::Stack => matches!(t, ArgType::Stack),
            ArgClass::WideString => false,
            ArgClass::Exact(want) => int && resolve(name) == resolve(want),
            ArgClass::AnyShort => matches!(name, "short" | "signed short" | "unsigned short"),
            ArgClass::AnyLong => matches!(name, "long" | "signed long" | "unsigned long"),
            ArgClass::AnyLongLong => {
                matches!(
                    name,
                    "long long" | "signed long long" | "unsigned long long"
                ) || matches!(t, ArgType::Int { typedefs, .. }
                    if typedefs.iter().any(|t| matches!(*t, "int64_t" | "uint64_t")))
            }
            ArgClass::None => false,
        }
    }
}

/// dtrace's error texts for printf-like actions (`func` is `printf`, `printa`, ...). Argument
/// numbers count the format string as argument #1, as dtrace's messages do.
pub mod messages {
    use super::Conversion;

    /// D_PRINTF_ARG_TYPE.
    pub fn arg_type(func: &str, arg: usize, conv: &Conversion, type_name: &str) -> String {
        format!(
            "{func}( ) argument #{arg} is incompatible with conversion #{} prototype:\n\
             \tconversion: %{}\n\t prototype: {}\n\t  argument: {type_name}",
            conv.index(),
            conv.name(),
            conv.prototype()
        )
    }

    /// D_PRINTF_ARG_TYPE for the `%@` value of printa (the "aggregating action").
    pub fn agg_type(func: &str, conv: &Conversion, type_name: &str) -> String {
        format!(
            "{func}( ) aggregating action is incompatible with conversion #{} prototype:\n\
             \tconversion: %{}\n\t prototype: {}\n\t  argument: {type_name}",
            conv.index(),
            conv.name(),
            conv.prototype()
        )
    }

    /// D_PRINTF_ARG_PROTO.
    pub fn missing_value(func: &str, conv: &Conversion) -> String {
        format!(
            "{func}( ) prototype mismatch: conversion #{} (%{}) is missing a corresponding \
             value argument",
            conv.index(),
            conv.name()
        )
    }

    /// D_PRINTF_DYN_PROTO: `star` is `"*"` for a width, `".*"` for a precision.
    pub fn missing_star(func: &str, conv: &Conversion, star: &str) -> String {
        format!(
            "{func}( ) prototype mismatch: conversion #{} (%{}) is missing a corresponding \
             \"{star}\" argument",
            conv.index(),
            conv.name()
        )
    }

    /// D_PRINTF_DYN_TYPE.
    pub fn star_type(
        func: &str,
        arg: usize,
        conv: &Conversion,
        star: &str,
        type_name: &str,
    ) -> String {
        format!(
            "{func}( ) argument #{arg} is incompatible with conversion #{} prototype:\n\
             \tconversion: % {star} {}\n\t prototype: int\n\t  argument: {type_name}",
            conv.index(),
            conv.name()
        )
    }

    /// D_PRINTF_ARG_EXTRA: `required` counts the values the format consumes.
    pub fn extra(func: &str, required: usize) -> String {
        format!("{func}( ) prototype mismatch: only {required} arguments required by this format string")
    }

    /// D_PRINTF_AGG_CONV.
    pub fn agg_outside_printa(func: &str) -> String {
        format!("%@ conversion requires an aggregation and is not for use with {func}( )")
    }

    /// D_PRINTF_FMT_EMPTY.
    pub fn empty(func: &str) -> String {
        format!("{func}( ) format string is empty")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printf::Format;

    fn int<'a>(size: u8, name: &'a str, typedefs: &'a [&'a str]) -> ArgType<'a> {
        ArgType::Int {
            size,
            signed: true,
            name,
            typedefs,
        }
    }

    #[test]
    fn classes_accept_what_libdtrace_does() {
        let f = Format::parse("%d %c %s %Y %hd %llx %P %p %e").unwrap();
        let c: Vec<ArgClass> = f.conversions().iter().map(|c| c.class()).collect();
        assert!(c[0].accepts(&int(1, "char", &[])));
        assert!(!c[0].accepts(&ArgType::String));
        assert!(!c[1].accepts(&int(8, "long", &[])));
        assert!(c[2].accepts(&ArgType::CharArray));
        assert!(c[3].accepts(&int(8, "long", &[])) && !c[3].accepts(&int(4, "int", &[])));
        assert!(c[4].accepts(&int(2, "short", &[])) && !c[4].accepts(&int(4, "int", &[])));
        assert!(c[5].accepts(&int(8, "unsigned long", &["uint64_t"])));
        assert!(!c[5].accepts(&int(8, "unsigned long", &[])));
        assert!(c[6].accepts(&int(2, "unsigned short", &["uint16_t"])));
        assert!(c[7].accepts(&ArgType::Pointer) && c[7].accepts(&int(4, "int", &[])));
        assert!(!c[8].accepts(&int(4, "int", &[])));
    }

    #[test]
    fn messages_match_dtrace() {
        let f = Format::parse("%d %*s").unwrap();
        let c = f.conversions();
        assert_eq!(
            messages::arg_type("printf", 2, &c[0], "string"),
            "printf( ) argument #2 is incompatible with conversion #1 prototype:\n\
             \tconversion: %d\n\t prototype: char, short, int, long, or long long\n\
             \t  argument: string"
        );
        assert_eq!(
            messages::missing_value("printf", &c[1]),
            "printf( ) prototype mismatch: conversion #2 (%s) is missing a corresponding value argument"
        );
        assert_eq!(
            messages::missing_star("printf", &c[1], "*"),
            "printf( ) prototype mismatch: conversion #2 (%s) is missing a corresponding \"*\" argument"
        );
        assert_eq!(
            messages::extra("printf", 3),
            "printf( ) prototype mismatch: only 3 arguments required by this format string"
        );
    }
}
