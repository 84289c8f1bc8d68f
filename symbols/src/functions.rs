//! Functions and global variables decoded from their DIEs, with names, types and linkage taken
//! through abstract origins (out-of-line copies of inline functions, gcc's .isra/.constprop
//! clones) and specifications (a definition completing a declaration).

use crate::dies::{Die, DwarfCtx};
use crate::error::Result;
use crate::types::TypeRef;

/// Whether a function or variable is visible outside its compile unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    /// `extern` (DW_AT_external).
    Global,
    /// `static`.
    Static,
}

/// A function parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Parameter name, when the DWARF records one.
    pub name: Option<String>,
    /// Parameter type.
    pub ty: TypeRef,
}

/// A function with code in the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Function name.
    pub name: String,
    /// Entry address.
    pub address: u64,
    /// Size in bytes of the code range holding the entry.
    pub size: u64,
    /// Static or global.
    pub linkage: Linkage,
    /// Parameters in order (fbt's `args[]`).
    pub params: Vec<Param>,
    /// Return type.
    pub ret: TypeRef,
    /// True when the function takes `...`.
    pub variadic: bool,
    /// True for an out-of-line copy of an inline function (its DIE has an abstract origin).
    pub inline_copy: bool,
    /// False for a function known only from the ELF symbol table (assembly, or a file built
    /// without -g): its parameters and return type are then unknown, not empty.
    pub from_dwarf: bool,
}

/// A global (or file-static) variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Variable name.
    pub name: String,
    /// Address.
    pub address: u64,
    /// Type, when known from DWARF (None for an ELF-only symbol).
    pub ty: Option<TypeRef>,
    /// Size in bytes, from the type or the ELF symbol.
    pub size: Option<u64>,
    /// Static or global.
    pub linkage: Linkage,
}

/// The DIE and the DIEs it takes attributes from, nearest first.
fn origin_chain(ctx: &DwarfCtx, offset: u64) -> Result<Vec<Die>> {
    let mut chain = vec![ctx.die(offset)?];
    while chain.len() < 8 {
        let Some(next) = chain.last().and_then(|d| d.origin) else {
            break;
        };
        chain.push(ctx.die(next)?);
    }
    Ok(chain)
}

fn linkage(chain: &[Die]) -> Linkage {
    if chain.iter().any(|d| d.external) {
        Linkage::Global
    } else {
        Linkage::Static
    }
}

/// Decodes the function whose concrete DIE is at `offset`.
pub(crate) fn function(ctx: &DwarfCtx, offset: u64, name: &str) -> Result<Function> {
    let chain = origin_chain(ctx, offset)?;
    let (address, end) = chain[0].code.unwrap_or((0, 0));
    let ret = TypeRef::from_die_or_void(chain.iter().find_map(|d| d.ty));
    // A concrete copy usually lists its parameters (pointing at the abstract ones for names and
    // types); when it lists none, the abstract instance's list is the signature.
    let mut params = Vec::new();
    let mut variadic = false;
    for die in &chain {
        for child in ctx.children(die.offset)? {
            match child.tag {
                gimli::DW_TAG_formal_parameter => params.push(param(ctx, child)?),
                gimli::DW_TAG_unspecified_parameters => variadic = true,
                _ => {}
            }
        }
        if !params.is_empty() || variadic {
            break;
        }
    }
    Ok(Function {
        name: name.to_string(),
        address,
        size: end.saturating_sub(address),
        linkage: linkage(&chain),
        params,
        ret,
        variadic,
        inline_copy: chain[0].is_inline_copy,
        from_dwarf: true,
    })
}

fn param(ctx: &DwarfCtx, die: Die) -> Result<Param> {
    let mut name = die.name_str();
    let mut ty = die.ty;
    let mut origin = die.origin;
    let mut hops = 0;
    while let (Some(o), true) = (origin, (name.is_none() || ty.is_none()) && hops < 8) {
        let d = ctx.die(o)?;
        name = name.or_else(|| d.name_str());
        ty = ty.or(d.ty);
        origin = d.origin;
        hops += 1;
    }
    Ok(Param {
        name,
        ty: TypeRef::from_die_or_void(ty),
    })
}

/// Decodes the variable whose defining DIE is at `offset`; None when it has no static address.
pub(crate) fn global(
    ctx: &DwarfCtx,
    offset: u64,
    name: &str,
) -> Result<Option<(Global, Option<TypeRef>)>> {
    let chain = origin_chain(ctx, offset)?;
    let Some(address) = chain[0].address else {
        return Ok(None);
    };
    let ty = chain.iter().find_map(|d| d.ty).map(TypeRef::from_die);
    let global = Global {
        name: name.to_string(),
        address,
        ty,
        size: None,
        linkage: linkage(&chain),
    };
    Ok(Some((global, ty)))
}
