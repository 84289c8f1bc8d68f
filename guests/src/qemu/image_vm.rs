//! A VM booted from a disk image (a FreeBSD 10 installation) with the defaults a FreeBSD user
//! expects, plus the gdbstub socket and shared RAM file guestrace attaches to.

use std::ffi::OsString;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::accel::{self, Accel};
use super::disk::DiskImage;
use super::process::{option_with_path, Launch, Qemu};
use super::{qmp, QemuError};

/// The host port forwarded to the guest's ssh when it is free.
pub const DEFAULT_SSH_PORT: u16 = 2222;

/// How QEMU presents the disk to the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskBus {
    /// virtio-blk: `vtbd0` in FreeBSD 10 (in GENERIC; the official VM images mount by GPT label).
    Virtio,
    /// IDE: `ada0`, for installations whose fstab names `ada0`.
    Ide,
}

impl std::str::FromStr for DiskBus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "virtio" => Ok(DiskBus::Virtio),
            "ide" => Ok(DiskBus::Ide),
            _ => Err(format!("unknown disk interface {s:?} (virtio or ide)")),
        }
    }
}

/// How to start a VM from a disk image.
#[derive(Debug, Clone)]
pub struct VmOptions {
    /// The disk image.
    pub image: PathBuf,
    /// Guest RAM in MiB (also the shared RAM file's size).
    pub mem_mib: u64,
    /// vCPUs.
    pub smp: u32,
    /// The accelerator; None picks KVM where it works, else TCG.
    pub accel: Option<Accel>,
    /// Host port forwarded to the guest's port 22; None takes 2222 if free, else any free port.
    pub ssh_port: Option<u16>,
    /// How the disk is attached.
    pub disk_bus: DiskBus,
    /// Show QEMU's window (default: only when a graphical session is present).
    pub display: Option<bool>,
    /// The QEMU binary; None is `qemu-system-x86_64` from PATH.
    pub qemu: Option<PathBuf>,
    /// More QEMU arguments, appended last.
    pub extra: Vec<OsString>,
}

impl VmOptions {
    /// 1 GiB, 2 vCPUs, accelerator and ssh port chosen automatically, virtio disk.
    pub fn new(image: impl Into<PathBuf>) -> VmOptions {
        VmOptions {
            image: image.into(),
            mem_mib: 1024,
            smp: 2,
            accel: None,
            ssh_port: None,
            disk_bus: DiskBus::Virtio,
            display: None,
            qemu: None,
            extra: Vec::new(),
        }
    }
}

/// A running VM. Dropping it (or [`ImageVm::stop`]) stops QEMU and removes its files.
#[derive(Debug)]
pub struct ImageVm {
    qemu: Qemu,
    image: DiskImage,
    accel: Accel,
    accel_note: Option<String>,
    ssh_port: u16,
    console: PathBuf,
}

impl ImageVm {
    /// Checks the image and options, starts QEMU and waits until it has accepted its whole
    /// command line (disk opened, port forwarded) and runs the guest.
    pub fn start(opts: &VmOptions) -> Result<ImageVm, QemuError> {
        if opts.smp == 0 || opts.smp > 64 {
            return Err(QemuError::BadOption(format!(
                "vCPUs must be 1 to 64, not {}",
                opts.smp
            )));
        }
        let image = DiskImage::open(&opts.image)?;
        let (accel, accel_note) = match opts.accel {
            Some(a) => (a, None),
            None => {
                let c = accel::detect();
                (c.accel, c.note)
            }
        };
        let ssh_port = match opts.ssh_port {
            Some(p) => p,
            None => free_port()?,
        };
        let mut launch = Launch::prepare(opts.qemu.as_deref(), opts.mem_mib)?;
        let console = launch.run_dir().join("console.sock");
        let qmp_socket = launch.run_dir().join("qmp.sock");
        launch
            .args(["-name", "guestrace-freebsd", "-accel", accel.qemu_name()])
            .arg("-smp")
            .arg(opts.smp.to_string());
        if accel == Accel::Kvm {
            launch.args(["-cpu", "host"]);
        }
        let bus = match opts.disk_bus {
            DiskBus::Virtio => "virtio",
            DiskBus::Ide => "ide",
        };
        launch
            .arg("-drive")
            .arg(option_with_path(
                "file=",
                &image.path,
                &format!(",format={},if={bus}", image.format.qemu_name()),
            ))
            // e1000 is em0 in FreeBSD, the interface name rc.conf files and the model guest use.
            .arg("-netdev")
            .arg(format!("user,id=net0,hostfwd=tcp:127.0.0.1:{ssh_port}-:22"))
            .args(["-device", "e1000,netdev=net0"])
            .arg("-serial")
            .arg(option_with_path("unix:", &console, ",server=on,wait=off"))
            .remove_on_stop(&console)
            .args(qmp::args(&qmp_socket))
            .remove_on_stop(&qmp_socket);
        if !opts.display.unwrap_or_else(graphical_session) {
            launch.args(["-display", "none"]);
        }
        launch.args(&opts.extra);
        let mut qemu = launch.spawn()?;
        // Opening a large image on a loaded host can take a while; QEMU fails fast otherwise.
        qmp::wait_ready(&mut qemu, &qmp_socket, Duration::from_secs(60))?;
        Ok(ImageVm {
            qemu,
            image,
            accel,
            accel_note,
            ssh_port,
            console,
        })
    }

    /// The QEMU process (gdbstub socket, RAM file, pid).
    pub fn qemu(&self) -> &Qemu {
        &self.qemu
    }

    /// The unix socket of QEMU's gdbstub.
    pub fn gdb_socket(&self) -> &Path {
        self.qemu.gdb_socket()
    }

    /// The shared file backing guest RAM.
    pub fn ram_file(&self) -> &Path {
        self.qemu.ram_file()
    }

    /// The disk image and its format.
    pub fn image(&self) -> &DiskImage {
        &self.image
    }

    /// The accelerator in use.
    pub fn accel(&self) -> Accel {
        self.accel
    }

    /// Why TCG was chosen automatically, if it was.
    pub fn accel_note(&self) -> Option<&str> {
        self.accel_note.as_deref()
    }

    /// The host port forwarded to the guest's ssh (127.0.0.1 only).
    pub fn ssh_port(&self) -> u16 {
        self.ssh_port
    }

    /// The unix socket of the guest's first serial port (its console if the loader is told
    /// `console="comconsole"`).
    pub fn console_socket(&self) -> &Path {
        &self.console
    }

    /// QEMU's exit status once it has exited (the guest powered off, or QEMU failed).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.qemu.exited()
    }

    /// What QEMU has written to stderr so far.
    pub fn qemu_stderr(&self) -> String {
        self.qemu.stderr()
    }

    /// Stops QEMU and removes its socket, RAM file and run directory.
    pub fn stop(mut self) -> Result<(), QemuError> {
        self.qemu.stop()
    }
}

/// Parses a memory size as QEMU's `-m` does: a number of MiB, or with a suffix M, G or T.
pub fn parse_mem_mib(s: &str) -> Result<u64, QemuError> {
    let bad = || QemuError::BadOption(format!("memory size {s:?}: use e.g. 512M, 1G or 2048"));
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, mul) = match t.char_indices().last() {
        Some((i, 'M' | 'm')) => (&t[..i], 1),
        Some((i, 'G' | 'g')) => (&t[..i], 1024),
        Some((i, 'T' | 't')) => (&t[..i], 1024 * 1024),
        _ => (t, 1),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    match n.checked_mul(mul) {
        Some(m) if m > 0 => Ok(m),
        _ => Err(bad()),
    }
}

fn graphical_session() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// 2222 when nothing listens there, else a port the kernel picks. QEMU binds it a moment later;
/// if someone else takes it in between, QEMU fails and says so.
fn free_port() -> Result<u16, QemuError> {
    if TcpListener::bind((Ipv4Addr::LOCALHOST, DEFAULT_SSH_PORT)).is_ok() {
        return Ok(DEFAULT_SSH_PORT);
    }
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| QemuError::io("bind a free port on", "127.0.0.1", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_as_qemu_reads_them() {
        assert_eq!(parse_mem_mib("1G").ok(), Some(1024));
        assert_eq!(parse_mem_mib("512M").ok(), Some(512));
        assert_eq!(parse_mem_mib("2048").ok(), Some(2048));
        assert_eq!(parse_mem_mib("2GiB").ok(), Some(2048));
        for bad in ["", "G", "0", "1.5G", "-1G", "12Q"] {
            assert!(parse_mem_mib(bad).is_err(), "{bad}");
        }
    }
}
