//! Following `.gnu_debuglink` from a stripped kernel to its `kernel.symbols` / `kernel.debug`.

use crate::elf::ElfFile;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Where gdb and FreeBSD look for a debug file named `name` linked from `exe`: next to it
/// (FreeBSD 10 installs /boot/kernel/kernel.symbols there), in `.debug/`, and under
/// /usr/lib/debug mirroring the executable's directory.
fn candidates(exe: &Path, name: &str) -> Vec<PathBuf> {
    let dir = exe.parent().unwrap_or_else(|| Path::new("."));
    let mut out = vec![dir.join(name), dir.join(".debug").join(name)];
    if let Ok(abs) = dir.canonicalize() {
        let rel = abs.strip_prefix("/").unwrap_or(&abs);
        out.push(Path::new("/usr/lib/debug").join(rel).join(name));
    }
    out
}

/// Finds and maps the debug file `exe` links to, checking the CRC the link records.
pub(crate) fn follow(exe: &ElfFile, name: &str, crc: u32) -> Result<ElfFile> {
    let tried = candidates(exe.path(), name);
    for path in &tried {
        // The link may name the stripped file itself when a build misconfigures objcopy.
        if !path.is_file() || same_file(path, exe.path()) {
            continue;
        }
        let debug = ElfFile::open(path)?;
        let actual = crc32fast::hash(debug.bytes());
        if actual != crc {
            return Err(Error::DebuglinkMismatch {
                path: exe.path().to_path_buf(),
                debug: path.clone(),
                expected: crc,
                actual,
            });
        }
        return Ok(debug);
    }
    let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(Error::NoDebugInfo {
        path: exe.path().to_path_buf(),
        what: format!(
            "no .debug_info; its .gnu_debuglink names '{name}', not found at {}",
            list.join(", ")
        ),
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
