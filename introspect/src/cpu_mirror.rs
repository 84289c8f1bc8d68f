//! Registers without a `g` exchange: QEMU keeps each x86 vCPU's state in its own memory
//! (`CPUX86State`, which begins with the sixteen general registers in hardware order and then
//! `eip`; the segment caches, each a selector, base, limit and flags, follow a little later in
//! ES, CS, SS, DS, FS, GS order; `cr[0..5]` sits further on). At attach the block is found by
//! matching a `g` snapshot in QEMU's anonymous memory, then read with process_vm_readv(2) at
//! every stop: a few µs where a `g` exchange costs 40–75 µs (BENCHMARKS.md).
//!
//! Nothing is assumed that the snapshot does not confirm: every offset is found by value, the
//! first stops are read both ways and compared, and any doubt leaves the `g` path in place.

use std::collections::HashMap;
use std::sync::Arc;

use crate::regs::Registers;
use crate::tdesc::RegLayout;

/// The general registers in `CPUX86State.regs[]` order, then `eip`.
const BLOCK_ORDER: [&str; 17] = [
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
    "r14", "r15", "rip",
];
/// Segment selectors in `segs[]` order, each cache 24 bytes (u32, u64 base, u32, u32).
const SEGMENTS: [&str; 6] = ["es", "cs", "ss", "ds", "fs", "gs"];
const SEGMENT_STRIDE: u64 = 24;
/// How far past the block's start the other registers are looked for, and read.
const WINDOW: u64 = 0x1000;
/// QEMU mappings larger than this are not searched (guest RAM, the translation buffer).
const MAX_MAPPING: u64 = 1 << 30;
/// Stops read both ways before the mirror is trusted alone.
const CHECKS: u32 = 3;

/// Where each vCPU's registers live in QEMU, and which registers can be read there.
#[derive(Debug)]
pub(crate) struct CpuMirror {
    pid: i32,
    /// vCPU (gdb thread id) → address of its register block in QEMU.
    blocks: HashMap<u32, u64>,
    /// (register number, offset in the `g` layout, size, offset from the block's start).
    map: Vec<(usize, usize, usize, u64)>,
    only: Arc<Vec<usize>>,
    /// Bytes of the block that hold mapped registers: what each stop reads.
    span: usize,
    checks_left: u32,
}

impl CpuMirror {
    /// Finds the register blocks of the vCPUs in `snapshots` (registers read by `g` at this
    /// stop) in process `pid`. None unless every one is found exactly once and the registers
    /// the crate relies on (all general ones, rip, gs_base, the paging registers) are mapped.
    pub(crate) fn find(pid: i32, layout: &RegLayout, snapshots: &[Registers]) -> Option<Self> {
        let first = snapshots.first()?;
        let maps = searchable_mappings(pid)?;
        let mut blocks = HashMap::new();
        for regs in snapshots {
            let key: Vec<u64> = BLOCK_ORDER
                .iter()
                .map(|n| regs.get(n))
                .collect::<Option<_>>()?;
            let at = find_unique(pid, &maps, &key)?;
            blocks.insert(regs.vcpu(), at);
        }
        let window = read(pid, *blocks.get(&first.vcpu())?, WINDOW as usize)?;
        let mut map = Vec::new();
        let mut add = |name: &str, off: u64| {
            if let Some(r) = layout.find(name) {
                map.push((r.regnum, r.offset, r.size.min(8), off));
            }
        };
        for (i, name) in BLOCK_ORDER.iter().enumerate() {
            add(name, 8 * i as u64);
        }
        let segs = segment_caches(first, &window)?;
        for (i, name) in SEGMENTS.iter().enumerate() {
            add(name, segs + SEGMENT_STRIDE * i as u64);
        }
        add("fs_base", segs + SEGMENT_STRIDE * 4 + 8);
        add("gs_base", segs + SEGMENT_STRIDE * 5 + 8);
        let crs = control_registers(first, &window)?;
        add("cr0", crs);
        add("cr2", crs + 16);
        add("cr3", crs + 24);
        add("cr4", crs + 32);
        if let Some(efer) = unique_in(&window, first.get("efer")?, 0) {
            add("efer", efer);
        }
        for needed in ["gs_base", "cr0", "cr3", "cr4", "efer"] {
            let r = layout.find(needed)?;
            map.iter().find(|m| m.0 == r.regnum)?;
        }
        let mut only: Vec<usize> = map.iter().map(|m| m.0).collect();
        only.sort_unstable();
        let span = map.iter().map(|m| m.3 as usize + m.2).max()?;
        Some(CpuMirror {
            pid,
            blocks,
            map,
            only: Arc::new(only),
            span,
            checks_left: CHECKS,
        })
    }

    /// The registers of `vcpu` at this stop, or None (unknown vCPU, or the read failed).
    pub(crate) fn read(&self, layout: &Arc<RegLayout>, vcpu: u32) -> Option<Registers> {
        let base = *self.blocks.get(&vcpu)?;
        let block = read(self.pid, base, self.span)?;
        let mut raw = vec![0u8; layout.g_len()];
        for &(_, g_off, size, off) in &self.map {
            let src = block.get(off as usize..off as usize + size)?;
            raw.get_mut(g_off..g_off + size)?.copy_from_slice(src);
        }
        Some(Registers::partial(
            layout.clone(),
            raw,
            vcpu,
            self.only.clone(),
        ))
    }

    /// True while the first stops must still be checked against `g`.
    pub(crate) fn checking(&self) -> bool {
        self.checks_left > 0
    }

    /// Compares a mirrored read with `g` at the same stop; false if they differ anywhere.
    pub(crate) fn check(
        &mut self,
        mirrored: &Registers,
        by_g: &Registers,
        layout: &RegLayout,
    ) -> bool {
        self.checks_left = self.checks_left.saturating_sub(1);
        layout
            .registers()
            .iter()
            .filter(|r| self.only.binary_search(&r.regnum).is_ok())
            .all(|r| mirrored.get(&r.name) == by_g.get(&r.name))
    }
}

/// Offset of `segs[]` in the window: the six selectors at their 24-byte stride, with FS and
/// GS bases after their selectors.
fn segment_caches(regs: &Registers, window: &[u8]) -> Option<u64> {
    let sel: Vec<u64> = SEGMENTS
        .iter()
        .map(|n| regs.get(n))
        .collect::<Option<_>>()?;
    let (fs, gs) = (regs.get("fs_base")?, regs.get("gs_base")?);
    let fits = |at: u64| {
        sel.iter()
            .enumerate()
            .all(|(i, &s)| u32_at(window, at + SEGMENT_STRIDE * i as u64) == Some(s as u32))
            && u64_at(window, at + SEGMENT_STRIDE * 4 + 8) == Some(fs)
            && u64_at(window, at + SEGMENT_STRIDE * 5 + 8) == Some(gs)
    };
    unique((136..WINDOW).step_by(4).filter(|&at| fits(at)))
}

/// Offset of `cr[0]` (then cr1, cr2, cr3, cr4, eight bytes each).
fn control_registers(regs: &Registers, window: &[u8]) -> Option<u64> {
    let (cr0, cr3, cr4) = (regs.get("cr0")?, regs.get("cr3")?, regs.get("cr4")?);
    let fits = |at: u64| {
        u64_at(window, at) == Some(cr0)
            && u64_at(window, at + 24) == Some(cr3)
            && u64_at(window, at + 32) == Some(cr4)
    };
    unique((136..WINDOW).step_by(8).filter(|&at| fits(at)))
}

/// The only 8-aligned offset of `value` in `window` past `from`, if it is there exactly once
/// and is not 0 (zeros are everywhere).
fn unique_in(window: &[u8], value: u64, from: u64) -> Option<u64> {
    if value == 0 {
        return None;
    }
    unique(
        (from..window.len() as u64)
            .step_by(8)
            .filter(|&at| u64_at(window, at) == Some(value)),
    )
}

fn unique(mut it: impl Iterator<Item = u64>) -> Option<u64> {
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

fn u64_at(b: &[u8], at: u64) -> Option<u64> {
    let s = b.get(at as usize..at as usize + 8)?;
    Some(u64::from_le_bytes(s.try_into().ok()?))
}

fn u32_at(b: &[u8], at: u64) -> Option<u32> {
    let s = b.get(at as usize..at as usize + 4)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

/// QEMU's private anonymous read-write mappings small enough to search: where its heap
/// objects, the vCPU states among them, live.
fn searchable_mappings(pid: i32) -> Option<Vec<(u64, u64)>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(range), Some(perms), Some(inode)) = (f.first(), f.get(1), f.get(4)) else {
            continue;
        };
        let named = f.get(5).is_some_and(|p| *p != "[heap]");
        if !perms.starts_with("rw") || perms.contains('x') || *inode != "0" || named {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(a), Ok(b)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) else {
            continue;
        };
        if b > a && b - a <= MAX_MAPPING {
            out.push((a, b));
        }
    }
    Some(out)
}

/// The one address in `maps` where the u64s of `key` lie back to back; None if there are
/// none or several.
fn find_unique(pid: i32, maps: &[(u64, u64)], key: &[u64]) -> Option<u64> {
    const CHUNK: u64 = 4 << 20;
    let key_len = 8 * key.len() as u64;
    let mut found = None;
    for &(start, end) in maps {
        let mut at = start;
        while at < end {
            // Chunks overlap by the key's length so a match across a boundary is seen.
            let len = CHUNK.min(end - at);
            let Some(buf) = read(pid, at, len as usize) else {
                break;
            };
            let first = key[0].to_le_bytes();
            for (i, word) in buf.chunks_exact(8).enumerate() {
                if word != first {
                    continue;
                }
                let off = 8 * i as u64;
                let whole = off + key_len <= buf.len() as u64
                    && key
                        .iter()
                        .enumerate()
                        .all(|(j, &v)| u64_at(&buf, off + 8 * j as u64) == Some(v));
                if whole {
                    if found.is_some_and(|f| f != at + off) {
                        return None;
                    }
                    found = Some(at + off);
                }
            }
            if at + len >= end {
                break;
            }
            at += len - key_len;
        }
    }
    found
}

/// `len` bytes of process `pid` at `addr`.
fn read(pid: i32, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: len,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: `local` describes `buf`, valid for `len` bytes of writes; the remote range is
    // only read by the kernel on our behalf (a bad range fails with EFAULT).
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    (n == len as isize).then_some(buf)
}
