//! x86-64 virtual-to-physical translation by walking the page tables from CR3, with a cache
//! that the owner clears whenever the guest runs.

use std::collections::HashMap;

use crate::error::MemError;

const PRESENT: u64 = 1;
const PAGE_SIZE_BIT: u64 = 1 << 7;
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
const CR0_PG: u64 = 1 << 31;
const CR4_LA57: u64 = 1 << 12;
const EFER_LMA: u64 = 1 << 10;

/// The control registers that decide how addresses translate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagingRegs {
    /// CR0 (PG bit).
    pub cr0: u64,
    /// CR3 (table root).
    pub cr3: u64,
    /// CR4 (LA57 bit).
    pub cr4: u64,
    /// EFER (LMA bit).
    pub efer: u64,
}

/// Result of a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// Physical address of the byte, and how many bytes from it lie in the same page.
    Mapped {
        /// Physical address of `vaddr`.
        phys: u64,
        /// Bytes left in the page from `phys`.
        remaining: u64,
    },
    /// A paging mode this walker does not handle (32-bit, PAE legacy, 5-level): use the stub.
    Unsupported,
}

/// Translates `vaddr`; `read_phys_u64` reads one 8-byte table entry from guest RAM.
pub fn walk(
    regs: &PagingRegs,
    vaddr: u64,
    mut read_phys_u64: impl FnMut(u64) -> Result<u64, MemError>,
) -> Result<Walk, MemError> {
    if regs.cr0 & CR0_PG == 0 {
        return Ok(Walk::Mapped {
            phys: vaddr,
            remaining: 0x1000 - (vaddr & 0xfff),
        });
    }
    if regs.efer & EFER_LMA == 0 || regs.cr4 & CR4_LA57 != 0 {
        return Ok(Walk::Unsupported);
    }
    // Non-canonical addresses fault in hardware; report them as unmapped.
    let top = vaddr >> 47;
    if top != 0 && top != 0x1ffff {
        return Err(MemError::Unmapped { addr: vaddr });
    }
    let mut table = regs.cr3 & ADDR_MASK;
    // Levels: PML4 (39), PDPT (30, 1 GiB leaves), PD (21, 2 MiB leaves), PT (12).
    for shift in [39u32, 30, 21, 12] {
        let index = (vaddr >> shift) & 0x1ff;
        let entry = read_phys_u64(table + index * 8)?;
        if entry & PRESENT == 0 {
            return Err(MemError::Unmapped { addr: vaddr });
        }
        let leaf = shift == 12 || (shift != 39 && entry & PAGE_SIZE_BIT != 0);
        if leaf {
            let size = 1u64 << shift;
            let base = entry & ADDR_MASK & !(size - 1);
            let off = vaddr & (size - 1);
            return Ok(Walk::Mapped {
                phys: base + off,
                remaining: size - off,
            });
        }
        table = entry & ADDR_MASK;
    }
    Err(MemError::Unmapped { addr: vaddr })
}

/// Per-stop cache of 4 KiB page translations.
#[derive(Debug, Default)]
pub struct TranslationCache {
    pages: HashMap<u64, u64>,
    regs: Option<PagingRegs>,
}

impl TranslationCache {
    /// Forgets everything (call on every resume: the guest may change its tables).
    pub fn clear(&mut self) {
        self.pages.clear();
        self.regs = None;
    }

    /// Physical address of `vaddr` and bytes left in its 4 KiB page, walking on a miss.
    pub fn translate(
        &mut self,
        regs: &PagingRegs,
        vaddr: u64,
        read_phys_u64: impl FnMut(u64) -> Result<u64, MemError>,
    ) -> Result<Walk, MemError> {
        if self.regs != Some(*regs) {
            self.pages.clear();
            self.regs = Some(*regs);
        }
        let vpage = vaddr >> 12;
        let off = vaddr & 0xfff;
        if let Some(&ppage) = self.pages.get(&vpage) {
            return Ok(Walk::Mapped {
                phys: (ppage << 12) | off,
                remaining: 0x1000 - off,
            });
        }
        match walk(regs, vaddr, read_phys_u64)? {
            Walk::Mapped { phys, .. } => {
                self.pages.insert(vpage, phys >> 12);
                Ok(Walk::Mapped {
                    phys,
                    remaining: 0x1000 - off,
                })
            }
            Walk::Unsupported => Ok(Walk::Unsupported),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny physical memory with hand-built tables: one 4 KiB, one 2 MiB, one 1 GiB page.
    fn tables() -> HashMap<u64, u64> {
        let mut m = HashMap::new();
        let pml4 = 0x1000;
        let pdpt = 0x2000;
        let pd = 0x3000;
        let pt = 0x4000;
        // vaddr 0xffffffff80000000: PML4[511] -> PDPT[510] -> PD[0] 2 MiB at 0x200000.
        m.insert(pml4 + 511 * 8, pdpt | 3);
        m.insert(pdpt + 510 * 8, pd | 3);
        m.insert(pd, 0x20_0000 | 0x83);
        // PD[1] -> PT, PT[3] -> 0x7000 (vaddr 0xffffffff80203000).
        m.insert(pd + 8, pt | 3);
        m.insert(pt + 3 * 8, 0x7000 | 3);
        // PML4[0] -> PDPT2, PDPT2[1] 1 GiB page at 0x4000_0000 (vaddr 0x4000_0000).
        m.insert(pml4, 0x5000 | 3);
        m.insert(0x5000 + 8, 0x4000_0000 | 0x83);
        m
    }

    fn regs() -> PagingRegs {
        PagingRegs {
            cr0: CR0_PG | 1,
            cr3: 0x1000,
            cr4: 0x20,
            efer: EFER_LMA | (1 << 8),
        }
    }

    fn run(vaddr: u64) -> Result<Walk, MemError> {
        let t = tables();
        walk(&regs(), vaddr, |pa| Ok(t.get(&pa).copied().unwrap_or(0)))
    }

    #[test]
    fn walks_all_three_page_sizes() {
        assert_eq!(
            run(0xffffffff80001234),
            Ok(Walk::Mapped {
                phys: 0x20_1234,
                remaining: 0x20_0000 - 0x1234
            })
        );
        assert_eq!(
            run(0xffffffff80203010),
            Ok(Walk::Mapped {
                phys: 0x7010,
                remaining: 0xff0
            })
        );
        assert_eq!(
            run(0x4000_0010),
            Ok(Walk::Mapped {
                phys: 0x4000_0010,
                remaining: 0x4000_0000 - 0x10
            })
        );
    }

    #[test]
    fn not_present_and_non_canonical_are_unmapped() {
        assert_eq!(
            run(0xffffffff80204000),
            Err(MemError::Unmapped {
                addr: 0xffffffff80204000
            })
        );
        assert_eq!(
            run(0x0000_8000_0000_0000),
            Err(MemError::Unmapped {
                addr: 0x8000_0000_0000
            })
        );
    }

    #[test]
    fn paging_off_is_identity_and_legacy_modes_are_unsupported() {
        let t = tables();
        let off = PagingRegs { cr0: 1, ..regs() };
        assert_eq!(
            walk(&off, 0x1234, |pa| Ok(t[&pa])),
            Ok(Walk::Mapped {
                phys: 0x1234,
                remaining: 0xdcc
            })
        );
        let legacy = PagingRegs { efer: 0, ..regs() };
        assert_eq!(walk(&legacy, 0x1234, |_| Ok(0)), Ok(Walk::Unsupported));
    }

    #[test]
    fn cache_walks_once_per_page_until_cleared() {
        let t = tables();
        let mut walks = 0;
        let mut c = TranslationCache::default();
        for a in [
            0xffffffff80203010u64,
            0xffffffff80203ff0,
            0xffffffff80203010,
        ] {
            c.translate(&regs(), a, |pa| {
                walks += 1;
                Ok(t.get(&pa).copied().unwrap_or(0))
            })
            .unwrap();
        }
        assert_eq!(walks, 4, "one 4-level walk for three reads of one page");
        c.clear();
        c.translate(&regs(), 0xffffffff80203010, |pa| {
            walks += 1;
            Ok(t.get(&pa).copied().unwrap_or(0))
        })
        .unwrap();
        assert_eq!(walks, 8);
    }
}
