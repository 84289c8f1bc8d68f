//! Test support: compiles the C programs in tests/c with a real compiler, runs them for the
//! compiler's own view of each layout, and compares that with what the index says.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use symbols::{KernelImage, TypeKind};

/// Directory of the C sources.
pub fn c_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c")
}

/// True when `tool` runs.
pub fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs a command, panicking with its stderr when it fails (a test-environment failure).
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds layouts.c + other.c into `dir/name` with `compiler` and `flags`.
pub fn build(dir: &Path, name: &str, compiler: &str, flags: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let c = c_dir();
    run(Command::new(compiler)
        .args(flags)
        .args(["-O2", "-no-pie", "-I"])
        .arg(&c)
        .arg("-o")
        .arg(&out)
        .arg(c.join("layouts.c"))
        .arg(c.join("other.c")));
    out
}

/// One fact the compiled program printed about itself.
#[derive(Debug, Clone)]
pub enum Fact {
    Size(String, u64),
    Align(String, u64),
    Offset(String, String, u64),
    Bits(String, String, u64, u64),
    Func(String, u64),
    ElfFunc(String, u64),
    Global(String, u64),
    Enum(String, i64),
    Version(String),
}

/// Parses the program's output (see the comment at the top of layouts.c).
pub fn facts(output: &str) -> Vec<Fact> {
    let num = |s: &str| -> u64 {
        match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).expect("hex"),
            None => s.parse().expect("number"),
        }
    };
    output
        .lines()
        .map(|line| {
            let (kind, rest) = line.split_once(' ').expect("fact line");
            let words: Vec<&str> = rest.split(' ').collect();
            let n = words.len();
            match kind {
                "size" => Fact::Size(words[..n - 1].join(" "), num(words[n - 1])),
                "align" => Fact::Align(words[..n - 1].join(" "), num(words[n - 1])),
                "offset" => Fact::Offset(
                    words[..n - 2].join(" "),
                    words[n - 2].into(),
                    num(words[n - 1]),
                ),
                "bits" => Fact::Bits(
                    words[..n - 3].join(" "),
                    words[n - 3].into(),
                    num(words[n - 2]),
                    num(words[n - 1]),
                ),
                "func" => Fact::Func(words[0].into(), num(words[1])),
                "elffunc" => Fact::ElfFunc(words[0].into(), num(words[1])),
                "global" => Fact::Global(words[0].into(), num(words[1])),
                "enum" => Fact::Enum(words[0].into(), words[1].parse().expect("enum value")),
                "version" => Fact::Version(rest.into()),
                other => panic!("unknown fact {other}"),
            }
        })
        .collect()
}

/// Which facts a file can answer: a relocatable object has no addresses.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everything,
    TypesOnly,
}

/// Compares every fact with the index; returns one line per disagreement, and the number of
/// facts checked.
pub fn check(image: &KernelImage, facts: &[Fact], scope: Scope) -> (Vec<String>, usize) {
    let mut bad = Vec::new();
    let mut checked = 0;
    for fact in facts {
        let outcome: Result<(), String> = (|| {
            let ty = |name: &str| image.find_type(name).map_err(|e| e.to_string());
            match fact {
                Fact::Size(t, n) => {
                    let got = image.type_info(ty(t)?).map_err(|e| e.to_string())?.size;
                    (got == Some(*n))
                        .then_some(())
                        .ok_or(format!("size {t}: {got:?} != {n}"))
                }
                Fact::Align(t, n) => {
                    let got = image.type_info(ty(t)?).map_err(|e| e.to_string())?.align;
                    (got == Some(*n))
                        .then_some(())
                        .ok_or(format!("align {t}: {got:?} != {n}"))
                }
                Fact::Offset(t, p, n) => {
                    let m = image.member_path(ty(t)?, p).map_err(|e| e.to_string())?;
                    (m.offset == *n && m.bit_offset == n * 8 && m.bit_size.is_none())
                        .then_some(())
                        .ok_or(format!("offset {t} {p}: {m:?} != {n}"))
                }
                Fact::Bits(t, p, off, width) => {
                    let m = image.member_path(ty(t)?, p).map_err(|e| e.to_string())?;
                    (m.bit_offset == *off && m.bit_size == Some(*width) && m.offset == off / 8)
                        .then_some(())
                        .ok_or(format!("bits {t} {p}: {m:?} != {off}:{width}"))
                }
                Fact::Enum(name, value) => {
                    let info = image
                        .type_info(ty("enum tcp_state_like")?)
                        .map_err(|e| e.to_string())?;
                    let TypeKind::Enum(list) = info.kind else {
                        return Err("not an enum".into());
                    };
                    list.iter()
                        .any(|e| e.name == *name && e.value == *value)
                        .then_some(())
                        .ok_or(format!("enumerator {name}={value} missing from {list:?}"))
                }
                _ if scope == Scope::TypesOnly => Ok(()),
                Fact::Func(name, addr) => {
                    let f = image.function(name).map_err(|e| e.to_string())?;
                    if f.address != *addr || f.size == 0 {
                        return Err(format!(
                            "function {name}: {:#x}+{} != {addr:#x}",
                            f.address, f.size
                        ));
                    }
                    let sym = image.symbolize(addr + 1).map_err(|e| e.to_string())?;
                    (sym == Some((name.clone(), 1)))
                        .then_some(())
                        .ok_or(format!("symbolize {name}+1: {sym:?}"))
                }
                Fact::ElfFunc(name, addr) => {
                    let f = image.function(name).map_err(|e| e.to_string())?;
                    let matching = image
                        .functions_matching("asm_*")
                        .map_err(|e| e.to_string())?;
                    (f.address == *addr
                        && !f.from_dwarf
                        && f.size == 1
                        && matching == [name.clone()])
                    .then_some(())
                    .ok_or(format!(
                        "ELF-only function {name}: {f:?}, glob {matching:?}"
                    ))
                }
                Fact::Global(name, addr) => {
                    let g = image.global(name).map_err(|e| e.to_string())?;
                    (g.address == *addr && g.ty.is_some())
                        .then_some(())
                        .ok_or(format!("global {name}: {g:?} != {addr:#x}"))
                }
                Fact::Version(text) => {
                    let bytes = image.global_bytes("version").map_err(|e| e.to_string())?;
                    let mut want = text.as_bytes().to_vec();
                    want.push(0);
                    (bytes == want)
                        .then_some(())
                        .ok_or(format!("version bytes {bytes:?}"))
                }
            }
        })();
        match outcome {
            Ok(()) => checked += 1,
            Err(e) => bad.push(e),
        }
    }
    (bad, checked)
}

/// Checks that `image` agrees with every fact, panicking with the full list of disagreements.
pub fn assert_agrees(image: &KernelImage, facts: &[Fact], scope: Scope) {
    let (bad, checked) = check(image, facts, scope);
    assert!(
        bad.is_empty(),
        "{} of {} facts disagree:\n{}",
        bad.len(),
        facts.len(),
        bad.join("\n")
    );
    assert!(checked > 80, "only {checked} facts checked");
}

/// Checks that function `name` has FreeBSD's sosend signature (fbt's args[0..6]) and returns it.
pub fn assert_sosend_signature(image: &KernelImage, name: &str) -> symbols::Function {
    let f = image.function(name).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<_> = f
        .params
        .iter()
        .map(|p| p.name.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["so", "addr", "uio", "top", "control", "flags", "td"],
        "{name}"
    );
    let types: Vec<_> = f
        .params
        .iter()
        .map(|p| image.c_name(p.ty).expect("c_name"))
        .collect();
    let want = [
        "struct socket *",
        "struct sockaddr *",
        "struct uio *",
        "struct mbuf *",
        "struct mbuf *",
        "int",
        "struct thread *",
    ];
    assert_eq!(types, want, "{name}");
    f
}
