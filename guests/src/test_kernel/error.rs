//! Errors of building and booting the test kernel.

use std::path::PathBuf;

use crate::qemu::QemuError;

/// What can go wrong building the test kernel or booting it.
#[derive(Debug, thiserror::Error)]
pub enum TestKernelError {
    /// A build tool (gcc, ld, nm) could not be started.
    #[error("cannot run {tool} to build the test kernel ({source}); install gcc and binutils")]
    ToolMissing {
        /// The tool.
        tool: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A build tool ran and failed.
    #[error("{command} failed: {stderr}")]
    ToolFailed {
        /// The command line.
        command: String,
        /// What the tool printed on stderr.
        stderr: String,
    },
    /// The build directory could not be created.
    #[error("create {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// No TCP port was free for the gdbstub.
    #[error("no free TCP port for the gdbstub: {0}")]
    NoFreePort(#[source] std::io::Error),
    /// An invalid boot option.
    #[error("invalid option: {0}")]
    BadOption(String),
    /// QEMU could not be started, or exited.
    #[error(transparent)]
    Qemu(#[from] QemuError),
    /// Not every vCPU reported on the serial console in time.
    #[error("the test kernel did not come up within {secs} s; its console: {console:?}")]
    BootTimeout {
        /// The time waited.
        secs: u64,
        /// The serial console so far.
        console: String,
    },
}
