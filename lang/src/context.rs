//! The per-event boundary with the providers: probe arguments, guest memory, built-in variables,
//! and where output goes.

use crate::probes::Builtin;

/// A guest memory read that failed: the address dtrace reports as "invalid address".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid address (0x{addr:x})")]
pub struct Fault {
    /// The first address that could not be read.
    pub addr: u64,
}

/// What lang needs from the provider for one probe firing.
pub trait FireContext {
    /// Raw probe argument `i` (arg0..arg9); 0 past the probe's arguments.
    fn arg(&self, i: usize) -> u64;
    /// Reads guest kernel memory; the only way lang touches the guest. Called once per member
    /// read (1 to 16 bytes; strings in chunks of at most 64), so a per-event cache pays off.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault>;
    /// A numeric built-in (`timestamp`, `pid`, `cpu`, `curthread`, ...).
    fn builtin(&mut self, var: Builtin) -> u64;
    /// `execname`.
    fn execname(&mut self) -> Vec<u8>;
    /// The key that tells guest threads apart for `self->` (e.g. curthread).
    fn thread_key(&mut self) -> u64;
    /// Kernel stack return addresses, innermost first (for `stack()`).
    fn stack(&mut self) -> Vec<u64> {
        Vec::new()
    }
    /// Names a kernel address as dtrace does (``module`symbol+0xoff``), for `%a`, `func()`,
    /// `sym()` and `stack()`; None prints it in hex.
    fn symbolize(&self, addr: u64) -> Option<String> {
        let _ = addr;
        None
    }
}

/// Where a program's output goes: traced data to stdout, messages to stderr.
pub trait OutputSink {
    /// Bytes for standard output, exactly as dtrace would print them.
    fn stdout(&mut self, bytes: &[u8]);
    /// One stderr message, without its newline.
    fn stderr(&mut self, line: &str);
    /// Whether this sink wants structured records ([`OutputSink::record`]); lang builds them
    /// only then.
    fn wants_records(&self) -> bool {
        false
    }
    /// One structured record, after the bytes it printed went to [`OutputSink::stdout`].
    fn record(&mut self, record: &crate::records::Record<'_>) {
        let _ = record;
    }
}

/// An [`OutputSink`] that keeps everything in memory (tests, benchmarks).
#[derive(Debug, Default, Clone)]
pub struct BufferSink {
    /// Everything written to stdout.
    pub out: Vec<u8>,
    /// Every stderr line.
    pub err: Vec<String>,
}

impl OutputSink for BufferSink {
    fn stdout(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
    fn stderr(&mut self, line: &str) {
        self.err.push(line.to_string());
    }
}

/// A [`FireContext`] with no guest: host clocks, no memory, for BEGIN/END/ERROR/profile runs.
#[derive(Debug, Clone, Default)]
pub struct HostContext {
    /// The probe's raw arguments.
    pub args: [u64; 10],
    /// The CPU to report.
    pub cpu: u32,
}

impl FireContext for HostContext {
    fn arg(&self, i: usize) -> u64 {
        self.args.get(i).copied().unwrap_or(0)
    }
    fn read(&mut self, addr: u64, _buf: &mut [u8]) -> Result<(), Fault> {
        Err(Fault { addr })
    }
    fn builtin(&mut self, var: Builtin) -> u64 {
        match var {
            Builtin::Timestamp | Builtin::Vtimestamp => monotonic_ns(),
            Builtin::Walltimestamp => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            Builtin::Pid | Builtin::Tid => u64::from(std::process::id()),
            Builtin::Cpu => u64::from(self.cpu),
            _ => 0,
        }
    }
    fn execname(&mut self) -> Vec<u8> {
        b"guestrace".to_vec()
    }
    fn thread_key(&mut self) -> u64 {
        0
    }
}

/// Nanoseconds since the first call, from the host's monotonic clock.
fn monotonic_ns() -> u64 {
    use std::sync::OnceLock;
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}
