//! `guestrace model boot` and `guestrace model kernel`: the bundled model guest.

use std::time::Duration;

use anyhow::Context;
use guests::model::{kernel_elf, BootOptions, DwarfVersion, ModelGuest};

use crate::cli::ModelCommand;

/// Runs a `model` subcommand.
pub fn run(cmd: ModelCommand) -> anyhow::Result<u8> {
    match cmd {
        ModelCommand::Kernel { dwarf } => {
            let path = kernel_elf(dwarf_version(dwarf)?).context("preparing the model kernel")?;
            println!("{}", path.display());
            Ok(0)
        }
        ModelCommand::Boot { smp, serial, dwarf } => {
            let opts = BootOptions {
                smp,
                dwarf: dwarf_version(dwarf)?,
                serial_log: serial,
                ..BootOptions::default()
            };
            let guest = ModelGuest::boot(&opts).context("booting the model guest")?;
            println!(
                "gdb {} kernel {} ram {} serial {}",
                guest.gdb_socket().display(),
                guest.kernel_elf().display(),
                guest.ram_file().display(),
                guest.serial_log().display()
            );
            while !providers::signals::stop_requested() {
                if qemu_gone(guest.pid()) {
                    eprintln!(
                        "guestrace: QEMU (pid {}) exited; the model guest is gone",
                        guest.pid()
                    );
                    let _ = guest.shutdown();
                    return Ok(1);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            guest.shutdown().context("stopping the model guest")?;
            Ok(0)
        }
    }
}

/// True once QEMU's process is gone or a zombie (it exited and was not reaped yet): without
/// this check a killed QEMU would leave `model boot` waiting for a ^C that serves nothing.
fn qemu_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
        Err(_) => true,
    }
}

/// Boots the model guest for a trace with no --gdb.
pub fn boot_for_trace() -> anyhow::Result<ModelGuest> {
    ModelGuest::boot(&BootOptions::default()).context("booting the model guest (no --gdb given)")
}

fn dwarf_version(n: u8) -> anyhow::Result<DwarfVersion> {
    n.to_string().parse().context("DWARF version")
}
