//! The FreeBSD 10.x (amd64) guest profile: what is specific to that kernel and nothing else.
//! Release detection and the check that a debug file matches the running kernel, SDT probe
//! discovery through the kernel's linker sets, the safety checks before probe ids are written,
//! and curthread (GS base → `pc_curthread` → `td_proc`).
//!
//! It reaches the kernel's debug info and memory only through the [`Kernel`] and [`Memory`]
//! traits, so it depends on neither the DWARF reader nor the gdbstub client.

mod release;
mod sdt;
mod thread;

pub use release::{identify, translator_prelude, Release};
pub use sdt::{check_enable_safe, discover, SdtArg, SdtProbe, SDT_FUNCTION, SDT_MODULE};
pub use thread::{ThreadInfo, ThreadLayout};

/// What the profile needs from the kernel's debug file.
pub trait Kernel {
    /// Address of a global symbol (function, variable or linker-set bound).
    fn symbol(&self, name: &str) -> Option<u64>;
    /// Byte offset of a member path (`"inp_inc.inc_ie"`) inside a struct named like `"struct proc"`.
    fn member_offset(&self, ty: &str, path: &str) -> Option<u64>;
    /// Size in bytes of a struct named like `"struct sdt_probe"`.
    fn type_size(&self, ty: &str) -> Option<u64>;
    /// The initial contents of a global as stored in the file (the `version` string).
    fn file_bytes(&self, name: &str) -> Option<Vec<u8>>;
}

/// Guest kernel memory by virtual address.
pub trait Memory {
    /// Fills `buf` from `addr`; Err carries the address that could not be read.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), u64>;
}

/// Why the profile cannot do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The debug file lacks something every FreeBSD 10 kernel has.
    #[error("the kernel's debug file has no {0}: is it a FreeBSD 10 kernel?")]
    Missing(String),
    /// Guest memory could not be read.
    #[error("cannot read guest memory at 0x{addr:x} ({what})")]
    Unreadable {
        /// The address.
        addr: u64,
        /// What was being read.
        what: String,
    },
    /// The file is not the kernel the guest runs.
    #[error(
        "the kernel file does not match the running guest: the guest's version string is \
         \"{guest}\", the file's is \"{file}\""
    )]
    Mismatch {
        /// `version` as the guest has it.
        guest: String,
        /// `version` as the file has it.
        file: String,
    },
    /// Enabling probes would not be safe.
    #[error("{0}")]
    Unsafe(String),
}

/// Reads a little-endian u64.
fn read_u64(m: &mut dyn Memory, addr: u64, what: &str) -> Result<u64, Error> {
    let mut b = [0u8; 8];
    m.read(addr, &mut b).map_err(|a| Error::Unreadable {
        addr: a,
        what: what.to_string(),
    })?;
    Ok(u64::from_le_bytes(b))
}

/// Reads a NUL-terminated string of at most `max` bytes.
fn read_cstr(m: &mut dyn Memory, addr: u64, max: usize, what: &str) -> Result<String, Error> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 64];
    while out.len() < max {
        // Stop at a page end so a short string near unmapped memory still reads.
        let to_page = (0x1000 - ((addr + out.len() as u64) & 0xfff)) as usize;
        let n = chunk.len().min(to_page).min(max - out.len());
        m.read(addr + out.len() as u64, &mut chunk[..n])
            .map_err(|a| Error::Unreadable {
                addr: a,
                what: what.to_string(),
            })?;
        if let Some(z) = chunk[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..z]);
            return Ok(String::from_utf8_lossy(&out).into_owned());
        }
        out.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn need_symbol(k: &dyn Kernel, name: &str) -> Result<u64, Error> {
    k.symbol(name)
        .ok_or_else(|| Error::Missing(format!("symbol `{name}`")))
}

fn need_offset(k: &dyn Kernel, ty: &str, path: &str) -> Result<u64, Error> {
    k.member_offset(ty, path)
        .ok_or_else(|| Error::Missing(format!("member {path} of {ty}")))
}

#[cfg(test)]
mod tests;
