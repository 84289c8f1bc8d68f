//! The name index: one parallel pass over the compile units' top-level DIEs, built on the first
//! query that needs it. It records, per name, where complete type definitions, function bodies
//! and global variables are; everything else about a DIE is decoded lazily when asked for.
//!
//! The scan is the cold-start cost of every lookup, so it reads as little as it can: only the
//! attributes it files by (the rest are skipped by size), names as string-section offsets (the
//! linker merged equal strings, so equal offsets are equal names and need no hashing of bytes),
//! and no subtree that DW_AT_sibling lets it jump over.

use crate::basename::canonical_base_name;
use crate::error::Result;
use crate::scan::{keep_lowest, scan_unit, Filed, NameKey, Partial, ScanTag};
use crate::sections::Slice;
use crate::units::Units;
use crate::walk::Abbrevs;
use gimli::Dwarf;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::path::Path;

/// The tag families a type can be looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TypeTag {
    Struct,
    Union,
    Enum,
    Typedef,
}

/// Where the definitions of each name live, as `.debug_info` offsets. Names are owned copies:
/// reading them out of the map later would fault pages of `.debug_info` back in.
#[derive(Default)]
pub(crate) struct NameIndex {
    /// First complete definition (lowest offset) of each name, per [`TypeTag`].
    types: [FxHashMap<Box<[u8]>, u64>; 4],
    /// Base types by canonical C spelling ("unsigned long"), which gcc and clang spell differently.
    pub(crate) bases: FxHashMap<String, u64>,
    /// Functions with code (including out-of-line copies of inline functions).
    pub(crate) functions: FxHashMap<Box<[u8]>, Vec<u64>>,
    /// Variables with a location.
    pub(crate) globals: FxHashMap<Box<[u8]>, Vec<u64>>,
}

impl NameIndex {
    /// The first complete definition of `name` in the `tag` family.
    pub(crate) fn type_named(&self, tag: TypeTag, name: &[u8]) -> Option<u64> {
        self.types[tag as usize].get(name).copied()
    }
}

impl NameIndex {
    /// Scans every compile unit in parallel and merges what they define.
    pub(crate) fn build(
        dwarf: &Dwarf<Slice>,
        units: &Units,
        path: &Path,
        name_of: impl Fn(u64) -> Option<&'static [u8]> + Sync,
        release: impl Fn(&[u8]) + Sync,
        prefetch: impl Fn(&[u8]),
    ) -> Result<NameIndex> {
        let info = gimli::Section::reader(&dwarf.debug_info).slice();
        // From a cold page cache the scan would wait on one small read per fault.
        prefetch(gimli::Section::reader(&dwarf.debug_abbrev).slice());
        prefetch(gimli::Section::reader(&dwarf.debug_str).slice());
        prefetch(info);
        let partial = chunks(units, 8 * rayon::current_num_threads())
            .into_par_iter()
            .map(|range| {
                let mut part = Partial::default();
                let mut abbrevs = Abbrevs::default();
                let chunk_start = units.start(range.start) as usize;
                for i in range {
                    scan_unit(dwarf, units, i, path, &mut part, &mut abbrevs)?;
                    // Give back what this chunk has read so far. The start reaches back before
                    // the chunk because a fault maps the whole (large) page-cache folio around
                    // it, pages of the units before included.
                    let header = units.header(i);
                    let end = units.start(i) as usize + header.length_including_self();
                    let from = chunk_start.saturating_sub(FOLIO_REACH);
                    if let Some(bytes) = info.get(from..end) {
                        release(bytes);
                    }
                }
                Ok(part)
            })
            .try_reduce(Partial::default, |a, b| Ok(a.merge(b)))?;
        // What faults near chunk boundaries mapped after its chunk's last release.
        release(info);
        Ok(finish(dwarf, partial, name_of))
    }
}

/// How far from a faulting address Linux may map neighbouring cached pages: fault-around is
/// 64 KiB, but a file read in one go sits in large folios (up to 2 MiB) that map whole.
const FOLIO_REACH: usize = 2 << 20;

/// Splits the units into about `n` runs of contiguous units of similar byte size: few, large
/// chunks, since each chunk's partial index repeats most type names of the others and every
/// extra chunk costs a merge of ~100k entries for a kernel.
fn chunks(units: &Units, n: usize) -> Vec<std::ops::Range<usize>> {
    let total: usize = (0..units.len())
        .map(|i| units.header(i).length_including_self())
        .sum();
    let target = (total / n.max(1)).max(1);
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for i in 0..units.len() {
        bytes += units.header(i).length_including_self();
        if bytes >= target {
            out.push(start..i + 1);
            start = i + 1;
            bytes = 0;
        }
    }
    if start < units.len() {
        out.push(start..units.len());
    }
    out
}

/// Turns the scan's name keys into bytes and canonical base-type names.
fn finish(
    dwarf: &Dwarf<Slice>,
    part: Partial,
    name_of: impl Fn(u64) -> Option<&'static [u8]>,
) -> NameIndex {
    let bytes = |key: NameKey| -> Option<Box<[u8]>> {
        match key {
            NameKey::Str(o) => dwarf
                .debug_str
                .get_str(gimli::DebugStrOffset(o))
                .ok()
                .map(|s| s.slice().into()),
            NameKey::LineStr(o) => dwarf
                .debug_line_str
                .get_str(gimli::DebugLineStrOffset(o))
                .ok()
                .map(|s| s.slice().into()),
            NameKey::Inline(b) => Some(b),
        }
    };
    let mut index = NameIndex::default();
    for ((tag, key), die) in part.types {
        let Some(name) = bytes(key) else { continue };
        match tag {
            ScanTag::Type(t) => keep_lowest(&mut index.types[t as usize], name, die),
            ScanTag::Base => keep_lowest(
                &mut index.bases,
                canonical_base_name(&String::from_utf8_lossy(&name)),
                die,
            ),
        }
    }
    for (filed, map) in [
        (Filed::Function, part.functions),
        (Filed::Global, part.globals),
    ] {
        for (key, dies) in map {
            if let Some(name) = bytes(key) {
                index.map_mut(filed).entry(name).or_default().extend(dies);
            }
        }
    }
    for c in part.cross {
        if let Some(name) = name_of(c.origin).map(Box::from) {
            index.map_mut(c.filed).entry(name).or_default().push(c.die);
        }
    }
    for list in index
        .functions
        .values_mut()
        .chain(index.globals.values_mut())
    {
        list.sort_unstable();
        list.dedup();
    }
    index
}

impl NameIndex {
    fn map_mut(&mut self, filed: Filed) -> &mut FxHashMap<Box<[u8]>, Vec<u64>> {
        match filed {
            Filed::Function => &mut self.functions,
            Filed::Global => &mut self.globals,
        }
    }
}
