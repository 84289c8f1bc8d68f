//! The name index: one parallel pass over the compile units' top-level DIEs, built on the first
//! query that needs it. It records, per name, where complete type definitions, function bodies
//! and global variables are; everything else about a DIE is decoded lazily when asked for.

use crate::basename::canonical_base_name;
use crate::error::Result;
use crate::sections::Slice;
use crate::units::{dwarf_err, light_unit, offset_of, Units};
use gimli::{AttributeValue, DebugInfoOffset, Dwarf, Unit, UnitOffset};
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

/// Where the definitions of each name live, as `.debug_info` offsets.
#[derive(Default)]
pub(crate) struct NameIndex {
    /// First complete definition (lowest offset) of each tagged or typedef name.
    pub(crate) types: FxHashMap<(TypeTag, &'static [u8]), u64>,
    /// Base types by canonical C spelling ("unsigned long"), which gcc and clang spell differently.
    pub(crate) bases: FxHashMap<String, u64>,
    /// Functions with code (including out-of-line copies of inline functions).
    pub(crate) functions: FxHashMap<&'static [u8], Vec<u64>>,
    /// Variables with a location.
    pub(crate) globals: FxHashMap<&'static [u8], Vec<u64>>,
}

/// What a pending DIE will be filed under once its name is found through its origin.
#[derive(Clone, Copy)]
enum Filed {
    Function,
    Global,
}

/// A DIE whose name lives in another unit's DIE (LTO's cross-unit abstract origins).
pub(crate) struct CrossUnit {
    filed_as_function: bool,
    die: u64,
    origin: u64,
}

#[derive(Default)]
struct Partial {
    index: NameIndex,
    cross: Vec<CrossUnit>,
}

impl NameIndex {
    /// Scans every compile unit in parallel and merges what they define.
    pub(crate) fn build(
        dwarf: &Dwarf<Slice>,
        units: &Units,
        path: &Path,
        name_of: impl Fn(u64) -> Option<&'static [u8]> + Sync,
    ) -> Result<NameIndex> {
        let partial = (0..units.len())
            .into_par_iter()
            .try_fold(Partial::default, |mut part, i| {
                scan_unit(dwarf, units, i, path, &mut part)?;
                Ok(part)
            })
            .try_reduce(Partial::default, |a, b| Ok(merge(a, b)))?;
        let mut index = partial.index;
        for c in partial.cross {
            if let Some(name) = name_of(c.origin) {
                let map = if c.filed_as_function {
                    &mut index.functions
                } else {
                    &mut index.globals
                };
                map.entry(name).or_default().push(c.die);
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
        Ok(index)
    }
}

fn merge(mut a: Partial, b: Partial) -> Partial {
    // Keep the lowest offset so the result does not depend on how rayon split the work.
    for (k, v) in b.index.types {
        keep_lowest(&mut a.index.types, k, v);
    }
    for (k, v) in b.index.bases {
        keep_lowest(&mut a.index.bases, k, v);
    }
    for (k, v) in b.index.functions {
        a.index.functions.entry(k).or_default().extend(v);
    }
    for (k, v) in b.index.globals {
        a.index.globals.entry(k).or_default().extend(v);
    }
    a.cross.extend(b.cross);
    a
}

/// The attributes of a top-level DIE the index cares about.
#[derive(Default)]
struct TopAttrs {
    name: Option<&'static [u8]>,
    declaration: bool,
    sibling: Option<UnitOffset>,
    has_code: bool,
    has_location: bool,
    origin: Option<AttributeValue<Slice>>,
}

fn is_indexed(tag: gimli::DwTag) -> bool {
    matches!(
        tag,
        gimli::DW_TAG_structure_type
            | gimli::DW_TAG_class_type
            | gimli::DW_TAG_union_type
            | gimli::DW_TAG_enumeration_type
            | gimli::DW_TAG_typedef
            | gimli::DW_TAG_base_type
            | gimli::DW_TAG_subprogram
            | gimli::DW_TAG_variable
    )
}

fn scan_unit(
    dwarf: &Dwarf<Slice>,
    units: &Units,
    i: usize,
    path: &Path,
    part: &mut Partial,
) -> Result<()> {
    let header = *units.header(i);
    if !matches!(
        header.type_(),
        gimli::UnitType::Compilation | gimli::UnitType::Partial
    ) {
        return Ok(());
    }
    let unit_start = offset_of(&header).0 as u64;
    let err = dwarf_err(path, unit_start);
    // The scan parses its own unit and drops it: caching thousands of abbreviation tables
    // would cost more memory than re-parsing the few units that lookups land in.
    let unit = light_unit(dwarf, header, path)?;
    let mut raw = unit.entries_raw(None).map_err(&err)?;
    // (unit offset, name) of named top-level DIEs, in offset order, for resolving origins.
    let mut named: Vec<(usize, &'static [u8])> = Vec::new();
    let mut pending: Vec<(Filed, u64, AttributeValue<Slice>)> = Vec::new();
    let mut depth = 0usize;
    loop {
        if raw.is_empty() {
            break;
        }
        let offset = raw.next_offset();
        let Some(abbrev) = raw.read_abbreviation().map_err(&err)? else {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                break;
            }
            continue;
        };
        let tag = abbrev.tag();
        if depth == 1 && is_indexed(tag) {
            let mut top = TopAttrs::default();
            for spec in abbrev.attributes() {
                let attr = raw.read_attribute(*spec).map_err(&err)?;
                read_top_attr(dwarf, &unit, attr, &mut top).map_err(&err)?;
            }
            let die = unit_start + offset.0 as u64;
            record(tag, die, &top, part, &mut pending);
            if let Some(name) = top.name {
                named.push((offset.0, name));
            }
            if abbrev.has_children() {
                match top.sibling {
                    Some(sib) => raw = unit.entries_raw(Some(sib)).map_err(&err)?,
                    None => depth += 1,
                }
            }
        } else if depth > 0 && abbrev.has_children() {
            // A subtree we do not index: jump over it when the producer (gcc) says where it ends.
            let mut sibling = None;
            for spec in abbrev.attributes() {
                let attr = raw.read_attribute(*spec).map_err(&err)?;
                if let (gimli::DW_AT_sibling, AttributeValue::UnitRef(o)) =
                    (attr.name(), attr.value())
                {
                    sibling = Some(o);
                }
            }
            match sibling {
                Some(sib) => raw = unit.entries_raw(Some(sib)).map_err(&err)?,
                None => depth += 1,
            }
        } else {
            raw.skip_attributes(abbrev.attributes()).map_err(&err)?;
            if abbrev.has_children() {
                depth += 1;
            }
        }
    }
    for (filed, die, origin) in pending {
        let target = match origin {
            AttributeValue::UnitRef(o) => Some(o.0),
            AttributeValue::DebugInfoRef(o) => o.0.checked_sub(unit_start as usize).filter(|&r| {
                units.index_of(o.0 as u64) == Some(i) && r < header.length_including_self()
            }),
            _ => None,
        };
        let name = target
            .and_then(|t| named.binary_search_by_key(&t, |(o, _)| *o).ok())
            .map(|k| named[k].1);
        match (name, origin) {
            (Some(name), _) => file(part, filed, name, die),
            (None, AttributeValue::DebugInfoRef(DebugInfoOffset(o))) => {
                part.cross.push(CrossUnit {
                    filed_as_function: matches!(filed, Filed::Function),
                    die,
                    origin: o as u64,
                })
            }
            _ => {}
        }
    }
    Ok(())
}

fn read_top_attr(
    dwarf: &Dwarf<Slice>,
    unit: &Unit<Slice>,
    attr: gimli::Attribute<Slice>,
    top: &mut TopAttrs,
) -> gimli::Result<()> {
    match attr.name() {
        gimli::DW_AT_name => top.name = Some(dwarf.attr_string(unit, attr.value())?.slice()),
        gimli::DW_AT_declaration => {
            top.declaration = !matches!(attr.value(), AttributeValue::Flag(false))
        }
        gimli::DW_AT_sibling => {
            if let AttributeValue::UnitRef(o) = attr.value() {
                top.sibling = Some(o);
            }
        }
        gimli::DW_AT_low_pc | gimli::DW_AT_ranges | gimli::DW_AT_entry_pc => top.has_code = true,
        gimli::DW_AT_location => top.has_location = true,
        gimli::DW_AT_abstract_origin | gimli::DW_AT_specification => {
            top.origin = Some(attr.value())
        }
        _ => {}
    }
    Ok(())
}

fn record(
    tag: gimli::DwTag,
    die: u64,
    top: &TopAttrs,
    part: &mut Partial,
    pending: &mut Vec<(Filed, u64, AttributeValue<Slice>)>,
) {
    let filed = match tag {
        gimli::DW_TAG_subprogram if top.has_code => Filed::Function,
        gimli::DW_TAG_variable if top.has_location => Filed::Global,
        gimli::DW_TAG_subprogram | gimli::DW_TAG_variable => return,
        _ => {
            if let (Some(name), false) = (top.name, top.declaration) {
                record_type(tag, name, die, &mut part.index);
            }
            return;
        }
    };
    match (top.name, top.origin) {
        (Some(name), _) => file(part, filed, name, die),
        (None, Some(origin)) => pending.push((filed, die, origin)),
        (None, None) => {}
    }
}

fn record_type(tag: gimli::DwTag, name: &'static [u8], die: u64, index: &mut NameIndex) {
    let key = match tag {
        gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type => TypeTag::Struct,
        gimli::DW_TAG_union_type => TypeTag::Union,
        gimli::DW_TAG_enumeration_type => TypeTag::Enum,
        gimli::DW_TAG_typedef => TypeTag::Typedef,
        _ => {
            let canonical = canonical_base_name(&String::from_utf8_lossy(name));
            keep_lowest(&mut index.bases, canonical, die);
            return;
        }
    };
    keep_lowest(&mut index.types, (key, name), die);
}

/// Records `die` under `key` unless a lower offset is there already: the first definition in
/// file order wins, whichever thread found it.
fn keep_lowest<K: std::hash::Hash + Eq>(map: &mut FxHashMap<K, u64>, key: K, die: u64) {
    map.entry(key)
        .and_modify(|o| *o = (*o).min(die))
        .or_insert(die);
}

fn file(part: &mut Partial, filed: Filed, name: &'static [u8], die: u64) {
    let map = match filed {
        Filed::Function => &mut part.index.functions,
        Filed::Global => &mut part.index.globals,
    };
    map.entry(name).or_default().push(die);
}
