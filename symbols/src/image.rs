//! `KernelImage`: a kernel (or any ELF64 executable) with its DWARF, answering type, function,
//! global and symbol queries. Opening only maps files and walks unit headers; the name index is
//! built by the first query that needs it, in parallel, and DIEs are decoded per query.

use crate::basename::{canonical_base_name, parse_type_query};
use crate::debuglink;
use crate::decode::{LayoutCache, TypeDecoder};
use crate::dies::DwarfCtx;
use crate::elf::{ElfFile, SectionInfo, SegmentInfo};
use crate::error::{Error, Result};
use crate::functions::{self, Function, Global, Linkage};
use crate::glob::glob_match;
use crate::index::{NameIndex, TypeTag};
use crate::layout::MemberLayout;
use crate::sections::{self, OwnedBuffers};
use crate::symtab::{ElfSymbol, SymbolKind, SymbolTable};
use crate::types::{TypeInfo, TypeRef};
use crate::units::Units;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A guest kernel image and its debug information.
pub struct KernelImage {
    // Field order matters only for readability: nothing here has a Drop that reads the maps.
    ctx: DwarfCtx,
    index: OnceLock<NameIndex>,
    symtab: OnceLock<SymbolTable>,
    layouts: LayoutCache,
    _owned: OwnedBuffers,
    main: ElfFile,
    debug: Option<ElfFile>,
}

impl KernelImage {
    /// Opens `path`; when it has no DWARF, follows its `.gnu_debuglink` to the debug file.
    pub fn open(path: impl AsRef<Path>) -> Result<KernelImage> {
        let path = path.as_ref();
        let main = ElfFile::open(path)?;
        if main.has_debug_info()? {
            return Self::assemble(main, None);
        }
        match main.debuglink()? {
            Some((name, crc)) => {
                let debug = debuglink::follow(&main, &name, crc)?;
                Self::assemble(main, Some(debug))
            }
            None => Err(Error::NoDebugInfo {
                path: path.to_path_buf(),
                what: "no .debug_info section (plain or compressed) and no .gnu_debuglink to a debug file".into(),
            }),
        }
    }

    /// Opens an executable together with an explicitly named debug file (no CRC check).
    pub fn open_with_debug(exe: impl AsRef<Path>, debug: impl AsRef<Path>) -> Result<KernelImage> {
        let main = ElfFile::open(exe.as_ref())?;
        let debug = ElfFile::open(debug.as_ref())?;
        Self::assemble(main, Some(debug))
    }

    fn assemble(main: ElfFile, debug: Option<ElfFile>) -> Result<KernelImage> {
        let dwarf_file = debug.as_ref().unwrap_or(&main);
        if !dwarf_file.has_debug_info()? {
            return Err(Error::NoDebugInfo {
                path: dwarf_file.path().to_path_buf(),
                what: "no .debug_info section".into(),
            });
        }
        let mut owned = OwnedBuffers::default();
        let dwarf = sections::load(dwarf_file, &mut owned)?;
        let path = dwarf_file.path().to_path_buf();
        let units = Units::new(&dwarf, &path, &|bytes| dwarf_file.release(bytes))?;
        if units.len() == 0 {
            return Err(Error::NoDebugInfo {
                path,
                what: ".debug_info holds no compile unit".into(),
            });
        }
        Ok(KernelImage {
            ctx: DwarfCtx { dwarf, units, path },
            index: OnceLock::new(),
            symtab: OnceLock::new(),
            layouts: LayoutCache::default(),
            _owned: owned,
            main,
            debug,
        })
    }

    /// The file opened.
    pub fn path(&self) -> &Path {
        self.main.path()
    }

    /// The file the DWARF was read from (the debug file when a debuglink was followed).
    pub fn debug_path(&self) -> &Path {
        self.ctx.path()
    }

    /// Number of compile (and other) units in `.debug_info`.
    pub fn unit_count(&self) -> usize {
        self.ctx.units.len()
    }

    fn index(&self) -> Result<&NameIndex> {
        if let Some(index) = self.index.get() {
            return Ok(index);
        }
        let dwarf_file = self.debug.as_ref().unwrap_or(&self.main);
        let built = NameIndex::build(
            &self.ctx.dwarf,
            &self.ctx.units,
            self.ctx.path(),
            |o| self.ctx.name_of(o),
            |bytes| dwarf_file.release(bytes),
            |bytes| dwarf_file.prefetch(bytes),
        )?;
        Ok(self.index.get_or_init(|| built))
    }

    fn decoder(&self) -> Result<TypeDecoder<'_>> {
        Ok(TypeDecoder {
            ctx: &self.ctx,
            index: self.index()?,
            layouts: &self.layouts,
            depth: std::cell::Cell::new(0),
        })
    }

    fn not_found(&self, kind: &'static str, name: &str) -> Error {
        Error::NotFound {
            kind,
            name: name.to_string(),
            path: self.path().to_path_buf(),
        }
    }

    /// Looks a type up by its C spelling: "struct tcpcb", "union x", "enum y", a typedef or base
    /// type name ("tcp_seq", "unsigned long"), each optionally followed by `*`s.
    pub fn find_type(&self, name: &str) -> Result<TypeRef> {
        let query = parse_type_query(name)?;
        let index = self.index()?;
        let found = match query.tag {
            Some(tag) => index.type_named(tag, query.name.as_bytes()),
            None if query.name == "void" => return Ok(TypeRef::VOID),
            None => index
                .type_named(TypeTag::Typedef, query.name.as_bytes())
                .or_else(|| index.bases.get(&canonical_base_name(&query.name)).copied()),
        };
        let base = found
            .map(TypeRef::from_die)
            .ok_or_else(|| self.not_found("type", name))?;
        Ok((0..query.pointers).fold(base, |t, _| t.pointer_to()))
    }

    /// Looks a typedef up by name.
    pub fn find_typedef(&self, name: &str) -> Result<TypeRef> {
        self.index()?
            .type_named(TypeTag::Typedef, name.as_bytes())
            .map(TypeRef::from_die)
            .ok_or_else(|| self.not_found("typedef", name))
    }

    /// Everything about a type: kind, name, size, alignment, members, enumerators, signature.
    /// A forward declaration is answered with its complete definition from any unit.
    pub fn type_info(&self, t: TypeRef) -> Result<TypeInfo> {
        self.decoder()?.info(t)
    }

    /// The type after typedefs and qualifiers, with its description.
    pub fn strip_typedefs(&self, t: TypeRef) -> Result<(TypeRef, TypeInfo)> {
        self.decoder()?.strip(t)
    }

    /// The complete definition of a declared struct/union/enum (`t` itself if already complete).
    pub fn complete(&self, t: TypeRef) -> Result<TypeRef> {
        self.decoder()?.complete(t)
    }

    /// Size of `t` in bytes (None for void, functions and incomplete types).
    pub fn size_of(&self, t: TypeRef) -> Result<Option<u64>> {
        self.decoder()?.size(t)
    }

    /// Resolves a member path (`inp_inc.inc_ie.ie_fport`, `a.b[2].c`) inside `t`.
    pub fn member_path(&self, t: TypeRef, path: &str) -> Result<MemberLayout> {
        let decoder = self.decoder()?;
        decoder.member_path(t, path, |t| {
            decoder.c_name(t).unwrap_or_else(|_| "?".into())
        })
    }

    /// The C spelling of `t` ("struct tcpcb *", "int (*)(struct mbuf *, int)").
    pub fn c_name(&self, t: TypeRef) -> Result<String> {
        self.decoder()?.c_name(t)
    }

    /// The function called `name` with code in the image; a global one is preferred over
    /// same-named statics.
    /// Functions without DWARF (assembly such as FreeBSD's `bcopy`) come from the ELF symbol
    /// table, with `from_dwarf` false.
    pub fn function(&self, name: &str) -> Result<Function> {
        let mut all = self.functions(name)?;
        all.sort_by_key(|f| f.linkage != Linkage::Global);
        if let Some(f) = all.into_iter().next() {
            return Ok(f);
        }
        let mut syms: Vec<&ElfSymbol> = self
            .symtab()?
            .named(name)
            .filter(|s| s.kind == SymbolKind::Function)
            .collect();
        syms.sort_by_key(|s| s.linkage != Linkage::Global);
        let sym = syms
            .first()
            .ok_or_else(|| self.not_found("function", name))?;
        Ok(Function {
            name: sym.name.clone(),
            address: sym.address,
            size: sym.size,
            linkage: sym.linkage,
            params: Vec::new(),
            ret: TypeRef::VOID,
            variadic: false,
            inline_copy: false,
            from_dwarf: false,
        })
    }

    /// Every function called `name` (statics of the same name in several files, clones).
    pub fn functions(&self, name: &str) -> Result<Vec<Function>> {
        let dies = self
            .index()?
            .functions
            .get(name.as_bytes())
            .cloned()
            .unwrap_or_default();
        dies.into_iter()
            .map(|d| functions::function(&self.ctx, d, name))
            .collect()
    }

    /// Names of the functions matching a shell glob (fbt's probe function field), from DWARF
    /// and from ELF function symbols that have no DWARF, sorted.
    pub fn functions_matching(&self, glob: &str) -> Result<Vec<String>> {
        let mut names = BTreeSet::new();
        for name in self.index()?.functions.keys() {
            let name = String::from_utf8_lossy(name);
            if glob_match(glob, &name) {
                names.insert(name.into_owned());
            }
        }
        for sym in self.symtab()?.all() {
            if sym.kind == SymbolKind::Function && glob_match(glob, &sym.name) {
                names.insert(sym.name.clone());
            }
        }
        Ok(names.into_iter().collect())
    }

    /// The global variable called `name`: from DWARF when described there (with its type),
    /// else from an ELF object symbol.
    pub fn global(&self, name: &str) -> Result<Global> {
        let dies = self
            .index()?
            .globals
            .get(name.as_bytes())
            .cloned()
            .unwrap_or_default();
        let mut best: Option<Global> = None;
        for die in dies {
            if let Some((mut g, ty)) = functions::global(&self.ctx, die, name)? {
                g.size = match ty {
                    Some(t) => self.size_of(t)?,
                    None => None,
                };
                if best.as_ref().is_none_or(|b| b.linkage != Linkage::Global) {
                    best = Some(g);
                }
            }
        }
        if let Some(g) = best {
            return Ok(g);
        }
        let sym = self.elf_symbol(name)?;
        Ok(Global {
            name: sym.name.clone(),
            address: sym.address,
            ty: None,
            size: Some(sym.size),
            linkage: sym.linkage,
        })
    }

    fn symtab(&self) -> Result<&SymbolTable> {
        if let Some(t) = self.symtab.get() {
            return Ok(t);
        }
        let mut files = vec![&self.main];
        files.extend(self.debug.as_ref());
        let built = SymbolTable::build(&files)?;
        Ok(self.symtab.get_or_init(|| built))
    }

    /// The ELF symbol called `name` (a global one preferred).
    pub fn elf_symbol(&self, name: &str) -> Result<ElfSymbol> {
        let table = self.symtab()?;
        let mut found: Vec<&ElfSymbol> = table.named(name).collect();
        found.sort_by_key(|s| s.linkage != Linkage::Global);
        found
            .first()
            .map(|s| (*s).clone())
            .ok_or_else(|| self.not_found("symbol", name))
    }

    /// The symbol covering `address` and the offset into it: `("tcp_output", 0x1c)`.
    pub fn symbolize(&self, address: u64) -> Result<Option<(String, u64)>> {
        Ok(self
            .symtab()?
            .symbolize(address)
            .map(|(s, off)| (s.name.clone(), off)))
    }

    /// Section headers of the executable opened.
    pub fn sections(&self) -> Result<Vec<SectionInfo>> {
        self.main.sections()
    }

    /// Loadable segments of the executable opened.
    pub fn segments(&self) -> Result<Vec<SegmentInfo>> {
        self.main.segments()
    }

    /// The file's bytes at virtual address `address` (initialised data and code only).
    pub fn read_bytes(&self, address: u64, len: u64) -> Result<Vec<u8>> {
        std::iter::once(&self.main)
            .chain(self.debug.as_ref())
            .find_map(|f| f.bytes_at(address, len))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error::NoData {
                path: self.path().to_path_buf(),
                address,
                len,
            })
    }

    /// The initial value of global `name` as stored in the file (e.g. the `version` string,
    /// to check the file matches the running guest).
    pub fn global_bytes(&self, name: &str) -> Result<Vec<u8>> {
        let g = self.global(name)?;
        let len = g.size.filter(|s| *s > 0).ok_or_else(|| {
            Error::Invalid(format!(
                "size of global '{name}' is unknown in {}",
                self.path().display()
            ))
        })?;
        self.read_bytes(g.address, len)
    }

    /// Paths of the files in use (executable, then debug file if separate).
    pub fn files(&self) -> Vec<PathBuf> {
        std::iter::once(&self.main)
            .chain(self.debug.as_ref())
            .map(|f| f.path().to_path_buf())
            .collect()
    }
}
