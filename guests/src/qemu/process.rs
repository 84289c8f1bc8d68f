//! One QEMU process with its gdbstub on a unix socket and its RAM in a shared file, in a
//! private run directory; stopped, and its files removed, when dropped.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::cleanup::{self, Registration};
use super::rundir;
use super::QemuError;

/// The QEMU binary looked up in PATH when none is given.
pub const QEMU_NAME: &str = "qemu-system-x86_64";

static LAUNCHES: AtomicU32 = AtomicU32::new(0);

/// A QEMU command line being prepared: the run directory already exists, so callers can place
/// their own files (serial log, console socket) in it before [`Launch::spawn`].
#[derive(Debug)]
pub struct Launch {
    qemu: PathBuf,
    run_dir: PathBuf,
    gdb_socket: PathBuf,
    gdb_tcp_port: Option<u16>,
    ram_file: PathBuf,
    stderr_path: PathBuf,
    ram_mib: u64,
    args: Vec<OsString>,
    files: Vec<PathBuf>,
    spawned: bool,
}

impl Launch {
    /// Finds QEMU (`qemu`, else `qemu-system-x86_64` in PATH), sweeps files left by killed
    /// guestrace processes and creates a private run directory for this launch.
    pub fn prepare(qemu: Option<&Path>, ram_mib: u64) -> Result<Launch, QemuError> {
        if ram_mib == 0 {
            return Err(QemuError::BadOption("guest RAM must not be 0".into()));
        }
        let qemu = find_qemu(qemu)?;
        rundir::sweep_stale();
        let n = LAUNCHES.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}{}-{n}", rundir::PREFIX, std::process::id());
        let run_dir = rundir::base().join(&tag);
        let _ = fs::remove_dir_all(&run_dir);
        fs::create_dir_all(&run_dir).map_err(|e| QemuError::io("create", &run_dir, e))?;
        let shm = Path::new("/dev/shm");
        let ram_file = if shm.is_dir() {
            shm.join(format!("{tag}.ram"))
        } else {
            run_dir.join("ram")
        };
        Ok(Launch {
            qemu,
            gdb_socket: run_dir.join("gdb.sock"),
            gdb_tcp_port: None,
            stderr_path: run_dir.join("qemu.stderr"),
            run_dir,
            ram_file,
            ram_mib,
            args: Vec::new(),
            files: Vec::new(),
            spawned: false,
        })
    }

    /// The private directory of this launch.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The QEMU binary that will run.
    pub fn qemu(&self) -> &Path {
        &self.qemu
    }

    /// Appends one argument to QEMU's command line.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Appends arguments to QEMU's command line.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// Boots `kernel`, an ELF with a PVH entry note, straight from QEMU (`-kernel`) under TCG
    /// with `smp` vCPUs, no display, default devices or user config, and the serial console
    /// written to `serial_log`, which goes with the run.
    pub fn direct_kernel(&mut self, kernel: &Path, smp: u32, serial_log: &Path) -> &mut Self {
        self.args([
            "-accel",
            "tcg",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
        ])
        .arg("-smp")
        .arg(smp.to_string())
        .arg("-kernel")
        .arg(kernel)
        .arg("-serial")
        .arg(option_with_path("file:", serial_log, ""))
        .remove_on_stop(serial_log)
    }

    /// Has the gdbstub listen on 127.0.0.1:`port` instead of the unix socket (for testing a
    /// client over TCP).
    pub fn gdb_over_tcp(&mut self, port: u16) -> &mut Self {
        self.gdb_tcp_port = Some(port);
        self
    }

    /// Names a file QEMU will create that must be removed with the run (for example a socket
    /// or a log in the run directory).
    pub fn remove_on_stop(&mut self, file: impl Into<PathBuf>) -> &mut Self {
        self.files.push(file.into());
        self
    }

    /// Starts QEMU with the arguments given plus `-m`, the shared RAM backend and the gdbstub
    /// (on the unix socket unless [`Launch::gdb_over_tcp`] asked otherwise). QEMU dies with the calling thread (PR_SET_PDEATHSIG) and runs in its own process
    /// group, so a terminal's Ctrl-C reaches only the caller, which then stops it.
    pub fn spawn(mut self) -> Result<Qemu, QemuError> {
        let stderr = fs::File::create(&self.stderr_path)
            .map_err(|e| QemuError::io("create", &self.stderr_path, e))?;
        let mem = format!("{}M", self.ram_mib);
        let mut cmd = Command::new(&self.qemu);
        cmd.arg("-m")
            .arg(&mem)
            .arg("-object")
            .arg(option_with_path(
                &format!("memory-backend-file,id=mem,size={mem},mem-path="),
                &self.ram_file,
                ",share=on",
            ))
            .args(["-machine", "memory-backend=mem"]);
        match self.gdb_tcp_port {
            None => cmd
                .arg("-chardev")
                .arg(option_with_path(
                    "socket,id=gdb0,server=on,wait=off,path=",
                    &self.gdb_socket,
                    "",
                ))
                .args(["-gdb", "chardev:gdb0"]),
            Some(port) => cmd
                .arg("-gdb")
                .arg(format!("tcp:127.0.0.1:{port},server=on,wait=off")),
        };
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died between fork and prctl; then nobody would kill us.
                if libc::getppid() == 1 {
                    return Err(std::io::Error::other("parent died before exec"));
                }
                libc::setpgid(0, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|source| QemuError::Spawn {
            qemu: self.qemu.clone(),
            source,
        })?;
        self.spawned = true;
        let mut files: Vec<&Path> = vec![&self.ram_file, &self.gdb_socket, &self.stderr_path];
        files.extend(
            self.files
                .iter()
                .filter(|f| f.starts_with(&self.run_dir))
                .map(PathBuf::as_path),
        );
        let cleanup = cleanup::register(child.id(), &files, &self.run_dir);
        Ok(Qemu {
            pid: child.id(),
            child: Some(child),
            cleanup,
            run_dir: self.run_dir.clone(),
            gdb_socket: self.gdb_socket.clone(),
            gdb_tcp_port: self.gdb_tcp_port,
            ram_file: self.ram_file.clone(),
            stderr_path: self.stderr_path.clone(),
            ram_mib: self.ram_mib,
        })
    }
}

impl Drop for Launch {
    fn drop(&mut self) {
        if !self.spawned {
            let _ = fs::remove_dir_all(&self.run_dir);
        }
    }
}

/// A running QEMU. Dropping it (or [`Qemu::stop`]) stops QEMU and removes its gdbstub socket,
/// RAM file and run directory.
#[derive(Debug)]
pub struct Qemu {
    child: Option<Child>,
    cleanup: Option<Registration>,
    pid: u32,
    run_dir: PathBuf,
    gdb_socket: PathBuf,
    gdb_tcp_port: Option<u16>,
    ram_file: PathBuf,
    stderr_path: PathBuf,
    ram_mib: u64,
}

impl Qemu {
    /// The unix socket of QEMU's gdbstub (not listened on after [`Launch::gdb_over_tcp`]).
    pub fn gdb_socket(&self) -> &Path {
        &self.gdb_socket
    }

    /// Where the gdbstub listens, as a debugger is told: the unix socket's path, or
    /// `127.0.0.1:port` after [`Launch::gdb_over_tcp`].
    pub fn gdb_address(&self) -> String {
        match self.gdb_tcp_port {
            None => self.gdb_socket.display().to_string(),
            Some(port) => format!("127.0.0.1:{port}"),
        }
    }

    /// The shared file backing guest RAM: guest-physical address P is at file offset P.
    pub fn ram_file(&self) -> &Path {
        &self.ram_file
    }

    /// Guest RAM in MiB (the RAM file's size).
    pub fn ram_mib(&self) -> u64 {
        self.ram_mib
    }

    /// The private run directory.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// What QEMU has written to stderr so far.
    pub fn stderr(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(&self.stderr_path) {
            let _ = f.read_to_string(&mut text);
        }
        text.trim().to_string()
    }

    /// QEMU's exit status if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Fails with [`QemuError::Exited`] (and QEMU's stderr) if QEMU is no longer running.
    pub fn check_running(&mut self) -> Result<(), QemuError> {
        match self.exited() {
            Some(status) => Err(QemuError::Exited {
                status: status.to_string(),
                stderr: self.stderr(),
            }),
            None => Ok(()),
        }
    }

    /// Stops QEMU (SIGTERM, then SIGKILL after 2 s) and removes the socket, RAM file and run
    /// directory.
    pub fn stop(&mut self) -> Result<(), QemuError> {
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
            Err(e) => Err(QemuError::io("remove", &self.run_dir, e)),
        }
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// `prefix` + `path` + `suffix` as one QEMU option value; commas in the path are doubled, as
/// QEMU's option syntax wants.
pub fn option_with_path(prefix: &str, path: &Path, suffix: &str) -> OsString {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut bytes = prefix.as_bytes().to_vec();
    for &b in path.as_os_str().as_bytes() {
        bytes.push(b);
        if b == b',' {
            bytes.push(b',');
        }
    }
    bytes.extend_from_slice(suffix.as_bytes());
    OsString::from_vec(bytes)
}

fn find_qemu(given: Option<&Path>) -> Result<PathBuf, QemuError> {
    if let Some(p) = given {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(QemuError::NotFound(format!(
                "{} does not exist",
                p.display()
            )))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(QEMU_NAME))
        .find(|p| p.is_file())
        .ok_or_else(|| QemuError::NotFound(format!("{QEMU_NAME} is not in PATH")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_in_paths_are_doubled() {
        let v = option_with_path("file=", Path::new("/tmp/a,b.img"), ",if=virtio");
        assert_eq!(v, OsString::from("file=/tmp/a,,b.img,if=virtio"));
    }
}
