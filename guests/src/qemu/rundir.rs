//! Where launches keep their files, and the sweep of files left by killed guestrace processes.

use std::fs;
use std::path::{Path, PathBuf};

/// Run directories and RAM files are named `guestrace-<pid>-<n>`, so a sweep can tell whose
/// they are.
pub(crate) const PREFIX: &str = "guestrace-";

/// `$XDG_RUNTIME_DIR` when it exists, else the temporary directory.
pub(crate) fn base() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// Removes run directories and RAM files of guestrace processes that no longer exist (killed
/// before they could clean up; their QEMU died with them).
pub(crate) fn sweep_stale() {
    for dir in [base(), PathBuf::from("/dev/shm")] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(rest) = name.strip_prefix(PREFIX) else {
                continue;
            };
            let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if Path::new("/proc").join(pid.to_string()).exists() {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                let _ = fs::remove_dir_all(&path);
            } else {
                let _ = fs::remove_file(&path);
            }
        }
    }
}
