//! inet_ntoa, inet_ntoa6, inet_ntop as the FreeBSD 10 kernel writes them (RFC 1884 style:
//! a single zero group may become `::`, IPv4-mapped/compatible addresses end in a dotted quad,
//! and inet_ntoa6 prints only the quad for those).

use super::SubrError;

/// FreeBSD's `AF_INET`.
pub const AF_INET: i64 = 2;
/// FreeBSD's `AF_INET6`.
pub const AF_INET6: i64 = 28;

/// How many bytes inet_ntop() reads for `af` (4 or 16); other families are an illegal
/// operation.
pub fn inet_ntop_len(af: i64) -> Result<usize, SubrError> {
    match af {
        AF_INET => Ok(4),
        AF_INET6 => Ok(16),
        _ => Err(SubrError::IllegalOperation),
    }
}

fn quad(out: &mut Vec<u8>, b: &[u8]) {
    for (i, v) in b.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        out.extend_from_slice(v.to_string().as_bytes());
    }
}

/// `inet_ntoa(&addr)`: the four bytes as stored (network order) as a dotted quad.
pub fn inet_ntoa(addr: &[u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(15);
    quad(&mut out, addr);
    out
}

/// `inet_ntoa6(&addr)`.
pub fn inet_ntoa6(addr: &[u8; 16]) -> Vec<u8> {
    ntop6(addr, true)
}

/// `inet_ntop(af, &addr)`: `addr` must hold at least [`inet_ntop_len`] bytes.
pub fn inet_ntop(af: i64, addr: &[u8]) -> Result<Vec<u8>, SubrError> {
    let n = inet_ntop_len(af)?;
    let bytes = addr.get(..n).ok_or(SubrError::IllegalOperation)?;
    Ok(match (bytes.try_into(), bytes.try_into()) {
        (Ok(v4), _) if n == 4 => inet_ntoa(v4),
        (_, Ok(v6)) => ntop6(v6, false),
        _ => return Err(SubrError::IllegalOperation),
    })
}

/// The kernel's zero-run search: byte-wise, a run starts at an even zero byte and ends at the
/// next non-zero byte; a later run wins only if strictly longer by that byte count.
fn zero_run(a: &[u8; 16]) -> (isize, isize) {
    let mut first: isize = -1;
    let mut tryzero: isize = -1;
    let mut num: isize = 1;
    for i in 0..16isize {
        let b = a[i as usize];
        if b == 0 && tryzero == -1 && i % 2 == 0 {
            tryzero = i;
            continue;
        }
        if tryzero != -1 && (b != 0 || i == 15) {
            if i - tryzero <= num {
                tryzero = -1;
                continue;
            }
            first = tryzero;
            num = i - i % 2 - tryzero;
            tryzero = -1;
            if b == 0 && i == 15 {
                num += 2;
            }
        }
    }
    (first, num)
}

fn ntop6(a: &[u8; 16], ntoa6: bool) -> Vec<u8> {
    let (first, num) = zero_run(a);
    let mapped = a[..10].iter().all(|&b| b == 0) && a[10] == 0xff && a[11] == 0xff;
    let tail = u32::from_be_bytes([a[12], a[13], a[14], a[15]]);
    let compat = a[..12].iter().all(|&b| b == 0) && tail > 1;
    let mut v4 = Vec::new();
    let mut v6end: isize = 14;
    if mapped || compat {
        quad(&mut v4, &a[12..]);
        if ntoa6 {
            return v4;
        }
        v6end = 10;
    }
    // Built from the end, as the kernel does, then reversed.
    let mut rev: Vec<u8> = v4.iter().rev().copied().collect();
    let mut i = v6end;
    while i >= 0 {
        if i == first + num - 2 {
            rev.extend_from_slice(b"::");
            i -= num - 2;
            i -= 2;
            continue;
        }
        if i < 14 && i != first - 2 {
            rev.push(b':');
        }
        let v = u16::from_be_bytes([a[i as usize], a[i as usize + 1]]);
        rev.extend(format!("{v:x}").bytes().rev());
        i -= 2;
    }
    rev.reverse();
    rev
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(groups: [u16; 8]) -> [u8; 16] {
        let mut a = [0u8; 16];
        for (i, g) in groups.iter().enumerate() {
            a[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
        }
        a
    }

    fn s(v: Vec<u8>) -> String {
        String::from_utf8_lossy(&v).into_owned()
    }

    #[test]
    fn dotted_quads() {
        assert_eq!(s(inet_ntoa(&[192, 168, 1, 23])), "192.168.1.23");
        assert_eq!(s(inet_ntoa(&[0, 0, 0, 0])), "0.0.0.0");
    }

    #[test]
    fn ipv6_forms() {
        // d-language.md §9 examples.
        let ll = v6([0xfe80, 0, 0, 0, 0x214, 0x4fff, 0xfe0b, 0x76c8]);
        assert_eq!(s(inet_ntoa6(&ll)), "fe80::214:4fff:fe0b:76c8");
        assert_eq!(s(inet_ntoa6(&[0; 16])), "::");
        assert_eq!(s(inet_ntoa6(&v6([0, 0, 0, 0, 0, 0, 0, 1]))), "::1");
        // A single zero group is compressed (unlike RFC 5952).
        assert_eq!(
            s(inet_ntoa6(&v6([1, 0, 2, 3, 4, 5, 6, 7]))),
            "1::2:3:4:5:6:7"
        );
        // On a tie of whole groups the first run wins...
        let tie = v6([1, 0, 0, 0x200, 3, 0, 0, 0x400]);
        assert_eq!(s(inet_ntoa6(&tie)), "1::200:3:0:0:400");
        // ...but runs are measured in bytes up to the next non-zero byte, so a run followed by
        // a group below 0x100 counts one byte longer and a later such run wins.
        let quirk = v6([1, 0, 0, 2, 3, 0, 0, 4]);
        assert_eq!(s(inet_ntoa6(&quirk)), "1:0:0:2:3::4");
        // Mapped: inet_ntop keeps the prefix, inet_ntoa6 prints only the quad.
        let mapped = v6([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
        assert_eq!(
            s(inet_ntop(AF_INET6, &mapped).unwrap_or_default()),
            "::ffff:127.0.0.1"
        );
        assert_eq!(s(inet_ntoa6(&mapped)), "127.0.0.1");
        assert_eq!(inet_ntop(5, &[0; 16]), Err(SubrError::IllegalOperation));
        assert_eq!(
            s(inet_ntop(AF_INET, &[10, 0, 0, 1]).unwrap_or_default()),
            "10.0.0.1"
        );
    }
}
