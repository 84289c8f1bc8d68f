//! The QEMU test VM: the small kernel in tests/kernel (built with gcc on first use), booted
//! under TCG with its gdbstub on a unix socket (or TCP), shared file-backed RAM and a serial log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The built test kernel.
pub struct Kernel {
    pub elf: PathBuf,
    pub symbols: HashMap<String, u64>,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds tests/kernel once per test process.
pub fn kernel() -> &'static Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    K.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernel");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("introspect-kernel-{}", std::process::id()));
        std::fs::create_dir_all(&out).expect("kernel build dir");
        let cflags = [
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
        run(Command::new("gcc")
            .args(cflags)
            .arg(src.join("kernel.c"))
            .arg("-o")
            .arg(out.join("kernel.o")));
        run(Command::new("gcc")
            .arg("-c")
            .arg(src.join("boot.S"))
            .arg("-o")
            .arg(out.join("boot.o")));
        let elf = out.join("kernel.elf");
        run(Command::new("ld")
            .args(["-n", "--no-warn-rwx-segments", "-T"])
            .arg(src.join("link.ld"))
            .arg("-o")
            .arg(&elf)
            .arg(out.join("boot.o"))
            .arg(out.join("kernel.o")));
        let nm = Command::new("nm").arg(&elf).output().expect("nm");
        let mut symbols = HashMap::new();
        for line in String::from_utf8_lossy(&nm.stdout).lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if let [addr, _, name] = f.as_slice() {
                if let Ok(a) = u64::from_str_radix(addr, 16) {
                    symbols.insert(name.to_string(), a);
                }
            }
        }
        Kernel { elf, symbols }
    })
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
    child: Child,
    pub dir: PathBuf,
    pub addr: String,
    pub ram: PathBuf,
    pub serial: PathBuf,
}

impl Vm {
    /// Boots the test kernel and waits until every vCPU reported on the serial console.
    pub fn boot(b: Boot) -> Vm {
        let k = kernel();
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let tag = format!("introspect-vm-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(&tag);
        std::fs::create_dir_all(&dir).expect("vm dir");
        let ram = PathBuf::from("/dev/shm").join(format!("{tag}.ram"));
        let serial = dir.join("serial.log");
        let (gdb, addr) = if b.tcp {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            (
                format!("tcp:127.0.0.1:{port},server=on,wait=off"),
                format!("127.0.0.1:{port}"),
            )
        } else {
            let sock = dir.join("gdb.sock");
            (
                format!("unix:{},server=on,wait=off", sock.display()),
                sock.display().to_string(),
            )
        };
        let child = Command::new("qemu-system-x86_64")
            .args([
                "-accel",
                "tcg",
                "-cpu",
                "max",
                "-m",
                "64M",
                "-nodefaults",
                "-display",
                "none",
            ])
            .args(["-monitor", "none", "-no-reboot"])
            .arg("-smp")
            .arg(b.smp.to_string())
            .arg("-object")
            .arg(format!(
                "memory-backend-file,id=mem,size=64M,mem-path={},share=on",
                ram.display()
            ))
            .args(["-machine", "pc,memory-backend=mem"])
            .arg("-kernel")
            .arg(&k.elf)
            .arg("-serial")
            .arg(format!("file:{}", serial.display()))
            .arg("-gdb")
            .arg(gdb)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("qemu-system-x86_64 (apt-get install qemu-system-x86)");
        let vm = Vm {
            child,
            dir,
            addr,
            ram,
            serial,
        };
        let want = format!("up cpu{}", b.smp - 1);
        let start = Instant::now();
        while !vm.serial_text().contains(&want) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "guest did not boot: {:?}",
                vm.serial_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        vm
    }

    /// The serial console so far.
    pub fn serial_text(&self) -> String {
        std::fs::read_to_string(&self.serial).unwrap_or_default()
    }

    /// A kernel symbol's address.
    pub fn sym(&self, name: &str) -> u64 {
        *kernel()
            .symbols
            .get(name)
            .unwrap_or_else(|| panic!("no symbol {name}"))
    }

    /// True while QEMU runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.ram);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
