//! basename, dirname and cleanpath, following the kernel's loops.

/// Indices of the last base character, the first base character and the last directory
/// character (-1 when absent), scanning from the end as the kernel does.
fn split(s: &[u8]) -> (isize, isize, isize) {
    let (mut lastbase, mut firstbase, mut lastdir) = (-1isize, -1isize, -1isize);
    let mut i = s.len() as isize - 1;
    while i >= 0 && s[i as usize] == b'/' {
        i -= 1;
    }
    if i >= 0 {
        lastbase = i;
    }
    while i >= 0 && s[i as usize] != b'/' {
        i -= 1;
    }
    if i >= 0 {
        firstbase = i + 1;
    }
    while i >= 0 && s[i as usize] == b'/' {
        i -= 1;
    }
    if i >= 0 {
        lastdir = i;
    }
    if lastbase == -1 {
        // Only slashes: both parts are the first character.
        return (0, 0, 0);
    }
    (lastbase, firstbase, lastdir)
}

/// `basename(s)`: `"/usr/bin/"` gives `"bin"`, `""` gives `"."`, `"/"` gives `"/"`.
pub fn basename(s: &[u8]) -> Vec<u8> {
    let s = crate::datum::cstr(s);
    let s: &[u8] = if s.is_empty() { b"." } else { s };
    let (lastbase, firstbase, _) = split(s);
    let first = if firstbase == -1 { 0 } else { firstbase };
    s[first as usize..=lastbase as usize].to_vec()
}

/// `dirname(s)`: `"/usr/bin"` gives `"/usr"`, `"usr"` gives `"."`, `"/usr"` gives `"/"`.
pub fn dirname(s: &[u8]) -> Vec<u8> {
    let s = crate::datum::cstr(s);
    let s: &[u8] = if s.is_empty() { b"." } else { s };
    let (_, firstbase, lastdir) = split(s);
    if firstbase == -1 {
        return b".".to_vec();
    }
    s[..=lastdir.max(0) as usize].to_vec()
}

/// `cleanpath(s)`: removes `//`, `/./` and `dir/..` components, stopping 5 bytes short of
/// `strsize` as the kernel does.
pub fn cleanpath(s: &[u8], strsize: usize) -> Vec<u8> {
    let src = crate::datum::cstr(s);
    let at = |i: usize| src.get(i).copied().unwrap_or(0);
    // The kernel reads dest[0] uninitialised for "/.."; a slash is the sensible value there.
    let mut dest = vec![b'/'; strsize.max(6) + 4];
    let (mut i, mut j) = (0usize, 0usize);
    let mut c;
    'outer: loop {
        c = at(i);
        i += 1;
        loop {
            if j + 5 >= strsize {
                break 'outer;
            }
            if c != b'/' {
                dest[j] = c;
                j += 1;
                break;
            }
            c = at(i);
            i += 1;
            if c == b'/' {
                continue;
            }
            if c != b'.' {
                dest[j] = b'/';
                dest[j + 1] = c;
                j += 2;
                break;
            }
            c = at(i);
            i += 1;
            if c == b'/' {
                continue;
            }
            if c != b'.' {
                dest[j..j + 3].copy_from_slice(&[b'/', b'.', c]);
                j += 3;
                break;
            }
            c = at(i);
            i += 1;
            if c != b'/' && c != 0 {
                dest[j..j + 4].copy_from_slice(&[b'/', b'.', b'.', c]);
                j += 4;
                break;
            }
            // "/../" or "/..": back up to the previous slash.
            i -= 1;
            while j != 0 {
                j -= 1;
                if dest[j] == b'/' {
                    break;
                }
            }
            if c == 0 {
                j += 1;
                dest[j] = b'/';
            }
            break;
        }
        if c == 0 {
            break;
        }
    }
    dest.truncate(j);
    crate::datum::cstr(&dest).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Vec<u8>) -> String {
        String::from_utf8_lossy(&v).into_owned()
    }

    #[test]
    fn base_and_dir() {
        for (p, d, b) in [
            ("/usr/bin", "/usr", "bin"),
            ("/usr/bin/", "/usr", "bin"),
            ("usr", ".", "usr"),
            ("/", "/", "/"),
            ("///", "/", "/"),
            ("", ".", "."),
            ("/usr", "/", "usr"),
            ("a//b", "a", "b"),
        ] {
            assert_eq!(s(dirname(p.as_bytes())), d, "dirname({p})");
            assert_eq!(s(basename(p.as_bytes())), b, "basename({p})");
        }
    }

    #[test]
    fn cleaned_paths() {
        for (p, c) in [
            ("/foo/../bar", "/bar"),
            ("/foo/./bar", "/foo/bar"),
            ("//foo///bar", "/foo/bar"),
            ("/foo/bar/..", "/foo/"),
            ("/foo/..bar", "/foo/..bar"),
            ("/a/b/../../c", "/c"),
        ] {
            assert_eq!(s(cleanpath(p.as_bytes(), 256)), c, "cleanpath({p})");
        }
    }
}
