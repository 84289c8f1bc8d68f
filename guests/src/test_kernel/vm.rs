//! The test kernel running under QEMU.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::{TestKernel, TestKernelError};
use crate::qemu::{Launch, Qemu};

/// Guest RAM; the shared backend file has exactly this size.
const RAM_MIB: u64 = 64;

/// Where QEMU's gdbstub listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GdbTransport {
    /// A unix socket in the run directory.
    UnixSocket,
    /// A free TCP port on 127.0.0.1.
    Tcp,
}

/// How to boot the test kernel. `TestBoot::default()` gives 2 vCPUs, a unix socket, QEMU from
/// PATH and 30 s to come up.
#[derive(Debug, Clone)]
pub struct TestBoot {
    /// Number of vCPUs (1 or 2).
    pub smp: u32,
    /// Where the gdbstub listens.
    pub gdb: GdbTransport,
    /// The QEMU binary; default: `qemu-system-x86_64` from PATH.
    pub qemu: Option<PathBuf>,
    /// How long to wait for every vCPU's `up cpuN` line.
    pub boot_timeout: Duration,
}

impl Default for TestBoot {
    fn default() -> Self {
        TestBoot {
            smp: 2,
            gdb: GdbTransport::UnixSocket,
            qemu: None,
            boot_timeout: Duration::from_secs(30),
        }
    }
}

/// The test kernel running under QEMU. QEMU is stopped and its socket, RAM file and run
/// directory (with anything a test put there) removed when this is dropped.
#[derive(Debug)]
pub struct TestVm {
    qemu: Qemu,
    serial_log: PathBuf,
    kernel_elf: PathBuf,
}

impl TestKernel {
    /// Starts QEMU (TCG, `-cpu max` for 1 GiB pages) with this kernel and waits until every
    /// vCPU has reported on the serial console.
    pub fn boot(&self, opts: &TestBoot) -> Result<TestVm, TestKernelError> {
        if !(1..=2).contains(&opts.smp) {
            return Err(TestKernelError::BadOption(format!(
                "smp must be 1 or 2, not {}",
                opts.smp
            )));
        }
        let mut launch = Launch::prepare(opts.qemu.as_deref(), RAM_MIB)?;
        let serial_log = launch.run_dir().join("serial.log");
        launch
            .direct_kernel(self.elf(), opts.smp, &serial_log)
            .args(["-cpu", "max"]);
        if opts.gdb == GdbTransport::Tcp {
            launch.gdb_over_tcp(free_port()?);
        }
        let mut vm = TestVm {
            qemu: launch.spawn()?,
            serial_log,
            kernel_elf: self.elf().to_path_buf(),
        };
        vm.wait_up(opts.smp, opts.boot_timeout)?;
        Ok(vm)
    }
}

/// A TCP port nobody listens on now (QEMU gets it a moment later).
fn free_port() -> Result<u16, TestKernelError> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(TestKernelError::NoFreePort)?
        .port();
    Ok(port)
}

impl TestVm {
    fn wait_up(&mut self, smp: u32, timeout: Duration) -> Result<(), TestKernelError> {
        let want = format!("up cpu{}", smp - 1);
        let start = Instant::now();
        while !self.serial_text().contains(&want) {
            self.qemu.check_running()?;
            if start.elapsed() > timeout {
                return Err(TestKernelError::BootTimeout {
                    secs: timeout.as_secs(),
                    console: self.serial_text(),
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Where the gdbstub listens: a unix socket's path or `127.0.0.1:port`.
    pub fn gdb_address(&self) -> String {
        self.qemu.gdb_address()
    }

    /// The booted kernel's ELF file (symbols and DWARF).
    pub fn kernel_elf(&self) -> &Path {
        &self.kernel_elf
    }

    /// The shared file backing guest RAM: guest-physical address P is at file offset P.
    pub fn ram_file(&self) -> &Path {
        self.qemu.ram_file()
    }

    /// The private run directory, removed with the VM; tests may put their files there.
    pub fn run_dir(&self) -> &Path {
        self.qemu.run_dir()
    }

    /// The serial console so far.
    pub fn serial_text(&self) -> String {
        fs::read_to_string(&self.serial_log).unwrap_or_default()
    }

    /// True while QEMU runs.
    pub fn is_running(&mut self) -> bool {
        self.qemu.exited().is_none()
    }
}
