//! A stand-in provider side for tests and benchmarks (lang's own and the providers'): a probe
//! catalog from a list, guest memory as mapped regions, and a per-event context.

use std::collections::BTreeMap;

use crate::context::{Fault, FireContext};
use crate::probes::{ArgType, Builtin, ProbeCatalog, ProbeInfo};

/// A catalog from a list of probes; `missing` built-ins are reported unavailable.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    /// The probes.
    pub probes: Vec<ProbeInfo>,
    /// Built-in variables this pretend guest cannot supply.
    pub missing: Vec<Builtin>,
}

impl ProbeCatalog for Catalog {
    fn probes(&self) -> &[ProbeInfo] {
        &self.probes
    }
    fn unavailable(&self, var: Builtin) -> Option<String> {
        self.missing
            .contains(&var)
            .then(|| format!("{} is not available on this guest", var.name()))
    }
}

/// A probe with argument types `(native, translated)`.
pub fn probe(
    id: u32,
    provider: &str,
    module: &str,
    function: &str,
    name: &str,
    args: &[(&str, Option<&str>)],
) -> ProbeInfo {
    ProbeInfo {
        id,
        provider: provider.into(),
        module: module.into(),
        function: function.into(),
        name: name.into(),
        args: args
            .iter()
            .map(|(n, t)| ArgType {
                native: n.to_string(),
                translated: t.map(str::to_string),
            })
            .collect(),
    }
}

/// Guest memory as a set of mapped regions; anything else faults.
#[derive(Debug, Default, Clone)]
pub struct Memory {
    /// Region start address → its bytes.
    pub regions: BTreeMap<u64, Vec<u8>>,
}

impl Memory {
    /// Maps `bytes` at `addr`.
    pub fn map(&mut self, addr: u64, bytes: &[u8]) {
        self.regions.insert(addr, bytes.to_vec());
    }

    /// Reads mapped bytes; the first unmapped address is the fault.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        if let Some((base, bytes)) = self.regions.range(..=addr).next_back() {
            let off = (addr - base) as usize;
            if let Some(src) = bytes.get(off..off + buf.len()) {
                buf.copy_from_slice(src);
                return Ok(());
            }
        }
        // Slow path: byte by byte across regions, to find the exact faulting address.
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr.wrapping_add(i as u64);
            let hit = self
                .regions
                .range(..=a)
                .next_back()
                .and_then(|(base, bytes)| bytes.get((a - base) as usize));
            match hit {
                Some(v) => *b = *v,
                None => return Err(Fault { addr: a }),
            }
        }
        Ok(())
    }
}

/// One event's context: raw arguments, memory, and the built-ins a test wants.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// arg0..
    pub args: Vec<u64>,
    /// Guest memory.
    pub mem: Memory,
    /// The thread key (and `tid`).
    pub thread: u64,
    /// `timestamp`.
    pub timestamp: u64,
    /// `cpu`.
    pub cpu: u64,
    /// `pid`.
    pub pid: u64,
    /// `execname`.
    pub execname: String,
    /// Kernel stack for `stack()`.
    pub stack: Vec<u64>,
    /// Names for `%a`, `func()` and `stack()`.
    pub symbols: Vec<(u64, String)>,
}

impl FireContext for Ctx {
    fn arg(&self, i: usize) -> u64 {
        self.args.get(i).copied().unwrap_or(0)
    }
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.mem.read(addr, buf)
    }
    fn builtin(&mut self, var: Builtin) -> u64 {
        match var {
            Builtin::Timestamp | Builtin::Vtimestamp => self.timestamp,
            Builtin::Cpu => self.cpu,
            Builtin::Pid => self.pid,
            Builtin::Tid | Builtin::Curthread => self.thread,
            Builtin::Walltimestamp => 1_700_000_000_000_000_000,
            _ => 0,
        }
    }
    fn execname(&mut self) -> Vec<u8> {
        self.execname.clone().into_bytes()
    }
    fn thread_key(&mut self) -> u64 {
        self.thread
    }
    fn stack(&mut self) -> Vec<u64> {
        self.stack.clone()
    }
    fn symbolize(&self, addr: u64) -> Option<String> {
        self.symbols
            .iter()
            .find(|(a, _)| *a == addr)
            .map(|(_, s)| s.clone())
    }
}
