//! ELF and DWARF index of a guest kernel: types, struct layouts, functions with their
//! parameters, globals, and address-to-symbol lookup.
//!
//! Owns: reading ELF files (memory-mapped), following `.gnu_debuglink`, decompressing debug
//! sections, and a lazy, parallel DWARF index built on `object`, `gimli` and `rayon`.
//!
//! Must not depend on: D, probes, QEMU or a live guest. It reads files only.
//!
//! Layout (like drgn's libdrgn, program, index and types are kept apart): [`KernelImage`] is the
//! program; the name index is built lazily by the first lookup; types are [`TypeRef`] handles
//! decoded on demand into [`TypeInfo`].

mod basename;
mod cname;
mod debuglink;
mod dies;
mod elf;
mod error;
mod functions;
mod glob;
mod image;
mod index;
mod layout;
mod sections;
mod symtab;
mod types;
mod units;

pub use elf::{SectionInfo, SegmentInfo};
pub use error::{Error, Result};
pub use functions::{Function, Global, Linkage, Param};
pub use glob::glob_match;
pub use image::KernelImage;
pub use layout::MemberLayout;
pub use symtab::{ElfSymbol, SymbolKind};
pub use types::{BaseEncoding, Enumerator, Member, TypeInfo, TypeKind, TypeRef};
