//! The protocol client: one method per RSP request, typed replies, pipelining with the resume
//! last. Knows the gdbstub, not breakpoints' meaning or the undo log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::conn::{Conn, Recv};
use crate::error::{Error, MemError, Result};
use crate::packet::{decode_hex, encode_hex, parse_hex_u64};
use crate::stop::{parse_thread_id, StopReply};
use crate::tdesc::{includes, RegLayout};

/// Largest `m` QEMU 7.2 accepts (`m...,801` is E22).
pub const MAX_READ_CHUNK: usize = 0x800;
/// `M` carries hex, so half the 4 KiB packet minus the header.
pub const MAX_WRITE_CHUNK: usize = 0x7c0;
const PAGE: u64 = 0x1000;

/// What `qSupported` told us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// `PacketSize`, in bytes.
    pub packet_size: usize,
    /// The stub serves `qXfer:features:read`.
    pub xfer_features: bool,
    /// The stub offers `QStartNoAckMode`.
    pub no_ack_mode: bool,
    /// The raw reply.
    pub raw: String,
}

/// Breakpoint flavour in the `Z`/`z` packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BpType {
    /// `Z0`: the stub patches or (TCG) checks the PC.
    Software,
    /// `Z1`: debug registers under KVM (at most 4), same as Z0 under TCG.
    Hardware,
    /// `Z3` on 8 bytes: stops after an instruction reads them (a pointer load or a call
    /// through it). QEMU 7.2 reports watchpoint stops without flushing translated code.
    ReadWatch,
}

impl BpType {
    fn digit(self) -> char {
        match self {
            BpType::Software => '0',
            BpType::Hardware => '1',
            BpType::ReadWatch => '3',
        }
    }

    fn len(self) -> u8 {
        match self {
            BpType::ReadWatch => 8,
            _ => 1,
        }
    }

    /// The `Z`/`z` packet for this type at `addr`.
    fn packet(self, insert: bool, addr: u64) -> String {
        let op = if insert { 'Z' } else { 'z' };
        format!("{op}{},{addr:x},{}", self.digit(), self.len())
    }

    /// Short name used in the undo journal.
    pub fn name(self) -> &'static str {
        match self {
            BpType::Software => "sw",
            BpType::Hardware => "hw",
            BpType::ReadWatch => "rw",
        }
    }

    /// Inverse of [`BpType::name`].
    pub fn from_name(s: &str) -> Option<BpType> {
        [BpType::Software, BpType::Hardware, BpType::ReadWatch]
            .into_iter()
            .find(|t| t.name() == s)
    }
}

/// Resume action for `vCont`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Continue all vCPUs.
    Continue,
    /// Single-step this thread; the others stay stopped.
    Step(u32),
    /// Continue all vCPUs, the stopped one (the stub's continue thread) from this address
    /// (`c ADDR`: one packet where `P rip` then `vCont;c` would be two).
    ContinueAt(u64),
}

/// Low-level RSP client.
pub struct Rsp {
    conn: Conn,
    features: Features,
    layout: Option<Arc<RegLayout>>,
    /// Replies owed for packets queued ahead of a resume.
    owed: usize,
    /// First error among the owed replies, reported when the resume completes.
    owed_error: Option<Error>,
    /// The thread the stub's `g`/`p`/`P`/`m` act on, as far as we know.
    g_thread: Option<u32>,
    /// Stop replies nobody asked for (QEMU's T02 on connect, stray-byte stops).
    unsolicited: u32,
    last_stop_thread: Option<u32>,
    packets: u64,
}

impl Rsp {
    /// Opens the socket and does the handshake: drain any unsolicited stop, `qSupported`,
    /// `QStartNoAckMode` if offered, the target description.
    pub fn connect(addr: &str, timeout: Duration, acks_while_stopped: bool) -> Result<Rsp> {
        let mut conn = Conn::connect(addr, timeout)?;
        conn.send_acks = acks_while_stopped;
        let mut rsp = Rsp {
            conn,
            features: Features::default(),
            layout: None,
            owed: 0,
            owed_error: None,
            g_thread: None,
            unsolicited: 0,
            last_stop_thread: None,
            packets: 0,
        };
        let reply = rsp.request_str(
            "qSupported:multiprocess-;swbreak-;hwbreak-;vContSupported+;xmlRegisters=i386",
        )?;
        rsp.features = parse_features(&reply);
        if rsp.features.no_ack_mode && rsp.request_str("QStartNoAckMode")? == "OK" {
            rsp.conn.send_acks = false;
        }
        if rsp.features.xfer_features {
            let xml = rsp.read_target_xml()?;
            rsp.layout = Some(Arc::new(RegLayout::parse(&xml)?));
        }
        Ok(rsp)
    }

    /// What `qSupported` said.
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// The register layout (from target.xml).
    pub fn layout(&self) -> Result<&Arc<RegLayout>> {
        self.layout
            .as_ref()
            .ok_or_else(|| Error::Unsupported("qXfer:features:read".into()))
    }

    /// Number of stop replies that arrived without being waited for.
    pub fn unsolicited_stops(&self) -> u32 {
        self.unsolicited
    }

    /// Packets sent so far.
    pub fn packets_sent(&self) -> u64 {
        self.packets
    }

    /// Thread named by the most recent stop reply.
    pub fn last_stop_thread(&self) -> Option<u32> {
        self.last_stop_thread
    }

    /// The stub's process (QEMU) when connected over a unix socket.
    pub fn peer_pid(&self) -> Option<i32> {
        self.conn.peer_pid()
    }

    pub(crate) fn wake(&self) -> &Arc<crate::conn::Wake> {
        &self.conn.wake
    }

    /// True while a resume is outstanding.
    pub fn is_running(&self) -> bool {
        self.conn.running
    }

    /// Time-out for one exchange.
    pub fn set_timeout(&mut self, t: Duration) {
        self.conn.timeout = t;
    }

    /// Current time-out for one exchange.
    pub fn timeout(&self) -> Duration {
        self.conn.timeout
    }

    fn queue(&mut self, payload: &[u8]) {
        self.conn.queue(payload);
        self.packets += 1;
    }

    /// Next reply to a request, skipping unsolicited stop replies.
    fn reply(&mut self, what: &str) -> Result<Vec<u8>> {
        let deadline = self.conn.deadline();
        loop {
            let Recv::Packet(p) = self.conn.recv(deadline, false, what)? else {
                continue;
            };
            if StopReply::is_stop(&p) {
                self.note_unsolicited(&p);
                continue;
            }
            return Ok(p);
        }
    }

    fn note_unsolicited(&mut self, p: &[u8]) {
        self.unsolicited += 1;
        if let Some(StopReply::Signal {
            thread: Some(t), ..
        }) = StopReply::parse(p)
        {
            self.last_stop_thread = Some(t);
            self.g_thread = Some(t);
        }
    }

    /// Collects the replies owed for pipelined packets.
    fn settle(&mut self) -> Result<()> {
        while self.owed > 0 {
            let r = self.reply("a pipelined reply")?;
            self.owed -= 1;
            if r != b"OK" && self.owed_error.is_none() {
                self.owed_error = Some(reply_error(&r, "a pipelined register write"));
            }
        }
        match self.owed_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Sends one request and returns its reply (after any owed replies).
    pub fn request(&mut self, payload: &[u8]) -> Result<Vec<u8>> {
        if self.conn.running {
            return Err(Error::State("running; stop it before sending requests"));
        }
        self.queue(payload);
        self.conn.flush()?;
        self.settle()?;
        let what = abbreviate(payload);
        self.reply(&what)
    }

    fn request_str(&mut self, payload: &str) -> Result<String> {
        let r = self.request(payload.as_bytes())?;
        String::from_utf8(r).map_err(|_| Error::Protocol(format!("non-UTF-8 reply to {payload}")))
    }

    fn request_ok(&mut self, payload: &[u8]) -> Result<()> {
        let r = self.request(payload)?;
        if r == b"OK" {
            Ok(())
        } else {
            Err(reply_error(&r, &abbreviate(payload)))
        }
    }

    fn read_target_xml(&mut self) -> Result<String> {
        let top = self.read_xfer_features("target.xml")?;
        let mut xml = top.clone();
        for inc in includes(&top) {
            xml.push_str(&self.read_xfer_features(&inc)?);
        }
        Ok(xml)
    }

    /// Reads one target-description file (`target.xml` or an included one).
    pub fn read_xfer_features(&mut self, annex: &str) -> Result<String> {
        let mut data = Vec::new();
        let chunk = self
            .features
            .packet_size
            .saturating_sub(8)
            .clamp(256, 0xffff);
        loop {
            let r = self.request(
                format!("qXfer:features:read:{annex}:{:x},{chunk:x}", data.len()).as_bytes(),
            )?;
            match r.first() {
                Some(b'm') => data.extend_from_slice(&r[1..]),
                Some(b'l') => {
                    data.extend_from_slice(&r[1..]);
                    break;
                }
                _ => return Err(reply_error(&r, &format!("qXfer:features:read:{annex}"))),
            }
        }
        String::from_utf8(data).map_err(|_| Error::Protocol(format!("{annex} is not UTF-8")))
    }

    /// `?`: why the VM is stopped, and which thread.
    pub fn query_stop(&mut self) -> Result<StopReply> {
        let r = self.request_raw_stop(b"?")?;
        Ok(r)
    }

    fn request_raw_stop(&mut self, payload: &[u8]) -> Result<StopReply> {
        self.queue(payload);
        self.conn.flush()?;
        self.settle()?;
        let deadline = self.conn.deadline();
        loop {
            let Recv::Packet(p) = self.conn.recv(deadline, false, "a stop reply to '?'")? else {
                continue;
            };
            if let Some(s) = StopReply::parse(&p) {
                self.record_stop(&s);
                return Ok(s);
            }
        }
    }

    fn record_stop(&mut self, s: &StopReply) {
        if let StopReply::Signal {
            thread: Some(t), ..
        } = s
        {
            self.last_stop_thread = Some(*t);
            // QEMU points g_cpu and c_cpu at the vCPU that stopped.
            self.g_thread = Some(*t);
        }
    }

    /// Thread ids (QEMU: one per vCPU, 1-based).
    pub fn threads(&mut self) -> Result<Vec<u32>> {
        let mut v = Vec::new();
        let mut r = self.request(b"qfThreadInfo")?;
        loop {
            match r.first() {
                Some(b'm') => {
                    for id in r[1..].split(|&b| b == b',') {
                        v.push(parse_thread_id(id).ok_or_else(|| {
                            Error::Protocol(format!(
                                "bad thread id {:?}",
                                String::from_utf8_lossy(id)
                            ))
                        })?);
                    }
                }
                Some(b'l') => break,
                _ => return Err(reply_error(&r, "qfThreadInfo")),
            }
            r = self.request(b"qsThreadInfo")?;
        }
        Ok(v)
    }

    /// Points `g`/`p`/`P`/`m`/`M` at a thread (`Hg`), skipping the packet if it already is.
    pub fn select_thread(&mut self, tid: u32) -> Result<()> {
        if self.g_thread == Some(tid) {
            return Ok(());
        }
        self.request_ok(format!("Hg{tid:x}").as_bytes())?;
        self.g_thread = Some(tid);
        Ok(())
    }

    /// `g`: the raw register block of the selected thread.
    pub fn read_all_registers(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let r = self.request(b"g")?;
        if r.first() == Some(&b'E') && r.len() == 3 {
            return Err(reply_error(&r, "g"));
        }
        out.clear();
        decode_hex(&r, out)
    }

    /// `G`: rewrites every register (QEMU also rewrites CR3 and flushes the TLB: avoid).
    pub fn write_all_registers(&mut self, bytes: &[u8]) -> Result<()> {
        let mut p = b"G".to_vec();
        encode_hex(bytes, &mut p);
        self.request_ok(&p)
    }

    /// `p`: one register, raw little-endian bytes.
    pub fn read_register(&mut self, regnum: usize) -> Result<Vec<u8>> {
        let r = self.request(format!("p{regnum:x}").as_bytes())?;
        if r.is_empty() {
            return Err(Error::Unsupported(format!(
                "p{regnum:x} (target.xml not read?)"
            )));
        }
        if r.first() == Some(&b'E') && r.len() == 3 {
            return Err(reply_error(&r, "p"));
        }
        let mut v = Vec::new();
        decode_hex(&r, &mut v)?;
        Ok(v)
    }

    /// `P`: writes one register now.
    pub fn write_register(&mut self, regnum: usize, bytes: &[u8]) -> Result<()> {
        self.request_ok(&p_packet(regnum, bytes))
    }

    /// Queues a `P` to go out in the same write as the next resume.
    pub fn queue_register_write(&mut self, regnum: usize, bytes: &[u8]) {
        let p = p_packet(regnum, bytes);
        self.queue(&p);
        self.owed += 1;
    }

    /// Queues an `Hg` if the stub is not already on `tid`, before a pipelined `P`.
    pub fn queue_select_thread(&mut self, tid: u32) {
        if self.g_thread != Some(tid) {
            self.queue(format!("Hg{tid:x}").as_bytes());
            self.owed += 1;
            self.g_thread = Some(tid);
        }
    }

    /// `m`, chunked; E14 (or any E) becomes [`MemError::Unmapped`] at the first bad page.
    pub fn read_memory(&mut self, addr: u64, buf: &mut [u8]) -> Result<()> {
        let mut done = 0usize;
        let mut hex = Vec::with_capacity(MAX_READ_CHUNK);
        while done < buf.len() {
            let a = addr.wrapping_add(done as u64);
            let n = (buf.len() - done).min(MAX_READ_CHUNK);
            let r = self.request(format!("m{a:x},{n:x}").as_bytes())?;
            if r.first() == Some(&b'E') || r.is_empty() {
                // Find the first page that fails so the error names the right address.
                return Err(self.locate_unmapped(a, n, &r));
            }
            hex.clear();
            decode_hex(&r, &mut hex)?;
            if hex.is_empty() {
                return Err(MemError::Unmapped { addr: a }.into());
            }
            // A short reply means the stub stopped at an unreadable byte.
            let got = hex.len().min(n);
            buf[done..done + got].copy_from_slice(&hex[..got]);
            done += got;
        }
        Ok(())
    }

    fn locate_unmapped(&mut self, addr: u64, len: usize, reply: &[u8]) -> Error {
        let mut a = addr;
        let end = addr.wrapping_add(len as u64);
        while a < end {
            let next = ((a / PAGE) + 1) * PAGE;
            let n = (next.min(end) - a) as usize;
            match self.request(format!("m{a:x},{n:x}").as_bytes()) {
                Ok(r) if r.first() != Some(&b'E') && !r.is_empty() => a = next,
                Ok(_) => return MemError::Unmapped { addr: a }.into(),
                Err(e) => return e,
            }
        }
        match reply_error(reply, "m") {
            Error::Stub { .. } => MemError::Unmapped { addr }.into(),
            e => e,
        }
    }

    /// `M`, chunked.
    pub fn write_memory(&mut self, addr: u64, data: &[u8]) -> Result<()> {
        for (i, chunk) in data.chunks(MAX_WRITE_CHUNK).enumerate() {
            let a = addr.wrapping_add((i * MAX_WRITE_CHUNK) as u64);
            let mut p = format!("M{a:x},{:x}:", chunk.len()).into_bytes();
            encode_hex(chunk, &mut p);
            let r = self.request(&p)?;
            if r != b"OK" {
                return Err(match reply_error(&r, "M") {
                    Error::Stub { .. } => MemError::Unmapped { addr: a }.into(),
                    e => e,
                });
            }
        }
        Ok(())
    }

    /// Queues an `M` to go out with the next resume (its reply is collected then). Only for
    /// addresses known to be mapped: a failure is reported after the VM has resumed.
    pub fn queue_memory_write(&mut self, addr: u64, data: &[u8]) {
        let mut p = format!("M{addr:x},{:x}:", data.len()).into_bytes();
        encode_hex(data, &mut p);
        self.queue(&p);
        self.owed += 1;
    }

    /// `Z0`/`Z1`/`Z3`.
    pub fn insert_breakpoint(&mut self, ty: BpType, addr: u64) -> Result<()> {
        self.breakpoint_packet(true, ty, addr)
    }

    /// `z0`/`z1`/`z3`.
    pub fn remove_breakpoint(&mut self, ty: BpType, addr: u64) -> Result<()> {
        self.breakpoint_packet(false, ty, addr)
    }

    fn breakpoint_packet(&mut self, insert: bool, ty: BpType, addr: u64) -> Result<()> {
        let p = ty.packet(insert, addr);
        let r = self.request(p.as_bytes())?;
        match r.as_slice() {
            b"OK" => Ok(()),
            b"" => Err(Error::Unsupported(p)),
            _ => Err(Error::Breakpoint {
                addr,
                reason: format!("stub answered {} to {p}", String::from_utf8_lossy(&r)),
            }),
        }
    }

    /// Queues a `Z`/`z` to go out with the next resume (its reply is collected then).
    pub fn queue_breakpoint_change(&mut self, insert: bool, ty: BpType, addr: u64) {
        self.queue(ty.packet(insert, addr).as_bytes());
        self.owed += 1;
    }

    /// `qRcmd`: a QEMU monitor command; returns its console output.
    pub fn monitor(&mut self, cmd: &str) -> Result<String> {
        let mut p = b"qRcmd,".to_vec();
        encode_hex(cmd.as_bytes(), &mut p);
        let r = self.request(&p)?;
        let mut out = Vec::new();
        let mut r = r;
        loop {
            match r.as_slice() {
                b"OK" => break,
                b"" => return Err(Error::Unsupported("qRcmd".into())),
                [b'O', hex @ ..] if !hex.is_empty() => decode_hex(hex, &mut out)?,
                _ => return Err(reply_error(&r, "qRcmd")),
            }
            r = self.reply("qRcmd output")?;
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Queues the `vCont` resume and writes the whole batch (register writes first).
    pub fn resume(&mut self, action: Resume) -> Result<()> {
        if self.conn.running {
            return Err(Error::State("already running"));
        }
        match action {
            Resume::Continue => self.queue(b"vCont;c"),
            Resume::Step(t) => self.queue(format!("vCont;s:{t:x}").as_bytes()),
            Resume::ContinueAt(a) => self.queue(format!("c{a:x}").as_bytes()),
        }
        self.conn.flush()?;
        self.conn.running = true;
        Ok(())
    }

    /// Waits for the stop reply of the outstanding resume. `deadline` None waits forever;
    /// with `wakeable`, an interrupt or cleanup request ends the wait with `Ok(None)`.
    pub fn wait_stop(
        &mut self,
        deadline: Option<Instant>,
        wakeable: bool,
    ) -> Result<Option<StopReply>> {
        loop {
            match self.conn.recv(deadline, wakeable, "the VM to stop")? {
                Recv::Woken => return Ok(None),
                Recv::Packet(p) => {
                    if let Some(s) = StopReply::parse(&p) {
                        self.conn.running = false;
                        self.record_stop(&s);
                        // Replies owed before the resume came before the stop reply.
                        if self.owed > 0 {
                            self.owed = 0;
                            self.owed_error.get_or_insert(Error::Protocol(
                                "stop reply arrived before the replies to pipelined writes".into(),
                            ));
                        }
                        if let Some(e) = self.owed_error.take() {
                            return Err(e);
                        }
                        return Ok(Some(s));
                    }
                    if self.owed > 0 {
                        self.owed -= 1;
                        if p != b"OK" && self.owed_error.is_none() {
                            self.owed_error = Some(reply_error(&p, "a pipelined write"));
                        }
                    }
                    // Anything else while running is noise: ignore it.
                }
            }
        }
    }

    /// Sends 0x03 and waits (one time-out) for the stop it causes.
    pub fn interrupt(&mut self) -> Result<StopReply> {
        self.conn.send_interrupt()?;
        let deadline = self.conn.deadline();
        match self.wait_stop(deadline, false)? {
            Some(s) => Ok(s),
            None => Err(Error::Protocol("interrupt wait was woken".into())),
        }
    }

    /// Hangs up (the peer sees end-of-file).
    pub fn close(&mut self) {
        self.conn.close();
    }

    /// `D`: QEMU removes every gdb breakpoint on every vCPU and resumes the VM.
    pub fn detach(&mut self) -> Result<()> {
        self.queue(b"D");
        self.conn.flush()?;
        self.settle()?;
        self.conn.running = true;
        // The OK may arrive before or after QEMU resumes; never ack it. A stub that hangs up
        // at once is fine too.
        match self
            .conn
            .recv(self.conn.deadline(), false, "the reply to D")
        {
            Ok(_) | Err(Error::Closed) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn p_packet(regnum: usize, bytes: &[u8]) -> Vec<u8> {
    let mut p = format!("P{regnum:x}=").into_bytes();
    encode_hex(bytes, &mut p);
    p
}

fn parse_features(reply: &str) -> Features {
    let mut f = Features {
        packet_size: 0x1000,
        raw: reply.to_string(),
        ..Default::default()
    };
    for item in reply.split(';') {
        if let Some(v) = item.strip_prefix("PacketSize=") {
            if let Some(n) = parse_hex_u64(v.as_bytes()) {
                f.packet_size = n as usize;
            }
        }
        match item {
            "qXfer:features:read+" => f.xfer_features = true,
            "QStartNoAckMode+" => f.no_ack_mode = true,
            _ => {}
        }
    }
    f
}

/// Turns an `Exx` (or any unexpected reply) into an error.
pub(crate) fn reply_error(r: &[u8], request: &str) -> Error {
    match r {
        [b'E', a, b] => match parse_hex_u64(&[*a, *b]) {
            Some(code) => Error::Stub {
                request: request.to_string(),
                code: code as u8,
            },
            None => Error::Protocol(format!("bad error reply to {request}")),
        },
        b"" => Error::Unsupported(request.to_string()),
        _ => Error::Protocol(format!(
            "unexpected reply {:?} to {request}",
            String::from_utf8_lossy(&r[..r.len().min(40)])
        )),
    }
}

fn abbreviate(payload: &[u8]) -> String {
    String::from_utf8_lossy(&payload[..payload.len().min(32)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_from_qemu_reply() {
        let f =
            parse_features("PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+");
        assert_eq!(f.packet_size, 0x1000);
        assert!(f.xfer_features);
        assert!(!f.no_ack_mode);
        assert!(parse_features("PacketSize=4000;QStartNoAckMode+").no_ack_mode);
    }

    #[test]
    fn error_replies_are_values() {
        assert!(matches!(
            reply_error(b"E14", "m"),
            Error::Stub { code: 0x14, .. }
        ));
        assert!(matches!(reply_error(b"", "p"), Error::Unsupported(_)));
        assert!(matches!(reply_error(b"what", "p"), Error::Protocol(_)));
    }
}
