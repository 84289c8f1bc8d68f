//! One probe firing on a stopped guest, as lang sees it: raw arguments, guest memory (through
//! a small per-event block cache, so a translator reading several members of one struct costs
//! one read), built-ins from the stopped vCPU and the guest profile, and stack().

use guests::freebsd10::{ThreadInfo, ThreadLayout};
use std::time::Instant;

use introspect::{Registers, Stop, Target};
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

impl VcpuState {
    /// The state of the vCPU whose registers these are; `caller` as known at the probe site.
    pub(crate) fn of(regs: &Registers, caller: u64) -> VcpuState {
        VcpuState {
            cpu: regs.vcpu().saturating_sub(1),
            gs_base: regs.get("gs_base").unwrap_or(0),
            rbp: regs.get("rbp").unwrap_or(0),
            caller,
            top: caller,
        }
    }

    /// A vCPU caught at an arbitrary point (an interrupt, a profile sample): its PC is the
    /// innermost frame of stack() when it is the kernel's.
    pub(crate) fn sampled(regs: &Registers) -> VcpuState {
        let pc = regs.rip();
        VcpuState {
            top: if pc >= KERNEL_MIN { pc } else { 0 },
            ..VcpuState::of(regs, 0)
        }
    }
}

/// A [`FireContext`] over the guest. Usually the guest is stopped at the probe; a tick firing
/// while it runs ([`GuestContext::running`]) stops it only when the clause first needs it
/// (guest memory, the current thread, stack()), so a tick that prints or counts never does.
pub(crate) struct GuestContext<'a> {
    pub target: &'a mut Target,
    pub image: &'a KernelImage,
    pub thread_layout: Option<&'a ThreadLayout>,
    pub clock: &'a GuestClock,
    pub args: [u64; 10],
    pub vcpu: VcpuState,
    thread: Option<ThreadInfo>,
    blocks: Vec<(u64, Vec<u8>)>,
    /// The guest was running when the firing began and has not been stopped yet.
    running: bool,
    /// The stop this firing made (with when), for the event loop to take over.
    stopped: Option<(Stop, Instant)>,
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
            running: false,
            stopped: None,
        }
    }

    /// A firing that begins with the guest running (see [`GuestContext::stop_made`]).
    pub(crate) fn running(mut self) -> Self {
        self.running = true;
        self
    }

    /// The stop this firing made to read the guest, if it did: the loop must handle it (it
    /// may even be a probe hit that came in as the VM stopped) and resume the guest.
    pub(crate) fn stop_made(self) -> Option<(Stop, Instant)> {
        self.stopped
    }

    /// Stops a running guest before the first read of it; false if that failed.
    fn guest_stopped(&mut self) -> bool {
        if !self.running {
            return true;
        }
        let Ok(stop) = self.target.interrupt() else {
            return false;
        };
        self.running = false;
        self.stopped = Some((stop, Instant::now()));
        if let Ok(regs) = self.target.registers() {
            self.vcpu = VcpuState::sampled(regs);
        }
        true
    }

    fn thread(&mut self) -> Option<&ThreadInfo> {
        if self.thread.is_none() {
            let layout = self.thread_layout?;
            if !self.guest_stopped() {
                return None;
            }
            let mut mem = TargetMemory(self.target);
            let td = layout.curthread(&mut mem, self.vcpu.gs_base).ok()?;
            self.thread = layout.info(&mut mem, td).ok();
        }
        self.thread.as_ref()
    }

    fn read_cached(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        if !self.guest_stopped() {
            return Err(Fault { addr });
        }
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
            Builtin::Caller => {
                self.guest_stopped();
                self.vcpu.caller
            }
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
        if !self.guest_stopped() {
            return frames;
        }
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
