//! Where kernel functions return, from the kernel image's machine code: the `ret`
//! instructions fbt:::return breakpoints go on (arg0 is the offset of the one that ran, as in
//! FreeBSD's fbt), and a `ret` that emulated returns can resume at.
//!
//! Functions are decoded instruction by instruction (iced-x86) from their ELF symbol's start
//! and size, so a 0xc3 inside an immediate or displacement is never taken for a `ret`.

use iced_x86::{Code, Decoder, DecoderOptions};
use symbols::KernelImage;

/// Start address and code bytes of the function called `name`.
fn function_code(image: &KernelImage, name: &str) -> Option<(u64, Vec<u8>)> {
    let s = image.elf_symbol(name).ok()?;
    let code = image.read_bytes(s.address, s.size).ok()?;
    Some((s.address, code))
}

/// Addresses of the plain near `ret` instructions in `code` (which starts at `start`),
/// decoding up to the first byte sequence that is not an instruction.
fn rets_in(code: &[u8], start: u64) -> Vec<u64> {
    let mut decoder = Decoder::with_ip(64, code, start, DecoderOptions::NONE);
    let mut rets = Vec::new();
    while decoder.can_decode() {
        let insn = decoder.decode();
        if insn.is_invalid() {
            break;
        }
        if insn.code() == Code::Retnq {
            rets.push(insn.ip());
        }
    }
    rets
}

/// The `ret` instructions of the function that starts at `entry` (empty if its symbol or code
/// is unknown, or it only leaves by tail calls).
pub fn return_sites(image: &KernelImage, entry: u64) -> Vec<u64> {
    let Ok(Some((name, 0))) = image.symbolize(entry) else {
        return Vec::new();
    };
    function_code(image, &name).map_or_else(Vec::new, |(start, code)| rets_in(&code, start))
}

/// A `ret` instruction in kernel text for emulated returns to resume at. `preferred` functions
/// are tried first, then every function in name order. Only text within 1 GiB of `near`
/// counts (the kernel proper: boot code linked at low physical addresses is unmapped later).
pub fn return_gadget(image: &KernelImage, preferred: &[&str], near: u64) -> Option<u64> {
    let first_ret = |name: &str| {
        let (start, code) = function_code(image, name)?;
        rets_in(&code, start)
            .into_iter()
            .find(|a| a.abs_diff(near) < 1 << 30)
    };
    preferred.iter().find_map(|n| first_ret(n)).or_else(|| {
        image
            .functions_matching("*")
            .ok()?
            .iter()
            .find_map(|n| first_ret(n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rets_at_instruction_boundaries_only() {
        let code = [
            0x55, // push %rbp
            0x48, 0x89, 0xe5, // mov %rsp,%rbp
            0x48, 0xb8, 0x5d, 0xc3, 0, 0, 0, 0, 0, 0, // movabs $0xc35d,%rax: no ret inside
            0x74, 0x02, // je +2
            0x5d, 0xc3, // pop %rbp; ret
            0x5d, 0xc2, 0x08, 0x00, // pop %rbp; ret $8: not a plain ret
            0xc9, 0xc3, // leave; ret
        ];
        assert_eq!(rets_in(&code, 0x1000), vec![0x1000 + 17, 0x1000 + 23]);
        // Undecodable bytes end the walk.
        assert_eq!(rets_in(&[0x0f, 0xff, 0xc3], 0), Vec::<u64>::new());
    }
}
