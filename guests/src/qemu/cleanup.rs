//! Cleans up running guests when the process is interrupted: on SIGINT or SIGTERM, unless the
//! program installed its own handler, every registered QEMU is killed and its files removed,
//! then the signal takes its default course. The handler only uses async-signal-safe calls
//! (kill, unlink, rmdir, signal, raise) on data prepared before registration.

use std::cell::UnsafeCell;
use std::ffi::c_int;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};
use std::sync::Once;

const SLOTS: usize = 16;
const FILES: usize = 6;
const PATH_LEN: usize = 512;

const FREE: u8 = 0;
const BUSY: u8 = 1;
const LIVE: u8 = 2;

struct Slot {
    state: AtomicU8,
    pid: AtomicI32,
    /// NUL-terminated paths: files to unlink, then the directory to remove (empty = unused).
    paths: UnsafeCell<[[u8; PATH_LEN]; FILES + 1]>,
}

// SAFETY: `paths` is written only by the thread that moved `state` from FREE to BUSY, and read
// (by the signal handler) only while `state` is LIVE.
unsafe impl Sync for Slot {}

impl Slot {
    const fn new() -> Self {
        Slot {
            state: AtomicU8::new(FREE),
            pid: AtomicI32::new(0),
            paths: UnsafeCell::new([[0; PATH_LEN]; FILES + 1]),
        }
    }
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot::new();
static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];
static INSTALL: Once = Once::new();

/// A guest known to the signal handler; dropping it forgets the guest.
#[derive(Debug)]
pub(crate) struct Registration(usize);

impl Drop for Registration {
    fn drop(&mut self) {
        let slot = &TABLE[self.0];
        slot.state.store(BUSY, Ordering::Release);
        slot.state.store(FREE, Ordering::Release);
    }
}

/// Registers a QEMU process with the files and directory to remove if a signal ends us.
/// Returns None (no signal cleanup, Drop still works) if the table is full or a path is too long.
pub(crate) fn register(pid: u32, files: &[&Path], dir: &Path) -> Option<Registration> {
    if files.len() > FILES
        || files
            .iter()
            .chain(std::iter::once(&dir))
            .any(|p| p.as_os_str().len() >= PATH_LEN)
    {
        return None;
    }
    INSTALL.call_once(install_handlers);
    for (i, slot) in TABLE.iter().enumerate() {
        if slot
            .state
            .compare_exchange(FREE, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        // SAFETY: this thread owns the slot while it is BUSY.
        let paths = unsafe { &mut *slot.paths.get() };
        for buf in paths.iter_mut() {
            buf[0] = 0;
        }
        for (buf, p) in paths
            .iter_mut()
            .zip(files.iter().chain(std::iter::once(&dir)))
        {
            let bytes = p.as_os_str().as_bytes();
            buf[..bytes.len()].copy_from_slice(bytes);
            buf[bytes.len()] = 0;
        }
        // The directory always goes last.
        if files.len() < FILES {
            paths.swap(files.len(), FILES);
        }
        slot.pid.store(pid as i32, Ordering::Relaxed);
        slot.state.store(LIVE, Ordering::Release);
        return Some(Registration(i));
    }
    None
}

fn install_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: plain sigaction(2) calls; the handler is async-signal-safe.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction != libc::SIG_DFL
            {
                continue;
            }
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_signal as extern "C" fn(c_int) as usize;
            libc::sigemptyset(&mut new.sa_mask);
            libc::sigaction(sig, &new, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_signal(sig: c_int) {
    for slot in TABLE.iter() {
        if slot.state.load(Ordering::Acquire) != LIVE {
            continue;
        }
        // SAFETY: async-signal-safe calls on NUL-terminated buffers filled before LIVE.
        unsafe {
            libc::kill(slot.pid.load(Ordering::Relaxed), libc::SIGKILL);
            let paths = &*slot.paths.get();
            for buf in &paths[..FILES] {
                if buf[0] != 0 {
                    libc::unlink(buf.as_ptr().cast());
                }
            }
            if paths[FILES][0] != 0 {
                libc::rmdir(paths[FILES].as_ptr().cast());
            }
        }
    }
    // SAFETY: restore the default action and deliver the signal again.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}
