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
use crate::sections::Slice;
use crate::units::{dwarf_err, Units};
use crate::walk::{Abbrevs, Cursor, Sizes, Value};
use gimli::{AttributeValue, DebugInfoOffset, Dwarf, UnitOffset};
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

/// Type families during the scan; base types are canonicalised once, after it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum ScanTag {
    Type(TypeTag),
    Base,
}

/// A name as the scan sees it, turned into bytes only once per distinct name. Names stored in
/// `.debug_info` itself (DW_FORM_string) are copied, so that the pages the scan gives back are
/// not touched again when partial indexes are merged.
#[derive(Clone, PartialEq, Eq, Hash)]
enum NameKey {
    Str(usize),
    LineStr(usize),
    Inline(Box<[u8]>),
}

/// What a DIE named through its origin will be filed under.
#[derive(Clone, Copy)]
enum Filed {
    Function,
    Global,
}

/// A DIE whose name lives in another unit's DIE (LTO's cross-unit abstract origins).
struct CrossUnit {
    filed: Filed,
    die: u64,
    origin: u64,
}

/// What one worker thread found.
#[derive(Default)]
struct Partial {
    types: FxHashMap<(ScanTag, NameKey), u64>,
    functions: FxHashMap<NameKey, Vec<u64>>,
    globals: FxHashMap<NameKey, Vec<u64>>,
    cross: Vec<CrossUnit>,
}

impl Partial {
    fn merge(mut self, mut other: Partial) -> Partial {
        // Walk the smaller side into the larger: most names recur in every partial.
        if self.types.len() < other.types.len() {
            std::mem::swap(&mut self, &mut other);
        }
        // Keep the lowest offset so the result does not depend on how rayon split the work.
        for (k, v) in other.types {
            keep_lowest(&mut self.types, k, v);
        }
        for (k, v) in other.functions {
            self.functions.entry(k).or_default().extend(v);
        }
        for (k, v) in other.globals {
            self.globals.entry(k).or_default().extend(v);
        }
        self.cross.extend(other.cross);
        self
    }

    fn file(&mut self, filed: Filed, name: NameKey, die: u64) {
        let map = match filed {
            Filed::Function => &mut self.functions,
            Filed::Global => &mut self.globals,
        };
        map.entry(name).or_default().push(die);
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
    ) -> Result<NameIndex> {
        let info = gimli::Section::reader(&dwarf.debug_info).slice();
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

/// The attributes of a top-level DIE the index files it by.
#[derive(Default)]
struct TopAttrs {
    name: Option<NameKey>,
    declaration: bool,
    has_code: bool,
    has_location: bool,
    origin: Option<AttributeValue<Slice>>,
}

fn scan_tag(tag: gimli::DwTag) -> Option<Option<ScanTag>> {
    Some(match tag {
        gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type => {
            Some(ScanTag::Type(TypeTag::Struct))
        }
        gimli::DW_TAG_union_type => Some(ScanTag::Type(TypeTag::Union)),
        gimli::DW_TAG_enumeration_type => Some(ScanTag::Type(TypeTag::Enum)),
        gimli::DW_TAG_typedef => Some(ScanTag::Type(TypeTag::Typedef)),
        gimli::DW_TAG_base_type => Some(ScanTag::Base),
        gimli::DW_TAG_subprogram | gimli::DW_TAG_variable => None,
        _ => return None,
    })
}

/// A reference read by the walker, as gimli would have given it.
fn reference(form: u16, value: u64) -> Option<AttributeValue<Slice>> {
    match gimli::DwForm(form) {
        gimli::DW_FORM_ref1
        | gimli::DW_FORM_ref2
        | gimli::DW_FORM_ref4
        | gimli::DW_FORM_ref8
        | gimli::DW_FORM_ref_udata => Some(AttributeValue::UnitRef(UnitOffset(
            usize::try_from(value).ok()?,
        ))),
        gimli::DW_FORM_ref_addr => Some(AttributeValue::DebugInfoRef(DebugInfoOffset(
            usize::try_from(value).ok()?,
        ))),
        _ => None,
    }
}

fn scan_unit(
    dwarf: &Dwarf<Slice>,
    units: &Units,
    i: usize,
    path: &Path,
    part: &mut Partial,
    abbrevs: &mut Abbrevs,
) -> Result<()> {
    let header = units.header(i);
    let unit_start = units.start(i);
    let err = dwarf_err(path, unit_start);
    // The DIEs; unit offsets count from the header's start, `hs` bytes before them.
    let hs = header.header_size();
    let bytes = header.range_from(UnitOffset(hs)..).map_err(&err)?.slice();
    let sizes = Sizes::of(header.version(), header.address_size(), header.format());
    let abbrev_data = gimli::Section::reader(&dwarf.debug_abbrev).slice();
    abbrevs
        .parse(abbrev_data, header.debug_abbrev_offset().0, sizes)
        .map_err(&err)?;
    let mut c = Cursor::new(bytes, 0);
    let mut str_offsets_base = 0;
    // (unit offset, name) of abstract instances and declarations, in offset order: what the
    // origins of out-of-line copies and definitions point at.
    let mut named: Vec<(usize, NameKey)> = Vec::new();
    let mut pending: Vec<(Filed, u64, AttributeValue<Slice>)> = Vec::new();
    let mut depth = 0usize;
    while !c.at_end() {
        let offset = c.pos + hs;
        let code = c.uleb().map_err(&err)?;
        if code == 0 {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                break;
            }
            continue;
        }
        let abbrev = abbrevs.get(code).map_err(&err)?;
        let specs = abbrevs.specs(abbrev);
        let abbrevs = &*abbrevs;
        let mut sibling = None;
        let tag = scan_tag(gimli::DwTag(abbrev.tag));
        if depth == 0 {
            // The unit's own DIE: only the base of DW_FORM_strx names matters.
            for spec in specs {
                if spec.name == gimli::DW_AT_str_offsets_base.0 {
                    if let (_, Value::Num(v)) = c.read_form(spec.form, sizes).map_err(&err)? {
                        str_offsets_base = usize::try_from(v).unwrap_or(usize::MAX);
                    }
                } else {
                    c.skip_spec(*spec, sizes).map_err(&err)?;
                }
            }
        } else if let (1, Some(tag)) = (depth, tag) {
            let mut top = TopAttrs::default();
            for spec in specs {
                let name = gimli::DwAt(spec.name);
                match name {
                    gimli::DW_AT_low_pc | gimli::DW_AT_ranges | gimli::DW_AT_entry_pc => {
                        top.has_code = true
                    }
                    gimli::DW_AT_location => top.has_location = true,
                    _ => {}
                }
                if !matches!(
                    name,
                    gimli::DW_AT_name
                        | gimli::DW_AT_declaration
                        | gimli::DW_AT_sibling
                        | gimli::DW_AT_abstract_origin
                        | gimli::DW_AT_specification
                ) {
                    c.skip_spec(*spec, sizes).map_err(&err)?;
                    continue;
                }
                let (form, value) = c.read_form(spec.form, sizes).map_err(&err)?;
                match (name, value) {
                    (gimli::DW_AT_name, value) => {
                        top.name = name_key(dwarf, header.format(), str_offsets_base, form, value)
                            .map_err(&err)?
                    }
                    (gimli::DW_AT_declaration, Value::Num(v)) => top.declaration = v != 0,
                    (gimli::DW_AT_sibling, Value::Num(v)) => {
                        if let Some(AttributeValue::UnitRef(o)) = reference(form, v) {
                            sibling = Some(o.0);
                        }
                    }
                    (_, Value::Num(v)) => top.origin = top.origin.or(reference(form, v)),
                    _ => {}
                }
            }
            let die = unit_start + offset as u64;
            if tag.is_none() && !top.has_code && !top.has_location {
                if let Some(name) = top.name.take() {
                    named.push((offset, name));
                }
            } else {
                record(tag, die, top, part, &mut pending);
            }
        } else if depth > 0 && abbrev.children && abbrev.sibling {
            // A subtree we do not index: jump over it when the producer (gcc) says where it
            // ends.
            for spec in specs {
                if spec.name == gimli::DW_AT_sibling.0 {
                    if let (form, Value::Num(v)) = c.read_form(spec.form, sizes).map_err(&err)? {
                        if let Some(AttributeValue::UnitRef(o)) = reference(form, v) {
                            sibling = Some(o.0);
                        }
                    }
                } else {
                    c.skip_spec(*spec, sizes).map_err(&err)?;
                }
            }
        } else {
            c.skip_all(abbrevs, abbrev, sizes).map_err(&err)?;
        }
        if abbrev.children {
            // Only forward jumps: a sibling pointing back (corrupt DWARF) would loop forever.
            match sibling.filter(|s| *s > offset) {
                Some(s) => c.pos = s - hs,
                None => depth += 1,
            }
        }
    }
    resolve_pending(units, i, unit_start, &named, pending, part);
    Ok(())
}

/// Files DIEs that are named only through DW_AT_abstract_origin / DW_AT_specification.
fn resolve_pending(
    units: &Units,
    i: usize,
    unit_start: u64,
    named: &[(usize, NameKey)],
    pending: Vec<(Filed, u64, AttributeValue<Slice>)>,
    part: &mut Partial,
) {
    for (filed, die, origin) in pending {
        let target = match origin {
            AttributeValue::UnitRef(o) => Some(o.0),
            AttributeValue::DebugInfoRef(o) if units.index_of(o.0 as u64) == Some(i) => {
                Some(o.0 - unit_start as usize)
            }
            _ => None,
        };
        let name = target
            .and_then(|t| named.binary_search_by_key(&t, |(o, _)| *o).ok())
            .map(|k| named[k].1.clone());
        match (name, origin) {
            (Some(name), _) => part.file(filed, name, die),
            (None, AttributeValue::DebugInfoRef(DebugInfoOffset(o))) => {
                part.cross.push(CrossUnit {
                    filed,
                    die,
                    origin: o as u64,
                })
            }
            _ => {}
        }
    }
}

/// The index key of a name attribute read by the walker.
fn name_key(
    dwarf: &Dwarf<Slice>,
    format: gimli::Format,
    str_offsets_base: usize,
    form: u16,
    value: Value<'_>,
) -> gimli::Result<Option<NameKey>> {
    Ok(Some(match (gimli::DwForm(form), value) {
        (_, Value::Str(bytes)) => NameKey::Inline(bytes.into()),
        (gimli::DW_FORM_strp, Value::Num(o)) => {
            NameKey::Str(usize::try_from(o).unwrap_or(usize::MAX))
        }
        (gimli::DW_FORM_line_strp, Value::Num(o)) => {
            NameKey::LineStr(usize::try_from(o).unwrap_or(usize::MAX))
        }
        (
            gimli::DW_FORM_strx
            | gimli::DW_FORM_strx1
            | gimli::DW_FORM_strx2
            | gimli::DW_FORM_strx3
            | gimli::DW_FORM_strx4
            | gimli::DW_FORM_GNU_str_index,
            Value::Num(i),
        ) => {
            let index = gimli::DebugStrOffsetsIndex(usize::try_from(i).unwrap_or(usize::MAX));
            let base = gimli::DebugStrOffsetsBase(str_offsets_base);
            NameKey::Str(
                dwarf
                    .debug_str_offsets
                    .get_str_offset(format, base, index)?
                    .0,
            )
        }
        // Names in a supplementary (dwz) file are not indexed.
        _ => return Ok(None),
    }))
}

fn record(
    tag: Option<ScanTag>,
    die: u64,
    top: TopAttrs,
    part: &mut Partial,
    pending: &mut Vec<(Filed, u64, AttributeValue<Slice>)>,
) {
    let filed = match tag {
        Some(tag) => {
            if let (Some(name), false) = (top.name, top.declaration) {
                keep_lowest(&mut part.types, (tag, name), die);
            }
            return;
        }
        None if top.has_code => Filed::Function,
        None if top.has_location => Filed::Global,
        None => return,
    };
    match (top.name, top.origin) {
        (Some(name), _) => part.file(filed, name, die),
        (None, Some(origin)) => pending.push((filed, die, origin)),
        (None, None) => {}
    }
}

/// Records `die` under `key` unless a lower offset is there already: the first definition in
/// file order wins, whichever thread found it.
fn keep_lowest<K: std::hash::Hash + Eq>(map: &mut FxHashMap<K, u64>, key: K, die: u64) {
    map.entry(key)
        .and_modify(|o| *o = (*o).min(die))
        .or_insert(die);
}
