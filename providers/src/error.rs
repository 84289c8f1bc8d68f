//! What can go wrong while attaching to or tracing a guest.

/// A provider-level failure, with enough said for the user to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The gdbstub connection or a guest operation failed.
    #[error("{context}: {source}")]
    Target {
        /// What guestrace was doing.
        context: String,
        /// The gdbstub client's error.
        #[source]
        source: introspect::Error,
    },
    /// The kernel's debug file could not be used.
    #[error("{}", name_once(path, source))]
    Kernel {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: symbols::Error,
    },
    /// The guest profile refused (mismatched kernel file, DTrace loaded, ...).
    #[error(transparent)]
    Profile(#[from] guests::freebsd10::Error),
    /// The packet capture file could not be written.
    #[error(transparent)]
    Capture(#[from] crate::pcap::CaptureError),
    /// A probe the program asks for cannot be provided on this guest.
    #[error("{0}")]
    Unsupported(String),
    /// guestrace itself failed (a bug, or a fault injected by a test).
    #[error("internal error: {0}")]
    Internal(String),
}

/// `path: why`, without naming the file twice when `why` already starts with it.
fn name_once(path: &str, why: &symbols::Error) -> String {
    let why = why.to_string();
    if why.starts_with(path) {
        why
    } else {
        format!("{path}: {why}")
    }
}

impl Error {
    /// Wraps a gdbstub error with what was being done.
    pub(crate) fn target(context: impl Into<String>, source: introspect::Error) -> Error {
        Error::Target {
            context: context.into(),
            source,
        }
    }
}
