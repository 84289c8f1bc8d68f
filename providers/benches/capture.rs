//! Host-side cost of --pcap and JSON output per event, without a guest: reading one packet
//! from an mbuf in (mock) guest memory and writing it to a pcapng file, and turning one printf
//! record into a JSON line. The guest-held time per stop (benches/capture_json.sh) adds these
//! to the probe firing; this isolates them from QEMU and the machine's load.
//!
//! `cargo bench -p providers --bench capture`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use guests::freebsd10::Memory;
use lang::records::Firing;
use lang::{Record, RecordKind};
use lang_output::Datum;
use providers::pcap::{read_packet, Capture, Direction, MbufLayout};

/// Guest memory as one flat region.
struct Flat {
    base: u64,
    bytes: Vec<u8>,
}

impl Memory for Flat {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), u64> {
        let at = addr.checked_sub(self.base).ok_or(addr)? as usize;
        let src = self.bytes.get(at..at + buf.len()).ok_or(addr)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

/// The model guest's layout (MSIZE 2048), a 2 KiB-aligned mbuf holding a 100-byte IPv4
/// packet 128 bytes into its data area.
fn setup() -> (MbufLayout, Flat, u64) {
    let layout = MbufLayout {
        size: 2048,
        next: 0,
        data: 16,
        len: 24,
        dat: 56,
        if_xname: 0,
    };
    let base = 0xffff_f800_0000_0000;
    let mut mem = Flat {
        base,
        bytes: vec![0; 16384],
    };
    let m = base + 4096;
    let ip = m + 56 + 128;
    let mut pkt = vec![0x45, 0, 0, 100];
    pkt.resize(100, 0x5a);
    let put = |mem: &mut Flat, at: u64, b: &[u8]| {
        let i = (at - base) as usize;
        mem.bytes[i..i + b.len()].copy_from_slice(b);
    };
    put(&mut mem, m + 16, &ip.to_le_bytes());
    put(&mut mem, m + 24, &100i32.to_le_bytes());
    put(&mut mem, ip, &pkt);
    put(&mut mem, base, b"em0\0");
    (layout, mem, ip)
}

fn bench(c: &mut Criterion) {
    let (layout, mut mem, ip) = setup();
    c.bench_function("read_packet (one mbuf, 100 bytes)", |b| {
        b.iter(|| read_packet(&layout, &mut mem, black_box(ip), 65535))
    });

    let path = std::env::temp_dir().join(format!("providers-bench-{}.pcapng", std::process::id()));
    let mut cap = Capture::create(&path, layout, 65535, vec![(1, Direction::Outbound)])
        .expect("capture file");
    let mut args = [0u64; 10];
    args[2] = ip;
    args[3] = mem.base;
    let mut t = 0;
    c.bench_function("Capture::packet (read + pcapng block)", |b| {
        b.iter(|| {
            t += 1000;
            cap.packet(1, &mut mem, &args, t)
        })
    });
    let _ = cap.finish();
    let _ = std::fs::remove_file(&path);

    let probe = lang::mock::probe(8, "tcp", "kernel", "none", "send", &[]);
    let values = [
        Datum::str("sshd"),
        Datum::i32(22),
        Datum::i32(49152),
        Datum::i32(429),
    ];
    let record = Record::Action {
        firing: Firing {
            probe: &probe,
            cpu: 0,
            timestamp: 2_061_203_847,
        },
        kind: RecordKind::Printf,
        text: b"sshd 22 49152 429\n",
        args: &values,
    };
    c.bench_function("JSON line of a printf record", |b| {
        b.iter(|| serde_json::to_vec(&providers::json::record_json(black_box(&record))))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
