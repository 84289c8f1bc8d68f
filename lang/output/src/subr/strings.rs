//! String subroutines: strlen, strjoin, substr, strchr/strrchr, strstr, index/rindex, strtok,
//! lltostr, strtoll, toupper/tolower.

use super::SubrError;
use crate::datum::cstr;

/// `strlen(s)`: bytes before the NUL, at most `strsize`.
pub fn strlen(s: &[u8], strsize: usize) -> usize {
    cstr(s).len().min(strsize)
}

/// `strjoin(a, b)`: fails when the result and its NUL would not leave a spare byte within
/// `strsize` (the kernel's check is one byte stricter than the buffer).
pub fn strjoin(a: &[u8], b: &[u8], strsize: usize) -> Result<Vec<u8>, SubrError> {
    let (a, b) = (cstr(a), cstr(b));
    if a.len() + b.len() + 1 >= strsize {
        return Err(SubrError::OutOfScratch);
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    out.extend_from_slice(a);
    out.extend_from_slice(b);
    Ok(out)
}

/// `substr(s, index[, length])` with Perl-like negative index and length.
pub fn substr(s: &[u8], index: i64, length: Option<i64>, strsize: usize) -> Vec<u8> {
    let s = cstr(s);
    let len = s.len().min(strsize) as i64;
    let size = strsize as i64;
    let mut index = index;
    let mut remaining = length.unwrap_or(size);
    if index < 0 {
        index = index.wrapping_add(len);
        if index < 0 && index.wrapping_add(remaining) > 0 {
            remaining = remaining.wrapping_add(index);
            index = 0;
        }
    }
    // The kernel compares index with an unsigned length, so a negative index is "too large".
    if index as u64 >= len as u64 {
        remaining = 0;
    } else if remaining < 0 {
        remaining = remaining.wrapping_add(len - index);
    } else if index.wrapping_add(remaining) as u64 > size as u64 {
        remaining = size - index;
    }
    if remaining <= 0 {
        return Vec::new();
    }
    let start = index as usize;
    let end = start.saturating_add(remaining as usize).min(s.len());
    s[start..end].to_vec()
}

/// `strchr(s, c)`: the rest of `s` from the first `c`, or NULL. Searching for NUL finds the
/// terminator (an empty string).
pub fn strchr(s: &[u8], c: u8) -> Option<Vec<u8>> {
    let s = cstr(s);
    if c == 0 {
        return Some(Vec::new());
    }
    s.iter().position(|&b| b == c).map(|i| s[i..].to_vec())
}

/// `strrchr(s, c)`: the rest of `s` from the last `c`, or NULL.
pub fn strrchr(s: &[u8], c: u8) -> Option<Vec<u8>> {
    let s = cstr(s);
    if c == 0 {
        return Some(Vec::new());
    }
    s.iter().rposition(|&b| b == c).map(|i| s[i..].to_vec())
}

/// `strstr(s, sub)`: the rest of `s` from the first `sub`, or NULL.
pub fn strstr(s: &[u8], sub: &[u8]) -> Option<Vec<u8>> {
    let (s, sub) = (cstr(s), cstr(sub));
    if s.is_empty() && sub.is_empty() {
        return Some(Vec::new());
    }
    (0..s.len())
        .find(|&p| s[p..].starts_with(sub))
        .map(|p| s[p..].to_vec())
}

/// `index(s, sub[, start])`: the first position of `sub` at or after `start`, or -1.
/// A negative start counts as 0; with an empty `sub` a start past the end gives the length.
pub fn index(s: &[u8], sub: &[u8], start: Option<i64>) -> i64 {
    let (s, sub) = (cstr(s), cstr(sub));
    let len = s.len() as i64;
    if s.is_empty() && sub.is_empty() {
        return 0;
    }
    let mut from = 0;
    if let Some(pos) = start {
        let pos = pos.max(0);
        if pos >= len {
            return if sub.is_empty() { len } else { -1 };
        }
        from = pos;
    }
    (from..len)
        .find(|&p| s[p as usize..].starts_with(sub))
        .unwrap_or(-1)
}

/// `rindex(s, sub[, start])`: the last position of `sub` at or before `start`, or -1.
/// A start past the end counts as the length; a negative start finds only an empty `sub` (0).
pub fn rindex(s: &[u8], sub: &[u8], start: Option<i64>) -> i64 {
    let (s, sub) = (cstr(s), cstr(sub));
    let len = s.len() as i64;
    if s.is_empty() && sub.is_empty() {
        return 0;
    }
    let mut from = len;
    if let Some(pos) = start {
        if pos < 0 {
            return if sub.is_empty() { 0 } else { -1 };
        }
        from = pos.min(len);
    }
    (0..=from)
        .rev()
        .find(|&p| s.get(p as usize..).is_some_and(|t| t.starts_with(sub)))
        .unwrap_or(-1)
}

/// strtok()'s saved position, which the kernel keeps per probe firing (like a clause-local).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrtokState {
    rest: Option<Vec<u8>>,
}

/// `strtok(s, delim)`: `Some(s)` starts a new scan, `None` continues the saved one. Returns the
/// next token or NULL at the end; continuing after NULL reads address 0 (a fault).
pub fn strtok(
    state: &mut StrtokState,
    s: Option<&[u8]>,
    delim: &[u8],
    strsize: usize,
) -> Result<Option<Vec<u8>>, SubrError> {
    let src: Vec<u8> = match s {
        Some(s) => cstr(s).to_vec(),
        None => state.rest.take().ok_or(SubrError::NullAddress)?,
    };
    let mut map = [false; 256];
    for &d in cstr(delim) {
        map[usize::from(d)] = true;
    }
    let Some(start) = src.iter().position(|&c| !map[usize::from(c)]) else {
        state.rest = None;
        return Ok(None);
    };
    let max = strsize.saturating_sub(1);
    let end = src[start..]
        .iter()
        .position(|&c| map[usize::from(c)])
        .map_or(src.len(), |n| start + n)
        .min(start + max);
    let token = src[start..end].to_vec();
    state.rest = Some(src[end..].to_vec());
    Ok(Some(token))
}

fn check_base(base: Option<i64>) -> Result<u64, SubrError> {
    match base {
        None => Ok(10),
        Some(b) if (2..=36).contains(&b) => Ok(b as u64),
        Some(_) => Err(SubrError::IllegalOperation),
    }
}

/// `lltostr(x[, base])`: negative only in base 10; `0x`/`0` prefixes in bases 16 and 8.
pub fn lltostr(x: i64, base: Option<i64>) -> Result<Vec<u8>, SubrError> {
    let base = check_base(base)?;
    let mut val = if base == 10 && x < 0 {
        x.unsigned_abs()
    } else {
        x as u64
    };
    let mut rev = Vec::with_capacity(66);
    while val != 0 {
        let d = (val % base) as u8;
        rev.push(if d <= 9 { b'0' + d } else { b'a' + d - 10 });
        val /= base;
    }
    if x == 0 && base == 16 {
        rev.push(b'0');
    }
    if base == 16 {
        rev.push(b'x');
    }
    if x == 0 || base == 8 || base == 16 {
        rev.push(b'0');
    }
    if x < 0 && base == 10 {
        rev.push(b'-');
    }
    rev.reverse();
    Ok(rev)
}

/// `strtoll(s[, base])`: leading blanks and tabs, a sign, `0x` in base 16, then digits until
/// the first character that is not one (overflow wraps).
pub fn strtoll(s: &[u8], base: Option<i64>) -> Result<i64, SubrError> {
    let base = check_base(base)? as i64;
    let s = cstr(s);
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut p = 0;
    while matches!(at(p), b' ' | b'\t') {
        p += 1;
    }
    let mut neg = false;
    if matches!(at(p), b'-' | b'+') {
        neg = at(p) == b'-';
        p += 1;
    }
    if base == 16
        && at(p) == b'0'
        && matches!(at(p + 1), b'x' | b'X')
        && at(p + 2).is_ascii_hexdigit()
    {
        p += 2;
    }
    let mut val: i64 = 0;
    while let Some(d) = digit(at(p)).filter(|&d| d < base) {
        val = val.wrapping_mul(base).wrapping_add(d);
        p += 1;
    }
    Ok(if neg { val.wrapping_neg() } else { val })
}

fn digit(c: u8) -> Option<i64> {
    match c {
        b'0'..=b'9' => Some(i64::from(c - b'0')),
        b'a'..=b'z' => Some(i64::from(c - b'a') + 10),
        b'A'..=b'Z' => Some(i64::from(c - b'A') + 10),
        _ => None,
    }
}

fn map_ascii(s: &[u8], strsize: usize, f: fn(&u8) -> u8) -> Vec<u8> {
    let s = cstr(s);
    s[..s.len().min(strsize.saturating_sub(1))]
        .iter()
        .map(f)
        .collect()
}

/// `toupper(s)`: ASCII letters only.
pub fn toupper(s: &[u8], strsize: usize) -> Vec<u8> {
    map_ascii(s, strsize, u8::to_ascii_uppercase)
}

/// `tolower(s)`: ASCII letters only.
pub fn tolower(s: &[u8], strsize: usize) -> Vec<u8> {
    map_ascii(s, strsize, u8::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Vec<u8>) -> String {
        String::from_utf8_lossy(&v).into_owned()
    }

    #[test]
    fn substr_negative_index_and_length() {
        let f = |i, n| s(substr(b"hello", i, n, 256));
        assert_eq!(f(1, None), "ello");
        assert_eq!(f(1, Some(2)), "el");
        assert_eq!(f(-2, None), "lo");
        assert_eq!(f(1, Some(-1)), "ell");
        assert_eq!(f(-10, Some(7)), "he");
        assert_eq!(f(-10, None), "hello");
        assert_eq!(f(5, None), "");
        assert_eq!(f(1, Some(-10)), "");
        assert_eq!(f(0, Some(i64::MAX)), "hello");
    }

    #[test]
    fn searches() {
        assert_eq!(strchr(b"abcabc", b'b').map(s).as_deref(), Some("bcabc"));
        assert_eq!(strrchr(b"abcabc", b'b').map(s).as_deref(), Some("bc"));
        assert_eq!(strchr(b"abc", b'z'), None);
        assert_eq!(strstr(b"foobar", b"ob").map(s).as_deref(), Some("obar"));
        assert_eq!(strstr(b"foo", b"").map(s).as_deref(), Some("foo"));
        assert_eq!(strstr(b"", b"x"), None);
        assert_eq!(index(b"foobarbar", b"bar", None), 3);
        assert_eq!(index(b"foobarbar", b"bar", Some(4)), 6);
        assert_eq!(index(b"foo", b"", Some(10)), 3);
        assert_eq!(index(b"foo", b"x", Some(-3)), -1);
        assert_eq!(rindex(b"foobarbar", b"bar", None), 6);
        assert_eq!(rindex(b"foobarbar", b"bar", Some(5)), 3);
        assert_eq!(rindex(b"foo", b"", None), 3);
        assert_eq!(rindex(b"foo", b"", Some(-1)), 0);
        assert_eq!(rindex(b"foo", b"o", Some(-1)), -1);
    }

    #[test]
    fn strtok_keeps_state_and_faults_after_the_end() {
        let mut st = StrtokState::default();
        let mut next = |arg: Option<&[u8]>| strtok(&mut st, arg, b",", 256);
        assert_eq!(next(Some(b",,a,bc,")), Ok(Some(b"a".to_vec())));
        assert_eq!(next(None), Ok(Some(b"bc".to_vec())));
        assert_eq!(next(None), Ok(None));
        assert_eq!(next(None), Err(SubrError::NullAddress));
    }

    #[test]
    fn number_conversions() {
        let l = |x, b| s(lltostr(x, b).unwrap_or_default());
        assert_eq!(l(0, None), "0");
        assert_eq!(l(-123, None), "-123");
        assert_eq!(l(255, Some(16)), "0xff");
        assert_eq!(l(0, Some(16)), "0x0");
        assert_eq!(l(8, Some(8)), "010");
        assert_eq!(l(5, Some(2)), "101");
        assert_eq!(l(-1, Some(16)), "0xffffffffffffffff");
        assert_eq!(lltostr(1, Some(1)), Err(SubrError::IllegalOperation));
        assert_eq!(strtoll(b"  -42xyz", None), Ok(-42));
        assert_eq!(strtoll(b"0x1F", Some(16)), Ok(31));
        assert_eq!(strtoll(b"z", Some(36)), Ok(35));
        assert_eq!(strtoll(b"12", Some(37)), Err(SubrError::IllegalOperation));
        assert_eq!(s(toupper(b"aBc-1", 256)), "ABC-1");
        assert_eq!(s(tolower(b"aBc-1", 256)), "abc-1");
        assert_eq!(strjoin(b"ab", b"cd", 256).map(s).as_deref(), Ok("abcd"));
        assert_eq!(strjoin(b"ab", b"cd", 5), Err(SubrError::OutOfScratch));
    }
}
