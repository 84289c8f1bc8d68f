//! Guest RAM read straight from QEMU's shared file-backed memory backend.
//!
//! Guest-physical address P is at file offset P (true below the PCI hole, i.e. for guests
//! with less RAM than the machine's low-memory limit; addresses past the file fall back to
//! the stub). Only reads: code patched through the mapping is not seen by TCG.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::MemError;

/// A read-only mapping of the RAM file.
#[derive(Debug)]
pub struct SharedRam {
    ptr: *const u8,
    len: usize,
    path: PathBuf,
}

// SAFETY: the mapping is read-only and lives as long as the struct; reads take &self and copy
// bytes out, so sharing across threads cannot create aliasing &mut.
unsafe impl Send for SharedRam {}

impl SharedRam {
    /// Maps `path` read-only.
    pub fn open(path: &Path) -> std::io::Result<SharedRam> {
        use std::os::fd::AsRawFd;
        let f = File::open(path)?;
        let len = usize::try_from(f.metadata()?.len())
            .map_err(|_| std::io::Error::other("RAM file too large"))?;
        if len == 0 {
            return Err(std::io::Error::other("RAM file is empty"));
        }
        // SAFETY: a fresh shared read-only mapping of an open file, length from its metadata.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(SharedRam {
            ptr: ptr as *const u8,
            len,
            path: path.to_path_buf(),
        })
    }

    /// Size of guest RAM covered.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the file is empty (never, once opened).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True if `[phys, phys+len)` lies inside the file.
    pub fn contains(&self, phys: u64, len: usize) -> bool {
        phys.checked_add(len as u64)
            .is_some_and(|end| end <= self.len as u64)
    }

    /// Copies guest-physical bytes out.
    pub fn read(&self, phys: u64, buf: &mut [u8]) -> Result<(), MemError> {
        if !self.contains(phys, buf.len()) {
            return Err(MemError::Failed {
                addr: phys,
                reason: format!("physical address outside the {}-byte RAM file", self.len),
            });
        }
        // SAFETY: bounds checked above; the mapping is valid for self.len bytes. The guest is
        // stopped while we read, so the bytes are not changing under us.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ptr.add(phys as usize), buf.as_mut_ptr(), buf.len())
        };
        Ok(())
    }

    /// One little-endian u64 (a page-table entry).
    pub fn read_u64(&self, phys: u64) -> Result<u64, MemError> {
        let mut b = [0u8; 8];
        self.read(phys, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

impl Drop for SharedRam {
    fn drop(&mut self) {
        // SAFETY: ptr/len came from a successful mmap in open().
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}
