//! Parses the model guest's serial log into typed ground-truth records.
//!
//! Every line that starts with `gt ` is ground truth (format in guests/README.md); other lines
//! are ignored, except the stub's complaint, which is counted. Lines from the two CPUs
//! interleave, so rounds are kept per CPU. A last line without its newline (the guest is still
//! writing it) is ignored.

use std::collections::HashMap;
use std::path::Path;

use super::ModelError;

/// The message FreeBSD's sdt_probe_stub prints when a probe fires with no tracer attached.
pub const STUB_MESSAGE: &str = "sdt_probe_stub: unexpectedly called";

/// Who was running when an event happened, and when (the CPU's logical clock).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The CPU's logical clock, in ticks (hz = 1000).
    pub tick: u64,
    /// `curthread->td_proc->p_comm`, what DTrace's `execname` shows.
    pub exec: String,
    /// `p_pid`.
    pub pid: i32,
    /// `td_tid`.
    pub tid: i32,
}

/// Direction of an ip or udp event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// ip:::send / udp:::send.
    Send,
    /// ip:::receive / udp:::receive.
    Receive,
}

/// One ip:::send or ip:::receive firing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpEvent {
    /// CPU index.
    pub cpu: u32,
    /// Send or receive.
    pub dir: Direction,
    /// Who and when.
    pub ctx: Context,
    /// Interface name (`if_xname`).
    pub ifname: String,
    /// IP version, 4 or 6.
    pub ver: u8,
    /// IP protocol number.
    pub proto: u8,
    /// Source address as DTrace's inet_ntoa/inet_ntoa6 print it.
    pub src: String,
    /// Destination address.
    pub dst: String,
    /// IP payload length, as ipinfo_t.ip_plength computes it.
    pub plen: u32,
    /// Transport ports, for TCP and UDP.
    pub ports: Option<(u16, u16)>,
    /// TCP flags, for TCP.
    pub tcp_flags: Option<u8>,
}

/// Which tcp probe fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpProbe {
    /// tcp:::send
    Send,
    /// tcp:::receive
    Receive,
    /// tcp:::connect-request
    ConnectRequest,
    /// tcp:::connect-established
    ConnectEstablished,
    /// tcp:::connect-refused
    ConnectRefused,
    /// tcp:::accept-established
    AcceptEstablished,
    /// tcp:::accept-refused
    AcceptRefused,
}

impl TcpProbe {
    /// The DTrace probe name.
    pub fn name(self) -> &'static str {
        match self {
            TcpProbe::Send => "send",
            TcpProbe::Receive => "receive",
            TcpProbe::ConnectRequest => "connect-request",
            TcpProbe::ConnectEstablished => "connect-established",
            TcpProbe::ConnectRefused => "connect-refused",
            TcpProbe::AcceptEstablished => "accept-established",
            TcpProbe::AcceptRefused => "accept-refused",
        }
    }

    fn parse(s: &str) -> Option<TcpProbe> {
        [
            TcpProbe::Send,
            TcpProbe::Receive,
            TcpProbe::ConnectRequest,
            TcpProbe::ConnectEstablished,
            TcpProbe::ConnectRefused,
            TcpProbe::AcceptEstablished,
            TcpProbe::AcceptRefused,
        ]
        .into_iter()
        .find(|p| p.name() == s)
    }
}

/// One tcp probe firing, with the segment and connection as they were at the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpEvent {
    /// CPU index.
    pub cpu: u32,
    /// Which probe.
    pub probe: TcpProbe,
    /// Who and when.
    pub ctx: Context,
    /// The tcpcb (`args[3]`; 0 when NULL).
    pub tp: u64,
    /// Its inpcb (the csinfo cs_cid; 0 when tp is NULL).
    pub inp: u64,
    /// IP version.
    pub ver: u8,
    /// Segment source address and port.
    pub src: String,
    /// Source port.
    pub sport: u16,
    /// Destination address.
    pub dst: String,
    /// Destination port.
    pub dport: u16,
    /// TCP flags.
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Window field.
    pub win: u32,
    /// TCP header length in bytes (th_off * 4).
    pub off: u32,
    /// Payload bytes of the segment (true value).
    pub len: u32,
    /// `t_state` at the probe (-1 when tp is NULL).
    pub state: i32,
    /// `rcv_nxt` at the probe.
    pub rnxt: u32,
    /// `ip_hl` as found in the header at the probe (0 after tcp_input's ipovly clobber, or
    /// always 0 for IPv6).
    pub iphl: u8,
    /// IP total length.
    pub iplen: u32,
}

/// One udp probe firing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpEvent {
    /// CPU index.
    pub cpu: u32,
    /// Send or receive.
    pub dir: Direction,
    /// Who and when.
    pub ctx: Context,
    /// The inpcb.
    pub inp: u64,
    /// IP version.
    pub ver: u8,
    /// Source address.
    pub src: String,
    /// Source port.
    pub sport: u16,
    /// Destination address.
    pub dst: String,
    /// Destination port.
    pub dport: u16,
    /// Payload bytes.
    pub len: u32,
    /// `ip_hl` at the probe (0 at udp:::send, as in FreeBSD).
    pub iphl: u8,
}

/// One tcp:::state-change firing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// CPU index.
    pub cpu: u32,
    /// Who and when.
    pub ctx: Context,
    /// The tcpcb.
    pub tp: u64,
    /// Its inpcb.
    pub inp: u64,
    /// Previous state (`args[5]`).
    pub old: i32,
    /// New state (`args[3]->tcps_state`).
    pub new: i32,
    /// IP version of the connection.
    pub ver: u8,
    /// Local address and port.
    pub laddr: String,
    /// Local port.
    pub lport: u16,
    /// Remote address.
    pub raddr: String,
    /// Remote port.
    pub rport: u16,
}

/// A segment that arrived ahead of `rcv_nxt` and went to the reassembly queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfOrder {
    /// CPU index.
    pub cpu: u32,
    /// Who and when.
    pub ctx: Context,
    /// The tcpcb.
    pub tp: u64,
    /// The remote host.
    pub host: String,
    /// Segment sequence number.
    pub seq: u32,
    /// Segment payload bytes.
    pub len: u32,
    /// `rcv_nxt` when it arrived.
    pub rnxt: u32,
}

/// A socket closed by its process, with the bytes it moved through sosend/soreceive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketClose {
    /// CPU index.
    pub cpu: u32,
    /// Tick of the close.
    pub tick: u64,
    /// Owning process.
    pub exec: String,
    /// Its pid.
    pub pid: i32,
    /// The socket.
    pub so: u64,
    /// Its inpcb (0 if already gone).
    pub inp: u64,
    /// "tcp" or "udp".
    pub proto: String,
    /// Bytes written.
    pub sent: u64,
    /// Bytes read.
    pub rcvd: u64,
    /// Local address, port, remote address, port (absent if the PCB was gone).
    pub endpoints: Option<(String, u16, String, u16)>,
}

/// Per-round packet and byte counts for one (interface, protocol, source, destination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSum {
    /// Interface.
    pub ifname: String,
    /// IP version.
    pub ver: u8,
    /// IP protocol.
    pub proto: u8,
    /// Source address.
    pub src: String,
    /// Destination address.
    pub dst: String,
    /// Packets/IP-payload bytes the guest sent (ip:::send).
    pub sent_pkts: u64,
    /// Bytes sent.
    pub sent_bytes: u64,
    /// Packets the guest received (ip:::receive).
    pub rcvd_pkts: u64,
    /// Bytes received.
    pub rcvd_bytes: u64,
    /// Packets the remote peers put on em0, counted on their side.
    pub peer_sent_pkts: u64,
    /// Bytes the peers sent.
    pub peer_sent_bytes: u64,
    /// Packets the remote peers took off em0.
    pub peer_rcvd_pkts: u64,
    /// Bytes the peers received.
    pub peer_rcvd_bytes: u64,
}

/// Per-process transport payload bytes, attributed to `execname` at the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcSum {
    /// execname.
    pub exec: String,
    /// pid.
    pub pid: i32,
    /// Payload bytes at tcp:::send.
    pub tcp_sent: u64,
    /// Payload bytes at tcp:::receive.
    pub tcp_rcvd: u64,
    /// Payload bytes at udp:::send.
    pub udp_sent: u64,
    /// Payload bytes at udp:::receive.
    pub udp_rcvd: u64,
}

/// Per-round out-of-order totals for one remote host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OooSum {
    /// The remote host.
    pub host: String,
    /// Segments queued for reassembly.
    pub segs: u64,
    /// Their payload bytes.
    pub bytes: u64,
}

/// A per-event record, in console order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// ip:::send / ip:::receive.
    Ip(IpEvent),
    /// A tcp probe.
    Tcp(TcpEvent),
    /// udp:::send / udp:::receive.
    Udp(UdpEvent),
    /// tcp:::state-change.
    State(StateChange),
    /// An out-of-order segment.
    OutOfOrder(OutOfOrder),
    /// A socket closed.
    SocketClose(SocketClose),
    /// A socket got its PCB through pru_attach (tcp_usr_attach, udp_attach, udp6_attach), in
    /// the context that created it ("intr" for connections accepted by the syncache).
    Attach {
        /// CPU index.
        cpu: u32,
        /// Who and when.
        ctx: Context,
        /// The socket.
        so: u64,
        /// Its new inpcb.
        inp: u64,
        /// "tcp" or "udp".
        proto: String,
        /// IP version of the socket's domain.
        ver: u8,
    },
    /// A process called sosend (which goes on to pru_sosend: sosend_generic or sosend_dgram).
    Sosend {
        /// CPU index.
        cpu: u32,
        /// Who and when.
        ctx: Context,
        /// The socket.
        so: u64,
        /// "tcp" or "udp".
        proto: String,
        /// `uio_resid` at entry: the bytes to send.
        resid: u64,
    },
    /// A process called soreceive.
    Soreceive {
        /// CPU index.
        cpu: u32,
        /// Who and when.
        ctx: Context,
        /// The socket.
        so: u64,
        /// "tcp" or "udp".
        proto: String,
        /// `uio_resid` at entry: the room offered.
        resid: u64,
        /// Bytes returned.
        got: u64,
        /// The error returned (0, or EWOULDBLOCK 35 for an empty datagram socket).
        error: i32,
    },
    /// A remark by the workload (e.g. `peer-lost-syn`).
    Note {
        /// CPU index.
        cpu: u32,
        /// Who and when.
        ctx: Context,
        /// What happened.
        what: String,
    },
}

/// One complete round of one CPU's workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// CPU index.
    pub cpu: u32,
    /// Round number, from 1.
    pub n: u32,
    /// Tick at the start.
    pub begin_tick: u64,
    /// Tick at the end.
    pub end_tick: u64,
    /// Mbufs outstanding at the end (0 unless the guest leaks).
    pub mbufs_outstanding: i64,
    /// Every event of the round, in order.
    pub events: Vec<Event>,
    /// Per-flow sums.
    pub flows: Vec<FlowSum>,
    /// Per-remote-host out-of-order sums.
    pub ooo: Vec<OooSum>,
    /// Per-process sums.
    pub procs: Vec<ProcSum>,
    /// How often each TCP state (0..=10) was entered.
    pub states_seen: [u64; 11],
}

impl Round {
    /// The ip events of this round.
    pub fn ip_events(&self) -> impl Iterator<Item = &IpEvent> {
        self.events
            .iter()
            .filter_map(|e| if let Event::Ip(x) = e { Some(x) } else { None })
    }

    /// The tcp probe events of this round.
    pub fn tcp_events(&self) -> impl Iterator<Item = &TcpEvent> {
        self.events
            .iter()
            .filter_map(|e| if let Event::Tcp(x) = e { Some(x) } else { None })
    }

    /// The udp events of this round.
    pub fn udp_events(&self) -> impl Iterator<Item = &UdpEvent> {
        self.events
            .iter()
            .filter_map(|e| if let Event::Udp(x) = e { Some(x) } else { None })
    }

    /// The state changes of this round.
    pub fn state_changes(&self) -> impl Iterator<Item = &StateChange> {
        self.events.iter().filter_map(|e| {
            if let Event::State(x) = e {
                Some(x)
            } else {
                None
            }
        })
    }

    /// The socket closes of this round.
    pub fn socket_closes(&self) -> impl Iterator<Item = &SocketClose> {
        self.events.iter().filter_map(|e| {
            if let Event::SocketClose(x) = e {
                Some(x)
            } else {
                None
            }
        })
    }
}

/// The guest's up line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpLine {
    /// Number of CPUs running the workload.
    pub ncpu: u32,
    /// The kernel's hz.
    pub hz: u32,
    /// `osrelease`.
    pub osrelease: String,
}

/// Everything the serial log says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroundTruth {
    /// The up line, once printed.
    pub up: Option<UpLine>,
    /// Complete rounds, per CPU in order, CPUs interleaved by completion.
    pub rounds: Vec<Round>,
    /// How many times sdt_probe_stub complained.
    pub stub_calls: usize,
    /// Guest panic message, if any.
    pub panic: Option<String>,
}

impl GroundTruth {
    /// Complete rounds of one CPU.
    pub fn rounds_of(&self, cpu: u32) -> impl Iterator<Item = &Round> {
        self.rounds.iter().filter(move |r| r.cpu == cpu)
    }
}

/// Reads and parses a serial log file.
pub fn parse_file(path: &Path) -> Result<GroundTruth, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io("read", path, e))?;
    parse(&String::from_utf8_lossy(&bytes))
}

/// Parses serial log text.
pub fn parse(text: &str) -> Result<GroundTruth, ModelError> {
    let mut gt = GroundTruth::default();
    let mut open: HashMap<u32, Round> = HashMap::new();
    let complete = text.rfind('\n').map(|i| &text[..=i]).unwrap_or("");
    for (i, line) in complete.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.contains(STUB_MESSAGE) {
            gt.stub_calls += 1;
        }
        if let Some(rest) = line.strip_prefix("panic: ") {
            gt.panic.get_or_insert_with(|| rest.to_string());
        }
        if let Some(rest) = line.strip_prefix(super::UP_MARKER) {
            let kv = Fields::new(rest.split_whitespace());
            let err = |m: String| ModelError::Parse {
                line: i + 1,
                message: m,
                text: line.to_string(),
            };
            gt.up = Some(UpLine {
                ncpu: kv.num("ncpu").map_err(err)?,
                hz: kv.num("hz").map_err(err)?,
                osrelease: kv.str("osrelease").map_err(err)?,
            });
            continue;
        }
        let Some(rest) = line.strip_prefix("gt ") else {
            continue;
        };
        parse_gt(rest, &mut open, &mut gt).map_err(|message| ModelError::Parse {
            line: i + 1,
            message,
            text: line.to_string(),
        })?;
    }
    Ok(gt)
}

fn parse_gt(
    rest: &str,
    open: &mut HashMap<u32, Round>,
    gt: &mut GroundTruth,
) -> Result<(), String> {
    let mut words = rest.split_whitespace();
    let cpu: u32 = words
        .next()
        .ok_or("no cpu")?
        .parse()
        .map_err(|_| "bad cpu")?;
    let kind = words.next().ok_or("no record kind")?;
    let mut words = words.peekable();
    // Records whose second word is a sub-kind rather than key=value.
    let sub = match words.peek() {
        Some(w) if !w.contains('=') => words.next(),
        _ => None,
    };
    let kv = Fields::new(words);
    let push = |open: &mut HashMap<u32, Round>, e: Event| {
        if let Some(r) = open.get_mut(&cpu) {
            r.events.push(e);
        }
    };
    match (kind, sub) {
        ("round", Some("begin")) => {
            open.insert(
                cpu,
                Round {
                    cpu,
                    n: kv.num("n")?,
                    begin_tick: kv.num("t")?,
                    end_tick: 0,
                    mbufs_outstanding: 0,
                    events: Vec::new(),
                    flows: Vec::new(),
                    ooo: Vec::new(),
                    procs: Vec::new(),
                    states_seen: [0; 11],
                },
            );
        }
        ("round", Some("end")) => {
            if let Some(mut r) = open.remove(&cpu) {
                let n: u32 = kv.num("n")?;
                if n != r.n {
                    return Err(format!("round {n} ends while round {} is open", r.n));
                }
                r.end_tick = kv.num("t")?;
                r.mbufs_outstanding = kv.num("mbufs")?;
                gt.rounds.push(r);
            }
        }
        ("ip", Some(dir)) => push(open, Event::Ip(ip_event(cpu, dir, &kv)?)),
        ("tcp", Some(probe)) => push(open, Event::Tcp(tcp_event(cpu, probe, &kv)?)),
        ("udp", Some(dir)) => push(open, Event::Udp(udp_event(cpu, dir, &kv)?)),
        ("state", None) => push(
            open,
            Event::State(StateChange {
                cpu,
                ctx: kv.ctx()?,
                tp: kv.hex("tp")?,
                inp: kv.hex("inp")?,
                old: kv.num("old")?,
                new: kv.num("new")?,
                ver: kv.num("v")?,
                laddr: kv.str("laddr")?,
                lport: kv.num("lport")?,
                raddr: kv.str("raddr")?,
                rport: kv.num("rport")?,
            }),
        ),
        ("ooo", None) => push(
            open,
            Event::OutOfOrder(OutOfOrder {
                cpu,
                ctx: kv.ctx()?,
                tp: kv.hex("tp")?,
                host: kv.str("host")?,
                seq: kv.num("seq")?,
                len: kv.num("len")?,
                rnxt: kv.num("rnxt")?,
            }),
        ),
        ("sock", None) => {
            let endpoints = if kv.num::<u8>("v")? == 0 {
                None
            } else {
                Some((
                    kv.str("laddr")?,
                    kv.num("lport")?,
                    kv.str("raddr")?,
                    kv.num("rport")?,
                ))
            };
            push(
                open,
                Event::SocketClose(SocketClose {
                    cpu,
                    tick: kv.num("t")?,
                    exec: kv.str("exec")?,
                    pid: kv.num("pid")?,
                    so: kv.hex("so")?,
                    inp: kv.hex("inp")?,
                    proto: kv.str("proto")?,
                    sent: kv.num("sent")?,
                    rcvd: kv.num("rcvd")?,
                    endpoints,
                }),
            )
        }
        ("attach", None) => push(
            open,
            Event::Attach {
                cpu,
                ctx: kv.ctx()?,
                so: kv.hex("so")?,
                inp: kv.hex("inp")?,
                proto: kv.str("proto")?,
                ver: kv.num("v")?,
            },
        ),
        ("sosend", None) => push(
            open,
            Event::Sosend {
                cpu,
                ctx: kv.ctx()?,
                so: kv.hex("so")?,
                proto: kv.str("proto")?,
                resid: kv.num("resid")?,
            },
        ),
        ("soreceive", None) => push(
            open,
            Event::Soreceive {
                cpu,
                ctx: kv.ctx()?,
                so: kv.hex("so")?,
                proto: kv.str("proto")?,
                resid: kv.num("resid")?,
                got: kv.num("got")?,
                error: kv.num("error")?,
            },
        ),
        ("note", None) => push(
            open,
            Event::Note {
                cpu,
                ctx: kv.ctx()?,
                what: kv.str("what")?,
            },
        ),
        ("flow", None) => {
            let f = FlowSum {
                ifname: kv.str("if")?,
                ver: kv.num("v")?,
                proto: kv.num("proto")?,
                src: kv.str("src")?,
                dst: kv.str("dst")?,
                sent_pkts: kv.num("sent_pkts")?,
                sent_bytes: kv.num("sent_bytes")?,
                rcvd_pkts: kv.num("rcvd_pkts")?,
                rcvd_bytes: kv.num("rcvd_bytes")?,
                peer_sent_pkts: kv.num("peer_sent_pkts")?,
                peer_sent_bytes: kv.num("peer_sent_bytes")?,
                peer_rcvd_pkts: kv.num("peer_rcvd_pkts")?,
                peer_rcvd_bytes: kv.num("peer_rcvd_bytes")?,
            };
            if let Some(r) = open.get_mut(&cpu) {
                r.flows.push(f);
            }
        }
        ("ooo-sum", None) => {
            let o = OooSum {
                host: kv.str("host")?,
                segs: kv.num("segs")?,
                bytes: kv.num("bytes")?,
            };
            if let Some(r) = open.get_mut(&cpu) {
                r.ooo.push(o);
            }
        }
        ("proc", None) => {
            let p = ProcSum {
                exec: kv.str("exec")?,
                pid: kv.num("pid")?,
                tcp_sent: kv.num("tcp_sent")?,
                tcp_rcvd: kv.num("tcp_rcvd")?,
                udp_sent: kv.num("udp_sent")?,
                udp_rcvd: kv.num("udp_rcvd")?,
            };
            if let Some(r) = open.get_mut(&cpu) {
                r.procs.push(p);
            }
        }
        ("states", None) => {
            let seen = kv.str("seen")?;
            let mut counts = [0u64; 11];
            let parts: Vec<&str> = seen.split(',').collect();
            if parts.len() != 11 {
                return Err(format!("states: {} counts, expected 11", parts.len()));
            }
            for (c, p) in counts.iter_mut().zip(parts) {
                *c = p.parse().map_err(|_| format!("states: bad count {p:?}"))?;
            }
            if let Some(r) = open.get_mut(&cpu) {
                r.states_seen = counts;
            }
        }
        (k, s) => return Err(format!("unknown record {k} {}", s.unwrap_or(""))),
    }
    Ok(())
}

fn direction(s: &str) -> Result<Direction, String> {
    match s {
        "send" => Ok(Direction::Send),
        "receive" => Ok(Direction::Receive),
        other => Err(format!("bad direction {other:?}")),
    }
}

fn ip_event(cpu: u32, dir: &str, kv: &Fields) -> Result<IpEvent, String> {
    let ports = match (kv.opt("sport"), kv.opt("dport")) {
        (Some(_), Some(_)) => Some((kv.num("sport")?, kv.num("dport")?)),
        _ => None,
    };
    let tcp_flags = match kv.opt("flags") {
        Some(_) => Some(kv.hex::<u64>("flags")? as u8),
        None => None,
    };
    Ok(IpEvent {
        cpu,
        dir: direction(dir)?,
        ctx: kv.ctx()?,
        ifname: kv.str("if")?,
        ver: kv.num("v")?,
        proto: kv.num("proto")?,
        src: kv.str("src")?,
        dst: kv.str("dst")?,
        plen: kv.num("plen")?,
        ports,
        tcp_flags,
    })
}

fn tcp_event(cpu: u32, probe: &str, kv: &Fields) -> Result<TcpEvent, String> {
    Ok(TcpEvent {
        cpu,
        probe: TcpProbe::parse(probe).ok_or_else(|| format!("unknown tcp probe {probe:?}"))?,
        ctx: kv.ctx()?,
        tp: kv.hex("tp")?,
        inp: kv.hex("inp")?,
        ver: kv.num("v")?,
        src: kv.str("src")?,
        sport: kv.num("sport")?,
        dst: kv.str("dst")?,
        dport: kv.num("dport")?,
        flags: kv.hex::<u64>("flags")? as u8,
        seq: kv.num("seq")?,
        ack: kv.num("ack")?,
        win: kv.num("win")?,
        off: kv.num("off")?,
        len: kv.num("len")?,
        state: kv.num("state")?,
        rnxt: kv.num("rnxt")?,
        iphl: kv.num("iphl")?,
        iplen: kv.num("iplen")?,
    })
}

fn udp_event(cpu: u32, dir: &str, kv: &Fields) -> Result<UdpEvent, String> {
    Ok(UdpEvent {
        cpu,
        dir: direction(dir)?,
        ctx: kv.ctx()?,
        inp: kv.hex("inp")?,
        ver: kv.num("v")?,
        src: kv.str("src")?,
        sport: kv.num("sport")?,
        dst: kv.str("dst")?,
        dport: kv.num("dport")?,
        len: kv.num("len")?,
        iphl: kv.num("iphl")?,
    })
}

/// The `key=value` words of one line.
struct Fields<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn new(words: impl Iterator<Item = &'a str>) -> Self {
        Fields {
            pairs: words.filter_map(|w| w.split_once('=')).collect(),
        }
    }

    fn opt(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn str(&self, key: &str) -> Result<String, String> {
        self.opt(key)
            .map(str::to_string)
            .ok_or_else(|| format!("missing {key}="))
    }

    fn num<T: std::str::FromStr>(&self, key: &str) -> Result<T, String> {
        let v = self.opt(key).ok_or_else(|| format!("missing {key}="))?;
        v.parse().map_err(|_| format!("bad number {key}={v}"))
    }

    fn hex<T: TryFrom<u64>>(&self, key: &str) -> Result<T, String> {
        let v = self.opt(key).ok_or_else(|| format!("missing {key}="))?;
        let digits = v
            .strip_prefix("0x")
            .ok_or_else(|| format!("{key}={v} is not 0x-hex"))?;
        let n = u64::from_str_radix(digits, 16).map_err(|_| format!("bad hex {key}={v}"))?;
        T::try_from(n).map_err(|_| format!("{key}={v} out of range"))
    }

    fn ctx(&self) -> Result<Context, String> {
        Ok(Context {
            tick: self.num("t")?,
            exec: self.str("exec")?,
            pid: self.num("pid")?,
            tid: self.num("tid")?,
        })
    }
}
