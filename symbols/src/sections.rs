//! Loads the DWARF sections of an ELF file into gimli: borrowed from the map when stored plain,
//! decompressed (SHF_COMPRESSED or `.zdebug_*`) into owned buffers otherwise, and relocated when
//! the file is a relocatable object.

use crate::elf::{ElfFile, Parsed};
use crate::error::{Error, Result};
use gimli::{EndianSlice, LittleEndian, SectionId};
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};
use std::borrow::Cow;

/// The reader every DWARF parse uses: a slice of the map (or of an owned buffer) whose real
/// lifetime is that of the owning [`crate::KernelImage`]; it never leaves this crate.
pub(crate) type Slice = EndianSlice<'static, LittleEndian>;

/// Buffers that back `Slice`s which could not borrow from a map.
#[derive(Default)]
pub(crate) struct OwnedBuffers(Vec<Box<[u8]>>);

impl OwnedBuffers {
    fn keep(&mut self, data: Vec<u8>) -> &'static [u8] {
        let boxed = data.into_boxed_slice();
        // SAFETY: a boxed slice's heap block never moves; OwnedBuffers lives in the same
        // KernelImage as every Slice made from it and is dropped only with it.
        let stat = unsafe { extend(&boxed) };
        self.0.push(boxed);
        stat
    }
}

/// Widens a borrow of data owned by the `KernelImage` (its maps and `OwnedBuffers`) to the
/// pseudo-'static lifetime of [`Slice`].
///
/// # Safety
/// `data` must stay alive and unmoved for as long as any slice derived from the result is used.
pub(crate) unsafe fn extend(data: &[u8]) -> &'static [u8] {
    std::slice::from_raw_parts(data.as_ptr(), data.len())
}

/// Builds a `gimli::Dwarf` over `file`'s debug sections.
pub(crate) fn load(file: &ElfFile, owned: &mut OwnedBuffers) -> Result<gimli::Dwarf<Slice>> {
    let parsed = file.parse()?;
    let relocatable = file.is_relocatable()?;
    let mut load_section = |id: SectionId| -> Result<Slice> {
        let data = section_data(file, &parsed, id.name(), relocatable)?;
        let stat = match data {
            // SAFETY: borrowed from `file`'s map, which the KernelImage keeps alive and unmoved.
            Cow::Borrowed(b) => unsafe { extend(b) },
            Cow::Owned(v) => owned.keep(v),
        };
        Ok(EndianSlice::new(stat, LittleEndian))
    };
    gimli::Dwarf::load(&mut load_section)
}

fn section_data<'a>(
    file: &'a ElfFile,
    parsed: &Parsed<'a>,
    name: &str,
    relocatable: bool,
) -> Result<Cow<'a, [u8]>> {
    // object falls back from ".debug_x" to the GNU-compressed ".zdebug_x" by itself.
    let Some(section) = parsed.section_by_name(name) else {
        return Ok(Cow::Borrowed(&[]));
    };
    if section.kind() == object::SectionKind::UninitializedData {
        return Ok(Cow::Borrowed(&[]));
    }
    let decompress_err = |what: String| Error::Decompress {
        path: file.path().to_path_buf(),
        section: section.name().unwrap_or(name).to_string(),
        what,
    };
    let data = section
        .compressed_data()
        .and_then(|c| c.decompress())
        .map_err(|e| decompress_err(e.to_string()))?;
    if !relocatable || section.relocations().next().is_none() {
        // Linked executables (even with --emit-relocs, like Debian's vmlinux) already hold
        // final values; their .rela.debug_* need not be applied.
        return Ok(data);
    }
    let mut data = data.into_owned();
    apply_relocations(file, parsed, &section, &mut data)?;
    Ok(Cow::Owned(data))
}

/// In a `gcc -c` object every cross-section reference in DWARF (string offsets, abbreviation
/// offsets, addresses) is 0 plus a RELA addend; resolve them against the symbols' values.
fn apply_relocations(
    file: &ElfFile,
    parsed: &Parsed<'_>,
    section: &object::read::elf::ElfSection64<'_, '_, object::LittleEndian>,
    data: &mut [u8],
) -> Result<()> {
    for (offset, reloc) in section.relocations() {
        let RelocationTarget::Symbol(index) = reloc.target() else {
            continue;
        };
        let symbol = parsed
            .symbol_by_index(index)
            .map_err(|e| file.malformed(format!("relocation symbol: {e}")))?;
        let width = usize::from(reloc.size() / 8);
        let Ok(at) = usize::try_from(offset) else {
            continue;
        };
        let Some(slot) = data.get_mut(at..at.saturating_add(width)) else {
            return Err(file.malformed(format!("relocation at {offset:#x} outside its section")));
        };
        let implicit = if reloc.has_implicit_addend() {
            read_le(slot)
        } else {
            0
        };
        let value = symbol
            .address()
            .wrapping_add(reloc.addend() as u64)
            .wrapping_add(implicit);
        match width {
            4 => slot.copy_from_slice(&(value as u32).to_le_bytes()),
            8 => slot.copy_from_slice(&value.to_le_bytes()),
            _ => {}
        }
    }
    Ok(())
}

fn read_le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |acc, b| (acc << 8) | u64::from(*b))
}
