//! Compiling the test kernel and reading its symbols.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use super::TestKernelError;
use crate::qemu::rundir;

/// The test kernel's own sources.
const SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/test-kernel");
/// The PVH entry it shares with the model guest.
const BOOT_S: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/kernel/boot.S");

/// Freestanding, higher-half, no FPU/SSE state to save, frame pointers kept so that stack
/// walks and `push %rbp` entries look like FreeBSD's.
const CFLAGS: [&str; 13] = [
    "-O2",
    "-g",
    "-ffreestanding",
    "-nostdlib",
    "-mno-red-zone",
    "-mcmodel=kernel",
    "-fno-pic",
    "-fno-pie",
    "-fno-stack-protector",
    "-mgeneral-regs-only",
    "-fno-asynchronous-unwind-tables",
    "-fno-omit-frame-pointer",
    "-c",
];

/// The built test kernel: its ELF file and its symbol table.
#[derive(Debug)]
pub struct TestKernel {
    elf: PathBuf,
    symbols: HashMap<String, u64>,
}

impl TestKernel {
    /// Compiles and links the test kernel into `out_dir` (created if missing) and reads its
    /// symbols.
    pub fn build(out_dir: &Path) -> Result<TestKernel, TestKernelError> {
        fs::create_dir_all(out_dir).map_err(|source| TestKernelError::Io {
            path: out_dir.to_path_buf(),
            source,
        })?;
        let src = Path::new(SOURCES);
        let (kernel_o, boot_o) = (out_dir.join("kernel.o"), out_dir.join("boot.o"));
        run(Command::new("gcc")
            .args(CFLAGS)
            .arg(src.join("kernel.c"))
            .arg("-o")
            .arg(&kernel_o))?;
        run(Command::new("gcc")
            .arg("-c")
            .arg(BOOT_S)
            .arg("-o")
            .arg(&boot_o))?;
        let elf = out_dir.join("kernel.elf");
        run(Command::new("ld")
            .args(["-n", "--no-warn-rwx-segments", "-T"])
            .arg(src.join("link.ld"))
            .arg("-o")
            .arg(&elf)
            .arg(&boot_o)
            .arg(&kernel_o))?;
        let symbols = parse_nm(&run(Command::new("nm").arg(&elf))?);
        Ok(TestKernel { elf, symbols })
    }

    /// The test kernel built once per process, in a directory of the run-directory base named
    /// for this process, which QEMU launches sweep away once the process is gone.
    pub fn shared() -> Result<&'static TestKernel, TestKernelError> {
        static SHARED: OnceLock<TestKernel> = OnceLock::new();
        static BUILDING: Mutex<()> = Mutex::new(());
        if let Some(k) = SHARED.get() {
            return Ok(k);
        }
        // One build at a time: parallel tests would otherwise race on the same files.
        let _building = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = SHARED.get() {
            return Ok(k);
        }
        let dir = rundir::base().join(format!(
            "{}{}-test-kernel",
            rundir::PREFIX,
            std::process::id()
        ));
        let kernel = TestKernel::build(&dir)?;
        Ok(SHARED.get_or_init(|| kernel))
    }

    /// The linked ELF file (with DWARF).
    pub fn elf(&self) -> &Path {
        &self.elf
    }

    /// A symbol's address (functions, globals, and the boot code's local labels).
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.symbols.get(name).copied()
    }
}

/// Runs a build tool; its stdout if it succeeded.
fn run(cmd: &mut Command) -> Result<String, TestKernelError> {
    let out = cmd
        .output()
        .map_err(|source| TestKernelError::ToolMissing {
            tool: cmd.get_program().to_string_lossy().into_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(TestKernelError::ToolFailed {
            command: format!("{cmd:?}"),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `nm` lines `address type name`; undefined symbols (no address) are skipped.
fn parse_nm(text: &str) -> HashMap<String, u64> {
    text.lines()
        .filter_map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                [addr, _, name] => Some((name.to_string(), u64::from_str_radix(addr, 16).ok()?)),
                _ => None,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nm_lines_with_an_address_become_symbols() {
        let s = parse_nm(
            "ffffffff802000c0 T kmain\n                 U missing\n0000000000102000 t pml4\n",
        );
        assert_eq!(s.get("kmain"), Some(&0xffffffff802000c0));
        assert_eq!(s.get("pml4"), Some(&0x102000));
        assert_eq!(s.len(), 2);
    }
}
