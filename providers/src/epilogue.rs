//! What the kernel image's machine code says about function exits: fbt:::return's offset, and
//! a `ret` instruction emulated returns can resume at.
//!
//! Both look for a frame-pointer epilogue, `pop %rbp; ret` (5d c3) or `leave; ret` (c9 c3):
//! what FreeBSD's own fbt recognises as a return site on amd64.

use symbols::KernelImage;

/// Code bytes of the function containing `addr`, from its start (empty if unknown).
fn function_code(image: &KernelImage, name: &str) -> Option<(u64, Vec<u8>)> {
    let s = image.elf_symbol(name).ok()?;
    let code = image.read_bytes(s.address, s.size).ok()?;
    Some((s.address, code))
}

/// Offsets of the `ret` of every frame-pointer epilogue in `code`.
fn epilogue_rets(code: &[u8]) -> impl DoubleEndedIterator<Item = usize> + '_ {
    code.windows(2)
        .enumerate()
        .filter(|(_, w)| (w[0] == 0x5d || w[0] == 0xc9) && w[1] == 0xc3)
        .map(|(i, _)| i + 1)
}

/// fbt:::return's arg0, the offset of the function's return instruction: the `ret` of its
/// frame-pointer epilogue, the last one when there are several (a caught return does not say
/// which `ret` ran).
pub fn return_offset(image: &KernelImage, addr: u64) -> u64 {
    let Ok(Some((name, _))) = image.symbolize(addr) else {
        return 0;
    };
    function_code(image, &name)
        .and_then(|(_, code)| epilogue_rets(&code).next_back())
        .map_or(0, |i| i as u64)
}

/// A `ret` instruction in kernel text: the last byte of a function that ends with an epilogue.
/// Ending the function, the byte is the end of its last instruction, and after `pop %rbp` or
/// `leave` a 0xc3 cannot be the tail of a longer one (a jump or call whose displacement ended
/// in 5d c3 would reach about 1 GiB back, beyond any kernel's text). `preferred` functions are
/// tried first, then every function in name order. Only text within 1 GiB of `near` counts
/// (the kernel proper: boot code linked at low physical addresses is unmapped later).
pub fn return_gadget(image: &KernelImage, preferred: &[&str], near: u64) -> Option<u64> {
    let ends_in_ret = |name: &str| {
        let (start, code) = function_code(image, name)?;
        let last = code.len().checked_sub(1)?;
        let ret = epilogue_rets(&code).next_back();
        ret.filter(|&i| i == last)
            .map(|i| start + i as u64)
            .filter(|a| a.abs_diff(near) < 1 << 30)
    };
    preferred.iter().find_map(|n| ends_in_ret(n)).or_else(|| {
        image
            .functions_matching("*")
            .ok()?
            .iter()
            .find_map(|n| ends_in_ret(n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_epilogue_rets_only() {
        let code = [
            0x55, 0x48, 0x89, 0xe5, 0x5d, 0xc3, 0x90, 0xc9, 0xc3, 0x00, 0xc3,
        ];
        assert_eq!(epilogue_rets(&code).collect::<Vec<_>>(), vec![5, 8]);
        assert_eq!(epilogue_rets(&[0xc3]).count(), 0);
    }
}
