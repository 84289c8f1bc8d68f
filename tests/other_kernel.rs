//! A kernel with no guest profile: introspect's small test kernel (not FreeBSD, no `version`
//! banner). fbt, profile and dtrace work on it; ip/tcp/udp and execname are refused by name.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn guestrace() -> &'static str {
    env!("CARGO_BIN_EXE_guestrace")
}

/// QEMU running the test kernel; killed and its files removed on drop.
struct Vm {
    child: Child,
    dir: PathBuf,
    ram: PathBuf,
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.ram);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(c: &mut Command) {
    let s = c.status().expect("run a build tool");
    assert!(s.success(), "{c:?} failed");
}

/// Builds introspect's test kernel (gcc, ld) and boots it under QEMU with one vCPU.
fn boot() -> Vm {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("introspect/tests/kernel");
    let dir = std::env::temp_dir().join(format!("guestrace-other-kernel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    run(Command::new("gcc")
        .args([
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
        ])
        .arg(src.join("kernel.c"))
        .arg("-o")
        .arg(dir.join("kernel.o")));
    run(Command::new("gcc")
        .arg("-c")
        .arg(src.join("boot.S"))
        .arg("-o")
        .arg(dir.join("boot.o")));
    run(Command::new("ld")
        .args(["-n", "--no-warn-rwx-segments", "-T"])
        .arg(src.join("link.ld"))
        .arg("-o")
        .arg(dir.join("kernel.elf"))
        .arg(dir.join("boot.o"))
        .arg(dir.join("kernel.o")));
    let ram = PathBuf::from(format!(
        "/dev/shm/guestrace-other-kernel-{}.ram",
        std::process::id()
    ));
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
        .args(["-monitor", "none", "-no-reboot", "-smp", "1", "-object"])
        .arg(format!(
            "memory-backend-file,id=mem,size=64M,mem-path={},share=on",
            ram.display()
        ))
        .args(["-machine", "pc,memory-backend=mem", "-kernel"])
        .arg(dir.join("kernel.elf"))
        .arg("-serial")
        .arg(format!("file:{}", dir.join("serial.log").display()))
        .arg("-gdb")
        .arg(format!(
            "unix:{},server=on,wait=off",
            dir.join("gdb.sock").display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("qemu-system-x86_64");
    let vm = Vm { child, dir, ram };
    let start = Instant::now();
    while !std::fs::read_to_string(vm.dir.join("serial.log"))
        .unwrap_or_default()
        .contains("up cpu0")
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the test kernel did not boot"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    vm
}

fn trace(vm: &Vm, program: &[&str]) -> std::process::Output {
    Command::new(guestrace())
        .args(program)
        .arg("--gdb")
        .arg(vm.dir.join("gdb.sock"))
        .arg("--kernel")
        .arg(vm.dir.join("kernel.elf"))
        .arg("--ram")
        .arg(&vm.ram)
        .output()
        .expect("run guestrace")
}

#[test]
fn fbt_profile_and_dtrace_work_on_a_kernel_without_a_guest_profile() {
    let vm = boot();
    let out = trace(
        &vm,
        &[
            "-q",
            "-n",
            "fbt::recurse:entry { @calls = count(); }",
            "-n",
            "fbt::recurse:return { @returns = count(); }",
            "-n",
            "profile-97 { @samples = count(); }",
            "-n",
            "tick-1s { printa(\"%@d %@d %@d\\n\", @calls, @returns, @samples); exit(0); }",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("no guest profile for this kernel"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let n: Vec<u64> = stdout
        .split_whitespace()
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect();
    assert_eq!(n.len(), 3, "{stdout}");
    assert!(n[0] > 0, "recurse was entered: {stdout}");
    // Every entry but the calls still running when the tick came has returned.
    assert!(n[1] <= n[0] && n[0] - n[1] <= 16, "{stdout}");
    assert!(
        (40..=200).contains(&n[2]),
        "about 97 samples in a second: {stdout}"
    );

    for (program, what) in [
        (
            "fbt::recurse:entry { trace(execname); }",
            "execname is not available",
        ),
        ("ip:::send", "does not match any probes"),
    ] {
        let out = trace(&vm, &["-n", program]);
        assert_eq!(out.status.code(), Some(1), "{program}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(what),
            "{program}"
        );
    }
}
