//! The evaluator: runs compiled expression trees against D's variables and one probe firing's
//! context. Faults (bad addresses, division by zero) come back as values, never panics.

use std::collections::HashMap;
use std::rc::Rc;

use crate::context::FireContext;
use crate::ir::{Node, Place, Store, StrCmp, Subr};
use crate::probes::ProbeInfo;

/// A runtime value: a 64-bit register or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Val {
    /// An integer or pointer.
    I(u64),
    /// A string (no NUL inside).
    S(Rc<[u8]>),
    /// A struct held in a D variable: its members in declaration order.
    T(Rc<[Val]>),
}

impl Val {
    /// The integer value (strings count as their non-emptiness, which only predicates ask for).
    pub fn int(&self) -> u64 {
        match self {
            Val::I(v) => *v,
            Val::S(s) => u64::from(!s.is_empty()),
            Val::T(_) => 1,
        }
    }

    /// The string bytes (an integer reads as the empty string).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Val::S(s) => s,
            Val::I(_) | Val::T(_) => &[],
        }
    }

    fn is_zero(&self) -> bool {
        match self {
            Val::I(v) => *v == 0,
            Val::S(s) => s.is_empty(),
            Val::T(_) => false,
        }
    }
}

/// dtrace's fault kinds (the DTRACEFLT_* codes are the discriminants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// An unreadable address.
    BadAddr = 1,
    /// Division or remainder by zero.
    DivZero = 4,
    /// An operation the evaluator cannot do.
    IllOp = 3,
    /// A string result too big for strsize.
    NoScratch = 5,
}

impl FaultKind {
    /// The text dtrace prints.
    pub fn text(self) -> &'static str {
        match self {
            FaultKind::BadAddr => "invalid address",
            FaultKind::DivZero => "divide-by-zero",
            FaultKind::IllOp => "illegal operation",
            FaultKind::NoScratch => "out of scratch space",
        }
    }
}

/// A runtime fault: kind, address (for bad addresses) and the fault site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtFault {
    /// What went wrong.
    pub kind: FaultKind,
    /// The address, for [`FaultKind::BadAddr`].
    pub addr: u64,
    /// The fault site, reported as the DIF offset.
    pub pc: u32,
}

/// An associative-array key element.
pub(crate) type Key = Val;

/// D's variables and the per-firing state.
pub(crate) struct Machine {
    pub globals: Vec<Val>,
    pub locals: Vec<Val>,
    local_init: Vec<Val>,
    pub assocs: Vec<HashMap<Vec<Key>, Val>>,
    pub threads: HashMap<(u64, u32, Vec<Key>), Val>,
    pub strsize: usize,
    pub strtok: lang_output::subr::StrtokState,
    /// Live associative-array and thread-local elements, and the most there may be
    /// (dynvarsize): past it a store is dropped, as dtrace's dynamic variable drops.
    dyn_count: usize,
    pub dyn_limit: usize,
    /// Stores dropped so far.
    pub dyn_drops: u64,
    rand: u64,
}

/// One probe firing as the evaluator sees it.
pub(crate) struct Firing<'a> {
    pub ctx: &'a mut dyn FireContext,
    pub probe: &'a ProbeInfo,
    pub epid: u32,
    thread: Option<u64>,
}

impl<'a> Firing<'a> {
    /// A firing of `probe` for enabled probe `epid`.
    pub fn new(ctx: &'a mut dyn FireContext, probe: &'a ProbeInfo, epid: u32) -> Firing<'a> {
        Firing {
            ctx,
            probe,
            epid,
            thread: None,
        }
    }

    fn thread(&mut self) -> u64 {
        match self.thread {
            Some(t) => t,
            None => {
                let t = self.ctx.thread_key();
                self.thread = Some(t);
                t
            }
        }
    }
}

/// Faults are rare: boxing them keeps the evaluator's results in registers.
pub(crate) type Flt = Box<RtFault>;

fn fault(kind: FaultKind, addr: u64, pc: u32) -> Flt {
    Box::new(RtFault { kind, addr, pc })
}

type R = Result<Val, Flt>;

impl Machine {
    /// Fresh variables for a program with this layout; `local_types` give clause-locals' zero values.
    pub fn new(
        global_types: &[crate::types::Type],
        local_types: &[crate::types::Type],
        assocs: usize,
        strsize: usize,
    ) -> Machine {
        let zero = |t: &crate::types::Type| match t {
            crate::types::Type::String => Val::S(Rc::from(&b""[..])),
            _ => Val::I(0),
        };
        let locals: Vec<Val> = local_types.iter().map(zero).collect();
        Machine {
            globals: global_types.iter().map(zero).collect(),
            local_init: locals.clone(),
            locals,
            assocs: vec![HashMap::new(); assocs],
            threads: HashMap::new(),
            strsize,
            strtok: Default::default(),
            dyn_count: 0,
            dyn_limit: usize::MAX,
            dyn_drops: 0,
            rand: 0x2545_f491_4f6c_dd1d,
        }
    }

    fn dyn_full(&self) -> bool {
        self.dyn_count >= self.dyn_limit
    }

    /// Clause-locals start over at each probe firing.
    pub fn reset_locals(&mut self) {
        self.locals.clone_from(&self.local_init);
        self.strtok = Default::default();
    }

    fn keys(&mut self, nodes: &[Node], f: &mut Firing) -> Result<Vec<Key>, Flt> {
        nodes.iter().map(|n| self.eval(n, f)).collect()
    }

    fn get(&mut self, place: &Place, f: &mut Firing) -> R {
        Ok(match place {
            Place::Global(i) => self.globals.get(*i as usize).cloned().unwrap_or(Val::I(0)),
            Place::Local(i) => self.locals.get(*i as usize).cloned().unwrap_or(Val::I(0)),
            Place::Assoc(id, ks) => {
                let k = self.keys(ks, f)?;
                self.assocs
                    .get(*id as usize)
                    .and_then(|m| m.get(&k))
                    .cloned()
                    .unwrap_or(Val::I(0))
            }
            Place::Thread(id, ks) => {
                let k = self.keys(ks, f)?;
                let t = f.thread();
                self.threads.get(&(t, *id, k)).cloned().unwrap_or(Val::I(0))
            }
            Place::Field {
                record,
                index,
                store,
                ..
            } => match self.get(record, f)? {
                Val::T(items) => items.get(*index as usize).cloned().unwrap_or(Val::I(0)),
                _ if *store == Store::Str => Val::S(Rc::from(&b""[..])),
                _ => Val::I(0),
            },
        })
    }

    fn set(&mut self, place: &Place, store: Store, v: Val, f: &mut Firing) -> R {
        let v = match (store, v) {
            // FreeBSD 10's D keeps a scalar variable's whole 64-bit register; only casts and
            // output records narrow it.
            (Store::Int(_), v) => Val::I(v.int()),
            (Store::Str, Val::S(s)) if s.len() > self.strsize => {
                Val::S(Rc::from(&s[..self.strsize]))
            }
            (Store::Str, Val::I(_)) => Val::S(Rc::from(&b""[..])),
            (Store::Str, v) => v,
            (Store::Rec, v) => v,
        };
        match place {
            Place::Field {
                record,
                index,
                arity,
                ..
            } => {
                // Read, change one member, write the struct back.
                let mut items: Vec<Val> = match self.get(record, f)? {
                    Val::T(items) => items.to_vec(),
                    _ => vec![Val::I(0); *arity as usize],
                };
                if let Some(slot) = items.get_mut(*index as usize) {
                    *slot = v.clone();
                }
                self.set(record, Store::Rec, Val::T(Rc::from(items)), f)?;
            }
            Place::Global(i) => {
                if let Some(slot) = self.globals.get_mut(*i as usize) {
                    *slot = v.clone();
                }
            }
            Place::Local(i) => {
                if let Some(slot) = self.locals.get_mut(*i as usize) {
                    *slot = v.clone();
                }
            }
            Place::Assoc(id, ks) => {
                let k = self.keys(ks, f)?;
                let full = self.dyn_full();
                if let Some(m) = self.assocs.get_mut(*id as usize) {
                    // Storing zero frees the element, as dtrace's dynamic variables do.
                    if v.is_zero() {
                        if m.remove(&k).is_some() {
                            self.dyn_count -= 1;
                        }
                    } else if let Some(slot) = m.get_mut(&k) {
                        *slot = v.clone();
                    } else if full {
                        self.dyn_drops += 1;
                    } else {
                        m.insert(k, v.clone());
                        self.dyn_count += 1;
                    }
                }
            }
            Place::Thread(id, ks) => {
                let k = (f.thread(), *id, self.keys(ks, f)?);
                if v.is_zero() {
                    if self.threads.remove(&k).is_some() {
                        self.dyn_count -= 1;
                    }
                } else if let Some(slot) = self.threads.get_mut(&k) {
                    *slot = v.clone();
                } else if self.dyn_full() {
                    self.dyn_drops += 1;
                } else {
                    self.threads.insert(k, v.clone());
                    self.dyn_count += 1;
                }
            }
        }
        Ok(v)
    }

    /// Reads `n` bytes of guest memory.
    pub fn read(&self, addr: u64, buf: &mut [u8], f: &mut Firing, pc: u32) -> Result<(), Flt> {
        f.ctx
            .read(addr, buf)
            .map_err(|e| fault(FaultKind::BadAddr, e.addr, pc))
    }

    /// Reads a NUL-terminated string of at most `max` bytes; a fault on the first byte faults.
    pub fn read_str(&self, addr: u64, max: usize, f: &mut Firing, pc: u32) -> Result<Vec<u8>, Flt> {
        let mut out = Vec::new();
        let mut chunk = [0u8; 64];
        while out.len() < max {
            let want = (max - out.len()).min(chunk.len());
            let at = addr.wrapping_add(out.len() as u64);
            let got = match f.ctx.read(at, &mut chunk[..want]) {
                Ok(()) => want,
                Err(e) => {
                    // The string may end just before an unmapped page: go on byte by byte.
                    let mut n = 0;
                    while n < want && f.ctx.read(at + n as u64, &mut chunk[n..n + 1]).is_ok() {
                        n += 1;
                    }
                    if n == 0 {
                        return Err(fault(FaultKind::BadAddr, e.addr.max(at), pc));
                    }
                    n
                }
            };
            if let Some(z) = chunk[..got].iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..z]);
                return Ok(out);
            }
            out.extend_from_slice(&chunk[..got]);
            if got < want {
                return Err(fault(FaultKind::BadAddr, at + got as u64, pc));
            }
        }
        Ok(out)
    }

    /// Evaluates an expression that yields an integer (the common case, kept in registers).
    pub fn eval_int(&mut self, n: &Node, f: &mut Firing) -> Result<u64, Flt> {
        Ok(match n {
            Node::Const(v) => *v,
            Node::Arg(i) => f.ctx.arg(usize::from(*i)),
            Node::Builtin(b) => f.ctx.builtin(*b),
            Node::ProbeId => u64::from(f.probe.id),
            Node::Epid => u64::from(f.epid),
            Node::Get(Place::Local(i)) => self.locals.get(*i as usize).map_or(0, Val::int),
            Node::Get(Place::Global(i)) => self.globals.get(*i as usize).map_or(0, Val::int),
            Node::Neg(x) => self.eval_int(x, f)?.wrapping_neg(),
            Node::BitNot(x) => !self.eval_int(x, f)?,
            Node::Not(x) => u64::from(self.eval(x, f)?.is_zero()),
            Node::Bin(op, a, b) => {
                let x = self.eval_int(a, f)?;
                let y = self.eval_int(b, f)?;
                crate::compile::eval_bin(*op, x, y)
                    .ok_or_else(|| fault(FaultKind::DivZero, 0, 0))?
            }
            Node::And(a, b) => u64::from(self.eval_int(a, f)? != 0 && self.eval_int(b, f)? != 0),
            Node::Or(a, b) => u64::from(self.eval_int(a, f)? != 0 || self.eval_int(b, f)? != 0),
            Node::LXor(a, b) => {
                u64::from((self.eval_int(a, f)? != 0) != (self.eval_int(b, f)? != 0))
            }
            Node::Cond(c, a, b) => {
                if self.eval_int(c, f)? != 0 {
                    self.eval_int(a, f)?
                } else {
                    self.eval_int(b, f)?
                }
            }
            Node::Norm(t, x) => t.normalize(self.eval_int(x, f)?),
            Node::Load { addr, off, ty, pc } => {
                let a = self.eval_int(addr, f)?.wrapping_add(*off);
                let mut buf = [0u8; 8];
                let n = usize::from(ty.size).min(8);
                self.read(a, &mut buf[..n], f, *pc)?;
                ty.normalize(u64::from_le_bytes(buf))
            }
            Node::LoadBits {
                addr,
                unit,
                shift,
                width,
                signed,
                pc,
            } => {
                let a = self.eval_int(addr, f)?;
                let mut buf = [0u8; 8];
                let n = usize::from(*unit).min(8);
                self.read(a, &mut buf[..n], f, *pc)?;
                let raw = u64::from_le_bytes(buf) >> shift;
                let w = u32::from(*width).clamp(1, 64);
                let mask = if w >= 64 { u64::MAX } else { (1u64 << w) - 1 };
                let v = raw & mask;
                if *signed && w < 64 && (v >> (w - 1)) & 1 == 1 {
                    v | !mask
                } else {
                    v
                }
            }
            Node::StrCmp(op, a, b) => {
                let x = self.eval(a, f)?;
                let y = self.eval(b, f)?;
                let o = x.bytes().cmp(y.bytes());
                u64::from(match op {
                    StrCmp::Eq => o.is_eq(),
                    StrCmp::Ne => o.is_ne(),
                    StrCmp::Lt => o.is_lt(),
                    StrCmp::Le => o.is_le(),
                    StrCmp::Gt => o.is_gt(),
                    StrCmp::Ge => o.is_ge(),
                })
            }
            Node::Seq(first, last) => {
                for n in first {
                    self.eval(n, f)?;
                }
                self.eval_int(last, f)?
            }
            Node::Subr(Subr::Swap16, a) if a.len() == 1 => {
                lang_output::subr::ntohs(self.eval_int(&a[0], f)?)
            }
            Node::Subr(Subr::Swap32, a) if a.len() == 1 => {
                lang_output::subr::ntohl(self.eval_int(&a[0], f)?)
            }
            Node::Subr(Subr::Swap64, a) if a.len() == 1 => {
                lang_output::subr::ntohll(self.eval_int(&a[0], f)?)
            }
            n => self.eval(n, f)?.int(),
        })
    }

    /// Evaluates an expression of any type.
    pub fn eval(&mut self, n: &Node, f: &mut Firing) -> R {
        Ok(match n {
            Node::Str(s) => Val::S(s.clone()),
            Node::Execname => Val::S(Rc::from(f.ctx.execname())),
            Node::ProbeName(i) => {
                let p = f.probe;
                let s = match i {
                    0 => &p.provider,
                    1 => &p.module,
                    2 => &p.function,
                    _ => &p.name,
                };
                Val::S(Rc::from(s.as_bytes()))
            }
            Node::Get(p) => self.get(p, f)?,
            Node::Set(p, store, v) => {
                let v = self.eval(v, f)?;
                self.set(p, *store, v, f)?
            }
            Node::Update {
                place,
                store,
                op,
                rhs,
                post,
            } => {
                let old = self.get(place, f)?.int();
                let r = self.eval_int(rhs, f)?;
                let new = crate::compile::eval_bin(*op, old, r)
                    .ok_or_else(|| fault(FaultKind::DivZero, 0, 0))?;
                let stored = self.set(place, *store, Val::I(new), f)?;
                if *post {
                    Val::I(old)
                } else {
                    stored
                }
            }
            Node::Not(x) => Val::I(u64::from(self.eval(x, f)?.is_zero())),
            Node::Cond(c, a, b) => {
                if self.eval_int(c, f)? != 0 {
                    self.eval(a, f)?
                } else {
                    self.eval(b, f)?
                }
            }
            Node::LoadStr { addr, max, pc } => {
                let a = self.eval_int(addr, f)?;
                let s = self.read_str(a, *max as usize, f, *pc)?;
                Val::S(Rc::from(s))
            }
            Node::ReadBytes { addr, len, pc } => {
                let a = self.eval_int(addr, f)?;
                let mut buf = vec![0u8; *len as usize];
                self.read(a, &mut buf, f, *pc)?;
                Val::S(Rc::from(buf))
            }
            Node::Subr(s, args) => {
                // Subroutines take at most three arguments: no allocation per call.
                let mut vals = [Val::I(0), Val::I(0), Val::I(0)];
                let n = args.len().min(vals.len());
                for (slot, a) in vals.iter_mut().zip(args) {
                    *slot = self.eval(a, f)?;
                }
                self.subr(*s, &vals[..n], f)?
            }
            Node::Seq(first, last) => {
                for n in first {
                    self.eval(n, f)?;
                }
                self.eval(last, f)?
            }
            Node::IntToStr(x) => {
                let v = self.eval_int(x, f)? as i64;
                Val::S(Rc::from(v.to_string().into_bytes()))
            }
            n => Val::I(self.eval_int(n, f)?),
        })
    }

    /// The next pseudo-random number (xorshift: rand() only promises unpredictability).
    pub fn next_rand(&mut self) -> u64 {
        let mut x = self.rand;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rand = x;
        x
    }
}

#[allow(dead_code)]
fn _unused(_: Subr) {}
