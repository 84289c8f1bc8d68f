//! The QEMU test VM: guests' small test kernel (`guests::test_kernel`, built with gcc on first
//! use), booted under TCG with its gdbstub on a unix socket (or TCP), shared file-backed RAM
//! and a serial log.

use std::path::PathBuf;

use guests::test_kernel::{GdbTransport, TestBoot, TestKernel, TestVm};

/// The test kernel, built once per test process.
pub fn kernel() -> &'static TestKernel {
    TestKernel::shared().unwrap_or_else(|e| panic!("{e}"))
}

/// How to boot.
#[derive(Debug, Clone, Copy)]
pub struct Boot {
    pub smp: u32,
    pub tcp: bool,
}

impl Default for Boot {
    fn default() -> Boot {
        Boot { smp: 2, tcp: false }
    }
}

/// A running QEMU; killed and cleaned up on drop.
pub struct Vm {
    vm: TestVm,
    pub dir: PathBuf,
    pub addr: String,
    pub ram: PathBuf,
}

impl Vm {
    /// Boots the test kernel and waits until every vCPU reported on the serial console.
    pub fn boot(b: Boot) -> Vm {
        let gdb = if b.tcp {
            GdbTransport::Tcp
        } else {
            GdbTransport::UnixSocket
        };
        let vm = kernel()
            .boot(&TestBoot {
                smp: b.smp,
                gdb,
                ..TestBoot::default()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        Vm {
            dir: vm.run_dir().to_path_buf(),
            addr: vm.gdb_address(),
            ram: vm.ram_file().to_path_buf(),
            vm,
        }
    }

    /// A kernel symbol's address.
    pub fn sym(&self, name: &str) -> u64 {
        kernel()
            .symbol(name)
            .unwrap_or_else(|| panic!("no symbol {name}"))
    }
}
