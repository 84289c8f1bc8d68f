//! trace() and tracemem() records and the default (non-quiet) probe line, as dtrace(1) and
//! libdtrace's `dt_consume_cpu`/`dt_print_bytes` print them.

use crate::cfmt::{self, Spec};
use crate::datum::{cstr, Datum, IntVal};
use crate::printf::Symbolizer;

/// Options that change how records print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordOptions {
    /// `quiet`: no header, no probe prefix, no padding, no record-ending newline.
    pub quiet: bool,
    /// `strsize`: the size of a string record (default 256).
    pub strsize: usize,
    /// `rawbytes`: print every byte record as a hex dump.
    pub rawbytes: bool,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions {
            quiet: false,
            strsize: 256,
            rawbytes: false,
        }
    }
}

impl RecordOptions {
    /// Defaults with `quiet` set as given.
    pub fn quiet(quiet: bool) -> Self {
        RecordOptions {
            quiet,
            ..Self::default()
        }
    }
}

/// The header dtrace(1) prints once, before the first record, unless quiet:
/// `"%3s %6s %32s\n"` of CPU, ID, FUNCTION:NAME.
pub fn record_header(out: &mut Vec<u8>) {
    cfmt::string(out, &Spec::width(3), b"CPU");
    out.push(b' ');
    cfmt::string(out, &Spec::width(6), b"ID");
    out.push(b' ');
    cfmt::string(out, &Spec::width(32), b"FUNCTION:NAME");
    out.push(b'\n');
}

/// The start of each record unless quiet: `"%3d %6d %32s "` of cpu, probe id and "func:name".
pub fn record_prefix(cpu: i32, probe_id: u32, func: &[u8], name: &[u8], out: &mut Vec<u8>) {
    cfmt::int_field(out, 3, i64::from(cpu));
    out.push(b' ');
    cfmt::int_field(out, 6, i64::from(probe_id));
    out.push(b' ');
    let fill = 32usize.saturating_sub(func.len() + 1 + name.len());
    out.resize(out.len() + fill, b' ');
    out.extend_from_slice(func);
    out.push(b':');
    out.extend_from_slice(name);
    out.push(b' ');
}

/// The end of a record: a newline unless quiet.
pub fn record_end(quiet: bool, out: &mut Vec<u8>) {
    if !quiet {
        out.push(b'\n');
    }
}

/// trace(): one datum with the default options and the given quiet setting.
pub fn trace_datum(d: &Datum, quiet: bool, out: &mut Vec<u8>) {
    trace_datum_with(d, &RecordOptions::quiet(quiet), out);
}

/// trace() with explicit options. Integers print by record size (quiet `"%lld"`/`"%d"`,
/// non-quiet `" %16lld"`, `" %8d"`, `" %5d"`, `" %3d"`; 1- and 2-byte records unsigned);
/// strings as `"%s"` quiet or `"  %-33s"`, or as a hex dump when not printable.
pub fn trace_datum_with(d: &Datum, opts: &RecordOptions, out: &mut Vec<u8>) {
    match d {
        Datum::Int(i) => int_record(out, i, (!opts.quiet).then_some(int_width(i.size))),
        Datum::Float(f) => {
            let i = f.record();
            int_record(out, &i, (!opts.quiet).then_some(int_width(i.size)));
        }
        Datum::Stack(pcs) => print_stack(pcs, STACK_INDENT, &crate::printf::NoSymbols, out),
        Datum::Str(s) => {
            let rec = string_record(s, opts.strsize);
            print_bytes(out, &rec, -33, opts.quiet, opts.rawbytes);
        }
    }
}

/// tracemem(): always a hex dump, whatever quiet says.
pub fn tracemem(bytes: &[u8], out: &mut Vec<u8>) {
    print_bytes(out, bytes, -33, true, true);
}

/// dtrace's default `stackindent`: frames of stack() are indented by 14 spaces.
pub const STACK_INDENT: usize = 14;

/// stack(): a newline, then one line per frame (`indent` spaces and the symbolized pc), up to
/// the first zero pc, as `dt_print_stack` prints the action's record.
pub fn print_stack(pcs: &[u64], indent: usize, sym: &dyn Symbolizer, out: &mut Vec<u8>) {
    out.push(b'\n');
    for &pc in pcs.iter().take_while(|&&pc| pc != 0) {
        out.resize(out.len() + indent, b' ');
        match sym.symbolize(pc) {
            Some(name) => out.extend_from_slice(name.as_bytes()),
            None => cfmt::hex_addr(out, pc),
        }
        out.push(b'\n');
    }
}

/// Field widths of integer records in non-quiet trace() and aggregation keys.
pub(crate) fn int_width(size: u8) -> usize {
    match size {
        1 => 3,
        2 => 5,
        4 => 8,
        _ => 16,
    }
}

/// An integer record as libdtrace reads it: 8-byte signed, 4-byte as a C int, narrower
/// unsigned. `width` gives the `" %*d"` form.
pub(crate) fn int_record(out: &mut Vec<u8>, i: &IntVal, width: Option<usize>) {
    let v = match i.size {
        8 => i.sext(),
        4 => i64::from(i.zext() as u32 as i32),
        _ => i.zext() as i64,
    };
    match width {
        Some(w) => {
            out.push(b' ');
            cfmt::int_field(out, w, v);
        }
        None => cfmt::int_field(out, 0, v),
    }
}

/// A D string as its trace record: the bytes padded with NULs to `strsize`.
pub(crate) fn string_record(s: &[u8], strsize: usize) -> Vec<u8> {
    let s = cstr(s);
    let mut rec = Vec::with_capacity(strsize.max(s.len()));
    rec.extend_from_slice(&s[..s.len().min(strsize)]);
    rec.resize(strsize, 0);
    rec
}

fn printable(c: u8) -> bool {
    // isprint() || isspace() || '\b' || '\a' in the C locale; bytes >= 0x80 are not.
    (b' '..=b'~').contains(&c) || matches!(c, b'\t' | b'\n' | 11 | 12 | b'\r' | 8 | 7)
}

/// `dt_print_bytes`: a string if the record looks like one, else a hex dump. `width` is
/// negative (left-justified) as in every caller.
pub(crate) fn print_bytes(out: &mut Vec<u8>, rec: &[u8], width: i32, quiet: bool, raw: bool) {
    if rec.is_empty() {
        return;
    }
    let w = width.unsigned_abs() as usize;
    if !raw {
        match rec.iter().position(|&c| !printable(c)) {
            None => {
                // Printable to the end with no NUL: printed as a string, even when quiet.
                out.extend_from_slice(b"  ");
                cfmt::string(out, &Spec::left(w), rec);
                return;
            }
            Some(i) if rec[i] == 0 && i > 0 && rec[i..].iter().all(|&c| c == 0) => {
                if quiet {
                    out.extend_from_slice(&rec[..i]);
                } else {
                    out.extend_from_slice(if width < 0 { b"  " } else { b" " });
                    cfmt::string(out, &Spec::left(w), &rec[..i]);
                }
                return;
            }
            Some(_) => {}
        }
    }
    hex_dump(out, rec);
}

/// The raw dump: a header of column digits, then 16 bytes per row with an ASCII column.
fn hex_dump(out: &mut Vec<u8>, rec: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'\n');
    out.extend_from_slice(&[b' '; 11]);
    for &h in HEX {
        out.extend_from_slice(&[b' ', b' ', h]);
    }
    out.extend_from_slice(b"  0123456789abcdef\n");
    for (row, chunk) in rec.chunks(16).enumerate() {
        out.extend_from_slice(&[b' '; 5]);
        cfmt::unsigned(out, &Spec::width(5), (row * 16) as u64, cfmt::Radix::Hex);
        out.push(b':');
        for &b in chunk {
            out.extend_from_slice(&[b' ', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        for _ in chunk.len()..16 {
            out.extend_from_slice(b"   ");
        }
        out.extend_from_slice(b"  ");
        out.extend(
            chunk
                .iter()
                .map(|&c| if (b' '..=b'~').contains(&c) { c } else { b'.' }),
        );
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8_lossy(&v).into_owned()
    }

    #[test]
    fn header_and_prefix_widths() {
        // §11.1: "%3s %6s %32s\n" and "%3d %6d %32s ".
        assert_eq!(
            s(record_header),
            "CPU     ID                    FUNCTION:NAME\n"
        );
        assert_eq!(
            s(|o| record_prefix(0, 1, b"", b"BEGIN", o)),
            "  0      1                           :BEGIN "
        );
    }

    #[test]
    fn integers_by_size() {
        // §11.2: quiet 1- and 2-byte records print unsigned, 4-byte as int, 8-byte signed.
        let c = Datum::Int(IntVal::new(-2i64 as u64, 1, true));
        assert_eq!(s(|o| trace_datum(&c, true, o)), "254");
        assert_eq!(s(|o| trace_datum(&c, false, o)), " 254");
        let sh = Datum::Int(IntVal::new(-2i64 as u64, 2, true));
        assert_eq!(s(|o| trace_datum(&sh, true, o)), "65534");
        let u = Datum::Int(IntVal::new(u64::from(u32::MAX), 4, false));
        assert_eq!(s(|o| trace_datum(&u, false, o)), "       -1");
        let l = Datum::u64(u64::MAX);
        assert_eq!(s(|o| trace_datum(&l, false, o)), "               -1");
    }

    #[test]
    fn strings_pad_to_33_or_dump() {
        assert_eq!(s(|o| trace_datum(&Datum::str("hi"), true, o)), "hi");
        assert_eq!(
            s(|o| trace_datum(&Datum::str("hi"), false, o)),
            format!("  hi{}", " ".repeat(31))
        );
        // An empty string is not a string to dt_print_bytes: a dump of the whole record.
        let dump = s(|o| trace_datum(&Datum::str(""), true, o));
        assert_eq!(dump.lines().count(), 1 + 1 + 16);
        // A non-printable byte forces the dump too.
        let d2 = s(|o| trace_datum(&Datum::str("a\x01"), true, o));
        assert!(d2.contains("    0: 61 01 00"), "{d2}");
    }

    #[test]
    fn stack_frames_indent_and_stop_at_zero() {
        struct Sym;
        impl Symbolizer for Sym {
            fn symbolize(&self, addr: u64) -> Option<String> {
                (addr == 0x10).then(|| "kernel`tcp_output+0x10".to_string())
            }
        }
        let d = s(|o| print_stack(&[0x10, 0xffff, 0, 0x10], STACK_INDENT, &Sym, o));
        assert_eq!(
            d,
            "\n              kernel`tcp_output+0x10\n              0xffff\n"
        );
    }

    #[test]
    fn tracemem_dump_layout() {
        let d = s(|o| tracemem(b"ABCDEFGHIJKLMNOPQR", o));
        let expect = "\n             0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f  0123456789abcdef\n\
                      \x20        0: 41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50  ABCDEFGHIJKLMNOP\n\
                      \x20       10: 51 52                                            QR\n";
        assert_eq!(d, expect);
    }
}
