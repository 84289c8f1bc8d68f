//! Bookkeeping of breakpoints: what the caller asked for, what is inserted in the stub (with
//! reference counts, since a return site can serve many calls), and pending return catches.

use std::collections::HashMap;

use crate::rsp::BpType;

/// What a breakpoint does when hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Report the hit; on resume the guest runs past it (single-step over the breakpoint).
    Entry,
    /// Report the hit; on resume the function returns at once (RIP = [RSP], RSP += 8) and its
    /// body never runs. For void functions whose only effect the caller replaces.
    EmulatedReturn,
}

/// Handle of a breakpoint added with [`crate::Target::add_breakpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BpId(pub u32);

/// Handle of a return catch made with [`crate::Target::catch_return`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallId(pub u64);

#[derive(Debug, Clone)]
pub(crate) struct Breakpoint {
    pub id: BpId,
    pub addr: u64,
    pub kind: Kind,
    pub ty: BpType,
    /// The first instruction, when it can be executed host-side instead of stepped.
    pub push: Option<crate::prologue::Push>,
    /// A function pointer whose calls are caught with a read watchpoint (emulated returns).
    pub pointer: Option<u64>,
    /// While a pointer is watched: where the breakpoint really sits, just past the function's
    /// first `push`, so a call the watch missed is still caught before the body does anything.
    pub net: Option<u64>,
}

/// A call whose return we wait for.
#[derive(Debug, Clone)]
pub(crate) struct PendingCall {
    pub id: CallId,
    /// RSP just after the `ret` pops the return address: identifies the frame, and so the
    /// thread (each kernel thread has its own stack), so recursion and other vCPUs pair right.
    pub sp_after_return: u64,
    pub entry: BpId,
    pub tag: u64,
    pub ty: BpType,
}

/// All breakpoint state.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub bps: Vec<Breakpoint>,
    /// Inserted addresses and how many users each has.
    pub planted: HashMap<(BpType, u64), u32>,
    /// Return address -> calls waiting to return there.
    pub returns: HashMap<u64, Vec<PendingCall>>,
    next_bp: u32,
    next_call: u64,
}

impl Table {
    pub fn new_bp_id(&mut self) -> BpId {
        self.next_bp += 1;
        BpId(self.next_bp)
    }

    pub fn new_call_id(&mut self) -> CallId {
        self.next_call += 1;
        CallId(self.next_call)
    }

    pub fn at(&self, addr: u64) -> Option<&Breakpoint> {
        self.bps.iter().find(|b| b.addr == addr)
    }

    /// The breakpoint whose safety net (see [`Breakpoint::net`]) is at `addr`.
    pub fn by_net(&self, addr: u64) -> Option<&Breakpoint> {
        self.bps.iter().find(|b| b.net == Some(addr))
    }

    pub fn by_id(&self, id: BpId) -> Option<&Breakpoint> {
        self.bps.iter().find(|b| b.id == id)
    }

    pub fn is_planted(&self, addr: u64) -> bool {
        self.planted.keys().any(|&(_, a)| a == addr)
    }

    /// Types inserted at `addr` (to remove them for a step under KVM).
    pub fn planted_types(&self, addr: u64) -> Vec<BpType> {
        self.planted
            .keys()
            .filter(|&&(_, a)| a == addr)
            .map(|&(t, _)| t)
            .collect()
    }

    /// Adds a user; true if the stub needs a `Z` now.
    pub fn retain(&mut self, ty: BpType, addr: u64) -> bool {
        let n = self.planted.entry((ty, addr)).or_insert(0);
        *n += 1;
        *n == 1
    }

    /// Drops a user; true if the stub needs a `z` now.
    pub fn release(&mut self, ty: BpType, addr: u64) -> bool {
        match self.planted.get_mut(&(ty, addr)) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                self.planted.remove(&(ty, addr));
                true
            }
            None => false,
        }
    }

    /// Takes the pending call returning to `rip` with stack pointer `rsp`, if any.
    pub fn take_return(&mut self, rip: u64, rsp: u64) -> Option<PendingCall> {
        let list = self.returns.get_mut(&rip)?;
        let i = list.iter().position(|c| c.sp_after_return == rsp)?;
        let call = list.swap_remove(i);
        if list.is_empty() {
            self.returns.remove(&rip);
        }
        Some(call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refcounts_insert_and_remove_once() {
        let mut t = Table::default();
        assert!(t.retain(BpType::Software, 0x10));
        assert!(!t.retain(BpType::Software, 0x10));
        assert!(!t.release(BpType::Software, 0x10));
        assert!(t.is_planted(0x10));
        assert!(t.release(BpType::Software, 0x10));
        assert!(!t.is_planted(0x10));
        assert!(!t.release(BpType::Software, 0x10));
    }

    #[test]
    fn returns_pair_by_stack_pointer() {
        let mut t = Table::default();
        for (sp, tag) in [(0x1000u64, 1u64), (0x0f00, 2), (0x2000, 3)] {
            let id = t.new_call_id();
            t.returns.entry(0x42).or_default().push(PendingCall {
                id,
                sp_after_return: sp,
                entry: BpId(1),
                tag,
                ty: BpType::Software,
            });
        }
        // The innermost recursion level (lowest sp) returns first.
        assert_eq!(t.take_return(0x42, 0x0f00).unwrap().tag, 2);
        assert!(t.take_return(0x42, 0x0f00).is_none());
        assert!(t.take_return(0x43, 0x1000).is_none());
        assert_eq!(t.take_return(0x42, 0x2000).unwrap().tag, 3);
        assert_eq!(t.take_return(0x42, 0x1000).unwrap().tag, 1);
        assert!(t.returns.is_empty());
    }
}
