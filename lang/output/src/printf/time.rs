//! `%Y` and `%T`: nanoseconds since the epoch in the host's local time zone, through libc so
//! that the TZ rules are the system's own (the guest's dtrace uses its own local time).

use std::io::Write;
use std::sync::Once;

static TZSET: Once = Once::new();

extern "C" {
    // POSIX; the libc crate does not bind it on every target.
    fn tzset();
}

/// Broken-down local time of `secs`, or `None` if libc cannot represent it.
fn local(secs: i64) -> Option<libc::tm> {
    TZSET.call_once(|| {
        // SAFETY: tzset only reads TZ and the zone files; called once before any localtime_r.
        unsafe { tzset() }
    });
    let t: libc::time_t = secs as libc::time_t;
    let mut tm = std::mem::MaybeUninit::<libc::tm>::zeroed();
    // SAFETY: both pointers are valid for the call; localtime_r is thread-safe.
    let r = unsafe { libc::localtime_r(&t, tm.as_mut_ptr()) };
    if r.is_null() {
        return None;
    }
    // SAFETY: localtime_r filled the struct (it returned non-null).
    Some(unsafe { tm.assume_init() })
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `%Y`: ctime's fields reordered as "YYYY Mon DD HH:MM:SS", the day space-padded.
/// Returns the number of bytes written into `buf`.
pub(crate) fn ymd(ns: i64, buf: &mut [u8; 64]) -> usize {
    let secs = ns / 1_000_000_000;
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let ok = match local(secs) {
        Some(tm) => {
            let mon = MONTHS.get(tm.tm_mon as usize).copied().unwrap_or("???");
            write!(
                cur,
                "{} {} {:>2} {:02}:{:02}:{:02}",
                i64::from(tm.tm_year) + 1900,
                mon,
                tm.tm_mday,
                tm.tm_hour,
                tm.tm_min,
                tm.tm_sec
            )
            .is_ok()
        }
        None => false,
    };
    if ok {
        cur.position() as usize
    } else {
        0
    }
}

/// `%T`: strftime's "%a, %d %b %G %T %Z" (RFC 822). Returns the number of bytes written.
pub(crate) fn rfc822(ns: i64, buf: &mut [u8; 64]) -> usize {
    let Some(tm) = local(ns / 1_000_000_000) else {
        return 0;
    };
    let fmt = b"%a, %d %b %G %T %Z\0";
    // SAFETY: buf is 64 writable bytes, fmt is NUL-terminated, tm is initialised.
    unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr().cast(), &tm) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ymd_has_ctime_layout() {
        // Whatever the zone, the layout is "YYYY Mon DD HH:MM:SS" with a space-padded day.
        let mut b = [0u8; 64];
        let n = ymd(86_400 * 1_000_000_000 * 2, &mut b);
        let s = std::str::from_utf8(&b[..n]).unwrap_or("");
        assert_eq!(s.len(), 20, "{s}");
        assert!(s.starts_with("1970 Jan  "), "{s}");
        assert_eq!(&s[14..15], ":");
        assert_eq!(&s[8..9], " ");
    }
}
