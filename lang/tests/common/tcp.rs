//! The mock TCP world shared by lang's tests and benchmarks: kernel types, a translator
//! library, a catalog with tcp probes, and captured segments in guest memory.
#![allow(dead_code)]

use lang::mock::{probe, Catalog, Ctx, Memory};
use lang::DeclaredTypes;

pub const KERNEL: &str = include_str!("../data/mock_kernel.h");

pub const LIBRARY: &str = include_str!("../data/mock_tcp.d");

pub const TCPHDR: u64 = 0x1000;
pub const IPHDR: u64 = 0x2000;
pub const TCPCB: u64 = 0x3000;
pub const INPCB: u64 = 0x4000;

pub fn catalog() -> Catalog {
    let args: &[(&str, Option<&str>)] = &[
        ("void *", Some("pktinfo_t *")),
        ("struct tcpcb *", Some("csinfo_t *")),
        ("uint8_t *", Some("ipinfo_t *")),
        ("struct tcpcb *", Some("tcpsinfo_t *")),
        ("struct tcphdr *", Some("tcpinfo_t *")),
    ];
    Catalog {
        probes: vec![
            probe(10, "tcp", "kernel", "tcp_output", "send", args),
            probe(11, "tcp", "kernel", "tcp_input", "receive", args),
            probe(
                12,
                "tcp",
                "kernel",
                "tcp_do_segment",
                "state-change",
                &[("void *", None), ("int", None)],
            ),
        ],
        missing: vec![],
    }
}

/// A SYN|ACK from 8080 to 80 in an IPv4 packet of 60 bytes, on an established connection.
pub fn segment(flags: u8, with_inpcb: bool) -> Ctx {
    let mut mem = Memory::default();
    let mut th = vec![0u8; 20];
    th[0..2].copy_from_slice(&8080u16.to_be_bytes());
    th[2..4].copy_from_slice(&80u16.to_be_bytes());
    th[4..8].copy_from_slice(&0x01020304u32.to_be_bytes());
    th[12] = 0x50;
    th[13] = flags;
    mem.map(TCPHDR, &th);
    let mut ip = vec![0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&60u16.to_be_bytes());
    ip[9] = 6;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
    mem.map(IPHDR, &ip);
    let mut tp = vec![0u8; 16];
    tp[0..8].copy_from_slice(&INPCB.to_le_bytes());
    tp[8..12].copy_from_slice(&4i32.to_le_bytes());
    mem.map(TCPCB, &tp);
    if with_inpcb {
        let mut inp = vec![0u8; 24];
        inp[0] = 1;
        inp[2..4].copy_from_slice(&8080u16.to_be_bytes());
        inp[16..20].copy_from_slice(b"em0\0");
        mem.map(INPCB, &inp);
    }
    Ctx {
        args: vec![0, TCPCB, IPHDR, TCPCB, TCPHDR],
        mem,
        thread: 7,
        timestamp: 1000,
        cpu: 1,
        ..Ctx::default()
    }
}

pub fn types() -> DeclaredTypes {
    match DeclaredTypes::parse(KERNEL) {
        Ok(t) => t,
        Err(e) => panic!("mock kernel types: {e}"),
    }
}
