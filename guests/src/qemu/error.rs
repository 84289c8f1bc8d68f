//! Errors of starting and stopping QEMU and of checking what it is given.

use std::path::PathBuf;

/// What can go wrong preparing, starting or stopping a QEMU process.
#[derive(Debug, thiserror::Error)]
pub enum QemuError {
    /// qemu-system-x86_64 is not installed (or the given path does not exist).
    #[error(
        "QEMU not found ({0}); install it with `apt-get install qemu-system-x86` or pass its path"
    )]
    NotFound(String),
    /// QEMU could not be started.
    #[error("cannot start {qemu}: {source}")]
    Spawn {
        /// The QEMU binary.
        qemu: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// QEMU exited while it was expected to run.
    #[error("QEMU exited ({status}); its stderr: {stderr}")]
    Exited {
        /// Exit status as text.
        status: String,
        /// What QEMU printed on stderr.
        stderr: String,
    },
    /// QEMU neither came up nor exited in time.
    #[error("QEMU did not come up within {secs} s")]
    StartTimeout {
        /// The time waited.
        secs: u64,
    },
    /// A file or directory could not be created, read or removed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The disk image cannot be used (missing, a directory, unreadable, too short).
    #[error("disk image {path}: {reason}")]
    BadImage {
        /// The image given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An invalid option (memory size, vCPU count, accelerator, port).
    #[error("invalid option: {0}")]
    BadOption(String),
}

impl QemuError {
    /// Wraps an I/O error with what was being done and where.
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        QemuError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
