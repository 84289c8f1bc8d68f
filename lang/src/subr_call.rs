//! Subroutine calls at run time: the pure ones through `lang_output::subr` (FreeBSD 10's
//! semantics live there), guest-memory reads and symbol names here.

use std::rc::Rc;

use lang_output::subr::{self as sub, SubrError};

use crate::eval::{FaultKind, Firing, Flt, Machine, RtFault, Val};
use crate::ir::Subr;

fn s(v: Vec<u8>) -> Val {
    Val::S(Rc::from(v))
}

/// A subroutine's NULL string result: reads as "" and compares equal to NULL.
fn opt(v: Option<Vec<u8>>) -> Val {
    v.map_or(Val::I(0), s)
}

fn fault(e: SubrError) -> Flt {
    let kind = match e {
        SubrError::IllegalOperation => FaultKind::IllOp,
        SubrError::OutOfScratch => FaultKind::NoScratch,
        SubrError::NullAddress => FaultKind::BadAddr,
    };
    Box::new(RtFault {
        kind,
        addr: 0,
        pc: 0,
    })
}

impl Machine {
    /// Runs one subroutine over evaluated arguments.
    pub(crate) fn subr(&mut self, call: Subr, a: &[Val], f: &mut Firing) -> Result<Val, Flt> {
        let int = |i: usize| a.get(i).map_or(0, Val::int);
        let opt_int = |i: usize| a.get(i).map(|v| v.int() as i64);
        let bytes = |i: usize| a.get(i).map_or(&b""[..], Val::bytes);
        let n = self.strsize;
        Ok(match call {
            Subr::Strlen => Val::I(sub::strlen(bytes(0), n) as u64),
            Subr::Strjoin => s(sub::strjoin(bytes(0), bytes(1), n).map_err(fault)?),
            Subr::Substr => s(sub::substr(bytes(0), int(1) as i64, opt_int(2), n)),
            Subr::Index => Val::I(sub::index(bytes(0), bytes(1), opt_int(2)) as u64),
            Subr::Rindex => Val::I(sub::rindex(bytes(0), bytes(1), opt_int(2)) as u64),
            Subr::Strstr => opt(sub::strstr(bytes(0), bytes(1))),
            Subr::Strchr => opt(sub::strchr(bytes(0), int(1) as u8)),
            Subr::Strrchr => opt(sub::strrchr(bytes(0), int(1) as u8)),
            Subr::Strtok => {
                // An integer first argument is NULL: continue the saved scan.
                let first = match a.first() {
                    Some(Val::S(x)) => Some(&x[..]),
                    _ => None,
                };
                opt(sub::strtok(&mut self.strtok, first, bytes(1), n).map_err(fault)?)
            }
            Subr::Lltostr => s(sub::lltostr(int(0) as i64, opt_int(1)).map_err(fault)?),
            Subr::Strtoll => Val::I(sub::strtoll(bytes(0), opt_int(1)).map_err(fault)? as u64),
            Subr::Tolower => s(sub::tolower(bytes(0), n)),
            Subr::Toupper => s(sub::toupper(bytes(0), n)),
            Subr::Basename => s(sub::basename(bytes(0))),
            Subr::Dirname => s(sub::dirname(bytes(0))),
            Subr::Cleanpath => s(sub::cleanpath(bytes(0), n)),
            Subr::Swap16 => Val::I(sub::ntohs(int(0))),
            Subr::Swap32 => Val::I(sub::ntohl(int(0))),
            Subr::Swap64 => Val::I(sub::ntohll(int(0))),
            Subr::InetNtoa => {
                let b: [u8; 4] = bytes(0)
                    .try_into()
                    .map_err(|_| fault(SubrError::IllegalOperation))?;
                s(sub::inet_ntoa(&b))
            }
            Subr::InetNtoa6 => {
                let b: [u8; 16] = bytes(0)
                    .try_into()
                    .map_err(|_| fault(SubrError::IllegalOperation))?;
                s(sub::inet_ntoa6(&b))
            }
            Subr::InetNtop => {
                let af = int(0) as i64;
                let len = sub::inet_ntop_len(af).map_err(fault)?;
                let mut buf = vec![0u8; len];
                self.read(int(1), &mut buf, f, 0)?;
                s(sub::inet_ntop(af, &buf).map_err(fault)?)
            }
            Subr::Rand => Val::I(u64::from(self.next_rand() as u32 as i32 as u32)),
            Subr::Sym => {
                // dtrace prints sym()/func() as ``module`symbol``, never with the offset, so
                // `@[func(arg0)]` counts per function, not per address.
                let addr = int(0);
                let name = f.ctx.symbolize(addr).map(|n| match n.rfind('+') {
                    Some(i) if n[..i].contains('`') => n[..i].to_string(),
                    _ => n,
                });
                s(name.unwrap_or_else(|| format!("0x{addr:x}")).into_bytes())
            }
            Subr::Mod => {
                let addr = int(0);
                let name = f
                    .ctx
                    .symbolize(addr)
                    .and_then(|n| n.split('`').next().map(str::to_string));
                s(name.unwrap_or_else(|| format!("0x{addr:x}")).into_bytes())
            }
        })
    }
}
