//! Subroutine calls in expressions: arity and argument checks, strings and guest-memory
//! arguments prepared for the evaluator.

use super::expr::CE;
use super::{CResult, Compiler};
use crate::ast::Expr;
use crate::error::{err_at, Pos};
use crate::ir::{Node, Subr};
use crate::types::Type;

impl Compiler<'_> {
    pub(crate) fn call(&mut self, name: &str, args: &[Expr], pos: Pos) -> CResult<CE> {
        let str_t = Type::String;
        let (subr, arity, ret): (Subr, std::ops::RangeInclusive<usize>, Type) = match name {
            "strlen" => (Subr::Strlen, 1..=1, Type::int(8, false)),
            "strjoin" => (Subr::Strjoin, 2..=2, str_t),
            "substr" => (Subr::Substr, 2..=3, str_t),
            "index" => (Subr::Index, 2..=3, Type::int(4, true)),
            "rindex" => (Subr::Rindex, 2..=3, Type::int(4, true)),
            "strstr" => (Subr::Strstr, 2..=2, str_t),
            "strchr" => (Subr::Strchr, 2..=2, str_t),
            "strrchr" => (Subr::Strrchr, 2..=2, str_t),
            "strtok" => (Subr::Strtok, 2..=2, str_t),
            "lltostr" => (Subr::Lltostr, 1..=2, str_t),
            "strtoll" => (Subr::Strtoll, 1..=2, Type::int(8, true)),
            "tolower" => (Subr::Tolower, 1..=1, str_t),
            "toupper" => (Subr::Toupper, 1..=1, str_t),
            "basename" => (Subr::Basename, 1..=1, str_t),
            "dirname" => (Subr::Dirname, 1..=1, str_t),
            "cleanpath" => (Subr::Cleanpath, 1..=1, str_t),
            "ntohs" | "htons" => (Subr::Swap16, 1..=1, Type::int(2, false)),
            "ntohl" | "htonl" => (Subr::Swap32, 1..=1, Type::int(4, false)),
            "ntohll" | "htonll" => (Subr::Swap64, 1..=1, Type::int(8, false)),
            "inet_ntoa" => (Subr::InetNtoa, 1..=1, str_t),
            "inet_ntoa6" => (Subr::InetNtoa6, 1..=1, str_t),
            "inet_ntop" => (Subr::InetNtop, 2..=2, str_t),
            "rand" => (Subr::Rand, 0..=0, Type::int(4, true)),
            "func" | "sym" | "uaddr" | "usym" | "ufunc" => (Subr::Sym, 1..=1, str_t),
            "mod" | "umod" => (Subr::Mod, 1..=1, str_t),
            _ if super::action::is_action(name) => {
                return Err(err_at(
                    pos,
                    format!("{name}( ) may only be used as a statement"),
                ))
            }
            _ if super::action::is_agg_func(name) => {
                return Err(err_at(
                    pos,
                    format!("{name}( ) may only be used to assign an aggregation"),
                ))
            }
            "copyin" | "copyinstr" | "copyinto" | "alloca" | "bcopy" | "speculation"
            | "progenyof" | "getmajor" | "getminor" | "ddi_pathname" | "msgsize" | "msgdsize"
            | "mutex_owned" | "mutex_owner" | "rw_read_held" | "rw_write_held" | "memref"
            | "json" => {
                return Err(err_at(
                    pos,
                    format!("{name}( ) is not supported by guestrace"),
                ))
            }
            _ => {
                return Err(err_at(
                    pos,
                    format!("failed to resolve {name}: Unknown function name"),
                ))
            }
        };
        if !arity.contains(&args.len()) {
            return Err(err_at(
                pos,
                format!(
                    "{name}( ) prototype mismatch: {} args passed, {} expected",
                    args.len(),
                    arity.start()
                ),
            ));
        }
        let mut nodes = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let (n, t) = self.rvalue(a)?;
            let wants_string = match subr {
                Subr::Strlen
                | Subr::Strjoin
                | Subr::Strstr
                | Subr::Tolower
                | Subr::Toupper
                | Subr::Basename
                | Subr::Dirname
                | Subr::Cleanpath
                | Subr::Strtok => true,
                Subr::Substr | Subr::Strchr | Subr::Strrchr | Subr::Strtoll => i == 0,
                Subr::Index | Subr::Rindex => i < 2,
                _ => false,
            };
            let null_strtok = subr == Subr::Strtok && i == 0 && n.as_const() == Some(0);
            let pointer_arg = matches!(subr, Subr::InetNtoa | Subr::InetNtoa6)
                || (subr == Subr::InetNtop && i == 1);
            if pointer_arg && !matches!(t, Type::Pointer(_)) {
                return Err(err_at(
                    a.pos,
                    format!("{name}( ) argument #{} must be a pointer, not {t}", i + 1),
                ));
            }
            let n = if null_strtok || (subr == Subr::InetNtop && i == 1) {
                // strtok(NULL, ...) continues a scan; inet_ntop reads as many bytes as its family needs.
                n
            } else if wants_string {
                self.string_value(n, &t, a.pos).map_err(|_| {
                    err_at(a.pos, format!("{name}( ) argument #{} is incompatible with prototype: expected string, got {t}", i + 1))
                })?
            } else if pointer_arg {
                let len = if subr == Subr::InetNtoa { 4 } else { 16 };
                let pc = self.pc();
                Node::ReadBytes {
                    addr: Box::new(n),
                    len,
                    pc,
                }
            } else {
                if !t.is_scalar() {
                    return Err(err_at(
                        a.pos,
                        format!("{name}( ) argument #{} is incompatible with prototype: expected integer, got {t}", i + 1),
                    ));
                }
                n
            };
            nodes.push(n);
        }
        Ok(CE::Val(Node::Subr(subr, nodes), ret))
    }
}

/// Whether `name` is one of D's subroutines (callable in expressions).
pub(crate) fn is_subroutine(name: &str) -> bool {
    matches!(
        name,
        "strlen"
            | "strjoin"
            | "substr"
            | "index"
            | "rindex"
            | "strstr"
            | "strchr"
            | "strrchr"
            | "strtok"
            | "lltostr"
            | "strtoll"
            | "tolower"
            | "toupper"
            | "basename"
            | "dirname"
            | "cleanpath"
            | "ntohs"
            | "htons"
            | "ntohl"
            | "htonl"
            | "ntohll"
            | "htonll"
            | "inet_ntoa"
            | "inet_ntoa6"
            | "inet_ntop"
            | "rand"
            | "func"
            | "sym"
            | "uaddr"
            | "usym"
            | "ufunc"
            | "mod"
            | "umod"
            | "copyin"
            | "copyinstr"
            | "copyinto"
            | "alloca"
            | "bcopy"
            | "speculation"
            | "progenyof"
            | "getmajor"
            | "getminor"
            | "mutex_owned"
            | "mutex_owner"
            | "rw_read_held"
            | "rw_write_held"
            | "memref"
            | "json"
    )
}
