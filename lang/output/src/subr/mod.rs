//! Pure subroutines D scripts call, with the FreeBSD 10.4 kernel's semantics for every edge
//! case (`dtrace_dif_subr` in the kernel's dtrace.c). Strings are byte slices; a NUL ends them.
//! A subroutine that returns a D string pointer which can be NULL returns `Option`.

mod inet;
mod path;
mod strings;

pub use inet::{inet_ntoa, inet_ntoa6, inet_ntop, inet_ntop_len, AF_INET, AF_INET6};
pub use path::{basename, cleanpath, dirname};
pub use strings::{
    index, lltostr, rindex, strchr, strjoin, strlen, strrchr, strstr, strtok, strtoll, substr,
    tolower, toupper, StrtokState,
};

/// A subroutine fault: the clause is abandoned with dtrace's runtime error of this kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubrError {
    /// An invalid argument such as a base outside 2..=36 or an unknown address family.
    #[error("illegal operation")]
    IllegalOperation,
    /// The result does not fit in `strsize` (strjoin).
    #[error("out of scratch space")]
    OutOfScratch,
    /// A read through a NULL pointer (strtok(NULL, ...) after the last token).
    #[error("invalid address (0x0)")]
    NullAddress,
}

/// `ntohs`/`htons`: swaps the bytes of the low 16 bits (amd64 is little-endian).
pub fn ntohs(x: u64) -> u64 {
    u64::from((x as u16).swap_bytes())
}

/// `htons`.
pub fn htons(x: u64) -> u64 {
    ntohs(x)
}

/// `ntohl`/`htonl`: swaps the bytes of the low 32 bits.
pub fn ntohl(x: u64) -> u64 {
    u64::from((x as u32).swap_bytes())
}

/// `htonl`.
pub fn htonl(x: u64) -> u64 {
    ntohl(x)
}

/// `ntohll`/`htonll`: swaps all eight bytes.
pub fn ntohll(x: u64) -> u64 {
    x.swap_bytes()
}

/// `htonll`.
pub fn htonll(x: u64) -> u64 {
    ntohll(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_swaps_truncate_first() {
        // funcs/tst.hton2: the argument is narrowed to the function's width before swapping.
        assert_eq!(ntohs(0x1234_5678), 0x7856);
        assert_eq!(htonl(0x1122_3344_5566_7788), 0x8877_6655);
        assert_eq!(ntohll(0x0102_0304_0506_0708), 0x0807_0605_0403_0201);
    }
}
