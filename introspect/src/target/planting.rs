//! Adding and removing breakpoints, pointer watches and return catches (reference-counted in
//! the stub, recorded in the undo log).

use super::*;

impl Target {
    fn plant(&mut self, ty: BpType, addr: u64) -> Result<()> {
        if self.table.retain(ty, addr) {
            if let Err(e) = self.rsp.insert_breakpoint(ty, addr) {
                self.table.release(ty, addr);
                return Err(e);
            }
            self.undo.push(Change::Breakpoint { ty, addr })?;
        }
        Ok(())
    }

    fn unplant_now(&mut self, ty: BpType, addr: u64) -> Result<()> {
        if self.table.release(ty, addr) {
            self.rsp.remove_breakpoint(ty, addr)?;
            self.undo.forget_breakpoint(ty, addr)?;
        }
        Ok(())
    }

    /// Adds a breakpoint (VM stopped). At most one per address.
    pub fn add_breakpoint(&mut self, addr: u64, kind: Kind) -> Result<BpId> {
        self.check()?;
        self.stopped_vcpu_or_err()?;
        if self.table.at(addr).is_some() {
            return Err(Error::Breakpoint {
                addr,
                reason: "already has a breakpoint".into(),
            });
        }
        let ty = self.opts.breakpoint_type;
        // Read before planting: under KVM a software breakpoint patches the code.
        let mut code = [0u8; 2];
        // Entry: to run the push host-side. Emulated return: to move the breakpoint past the
        // push if a pointer watch takes over the entry (`watch_pointer`).
        let push = match kind {
            Kind::Entry if !self.opts.emulate_push => None,
            _ => self
                .read_stub(addr, &mut code)
                .ok()
                .and_then(|()| crate::prologue::decode(&code)),
        };
        self.plant(ty, addr)?;
        if kind == Kind::EmulatedReturn {
            self.undo.push(Change::ReturnAt { addr, pushed: 0 })?;
        }
        let id = self.table.new_bp_id();
        self.table.bps.push(Breakpoint {
            id,
            addr,
            kind,
            ty,
            push,
            pointer: None,
            net: None,
        });
        Ok(id)
    }

    /// For an emulated-return breakpoint on the function that `pointer` points to: catch calls
    /// made through the pointer (`call *pointer`) with a read watchpoint on it. QEMU flushes
    /// all translated code at every breakpoint stop but not at watchpoint stops, so these
    /// events cost little more than a bare stop. The watch stops with the call made (RIP at
    /// the entry); a breakpoint at the entry too would stop that same call a second time
    /// (QEMU's watch interrupt is still pending when the call's jump meets it), so the
    /// breakpoint moves just past the function's first `push`, where it catches, before the
    /// body does anything, every call the watch missed: calls that load the pointer first,
    /// and a vCPU whose watch hit QEMU dropped because another vCPU stopped the VM at the
    /// same moment. Such a hit is reported as the entry's, with the push undone. When the
    /// first instruction is not a push, the breakpoint stays at the entry.
    pub fn watch_pointer(&mut self, id: BpId, pointer: u64) -> Result<()> {
        self.check()?;
        self.stopped_vcpu_or_err()?;
        let Some(bp) = self.table.by_id(id).cloned() else {
            return Err(Error::Breakpoint {
                addr: pointer,
                reason: format!("no breakpoint {id:?}"),
            });
        };
        if bp.kind != Kind::EmulatedReturn || bp.pointer.is_some() {
            return Err(Error::Breakpoint {
                addr: pointer,
                reason: "only one pointer per emulated-return breakpoint".into(),
            });
        }
        self.plant(BpType::ReadWatch, pointer)?;
        let net = bp.push.map(|p| bp.addr.wrapping_add(p.len));
        if let Some(net) = net {
            // The net goes in before the entry's breakpoint comes out: no gap.
            self.plant(bp.ty, net)?;
            self.undo.push(Change::ReturnAt {
                addr: net,
                pushed: 8,
            })?;
            self.unplant_now(bp.ty, bp.addr)?;
        }
        if let Some(b) = self.table.bps.iter_mut().find(|b| b.id == id) {
            b.pointer = Some(pointer);
            b.net = net;
        }
        Ok(())
    }

    /// Makes emulated returns resume the vCPU at `addr`, a `ret` instruction anywhere in the
    /// guest, instead of writing RIP and RSP: the guest then pops the return address itself,
    /// and the resume is one `c ADDR` packet instead of two register writes and a `vCont`.
    /// The byte there must be 0xc3 (checked); it is never written.
    pub fn set_return_gadget(&mut self, addr: u64) -> Result<()> {
        self.check()?;
        let mut b = [0u8; 1];
        self.read_stub(addr, &mut b)?;
        if b[0] != 0xc3 {
            return Err(Error::Breakpoint {
                addr,
                reason: format!("not a ret instruction (byte {:#04x})", b[0]),
            });
        }
        self.return_gadget = Some(addr);
        Ok(())
    }

    /// Removes a breakpoint (VM stopped).
    pub fn remove_breakpoint(&mut self, id: BpId) -> Result<()> {
        self.check()?;
        self.stopped_vcpu_or_err()?;
        let Some(bp) = self.table.by_id(id).cloned() else {
            return Err(Error::Breakpoint {
                addr: 0,
                reason: format!("no breakpoint {id:?}"),
            });
        };
        self.table.bps.retain(|b| b.id != id);
        if let Some(p) = bp.pointer {
            self.unplant_now(BpType::ReadWatch, p)?;
        }
        if bp.kind == Kind::EmulatedReturn {
            self.undo.forget(&Change::ReturnAt {
                addr: bp.addr,
                pushed: 0,
            })?;
        }
        match bp.net {
            Some(net) => {
                self.undo.forget(&Change::ReturnAt {
                    addr: net,
                    pushed: 8,
                })?;
                self.unplant_now(bp.ty, net)
            }
            None => self.unplant_now(bp.ty, bp.addr),
        }
    }

    /// At a stop on an entry breakpoint: catch this call's return. The return is reported as
    /// [`Event::Return`] with `tag`, paired by stack pointer (so per thread and per frame).
    pub fn catch_return(&mut self, entry: BpId, tag: u64) -> Result<CallId> {
        self.check()?;
        self.stopped_vcpu_or_err()?;
        let sp = self.registers()?.rsp();
        let ret = self.read_u64(sp)?;
        let ty = self.opts.breakpoint_type;
        self.plant(ty, ret)?;
        let id = self.table.new_call_id();
        self.table
            .returns
            .entry(ret)
            .or_default()
            .push(PendingCall {
                id,
                sp_after_return: sp.wrapping_add(8),
                entry,
                tag,
                ty,
            });
        Ok(id)
    }

    /// Gives up waiting for a caught return (e.g. the thread died).
    pub fn cancel_return(&mut self, call: CallId) -> Result<()> {
        self.check()?;
        let found = self.table.returns.iter_mut().find_map(|(&addr, list)| {
            let i = list.iter().position(|c| c.id == call)?;
            Some((addr, list.swap_remove(i)))
        });
        if let Some((addr, c)) = found {
            if self.table.returns.get(&addr).is_some_and(|l| l.is_empty()) {
                self.table.returns.remove(&addr);
            }
            self.unplant_now(c.ty, addr)?;
        }
        Ok(())
    }
}
