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
//!
//! ```no_run
//! use symbols::KernelImage;
//! # fn main() -> symbols::Result<()> {
//! let kernel = KernelImage::open("/boot/kernel/kernel")?; // follows .gnu_debuglink
//! let inpcb = kernel.find_type("struct inpcb")?;
//! let fport = kernel.member_path(inpcb, "inp_inc.inc_ie.ie_fport")?;
//! println!("{} at +{}", kernel.c_name(fport.ty)?, fport.offset);
//! let sosend = kernel.function("sosend_generic")?;
//! for p in &sosend.params {
//!     println!("{:?}: {}", p.name, kernel.c_name(p.ty)?);
//! }
//! let version = kernel.global_bytes("version")?; // to compare with the running guest
//! println!("{:?}", kernel.symbolize(sosend.address + 0x1c)?); // Some(("sosend_generic", 28))
//! # let _ = version;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod basename;
mod cname;
mod debuglink;
mod decode;
mod dies;
mod elf;
mod error;
mod functions;
mod glob;
mod image;
mod index;
mod layout;
mod scan;
mod sections;
mod symtab;
mod types;
mod units;
mod walk;

pub use elf::{SectionInfo, SegmentInfo};
pub use error::{Error, Result};
pub use functions::{Function, Global, Linkage, Param};
pub use glob::glob_match;
pub use image::KernelImage;
pub use layout::MemberLayout;
pub use symtab::{ElfSymbol, SymbolKind};
pub use types::{BaseEncoding, Enumerator, Member, TypeInfo, TypeKind, TypeRef};

#[cfg(test)]
mod tests {
    /// Providers share one image between threads (probe handling, the D type bridge).
    #[test]
    fn image_is_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<super::KernelImage>();
        shared::<super::TypeRef>();
    }
}
