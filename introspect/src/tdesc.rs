//! The register layout, learned from the stub's target description (`qXfer:features:read`).
//!
//! Nothing here is hard-coded to QEMU's x86-64 layout: offsets in the `g` packet come from the
//! XML, with comments stripped (QEMU's i386-64bit.xml has commented-out registers) and
//! `xi:include` followed.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// One register of the target description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegInfo {
    /// Name as the XML gives it (`rip`, `gs_base`, `cr3`, ...).
    pub name: String,
    /// Number used by `p`/`P`.
    pub regnum: usize,
    /// Size in bytes.
    pub size: usize,
    /// Byte offset inside the `g` reply.
    pub offset: usize,
}

/// Registers the crate itself needs, resolved once so per-event code indexes an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegId {
    /// Instruction pointer.
    Rip,
    /// Stack pointer.
    Rsp,
    /// Page-table root.
    Cr3,
    /// Paging enable lives here.
    Cr0,
    /// PAE/LA57 live here.
    Cr4,
    /// Long mode active lives here.
    Efer,
}

const REG_IDS: [(RegId, &[&str]); 6] = [
    (RegId::Rip, &["rip", "pc"]),
    (RegId::Rsp, &["rsp", "sp"]),
    (RegId::Cr3, &["cr3"]),
    (RegId::Cr0, &["cr0"]),
    (RegId::Cr4, &["cr4"]),
    (RegId::Efer, &["efer"]),
];

/// The whole register file as the stub describes it.
#[derive(Debug, Clone)]
pub struct RegLayout {
    regs: Vec<RegInfo>,
    by_name: HashMap<String, usize>,
    known: [Option<usize>; 6],
    g_len: usize,
}

impl RegLayout {
    /// Builds the layout from the flattened XML (includes already spliced in).
    pub fn parse(xml: &str) -> Result<RegLayout> {
        let xml = strip_comments(xml);
        let mut regs = Vec::new();
        let mut next_num = 0usize;
        let mut offset = 0usize;
        let mut rest = xml.as_str();
        while let Some(pos) = rest.find("<reg") {
            let tail = &rest[pos + 4..];
            // `<register...` or `<regs...` are not registers.
            if !tail.starts_with(|c: char| c.is_whitespace()) {
                rest = tail;
                continue;
            }
            let end = tail.find('>').ok_or_else(|| {
                Error::Protocol("unterminated <reg> in target description".into())
            })?;
            let attrs = parse_attrs(&tail[..end]);
            let name = attrs
                .get("name")
                .ok_or_else(|| Error::Protocol("<reg> without name".into()))?
                .to_string();
            let bits: usize = attrs
                .get("bitsize")
                .and_then(|b| b.parse().ok())
                .ok_or_else(|| Error::Protocol(format!("register {name} has no valid bitsize")))?;
            if let Some(n) = attrs.get("regnum").and_then(|n| n.parse().ok()) {
                next_num = n;
            }
            let size = bits.div_ceil(8);
            regs.push(RegInfo {
                name,
                regnum: next_num,
                size,
                offset: 0,
            });
            next_num += 1;
            rest = &tail[end..];
        }
        if regs.is_empty() {
            return Err(Error::Protocol(
                "target description defines no registers".into(),
            ));
        }
        // The g packet carries registers in register-number order.
        let mut order: Vec<usize> = (0..regs.len()).collect();
        order.sort_by_key(|&i| regs[i].regnum);
        for i in order {
            regs[i].offset = offset;
            offset += regs[i].size;
        }
        let by_name: HashMap<String, usize> = regs
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i))
            .collect();
        let mut known = [None; 6];
        for (slot, (_, names)) in known.iter_mut().zip(REG_IDS.iter()) {
            *slot = names.iter().find_map(|n| by_name.get(*n).copied());
        }
        Ok(RegLayout {
            regs,
            by_name,
            known,
            g_len: offset,
        })
    }

    /// Looks a register up by name.
    pub fn find(&self, name: &str) -> Option<&RegInfo> {
        self.by_name.get(name).map(|&i| &self.regs[i])
    }

    /// Looks up one of the registers the crate needs.
    pub fn known(&self, id: RegId) -> Option<&RegInfo> {
        let i = REG_IDS.iter().position(|(r, _)| *r == id)?;
        self.known[i].map(|k| &self.regs[k])
    }

    /// All registers in description order.
    pub fn registers(&self) -> &[RegInfo] {
        &self.regs
    }

    /// Size of a full `g` reply if it covers every register.
    pub fn g_len(&self) -> usize {
        self.g_len
    }
}

/// Removes `<!-- ... -->` so commented-out registers do not shift offsets.
pub fn strip_comments(xml: &str) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Hrefs of `<xi:include>` elements, in order.
pub fn includes(xml: &str) -> Vec<String> {
    let xml = strip_comments(xml);
    let mut v = Vec::new();
    let mut rest = xml.as_str();
    while let Some(pos) = rest.find("<xi:include") {
        let tail = &rest[pos + 11..];
        let end = tail.find('>').unwrap_or(tail.len());
        if let Some(h) = parse_attrs(&tail[..end]).get("href") {
            v.push(h.to_string());
        }
        rest = &tail[end..];
    }
    v
}

fn parse_attrs(s: &str) -> HashMap<&str, &str> {
    let mut m = HashMap::new();
    let mut rest = s;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().trim_start_matches('/').trim();
        let after = rest[eq + 1..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let Some(close) = after[1..].find(q) else {
            break;
        };
        m.insert(
            key.rsplit(char::is_whitespace).next().unwrap_or(key),
            &after[1..1 + close],
        );
        rest = &after[close + 2..];
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0"?>
<feature name="org.gnu.gdb.i386.core">
  <reg name="rax" bitsize="64" type="int64"/>
  <reg name="rsp" bitsize="64" type="data_ptr"/>
  <reg name="rip" bitsize="64" type="code_ptr"/>
  <reg name="eflags" bitsize="32" type="i386_eflags"/>
  <!-- <reg name="ss_base" bitsize="64" type="int64"/> -->
  <reg name='gs_base' bitsize='64' type='int64'/>
  <reg name="cr3" bitsize="64" type="int64" regnum="30"/>
  <reg name="xmm0" bitsize="128" type="vec128"/>
</feature>"#;

    #[test]
    fn offsets_follow_bitsizes_and_skip_comments() {
        let l = RegLayout::parse(XML).unwrap();
        assert!(l.find("ss_base").is_none());
        assert_eq!(l.find("eflags").unwrap().offset, 24);
        assert_eq!(l.find("gs_base").unwrap().offset, 28);
        assert_eq!(l.find("gs_base").unwrap().regnum, 4);
        assert_eq!(l.find("cr3").unwrap().regnum, 30);
        assert_eq!(l.find("xmm0").unwrap().regnum, 31);
        assert_eq!(l.find("xmm0").unwrap().size, 16);
        assert_eq!(l.g_len(), 8 * 3 + 4 + 8 + 8 + 16);
        assert_eq!(l.known(RegId::Rip).unwrap().offset, 16);
        assert!(l.known(RegId::Efer).is_none());
    }

    #[test]
    fn finds_includes_outside_comments() {
        let top = r#"<target><!-- <xi:include href="no.xml"/> --><xi:include href="i386-64bit.xml"/></target>"#;
        assert_eq!(includes(top), vec!["i386-64bit.xml".to_string()]);
    }

    #[test]
    fn rejects_description_without_registers() {
        assert!(RegLayout::parse("<target></target>").is_err());
        assert!(RegLayout::parse(r#"<reg name="x"/>"#).is_err());
    }
}
