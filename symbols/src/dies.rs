//! Reading single DIEs on demand: the attributes the type, function and global decoders use,
//! already converted to plain values and `.debug_info`-global offsets.

use crate::error::{Error, Result};
use crate::sections::Slice;
use crate::units::{dwarf_err, Units};
use gimli::{AttributeValue, DwTag, Dwarf, Unit};
use std::path::{Path, PathBuf};

/// The DWARF of one file with its unit table.
pub(crate) struct DwarfCtx {
    pub(crate) dwarf: Dwarf<Slice>,
    pub(crate) units: Units,
    pub(crate) path: PathBuf,
}

/// A decoded DIE: the attributes this crate reads, with references made global.
#[derive(Debug, Clone)]
pub(crate) struct Die {
    pub(crate) offset: u64,
    pub(crate) tag: DwTag,
    pub(crate) name: Option<&'static [u8]>,
    pub(crate) ty: Option<u64>,
    pub(crate) byte_size: Option<u64>,
    pub(crate) bit_size: Option<u64>,
    /// DWARF 2/3: counted from the most significant bit of the storage unit.
    pub(crate) bit_offset: Option<i64>,
    /// DWARF 4+: counted from the start of the containing struct.
    pub(crate) data_bit_offset: Option<u64>,
    pub(crate) member_location: Option<u64>,
    pub(crate) declaration: bool,
    pub(crate) external: bool,
    pub(crate) alignment: Option<u64>,
    pub(crate) encoding: Option<gimli::DwAte>,
    pub(crate) count: Option<u64>,
    pub(crate) upper_bound: Option<i64>,
    pub(crate) lower_bound: Option<i64>,
    pub(crate) const_value: Option<i64>,
    /// First code range: (start, end).
    pub(crate) code: Option<(u64, u64)>,
    /// DW_AT_abstract_origin or DW_AT_specification.
    pub(crate) origin: Option<u64>,
    /// DW_AT_signature of a declaration: where its type unit defines it.
    pub(crate) signature: Option<u64>,
    pub(crate) is_inline_copy: bool,
    /// Address from a DW_OP_addr/DW_OP_addrx location.
    pub(crate) address: Option<u64>,
    pub(crate) address_size: u8,
}

impl Default for Die {
    fn default() -> Die {
        Die {
            offset: 0,
            tag: gimli::DwTag(0),
            name: None,
            ty: None,
            byte_size: None,
            bit_size: None,
            bit_offset: None,
            data_bit_offset: None,
            member_location: None,
            declaration: false,
            external: false,
            alignment: None,
            encoding: None,
            count: None,
            upper_bound: None,
            lower_bound: None,
            const_value: None,
            code: None,
            origin: None,
            signature: None,
            is_inline_copy: false,
            address: None,
            address_size: 8,
        }
    }
}

impl Die {
    /// The DIE's name as text.
    pub(crate) fn name_str(&self) -> Option<String> {
        self.name.map(|n| String::from_utf8_lossy(n).into_owned())
    }
}

impl DwarfCtx {
    fn err(&self, offset: u64) -> impl Fn(gimli::Error) -> Error + '_ {
        dwarf_err(&self.path, offset)
    }

    /// The path of the file holding the DWARF.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Decodes the DIE at `.debug_info` offset `offset`.
    pub(crate) fn die(&self, offset: u64) -> Result<Die> {
        let (unit, rel) = self.units.locate(&self.dwarf, offset, &self.path)?;
        let entry = unit.entry(rel).map_err(self.err(offset))?;
        self.decode(&unit, offset - rel.0 as u64, &entry)
    }

    /// Decodes the direct children of the DIE at `offset`, in order.
    pub(crate) fn children(&self, offset: u64) -> Result<Vec<Die>> {
        let (unit, rel) = self.units.locate(&self.dwarf, offset, &self.path)?;
        let base = offset - rel.0 as u64;
        let mut tree = unit.entries_tree(Some(rel)).map_err(self.err(offset))?;
        let root = tree.root().map_err(self.err(offset))?;
        let mut children = root.children();
        let mut out = Vec::new();
        while let Some(child) = children.next().map_err(self.err(offset))? {
            out.push(self.decode(&unit, base, child.entry())?);
        }
        Ok(out)
    }

    /// The name of the DIE at `offset`, following abstract origins and specifications.
    pub(crate) fn name_of(&self, offset: u64) -> Option<&'static [u8]> {
        let mut at = offset;
        for _ in 0..8 {
            let die = self.die(at).ok()?;
            if die.name.is_some() {
                return die.name;
            }
            at = die.origin?;
        }
        None
    }

    fn decode(
        &self,
        unit: &Unit<Slice>,
        base: u64,
        entry: &gimli::DebuggingInformationEntry<'_, '_, Slice>,
    ) -> Result<Die> {
        let offset = base + entry.offset().0 as u64;
        let err = self.err(offset);
        let mut die = Die {
            offset,
            tag: entry.tag(),
            address_size: unit.header.address_size(),
            ..Die::default()
        };
        let mut high = None;
        let mut attrs = entry.attrs();
        while let Some(attr) = attrs.next().map_err(&err)? {
            let value = attr.value();
            match attr.name() {
                gimli::DW_AT_name => {
                    die.name = Some(self.dwarf.attr_string(unit, value).map_err(&err)?.slice())
                }
                gimli::DW_AT_type => die.ty = self.reference(base, &value),
                gimli::DW_AT_byte_size => die.byte_size = value.udata_value(),
                gimli::DW_AT_bit_size => die.bit_size = value.udata_value(),
                gimli::DW_AT_bit_offset => die.bit_offset = signed(&value),
                gimli::DW_AT_data_bit_offset => die.data_bit_offset = value.udata_value(),
                gimli::DW_AT_data_member_location => die.member_location = member_location(&value),
                gimli::DW_AT_declaration => die.declaration = flag(&value),
                gimli::DW_AT_external => die.external = flag(&value),
                gimli::DW_AT_alignment => die.alignment = value.udata_value(),
                gimli::DW_AT_encoding => {
                    if let AttributeValue::Encoding(e) = value {
                        die.encoding = Some(e);
                    }
                }
                gimli::DW_AT_count => die.count = value.udata_value(),
                gimli::DW_AT_upper_bound => die.upper_bound = bound(&value),
                gimli::DW_AT_lower_bound => die.lower_bound = bound(&value),
                gimli::DW_AT_const_value => die.const_value = signed(&value),
                gimli::DW_AT_low_pc => {
                    let low = self.dwarf.attr_address(unit, value).map_err(&err)?;
                    die.code = low.map(|l| (l, l));
                }
                gimli::DW_AT_high_pc => high = Some(value),
                gimli::DW_AT_ranges => {
                    if let Some(off) = self.dwarf.attr_ranges_offset(unit, value).map_err(&err)? {
                        let mut ranges = self.dwarf.ranges(unit, off).map_err(&err)?;
                        if let Some(r) = ranges.next().map_err(&err)? {
                            die.code.get_or_insert((r.begin, r.end));
                        }
                    }
                }
                gimli::DW_AT_abstract_origin => {
                    die.origin = self.reference(base, &value);
                    die.is_inline_copy = true;
                }
                gimli::DW_AT_specification => {
                    die.origin = die.origin.or(self.reference(base, &value))
                }
                gimli::DW_AT_signature => die.signature = self.reference(base, &value),
                gimli::DW_AT_location => die.address = self.static_address(unit, &value),
                _ => {}
            }
        }
        if let (Some((low, _)), Some(h)) = (die.code, high) {
            let end = match h {
                AttributeValue::Addr(a) => a,
                other => low.saturating_add(other.udata_value().unwrap_or(0)),
            };
            die.code = Some((low, end));
        }
        Ok(die)
    }

    /// The address of a variable whose location is a plain DW_OP_addr / DW_OP_addrx.
    fn static_address(&self, unit: &Unit<Slice>, value: &AttributeValue<Slice>) -> Option<u64> {
        let AttributeValue::Exprloc(expr) = value else {
            return None;
        };
        let mut ops = expr.operations(unit.encoding());
        match ops.next().ok()?? {
            gimli::Operation::Address { address } => Some(address),
            gimli::Operation::AddressIndex { index } => self.dwarf.address(unit, index).ok(),
            _ => None,
        }
    }
}

impl DwarfCtx {
    /// A type or DIE reference as a global offset (see [`crate::units`]).
    fn reference(&self, unit_base: u64, value: &AttributeValue<Slice>) -> Option<u64> {
        match value {
            AttributeValue::UnitRef(o) => Some(unit_base + o.0 as u64),
            AttributeValue::DebugInfoRef(o) => Some(o.0 as u64),
            AttributeValue::DebugTypesRef(sig) => self.units.signature(sig.0),
            _ => None,
        }
    }
}

fn flag(value: &AttributeValue<Slice>) -> bool {
    !matches!(value, AttributeValue::Flag(false))
}

fn signed(value: &AttributeValue<Slice>) -> Option<i64> {
    match *value {
        AttributeValue::Sdata(v) => Some(v),
        AttributeValue::Data1(v) => Some(i64::from(v)),
        AttributeValue::Data2(v) => Some(i64::from(v)),
        AttributeValue::Data4(v) => Some(i64::from(v)),
        AttributeValue::Data8(v) => Some(v as i64),
        AttributeValue::Udata(v) => Some(v as i64),
        _ => None,
    }
}

/// An array bound; gcc writes -1 (a zero-length array) as an all-ones fixed-size constant.
fn bound(value: &AttributeValue<Slice>) -> Option<i64> {
    match *value {
        AttributeValue::Data4(v) => Some(i64::from(v as i32)),
        AttributeValue::Data8(v) => Some(v as i64),
        _ => signed(value),
    }
}

/// DW_AT_data_member_location: a constant (DWARF 3+) or, in DWARF 2, an expression
/// `DW_OP_plus_uconst N`.
fn member_location(value: &AttributeValue<Slice>) -> Option<u64> {
    let expr = match value {
        AttributeValue::Exprloc(e) => e.0,
        AttributeValue::Block(b) => *b,
        // DWARF 2/3 read DW_FORM_data4/8 here as a location-list offset; in a struct member
        // it can only be the constant offset.
        AttributeValue::SecOffset(o) => return Some(*o as u64),
        AttributeValue::LocationListsRef(o) => return Some(o.0 as u64),
        other => return other.udata_value(),
    };
    let bytes = expr.slice();
    match bytes.first() {
        Some(&op) if op == gimli::DW_OP_plus_uconst.0 => {
            let mut r = gimli::EndianSlice::new(&bytes[1..], gimli::LittleEndian);
            gimli::Reader::read_uleb128(&mut r).ok()
        }
        Some(&op) if op == gimli::DW_OP_constu.0 => {
            let mut r = gimli::EndianSlice::new(&bytes[1..], gimli::LittleEndian);
            gimli::Reader::read_uleb128(&mut r).ok()
        }
        _ => None,
    }
}
