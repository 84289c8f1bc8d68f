//! One probe firing on a stopped guest, as lang sees it: raw arguments, guest memory (through
//! a small per-event block cache, so a translator reading several members of one struct costs
//! one read), built-ins from the stopped vCPU and the guest profile, and stack().

use guests::freebsd10::{ThreadInfo, ThreadLayout};
use introspect::Target;
use lang::{Builtin, Fault, FireContext};
use symbols::KernelImage;

use crate::clock::{wall_ns, GuestClock};
use crate::kernel::TargetMemory;

/// Reads are rounded out to blocks of this many bytes (never across a page).
const BLOCK: u64 = 256;
/// stack() stops after this many frames.
const MAX_FRAMES: usize = 64;
/// Lowest kernel address on amd64: frame pointers below it end the walk.
const KERNEL_MIN: u64 = 0xffff_8000_0000_0000;

/// What a firing knows about the stopped vCPU.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct VcpuState {
    /// vCPU index from 0 (`cpu`).
    pub cpu: u32,
    /// GS base (the pcpu while in the kernel).
    pub gs_base: u64,
    /// Frame pointer at the stop.
    pub rbp: u64,
    /// Return address at the probe site when known (`caller`).
    pub caller: u64,
    /// The innermost frame of stack(): the probe site, return site or sampled PC (0: none).
    pub top: u64,
}

/// A [`FireContext`] over a stopped guest.
pub(crate) struct GuestContext<'a> {
    pub target: &'a mut Target,
    pub image: &'a KernelImage,
    pub thread_layout: Option<&'a ThreadLayout>,
    pub clock: &'a GuestClock,
    pub args: [u64; 10],
    pub vcpu: VcpuState,
    thread: Option<ThreadInfo>,
    blocks: Vec<(u64, Vec<u8>)>,
}

impl<'a> GuestContext<'a> {
    pub(crate) fn new(
        target: &'a mut Target,
        image: &'a KernelImage,
        thread_layout: Option<&'a ThreadLayout>,
        clock: &'a GuestClock,
        args: [u64; 10],
        vcpu: VcpuState,
    ) -> GuestContext<'a> {
        GuestContext {
            target,
            image,
            thread_layout,
            clock,
            args,
            vcpu,
            thread: None,
            blocks: Vec::new(),
        }
    }

    fn thread(&mut self) -> Option<&ThreadInfo> {
        if self.thread.is_none() {
            let layout = self.thread_layout?;
            let mut mem = TargetMemory(self.target);
            let td = layout.curthread(&mut mem, self.vcpu.gs_base).ok()?;
            self.thread = layout.info(&mut mem, td).ok();
        }
        self.thread.as_ref()
    }

    fn read_cached(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        let end = addr.checked_add(buf.len() as u64).ok_or(Fault { addr })?;
        for (base, bytes) in &self.blocks {
            if addr >= *base && end <= base + bytes.len() as u64 {
                let at = (addr - base) as usize;
                buf.copy_from_slice(&bytes[at..at + buf.len()]);
                return Ok(());
            }
        }
        let base = addr & !(BLOCK - 1);
        let page_end = (addr | 0xfff) + 1;
        let block_end = ((end + BLOCK - 1) & !(BLOCK - 1)).min(page_end);
        if end <= block_end {
            let mut bytes = vec![0u8; (block_end - base) as usize];
            if self.target.read_memory(base, &mut bytes).is_ok() {
                let at = (addr - base) as usize;
                buf.copy_from_slice(&bytes[at..at + buf.len()]);
                self.blocks.push((base, bytes));
                return Ok(());
            }
        }
        self.target.read_memory(addr, buf).map_err(|e| Fault {
            addr: fault_addr(&e, addr),
        })
    }
}

fn fault_addr(e: &introspect::MemError, addr: u64) -> u64 {
    match e {
        introspect::MemError::Unmapped { addr, .. } => *addr,
        _ => addr,
    }
}

impl FireContext for GuestContext<'_> {
    fn arg(&self, i: usize) -> u64 {
        self.args.get(i).copied().unwrap_or(0)
    }

    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        if addr < 0x1000 {
            return Err(Fault { addr });
        }
        self.read_cached(addr, buf)
    }

    fn builtin(&mut self, var: Builtin) -> u64 {
        match var {
            Builtin::Timestamp | Builtin::Vtimestamp => self.clock.now_ns(),
            Builtin::Walltimestamp => wall_ns(),
            Builtin::Cpu => u64::from(self.vcpu.cpu),
            Builtin::Pid => self.thread().map_or(0, |t| t.pid as i64 as u64),
            Builtin::Tid => self.thread().map_or(0, |t| t.tid as i64 as u64),
            Builtin::Curthread => self.thread().map_or(0, |t| t.td),
            Builtin::Caller => self.vcpu.caller,
            Builtin::Stackdepth => self.stack().len() as u64,
            _ => 0,
        }
    }

    fn execname(&mut self) -> Vec<u8> {
        self.thread()
            .map(|t| t.execname.clone())
            .unwrap_or_default()
    }

    fn thread_key(&mut self) -> u64 {
        match self.thread() {
            Some(t) => t.td,
            None => u64::from(self.vcpu.cpu),
        }
    }

    fn stack(&mut self) -> Vec<u64> {
        // Kernels built with frame pointers (FreeBSD's -fno-omit-frame-pointer): [rbp] is the
        // caller's rbp, [rbp+8] the return address.
        let mut frames = Vec::new();
        if self.vcpu.top >= KERNEL_MIN {
            frames.push(self.vcpu.top);
        }
        let mut fp = self.vcpu.rbp;
        while frames.len() < MAX_FRAMES && fp >= KERNEL_MIN && fp.is_multiple_of(8) {
            let mut b = [0u8; 16];
            if self.read_cached(fp, &mut b).is_err() {
                break;
            }
            let next = u64::from_le_bytes(b[..8].try_into().unwrap_or([0; 8]));
            let ret = u64::from_le_bytes(b[8..].try_into().unwrap_or([0; 8]));
            if ret < KERNEL_MIN {
                break;
            }
            frames.push(ret);
            if next <= fp {
                break;
            }
            fp = next;
        }
        frames
    }

    fn symbolize(&self, addr: u64) -> Option<String> {
        let (name, off) = self.image.symbolize(addr).ok()??;
        Some(if off == 0 {
            format!("kernel`{name}")
        } else {
            format!("kernel`{name}+0x{off:x}")
        })
    }
}
