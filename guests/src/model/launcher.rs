//! Boots the model guest under QEMU (TCG) with its gdbstub on a unix socket, its RAM in a shared
//! file and its serial console in a file, and stops it again.

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::cleanup::{self, Registration};
use super::ground_truth::{self, GroundTruth};
use super::{kernel_elf, DwarfVersion, ModelError};

/// The line the guest prints once every CPU runs its workload.
pub const UP_MARKER: &str = "guestrace-model: up";

/// Guest RAM; the shared backend file has exactly this size.
const RAM_MIB: u32 = 128;
const QEMU_NAME: &str = "qemu-system-x86_64";

static BOOTS: AtomicU32 = AtomicU32::new(0);

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
            boot_timeout: Duration::from_secs(60),
        }
    }
}

/// A running model guest. QEMU is stopped and its socket, RAM file and run directory removed
/// when this is dropped (or [`ModelGuest::shutdown`] is called). QEMU gets SIGKILL if the
/// thread that booted it dies (PR_SET_PDEATHSIG), so a killed caller leaves no orphan.
#[derive(Debug)]
pub struct ModelGuest {
    child: Option<Child>,
    run_dir: PathBuf,
    gdb_socket: PathBuf,
    ram_file: PathBuf,
    serial_log: PathBuf,
    kernel_elf: PathBuf,
    dwarf: DwarfVersion,
    smp: u32,
    cleanup: Option<Registration>,
    pid: u32,
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
        let qemu = find_qemu(opts.qemu.as_deref())?;
        let kernel = kernel_elf(opts.dwarf)?;
        sweep_stale_runs();
        let n = BOOTS.fetch_add(1, Ordering::Relaxed);
        let tag = format!("guestrace-{}-{n}", std::process::id());
        let run_dir = runtime_base().join(&tag);
        let _ = fs::remove_dir_all(&run_dir);
        fs::create_dir_all(&run_dir).map_err(|e| ModelError::io("create", &run_dir, e))?;
        let shm = Path::new("/dev/shm");
        let ram_file = if shm.is_dir() {
            shm.join(format!("{tag}.ram"))
        } else {
            run_dir.join("ram")
        };
        let gdb_socket = run_dir.join("gdb.sock");
        let serial_log = opts
            .serial_log
            .clone()
            .unwrap_or_else(|| run_dir.join("serial.log"));
        // A stale log would show an old up line.
        let _ = fs::remove_file(&serial_log);
        let stderr_path = run_dir.join("qemu.stderr");
        let stderr = fs::File::create(&stderr_path)
            .map_err(|e| ModelError::io("create", &stderr_path, e))?;

        let mut cmd = Command::new(&qemu);
        cmd.args([
            "-accel",
            "tcg",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
        ])
        .arg("-m")
        .arg(format!("{RAM_MIB}M"))
        .arg("-object")
        .arg(join_os(
            &[
                "memory-backend-file,id=mem,size=",
                &format!("{RAM_MIB}M"),
                ",mem-path=",
            ],
            &ram_file,
            ",share=on",
        ))
        .args(["-machine", "memory-backend=mem"])
        .arg("-smp")
        .arg(opts.smp.to_string())
        .arg("-kernel")
        .arg(&kernel)
        .arg("-serial")
        .arg(join_os(&["file:"], &serial_log, ""))
        .arg("-chardev")
        .arg(join_os(
            &["socket,id=gdb0,server=on,wait=off,path="],
            &gdb_socket,
            "",
        ))
        .args(["-gdb", "chardev:gdb0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
        let mut append = Vec::new();
        if let Some(pace) = opts.pace {
            append.push(format!("pace={pace}"));
        }
        if let Some(tick) = opts.start_tick {
            append.push(format!("clock={tick}"));
        }
        if !append.is_empty() {
            cmd.arg("-append").arg(append.join(" "));
        }
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // Die with the caller; and stay out of its terminal's process group, so a Ctrl-C
                // reaches the caller, which then shuts QEMU down and removes its files.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() == 1 {
                    return Err(std::io::Error::other("parent died before exec"));
                }
                libc::setpgid(0, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|source| ModelError::Spawn {
            qemu: qemu.clone(),
            source,
        })?;
        let mut files: Vec<&Path> = vec![&ram_file, &gdb_socket, &stderr_path];
        if serial_log.starts_with(&run_dir) {
            files.push(&serial_log);
        }
        let cleanup = cleanup::register(child.id(), &files, &run_dir);
        let mut guest = ModelGuest {
            cleanup,
            pid: child.id(),
            child: Some(child),
            run_dir,
            gdb_socket,
            ram_file,
            serial_log,
            kernel_elf: kernel,
            dwarf: opts.dwarf,
            smp: opts.smp,
        };
        guest.wait_up(opts.boot_timeout, &stderr_path)?;
        Ok(guest)
    }

    fn wait_up(&mut self, timeout: Duration, stderr_path: &Path) -> Result<(), ModelError> {
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
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut stderr = String::new();
                    if let Ok(mut f) = fs::File::open(stderr_path) {
                        let _ = f.read_to_string(&mut stderr);
                    }
                    return Err(ModelError::QemuExited {
                        status: status.to_string(),
                        stderr: stderr.trim().to_string(),
                    });
                }
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
        &self.gdb_socket
    }

    /// The booted kernel's ELF file (symbols and DWARF).
    pub fn kernel_elf(&self) -> &Path {
        &self.kernel_elf
    }

    /// The shared file backing guest RAM: guest-physical address P is at file offset P.
    pub fn ram_file(&self) -> &Path {
        &self.ram_file
    }

    /// The serial console log (the ground truth).
    pub fn serial_log(&self) -> &Path {
        &self.serial_log
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.pid
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
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(ModelError::QemuExited {
                        status: status.to_string(),
                        stderr: String::new(),
                    });
                }
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
        &self.run_dir
    }

    /// Stops QEMU (SIGTERM, then SIGKILL after 2 s) and removes the socket, RAM file and run
    /// directory. A serial log given in [`BootOptions::serial_log`] is kept.
    pub fn shutdown(mut self) -> Result<(), ModelError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), ModelError> {
        self.cleanup = None;
        if let Some(mut child) = self.child.take() {
            if let Ok(None) = child.try_wait() {
                // SAFETY: plain kill(2) on our own child's pid.
                unsafe {
                    libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
                }
                let start = Instant::now();
                while let Ok(None) = child.try_wait() {
                    if start.elapsed() > Duration::from_secs(2) {
                        let _ = child.kill();
                        break;
                    }
                    thread::sleep(Duration::from_millis(10));
                }
            }
            let _ = child.wait();
        }
        let _ = fs::remove_file(&self.ram_file);
        let _ = fs::remove_file(&self.gdb_socket);
        match fs::remove_dir_all(&self.run_dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(ModelError::io("remove", &self.run_dir, e)),
        }
    }
}

impl Drop for ModelGuest {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn join_os(prefix: &[&str], path: &Path, suffix: &str) -> OsString {
    let mut s = OsString::new();
    for p in prefix {
        s.push(p);
    }
    s.push(path.as_os_str());
    s.push(suffix);
    s
}

fn runtime_base() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

fn find_qemu(given: Option<&Path>) -> Result<PathBuf, ModelError> {
    if let Some(p) = given {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(ModelError::QemuNotFound(format!(
                "{} does not exist",
                p.display()
            )))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(QEMU_NAME))
        .find(|p| p.is_file())
        .ok_or_else(|| ModelError::QemuNotFound(format!("{QEMU_NAME} is not in PATH")))
}

/// Removes run directories and RAM files left by guestrace processes that no longer exist
/// (killed before they could clean up).
fn sweep_stale_runs() {
    for dir in [runtime_base(), PathBuf::from("/dev/shm")] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(rest) = name.strip_prefix("guestrace-") else {
                continue;
            };
            let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if Path::new("/proc").join(pid.to_string()).exists() {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                let _ = fs::remove_dir_all(&path);
            } else {
                let _ = fs::remove_file(&path);
            }
        }
    }
}
