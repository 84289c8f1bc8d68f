//! The model kernel images, built by build.rs for DWARF 2, 4 and 5 and embedded in the crate,
//! written once to a cache directory keyed by their content hash so that an installed binary
//! works anywhere.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ModelError;

mod hashes {
    include!(concat!(env!("OUT_DIR"), "/kernel_hashes.rs"));
}

static DWARF2: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kernel-dwarf2.elf"));
static DWARF4: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kernel-dwarf4.elf"));
static DWARF5: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kernel-dwarf5.elf"));

/// The DWARF version of the model kernel's debug information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DwarfVersion {
    /// DWARF 2, as FreeBSD 10's clang emitted (the default).
    #[default]
    V2,
    /// DWARF 4.
    V4,
    /// DWARF 5.
    V5,
}

impl DwarfVersion {
    /// Every version the kernel is built for.
    pub const ALL: [DwarfVersion; 3] = [DwarfVersion::V2, DwarfVersion::V4, DwarfVersion::V5];

    /// The version number (2, 4 or 5).
    pub fn number(self) -> u16 {
        match self {
            DwarfVersion::V2 => 2,
            DwarfVersion::V4 => 4,
            DwarfVersion::V5 => 5,
        }
    }

    fn image(self) -> (&'static [u8], u64) {
        match self {
            DwarfVersion::V2 => (DWARF2, hashes::HASH_DWARF2),
            DwarfVersion::V4 => (DWARF4, hashes::HASH_DWARF4),
            DwarfVersion::V5 => (DWARF5, hashes::HASH_DWARF5),
        }
    }
}

impl fmt::Display for DwarfVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

impl FromStr for DwarfVersion {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().trim_start_matches("dwarf").trim_start_matches('-') {
            "2" => Ok(DwarfVersion::V2),
            "4" => Ok(DwarfVersion::V4),
            "5" => Ok(DwarfVersion::V5),
            other => Err(ModelError::BadDwarfVersion(other.to_string())),
        }
    }
}

/// The embedded ELF image of the model kernel.
pub fn kernel_bytes(dwarf: DwarfVersion) -> &'static [u8] {
    dwarf.image().0
}

fn cache_dir() -> Result<PathBuf, ModelError> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("guestrace"));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(home).join(".cache").join("guestrace"));
    }
    // No home (a bare service environment): the temp dir still works, just less durably.
    let tmp = std::env::temp_dir();
    if tmp.is_dir() {
        Ok(tmp.join("guestrace-cache"))
    } else {
        Err(ModelError::NoCacheDir)
    }
}

/// A path to the model kernel's ELF file (with full debug info), written to the cache on first
/// use: `$XDG_CACHE_HOME/guestrace`, `~/.cache/guestrace` or, without a home, the temp
/// dir's `guestrace-cache`, named by its content hash.
pub fn kernel_elf(dwarf: DwarfVersion) -> Result<PathBuf, ModelError> {
    let (bytes, hash) = dwarf.image();
    let dir = cache_dir()?;
    let path = dir.join(format!(
        "model-kernel-dwarf{}-{hash:016x}.elf",
        dwarf.number()
    ));
    if fs::metadata(&path)
        .map(|m| m.len() == bytes.len() as u64)
        .unwrap_or(false)
    {
        return Ok(path);
    }
    fs::create_dir_all(&dir).map_err(|e| ModelError::io("create", &dir, e))?;
    // Write under a private name and rename, so concurrent first uses never see half a file.
    // Unique per call: threads of one process may race here too.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("kernel"),
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let mut f = fs::File::create(&tmp).map_err(|e| ModelError::io("create", &tmp, e))?;
    f.write_all(bytes)
        .map_err(|e| ModelError::io("write", &tmp, e))?;
    f.sync_all().map_err(|e| ModelError::io("sync", &tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| ModelError::io("rename to", &path, e))?;
    Ok(path)
}
