//! curthread on amd64: `movq %gs:0` in the kernel, so the stopped vCPU's GS base is its
//! `struct pcpu` and `pc_curthread` leads to the thread and its process.

use super::{need_offset, read_u64, Error, Kernel, Memory};

/// Offsets of the members execname, pid and tid come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadLayout {
    pc_curthread: u64,
    td_proc: u64,
    td_tid: u64,
    p_pid: u64,
    p_comm: u64,
}

/// The current thread of a stopped vCPU.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadInfo {
    /// `struct thread *`.
    pub td: u64,
    /// `td_tid`.
    pub tid: i32,
    /// `td_proc->p_pid`.
    pub pid: i32,
    /// `td_proc->p_comm`, without its NUL.
    pub execname: Vec<u8>,
}

/// `MAXCOMLEN + 1`: the size of `p_comm`.
const COMM_LEN: usize = 20;

impl ThreadLayout {
    /// Takes the offsets from the kernel's DWARF.
    pub fn new(k: &dyn Kernel) -> Result<ThreadLayout, Error> {
        Ok(ThreadLayout {
            pc_curthread: need_offset(k, "struct pcpu", "pc_curthread")?,
            td_proc: need_offset(k, "struct thread", "td_proc")?,
            td_tid: need_offset(k, "struct thread", "td_tid")?,
            p_pid: need_offset(k, "struct proc", "p_pid")?,
            p_comm: need_offset(k, "struct proc", "p_comm")?,
        })
    }

    /// `curthread` of the vCPU whose GS base is `gs_base` (it must be stopped in the kernel).
    pub fn curthread(&self, m: &mut dyn Memory, gs_base: u64) -> Result<u64, Error> {
        read_u64(m, gs_base + self.pc_curthread, "pcpu.pc_curthread")
    }

    /// tid, pid and execname of thread `td`.
    pub fn info(&self, m: &mut dyn Memory, td: u64) -> Result<ThreadInfo, Error> {
        let mut tid = [0u8; 4];
        m.read(td + self.td_tid, &mut tid)
            .map_err(|a| unreadable(a, "td_tid"))?;
        let p = read_u64(m, td + self.td_proc, "td_proc")?;
        let mut pid = [0u8; 4];
        m.read(p + self.p_pid, &mut pid)
            .map_err(|a| unreadable(a, "p_pid"))?;
        let mut comm = [0u8; COMM_LEN];
        m.read(p + self.p_comm, &mut comm)
            .map_err(|a| unreadable(a, "p_comm"))?;
        let end = comm.iter().position(|&b| b == 0).unwrap_or(COMM_LEN);
        Ok(ThreadInfo {
            td,
            tid: i32::from_le_bytes(tid),
            pid: i32::from_le_bytes(pid),
            execname: comm[..end].to_vec(),
        })
    }
}

fn unreadable(addr: u64, what: &str) -> Error {
    Error::Unreadable {
        addr,
        what: what.to_string(),
    }
}
