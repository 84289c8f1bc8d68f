//! `%S` and `%C`: C escapes as libdtrace's `strchr2esc` writes them.

/// Appends `s` escaped, then the escape of the record's terminating NUL (`\0`), since
/// `strchr2esc` walks the whole record up to and including its first NUL.
pub(crate) fn escape_into(out: &mut Vec<u8>, s: &[u8], with_nul: bool) {
    for &b in s {
        escape_byte(out, b);
    }
    if with_nul {
        escape_byte(out, 0);
    }
}

fn escape_byte(out: &mut Vec<u8>, b: u8) {
    let named = match b {
        0 => b'0',
        7 => b'a',
        8 => b'b',
        12 => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        11 => b'v',
        b'"' => b'"',
        b'\\' => b'\\',
        b' ' => {
            out.push(b' ');
            return;
        }
        b'!'..=b'~' => {
            out.push(b);
            return;
        }
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'0' + (b >> 6),
                b'0' + ((b >> 3) & 7),
                b'0' + (b & 7),
            ]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', named]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_strchr2esc() {
        let mut v = Vec::new();
        escape_into(&mut v, b"a b\t\"\\\x01\xff", true);
        assert_eq!(v, b"a b\\t\\\"\\\\\\001\\377\\0".to_vec());
    }
}
