//! `guestrace qemu -- IMAGE`: QEMU starts for raw and qcow2 images made here, the printed
//! guestrace line names a gdbstub socket that answers and a RAM file of the size asked for,
//! extra QEMU arguments reach QEMU, and Ctrl-C or SIGTERM leaves no QEMU, socket, RAM file or
//! run directory. Bad images are refused with a clear message and status 1, before QEMU runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn guestrace() -> &'static str {
    env!("CARGO_BIN_EXE_guestrace")
}

/// A fresh directory for one test's images.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qemu-cmd-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 64 MiB image made with qemu-img (or, without qemu-img, the same as qemu-img makes it:
/// a sparse file for raw, an empty qcow2 v2 with 64 KiB clusters for qcow2).
fn make_image(dir: &Path, format: &str) -> PathBuf {
    let path = dir.join(format!("disk.{format}"));
    let made = Command::new("qemu-img")
        .args(["create", "-q", "-f", format])
        .arg(&path)
        .arg("64M")
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        let bytes = match format {
            "qcow2" => empty_qcow2(64 << 20),
            _ => Vec::new(),
        };
        std::fs::write(&path, bytes).unwrap();
        if format == "raw" {
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(64 << 20)
                .unwrap();
        }
    }
    path
}

/// Header, refcount table, one refcount block and an empty L1 table, one cluster each.
fn empty_qcow2(size: u64) -> Vec<u8> {
    const CLUSTER: usize = 1 << 16;
    let mut f = vec![0u8; 4 * CLUSTER];
    let mut put = |off: usize, bytes: &[u8]| f[off..off + bytes.len()].copy_from_slice(bytes);
    put(0, b"QFI\xfb");
    put(4, &2u32.to_be_bytes()); // version
    put(20, &16u32.to_be_bytes()); // cluster_bits
    put(24, &size.to_be_bytes());
    let l1_entries = size.div_ceil((CLUSTER as u64) * (CLUSTER as u64 / 8));
    put(36, &(l1_entries as u32).to_be_bytes());
    put(40, &(3 * CLUSTER as u64).to_be_bytes()); // L1 table offset
    put(48, &(CLUSTER as u64).to_be_bytes()); // refcount table offset
    put(56, &1u32.to_be_bytes()); // refcount table clusters
    put(CLUSTER, &(2 * CLUSTER as u64).to_be_bytes());
    for c in 0..4 {
        put(2 * CLUSTER + 2 * c, &1u16.to_be_bytes());
    }
    f
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What `guestrace qemu` printed once it was up.
struct Running {
    child: Child,
    gdb: PathBuf,
    ram: PathBuf,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Drop for Running {
    /// A failed assertion must not leave guestrace and its QEMU running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id(), "-TERM");
            let _ = self.child.wait();
        }
    }
}

fn start(image: &Path, extra: &[&str]) -> Running {
    let port = free_port().to_string();
    let mut child = Command::new(guestrace())
        .args([
            "qemu",
            "--headless",
            "--mem",
            "64M",
            "--smp",
            "1",
            "--ssh-port",
            &port,
        ])
        .arg("--")
        .arg(image)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert!(
        words.len() == 7
            && words[0] == "guestrace"
            && words[1] == "--gdb"
            && words[3] == "--ram"
            && words[5..] == ["--kernel", "kernel.symbols"],
        "unexpected line {line:?}; stderr: {:?}",
        rx.try_iter().collect::<Vec<_>>()
    );
    Running {
        gdb: PathBuf::from(words[2]),
        ram: PathBuf::from(words[4]),
        child,
        stderr: rx,
    }
}

/// Sends a gdb packet and returns the first reply packet's payload.
fn gdb_query(sock: &Path, payload: &str) -> String {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let sum = payload.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    write!(s, "${payload}#{sum:02x}").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    // QEMU may first send a stop reply (T02) of its own; wait for the one that answers us.
    while start.elapsed() < Duration::from_secs(10) {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "gdbstub closed the connection");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(reply) = text
            .split('$')
            .skip(1)
            .filter_map(|p| p.split_once('#').map(|(body, _)| body.to_string()))
            .find(|b| !b.starts_with('T') && !b.starts_with('S'))
        {
            return reply;
        }
    }
    panic!("no reply to {payload}");
}

/// QEMU's pid, from the line guestrace prints on stderr.
fn qemu_pid(r: &Running) -> u32 {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Ok(line) = r.stderr.recv_timeout(Duration::from_millis(200)) {
            if let Some(rest) = line.split_once("(pid ") {
                return rest.1.split(')').next().unwrap().parse().unwrap();
            }
        }
    }
    panic!("guestrace printed no QEMU pid");
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

fn wait_exit(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            panic!("guestrace did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts, checks what was printed against the running QEMU, stops with `sig`, checks nothing
/// is left.
fn run_and_stop(format: &str, sig: &str) {
    let dir = scratch(format);
    let image = make_image(&dir, format);
    let mut r = start(&image, &["-no-reboot"]);
    let pid = qemu_pid(&r);

    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let args: Vec<String> = cmdline
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let drive = args
        .iter()
        .find(|a| a.starts_with("file=") && a.contains("disk."))
        .unwrap_or_else(|| panic!("no -drive for the image in {args:?}"));
    assert!(drive.contains(&format!("format={format}")), "{drive}");
    assert_eq!(args.last().map(String::as_str), Some("-no-reboot"));

    assert_eq!(std::fs::metadata(&r.ram).unwrap().len(), 64 << 20);
    assert!(gdb_query(&r.gdb, "qSupported").contains("PacketSize="));

    signal(r.child.id(), sig);
    let status = wait_exit(&mut r.child, Duration::from_secs(10));
    assert!(status.success(), "guestrace exited with {status}");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty(),
        "QEMU {pid} still there after {sig}: {stat}"
    );
    for f in [&r.gdb, &r.ram, &r.gdb.parent().unwrap().to_path_buf()] {
        assert!(!f.exists(), "{} left behind after {sig}", f.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn raw_image_runs_and_ctrl_c_leaves_nothing() {
    run_and_stop("raw", "-INT");
}

#[test]
fn qcow2_image_runs_and_sigterm_leaves_nothing() {
    run_and_stop("qcow2", "-TERM");
}

fn run_qemu_cmd(image: &Path, as_nobody: bool) -> (Output, u32) {
    let mut cmd = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            guestrace(),
        ]);
        c
    } else {
        Command::new(guestrace())
    };
    let child = cmd
        .args(["qemu", "--headless", "--"])
        .arg(image)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    (child.wait_with_output().unwrap(), pid)
}

fn assert_refused(image: &Path, as_nobody: bool, wanted: &str) {
    let (out, pid) = run_qemu_cmd(image, as_nobody);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{image:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "printed a command line for a bad image"
    );
    assert!(
        stderr.contains(&image.display().to_string()) && stderr.contains(wanted),
        "{image:?}: wanted {wanted:?} in {stderr:?}"
    );
    let shm: Vec<_> = std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("guestrace-{pid}-"))
        })
        .collect();
    assert!(shm.is_empty(), "RAM file made for a bad image");
}

#[test]
fn bad_images_are_refused_before_qemu_starts() {
    let dir = scratch("bad");
    assert_refused(&dir.join("missing.qcow2"), false, "no such file");
    assert_refused(&dir, false, "is a directory");
    let empty = dir.join("empty.raw");
    std::fs::write(&empty, b"").unwrap();
    assert_refused(&empty, false, "is empty");

    let locked = dir.join("locked.raw");
    std::fs::write(&locked, vec![0u8; 4096]).unwrap();
    let mut perms = std::fs::metadata(&locked).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o000);
    std::fs::set_permissions(&locked, perms).unwrap();
    // Root reads mode 000 files; check as nobody then (the temp dir is world-searchable).
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(1)
        == 0;
    let mut dir_perms = std::fs::metadata(&dir).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut dir_perms, 0o755);
    std::fs::set_permissions(&dir, dir_perms).unwrap();
    if !root || Command::new("setpriv").arg("--version").output().is_ok() {
        assert_refused(&locked, root, "permission denied");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigkill_leaves_no_qemu_and_the_next_start_sweeps_the_files() {
    let dir = scratch("kill");
    let image = make_image(&dir, "raw");
    let mut r = start(&image, &[]);
    let pid = qemu_pid(&r);
    signal(r.child.id(), "-KILL");
    r.child.wait().unwrap();
    // QEMU gets SIGKILL with its parent (PR_SET_PDEATHSIG); reaped by init, it vanishes.
    let start_wait = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            start_wait.elapsed() < Duration::from_secs(5),
            "QEMU {pid} outlived a SIGKILLed guestrace"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The files stay until the next start sweeps them (or a concurrent one already did).
    let next = start(&image_copy(&dir), &[]);
    for f in [&r.gdb, &r.ram] {
        assert!(!f.exists(), "{} not swept by the next start", f.display());
    }
    drop(next);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A second image, since QEMU locks the first while it runs.
fn image_copy(dir: &Path) -> PathBuf {
    let sub = dir.join("second");
    std::fs::create_dir_all(&sub).unwrap();
    make_image(&sub, "raw")
}

#[test]
fn qemu_refusing_its_arguments_is_reported_and_cleaned_up() {
    let dir = scratch("refused");
    let image = make_image(&dir, "raw");
    let out = Command::new(guestrace())
        .args(["qemu", "--headless", "--mem", "64M", "--"])
        .arg(&image)
        .args(["-device", "no-such-device-model"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("QEMU exited") && stderr.contains("no-such-device-model"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_image_argument_is_a_usage_error() {
    let out = Command::new(guestrace()).arg("qemu").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("<IMAGE>"));
}
