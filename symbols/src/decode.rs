//! Decoding types from their DIEs: kind, size, alignment, members with normalised bitfield
//! positions, enumerators, array dimensions, and declarations completed from other units.

use crate::dies::{Die, DwarfCtx};
use crate::error::Result;
use crate::index::{NameIndex, TypeTag};
use crate::types::{BaseEncoding, Enumerator, Member, TypeInfo, TypeKind, TypeRef};

/// Decodes types against one file's DWARF and name index.
pub(crate) struct TypeDecoder<'a> {
    pub(crate) ctx: &'a DwarfCtx,
    pub(crate) index: &'a NameIndex,
    pub(crate) layouts: &'a LayoutCache,
    /// Nesting of `info` calls: malformed DWARF can make a type contain itself.
    pub(crate) depth: std::cell::Cell<u32>,
}

/// Deeper than any C type nests; past it the DWARF has a cycle.
const MAX_DEPTH: u32 = 512;

/// Leaves one level of [`TypeDecoder::info`] when dropped.
struct DepthGuard<'a>(&'a std::cell::Cell<u32>);

impl Drop for DepthGuard<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// (size, alignment) of every type decoded so far: computing a struct's alignment needs every
/// member's, so without this a deep layout would be decoded once per level above it.
pub(crate) type LayoutCache =
    std::sync::RwLock<rustc_hash::FxHashMap<TypeRef, (Option<u64>, Option<u64>)>>;

impl TypeDecoder<'_> {
    /// The complete definition of a struct/union/enum that `t` only declares, found by name in
    /// any compile unit; `t` itself otherwise.
    pub(crate) fn complete(&self, t: TypeRef) -> Result<TypeRef> {
        if t.is_void() || t.pointers() > 0 || t.dims_skipped() > 0 {
            return Ok(t);
        }
        let die = self.ctx.die(t.die())?;
        Ok(self.definition_of(&die).map(TypeRef::from_die).unwrap_or(t))
    }

    fn definition_of(&self, die: &Die) -> Option<u64> {
        // A type-unit skeleton (gcc's carries only DW_AT_signature) names its definition.
        if die.signature.is_some() {
            return die.signature;
        }
        if !die.declaration {
            return None;
        }
        let tag = match die.tag {
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type => TypeTag::Struct,
            gimli::DW_TAG_union_type => TypeTag::Union,
            gimli::DW_TAG_enumeration_type => TypeTag::Enum,
            _ => return None,
        };
        self.index.type_named(tag, die.name?)
    }

    /// For a struct, union or enum: its keyword and name, read without decoding its members.
    pub(crate) fn aggregate_tag(
        &self,
        t: TypeRef,
    ) -> Result<Option<(&'static str, Option<String>)>> {
        if t.is_void() || t.pointers() > 0 || t.dims_skipped() > 0 {
            return Ok(None);
        }
        let mut die = self.ctx.die(t.die())?;
        if let Some(sig) = die.signature {
            die = self.ctx.die(sig)?;
        }
        Ok(match die.tag {
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type => {
                Some(("struct", die.name_str()))
            }
            gimli::DW_TAG_union_type => Some(("union", die.name_str())),
            gimli::DW_TAG_enumeration_type => Some(("enum", die.name_str())),
            _ => None,
        })
    }

    /// Decodes `t` fully (a declaration is replaced by its definition).
    pub(crate) fn info(&self, t: TypeRef) -> Result<TypeInfo> {
        if self.depth.get() >= MAX_DEPTH {
            return Err(crate::Error::Invalid(format!(
                "{}: type at {:#x} nests deeper than {MAX_DEPTH} levels (a cycle in the DWARF)",
                self.ctx.path().display(),
                t.die()
            )));
        }
        self.depth.set(self.depth.get() + 1);
        let _guard = DepthGuard(&self.depth);
        if t.pointers() > 0 {
            let kind = TypeKind::Pointer(t.pointee());
            return Ok(TypeInfo {
                name: None,
                kind,
                size: Some(8),
                align: Some(8),
                incomplete: false,
            });
        }
        if t.is_void() {
            return Ok(TypeInfo {
                name: None,
                kind: TypeKind::Void,
                size: None,
                align: None,
                incomplete: false,
            });
        }
        let mut die = self.ctx.die(t.die())?;
        if let Some(def) = self.definition_of(&die) {
            die = self.ctx.die(def)?;
        }
        let target = TypeRef::from_die_or_void(die.ty);
        let name = die.name_str();
        let info = |kind, size: Option<u64>, align: Option<u64>| TypeInfo {
            name: name.clone(),
            kind,
            size,
            align,
            incomplete: die.declaration,
        };
        Ok(match die.tag {
            gimli::DW_TAG_base_type => {
                let enc = base_encoding(die.encoding);
                let align = die.alignment.or(match enc {
                    BaseEncoding::ComplexFloat => die.byte_size.map(|s| s / 2),
                    _ => die.byte_size,
                });
                info(TypeKind::Base(enc), die.byte_size, align)
            }
            gimli::DW_TAG_unspecified_type => info(TypeKind::Void, None, None),
            gimli::DW_TAG_pointer_type | gimli::DW_TAG_reference_type => {
                let size = die.byte_size.unwrap_or(u64::from(die.address_size));
                TypeInfo {
                    name: None,
                    ..info(
                        TypeKind::Pointer(target),
                        Some(size),
                        Some(die.alignment.unwrap_or(size)),
                    )
                }
            }
            gimli::DW_TAG_structure_type | gimli::DW_TAG_class_type | gimli::DW_TAG_union_type => {
                let members = if die.declaration {
                    Vec::new()
                } else {
                    self.members(&die)?
                };
                let align = match die.byte_size {
                    Some(size) => Some(
                        die.alignment
                            .unwrap_or(self.aggregate_align(&members, size)?),
                    ),
                    None => None,
                };
                let kind = if die.tag == gimli::DW_TAG_union_type {
                    TypeKind::Union(members)
                } else {
                    TypeKind::Struct(members)
                };
                info(kind, die.byte_size, align)
            }
            gimli::DW_TAG_enumeration_type => {
                let enumerators = self
                    .ctx
                    .children(die.offset)?
                    .into_iter()
                    .filter(|c| c.tag == gimli::DW_TAG_enumerator)
                    .map(|c| Enumerator {
                        name: c.name_str().unwrap_or_default(),
                        value: c.const_value.unwrap_or(0),
                    })
                    .collect();
                let size = match die.byte_size {
                    Some(s) => Some(s),
                    None => self.size(target)?,
                };
                info(TypeKind::Enum(enumerators), size, die.alignment.or(size))
            }
            gimli::DW_TAG_typedef => {
                let (size, align) = self.size_align(target)?;
                info(TypeKind::Typedef(target), size, die.alignment.or(align))
            }
            gimli::DW_TAG_const_type
            | gimli::DW_TAG_volatile_type
            | gimli::DW_TAG_restrict_type
            | gimli::DW_TAG_atomic_type => {
                let (size, align) = self.size_align(target)?;
                let kind = match die.tag {
                    gimli::DW_TAG_const_type => TypeKind::Const(target),
                    gimli::DW_TAG_volatile_type => TypeKind::Volatile(target),
                    gimli::DW_TAG_restrict_type => TypeKind::Restrict(target),
                    _ => TypeKind::Atomic(target),
                };
                TypeInfo {
                    name: None,
                    ..info(kind, size, align)
                }
            }
            gimli::DW_TAG_array_type => self.array(&die, t)?,
            gimli::DW_TAG_subroutine_type => {
                let mut params = Vec::new();
                let mut variadic = false;
                for c in self.ctx.children(die.offset)? {
                    match c.tag {
                        gimli::DW_TAG_formal_parameter => {
                            params.push(TypeRef::from_die_or_void(c.ty))
                        }
                        gimli::DW_TAG_unspecified_parameters => variadic = true,
                        _ => {}
                    }
                }
                TypeInfo {
                    name: None,
                    ..info(
                        TypeKind::Function {
                            ret: target,
                            params,
                            variadic,
                        },
                        None,
                        None,
                    )
                }
            }
            other => {
                return Err(crate::Error::Invalid(format!(
                    "{}: DIE at {:#x} is a {other}, not a type",
                    self.ctx.path().display(),
                    die.offset
                )))
            }
        })
    }

    fn array(&self, die: &Die, t: TypeRef) -> Result<TypeInfo> {
        let dims: Vec<Die> = self
            .ctx
            .children(die.offset)?
            .into_iter()
            .filter(|c| c.tag == gimli::DW_TAG_subrange_type)
            .collect();
        let element_type = TypeRef::from_die_or_void(die.ty);
        let skip = t.dims_skipped() as usize;
        let count = dims.get(skip).and_then(|d| {
            d.count.or_else(|| {
                let upper = d.upper_bound?;
                let count = upper - d.lower_bound.unwrap_or(0) + 1;
                u64::try_from(count).ok()
            })
        });
        let element = if skip + 1 < dims.len() {
            t.next_dim()
        } else {
            element_type
        };
        let (elem_size, elem_align) = self.size_align(element)?;
        let size = match (count, elem_size) {
            (Some(c), Some(s)) => c.checked_mul(s),
            _ => None,
        };
        Ok(TypeInfo {
            name: None,
            kind: TypeKind::Array { element, count },
            size,
            align: elem_align,
            incomplete: false,
        })
    }

    /// Members in declaration order, with bit offsets normalised to "from the start, LSB-first".
    fn members(&self, die: &Die) -> Result<Vec<Member>> {
        let mut out = Vec::new();
        for c in self.ctx.children(die.offset)? {
            if c.tag != gimli::DW_TAG_member {
                continue;
            }
            let ty = TypeRef::from_die_or_void(c.ty);
            let bit_offset = match (c.data_bit_offset, c.bit_offset, c.bit_size) {
                (Some(dbo), _, _) => dbo,
                (None, Some(msb_offset), Some(width)) => {
                    // DWARF 2/3 count from the most significant bit of a storage unit of
                    // DW_AT_byte_size bytes at DW_AT_data_member_location; on a little-endian
                    // target the LSB-first position is storage_bits - msb_offset - width.
                    let storage = match c.byte_size {
                        Some(s) => s,
                        None => self.size(ty)?.unwrap_or(0),
                    };
                    let lsb = (storage.saturating_mul(8) as i64)
                        .saturating_sub(msb_offset)
                        .saturating_sub(width as i64);
                    let base = (c.member_location.unwrap_or(0) as i64).saturating_mul(8);
                    base.saturating_add(lsb).max(0) as u64
                }
                _ => c.member_location.unwrap_or(0).saturating_mul(8),
            };
            out.push(Member {
                name: c.name_str(),
                ty,
                offset: bit_offset / 8,
                bit_offset,
                bit_size: c.bit_size,
            });
        }
        Ok(out)
    }

    /// Alignment of a struct or union, which DWARF records only when it was forced: the
    /// largest member alignment, lowered when the layout shows the type is packed.
    fn aggregate_align(&self, members: &[Member], size: u64) -> Result<u64> {
        let mut natural = 1;
        let mut packed = false;
        for m in members {
            if m.name.is_none() && m.bit_size.is_some() {
                continue;
            }
            let align = self.size_align(m.ty)?.1.unwrap_or(1).max(1);
            natural = natural.max(align);
            if m.bit_size.is_none() && !m.offset.is_multiple_of(align) {
                packed = true;
            }
        }
        if !packed && size.is_multiple_of(natural) {
            return Ok(natural);
        }
        let mut align = natural;
        while align > 1
            && (!size.is_multiple_of(align)
                || members
                    .iter()
                    .any(|m| m.bit_size.is_none() && !m.offset.is_multiple_of(align)))
        {
            align /= 2;
        }
        Ok(align)
    }

    /// Size of `t` in bytes.
    pub(crate) fn size(&self, t: TypeRef) -> Result<Option<u64>> {
        Ok(self.size_align(t)?.0)
    }

    fn size_align(&self, t: TypeRef) -> Result<(Option<u64>, Option<u64>)> {
        if let Some(found) = self.layouts.read().ok().and_then(|m| m.get(&t).copied()) {
            return Ok(found);
        }
        let info = self.info(t)?;
        if let Ok(mut m) = self.layouts.write() {
            m.insert(t, (info.size, info.align));
        }
        Ok((info.size, info.align))
    }

    /// Follows typedefs and qualifiers to the type that decides layout.
    pub(crate) fn strip(&self, mut t: TypeRef) -> Result<(TypeRef, TypeInfo)> {
        for _ in 0..64 {
            let info = self.info(t)?;
            match info.kind {
                TypeKind::Typedef(n)
                | TypeKind::Const(n)
                | TypeKind::Volatile(n)
                | TypeKind::Restrict(n)
                | TypeKind::Atomic(n) => t = n,
                _ => return Ok((t, info)),
            }
        }
        Err(crate::Error::Invalid(format!(
            "typedef loop at {:#x}",
            t.die()
        )))
    }
}

fn base_encoding(e: Option<gimli::DwAte>) -> BaseEncoding {
    match e {
        Some(gimli::DW_ATE_signed) => BaseEncoding::Signed,
        Some(gimli::DW_ATE_unsigned) => BaseEncoding::Unsigned,
        Some(gimli::DW_ATE_signed_char) => BaseEncoding::SignedChar,
        Some(gimli::DW_ATE_unsigned_char) => BaseEncoding::UnsignedChar,
        Some(gimli::DW_ATE_boolean) => BaseEncoding::Boolean,
        Some(gimli::DW_ATE_float) => BaseEncoding::Float,
        Some(gimli::DW_ATE_complex_float) => BaseEncoding::ComplexFloat,
        Some(other) => BaseEncoding::Other(other.0),
        None => BaseEncoding::Other(0),
    }
}
