//! A kernel with no guest profile: the small test kernel of introspect's tests
//! (`guests::test_kernel`; not FreeBSD, no `version` banner). fbt, profile and dtrace work on it; ip/tcp/udp and execname are refused by name.

use std::process::Command;

use guests::test_kernel::{TestBoot, TestKernel, TestVm};

fn guestrace() -> &'static str {
    env!("CARGO_BIN_EXE_guestrace")
}

/// Boots the test kernel under QEMU with one vCPU; QEMU is killed and its files removed on drop.
fn boot() -> TestVm {
    TestKernel::shared()
        .and_then(|k| {
            k.boot(&TestBoot {
                smp: 1,
                ..TestBoot::default()
            })
        })
        .unwrap_or_else(|e| panic!("{e}"))
}

fn trace(vm: &TestVm, program: &[&str]) -> std::process::Output {
    Command::new(guestrace())
        .args(program)
        .arg("--gdb")
        .arg(vm.gdb_address())
        .arg("--kernel")
        .arg(vm.kernel_elf())
        .arg("--ram")
        .arg(vm.ram_file())
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
    // Returns fire at recurse's `ret`s, so they count the calls in flight when tracing began
    // and miss those still running at the end: both at most the recursion depth per vCPU.
    assert!(n[0].abs_diff(n[1]) <= 16, "{stdout}");
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
