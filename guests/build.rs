//! Builds the model kernel (guests/kernel) with gcc and ld, once per DWARF version, into OUT_DIR.
//!
//! The flags are fixed and source paths are mapped to a constant prefix, so the same sources
//! give the same bytes on every machine. A content hash of each ELF is written next to it for
//! the cache file name.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

const DWARF_VERSIONS: [u8; 3] = [2, 4, 5];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let src = manifest.join("kernel");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    println!("cargo:rerun-if-changed=kernel");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GUESTRACE_MODEL_CC");

    let mut sources = Vec::new();
    collect_sources(&src, &mut sources);
    sources.sort();

    let handles: Vec<_> = DWARF_VERSIONS
        .iter()
        .map(|&v| {
            let (src, out, sources) = (src.clone(), out.clone(), sources.clone());
            thread::spawn(move || build_one(&src, &out, &sources, v))
        })
        .collect();
    let mut consts = String::new();
    for (v, h) in DWARF_VERSIONS.iter().zip(handles) {
        let hash = h.join().expect("kernel build thread panicked");
        consts.push_str(&format!("/// FNV-1a 64 of the DWARF {v} kernel.\npub const HASH_DWARF{v}: u64 = {hash:#018x};\n"));
    }
    fs::write(out.join("kernel_hashes.rs"), consts).expect("write kernel_hashes.rs");
}

fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read kernel dir") {
        let path = entry.expect("dir entry").path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("c") | Some("S") => out.push(path),
            _ => {}
        }
    }
}

fn build_one(src: &Path, out: &Path, sources: &[PathBuf], dwarf: u8) -> u64 {
    let cc = env::var("GUESTRACE_MODEL_CC").unwrap_or_else(|_| "gcc".to_string());
    let obj_dir = out.join(format!("obj-dwarf{dwarf}"));
    let _ = fs::remove_dir_all(&obj_dir);
    fs::create_dir_all(&obj_dir).expect("create object dir");
    let include = run_capture(Command::new(&cc).arg("-print-file-name=include"), &cc);
    let mut cmd = Command::new(&cc);
    cmd.current_dir(&obj_dir)
        .args([
            "-c",
            "-O2",
            "-pipe",
            "-std=gnu99",
            "-ffreestanding",
            "-fno-builtin",
            "-nostdinc",
            "-mcmodel=kernel",
            "-mno-red-zone",
            "-mno-mmx",
            "-mno-sse",
            "-mno-sse2",
            "-msoft-float",
            "-fno-asynchronous-unwind-tables",
            "-fno-omit-frame-pointer",
            "-mno-omit-leaf-frame-pointer",
            "-fno-pic",
            "-fno-pie",
            "-fno-stack-protector",
            "-fno-strict-aliasing",
            "-fno-common",
            "-fno-ident",
            "-Wall",
            "-Wno-address-of-packed-member",
            "-Wno-cast-function-type",
        ])
        .arg(format!("-gdwarf-{dwarf}"))
        .arg("-isystem")
        .arg(include.trim())
        .arg("-I")
        .arg(src.join("include"))
        // Paths in the debug info and __FILE__ do not depend on where the checkout lives.
        .arg(format!(
            "-ffile-prefix-map={}=/usr/src/sys/model",
            src.display()
        ))
        .arg(format!(
            "-ffile-prefix-map={}=/usr/obj/model",
            obj_dir.display()
        ))
        .args(sources);
    run(&mut cmd, &cc);

    let mut objects: Vec<PathBuf> = fs::read_dir(&obj_dir)
        .expect("read object dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("o"))
        .collect();
    objects.sort();
    let elf = out.join(format!("kernel-dwarf{dwarf}.elf"));
    let mut ld = Command::new("ld");
    ld.args([
        "-nostdlib",
        "-static",
        "--build-id=none",
        "-z",
        "max-page-size=0x1000",
        "--no-warn-rwx-segments",
        "-T",
    ])
    .arg(src.join("kernel.ld"))
    .arg("-o")
    .arg(&elf)
    .args(&objects);
    run(&mut ld, "ld");
    let bytes = fs::read(&elf).expect("read linked kernel");
    fnv1a64(&bytes)
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn run(cmd: &mut Command, what: &str) {
    let status = cmd.status().unwrap_or_else(|e| {
        panic!("cannot run {what} to build the model kernel ({e}); install gcc and binutils (apt-get install gcc binutils)")
    });
    assert!(
        status.success(),
        "{what} failed building the model kernel: {cmd:?}"
    );
}

fn run_capture(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {what} to build the model kernel ({e}); install gcc and binutils (apt-get install gcc binutils)")
    });
    assert!(out.status.success(), "{what} failed: {cmd:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
