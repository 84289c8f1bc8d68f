//! The ELF symbol table: names for what DWARF does not describe, and address-to-symbol lookup
//! for `stack()` and `%a`.

use crate::elf::ElfFile;
use crate::error::Result;
use crate::functions::Linkage;
use object::{Object, ObjectSymbol, SymbolKind as ObjKind};
use rustc_hash::{FxHashMap, FxHashSet};

/// What an ELF symbol names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    /// Code (STT_FUNC).
    Function,
    /// Data (STT_OBJECT).
    Object,
    /// Anything else with an address (STT_NOTYPE labels such as `btext`).
    Other,
}

/// One ELF symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfSymbol {
    /// Symbol name.
    pub name: String,
    /// Value (address in a linked image).
    pub address: u64,
    /// Size in bytes (0 when the producer did not say).
    pub size: u64,
    /// Function, object or other.
    pub kind: SymbolKind,
    /// Local (static) or global/weak.
    pub linkage: Linkage,
}

/// All defined symbols of the image's files, by name and by address.
pub(crate) struct SymbolTable {
    symbols: Vec<ElfSymbol>,
    by_name: FxHashMap<String, Vec<usize>>,
    by_address: Vec<usize>,
}

impl SymbolTable {
    /// Reads the symbol tables of `files` (the same symbol in two files is kept once).
    pub(crate) fn build(files: &[&ElfFile]) -> Result<SymbolTable> {
        let mut symbols = Vec::new();
        let mut seen = FxHashSet::default();
        for file in files {
            let parsed = file.parse()?;
            let table: Vec<_> = if parsed.symbols().next().is_some() {
                parsed.symbols().collect()
            } else {
                parsed.dynamic_symbols().collect()
            };
            for sym in table {
                if sym.is_undefined()
                    || sym.kind() == ObjKind::Section
                    || sym.kind() == ObjKind::File
                {
                    continue;
                }
                let Ok(name) = sym.name() else { continue };
                if name.is_empty() || !seen.insert((name.to_string(), sym.address())) {
                    continue;
                }
                let kind = match sym.kind() {
                    ObjKind::Text => SymbolKind::Function,
                    ObjKind::Data => SymbolKind::Object,
                    _ => SymbolKind::Other,
                };
                let linkage = if sym.is_global() {
                    Linkage::Global
                } else {
                    Linkage::Static
                };
                symbols.push(ElfSymbol {
                    name: name.to_string(),
                    address: sym.address(),
                    size: sym.size(),
                    kind,
                    linkage,
                });
            }
        }
        let mut by_name: FxHashMap<String, Vec<usize>> = FxHashMap::default();
        for (i, s) in symbols.iter().enumerate() {
            by_name.entry(s.name.clone()).or_default().push(i);
        }
        let mut by_address: Vec<usize> = (0..symbols.len())
            .filter(|&i| symbols[i].address != 0)
            .collect();
        // At one address, prefer functions, then global names, then sized symbols: the last
        // entry of a run of equal addresses is the one symbolize() reports.
        by_address.sort_by_key(|&i| {
            let s = &symbols[i];
            (
                s.address,
                s.kind == SymbolKind::Function,
                s.linkage == Linkage::Global,
                s.size,
            )
        });
        Ok(SymbolTable {
            symbols,
            by_name,
            by_address,
        })
    }

    /// Every symbol called `name`.
    pub(crate) fn named(&self, name: &str) -> impl Iterator<Item = &ElfSymbol> {
        self.by_name
            .get(name)
            .into_iter()
            .flatten()
            .map(|&i| &self.symbols[i])
    }

    /// Every symbol.
    pub(crate) fn all(&self) -> &[ElfSymbol] {
        &self.symbols
    }

    /// The symbol covering `address`, and the offset into it.
    pub(crate) fn symbolize(&self, address: u64) -> Option<(&ElfSymbol, u64)> {
        let end = self
            .by_address
            .partition_point(|&i| self.symbols[i].address <= address);
        let candidates = || {
            self.by_address[..end]
                .iter()
                .rev()
                .take(64)
                .map(|&i| &self.symbols[i])
        };
        // A sized symbol that covers the address wins over a nearer unsized label inside it;
        // failing that, the nearest unsized label covers up to the next symbol.
        if let Some(s) = candidates().find(|s| s.size > 0 && address - s.address < s.size) {
            return Some((s, address - s.address));
        }
        let s = candidates().next().filter(|s| s.size == 0)?;
        Some((s, address - s.address))
    }
}
