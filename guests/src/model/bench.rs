//! The per-round counts the model guest prints in benchmark mode (`bench=1`), where the
//! per-event ground-truth lines are off so probe sites fire at the guest's full speed:
//!
//! `bench <cpu> n=<round> ip_send=.. ip4_send=.. ip_receive=.. tcp_send=.. tcp_receive=..
//! tcp_other=.. udp_send=.. udp_receive=.. state=..`
//!
//! Each count is the number of times that probe site ran in the round (whether or not a
//! tracer enabled it): `ip4_send` is ip_output's share of `ip_send`, `tcp_other` the
//! connect-/accept- probes, `state` tcp:::state-change.

/// The guest global holding the same counts summed over CPUs since boot (never reset), an
/// array of `u_long` indexed by [`BenchCounter`]: a tracer reads it when it starts and stops.
pub const TOTALS_SYMBOL: &str = "gt_bench_total";

/// Indices into [`TOTALS_SYMBOL`] (the kernel's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchCounter {
    /// ip:::send from ip_output (IPv4).
    Ip4Send = 0,
    /// ip:::send from nd6_output_ifp (IPv6).
    Ip6Send,
    /// ip:::receive.
    IpReceive,
    /// tcp:::send.
    TcpSend,
    /// tcp:::receive.
    TcpReceive,
    /// tcp:::connect-* and tcp:::accept-*.
    TcpOther,
    /// udp:::send.
    UdpSend,
    /// udp:::receive.
    UdpReceive,
    /// tcp:::state-change.
    State,
}

/// One CPU's counts for one round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BenchRound {
    /// The CPU that ran the round.
    pub cpu: u32,
    /// The round's number.
    pub round: u64,
    /// ip:::send (IPv4 and IPv6).
    pub ip_send: u64,
    /// ip:::send from ip_output (IPv4), i.e. calls of ip_output.
    pub ip4_send: u64,
    /// ip:::receive.
    pub ip_receive: u64,
    /// tcp:::send.
    pub tcp_send: u64,
    /// tcp:::receive.
    pub tcp_receive: u64,
    /// tcp:::connect-* and tcp:::accept-*.
    pub tcp_other: u64,
    /// udp:::send.
    pub udp_send: u64,
    /// udp:::receive.
    pub udp_receive: u64,
    /// tcp:::state-change.
    pub state: u64,
}

/// Every complete `bench` line in a serial log, in order; other lines are skipped, and so is
/// a malformed or half-written line (the log may be read while the guest writes it).
pub fn parse_bench_rounds(log: &str) -> Vec<BenchRound> {
    log.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<BenchRound> {
    let mut words = line.strip_prefix("bench ")?.split_whitespace();
    let mut r = BenchRound {
        cpu: words.next()?.parse().ok()?,
        ..BenchRound::default()
    };
    let mut seen = 0;
    for word in words {
        let (key, value) = word.split_once('=')?;
        let value: u64 = value.parse().ok()?;
        let slot = match key {
            "n" => &mut r.round,
            "ip_send" => &mut r.ip_send,
            "ip4_send" => &mut r.ip4_send,
            "ip_receive" => &mut r.ip_receive,
            "tcp_send" => &mut r.tcp_send,
            "tcp_receive" => &mut r.tcp_receive,
            "tcp_other" => &mut r.tcp_other,
            "udp_send" => &mut r.udp_send,
            "udp_receive" => &mut r.udp_receive,
            "state" => &mut r.state,
            _ => return None,
        };
        *slot = value;
        seen += 1;
    }
    // All ten fields, or the line was cut short.
    (seen == 10).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_complete_lines_and_skips_the_rest() {
        let log = "gt 0 round begin n=1 t=5\n\
            bench 0 n=1 ip_send=45 ip4_send=30 ip_receive=44 tcp_send=20 tcp_receive=18 \
            tcp_other=6 udp_send=4 udp_receive=4 state=22\n\
            gt 0 round end n=1 t=900 mbufs=0\n\
            bench 1 n=2 ip_send=45 ip4_send=30\n";
        let rounds = parse_bench_rounds(log);
        assert_eq!(rounds.len(), 1);
        let r = rounds[0];
        assert_eq!((r.cpu, r.round, r.ip_send, r.ip4_send), (0, 1, 45, 30));
        assert_eq!((r.tcp_send, r.tcp_receive, r.tcp_other), (20, 18, 6));
        assert_eq!(
            (r.udp_send, r.udp_receive, r.state, r.ip_receive),
            (4, 4, 22, 44)
        );
    }
}
