//! The ground-truth parser: typed records per CPU round, strict about malformed `gt` lines,
//! tolerant of other console output and of a half-written last line.

use guests::model::ground_truth::{parse, Direction, Event, TcpProbe};
use guests::model::ModelError;

const LOG: &str = "\
FreeBSD 10.4-RELEASE #0 r324094: Fri Sep 29 01:45:44 UTC 2017
guestrace-model: up ncpu=2 hz=1000 osrelease=10.4-RELEASE
gt 0 round begin n=1 t=0
gt 1 round begin n=1 t=0
gt 0 ip send t=2 exec=ssh pid=1043 tid=100003 if=lo0 v=4 proto=6 src=127.0.0.1 dst=127.0.0.1 plen=24 sport=49152 dport=22 flags=0x02
gt 1 udp send t=5 exec=ntpd pid=688 tid=100105 inp=0xffffffff80331af0 v=6 src=fe80:1::5054:ff:fe12:3456 sport=123 dst=fe80:1::3 dport=123 len=48 iphl=0
sdt_probe_stub: unexpectedly called
KDB: stack backtrace:
gt 0 tcp connect-request t=2 exec=ssh pid=1043 tid=100003 tp=0xffffffff802ca740 inp=0xffffffff802c8360 v=4 src=127.0.0.1 sport=49152 dst=127.0.0.1 dport=22 flags=0x02 seq=523934743 ack=0 win=65535 off=24 len=0 state=2 rnxt=0 iphl=5 iplen=44
gt 0 state t=4 exec=intr pid=12 tid=100001 tp=0xffffffff802ca740 inp=0xffffffff802c8360 old=2 new=4 v=4 laddr=127.0.0.1 lport=49152 raddr=127.0.0.1 rport=22
gt 0 flow n=1 if=lo0 v=4 proto=6 src=127.0.0.1 dst=127.0.0.1 sent_pkts=1 sent_bytes=24 rcvd_pkts=0 rcvd_bytes=0 peer_sent_pkts=0 peer_sent_bytes=0 peer_rcvd_pkts=0 peer_rcvd_bytes=0
gt 0 proc n=1 exec=ssh pid=1043 tcp_sent=0 tcp_rcvd=0 udp_sent=0 udp_rcvd=0
gt 0 states n=1 seen=0,0,0,0,1,0,0,0,0,0,0
gt 0 round end n=1 t=9 mbufs=0
gt 1 ip receive t=7 exec=intr pid=12 tid=1001";

#[test]
fn parses_rounds_per_cpu_and_ignores_the_partial_tail() {
    let gt = parse(LOG).unwrap();
    let up = gt.up.unwrap();
    assert_eq!(
        (up.ncpu, up.hz, up.osrelease.as_str()),
        (2, 1000, "10.4-RELEASE")
    );
    assert_eq!(gt.stub_calls, 1);
    // cpu1's round is still open: only cpu0's is complete.
    assert_eq!(gt.rounds.len(), 1);
    let r = &gt.rounds[0];
    assert_eq!((r.cpu, r.n, r.begin_tick, r.end_tick), (0, 1, 0, 9));
    assert_eq!(r.events.len(), 3);
    let ip = r.ip_events().next().unwrap();
    assert_eq!(
        (ip.dir, ip.ports, ip.tcp_flags, ip.plen),
        (Direction::Send, Some((49152, 22)), Some(2), 24)
    );
    let tcp = r.tcp_events().next().unwrap();
    assert_eq!(
        (tcp.probe, tcp.tp, tcp.off, tcp.state),
        (TcpProbe::ConnectRequest, 0xffff_ffff_802c_a740, 24, 2)
    );
    assert!(matches!(&r.events[2], Event::State(s) if s.old == 2 && s.new == 4));
    assert_eq!(r.flows[0].sent_bytes, 24);
    assert_eq!(r.states_seen[4], 1);
}

#[test]
fn malformed_lines_are_errors_with_their_line_number() {
    let err = parse("gt 0 round begin n=1 t=0\ngt 0 state t=4 exec=intr old=2\n").unwrap_err();
    match err {
        ModelError::Parse { line, message, .. } => {
            assert_eq!(line, 2);
            assert!(message.contains("missing"), "{message}");
        }
        other => panic!("unexpected {other}"),
    }
    assert!(parse("gt 0 frobnicate x=1\n").is_err());
    assert!(parse("gt 0 tcp bogus-probe t=1\n").is_err());
}
