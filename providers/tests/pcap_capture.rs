//! Packet capture through the library against the model guest: etherparse (an independent
//! parser) parses every captured packet as a whole IP packet whose TCP and UDP checksums hold,
//! and a snaplen cuts packets without changing their recorded wire length.

use std::fs::File;
use std::path::{Path, PathBuf};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use guests::model::{BootOptions, ModelGuest};
use lang::{CompileOptions, Source};
use pcap_file::pcapng::{Block, PcapNgReader};
use providers::{Attach, Guest, WriterSink};

/// (captured bytes, original length) of every packet, and the interface names.
fn read_capture(path: &Path) -> (Vec<(Vec<u8>, u32)>, Vec<String>) {
    let mut r = PcapNgReader::new(File::open(path).expect("capture file")).expect("pcapng");
    let mut packets = Vec::new();
    while let Some(block) = r.next_block() {
        if let Block::EnhancedPacket(p) = block.expect("a valid block") {
            packets.push((p.data.to_vec(), p.original_len));
        }
    }
    let names = r
        .interfaces()
        .iter()
        .flat_map(|i| i.options.iter())
        .filter_map(|o| {
            match o {
            pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption::IfName(
                n,
            ) => Some(n.to_string()),
            _ => None,
        }
        })
        .collect();
    (packets, names)
}

/// Captures until `sends` packets went out, with `snaplen`.
fn capture(guest: &ModelGuest, path: &Path, snaplen: u32, sends: u32) {
    let attach = Attach {
        gdb: guest.gdb_socket().display().to_string(),
        kernel: guest.kernel_elf().to_path_buf(),
        ram: Some(guest.ram_file().to_path_buf()),
    };
    let mut g = Guest::attach(&attach, &[]).expect("attach");
    let user = vec![
        Source::library("capture", providers::pcap::CAPTURE_CLAUSE),
        Source::description(format!(
            "ip:::send {{ n++; }} ip:::send /n == {sends}/ {{ exit(0); }}"
        )),
    ];
    let sources = providers::program_sources(Some(&g), user);
    let mut program = lang::compile(&sources, g.catalog(), g.types(), &CompileOptions::default())
        .expect("compile");
    g.capture_packets(path, snaplen).expect("open the capture");
    let mut out = WriterSink::new(Box::new(std::io::sink()), "guestrace");
    assert_eq!(g.run(&mut program, &mut out).expect("run"), 0);
}

fn temp(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "providers-pcap-{}-{tag}.pcapng",
        std::process::id()
    ))
}

#[test]
fn every_packet_parses_with_valid_transport_checksums_and_snaplen_cuts() {
    let guest = ModelGuest::boot(&BootOptions::default()).expect("boot the model guest");
    let full = temp("full");
    capture(&guest, &full, providers::pcap::DEFAULT_SNAPLEN, 150);
    let (packets, names) = read_capture(&full);
    assert!(packets.len() >= 150, "{} packets", packets.len());
    assert!(
        names.contains(&"lo0".to_string()) && names.contains(&"em0".to_string()),
        "{names:?}"
    );
    let (mut tcp, mut udp) = (0, 0);
    for (i, (data, wire)) in packets.iter().enumerate() {
        assert_eq!(data.len() as u32, *wire, "packet {i} kept whole");
        let p = SlicedPacket::from_ip(data).unwrap_or_else(|e| panic!("packet {i}: {e:?}"));
        let Some(net) = &p.net else {
            panic!("packet {i}: no IP header")
        };
        match (net, &p.transport) {
            (NetSlice::Ipv4(ip), Some(TransportSlice::Tcp(t))) => {
                let sum = t
                    .to_header()
                    .calc_checksum_ipv4(&ip.header().to_header(), t.payload())
                    .expect("checksum");
                assert_eq!(sum, t.checksum(), "packet {i}: TCP checksum");
                tcp += 1;
            }
            (NetSlice::Ipv6(ip), Some(TransportSlice::Tcp(t))) => {
                let sum = t
                    .to_header()
                    .calc_checksum_ipv6(&ip.header().to_header(), t.payload())
                    .expect("checksum");
                assert_eq!(sum, t.checksum(), "packet {i}: TCP checksum");
                tcp += 1;
            }
            (NetSlice::Ipv4(ip), Some(TransportSlice::Udp(u))) => {
                let sum = u
                    .to_header()
                    .calc_checksum_ipv4(&ip.header().to_header(), u.payload())
                    .expect("checksum");
                assert_eq!(sum, u.checksum(), "packet {i}: UDP checksum");
                udp += 1;
            }
            (NetSlice::Ipv6(ip), Some(TransportSlice::Udp(u))) => {
                let sum = u
                    .to_header()
                    .calc_checksum_ipv6(&ip.header().to_header(), u.payload())
                    .expect("checksum");
                assert_eq!(sum, u.checksum(), "packet {i}: UDP checksum");
                udp += 1;
            }
            (_, Some(_)) => {}
            (_, None) => panic!("packet {i}: no transport header"),
        }
    }
    assert!(tcp > 0 && udp > 0, "tcp {tcp}, udp {udp}");

    let short = temp("short");
    capture(&guest, &short, 48, 50);
    let (packets, _) = read_capture(&short);
    assert!(
        packets.iter().any(|(_, wire)| *wire > 48),
        "some packet is longer than 48"
    );
    for (data, wire) in &packets {
        assert_eq!(data.len() as u32, (*wire).min(48));
    }
    let _ = std::fs::remove_file(&full);
    let _ = std::fs::remove_file(&short);
}
