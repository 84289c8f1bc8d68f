//! Guest memory for the target: shared RAM with a page walk when it is this guest's, `m`
//! otherwise; writes through the stub, undo-logged.

use super::*;

impl Target {
    /// Checks that the RAM file holds this guest: walking the page tables in the file from
    /// CR3 must map RIP and RSP to the bytes `m` returns there.
    pub(super) fn verify_ram(&mut self) -> RamStatus {
        let (Some(regs), Some(ram)) = (self.regs.clone(), self.ram.take()) else {
            return RamStatus::Disabled("no registers to verify the RAM file".into());
        };
        let status = self.compare_ram(&regs, &ram);
        self.ram = Some(ram);
        status
    }

    fn compare_ram(&mut self, regs: &Registers, ram: &SharedRam) -> RamStatus {
        let path = ram.path().display().to_string();
        let mismatch = |addr: u64| {
            RamStatus::Disabled(format!(
                "RAM file {path} does not hold this guest's memory (its page tables or bytes at \
                 {addr:#x} disagree with the gdbstub); reading guest memory through the gdbstub"
            ))
        };
        let Some(paging) = regs.paging() else {
            return RamStatus::Disabled("the stub reports no control registers".into());
        };
        let mut checked = 0;
        for addr in [regs.rip(), regs.rsp()] {
            let mut via_stub = [0u8; 64];
            if self.rsp.read_memory(addr, &mut via_stub).is_err() {
                continue;
            }
            let (phys, n) =
                match crate::paging::walk(&paging, addr, |pa| ram.read_u64(pa)) {
                    Ok(Walk::Mapped { phys, remaining }) => (phys, (remaining as usize).min(64)),
                    Ok(Walk::Unsupported) => return RamStatus::Disabled(
                        "the guest's paging mode is not walked here; reading through the gdbstub"
                            .into(),
                    ),
                    Err(_) => return mismatch(addr),
                };
            let mut via_ram = [0u8; 64];
            if ram.read(phys, &mut via_ram[..n]).is_err() || via_ram[..n] != via_stub[..n] {
                return mismatch(addr);
            }
            checked += 1;
        }
        if checked == 0 {
            return RamStatus::Disabled(
                "could not verify the RAM file against the gdbstub; not using it".into(),
            );
        }
        RamStatus::Active
    }

    /// Reads guest virtual memory as the stopped vCPU sees it: from the RAM file when
    /// available, else with `m` (chunked).
    pub fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.check().map_err(|e| failed(addr, e))?;
        if self.stopped.is_none() {
            return Err(failed(
                addr,
                Error::State("running; guest memory is read only at stops"),
            ));
        }
        if self.ram.is_some() {
            return self.read_ram(addr, buf);
        }
        self.read_stub(addr, buf)
    }

    /// Reads a little-endian u64 (e.g. a stack slot: `read_u64(rsp + 8 * n)`).
    pub fn read_u64(&mut self, addr: u64) -> Result<u64, MemError> {
        let mut b = [0u8; 8];
        self.read_memory(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub(super) fn read_stub(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.stats.stub_reads += 1;
        if let Some(v) = self.stopped {
            self.rsp.select_thread(v).map_err(|e| failed(addr, e))?;
        }
        self.rsp.read_memory(addr, buf).map_err(|e| match e {
            Error::Memory(m) => m,
            e => failed(addr, e),
        })
    }

    pub(super) fn read_ram(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        // Taken out for the duration so the stub fallback can borrow self mutably.
        let Some(ram) = self.ram.take() else {
            return self.read_stub(addr, buf);
        };
        let r = self.read_ram_with(&ram, addr, buf);
        self.ram = Some(ram);
        r
    }

    fn read_ram_with(
        &mut self,
        ram: &SharedRam,
        addr: u64,
        buf: &mut [u8],
    ) -> Result<(), MemError> {
        let Some(paging) = self.regs.as_ref().and_then(|r| r.paging()) else {
            return self.read_stub(addr, buf);
        };
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr.wrapping_add(done as u64);
            let walk = self.tlb.translate(&paging, a, |pa| ram.read_u64(pa));
            let (phys, n) = match walk {
                Ok(Walk::Mapped { phys, remaining }) => {
                    (phys, (buf.len() - done).min(remaining as usize))
                }
                Err(e @ MemError::Unmapped { .. }) => return Err(e),
                // Unsupported paging mode, or tables outside the file: let QEMU translate.
                Ok(Walk::Unsupported) | Err(MemError::Failed { .. }) => {
                    return self.read_stub(a, &mut buf[done..]);
                }
            };
            if ram.contains(phys, n) {
                ram.read(phys, &mut buf[done..done + n])?;
                self.stats.ram_reads += 1;
            } else {
                // MMIO, ROM or RAM above the file: only QEMU knows.
                let slice = &mut buf[done..done + n];
                self.read_stub(a, slice)?;
            }
            done += n;
        }
        Ok(())
    }

    /// Writes guest memory through the stub (so QEMU invalidates translated code), recording
    /// the original bytes in the undo log first.
    pub fn write_memory(&mut self, addr: u64, data: &[u8]) -> Result<()> {
        self.check()?;
        let vcpu = self.stopped_vcpu_or_err()?;
        let mut original = vec![0u8; data.len()];
        self.rsp.select_thread(vcpu)?;
        self.rsp.read_memory(addr, &mut original)?;
        self.undo.push(Change::Write {
            addr,
            original,
            written: data.to_vec(),
        })?;
        self.rsp.write_memory(addr, data)?;
        self.tlb.clear();
        Ok(())
    }

    /// True if the page walk over shared RAM maps `addr` (so a pipelined `M` cannot fail).
    pub(super) fn slot_is_mapped(&mut self, addr: u64) -> bool {
        let (Some(ram), Some(paging)) = (
            self.ram.as_ref(),
            self.regs.as_ref().and_then(|r| r.paging()),
        ) else {
            return false;
        };
        matches!(
            self.tlb.translate(&paging, addr, |pa| ram.read_u64(pa)),
            Ok(Walk::Mapped { phys, .. }) if ram.contains(phys, 8)
        )
    }
}

impl crate::GuestMemory for Target {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.read_memory(addr, buf)
    }
}

fn failed(addr: u64, e: Error) -> MemError {
    MemError::Failed {
        addr,
        reason: e.to_string(),
    }
}
