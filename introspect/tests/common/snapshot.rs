//! A recorded snapshot of a stopped guest: target description, every vCPU's registers, some
//! memory pages, and symbol addresses. Recorded from QEMU by `tests/record_snapshot.rs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use introspect::packet::{decode_hex, encode_hex, parse_hex_u64};

/// The snapshot.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Annex name -> XML text, as served by qXfer:features:read.
    pub xml: BTreeMap<String, String>,
    /// gdb thread id -> raw `g` block.
    pub regs: BTreeMap<u32, Vec<u8>>,
    /// Virtual page address -> 4096 bytes.
    pub pages: BTreeMap<u64, Vec<u8>>,
    /// Symbol -> address.
    pub symbols: BTreeMap<String, u64>,
}

fn hex(b: &[u8]) -> String {
    let mut v = Vec::new();
    encode_hex(b, &mut v);
    String::from_utf8(v).unwrap_or_default()
}

impl Snapshot {
    /// Text form, one item per line.
    pub fn to_text(&self) -> String {
        let mut s = String::from("introspect-snapshot 1\n");
        for (k, v) in &self.xml {
            let _ = writeln!(s, "xml {k} {}", hex(v.as_bytes()));
        }
        for (t, r) in &self.regs {
            let _ = writeln!(s, "regs {t:x} {}", hex(r));
        }
        for (a, p) in &self.pages {
            let _ = writeln!(s, "page {a:x} {}", hex(p));
        }
        for (n, a) in &self.symbols {
            let _ = writeln!(s, "sym {n} {a:x}");
        }
        s
    }

    /// Parses the text form.
    pub fn parse(text: &str) -> Result<Snapshot, String> {
        let mut lines = text.lines();
        if lines.next() != Some("introspect-snapshot 1") {
            return Err("not a snapshot".into());
        }
        let mut snap = Snapshot::default();
        for line in lines {
            let f: Vec<&str> = line.split(' ').collect();
            let bytes = |h: &str| {
                let mut v = Vec::new();
                decode_hex(h.as_bytes(), &mut v)
                    .map(|_| v)
                    .map_err(|e| e.to_string())
            };
            let num = |h: &str| parse_hex_u64(h.as_bytes()).ok_or(format!("bad number {h}"));
            match f.as_slice() {
                ["xml", k, v] => {
                    let text = String::from_utf8(bytes(v)?).map_err(|e| e.to_string())?;
                    snap.xml.insert(k.to_string(), text);
                }
                ["regs", t, v] => {
                    snap.regs.insert(num(t)? as u32, bytes(v)?);
                }
                ["page", a, v] => {
                    snap.pages.insert(num(a)?, bytes(v)?);
                }
                ["sym", n, a] => {
                    snap.symbols.insert(n.to_string(), num(a)?);
                }
                _ => return Err(format!("bad line {line:.40}")),
            }
        }
        Ok(snap)
    }

    /// The committed snapshot of the test kernel.
    pub fn recorded() -> Snapshot {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/snapshot.txt");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run the record_snapshot test)", path.display()));
        Snapshot::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Symbol address, panicking with the name if absent.
    pub fn sym(&self, name: &str) -> u64 {
        *self
            .symbols
            .get(name)
            .unwrap_or_else(|| panic!("symbol {name} not in snapshot"))
    }
}
