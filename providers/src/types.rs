//! Guest C types for lang, from the kernel's DWARF: `symbols` type handles turned into lang's
//! type model. Named records come back without members where they are only pointed to or
//! embedded, so lang asks for them by name when a member is used (no deep conversion of the
//! whole type graph per lookup).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use lang::types::{BitField, EnumDef, Member, Record};
use lang::{Type, TypeSource};
use symbols::{KernelImage, TypeKind, TypeRef};

/// A [`TypeSource`] over one kernel image.
pub struct DwarfTypes {
    image: Arc<KernelImage>,
    cache: RefCell<HashMap<(TypeRef, bool), Type>>,
}

impl DwarfTypes {
    /// Types of `image`.
    pub fn new(image: Arc<KernelImage>) -> DwarfTypes {
        DwarfTypes {
            image,
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// lang's view of a DWARF type; `deep` gives named records their members.
    pub fn convert(&self, t: TypeRef, deep: bool) -> Type {
        if let Some(ty) = self.cache.borrow().get(&(t, deep)) {
            return ty.clone();
        }
        let ty = self.convert_uncached(t, deep, 0);
        self.cache.borrow_mut().insert((t, deep), ty.clone());
        ty
    }

    fn convert_uncached(&self, t: TypeRef, deep: bool, depth: u32) -> Type {
        if t.is_void() || depth > 32 {
            return Type::Void;
        }
        let Ok(info) = self.image.type_info(t) else {
            return Type::Void;
        };
        let size = info.size.unwrap_or(0);
        match info.kind {
            TypeKind::Void => Type::Void,
            TypeKind::Base(enc) if enc.is_integer() => {
                Type::int(size.clamp(1, 8) as u8, enc.is_signed())
            }
            TypeKind::Base(_) => Type::Float(size as u8),
            TypeKind::Pointer(p) => {
                Type::Pointer(Rc::new(self.convert_uncached(p, false, depth + 1)))
            }
            TypeKind::Typedef(inner)
            | TypeKind::Const(inner)
            | TypeKind::Volatile(inner)
            | TypeKind::Restrict(inner)
            | TypeKind::Atomic(inner) => self.convert_uncached(inner, deep, depth + 1),
            TypeKind::Array { element, count } => Type::Array(
                Rc::new(self.convert_uncached(element, true, depth + 1)),
                count.unwrap_or(0),
            ),
            TypeKind::Function { .. } => Type::Function,
            TypeKind::Enum(values) => Type::Enum(Rc::new(EnumDef {
                name: format!("enum {}", info.name.clone().unwrap_or_default()),
                values: values.into_iter().map(|e| (e.name, e.value)).collect(),
            })),
            TypeKind::Struct(ms) | TypeKind::Union(ms) => {
                let is_union = matches!(
                    self.image.type_info(t).map(|i| i.kind),
                    Ok(TypeKind::Union(_))
                );
                let tag = if is_union { "union" } else { "struct" };
                let name = match &info.name {
                    Some(n) => format!("{tag} {n}"),
                    None => format!("{tag} <anon>"),
                };
                // Anonymous records cannot be looked up by name later: always expand them.
                let expand = deep || info.name.is_none() || info.incomplete;
                let members = (expand && !info.incomplete).then(|| {
                    ms.into_iter()
                        .filter_map(|m| self.member(m, depth))
                        .collect::<Vec<_>>()
                });
                Type::Record(Rc::new(Record {
                    name,
                    is_union,
                    size,
                    align: info.align.unwrap_or(1),
                    members,
                }))
            }
        }
    }

    fn member(&self, m: symbols::Member, depth: u32) -> Option<Member> {
        let ty = self.convert_uncached(m.ty, false, depth + 1);
        let (offset, bitfield) = match m.bit_size {
            Some(w) => (
                m.bit_offset / 8,
                Some(BitField {
                    shift: (m.bit_offset % 8) as u8,
                    width: w as u8,
                }),
            ),
            None => (m.offset, None),
        };
        Some(Member {
            name: m.name.unwrap_or_default(),
            ty,
            offset,
            bitfield,
        })
    }
}

impl TypeSource for DwarfTypes {
    fn resolve_type(&self, name: &str) -> Option<Type> {
        let t = self.image.find_type(name).ok()?;
        Some(self.convert(t, true))
    }

    fn kernel_symbol(&self, name: &str) -> Option<(u64, Type)> {
        let g = self.image.global(name).ok()?;
        let ty = match g.ty {
            Some(t) => self.convert(t, true),
            None => Type::int(8, true),
        };
        Some((g.address, ty))
    }
}
