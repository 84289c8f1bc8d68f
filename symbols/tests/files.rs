//! Opening files: a stripped executable found its debug file through .gnu_debuglink, and every
//! way a file can be unusable gives a typed error naming the file and what is missing.

mod common;

use common::{assert_agrees, build, facts, run, Scope};
use std::process::Command;
use symbols::{Error, KernelImage};

/// `objcopy --only-keep-debug` + `--strip-all --add-gnu-debuglink`, as FreeBSD's kernel build
/// makes kernel + kernel.symbols.
fn split(dir: &std::path::Path, exe: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let debug = dir.join("kernel.symbols");
    let stripped = dir.join("kernel");
    run(Command::new("objcopy")
        .arg("--only-keep-debug")
        .arg(exe)
        .arg(&debug));
    run(Command::new("objcopy")
        .arg("--strip-all")
        .arg(format!("--add-gnu-debuglink={}", debug.display()))
        .arg(exe)
        .arg(&stripped));
    (stripped, debug)
}

#[test]
fn stripped_kernel_follows_debuglink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = build(dir.path(), "layouts", "gcc", &["-gdwarf-2"]);
    let facts = facts(&run(&mut Command::new(&exe)));
    let (stripped, debug) = split(dir.path(), &exe);
    let image = KernelImage::open(&stripped).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(image.debug_path(), debug.as_path());
    assert!(image
        .sections()
        .expect("sections")
        .iter()
        .all(|s| !s.name.starts_with(".debug")));
    // Everything, including the version string read from the stripped file's .rodata (the
    // debug file has it as NOBITS) and symbols from the debug file's .symtab.
    assert_agrees(&image, &facts, Scope::Everything);
}

#[test]
fn explicit_debug_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = build(dir.path(), "layouts", "gcc", &["-gdwarf-5"]);
    let facts = facts(&run(&mut Command::new(&exe)));
    let (stripped, debug) = split(dir.path(), &exe);
    // A debug file under another name, as when the user passes --kernel kernel.debug.
    let renamed = dir.path().join("kernel.debug");
    std::fs::rename(&debug, &renamed).expect("rename");
    assert!(KernelImage::open(&stripped).is_err());
    let image = KernelImage::open_with_debug(&stripped, &renamed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(image.files(), [stripped, renamed]);
    assert_agrees(&image, &facts, Scope::Everything);
}

#[test]
fn missing_debug_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = build(dir.path(), "layouts", "gcc", &["-gdwarf-4"]);
    let (stripped, debug) = split(dir.path(), &exe);
    std::fs::remove_file(&debug).expect("rm");
    let err = KernelImage::open(&stripped).err().expect("must fail");
    assert!(matches!(err, Error::NoDebugInfo { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("kernel.symbols") && msg.contains(&stripped.display().to_string()),
        "{msg}"
    );
}

#[test]
fn wrong_debug_file_is_rejected_by_crc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = build(dir.path(), "layouts", "gcc", &["-gdwarf-4"]);
    let (stripped, debug) = split(dir.path(), &exe);
    let other = build(dir.path(), "other", "gcc", &["-gdwarf-5"]);
    run(Command::new("objcopy")
        .arg("--only-keep-debug")
        .arg(&other)
        .arg(&debug));
    let err = KernelImage::open(&stripped).err().expect("must fail");
    assert!(matches!(err, Error::DebuglinkMismatch { .. }), "{err:?}");
}

#[test]
fn missing_file() {
    let err = KernelImage::open("/nonexistent/kernel.debug")
        .err()
        .expect("must fail");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/kernel.debug"));
}

#[test]
fn not_elf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kernel");
    std::fs::write(&path, "#!/bin/sh\necho not a kernel\n").expect("write");
    let err = KernelImage::open(&path).err().expect("must fail");
    assert!(matches!(err, Error::NotElf { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn truncated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = build(dir.path(), "layouts", "gcc", &["-gdwarf-4"]);
    let bytes = std::fs::read(&exe).expect("read");
    for keep in [20, bytes.len() / 2, bytes.len() - 1] {
        let path = dir.path().join(format!("cut{keep}"));
        std::fs::write(&path, &bytes[..keep]).expect("write");
        let err = KernelImage::open(&path).err().expect("must fail");
        assert!(matches!(err, Error::Truncated { .. }), "{keep}: {err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(&path.display().to_string()) && msg.contains("truncated"),
            "{msg}"
        );
    }
}

#[test]
fn no_debug_info() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = build(dir.path(), "layouts", "gcc", &["-g0"]);
    let err = KernelImage::open(&exe).err().expect("must fail");
    assert!(matches!(err, Error::NoDebugInfo { .. }), "{err:?}");
    assert!(err.to_string().contains(".debug_info"), "{err}");
}

#[test]
fn lookups_of_absent_names_fail_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = build(dir.path(), "layouts", "gcc", &["-gdwarf-4"]);
    let image = KernelImage::open(&exe).expect("open");
    assert!(matches!(
        image.find_type("struct no_such"),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        image.function("no_such_fn"),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        image.global("no_such_var"),
        Err(Error::NotFound { .. })
    ));
    let tcpcb = image.find_type("struct tcpcb").expect("tcpcb");
    let err = image
        .member_path(tcpcb, "t_inpcb.inp_ppcb")
        .expect_err("pointer is not a struct");
    assert!(err.to_string().contains("struct inpcb *"), "{err}");
    assert!(matches!(
        image.member_path(tcpcb, "t_nope"),
        Err(Error::NoMember { .. })
    ));
    assert!(matches!(image.find_type("int [4]"), Err(Error::Invalid(_))));
    assert_eq!(image.symbolize(1).expect("symbolize"), None);
}
