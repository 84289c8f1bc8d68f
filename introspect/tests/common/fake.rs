//! A scripted fake QEMU gdbstub, built on the `gdbstub` crate (an independent implementation
//! of the server side). It serves registers and memory from a recorded [`Snapshot`], replays a
//! list of stops, and can be told to misbehave the ways QEMU and networks do.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{Read, Write};
use std::num::NonZeroUsize;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use gdbstub::arch::Arch;
use gdbstub::common::{Signal, Tid};
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::outputln;
use gdbstub::stub::run_blocking::{self, BlockingEventLoop, WaitForStopReasonError};
use gdbstub::stub::{GdbStub, MultiThreadStopReason};
use gdbstub::target::ext::base::multithread::{
    MultiThreadBase, MultiThreadResume, MultiThreadResumeOps, MultiThreadSchedulerLocking,
    MultiThreadSchedulerLockingOps, MultiThreadSingleStep, MultiThreadSingleStepOps,
};
use gdbstub::target::ext::base::single_register_access::{
    SingleRegisterAccess, SingleRegisterAccessOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, SwBreakpoint, SwBreakpointOps,
};
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::ext::target_description_xml_override::{
    TargetDescriptionXmlOverride, TargetDescriptionXmlOverrideOps,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use introspect::tdesc::{includes, RegLayout};

use super::snapshot::Snapshot;

/// The register layout the fake's arch uses (one snapshot per test process).
static LAYOUT: OnceLock<RegLayout> = OnceLock::new();

fn layout() -> &'static RegLayout {
    LAYOUT
        .get()
        .expect("fake layout initialised by Fake::start")
}

/// Misbehaviour to inject.
#[derive(Debug, Clone, Default)]
pub struct Quirks {
    /// Send `$T02thread:01;` right after accepting, like QEMU does when the VM was running.
    pub unsolicited_stop: bool,
    /// Every n-th single-step reports a stop without moving (QEMU's spurious step stop).
    pub spurious_step_every: u64,
    /// Put a `+` before every packet we send.
    pub stray_acks: bool,
    /// Close the connection after this many packets from the client.
    pub hang_up_after: Option<u32>,
    /// Stop answering after this many packets from the client.
    pub stall_after: Option<u32>,
    /// Offer QStartNoAckMode (QEMU 7.2 does not).
    pub offer_no_ack: bool,
}

/// A stop the fake reports at the next continue: `vcpu` gets these register values.
#[derive(Debug, Clone)]
pub struct ScriptStop {
    /// gdb thread id.
    pub vcpu: u32,
    /// Register name -> value.
    pub set: Vec<(&'static str, u64)>,
}

/// One resume as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeRecord {
    /// Thread current at the resume (or stepped).
    pub vcpu: u32,
    /// Its rip and rsp when resumed.
    pub rip: u64,
    /// Its rsp when resumed.
    pub rsp: u64,
    /// A single-step rather than a continue.
    pub step: bool,
}

/// The fake VM's state, shared with the test for inspection.
#[derive(Debug, Default)]
pub struct VmState {
    pub regs: BTreeMap<u32, Vec<u8>>,
    pub pages: BTreeMap<u64, Vec<u8>>,
    pub xml: BTreeMap<String, String>,
    pub bps: Vec<u64>,
    pub script: VecDeque<ScriptStop>,
    pub current: u32,
    pub steps: u64,
    pub resumes: Vec<ResumeRecord>,
    pub stray_bytes_while_running: u32,
    pub packets: u32,
    pub monitor: Vec<String>,
    /// True once a client detached or vanished: QEMU's VM then runs.
    pub running: bool,
    pub connections: u32,
    pub quirks: Quirks,
    /// The thread a pending vCont asked to single-step.
    pub step_action: Option<u32>,
}

impl VmState {
    fn reg(&self, vcpu: u32, name: &str) -> u64 {
        let r = layout().find(name).expect("register in layout");
        let raw = &self.regs[&vcpu];
        let mut b = [0u8; 8];
        b[..r.size.min(8)].copy_from_slice(&raw[r.offset..r.offset + r.size.min(8)]);
        u64::from_le_bytes(b)
    }

    /// Sets a register (test setup).
    pub fn set_reg(&mut self, vcpu: u32, name: &str, v: u64) {
        let r = layout().find(name).expect("register in layout");
        let raw = self.regs.get_mut(&vcpu).expect("vcpu");
        let n = r.size.min(8);
        raw[r.offset..r.offset + n].copy_from_slice(&v.to_le_bytes()[..n]);
    }

    /// Public register read for assertions.
    pub fn register(&self, vcpu: u32, name: &str) -> u64 {
        self.reg(vcpu, name)
    }

    /// Byte at a virtual address, if mapped.
    pub fn byte(&self, addr: u64) -> Option<u8> {
        self.pages
            .get(&(addr & !0xfff))
            .map(|p| p[(addr & 0xfff) as usize])
    }

    fn set_byte(&mut self, addr: u64, v: u8) -> bool {
        match self.pages.get_mut(&(addr & !0xfff)) {
            Some(p) => {
                p[(addr & 0xfff) as usize] = v;
                true
            }
            None => false,
        }
    }
}

/// A running fake: a unix socket path and the shared state.
pub struct Fake {
    pub sock: PathBuf,
    pub state: Arc<Mutex<VmState>>,
    _dir: TempDir,
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Fake {
    /// Starts serving `snap` on a fresh unix socket; connections are accepted one after another.
    pub fn start(snap: &Snapshot, script: Vec<ScriptStop>, quirks: Quirks) -> Fake {
        let xml: String = snap.xml.values().cloned().collect();
        let parsed = RegLayout::parse(&xml).expect("snapshot XML parses");
        let _ = LAYOUT.set(parsed);
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("introspect-fake-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let sock = dir.join("gdb.sock");
        let listener = UnixListener::bind(&sock).expect("bind fake socket");
        let state = Arc::new(Mutex::new(VmState {
            regs: snap.regs.clone(),
            pages: snap.pages.clone(),
            xml: snap.xml.clone(),
            script: script.into(),
            current: *snap.regs.keys().next().expect("a vcpu"),
            quirks,
            ..Default::default()
        }));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(stream) = conn else { return };
                serve(stream, st.clone());
            }
        });
        Fake {
            sock,
            state,
            _dir: TempDir(dir),
        }
    }

    /// Socket path as a string for `Target::connect`.
    pub fn addr(&self) -> String {
        self.sock.display().to_string()
    }

    /// Locks the state for inspection.
    pub fn vm(&self) -> std::sync::MutexGuard<'_, VmState> {
        self.state.lock().expect("fake state")
    }
}

fn serve(mut stream: UnixStream, state: Arc<Mutex<VmState>>) {
    let quirks = {
        let mut s = state.lock().expect("state");
        s.running = false;
        s.connections += 1;
        s.quirks.clone()
    };
    if quirks.unsolicited_stop {
        let _ = Write::write_all(&mut stream, b"$T02thread:01;#04");
    }
    let conn = QuirkConn {
        stream,
        state: state.clone(),
        quirks: quirks.clone(),
        stalled: false,
    };
    let mut vm = FakeVm {
        state: state.clone(),
        offer_no_ack: quirks.offer_no_ack,
    };
    let gdb = match GdbStub::builder(conn).packet_buffer_size(0x1000).build() {
        Ok(g) => g,
        Err(_) => return,
    };
    if let Err(e) = gdb.run_blocking::<EventLoop>(&mut vm) {
        eprintln!("fake gdbstub ended: {e:?}");
    }
    // Like QEMU: the VM runs on once the client is gone, breakpoints and all.
    state.lock().expect("state").running = true;
}

/// The client connection with quirks applied.
struct QuirkConn {
    stream: UnixStream,
    state: Arc<Mutex<VmState>>,
    quirks: Quirks,
    stalled: bool,
}

impl Connection for QuirkConn {
    type Error = std::io::Error;

    fn write(&mut self, byte: u8) -> Result<(), Self::Error> {
        if self.stalled {
            return Ok(());
        }
        if byte == b'$' && self.quirks.stray_acks {
            Write::write_all(&mut self.stream, b"+")?;
        }
        Write::write_all(&mut self.stream, &[byte])
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Write::flush(&mut self.stream)
    }
}

impl ConnectionExt for QuirkConn {
    fn read(&mut self) -> Result<u8, Self::Error> {
        let mut b = [0u8; 1];
        if Read::read(&mut self.stream, &mut b)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if b[0] == b'$' {
            let n = {
                let mut s = self.state.lock().expect("state");
                s.packets += 1;
                s.packets
            };
            if self.quirks.hang_up_after.is_some_and(|h| n > h) {
                let _ = self.stream.shutdown(std::net::Shutdown::Both);
                return Err(std::io::ErrorKind::ConnectionAborted.into());
            }
            if self.quirks.stall_after.is_some_and(|h| n > h) {
                self.stalled = true;
            }
        }
        Ok(b[0])
    }

    fn peek(&mut self) -> Result<Option<u8>, Self::Error> {
        Ok(None)
    }
}

/// The fake's architecture: QEMU's layout, whatever the snapshot's XML says.
enum FakeArch {}

#[derive(Debug, Clone, Default, PartialEq)]
struct FakeRegs {
    bytes: Vec<u8>,
}

impl gdbstub::arch::Registers for FakeRegs {
    type ProgramCounter = u64;

    fn pc(&self) -> u64 {
        let r = layout().find("rip").expect("rip");
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes[r.offset..r.offset + 8]);
        u64::from_le_bytes(b)
    }

    fn gdb_serialize(&self, mut write_byte: impl FnMut(Option<u8>)) {
        for &b in &self.bytes {
            write_byte(Some(b));
        }
    }

    fn gdb_deserialize(&mut self, bytes: &[u8]) -> Result<(), ()> {
        if bytes.len() != layout().g_len() {
            return Err(());
        }
        self.bytes = bytes.to_vec();
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
struct FakeRegId(usize);

impl gdbstub::arch::RegId for FakeRegId {
    fn from_raw_id(id: usize) -> Option<(Self, Option<NonZeroUsize>)> {
        let r = layout().registers().iter().find(|r| r.regnum == id)?;
        Some((FakeRegId(id), NonZeroUsize::new(r.size)))
    }
}

impl Arch for FakeArch {
    type Usize = u64;
    type Registers = FakeRegs;
    type BreakpointKind = usize;
    type RegId = FakeRegId;
}

struct FakeVm {
    state: Arc<Mutex<VmState>>,
    offer_no_ack: bool,
}

impl FakeVm {
    fn st(&self) -> std::sync::MutexGuard<'_, VmState> {
        self.state.lock().expect("state")
    }
}

fn tid(n: u32) -> Tid {
    Tid::new(n as usize).expect("nonzero tid")
}

impl Target for FakeVm {
    type Arch = FakeArch;
    type Error = String;

    fn base_ops(&mut self) -> BaseOps<'_, FakeArch, String> {
        BaseOps::MultiThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }

    fn support_target_description_xml_override(
        &mut self,
    ) -> Option<TargetDescriptionXmlOverrideOps<'_, Self>> {
        Some(self)
    }

    fn use_no_ack_mode(&self) -> bool {
        self.offer_no_ack
    }

    fn use_x_upcase_packet(&self) -> bool {
        false
    }

    fn guard_rail_implicit_sw_breakpoints(&self) -> bool {
        true
    }
}

impl MultiThreadBase for FakeVm {
    fn read_registers(&mut self, regs: &mut FakeRegs, t: Tid) -> TargetResult<(), Self> {
        let st = self.st();
        regs.bytes = st
            .regs
            .get(&(t.get() as u32))
            .ok_or(TargetError::Errno(22))?
            .clone();
        Ok(())
    }

    fn write_registers(&mut self, regs: &FakeRegs, t: Tid) -> TargetResult<(), Self> {
        self.st().regs.insert(t.get() as u32, regs.bytes.clone());
        Ok(())
    }

    fn read_addrs(&mut self, start: u64, data: &mut [u8], _t: Tid) -> TargetResult<usize, Self> {
        let st = self.st();
        for (i, d) in data.iter_mut().enumerate() {
            match st.byte(start.wrapping_add(i as u64)) {
                Some(b) => *d = b,
                None if i == 0 => return Err(TargetError::Errno(0x14)),
                None => return Ok(i),
            }
        }
        Ok(data.len())
    }

    fn write_addrs(&mut self, start: u64, data: &[u8], _t: Tid) -> TargetResult<(), Self> {
        let mut st = self.st();
        if (0..data.len()).any(|i| st.byte(start.wrapping_add(i as u64)).is_none()) {
            return Err(TargetError::Errno(0x14));
        }
        for (i, &b) in data.iter().enumerate() {
            st.set_byte(start.wrapping_add(i as u64), b);
        }
        Ok(())
    }

    fn list_active_threads(&mut self, register: &mut dyn FnMut(Tid)) -> Result<(), String> {
        for &t in self.st().regs.keys() {
            register(tid(t));
        }
        Ok(())
    }

    fn support_resume(&mut self) -> Option<MultiThreadResumeOps<'_, Self>> {
        Some(self)
    }

    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, Tid, Self>> {
        Some(self)
    }
}

impl SingleRegisterAccess<Tid> for FakeVm {
    fn read_register(
        &mut self,
        t: Tid,
        id: FakeRegId,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        let st = self.st();
        let r = layout()
            .registers()
            .iter()
            .find(|r| r.regnum == id.0)
            .ok_or(TargetError::Errno(22))?;
        let raw = st
            .regs
            .get(&(t.get() as u32))
            .ok_or(TargetError::Errno(22))?;
        buf[..r.size].copy_from_slice(&raw[r.offset..r.offset + r.size]);
        Ok(r.size)
    }

    fn write_register(&mut self, t: Tid, id: FakeRegId, val: &[u8]) -> TargetResult<(), Self> {
        let mut st = self.st();
        let r = layout()
            .registers()
            .iter()
            .find(|r| r.regnum == id.0)
            .ok_or(TargetError::Errno(22))?;
        let raw = st
            .regs
            .get_mut(&(t.get() as u32))
            .ok_or(TargetError::Errno(22))?;
        raw[r.offset..r.offset + r.size].copy_from_slice(val);
        Ok(())
    }
}

impl MultiThreadResume for FakeVm {
    fn resume(&mut self) -> Result<(), String> {
        Ok(())
    }

    fn clear_resume_actions(&mut self) -> Result<(), String> {
        self.st().step_action = None;
        Ok(())
    }

    fn set_resume_action_continue(&mut self, _t: Tid, _s: Option<Signal>) -> Result<(), String> {
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<MultiThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    fn support_scheduler_locking(&mut self) -> Option<MultiThreadSchedulerLockingOps<'_, Self>> {
        Some(self)
    }
}

impl MultiThreadSchedulerLocking for FakeVm {
    // QEMU steps only the named vCPU; so does the fake (no other thread moves anyway).
    fn set_resume_action_scheduler_lock(&mut self) -> Result<(), String> {
        Ok(())
    }
}

impl MultiThreadSingleStep for FakeVm {
    fn set_resume_action_step(&mut self, t: Tid, _s: Option<Signal>) -> Result<(), String> {
        self.st().step_action = Some(t.get() as u32);
        Ok(())
    }
}

impl Breakpoints for FakeVm {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

impl FakeVm {
    fn add_bp(&mut self, addr: u64) -> TargetResult<bool, Self> {
        self.st().bps.push(addr);
        Ok(true)
    }

    fn remove_bp(&mut self, addr: u64) -> TargetResult<bool, Self> {
        let mut st = self.st();
        match st.bps.iter().position(|&a| a == addr) {
            Some(i) => {
                st.bps.remove(i);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

impl SwBreakpoint for FakeVm {
    fn add_sw_breakpoint(&mut self, addr: u64, _k: usize) -> TargetResult<bool, Self> {
        self.add_bp(addr)
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _k: usize) -> TargetResult<bool, Self> {
        self.remove_bp(addr)
    }
}

impl HwBreakpoint for FakeVm {
    fn add_hw_breakpoint(&mut self, addr: u64, _k: usize) -> TargetResult<bool, Self> {
        self.add_bp(addr)
    }

    fn remove_hw_breakpoint(&mut self, addr: u64, _k: usize) -> TargetResult<bool, Self> {
        self.remove_bp(addr)
    }
}

impl MonitorCmd for FakeVm {
    fn handle_monitor_cmd(&mut self, cmd: &[u8], mut out: ConsoleOutput<'_>) -> Result<(), String> {
        let cmd = String::from_utf8_lossy(cmd).into_owned();
        if cmd == "info kvm" {
            outputln!(out, "kvm support: disabled");
        } else {
            outputln!(out, "fake monitor: {cmd}");
        }
        self.st().monitor.push(cmd);
        Ok(())
    }
}

impl TargetDescriptionXmlOverride for FakeVm {
    fn target_description_xml(
        &self,
        annex: &[u8],
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        let st = self.state.lock().expect("state");
        let name = String::from_utf8_lossy(annex).into_owned();
        let xml = st.xml.get(&name).ok_or(TargetError::Errno(2))?;
        let bytes = xml.as_bytes();
        let start = (offset as usize).min(bytes.len());
        let n = (bytes.len() - start).min(length).min(buf.len());
        buf[..n].copy_from_slice(&bytes[start..start + n]);
        Ok(n)
    }
}

enum EventLoop {}

impl BlockingEventLoop for EventLoop {
    type Target = FakeVm;
    type Connection = QuirkConn;
    type StopReason = MultiThreadStopReason<u64>;

    #[allow(clippy::type_complexity)]
    fn wait_for_stop_reason(
        target: &mut FakeVm,
        conn: &mut QuirkConn,
    ) -> Result<run_blocking::Event<Self::StopReason>, WaitForStopReasonError<String, std::io::Error>>
    {
        let step = target.st().step_action.take();
        {
            let mut st = target.st();
            if let Some(t) = step {
                st.steps += 1;
                let (rip, rsp) = (st.reg(t, "rip"), st.reg(t, "rsp"));
                st.resumes.push(ResumeRecord {
                    vcpu: t,
                    rip,
                    rsp,
                    step: true,
                });
                let every = st.quirks.spurious_step_every;
                if every == 0 || !st.steps.is_multiple_of(every) {
                    st.set_reg(t, "rip", rip + 1);
                }
                st.current = t;
                return Ok(run_blocking::Event::TargetStopped(
                    MultiThreadStopReason::SignalWithThread {
                        tid: tid(t),
                        signal: Signal::SIGTRAP,
                    },
                ));
            }
            let cur = st.current;
            let (rip, rsp) = (st.reg(cur, "rip"), st.reg(cur, "rsp"));
            st.resumes.push(ResumeRecord {
                vcpu: cur,
                rip,
                rsp,
                step: false,
            });
            // QEMU: continuing from a breakpoint PC re-hits it at once.
            if st.bps.contains(&rip) {
                return Ok(run_blocking::Event::TargetStopped(
                    MultiThreadStopReason::SwBreak(tid(cur)),
                ));
            }
            if let Some(stop) = st.script.pop_front() {
                for (name, v) in &stop.set {
                    st.set_reg(stop.vcpu, name, *v);
                }
                st.current = stop.vcpu;
                let at_bp = st.bps.contains(&st.reg(stop.vcpu, "rip"));
                let reason = if at_bp {
                    MultiThreadStopReason::SwBreak(tid(stop.vcpu))
                } else {
                    MultiThreadStopReason::SignalWithThread {
                        tid: tid(stop.vcpu),
                        signal: Signal::SIGTRAP,
                    }
                };
                return Ok(run_blocking::Event::TargetStopped(reason));
            }
            st.running = true;
        }
        // Script exhausted: the "VM" runs until a byte arrives. Like QEMU, any byte stops it.
        let byte = conn.read().map_err(WaitForStopReasonError::Connection)?;
        let mut st = target.st();
        st.running = false;
        if byte == 0x03 {
            drop(st);
            return Ok(run_blocking::Event::IncomingData(byte));
        }
        st.stray_bytes_while_running += 1;
        Ok(run_blocking::Event::TargetStopped(
            MultiThreadStopReason::SignalWithThread {
                tid: tid(st.current),
                signal: Signal::SIGINT,
            },
        ))
    }

    fn on_interrupt(target: &mut FakeVm) -> Result<Option<MultiThreadStopReason<u64>>, String> {
        let cur = target.st().current;
        Ok(Some(MultiThreadStopReason::SignalWithThread {
            tid: tid(cur),
            signal: Signal::SIGINT,
        }))
    }
}

/// Builds a minimal snapshot with QEMU's XML shape (comment included), for tests that do not
/// need the recorded one.
pub fn includes_of(s: &Snapshot) -> Vec<String> {
    s.xml
        .get("target.xml")
        .map(|x| includes(x))
        .unwrap_or_default()
}

#[allow(unused)]
fn _assert_send(_: HashMap<u8, u8>) {}
