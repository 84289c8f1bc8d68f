//! Subroutine calls at run time: the arithmetic ones here, the string and network ones through
//! `lang_output::subr`, symbol names through the provider.

use std::rc::Rc;

use crate::eval::{FaultKind, Firing, Machine, RtFault, Val};
use crate::ir::Subr;

fn s(v: Vec<u8>) -> Val {
    Val::S(Rc::from(v))
}

impl Machine {
    /// Runs one subroutine over evaluated arguments.
    pub(crate) fn subr(&mut self, sub: Subr, a: &[Val], f: &mut Firing) -> Result<Val, RtFault> {
        let arg = |i: usize| a.get(i).map_or(0, Val::int);
        let bytes = |i: usize| a.get(i).map_or(&b""[..], Val::bytes);
        let ill = RtFault {
            kind: FaultKind::IllOp,
            addr: 0,
            pc: 0,
        };
        Ok(match sub {
            Subr::Strlen => Val::I(bytes(0).len() as u64),
            Subr::Swap16 => Val::I(u64::from((arg(0) as u16).swap_bytes())),
            Subr::Swap32 => Val::I(u64::from((arg(0) as u32).swap_bytes())),
            Subr::Swap64 => Val::I(arg(0).swap_bytes()),
            Subr::Rand => Val::I(u64::from(self.next_rand() as u32 as i32 as u32)),
            Subr::Sym => {
                let addr = arg(0);
                s(f.ctx
                    .symbolize(addr)
                    .unwrap_or_else(|| format!("0x{addr:x}"))
                    .into_bytes())
            }
            Subr::Mod => {
                let addr = arg(0);
                let name = f
                    .ctx
                    .symbolize(addr)
                    .and_then(|n| n.split('`').next().map(str::to_string));
                s(name.unwrap_or_else(|| format!("0x{addr:x}")).into_bytes())
            }
            _ => return Err(ill),
        })
    }
}
