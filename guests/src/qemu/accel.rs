//! Chooses QEMU's accelerator: KVM only where it really works for a debugger, else TCG.

use std::fs::OpenOptions;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// A QEMU accelerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// Hardware virtualisation (`-accel kvm -cpu host`).
    Kvm,
    /// QEMU's own binary translator (`-accel tcg`): slower, works everywhere.
    Tcg,
}

impl Accel {
    /// The name `-accel` takes.
    pub fn qemu_name(self) -> &'static str {
        match self {
            Accel::Kvm => "kvm",
            Accel::Tcg => "tcg",
        }
    }
}

impl std::str::FromStr for Accel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "kvm" => Ok(Accel::Kvm),
            "tcg" => Ok(Accel::Tcg),
            _ => Err(format!("unknown accelerator {s:?} (kvm or tcg)")),
        }
    }
}

/// The accelerator picked for this host, and why KVM was not when it was not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccelChoice {
    /// The accelerator.
    pub accel: Accel,
    /// Why TCG was chosen over KVM (None when KVM works).
    pub note: Option<String>,
}

// From linux/kvm.h: _IO(KVMIO, 0x00) and _IO(KVMIO, 0x01).
const KVM_GET_API_VERSION: libc::c_ulong = 0xae00;
const KVM_CREATE_VM: libc::c_ulong = 0xae01;
const KVM_API_VERSION: libc::c_int = 12;

/// KVM when /dev/kvm opens, speaks API 12, creates a VM, and runs on hardware virtualisation
/// (vmx or svm); TCG otherwise. PVM, a software KVM found on some cloud hosts, is refused:
/// gdbstub software breakpoints crash its guests (qemu-gdbstub facts §6.11).
pub fn detect() -> AccelChoice {
    match kvm_problem() {
        None => AccelChoice {
            accel: Accel::Kvm,
            note: None,
        },
        Some(why) => AccelChoice {
            accel: Accel::Tcg,
            note: Some(format!("{why}; using TCG (slower, but breakpoints work)")),
        },
    }
}

fn kvm_problem() -> Option<String> {
    if Path::new("/sys/module/kvm_pvm").exists() {
        return Some("this host's KVM is PVM, under which software breakpoints crash".into());
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let hw = cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    if !hw {
        return Some("the CPU shows no VT-x/AMD-V (vmx/svm)".into());
    }
    let kvm = match OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        Ok(f) => f,
        Err(e) => return Some(format!("/dev/kvm cannot be opened ({e})")),
    };
    // SAFETY: ioctls on a file descriptor we own; neither takes a pointer.
    let (api, vm) = unsafe {
        let api = libc::ioctl(kvm.as_raw_fd(), KVM_GET_API_VERSION, 0);
        let vm = if api == KVM_API_VERSION {
            libc::ioctl(kvm.as_raw_fd(), KVM_CREATE_VM, 0)
        } else {
            -1
        };
        (api, vm)
    };
    if api != KVM_API_VERSION {
        return Some(format!("/dev/kvm speaks API {api}, not {KVM_API_VERSION}"));
    }
    if vm < 0 {
        return Some("/dev/kvm cannot create a VM".into());
    }
    // SAFETY: closing the VM descriptor the ioctl just returned.
    unsafe { libc::close(vm) };
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in [Accel::Kvm, Accel::Tcg] {
            assert_eq!(a.qemu_name().parse::<Accel>(), Ok(a));
        }
        assert!("hvf".parse::<Accel>().is_err());
    }

    #[test]
    fn tcg_always_comes_with_a_reason() {
        let c = detect();
        assert_eq!(c.accel == Accel::Tcg, c.note.is_some());
    }
}
