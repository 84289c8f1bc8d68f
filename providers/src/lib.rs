//! The DTrace providers (dtrace, profile, fbt, sdt, ip, tcp, udp) and the tracing session that
//! joins a guest (`introspect`), its kernel's debug info (`symbols`) and a D program (`lang`).
//!
//! Owns: probe discovery and enabling, turning guest stops into probe firings, the translators
//! as D library files, and the event loop.
//!
//! Must not depend on: the command line. The binary only wires options into this crate.
//!
//! Use: [`Guest::attach`] (or nothing, for BEGIN/END/profile-only scripts), then
//! [`program_sources`] + [`lang::compile`] against [`Guest::catalog`] and [`Guest::types`],
//! then [`Guest::run`] or [`run_without_guest`].

mod catalog;
mod clock;
mod context;
pub mod dlib;
mod epilogue;
mod error;
mod faults;
mod fbt;
mod guest;
mod hostrun;
pub mod json;
mod kernel;
mod output;
pub mod pcap;
pub mod progress;
pub mod signals;
mod timers;
mod trace;
mod types;

pub use catalog::{fbt_patterns, needs_guest, Catalog, ProbeSource, FBT_LIMIT};
pub use error::Error;
pub use guest::{listing, Attach, Guest};
pub use hostrun::run_without_guest;
pub use output::WriterSink;
pub use types::DwarfTypes;

use lang::Source;

/// The sources to compile: the guest profile's prelude and translator libraries (when the guest
/// has one), then the user's sources in order.
pub fn program_sources(guest: Option<&Guest>, user: Vec<Source>) -> Vec<Source> {
    let mut all = guest.map(Guest::libraries).unwrap_or_default();
    all.extend(user);
    all
}
