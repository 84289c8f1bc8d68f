//! The per-unit part of the index scan: walks one unit's top-level DIEs and files the type
//! definitions, functions and variables it finds into a partial index, which `index` merges.

use crate::error::Result;
use crate::index::TypeTag;
use crate::sections::Slice;
use crate::units::{dwarf_err, Units};
use crate::walk::{Abbrevs, Cursor, Sizes, Value};
use gimli::{AttributeValue, DebugInfoOffset, Dwarf, UnitOffset};
use rustc_hash::FxHashMap;
use std::path::Path;

/// Type families during the scan; base types are canonicalised once, after it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ScanTag {
    Type(TypeTag),
    Base,
}

/// A name as the scan sees it, turned into bytes only once per distinct name. Names stored in
/// `.debug_info` itself (DW_FORM_string) are copied, so that the pages the scan gives back are
/// not touched again when partial indexes are merged.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum NameKey {
    Str(usize),
    LineStr(usize),
    Inline(Box<[u8]>),
}

/// What a DIE named through its origin will be filed under.
#[derive(Clone, Copy)]
pub(crate) enum Filed {
    Function,
    Global,
}

/// A DIE whose name lives in another unit's DIE (LTO's cross-unit abstract origins).
pub(crate) struct CrossUnit {
    pub(crate) filed: Filed,
    pub(crate) die: u64,
    pub(crate) origin: u64,
}

/// What one worker thread found.
#[derive(Default)]
pub(crate) struct Partial {
    pub(crate) types: FxHashMap<(ScanTag, NameKey), u64>,
    pub(crate) functions: FxHashMap<NameKey, Vec<u64>>,
    pub(crate) globals: FxHashMap<NameKey, Vec<u64>>,
    pub(crate) cross: Vec<CrossUnit>,
}

impl Partial {
    pub(crate) fn merge(mut self, mut other: Partial) -> Partial {
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

pub(crate) fn scan_unit(
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
pub(crate) fn keep_lowest<K: std::hash::Hash + Eq>(map: &mut FxHashMap<K, u64>, key: K, die: u64) {
    map.entry(key)
        .and_modify(|o| *o = (*o).min(die))
        .or_insert(die);
}
