//! Host-side execution of the first instruction of a function, so an entry breakpoint costs
//! one stop instead of two (no single-step). Only `push %reg` is taken: it is what frame-
//! pointer kernels (FreeBSD's among them) start almost every function with, and its effect is
//! exact and simple: store the register below RSP, RSP -= 8, RIP += length. Flags untouched.

/// A `push` of a general-purpose register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Push {
    /// The register pushed, by its target-description name.
    pub reg: &'static str,
    /// Instruction length in bytes.
    pub len: u64,
}

const LOW: [&str; 8] = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"];
const HIGH: [&str; 8] = ["r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

/// Decodes `push %reg` (0x50+r, or REX.B 0x41 then 0x50+r) at the start of `code`.
pub fn decode(code: &[u8]) -> Option<Push> {
    match code {
        [op @ 0x50..=0x57, ..] => Some(Push {
            reg: LOW[(op - 0x50) as usize],
            len: 1,
        }),
        [0x41, op @ 0x50..=0x57, ..] => Some(Push {
            reg: HIGH[(op - 0x50) as usize],
            len: 2,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pushes_only() {
        assert_eq!(
            decode(&[0x55, 0x48, 0x89, 0xe5]),
            Some(Push { reg: "rbp", len: 1 })
        );
        assert_eq!(decode(&[0x41, 0x57]), Some(Push { reg: "r15", len: 2 }));
        assert_eq!(decode(&[0x54]), Some(Push { reg: "rsp", len: 1 }));
        // REX.W push, pop, an add to memory, REX without push: all stepped instead.
        for code in [
            &[0x48, 0x55][..],
            &[0x5d],
            &[0x48, 0x83, 0x47, 0x08, 0x01],
            &[0x41],
            &[],
        ] {
            assert_eq!(decode(code), None, "{code:x?}");
        }
    }
}
