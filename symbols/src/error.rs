//! Typed errors: every one names the file (or the thing looked up) and what is wrong.

use std::path::PathBuf;

/// Everything that can go wrong opening a kernel image or querying it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened, read or mapped.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file does not start with the ELF magic number.
    #[error("{path}: not an ELF file (no \\x7fELF magic)")]
    NotElf {
        /// The file concerned.
        path: PathBuf,
    },
    /// The file is ELF but of a kind this index does not read.
    #[error("{path}: unsupported ELF file: {what}")]
    Unsupported {
        /// The file concerned.
        path: PathBuf,
        /// What is unsupported (class, byte order, ...).
        what: String,
    },
    /// The file ends before data its headers describe.
    #[error("{path}: truncated: {what} needs bytes up to {needed} but the file has {actual}")]
    Truncated {
        /// The file concerned.
        path: PathBuf,
        /// The header or section that runs past the end.
        what: String,
        /// The end offset the headers require.
        needed: u64,
        /// The file's real length.
        actual: u64,
    },
    /// The ELF structures are inconsistent.
    #[error("{path}: malformed ELF: {what}")]
    Malformed {
        /// The file concerned.
        path: PathBuf,
        /// What the parser reported.
        what: String,
    },
    /// Neither the file nor a debug file it links to has DWARF.
    #[error("{path}: no debug info: {what}")]
    NoDebugInfo {
        /// The file concerned.
        path: PathBuf,
        /// What is missing, and where the debug file was looked for.
        what: String,
    },
    /// The file named by `.gnu_debuglink` exists but its CRC differs.
    #[error("{path}: debug file {debug} does not match (.gnu_debuglink CRC {expected:#010x}, file has {actual:#010x})")]
    DebuglinkMismatch {
        /// The stripped file.
        path: PathBuf,
        /// The debug file found.
        debug: PathBuf,
        /// CRC recorded in the stripped file.
        expected: u32,
        /// CRC of the debug file.
        actual: u32,
    },
    /// A debug section could not be decompressed.
    #[error("{path}: cannot decompress section {section}: {what}")]
    Decompress {
        /// The file concerned.
        path: PathBuf,
        /// The section name.
        section: String,
        /// The decompressor's complaint.
        what: String,
    },
    /// The DWARF data is malformed.
    #[error("{path}: bad DWARF at .debug_info offset {offset:#x}: {source}")]
    Dwarf {
        /// The file holding the DWARF.
        path: PathBuf,
        /// Where in `.debug_info` (0 when unknown).
        offset: u64,
        /// gimli's complaint.
        source: gimli::Error,
    },
    /// A type, function, global or symbol of this name is not in the image.
    #[error("no {kind} named '{name}' in {path}")]
    NotFound {
        /// "type", "function", "global", "symbol", ...
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The file searched.
        path: PathBuf,
    },
    /// A member path did not resolve.
    #[error("{ty} has no member '{member}'")]
    NoMember {
        /// C name of the type searched.
        ty: String,
        /// The path component that failed.
        member: String,
    },
    /// A query was malformed or applied to the wrong kind of type.
    #[error("{0}")]
    Invalid(String),
    /// An address is not backed by bytes in the file (not mapped, or in .bss).
    #[error("{path}: no file data at address {address:#x} (+{len})")]
    NoData {
        /// The file searched.
        path: PathBuf,
        /// The address asked for.
        address: u64,
        /// The length asked for.
        len: u64,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
