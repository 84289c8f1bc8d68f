//! The undo log: every breakpoint planted and every byte written, mirrored to a journal file
//! so that even a tracer killed with SIGKILL can be cleaned up by the next connection.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::packet::{decode_hex, encode_hex, parse_hex_u64};
use crate::rsp::{BpType, Rsp};
use crate::tdesc::RegId;

/// One change made to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A breakpoint inserted with `Z`.
    Breakpoint {
        /// Z0 or Z1.
        ty: BpType,
        /// Guest virtual address.
        addr: u64,
    },
    /// An emulated-return function: a vCPU found at `addr` when undoing must return at once
    /// (RSP += `pushed`, then RIP = [RSP], RSP += 8), or it would run the body the tracer kept
    /// from running.
    ReturnAt {
        /// The function's entry, or a point just past its first `push`.
        addr: u64,
        /// Bytes the function has pushed by `addr` (0 at the entry).
        pushed: u64,
    },
    /// Bytes written with `M`.
    Write {
        /// Guest virtual address.
        addr: u64,
        /// What was there before.
        original: Vec<u8>,
        /// What we wrote.
        written: Vec<u8>,
    },
}

/// What undoing found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UndoReport {
    /// Breakpoints removed.
    pub breakpoints_removed: usize,
    /// Writes restored to their original bytes.
    pub writes_restored: usize,
    /// vCPUs found at an emulated-return function's entry and returned.
    pub returns_finished: usize,
    /// Writes left alone because the guest had changed the bytes since (address listed).
    pub writes_changed_by_guest: Vec<u64>,
    /// Changes that could not be undone, with the reason.
    pub failures: Vec<String>,
}

impl UndoReport {
    /// Adds another report's counts to this one.
    pub fn merge(&mut self, o: UndoReport) {
        self.breakpoints_removed += o.breakpoints_removed;
        self.writes_restored += o.writes_restored;
        self.returns_finished += o.returns_finished;
        self.writes_changed_by_guest
            .extend(o.writes_changed_by_guest);
        self.failures.extend(o.failures);
    }
}

/// The log, newest last.
#[derive(Debug, Default)]
pub struct UndoLog {
    changes: Vec<Change>,
    journal: Option<PathBuf>,
}

impl UndoLog {
    /// A log mirrored to `journal` (if any).
    pub fn new(journal: Option<PathBuf>) -> UndoLog {
        UndoLog {
            changes: Vec::new(),
            journal,
        }
    }

    /// Records a change and rewrites the journal.
    pub fn push(&mut self, c: Change) -> Result<()> {
        self.changes.push(c);
        self.save()
    }

    /// Forgets a change that was undone normally (the newest equal one).
    pub fn forget(&mut self, c: &Change) -> Result<()> {
        if let Some(i) = self.changes.iter().rposition(|x| x == c) {
            self.changes.remove(i);
        }
        self.save()
    }

    /// Forgets a breakpoint that was removed normally.
    pub fn forget_breakpoint(&mut self, ty: BpType, addr: u64) -> Result<()> {
        self.forget(&Change::Breakpoint { ty, addr })
    }

    /// Changes still in force, oldest first.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Undoes everything, newest first, through `rsp` (VM stopped). Best effort: a failure is
    /// recorded and the rest still undone. Clears the log and deletes the journal.
    pub fn undo_all(&mut self, rsp: &mut Rsp) -> UndoReport {
        let report = undo_changes(rsp, &self.changes);
        self.changes.clear();
        if let Some(j) = &self.journal {
            if report.failures.is_empty() {
                let _ = fs::remove_file(j);
            }
        }
        report
    }

    /// Undoes only the memory writes (newest first) and forgets them.
    pub fn undo_writes(&mut self, rsp: &mut Rsp) -> Result<UndoReport> {
        let (writes, rest): (Vec<Change>, Vec<Change>) = self
            .changes
            .drain(..)
            .partition(|c| matches!(c, Change::Write { .. }));
        self.changes = rest;
        let report = undo_changes(rsp, &writes);
        // Writes that could not be undone stay in the journal for the next connection.
        if !report.failures.is_empty() {
            self.changes.extend(writes);
        }
        self.save()?;
        Ok(report)
    }

    fn save(&self) -> Result<()> {
        let Some(path) = &self.journal else {
            return Ok(());
        };
        if self.changes.is_empty() {
            return match fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(journal_err(path, e)),
            };
        }
        let tmp = path.with_extension("tmp");
        let mut f = fs::File::create(&tmp).map_err(|e| journal_err(&tmp, e))?;
        f.write_all(&serialize(&self.changes))
            .map_err(|e| journal_err(&tmp, e))?;
        // Rename is atomic: a crash leaves the old or the new journal, never half of one.
        fs::rename(&tmp, path).map_err(|e| journal_err(path, e))
    }
}

fn journal_err(path: &Path, source: std::io::Error) -> Error {
    Error::Journal {
        path: path.display().to_string(),
        source,
    }
}

/// Undoes `changes` newest first; shared by normal undo and journal recovery.
pub fn undo_changes(rsp: &mut Rsp, changes: &[Change]) -> UndoReport {
    let mut r = UndoReport::default();
    for c in changes.iter().rev() {
        match c {
            Change::ReturnAt { addr, pushed } => match return_from(rsp, *addr, *pushed) {
                Ok(n) => r.returns_finished += n,
                Err(e) => r.failures.push(format!("return from {addr:#x}: {e}")),
            },
            Change::Breakpoint { ty, addr } => match rsp.remove_breakpoint(*ty, *addr) {
                Ok(()) => r.breakpoints_removed += 1,
                // Already gone (QEMU lost it on reset, or a previous run removed it).
                Err(Error::Breakpoint { .. }) => r.breakpoints_removed += 1,
                Err(e) => r.failures.push(format!("breakpoint {addr:#x}: {e}")),
            },
            Change::Write {
                addr,
                original,
                written,
            } => {
                let mut now = vec![0u8; written.len()];
                match rsp.read_memory(*addr, &mut now) {
                    Ok(()) if now == *written => match rsp.write_memory(*addr, original) {
                        Ok(()) => r.writes_restored += 1,
                        Err(e) => r.failures.push(format!("write {addr:#x}: {e}")),
                    },
                    Ok(()) if now == *original => r.writes_restored += 1,
                    Ok(()) => r.writes_changed_by_guest.push(*addr),
                    Err(e) => r.failures.push(format!("write {addr:#x}: {e}")),
                }
            }
        }
    }
    r
}

/// Every vCPU stopped at `addr` (having pushed `pushed` bytes) returns from the function now;
/// how many did.
fn return_from(rsp: &mut Rsp, addr: u64, pushed: u64) -> Result<usize> {
    let layout = rsp.layout()?.clone();
    let (Some(rip), Some(sp)) = (layout.known(RegId::Rip), layout.known(RegId::Rsp)) else {
        return Err(Error::NoSuchRegister("rip/rsp".into()));
    };
    let value = |b: Vec<u8>| {
        let mut v = [0u8; 8];
        v[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
        u64::from_le_bytes(v)
    };
    let mut n = 0;
    for t in rsp.threads()? {
        rsp.select_thread(t)?;
        if value(rsp.read_register(rip.regnum)?) != addr {
            continue;
        }
        let sp_now = value(rsp.read_register(sp.regnum)?).wrapping_add(pushed);
        let mut ret = [0u8; 8];
        rsp.read_memory(sp_now, &mut ret)?;
        rsp.write_register(rip.regnum, &ret)?;
        rsp.write_register(sp.regnum, &sp_now.wrapping_add(8).to_le_bytes())?;
        n += 1;
    }
    Ok(n)
}

fn serialize(changes: &[Change]) -> Vec<u8> {
    let mut out = b"guestrace-undo 1\n".to_vec();
    for c in changes {
        match c {
            Change::ReturnAt { addr, pushed: 0 } => {
                out.extend_from_slice(format!("ret {addr:x}\n").as_bytes())
            }
            Change::ReturnAt { addr, pushed } => {
                out.extend_from_slice(format!("ret {addr:x} {pushed:x}\n").as_bytes())
            }
            Change::Breakpoint { ty, addr } => {
                out.extend_from_slice(format!("bp {} {addr:x}\n", ty.name()).as_bytes());
            }
            Change::Write {
                addr,
                original,
                written,
            } => {
                out.extend_from_slice(format!("write {addr:x} ").as_bytes());
                encode_hex(original, &mut out);
                out.push(b' ');
                encode_hex(written, &mut out);
                out.push(b'\n');
            }
        }
    }
    out
}

/// Reads a journal left behind by a tracer that died.
pub fn load_journal(path: &Path) -> Result<Option<Vec<Change>>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(journal_err(path, e)),
    };
    let bad = |line: &str| {
        journal_err(
            path,
            std::io::Error::other(format!("unreadable journal line {line:?}")),
        )
    };
    let mut lines = text.lines();
    if lines.next() != Some("guestrace-undo 1") {
        return Err(bad("header"));
    }
    let mut v = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(' ').collect();
        let hex = |s: &str| parse_hex_u64(s.as_bytes()).ok_or_else(|| bad(line));
        let bytes = |s: &str| {
            let mut b = Vec::new();
            decode_hex(s.as_bytes(), &mut b).map_err(|_| bad(line))?;
            Ok::<_, Error>(b)
        };
        match f.as_slice() {
            ["ret", a] => v.push(Change::ReturnAt {
                addr: hex(a)?,
                pushed: 0,
            }),
            ["ret", a, p] => v.push(Change::ReturnAt {
                addr: hex(a)?,
                pushed: hex(p)?,
            }),
            ["bp", t, a] => v.push(Change::Breakpoint {
                ty: BpType::from_name(t).ok_or_else(|| bad(line))?,
                addr: hex(a)?,
            }),
            ["write", a, o, w] => v.push(Change::Write {
                addr: hex(a)?,
                original: bytes(o)?,
                written: bytes(w)?,
            }),
            _ => return Err(bad(line)),
        }
    }
    Ok(Some(v))
}

/// Deletes a journal once its changes were undone.
pub fn remove_journal(path: &Path) {
    let _ = fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_round_trips() {
        let dir = std::env::temp_dir().join(format!("introspect-undo-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("j");
        let mut log = UndoLog::new(Some(path.clone()));
        log.push(Change::Breakpoint {
            ty: BpType::Software,
            addr: 0xffffffff80200120,
        })
        .unwrap();
        log.push(Change::Write {
            addr: 0x1000,
            original: vec![0, 1],
            written: vec![7, 8],
        })
        .unwrap();
        log.push(Change::Breakpoint {
            ty: BpType::ReadWatch,
            addr: 0x43,
        })
        .unwrap();
        log.push(Change::ReturnAt {
            addr: 0x44,
            pushed: 0,
        })
        .unwrap();
        log.push(Change::ReturnAt {
            addr: 0x45,
            pushed: 8,
        })
        .unwrap();
        log.push(Change::Breakpoint {
            ty: BpType::Hardware,
            addr: 0x42,
        })
        .unwrap();
        log.forget_breakpoint(BpType::Hardware, 0x42).unwrap();
        let loaded = load_journal(&path).unwrap().unwrap();
        assert_eq!(loaded, log.changes());
        log.forget_breakpoint(BpType::Software, 0xffffffff80200120)
            .unwrap();
        assert_eq!(load_journal(&path).unwrap().unwrap().len(), 4);
        fs::write(&path, "guestrace-undo 1\nbogus\n").unwrap();
        assert!(load_journal(&path).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
