//! The model guest from `guests/`, booted for introspect's tests and benchmark, with its
//! symbols read by nm.

use std::collections::HashMap;
use std::process::Command;

use guests::model::{BootOptions, DwarfVersion, ModelGuest};

/// A booted model guest and its symbol table.
pub struct Model {
    pub guest: ModelGuest,
    pub symbols: HashMap<String, u64>,
}

/// Offset of `id` in `struct sdt_probe` (int version; pointer prov; two TAILQ links of two
/// pointers; three name pointers; then id), checked against `version == sizeof` at run time.
pub const SDT_PROBE_ID: u64 = 72;
/// `sizeof(struct sdt_probe)`, stored by the kernel in each probe's `version`.
pub const SDT_PROBE_SIZE: u32 = 96;

impl Model {
    /// Boots with `smp` vCPUs and the given pace (`Some(0)`: flat out).
    pub fn boot(smp: u32, pace: Option<u64>) -> Model {
        Model::boot_with(BootOptions {
            smp,
            pace,
            dwarf: DwarfVersion::V2,
            ..BootOptions::default()
        })
    }

    /// Boots with the given options (e.g. benchmark mode).
    pub fn boot_with(opts: BootOptions) -> Model {
        let guest = ModelGuest::boot(&opts).expect("model guest boots");
        let nm = Command::new("nm")
            .arg(guest.kernel_elf())
            .output()
            .expect("nm");
        let mut symbols = HashMap::new();
        for line in String::from_utf8_lossy(&nm.stdout).lines() {
            if let [addr, _, name] = line.split_whitespace().collect::<Vec<_>>().as_slice() {
                if let Ok(a) = u64::from_str_radix(addr, 16) {
                    symbols.insert(name.to_string(), a);
                }
            }
        }
        Model { guest, symbols }
    }

    /// A kernel symbol's address.
    pub fn sym(&self, name: &str) -> u64 {
        *self
            .symbols
            .get(name)
            .unwrap_or_else(|| panic!("no symbol {name}"))
    }

    /// The gdbstub address.
    pub fn addr(&self) -> String {
        self.guest.gdb_socket().display().to_string()
    }
}

impl Model {
    /// Lets the stopped guest run for 1.5 s through `t`; returns the event that ended the run
    /// (Interrupted unless something of ours or left behind stopped it) and whether the guest
    /// made progress: its serial log grew (a ground-truth line at every probe site) or `ticks`
    /// moved.
    pub fn run_a_while(&self, t: &mut introspect::Target) -> (introspect::Event, bool) {
        let ticks = self.sym("ticks");
        let printed = || std::fs::metadata(self.guest.serial_log()).map_or(0, |m| m.len());
        let (t0, p0) = (t.read_u64(ticks).expect("ticks") & 0xffff_ffff, printed());
        let stop = t
            .resume_and_wait(Some(std::time::Duration::from_millis(1500)))
            .expect("run");
        let t1 = t.read_u64(ticks).expect("ticks") & 0xffff_ffff;
        (stop.event, t1 != t0 || printed() > p0)
    }
}
