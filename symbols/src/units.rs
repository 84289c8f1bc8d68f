//! The table of units: found by walking unit headers at open, each parsed (abbreviations and
//! base offsets, not the line program) the first time a lookup lands in it.
//!
//! Offsets are "global": a `.debug_info` offset as is, and a DWARF 4 `.debug_types` offset
//! placed after the end of `.debug_info`, so one number names any DIE.

use crate::error::{Error, Result};
use crate::sections::Slice;
use gimli::{AttributeValue, DebugInfoOffset, Dwarf, Unit, UnitHeader, UnitOffset};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Every unit header of `.debug_info` and `.debug_types`, sorted by global offset, with lazily
/// parsed units.
pub(crate) struct Units {
    headers: Vec<UnitHeader<Slice>>,
    starts: Vec<usize>,
    parsed: Vec<OnceLock<Arc<Unit<Slice>>>>,
    /// Type unit signature -> global offset of the type DIE it defines (DW_FORM_ref_sig8).
    signatures: rustc_hash::FxHashMap<u64, u64>,
}

/// Turns a gimli error into this crate's, naming the file and where.
pub(crate) fn dwarf_err(path: &Path, offset: u64) -> impl Fn(gimli::Error) -> Error + '_ {
    move |source| Error::Dwarf {
        path: path.to_path_buf(),
        offset,
        source,
    }
}

impl Units {
    /// Walks the unit headers (one read per unit; the units' contents are untouched).
    /// `release` is handed the part of `.debug_info` walked so far every few MB: each header
    /// read makes the kernel map the pages (or the whole large folio) around it too, which
    /// would otherwise add up to most of the section. Releasing from the start each time
    /// costs little: the kernel skips page-table ranges that map nothing.
    pub(crate) fn new(dwarf: &Dwarf<Slice>, path: &Path, release: &dyn Fn(&[u8])) -> Result<Self> {
        const RELEASE_EVERY: usize = 4 << 20;
        let info = gimli::Section::reader(&dwarf.debug_info).slice();
        let mut released = 0;
        let mut headers = Vec::new();
        let mut iter = dwarf.units();
        while let Some(header) = iter.next().map_err(dwarf_err(path, 0))? {
            let at = offset_of(&header).0;
            if at - released >= RELEASE_EVERY {
                release(info.get(..at).unwrap_or_default());
                released = at;
            }
            headers.push(header);
        }
        release(info);
        let mut types = dwarf.type_units();
        while let Some(header) = types.next().map_err(dwarf_err(path, 0))? {
            headers.push(header);
        }
        let starts: Vec<usize> = headers
            .iter()
            .map(|h| global_start(h, info.len()))
            .collect();
        let mut signatures = rustc_hash::FxHashMap::default();
        for (h, start) in headers.iter().zip(&starts) {
            if let gimli::UnitType::Type {
                type_signature,
                type_offset,
            }
            | gimli::UnitType::SplitType {
                type_signature,
                type_offset,
            } = h.type_()
            {
                signatures.insert(type_signature.0, (start + type_offset.0) as u64);
            }
        }
        let parsed = headers.iter().map(|_| OnceLock::new()).collect();
        Ok(Units {
            headers,
            starts,
            parsed,
            signatures,
        })
    }

    /// Global offset of the DIE a type unit signature names.
    pub(crate) fn signature(&self, sig: u64) -> Option<u64> {
        self.signatures.get(&sig).copied()
    }

    /// Global offset of unit `i`.
    pub(crate) fn start(&self, i: usize) -> u64 {
        self.starts[i] as u64
    }

    /// Number of units.
    pub(crate) fn len(&self) -> usize {
        self.headers.len()
    }

    /// The header of unit `i`.
    pub(crate) fn header(&self, i: usize) -> &UnitHeader<Slice> {
        &self.headers[i]
    }

    /// The index of the unit holding `offset` in `.debug_info`.
    pub(crate) fn index_of(&self, offset: u64) -> Option<usize> {
        let offset = usize::try_from(offset).ok()?;
        let i = self
            .starts
            .partition_point(|&s| s <= offset)
            .checked_sub(1)?;
        let h = &self.headers[i];
        (offset < self.starts[i] + h.length_including_self()).then_some(i)
    }

    /// Unit `i`, parsed on first use and shared afterwards.
    pub(crate) fn unit(
        &self,
        dwarf: &Dwarf<Slice>,
        i: usize,
        path: &Path,
    ) -> Result<Arc<Unit<Slice>>> {
        if let Some(u) = self.parsed[i].get() {
            return Ok(u.clone());
        }
        let unit = Arc::new(light_unit(dwarf, self.headers[i], path)?);
        Ok(self.parsed[i].get_or_init(|| unit).clone())
    }

    /// The unit holding `offset` and the offset relative to it.
    pub(crate) fn locate(
        &self,
        dwarf: &Dwarf<Slice>,
        offset: u64,
        path: &Path,
    ) -> Result<(Arc<Unit<Slice>>, UnitOffset)> {
        let i = self.index_of(offset).ok_or_else(|| {
            Error::Invalid(format!(
                "{}: .debug_info offset {offset:#x} is in no unit",
                path.display()
            ))
        })?;
        let unit = self.unit(dwarf, i, path)?;
        let rel = usize::try_from(offset).unwrap_or(usize::MAX) - self.starts[i];
        Ok((unit, UnitOffset(rel)))
    }
}

/// Offset of a unit in `.debug_info` (0 for a `.debug_types` unit).
pub(crate) fn offset_of(h: &UnitHeader<Slice>) -> DebugInfoOffset {
    h.offset()
        .as_debug_info_offset()
        .unwrap_or(DebugInfoOffset(0))
}

/// Global offset of a unit: `.debug_types` units come after the `info_len` bytes of `.debug_info`.
fn global_start(h: &UnitHeader<Slice>, info_len: usize) -> usize {
    match h.offset() {
        gimli::UnitSectionOffset::DebugInfoOffset(o) => o.0,
        gimli::UnitSectionOffset::DebugTypesOffset(o) => info_len + o.0,
    }
}

/// A gimli `Unit` without its line program: the index and type lookups never need line
/// tables, and parsing thousands of line headers would cost the cold open dearly.
pub(crate) fn light_unit(
    dwarf: &Dwarf<Slice>,
    header: UnitHeader<Slice>,
    path: &Path,
) -> Result<Unit<Slice>> {
    let err = dwarf_err(path, offset_of(&header).0 as u64);
    let abbreviations = dwarf.abbreviations(&header).map_err(&err)?;
    let encoding = header.encoding();
    let file_type = gimli::DwarfFileType::Main;
    let mut unit = Unit {
        header,
        abbreviations,
        name: None,
        comp_dir: None,
        low_pc: 0,
        str_offsets_base: gimli::DebugStrOffsetsBase::default_for_encoding_and_file(
            encoding, file_type,
        ),
        addr_base: gimli::DebugAddrBase(0),
        loclists_base: gimli::DebugLocListsBase::default_for_encoding_and_file(encoding, file_type),
        rnglists_base: gimli::DebugRngListsBase::default_for_encoding_and_file(encoding, file_type),
        line_program: None,
        dwo_id: None,
    };
    let mut entries = unit
        .header
        .entries_raw(&unit.abbreviations, None)
        .map_err(&err)?;
    let Some(abbrev) = entries.read_abbreviation().map_err(&err)? else {
        return Ok(unit);
    };
    let mut low_pc = None;
    for spec in abbrev.attributes() {
        let attr = entries.read_attribute(*spec).map_err(&err)?;
        match (attr.name(), attr.value()) {
            (gimli::DW_AT_str_offsets_base, AttributeValue::DebugStrOffsetsBase(b)) => {
                unit.str_offsets_base = b
            }
            (
                gimli::DW_AT_addr_base | gimli::DW_AT_GNU_addr_base,
                AttributeValue::DebugAddrBase(b),
            ) => unit.addr_base = b,
            (gimli::DW_AT_loclists_base, AttributeValue::DebugLocListsBase(b)) => {
                unit.loclists_base = b
            }
            (
                gimli::DW_AT_rnglists_base | gimli::DW_AT_GNU_ranges_base,
                AttributeValue::DebugRngListsBase(b),
            ) => unit.rnglists_base = b,
            (gimli::DW_AT_low_pc, v) => low_pc = Some(v),
            _ => {}
        }
    }
    if let Some(v) = low_pc {
        // DW_FORM_addrx needs addr_base, which may follow low_pc in the attribute list.
        unit.low_pc = dwarf.attr_address(&unit, v).map_err(&err)?.unwrap_or(0);
    }
    Ok(unit)
}
