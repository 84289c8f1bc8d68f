//! A snapshot of one vCPU's registers, decoded through the layout from target.xml.

use std::sync::Arc;

use crate::paging::PagingRegs;
use crate::tdesc::{RegId, RegInfo, RegLayout};

/// The registers of one vCPU at a stop.
#[derive(Debug, Clone)]
pub struct Registers {
    layout: Arc<RegLayout>,
    raw: Vec<u8>,
    vcpu: u32,
    /// When only some registers were read (see `cpu_mirror`): their register numbers, sorted.
    /// The others read as None.
    only: Option<Arc<Vec<usize>>>,
}

impl Registers {
    pub(crate) fn new(layout: Arc<RegLayout>, raw: Vec<u8>, vcpu: u32) -> Registers {
        Registers {
            layout,
            raw,
            vcpu,
            only: None,
        }
    }

    /// Registers of which only those numbered in `only` (sorted) are known.
    pub(crate) fn partial(
        layout: Arc<RegLayout>,
        raw: Vec<u8>,
        vcpu: u32,
        only: Arc<Vec<usize>>,
    ) -> Registers {
        Registers {
            layout,
            raw,
            vcpu,
            only: Some(only),
        }
    }

    fn has(&self, r: &RegInfo) -> bool {
        self.only
            .as_ref()
            .is_none_or(|v| v.binary_search(&r.regnum).is_ok())
    }

    /// The vCPU (gdb thread id) these registers belong to.
    pub fn vcpu(&self) -> u32 {
        self.vcpu
    }

    /// A register by name (`rdi`, `gs_base`, `cr3`, ...); the low 64 bits of wider ones.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.layout.find(name).and_then(|r| self.value(r))
    }

    /// The raw little-endian bytes of a register.
    pub fn raw(&self, name: &str) -> Option<&[u8]> {
        let r = self.layout.find(name).filter(|r| self.has(r))?;
        self.raw.get(r.offset..r.offset + r.size)
    }

    pub(crate) fn known(&self, id: RegId) -> Option<u64> {
        self.layout.known(id).and_then(|r| self.value(r))
    }

    fn value(&self, r: &RegInfo) -> Option<u64> {
        if !self.has(r) {
            return None;
        }
        let bytes = self.raw.get(r.offset..r.offset + r.size.min(8))?;
        let mut b = [0u8; 8];
        b[..bytes.len()].copy_from_slice(bytes);
        Some(u64::from_le_bytes(b))
    }

    /// Instruction pointer.
    pub fn rip(&self) -> u64 {
        self.known(RegId::Rip).unwrap_or(0)
    }

    /// Stack pointer.
    pub fn rsp(&self) -> u64 {
        self.known(RegId::Rsp).unwrap_or(0)
    }

    /// The n-th integer argument of the SysV AMD64 convention (0..6: rdi rsi rdx rcx r8 r9).
    pub fn arg(&self, n: usize) -> Option<u64> {
        const ARGS: [&str; 6] = ["rdi", "rsi", "rdx", "rcx", "r8", "r9"];
        ARGS.get(n).and_then(|name| self.get(name))
    }

    /// Updates the cached value after a queued register write.
    pub(crate) fn set(&mut self, r: &RegInfo, value: u64) {
        let bytes = value.to_le_bytes();
        let n = r.size.min(8);
        if let Some(dst) = self.raw.get_mut(r.offset..r.offset + n) {
            dst.copy_from_slice(&bytes[..n]);
        }
    }

    /// Updates a cached well-known register (nothing is written to the vCPU).
    pub(crate) fn set_known(&mut self, id: RegId, value: u64) {
        if let Some(r) = self.layout.clone().known(id) {
            self.set(r, value);
        }
    }

    /// Control registers for the page walk, if the stub reports them.
    pub(crate) fn paging(&self) -> Option<PagingRegs> {
        Some(PagingRegs {
            cr0: self.known(RegId::Cr0)?,
            cr3: self.known(RegId::Cr3)?,
            cr4: self.known(RegId::Cr4)?,
            efer: self.known(RegId::Efer)?,
        })
    }
}
