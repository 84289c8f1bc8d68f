//! The providers' translator libraries (providers/dlib/{ip,tcp,udp}.d) compiled by lang against
//! FreeBSD 10-shaped kernel structures, and the translated members read from mock guest memory:
//! what the providers will do with DWARF types and a live guest.

mod common;
use common::*;
use lang::types::{Record, Type};
use lang::{compile, CompileOptions, DeclaredTypes, Source};

const KERNEL: &str = include_str!("data/freebsd_kernel.h");
const HZ: u64 = 0x9000;
const TCPCB: u64 = 0x10000;
const INPCB: u64 = 0x11000;
const IP: u64 = 0x12000;
const TH: u64 = 0x13000;
const IFNET: u64 = 0x14000;
const UH: u64 = 0x15000;

fn dlib(name: &str) -> Option<String> {
    std::fs::read_to_string(format!(
        "{}/../providers/dlib/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .ok()
}

fn types() -> DeclaredTypes {
    let mut t = DeclaredTypes::parse(KERNEL).unwrap_or_else(|e| panic!("{e}"));
    assert!(t.add_symbol("hz", HZ, "int"));
    t
}

/// The byte offset of a member path such as `inp_inc.inc_ie.ie_lport` in a named struct.
fn offset(types: &DeclaredTypes, ty: &str, path: &str) -> u64 {
    use lang::TypeSource;
    let mut rec: std::rc::Rc<Record> = match types.resolve_type(ty) {
        Some(Type::Record(r)) => r,
        _ => panic!("no {ty}"),
    };
    let mut off = 0;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        let m = rec.member(p).unwrap_or_else(|| panic!("{ty} has no {p}"));
        off += m.offset;
        if i + 1 < parts.len() {
            rec = match m.ty {
                Type::Record(r) => r,
                _ => panic!("{p} is not a struct"),
            };
        }
    }
    off
}

/// Writes `bytes` at member `path` of the struct at `base`.
fn put(
    mem: &mut std::collections::BTreeMap<u64, Vec<u8>>,
    types: &DeclaredTypes,
    base: u64,
    ty: &str,
    path: &str,
    bytes: &[u8],
) {
    let off = offset(types, ty, path) as usize;
    let region = mem.entry(base).or_insert_with(|| vec![0; 512]);
    region[off..off + bytes.len()].copy_from_slice(bytes);
}

fn catalog() -> Catalog {
    let tcp: &[(&str, Option<&str>)] = &[
        ("void *", Some("pktinfo_t *")),
        ("struct tcpcb *", Some("csinfo_t *")),
        ("uint8_t *", Some("ipinfo_t *")),
        ("struct tcpcb *", Some("tcpsinfo_t *")),
        ("struct tcphdr *", Some("tcpinfo_t *")),
    ];
    let ip: &[(&str, Option<&str>)] = &[
        ("void *", Some("pktinfo_t *")),
        ("void *", Some("csinfo_t *")),
        ("uint8_t *", Some("ipinfo_t *")),
        ("struct ifnet *", Some("ifinfo_t *")),
        ("struct ip *", Some("ipv4info_t *")),
        ("struct ip6_hdr *", Some("ipv6info_t *")),
    ];
    let udp: &[(&str, Option<&str>)] = &[
        ("void *", Some("pktinfo_t *")),
        ("struct inpcb *", Some("csinfo_t *")),
        ("uint8_t *", Some("ipinfo_t *")),
        ("struct inpcb *", Some("udpsinfo_t *")),
        ("struct udphdr *", Some("udpinfo_t *")),
    ];
    let state: &[(&str, Option<&str>)] = &[
        ("void *", None),
        ("struct tcpcb *", Some("csinfo_t *")),
        ("void *", None),
        ("struct tcpcb *", Some("tcpsinfo_t *")),
        ("void *", None),
        ("int", Some("tcplsinfo_t *")),
    ];
    Catalog {
        probes: vec![
            probe(20, "tcp", "kernel", "tcp_output", "send", tcp),
            probe(21, "ip", "kernel", "ip_output", "send", ip),
            probe(22, "udp", "kernel", "udp_send", "send", udp),
            probe(
                23,
                "tcp",
                "kernel",
                "tcp_state_change",
                "state-change",
                state,
            ),
            probe(24, "tcp", "kernel", "tcp_input", "receive", tcp),
            probe(25, "tcp", "kernel", "tcp_input", "accept-established", tcp),
            probe(26, "tcp", "kernel", "tcp_input", "connect-established", tcp),
            probe(27, "ip", "kernel", "ip_input", "receive", ip),
            probe(28, "udp", "kernel", "udp_input", "receive", udp),
        ]
        .into_iter()
        .chain(fbt())
        .collect(),
        missing: vec![],
    }
}

/// fbt entry and return probes of the socket layer functions the scripts watch.
fn fbt() -> Vec<lang::ProbeInfo> {
    let entry: &[(&str, Option<&str>)] = &[
        ("struct socket *", None),
        ("struct sockaddr *", None),
        ("struct uio *", None),
        ("struct mbuf *", None),
        ("struct mbuf *", None),
        ("int", None),
    ];
    let ret: &[(&str, Option<&str>)] = &[("int", None), ("int", None)];
    let mut out = Vec::new();
    for (i, f) in [
        "sosend_generic",
        "soreceive_generic",
        "sosend_dgram",
        "soreceive_dgram",
    ]
    .iter()
    .enumerate()
    {
        out.push(probe(
            100 + 2 * i as u32,
            "fbt",
            "kernel",
            f,
            "entry",
            entry,
        ));
        out.push(probe(101 + 2 * i as u32, "fbt", "kernel", f, "return", ret));
    }
    out
}

/// An established IPv4 connection 10.0.0.1:8080 -> 10.0.0.2:80 sending a 100-byte PUSH|ACK segment.
fn guest(t: &DeclaredTypes) -> Memory {
    let mut m = std::collections::BTreeMap::new();
    put(
        &mut m,
        t,
        HZ,
        "struct in_addr",
        "s_addr",
        &1000u32.to_le_bytes(),
    );
    put(
        &mut m,
        t,
        TCPCB,
        "struct tcpcb",
        "t_inpcb",
        &INPCB.to_le_bytes(),
    );
    put(
        &mut m,
        t,
        TCPCB,
        "struct tcpcb",
        "t_state",
        &4i32.to_le_bytes(),
    );
    put(
        &mut m,
        t,
        TCPCB,
        "struct tcpcb",
        "t_rxtcur",
        &230i32.to_le_bytes(),
    );
    put(
        &mut m,
        t,
        TCPCB,
        "struct tcpcb",
        "snd_nxt",
        &0x1234u32.to_le_bytes(),
    );
    put(&mut m, t, INPCB, "struct inpcb", "inp_vflag", &[1]);
    put(
        &mut m,
        t,
        INPCB,
        "struct inpcb",
        "inp_inc.inc_ie.ie_lport",
        &8080u16.to_be_bytes(),
    );
    put(
        &mut m,
        t,
        INPCB,
        "struct inpcb",
        "inp_inc.inc_ie.ie_fport",
        &80u16.to_be_bytes(),
    );
    put(
        &mut m,
        t,
        INPCB,
        "struct inpcb",
        "inp_inc.inc_ie.ie_dependladdr.ie46_local.ia46_addr4.s_addr",
        &[10, 0, 0, 1],
    );
    put(
        &mut m,
        t,
        INPCB,
        "struct inpcb",
        "inp_inc.inc_ie.ie_dependfaddr.ie46_foreign.ia46_addr4.s_addr",
        &[10, 0, 0, 2],
    );
    put(&mut m, t, IP, "struct ip", "ip_tos", &[0]);
    m.entry(IP).or_default()[0] = 0x45;
    put(&mut m, t, IP, "struct ip", "ip_len", &140u16.to_be_bytes());
    put(&mut m, t, IP, "struct ip", "ip_p", &[6]);
    put(&mut m, t, IP, "struct ip", "ip_src.s_addr", &[10, 0, 0, 1]);
    put(&mut m, t, IP, "struct ip", "ip_dst.s_addr", &[10, 0, 0, 2]);
    put(
        &mut m,
        t,
        TH,
        "struct tcphdr",
        "th_sport",
        &8080u16.to_be_bytes(),
    );
    put(
        &mut m,
        t,
        TH,
        "struct tcphdr",
        "th_dport",
        &80u16.to_be_bytes(),
    );
    put(&mut m, t, TH, "struct tcphdr", "th_flags", &[0x18]);
    m.entry(TH).or_default()[12] = 0x50;
    put(&mut m, t, IFNET, "struct ifnet", "if_xname", b"em0\0");
    put(
        &mut m,
        t,
        IFNET,
        "struct ifnet",
        "if_flags",
        &0x8049i32.to_le_bytes(),
    );
    put(
        &mut m,
        t,
        UH,
        "struct udphdr",
        "uh_sport",
        &53u16.to_be_bytes(),
    );
    put(
        &mut m,
        t,
        UH,
        "struct udphdr",
        "uh_dport",
        &5353u16.to_be_bytes(),
    );
    put(
        &mut m,
        t,
        UH,
        "struct udphdr",
        "uh_ulen",
        &42u16.to_be_bytes(),
    );
    Memory { regions: m }
}

const SCRIPT: &str = r#"#pragma D option quiet
tcp:::send
{
    printf("%s:%d -> %s:%d %s flags=%x payload=%d rto=%d snxt=%x cid=%x\n", args[3]->tcps_laddr,
        args[3]->tcps_lport, args[3]->tcps_raddr, args[3]->tcps_rport, tcp_state_string[args[3]->tcps_state],
        args[4]->tcp_flags, args[2]->ip_plength - args[4]->tcp_offset, args[3]->tcps_rto, args[3]->tcps_snxt,
        args[1]->cs_cid);
}
ip:::send
{
    printf("%s -> %s v%d len=%d %s local=%d %s ttl=%d\n", args[2]->ip_saddr, args[2]->ip_daddr, args[2]->ip_ver,
        args[2]->ip_plength, args[3]->if_name, args[3]->if_local, args[4]->ipv4_protostr, args[4]->ipv4_ttl);
}
udp:::send
{
    printf("udp %d -> %d len=%d\n", args[4]->udp_sport, args[4]->udp_dport, args[4]->udp_length);
}
tcp:::state-change
{
    printf("%s -> %s\n", tcp_state_string[args[5]->tcps_state], tcp_state_string[args[3]->tcps_state]);
}
"#;

#[test]
fn provider_translator_libraries_compile_and_translate() {
    let (Some(ip), Some(tcp), Some(udp)) = (dlib("ip.d"), dlib("tcp.d"), dlib("udp.d")) else {
        eprintln!("providers/dlib is not there yet: nothing to check");
        return;
    };
    let t = types();
    let sources = [
        Source::library("prelude.d", "inline int __freebsd_version = 1004000;"),
        Source::library("ip.d", ip),
        Source::library("tcp.d", tcp),
        Source::library("udp.d", udp),
        Source::script("net.d", SCRIPT),
    ];
    let mut p = compile(&sources, &catalog(), &t, &CompileOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mem = guest(&t);
    let ev = |args: Vec<u64>| Ctx {
        args,
        mem: mem.clone(),
        ..Ctx::default()
    };
    let mut sink = lang::BufferSink::default();
    p.fire(20, &mut ev(vec![0, TCPCB, IP, TCPCB, TH]), &mut sink);
    p.fire(21, &mut ev(vec![0, 0, IP, IFNET, IP, 0]), &mut sink);
    p.fire(22, &mut ev(vec![0, INPCB, IP, INPCB, UH]), &mut sink);
    p.fire(23, &mut ev(vec![0, TCPCB, 0, TCPCB, 0, 2]), &mut sink);
    assert!(sink.err.is_empty(), "{:?}", sink.err);
    assert_eq!(
        String::from_utf8_lossy(&sink.out),
        concat!(
            "10.0.0.1:8080 -> 10.0.0.2:80 state-established flags=18 payload=100 rto=230 snxt=1234 cid=11000\n",
            "10.0.0.1 -> 10.0.0.2 v4 len=120 em0 local=1 TCP ttl=0\n",
            "udp 53 -> 5353 len=42\n",
            "state-syn-sent -> state-established\n"
        )
    );
}

#[test]
fn the_projects_scripts_compile_with_the_provider_libraries() {
    let (Some(ip), Some(tcp), Some(udp)) = (dlib("ip.d"), dlib("tcp.d"), dlib("udp.d")) else {
        eprintln!("providers/dlib is not there yet: nothing to check");
        return;
    };
    let dir = format!("{}/../scripts", env!("CARGO_MANIFEST_DIR"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let t = types();
    let mut compiled = 0;
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "d") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let name = path.display().to_string();
        let sources = [
            Source::library("prelude.d", "inline int __freebsd_version = 1004000;"),
            Source::library("ip.d", ip.clone()),
            Source::library("tcp.d", tcp.clone()),
            Source::library("udp.d", udp.clone()),
            Source::script(name.clone(), text),
        ];
        if let Err(e) = compile(&sources, &catalog(), &t, &CompileOptions::default()) {
            panic!("{name} does not compile:\n{e}");
        }
        compiled += 1;
    }
    assert!(compiled > 0);
}

#[test]
fn ipv6_endpoints_go_through_inet_ntoa6() {
    let (Some(ip), Some(tcp)) = (dlib("ip.d"), dlib("tcp.d")) else {
        return;
    };
    let t = types();
    let mut mem = guest(&t);
    let mut v6 = [0u8; 16];
    v6[0] = 0xfe;
    v6[1] = 0x80;
    v6[15] = 1;
    put(
        &mut mem.regions,
        &t,
        INPCB,
        "struct inpcb",
        "inp_vflag",
        &[2],
    );
    put(
        &mut mem.regions,
        &t,
        INPCB,
        "struct inpcb",
        "inp_inc.inc_ie.ie_dependladdr.ie6_local",
        &v6,
    );
    let sources = [
        Source::library("prelude.d", "inline int __freebsd_version = 1004000;"),
        Source::library("ip.d", ip),
        Source::library("tcp.d", tcp),
        Source::script(
            "v6.d",
            "#pragma D option quiet\ntcp:::send { printf(\"%s\\n\", args[3]->tcps_laddr); }",
        ),
    ];
    let mut p = compile(&sources, &catalog(), &t, &CompileOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sink = lang::BufferSink::default();
    let mut ctx = Ctx {
        args: vec![0, TCPCB, IP, TCPCB, TH],
        mem,
        ..Ctx::default()
    };
    p.fire(20, &mut ctx, &mut sink);
    assert_eq!(String::from_utf8_lossy(&sink.out), "fe80::1\n");
}

/// The project's scripts/ compiled with the providers' libraries, run over mock firings.
fn run_script(file: &str, events: Vec<(u32, Ctx)>) -> Option<String> {
    let (Some(ip), Some(tcp), Some(udp)) = (dlib("ip.d"), dlib("tcp.d"), dlib("udp.d")) else {
        return None;
    };
    let text = std::fs::read_to_string(format!("{}/../scripts/{file}", env!("CARGO_MANIFEST_DIR")))
        .ok()?;
    let sources = [
        Source::library("prelude.d", "inline int __freebsd_version = 1004000;"),
        Source::library("ip.d", ip),
        Source::library("tcp.d", tcp),
        Source::library("udp.d", udp),
        Source::script(file, text),
    ];
    let mut p = compile(&sources, &catalog(), &types(), &CompileOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sink = lang::BufferSink::default();
    let mut base = Ctx::default();
    p.fire(lang::BEGIN_ID, &mut base, &mut sink);
    for (id, mut c) in events {
        p.fire(id, &mut c, &mut sink);
    }
    p.end(&mut base, &mut sink);
    assert!(sink.err.is_empty(), "{:?}", sink.err);
    Some(String::from_utf8_lossy(&sink.out).into_owned())
}

#[test]
fn the_tcp_flags_script_prints_dtrace_formatted_lines() {
    let t = types();
    let mem = guest(&t);
    // The IP and TCP headers back to back, as in a real packet.
    let mut packet = mem.regions[&IP][..20].to_vec();
    packet.extend_from_slice(&mem.regions[&TH][..20]);
    let mut mem = mem;
    mem.map(0x20000, &packet);
    let ctx = Ctx {
        args: vec![0, TCPCB, 0x20000, TCPCB, 0x20014],
        mem,
        cpu: 1,
        ..Ctx::default()
    };
    let Some(out) = run_script("tcp_flags.d", vec![(20, ctx)]) else {
        return;
    };
    let header = format!(
        "{:>3} {:<22}    {:<22} {:>6}  {}\n",
        "CPU", "LOCAL", "REMOTE", "BYTES", "FLAGS"
    );
    let line = format!(
        "{:>3} {:>15}:{:<6} -> {:>15}:{:<6} {:>6}  ({}\u{8})\n",
        1, "10.0.0.1", 8080, "10.0.0.2", 80, 100, "PUSH|ACK|"
    );
    assert_eq!(out, format!("{header}{line}\n"));
}

#[test]
fn the_state_changes_script_tracks_connections() {
    let t = types();
    let mem = guest(&t);
    let first = Ctx {
        args: vec![0, TCPCB, 0, TCPCB, 0, 2],
        mem: mem.clone(),
        timestamp: 1_000_000,
        ..Ctx::default()
    };
    let second = Ctx {
        args: vec![0, TCPCB, 0, TCPCB, 0, 2],
        mem,
        timestamp: 3_500_000,
        ..Ctx::default()
    };
    let Some(out) = run_script("tcp_state_changes.d", vec![(23, first), (23, second)]) else {
        return;
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    let row = |delta: u64| {
        format!(
            "{:>3} 0x{:<16x} {:>15}:{:<5} {:>15}:{:<5} {:<20} -> {:<20} {:>10}",
            0,
            INPCB,
            "10.0.0.1",
            8080,
            "10.0.0.2",
            80,
            "state-syn-sent",
            "state-established",
            delta
        )
    };
    assert_eq!(lines[1], row(0));
    assert_eq!(lines[2], row(2500));
    assert_eq!(lines[3], "");
}
