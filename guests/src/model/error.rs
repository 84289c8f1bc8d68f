//! Errors of the model guest's kernel cache, launcher and ground-truth parser.

use std::path::PathBuf;

/// What can go wrong providing, booting or reading the model guest.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No usable cache directory for the kernel image.
    #[error("no cache directory for the model kernel: set XDG_CACHE_HOME or HOME")]
    NoCacheDir,
    /// A file or directory could not be created, written, read or removed.
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
    /// qemu-system-x86_64 is not installed (or the given path does not exist).
    #[error(
        "QEMU not found ({0}); install it with `apt-get install qemu-system-x86` or pass its path"
    )]
    QemuNotFound(String),
    /// QEMU could not be started.
    #[error("cannot start {qemu}: {source}")]
    Spawn {
        /// The QEMU binary.
        qemu: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// QEMU exited before the guest said it was up.
    #[error("QEMU exited ({status}) before the model guest came up; its stderr: {stderr}")]
    QemuExited {
        /// Exit status as text.
        status: String,
        /// What QEMU printed on stderr.
        stderr: String,
    },
    /// The guest did not print its up line in time.
    #[error("the model guest did not come up within {secs} s (serial log {log})")]
    BootTimeout {
        /// The time waited.
        secs: u64,
        /// The serial log that was watched.
        log: PathBuf,
    },
    /// The guest did not complete the wanted rounds in time.
    #[error("the model guest did not complete {rounds} rounds within {secs} s (serial log {log})")]
    RoundsTimeout {
        /// Rounds wanted per CPU.
        rounds: usize,
        /// The time waited.
        secs: u64,
        /// The serial log that was watched.
        log: PathBuf,
    },
    /// The guest panicked (its console says so).
    #[error("the model guest panicked: {0}")]
    GuestPanic(String),
    /// An invalid boot option.
    #[error("invalid boot option: {0}")]
    BadOption(String),
    /// A DWARF version the model kernel is not built for.
    #[error("no model kernel for DWARF version {0} (built: 2, 4, 5)")]
    BadDwarfVersion(String),
    /// A malformed ground-truth line.
    #[error("serial log line {line}: {message}: {text}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
        /// The line itself.
        text: String,
    },
}

impl ModelError {
    /// Wraps an I/O error with what was being done and where.
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

impl From<crate::qemu::QemuError> for ModelError {
    fn from(e: crate::qemu::QemuError) -> Self {
        use crate::qemu::QemuError as Q;
        match e {
            Q::NotFound(what) => ModelError::QemuNotFound(what),
            Q::Spawn { qemu, source } => ModelError::Spawn { qemu, source },
            Q::Exited { status, stderr } => ModelError::QemuExited { status, stderr },
            Q::Io { what, path, source } => ModelError::Io { what, path, source },
            other => ModelError::BadOption(other.to_string()),
        }
    }
}
