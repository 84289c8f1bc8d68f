//! Member lookup by path ("inp_inc.inc_ie.ie_fport", "ip6_src.__u6_addr.__u6_addr8[3]"), looking
//! through anonymous struct and union members as C does.

use crate::decode::TypeDecoder;
use crate::error::{Error, Result};
use crate::types::{Member, TypeKind, TypeRef};

/// Where a member path lands inside its outermost type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberLayout {
    /// Byte offset from the start of the outermost type (of the first bit for a bitfield).
    pub offset: u64,
    /// Bit offset from the start of the outermost type, LSB-first.
    pub bit_offset: u64,
    /// Width in bits when the last component is a bitfield.
    pub bit_size: Option<u64>,
    /// Type of the member reached.
    pub ty: TypeRef,
}

impl TypeDecoder<'_> {
    /// Resolves `path` inside `t`.
    pub(crate) fn member_path(
        &self,
        t: TypeRef,
        path: &str,
        c_name: impl Fn(TypeRef) -> String,
    ) -> Result<MemberLayout> {
        let mut layout = MemberLayout {
            offset: 0,
            bit_offset: 0,
            bit_size: None,
            ty: t,
        };
        for component in path.split('.') {
            let (name, indices) = split_indices(component)?;
            let (_, info) = self.strip(layout.ty)?;
            let members = match info.kind {
                TypeKind::Struct(m) | TypeKind::Union(m) => m,
                _ => {
                    return Err(Error::NoMember {
                        ty: c_name(layout.ty),
                        member: name.to_string(),
                    })
                }
            };
            let (member, base) =
                self.find_member(&members, name)?
                    .ok_or_else(|| Error::NoMember {
                        ty: c_name(layout.ty),
                        member: name.to_string(),
                    })?;
            layout.bit_offset = layout
                .bit_offset
                .saturating_add(base)
                .saturating_add(member.bit_offset);
            layout.bit_size = member.bit_size;
            layout.ty = member.ty;
            for index in indices {
                let (_, info) = self.strip(layout.ty)?;
                let TypeKind::Array { element, count } = info.kind else {
                    return Err(Error::Invalid(format!(
                        "{} is not an array",
                        c_name(layout.ty)
                    )));
                };
                if count.is_some_and(|c| index >= c) {
                    return Err(Error::Invalid(format!(
                        "index {index} out of bounds for {}",
                        c_name(layout.ty)
                    )));
                }
                let size = self.size(element)?.unwrap_or(0);
                let bits = index.checked_mul(size).and_then(|b| b.checked_mul(8));
                layout.bit_offset = bits
                    .and_then(|b| layout.bit_offset.checked_add(b))
                    .ok_or_else(|| {
                        Error::Invalid(format!("index {index} overflows {}", c_name(layout.ty)))
                    })?;
                layout.bit_size = None;
                layout.ty = element;
            }
        }
        layout.offset = layout.bit_offset / 8;
        Ok(layout)
    }

    /// The member called `name`, directly or inside anonymous members, with the bit offset of
    /// the anonymous member(s) it was found in.
    fn find_member(&self, members: &[Member], name: &str) -> Result<Option<(Member, u64)>> {
        if let Some(m) = members.iter().find(|m| m.name.as_deref() == Some(name)) {
            return Ok(Some((m.clone(), 0)));
        }
        for anon in members
            .iter()
            .filter(|m| m.name.is_none() && m.bit_size.is_none())
        {
            let (_, info) = self.strip(anon.ty)?;
            if let TypeKind::Struct(inner) | TypeKind::Union(inner) = info.kind {
                if let Some((m, base)) = self.find_member(&inner, name)? {
                    return Ok(Some((m, base + anon.bit_offset)));
                }
            }
        }
        Ok(None)
    }
}

/// "a[1][2]" → ("a", [1, 2]).
fn split_indices(component: &str) -> Result<(&str, Vec<u64>)> {
    let bad = || Error::Invalid(format!("bad member path component '{component}'"));
    let (name, mut rest) = match component.find('[') {
        Some(i) => (&component[..i], &component[i..]),
        None => (component, ""),
    };
    if name.trim().is_empty() {
        return Err(bad());
    }
    let mut indices = Vec::new();
    while let Some(body) = rest.strip_prefix('[') {
        let close = body.find(']').ok_or_else(bad)?;
        indices.push(body[..close].trim().parse().map_err(|_| bad())?);
        rest = &body[close + 1..];
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok((name.trim(), indices))
}

#[cfg(test)]
mod tests {
    use super::split_indices;

    #[test]
    fn indices_split() {
        assert_eq!(split_indices("a[1][2]").unwrap(), ("a", vec![1, 2]));
        assert_eq!(split_indices("ie_fport").unwrap(), ("ie_fport", vec![]));
        assert!(split_indices("a[x]").is_err());
        assert!(split_indices("[1]").is_err());
        assert!(split_indices("a[1]b").is_err());
    }
}
