//! Boots the model guest under QEMU (TCG) with its gdbstub on a unix socket, its RAM in a shared
//! file and its serial console in a file, and stops it again.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::ground_truth::{self, GroundTruth};
use super::{kernel_elf, DwarfVersion, ModelError};
use crate::qemu::{Launch, Qemu};

/// The line the guest prints once every CPU runs its workload.
pub const UP_MARKER: &str = "guestrace-model: up";

/// Guest RAM; the shared backend file has exactly this size.
const RAM_MIB: u64 = 128;

/// How to boot the model guest. `BootOptions::default()` gives 1 vCPU, DWARF 2, a serial log in
/// the private run directory, QEMU from PATH and the kernel's default pace.
#[derive(Debug, Clone)]
pub struct BootOptions {
    /// Number of vCPUs (1 or 2; each runs its own share of the workload).
    pub smp: u32,
    /// Which kernel build to boot.
    pub dwarf: DwarfVersion,
    /// Where the serial console goes; default: `serial.log` in the run directory (removed on
    /// shutdown). A path given here is kept.
    pub serial_log: Option<PathBuf>,
    /// The QEMU binary; default: `qemu-system-x86_64` from PATH.
    pub qemu: Option<PathBuf>,
    /// Spin iterations per network event (kernel command line `pace=N`); `None` keeps the
    /// kernel's default (about one round per second under TCG). 0 runs flat out.
    pub pace: Option<u64>,
    /// Where every CPU's logical clock starts (kernel command line `clock=N`); `None` is 0.
    /// Lets a test run across the 32-bit wrap of the clock without waiting days.
    pub start_tick: Option<u32>,
    /// Benchmark mode (kernel command line `bench=1`): the same workload and probe sites, but
    /// no per-event ground-truth lines; each round ends with one `bench` line of counts
    /// ([`super::bench::parse_bench_rounds`]). Off by default.
    pub bench: bool,
    /// How long to wait for the guest's up line.
    pub boot_timeout: Duration,
}

impl Default for BootOptions {
    fn default() -> Self {
        BootOptions {
            smp: 1,
            dwarf: DwarfVersion::V2,
            serial_log: None,
            qemu: None,
            pace: None,
            start_tick: None,
            bench: false,
            boot_timeout: Duration::from_secs(60),
        }
    }
}

/// A running model guest. QEMU is stopped and its socket, RAM file and run directory removed
/// when this is dropped (or [`ModelGuest::shutdown`] is called). QEMU gets SIGKILL if the
/// thread that booted it dies (PR_SET_PDEATHSIG), so a killed caller leaves no orphan.
#[derive(Debug)]
pub struct ModelGuest {
    qemu: Qemu,
    serial_log: PathBuf,
    kernel_elf: PathBuf,
    dwarf: DwarfVersion,
    smp: u32,
}

impl ModelGuest {
    /// Starts QEMU with the model kernel and waits until the guest reports it is up.
    pub fn boot(opts: &BootOptions) -> Result<ModelGuest, ModelError> {
        if !(1..=2).contains(&opts.smp) {
            return Err(ModelError::BadOption(format!(
                "smp must be 1 or 2, not {}",
                opts.smp
            )));
        }
        let kernel = kernel_elf(opts.dwarf)?;
        let mut launch = Launch::prepare(opts.qemu.as_deref(), RAM_MIB)?;
        let serial_log = opts
            .serial_log
            .clone()
            .unwrap_or_else(|| launch.run_dir().join("serial.log"));
        // A stale log would show an old up line.
        let _ = fs::remove_file(&serial_log);
        launch.direct_kernel(&kernel, opts.smp, &serial_log);
        let mut append = Vec::new();
        if let Some(pace) = opts.pace {
            append.push(format!("pace={pace}"));
        }
        if let Some(tick) = opts.start_tick {
            append.push(format!("clock={tick}"));
        }
        if opts.bench {
            append.push("bench=1".to_string());
        }
        if !append.is_empty() {
            launch.arg("-append").arg(append.join(" "));
        }
        let mut guest = ModelGuest {
            qemu: launch.spawn()?,
            serial_log,
            kernel_elf: kernel,
            dwarf: opts.dwarf,
            smp: opts.smp,
        };
        guest.wait_up(opts.boot_timeout)?;
        Ok(guest)
    }

    fn wait_up(&mut self, timeout: Duration) -> Result<(), ModelError> {
        let start = Instant::now();
        loop {
            let log = fs::read(&self.serial_log).unwrap_or_default();
            let text = String::from_utf8_lossy(&log);
            if let Some(line) = text.lines().find(|l| l.starts_with("panic:")) {
                return Err(ModelError::GuestPanic(line.to_string()));
            }
            if text.contains(UP_MARKER) {
                return Ok(());
            }
            if let Some(status) = self.qemu.exited() {
                return Err(ModelError::QemuExited {
                    status: status.to_string(),
                    stderr: self.qemu.stderr(),
                });
            }
            if start.elapsed() > timeout {
                return Err(ModelError::BootTimeout {
                    secs: timeout.as_secs(),
                    log: self.serial_log.clone(),
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The unix socket of QEMU's gdbstub.
    pub fn gdb_socket(&self) -> &Path {
        self.qemu.gdb_socket()
    }

    /// The booted kernel's ELF file (symbols and DWARF).
    pub fn kernel_elf(&self) -> &Path {
        &self.kernel_elf
    }

    /// The shared file backing guest RAM: guest-physical address P is at file offset P.
    pub fn ram_file(&self) -> &Path {
        self.qemu.ram_file()
    }

    /// The serial console log (the ground truth).
    pub fn serial_log(&self) -> &Path {
        &self.serial_log
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.qemu.pid()
    }

    /// Parses the serial log as it is now.
    pub fn ground_truth(&self) -> Result<GroundTruth, ModelError> {
        ground_truth::parse_file(&self.serial_log)
    }

    /// Waits until every CPU has completed at least `rounds` rounds and returns the ground
    /// truth; fails if the guest panics, QEMU exits, or `timeout` passes first.
    pub fn wait_rounds(
        &mut self,
        rounds: usize,
        timeout: Duration,
    ) -> Result<GroundTruth, ModelError> {
        let start = Instant::now();
        loop {
            let gt = self.ground_truth()?;
            if let Some(p) = &gt.panic {
                return Err(ModelError::GuestPanic(p.clone()));
            }
            if (0..self.smp).all(|cpu| gt.rounds_of(cpu).count() >= rounds) {
                return Ok(gt);
            }
            if let Some(status) = self.qemu.exited() {
                return Err(ModelError::QemuExited {
                    status: status.to_string(),
                    stderr: self.qemu.stderr(),
                });
            }
            if start.elapsed() > timeout {
                return Err(ModelError::RoundsTimeout {
                    rounds,
                    secs: timeout.as_secs(),
                    log: self.serial_log.clone(),
                });
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The DWARF version of the booted kernel.
    pub fn dwarf(&self) -> DwarfVersion {
        self.dwarf
    }

    /// The number of vCPUs.
    pub fn smp(&self) -> u32 {
        self.smp
    }

    /// The private directory holding this boot's socket and (by default) serial log.
    pub fn run_dir(&self) -> &Path {
        self.qemu.run_dir()
    }

    /// Stops QEMU (SIGTERM, then SIGKILL after 2 s) and removes the socket, RAM file and run
    /// directory. A serial log given in [`BootOptions::serial_log`] is kept.
    pub fn shutdown(mut self) -> Result<(), ModelError> {
        Ok(self.qemu.stop()?)
    }
}
