//! One memory-mapped ELF file: validation of its headers and access to its sections and symbols.

use crate::error::{Error, Result};
use memmap2::Mmap;
use object::read::elf::{ElfFile64, FileHeader, SectionHeader};
use object::{LittleEndian, Object, ObjectSection, ObjectSegment};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Parsed view of an ELF64 little-endian file held in an [`ElfFile`].
pub(crate) type Parsed<'a> = ElfFile64<'a, LittleEndian>;

/// A section of an ELF file, as the section header table describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionInfo {
    /// Section name (".text", ".data", ...).
    pub name: String,
    /// Virtual address when loaded (0 for sections that are not loaded).
    pub address: u64,
    /// Size in memory.
    pub size: u64,
    /// Offset of the section's bytes in the file.
    pub file_offset: u64,
    /// True when the section has bytes in the file (not SHT_NOBITS such as .bss).
    pub has_file_data: bool,
    /// True when the section occupies memory at run time (SHF_ALLOC).
    pub allocated: bool,
    /// True when the section is executable code.
    pub executable: bool,
    /// True when stored compressed (SHF_COMPRESSED, or a GNU `.zdebug_*` section).
    pub compressed: bool,
}

/// A loadable segment (program header) of an ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// Virtual address.
    pub address: u64,
    /// Size in memory.
    pub mem_size: u64,
    /// Offset of the segment's bytes in the file.
    pub file_offset: u64,
    /// Bytes present in the file (the rest is zero-filled).
    pub file_size: u64,
}

/// A memory-mapped ELF64 little-endian file whose headers were checked against its length.
pub(crate) struct ElfFile {
    path: PathBuf,
    map: Mmap,
}

const ELF_HEADER_LEN: u64 = 64;

impl ElfFile {
    /// Maps `path` and checks that it is a complete ELF64 little-endian file.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the map is read-only; a file truncated under us while mapped would fault,
        // which is the same contract every mmap-based debugger reader accepts.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        let elf = ElfFile {
            path: path.to_path_buf(),
            map,
        };
        elf.check_headers()?;
        Ok(elf)
    }

    /// The file's path, for error messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Parses the ELF headers (cheap: headers only, sections are read on demand).
    pub(crate) fn parse(&self) -> Result<Parsed<'_>> {
        ElfFile64::parse(self.bytes()).map_err(|e| self.malformed(e.to_string()))
    }

    pub(crate) fn malformed(&self, what: impl Into<String>) -> Error {
        Error::Malformed {
            path: self.path.clone(),
            what: what.into(),
        }
    }

    fn truncated(&self, what: impl Into<String>, needed: u64) -> Error {
        Error::Truncated {
            path: self.path.clone(),
            what: what.into(),
            needed,
            actual: self.map.len() as u64,
        }
    }

    /// Rejects what is not ELF64 LE and anything whose headers point past the end of the file,
    /// so later reads can report "truncated" rather than a vague parse failure.
    fn check_headers(&self) -> Result<()> {
        let data = self.bytes();
        let len = data.len() as u64;
        if data.len() < 4 || &data[..4] != b"\x7fELF" {
            return Err(Error::NotElf {
                path: self.path.clone(),
            });
        }
        if len < ELF_HEADER_LEN {
            return Err(self.truncated("the ELF header", ELF_HEADER_LEN));
        }
        if data[4] != 2 {
            return Err(Error::Unsupported {
                path: self.path.clone(),
                what: format!("ELF class {} (only 64-bit ELF is read)", data[4]),
            });
        }
        if data[5] != 1 {
            return Err(Error::Unsupported {
                path: self.path.clone(),
                what: "big-endian ELF (only little-endian is read)".into(),
            });
        }
        let u64_at = |o: usize| u64::from_le_bytes(data[o..o + 8].try_into().unwrap_or([0; 8]));
        let u16_at = |o: usize| u64::from(u16::from_le_bytes([data[o], data[o + 1]]));
        let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
        let (shoff, shentsize, shnum) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c));
        let ph_end = phoff.saturating_add(phentsize.saturating_mul(phnum));
        if phnum > 0 && ph_end > len {
            return Err(self.truncated("the program header table", ph_end));
        }
        let sh_end = shoff.saturating_add(shentsize.saturating_mul(shnum));
        if shoff > 0 && sh_end > len {
            return Err(self.truncated("the section header table", sh_end));
        }
        let parsed = self.parse()?;
        let endian = parsed.endian();
        let table = parsed.elf_section_table();
        for header in table.iter() {
            if header.sh_type(endian) == object::elf::SHT_NOBITS {
                continue;
            }
            let end = header
                .sh_offset(endian)
                .saturating_add(header.sh_size(endian));
            if end > len {
                let name = table
                    .section_name(endian, header)
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .unwrap_or_else(|_| "?".into());
                return Err(self.truncated(format!("section {name}"), end));
            }
        }
        Ok(())
    }

    /// True for a relocatable object (`gcc -c`), whose DWARF needs its relocations applied.
    pub(crate) fn is_relocatable(&self) -> Result<bool> {
        let parsed = self.parse()?;
        Ok(parsed.elf_header().e_type(parsed.endian()) == object::elf::ET_REL)
    }

    /// Every section header.
    pub(crate) fn sections(&self) -> Result<Vec<SectionInfo>> {
        let parsed = self.parse()?;
        let endian = parsed.endian();
        Ok(parsed
            .sections()
            .map(|s| {
                let header = s.elf_section_header();
                let flags = header.sh_flags(endian);
                SectionInfo {
                    name: s.name().unwrap_or("").to_string(),
                    address: s.address(),
                    size: s.size(),
                    file_offset: header.sh_offset(endian),
                    has_file_data: header.sh_type(endian) != object::elf::SHT_NOBITS,
                    allocated: flags & u64::from(object::elf::SHF_ALLOC) != 0,
                    executable: flags & u64::from(object::elf::SHF_EXECINSTR) != 0,
                    compressed: flags & u64::from(object::elf::SHF_COMPRESSED) != 0
                        || s.name().is_ok_and(|n| n.starts_with(".zdebug")),
                }
            })
            .collect())
    }

    /// Every PT_LOAD segment.
    pub(crate) fn segments(&self) -> Result<Vec<SegmentInfo>> {
        let parsed = self.parse()?;
        Ok(parsed
            .segments()
            .map(|s| {
                let (file_offset, file_size) = s.file_range();
                SegmentInfo {
                    address: s.address(),
                    mem_size: s.size(),
                    file_offset,
                    file_size,
                }
            })
            .collect())
    }

    /// The file name and CRC recorded by `objcopy --add-gnu-debuglink`, if any.
    pub(crate) fn debuglink(&self) -> Result<Option<(String, u32)>> {
        let parsed = self.parse()?;
        match parsed.gnu_debuglink() {
            Ok(Some((name, crc))) => Ok(Some((String::from_utf8_lossy(name).into_owned(), crc))),
            Ok(None) => Ok(None),
            Err(e) => Err(self.malformed(format!(".gnu_debuglink: {e}"))),
        }
    }

    /// True when the file has a DWARF `.debug_info` (plain or compressed).
    pub(crate) fn has_debug_info(&self) -> Result<bool> {
        let parsed = self.parse()?;
        Ok(parsed
            .section_by_name(".debug_info")
            .is_some_and(|s| s.kind() != object::SectionKind::UninitializedData && s.size() > 0))
    }

    /// Gives back this process's pages of `bytes` (a part of the map that was read once and
    /// may not be read again soon). The pages stay in the page cache and fault back in if read
    /// again, so this only keeps the index scan of a kernel's ~150 MB .debug_info from holding
    /// all of it resident. Does nothing for bytes outside the map (decompressed copies).
    pub(crate) fn release(&self, bytes: &[u8]) {
        const PAGE: usize = 4096;
        let base = self.map.as_ptr() as usize;
        let start = bytes.as_ptr() as usize;
        let Some(offset) = start.checked_sub(base) else {
            return;
        };
        if offset + bytes.len() > self.map.len() {
            return;
        }
        // Up to the last whole page only: the tail page is shared with what follows.
        let end = (offset + bytes.len()) / PAGE * PAGE;
        let Some(len) = end.checked_sub(offset).filter(|l| *l > 0) else {
            return;
        };
        // SAFETY: the map is read-only and file-backed, so MADV_DONTNEED cannot lose data: a
        // later read of these bytes faults the same file contents back in.
        let _ = unsafe {
            self.map
                .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len)
        };
    }

    /// Asks the kernel to start reading `bytes` (a part of the map) into the page cache now,
    /// in large sequential requests, ahead of a scan that will fault them in one by one.
    pub(crate) fn prefetch(&self, bytes: &[u8]) {
        let base = self.map.as_ptr() as usize;
        let Some(offset) = (bytes.as_ptr() as usize).checked_sub(base) else {
            return;
        };
        if offset + bytes.len() <= self.map.len() && !bytes.is_empty() {
            // Only a hint: failure leaves the scan to fault pages in as usual.
            let _ = self
                .map
                .advise_range(memmap2::Advice::WillNeed, offset, bytes.len());
        }
    }

    /// Bytes of the file that back virtual addresses `address..address+len`, from a section
    /// with file data (a debug-only file has its .data as NOBITS, so this finds nothing there).
    pub(crate) fn bytes_at(&self, address: u64, len: u64) -> Option<&[u8]> {
        let parsed = self.parse().ok()?;
        let endian = parsed.endian();
        for header in parsed.elf_section_table().iter() {
            let flags = header.sh_flags(endian);
            if flags & u64::from(object::elf::SHF_ALLOC) == 0
                || header.sh_type(endian) == object::elf::SHT_NOBITS
            {
                continue;
            }
            let start = header.sh_addr(endian);
            let size = header.sh_size(endian);
            let end = address.checked_add(len)?;
            if address >= start && end <= start.saturating_add(size) {
                let off = usize::try_from(header.sh_offset(endian) + (address - start)).ok()?;
                return self
                    .bytes()
                    .get(off..off.checked_add(usize::try_from(len).ok()?)?);
            }
        }
        None
    }
}
