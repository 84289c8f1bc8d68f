//! Typed errors of the crate.

use std::io;
use std::time::Duration;

/// Everything that can go wrong talking to a gdbstub.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The socket could not be opened.
    #[error("cannot connect to the gdbstub at {addr}: {source}")]
    Connect {
        /// The address as given (socket path or host:port).
        addr: String,
        /// What the OS said.
        source: io::Error,
    },
    /// Reading or writing the socket failed.
    #[error("I/O error on the gdbstub connection: {0}")]
    Io(#[from] io::Error),
    /// The stub closed the connection.
    #[error("the gdbstub closed the connection (is QEMU still running?)")]
    Closed,
    /// The stub did not answer in time.
    #[error("the gdbstub did not answer within {after:?} while waiting for {waiting_for}")]
    Timeout {
        /// How long we waited.
        after: Duration,
        /// What we were waiting for.
        waiting_for: String,
    },
    /// The stub sent something that is not valid RSP.
    #[error("malformed reply from the gdbstub: {0}")]
    Protocol(String),
    /// The stub answered a request with `Exx`.
    #[error("the gdbstub answered {request} with error E{code:02x}")]
    Stub {
        /// The request, abbreviated.
        request: String,
        /// The error number.
        code: u8,
    },
    /// The stub does not implement a packet we need.
    #[error("the gdbstub does not support {0}")]
    Unsupported(String),
    /// A register name that the target description does not define.
    #[error("register {0} is not in the target description")]
    NoSuchRegister(String),
    /// A guest memory access failed.
    #[error(transparent)]
    Memory(#[from] MemError),
    /// An operation that needs the VM stopped was attempted while it runs, or vice versa.
    #[error("the VM is {0}")]
    State(&'static str),
    /// A breakpoint could not be planted or removed.
    #[error("breakpoint at {addr:#x}: {reason}")]
    Breakpoint {
        /// Guest virtual address.
        addr: u64,
        /// Why.
        reason: String,
    },
    /// The cleanup handle was triggered: the guest has been restored and left running.
    #[error("tracing was cancelled; the guest was restored and left running")]
    Cancelled,
    /// The VM went away (QEMU quit or the guest reset the stub).
    #[error("the VM exited (stop reply {0})")]
    Exited(String),
    /// The undo journal could not be read or written.
    #[error("undo journal {path}: {source}")]
    Journal {
        /// Journal file.
        path: String,
        /// What the OS said.
        source: io::Error,
    },
}

/// Why a guest memory read failed; the error type of [`crate::GuestMemory`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemError {
    /// No mapping for this virtual address (the stub's E14, or a non-present page table entry).
    #[error("guest address {addr:#x} is not mapped")]
    Unmapped {
        /// First address of the access that failed.
        addr: u64,
    },
    /// The access could not be carried out for another reason.
    #[error("reading guest address {addr:#x} failed: {reason}")]
    Failed {
        /// First address of the access that failed.
        addr: u64,
        /// What went wrong.
        reason: String,
    },
}

/// Result alias of the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
