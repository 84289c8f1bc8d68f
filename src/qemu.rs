//! `guestrace qemu -- IMAGE [QEMU ARGS]`: runs the user's own FreeBSD VM under QEMU with the
//! gdbstub socket and shared RAM file guestrace attaches to, prints the matching guestrace
//! command line, and stops QEMU (removing its files) on Ctrl-C or SIGTERM.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Arg, ArgAction, ArgMatches, Command};
use guests::qemu::{parse_mem_mib, Accel, DiskBus, ImageVm, VmOptions};

/// What `guestrace qemu` was asked to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuArgs {
    /// The disk image.
    pub image: PathBuf,
    /// `--mem`, as given (parsed when the VM starts, so errors read like other run errors).
    pub mem: String,
    /// `--smp`.
    pub smp: u32,
    /// `--accel`; None picks KVM where it works.
    pub accel: Option<String>,
    /// `--ssh-port`; None takes 2222 if free.
    pub ssh_port: Option<u16>,
    /// `--disk-if`.
    pub disk_if: String,
    /// `--headless`: no QEMU window even in a graphical session.
    pub headless: bool,
    /// `--qemu`: the QEMU binary.
    pub qemu: Option<PathBuf>,
    /// QEMU arguments after the image.
    pub extra: Vec<OsString>,
}

/// The `qemu` subcommand's definition.
pub fn command() -> Command {
    Command::new("qemu")
        .about("Run your own FreeBSD VM from a disk image, ready for guestrace, until Ctrl-C")
        .long_about(
            "Starts QEMU for a FreeBSD disk image with its gdbstub on a unix socket and guest \
             RAM in a shared file, prints the guestrace command line that attaches to it, and \
             runs until Ctrl-C or SIGTERM; then stops QEMU and removes the socket and RAM file. \
             The guest's ssh port is forwarded to 127.0.0.1, so kernel.symbols can be copied \
             out with scp.",
        )
        .arg(
            Arg::new("mem")
                .long("mem")
                .value_name("SIZE")
                .default_value("1G")
                .help(
                    "Guest RAM, as QEMU's -m takes it (512M, 2G, 2048); also the RAM file's size",
                ),
        )
        .arg(
            Arg::new("smp")
                .long("smp")
                .value_name("N")
                .default_value("2")
                .value_parser(clap::value_parser!(u32).range(1..=64))
                .help("Number of vCPUs"),
        )
        .arg(
            Arg::new("accel")
                .long("accel")
                .value_name("ACCEL")
                .value_parser(["kvm", "tcg"])
                .help("Accelerator (default: kvm where it really works, else tcg)"),
        )
        .arg(
            Arg::new("ssh_port")
                .long("ssh-port")
                .value_name("PORT")
                .value_parser(clap::value_parser!(u16).range(1..))
                .help(
                    "Host port on 127.0.0.1 forwarded to the guest's ssh (default: 2222 if free)",
                ),
        )
        .arg(
            Arg::new("disk_if")
                .long("disk-if")
                .value_name("IF")
                .default_value("virtio")
                .value_parser(["virtio", "ide"])
                .help("How the disk is attached: virtio (vtbd0) or ide (ada0)"),
        )
        .arg(
            Arg::new("headless")
                .long("headless")
                .action(ArgAction::SetTrue)
                .help("Never open a QEMU window (default: one only in a graphical session)"),
        )
        .arg(
            Arg::new("qemu")
                .long("qemu")
                .value_name("PATH")
                .value_parser(clap::value_parser!(PathBuf))
                .help("The QEMU binary (default: qemu-system-x86_64 from PATH)"),
        )
        .arg(
            Arg::new("image")
                .value_name("IMAGE")
                .required(true)
                .value_parser(clap::value_parser!(PathBuf))
                .help("The FreeBSD disk image (raw, qcow2, vmdk, vdi, vhd, vhdx)"),
        )
        .arg(
            Arg::new("extra")
                .value_name("QEMU_ARG")
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .value_parser(clap::value_parser!(OsString))
                .help("More QEMU arguments, passed on unchanged after guestrace's own"),
        )
}

impl QemuArgs {
    /// Reads the `qemu` subcommand's matches.
    pub fn from_matches(m: &ArgMatches) -> QemuArgs {
        QemuArgs {
            image: m.get_one::<PathBuf>("image").cloned().unwrap_or_default(),
            mem: m
                .get_one::<String>("mem")
                .cloned()
                .unwrap_or_else(|| "1G".into()),
            smp: m.get_one::<u32>("smp").copied().unwrap_or(2),
            accel: m.get_one::<String>("accel").cloned(),
            ssh_port: m.get_one::<u16>("ssh_port").copied(),
            disk_if: m
                .get_one::<String>("disk_if")
                .cloned()
                .unwrap_or_else(|| "virtio".into()),
            headless: m.get_flag("headless"),
            qemu: m.get_one::<PathBuf>("qemu").cloned(),
            extra: m
                .get_many::<OsString>("extra")
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        }
    }
}

/// Runs `guestrace qemu`: start, print, wait for a signal (or QEMU's exit), stop.
pub fn run(args: QemuArgs) -> anyhow::Result<u8> {
    let accel = match &args.accel {
        Some(a) => Some(a.parse::<Accel>().map_err(anyhow::Error::msg)?),
        None => None,
    };
    let opts = VmOptions {
        mem_mib: parse_mem_mib(&args.mem)?,
        smp: args.smp,
        accel,
        ssh_port: args.ssh_port,
        disk_bus: args
            .disk_if
            .parse::<DiskBus>()
            .map_err(anyhow::Error::msg)?,
        display: args.headless.then_some(false),
        qemu: args.qemu.clone(),
        extra: args.extra.clone(),
        ..VmOptions::new(&args.image)
    };
    let mut vm = ImageVm::start(&opts).context("starting QEMU")?;
    if let Some(note) = vm.accel_note() {
        eprintln!("guestrace: note: {note}");
    }
    eprintln!(
        "guestrace: QEMU (pid {}) runs {} ({}, {} MiB, {} vCPU{}, {}); Ctrl-C stops it",
        vm.qemu().pid(),
        vm.image().path.display(),
        vm.image().format.qemu_name(),
        vm.qemu().ram_mib(),
        opts.smp,
        if opts.smp == 1 { "" } else { "s" },
        vm.accel().qemu_name()
    );
    eprintln!(
        "guestrace: copy the kernel's symbols out: scp -P {} USER@127.0.0.1:/boot/kernel/kernel.symbols .",
        vm.ssh_port()
    );
    eprintln!(
        "guestrace: serial console: socat -,raw,echo=0 UNIX-CONNECT:{}",
        shell_word(vm.console_socket())
    );
    println!(
        "guestrace --gdb {} --ram {} --kernel kernel.symbols",
        shell_word(vm.gdb_socket()),
        shell_word(vm.ram_file())
    );
    let status = loop {
        if providers::signals::stop_requested() {
            break 0;
        }
        // The guest powered off (QEMU exits 0), or QEMU failed: say so, still remove its files.
        match vm.exited() {
            Some(st) if st.success() => {
                eprintln!(
                    "guestrace: QEMU exited (the guest powered off, or its window was closed)"
                );
                break 0;
            }
            Some(st) => {
                eprintln!("guestrace: QEMU exited ({st}): {}", vm.qemu_stderr());
                break 1;
            }
            None => {}
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    vm.stop().context("stopping QEMU")?;
    eprintln!("guestrace: QEMU stopped; its socket and RAM file are removed");
    Ok(status)
}

/// A path as one shell word: bare when it is plain, else single-quoted.
fn shell_word(p: &Path) -> String {
    let s = p.display().to_string();
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%=,".contains(&b));
    if plain {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words() {
        assert_eq!(
            shell_word(Path::new("/run/a-1/gdb.sock")),
            "/run/a-1/gdb.sock"
        );
        assert_eq!(shell_word(Path::new("/tmp/my vm")), "'/tmp/my vm'");
        assert_eq!(shell_word(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
    }
}
