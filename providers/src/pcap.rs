//! Packet capture (`--pcap FILE`): every packet seen at ip:::send and ip:::receive, read from
//! its mbuf chain in guest memory while the guest is stopped for the probe anyway (no extra
//! stop; guest RAM through the shared-RAM path when there is one), written to a pcapng file with
//! raw-IP link type, one interface description per guest interface (named by `if_xname`) and
//! the guest's timestamps.
//!
//! The ip probes give the IP header (`args[2]`) and the interface (`args[3]`), not the mbuf. The
//! first mbuf is found by its own header: an mbuf whose `m_hdr.mh_data`/`mh_len` cover the
//! header and whose data lies inside the mbuf (within `sizeof(struct mbuf)` before the
//! header). From there the chain is followed through `m_hdr.mh_next`. When the data is in an
//! external buffer (a cluster, as on FreeBSD's receive path), no such mbuf exists and the
//! packet is read contiguously from the header, which is how a cluster holds a received frame.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

use guests::freebsd10::{Kernel, Memory};
use lang::ProbeCatalog;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::DataLink;

/// Default bytes kept of each packet (`--snaplen`).
pub const DEFAULT_SNAPLEN: u32 = 65535;
/// A chain longer than this is taken as corrupt (or changing under us).
const MAX_MBUFS: usize = 256;
/// `IFNAMSIZ`.
const IFNAMSIZ: usize = 16;

/// The D clause that enables the ip probes when only `--pcap` asks for them: it matches both
/// probes and never passes its predicate, so it prints nothing.
pub const CAPTURE_CLAUSE: &str = "ip:::send, ip:::receive /0/ {}";
/// How many probe descriptions [`CAPTURE_CLAUSE`] has (each gets a "matched" count).
pub const CAPTURE_DESCRIPTIONS: usize = 2;

/// Why a capture could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be created or written.
    #[error("{path}: {source}")]
    File {
        /// The capture file.
        path: String,
        /// Why.
        #[source]
        source: pcap_file::PcapError,
    },
    /// The kernel's DWARF lacks a structure member the capture reads.
    #[error("cannot capture packets: the kernel's debug info has no {0}")]
    Missing(String),
}

/// Offsets of what the capture reads in `struct mbuf` and `struct ifnet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MbufLayout {
    /// `sizeof(struct mbuf)` (MSIZE on FreeBSD 10).
    pub size: u64,
    /// `m_hdr.mh_next`.
    pub next: u64,
    /// `m_hdr.mh_data`.
    pub data: u64,
    /// `m_hdr.mh_len`.
    pub len: u64,
    /// `M_dat`: where data inside the mbuf can start.
    pub dat: u64,
    /// `struct ifnet` `if_xname`.
    pub if_xname: u64,
}

impl MbufLayout {
    /// Takes the offsets from the kernel's DWARF.
    pub fn new(k: &dyn Kernel) -> Result<MbufLayout, CaptureError> {
        let off = |ty: &str, path: &str| {
            k.member_offset(ty, path)
                .ok_or_else(|| CaptureError::Missing(format!("{ty} member {path}")))
        };
        Ok(MbufLayout {
            size: k
                .type_size("struct mbuf")
                .ok_or_else(|| CaptureError::Missing("struct mbuf".into()))?,
            next: off("struct mbuf", "m_hdr.mh_next")?,
            data: off("struct mbuf", "m_hdr.mh_data")?,
            len: off("struct mbuf", "m_hdr.mh_len")?,
            dat: off("struct mbuf", "M_dat")?,
            if_xname: off("struct ifnet", "if_xname")?,
        })
    }

    /// The mbuf whose internal data holds `ip`, found in `window` (guest bytes from `base`,
    /// covering `sizeof(struct mbuf)` before `ip`): the highest 8-aligned `m` with
    /// `m + dat <= mh_data <= ip < mh_data + mh_len <= m + size`.
    fn find_mbuf(&self, window: &[u8], base: u64, ip: u64) -> Option<MbufHeader> {
        let word = |at: u64, n: usize| {
            let i = usize::try_from(at.checked_sub(base)?).ok()?;
            window.get(i..i + n).map(|b| {
                let mut v = [0u8; 8];
                v[..n].copy_from_slice(b);
                u64::from_le_bytes(v)
            })
        };
        let mut m = ip.checked_sub(self.dat)? & !7;
        while m >= base && m + self.size > ip {
            let data = word(m + self.data, 8)?;
            let len = word(m + self.len, 4)? as u32 as i32;
            if len > 0
                && data >= m + self.dat
                && data <= ip
                && ip < data + len as u64
                && data + len as u64 <= m + self.size
            {
                return Some(MbufHeader {
                    data,
                    len: len as u64,
                    next: word(m + self.next, 8)?,
                });
            }
            m = m.checked_sub(8)?;
        }
        None
    }

    /// Appends the data of the chain from `m` on until `out` holds `limit` bytes.
    fn read_chain(
        &self,
        mem: &mut dyn Memory,
        mut m: u64,
        limit: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), u64> {
        let mut hdr = [0u8; 8];
        for _ in 0..MAX_MBUFS {
            if m == 0 || out.len() >= limit {
                break;
            }
            mem.read(m + self.data, &mut hdr)?;
            let data = u64::from_le_bytes(hdr);
            mem.read(m + self.len, &mut hdr[..4])?;
            let len = i32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]).max(0) as usize;
            let n = len.min(limit - out.len());
            let at = out.len();
            out.resize(at + n, 0);
            mem.read(data, &mut out[at..])?;
            mem.read(m + self.next, &mut hdr)?;
            m = u64::from_le_bytes(hdr);
        }
        Ok(())
    }
}

/// The first mbuf's `m_hdr` fields the capture uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MbufHeader {
    data: u64,
    len: u64,
    next: u64,
}

/// The IP packet's length from its header: IPv4 `ip_len`, IPv6 40 + `ip6_plen`.
pub fn ip_length(header: &[u8]) -> Option<usize> {
    match header.first()? >> 4 {
        4 => Some(usize::from(u16::from_be_bytes([
            *header.get(2)?,
            *header.get(3)?,
        ]))),
        6 => Some(40 + usize::from(u16::from_be_bytes([*header.get(4)?, *header.get(5)?]))),
        _ => None,
    }
}

/// Reads one packet: the IP header at `ip` and what follows it, up to `snaplen` bytes.
/// Returns the bytes and the packet's length on the wire (from its IP header).
///
/// One read of guest memory covers `sizeof(struct mbuf)` on each side of the header: the
/// first mbuf's own header and, for a packet in one mbuf (most are), all of its data.
pub fn read_packet(
    layout: &MbufLayout,
    mem: &mut dyn Memory,
    ip: u64,
    snaplen: usize,
) -> Result<(Vec<u8>, usize), u64> {
    let base = ip.saturating_sub(layout.size) & !7;
    let mut window = vec![0u8; (ip - base + layout.size) as usize];
    if mem.read(base, &mut window).is_err() {
        // The window reaches an unmapped page: only the packet itself is read.
        window.clear();
    }
    let at = (ip - base) as usize;
    let wire = match window.get(at..) {
        Some(w) if !w.is_empty() => ip_length(w),
        _ => {
            let mut head = [0u8; 6];
            mem.read(ip, &mut head)?;
            ip_length(&head)
        }
    }
    .ok_or(ip)?;
    let limit = wire.min(snaplen);
    let mut out = Vec::with_capacity(limit);
    match layout.find_mbuf(&window, base, ip) {
        Some(first) => {
            let end = (first.data + first.len).min(ip + limit as u64);
            let from = &window[at..at + (end - ip) as usize];
            out.extend_from_slice(from);
            layout.read_chain(mem, first.next, limit, &mut out)?;
        }
        None => match window.get(at..at + limit) {
            Some(bytes) => out.extend_from_slice(bytes),
            None => {
                out.resize(limit, 0);
                mem.read(ip, &mut out)?;
            }
        },
    }
    Ok((out, wire))
}

/// Which way a packet went, as pcapng's `epb_flags` direction bits say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// ip:::receive.
    Inbound = 1,
    /// ip:::send.
    Outbound = 2,
}

/// An open capture: the pcapng writer, the interfaces described so far, the probe ids.
pub struct Capture {
    path: PathBuf,
    writer: PcapNgWriter<BufWriter<File>>,
    layout: MbufLayout,
    snaplen: u32,
    /// `struct ifnet *` → pcapng interface id.
    interfaces: HashMap<u64, u32>,
    /// Probe ids of ip:::send and ip:::receive, with the packet direction each means.
    probes: Vec<(u32, Direction)>,
    /// Host wall-clock nanoseconds when guest time was 0 (set at the first packet).
    epoch_ns: Option<u64>,
    packets: u64,
    unreadable: u64,
}

impl Capture {
    /// Creates `path` with its section header; the packets of the probes `probes` are captured.
    pub fn create(
        path: &Path,
        layout: MbufLayout,
        snaplen: u32,
        probes: Vec<(u32, Direction)>,
    ) -> Result<Capture, CaptureError> {
        let err = |source| CaptureError::File {
            path: path.display().to_string(),
            source,
        };
        let file = File::create(path).map_err(|e| err(pcap_file::PcapError::IoError(e)))?;
        let writer = PcapNgWriter::new(BufWriter::new(file)).map_err(err)?;
        Ok(Capture {
            path: path.to_path_buf(),
            writer,
            layout,
            snaplen,
            interfaces: HashMap::new(),
            probes,
            epoch_ns: None,
            packets: 0,
            unreadable: 0,
        })
    }

    /// Whether `probe` is one whose packets are captured.
    pub fn wants(&self, probe: u32) -> bool {
        self.probes.iter().any(|&(p, _)| p == probe)
    }

    /// Captures the packet of an ip probe firing (`args[2]` the IP header, `args[3]` the ifnet) at
    /// guest time `guest_ns`. A packet that cannot be read is counted, not fatal.
    pub fn packet(
        &mut self,
        probe: u32,
        mem: &mut dyn Memory,
        args: &[u64; 10],
        guest_ns: u64,
    ) -> Result<(), CaptureError> {
        let direction = self
            .probes
            .iter()
            .find(|&&(p, _)| p == probe)
            .map(|&(_, d)| d);
        let (ip, ifp) = (args[2], args[3]);
        let Ok((data, wire)) = read_packet(&self.layout, mem, ip, self.snaplen as usize) else {
            self.unreadable += 1;
            return Ok(());
        };
        let interface_id = self.interface(mem, ifp)?;
        // Guest time counts from attach; anchoring it to the host's clock once gives absolute
        // times whose differences are still the guest's.
        let epoch = *self
            .epoch_ns
            .get_or_insert_with(|| crate::clock::wall_ns().saturating_sub(guest_ns));
        let block = EnhancedPacketBlock {
            interface_id,
            timestamp: Duration::from_nanos(epoch.saturating_add(guest_ns)),
            original_len: wire as u32,
            data: data.into(),
            options: direction
                .map(|d| EnhancedPacketOption::Flags(d as u32))
                .into_iter()
                .collect(),
        };
        self.writer
            .write_pcapng_block(block)
            .map_err(|e| self.file_error(e))?;
        self.packets += 1;
        Ok(())
    }

    /// The interface id of `ifp`, describing it (named by `if_xname`) the first time.
    fn interface(&mut self, mem: &mut dyn Memory, ifp: u64) -> Result<u32, CaptureError> {
        if let Some(&id) = self.interfaces.get(&ifp) {
            return Ok(id);
        }
        let mut name = [0u8; IFNAMSIZ];
        let name = match mem.read(ifp + self.layout.if_xname, &mut name) {
            Ok(()) => {
                let end = name.iter().position(|&b| b == 0).unwrap_or(IFNAMSIZ);
                String::from_utf8_lossy(&name[..end]).into_owned()
            }
            Err(_) => format!("ifnet@0x{ifp:x}"),
        };
        let block = InterfaceDescriptionBlock {
            linktype: DataLink::RAW,
            snaplen: self.snaplen,
            options: vec![
                InterfaceDescriptionOption::IfName(name.into()),
                // Timestamps are in nanoseconds.
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        };
        self.writer
            .write_pcapng_block(block)
            .map_err(|e| self.file_error(e))?;
        let id = self.interfaces.len() as u32;
        self.interfaces.insert(ifp, id);
        Ok(id)
    }

    /// Flushes the file; returns (file, packets written, packets that could not be read).
    pub fn finish(&mut self) -> Result<(String, u64, u64), CaptureError> {
        use std::io::Write;
        self.writer
            .get_mut()
            .flush()
            .map_err(|e| self.file_error(pcap_file::PcapError::IoError(e)))?;
        Ok((
            self.path.display().to_string(),
            self.packets,
            self.unreadable,
        ))
    }

    fn file_error(&self, source: pcap_file::PcapError) -> CaptureError {
        CaptureError::File {
            path: self.path.display().to_string(),
            source,
        }
    }
}

impl crate::Guest {
    /// Captures every packet at ip:::send and ip:::receive into the pcapng file `path`, keeping
    /// at most `snaplen` bytes of each. The program must enable those probes
    /// ([`CAPTURE_CLAUSE`] does).
    pub fn capture_packets(&mut self, path: &Path, snaplen: u32) -> Result<(), crate::Error> {
        let layout = MbufLayout::new(&crate::kernel::ImageKernel(&self.image))?;
        let probes = self
            .catalog
            .probes()
            .iter()
            .filter(|p| p.provider == "ip")
            .filter_map(|p| match p.name.as_str() {
                "send" => Some((p.id, Direction::Outbound)),
                "receive" => Some((p.id, Direction::Inbound)),
                _ => None,
            })
            .collect::<Vec<_>>();
        if probes.is_empty() {
            return Err(crate::Error::Unsupported(
                "--pcap needs the ip provider, which this guest does not have".into(),
            ));
        }
        self.capture = Some(Capture::create(path, layout, snaplen, probes)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    const LAYOUT: MbufLayout = MbufLayout {
        size: 256,
        next: 0,
        data: 16,
        len: 24,
        dat: 56,
        if_xname: 0,
    };

    fn put(mem: &mut Flat, addr: u64, b: &[u8]) {
        let at = (addr - mem.base) as usize;
        mem.bytes[at..at + b.len()].copy_from_slice(b);
    }

    fn mbuf(mem: &mut Flat, m: u64, next: u64, data: u64, payload: &[u8]) {
        put(mem, m + LAYOUT.next, &next.to_le_bytes());
        put(mem, m + LAYOUT.data, &data.to_le_bytes());
        put(mem, m + LAYOUT.len, &(payload.len() as i32).to_le_bytes());
        put(mem, data, payload);
    }

    #[test]
    fn a_chain_is_followed_from_the_header_in_the_first_mbuf() {
        let base = 0xffff_f800_0000_0000;
        let mut mem = Flat {
            base,
            bytes: vec![0xee; 4096],
        };
        // IPv4 header saying 20 + 30 bytes; 20 in the first mbuf (after 8 bytes of other
        // headers), 30 in a second one.
        let mut ip = vec![0x45, 0, 0, 50];
        ip.resize(20, 0x11);
        let first = base + 0x400;
        let second = base + 0x800;
        let mut head = vec![0xaa; 8];
        head.extend_from_slice(&ip);
        mbuf(&mut mem, first, second, first + 100, &head);
        let tail: Vec<u8> = (0..30).collect();
        mbuf(&mut mem, second, 0, second + 60, &tail);
        let at = first + 108;
        let (bytes, wire) = read_packet(&LAYOUT, &mut mem, at, 65535).expect("read");
        assert_eq!(wire, 50);
        assert_eq!(bytes[..20], ip[..]);
        assert_eq!(bytes[20..], tail[..]);
        // A snaplen cuts the packet, not its wire length.
        let (bytes, wire) = read_packet(&LAYOUT, &mut mem, at, 24).expect("read");
        assert_eq!((bytes.len(), wire), (24, 50));
    }

    #[test]
    fn data_outside_any_mbuf_is_read_contiguously() {
        let base = 0xffff_f800_0000_0000;
        let mut mem = Flat {
            base,
            bytes: vec![0; 4096],
        };
        let mut pkt = vec![0x60, 0, 0, 0, 0, 8, 17, 64];
        pkt.resize(48, 0x22);
        put(&mut mem, base + 0x900, &pkt);
        let (bytes, wire) = read_packet(&LAYOUT, &mut mem, base + 0x900, 65535).expect("read");
        assert_eq!((bytes, wire), (pkt.clone(), 48));
        // Right at the start of mapped memory (the window cannot be read): the packet still is.
        put(&mut mem, base + 8, &pkt);
        let (bytes, wire) = read_packet(&LAYOUT, &mut mem, base + 8, 65535).expect("read");
        assert_eq!((bytes, wire), (pkt, 48));
    }

    #[test]
    fn ip_lengths_come_from_the_header() {
        assert_eq!(ip_length(&[0x45, 0, 0x05, 0xdc]), Some(1500));
        assert_eq!(ip_length(&[0x60, 0, 0, 0, 0, 20]), Some(60));
        assert_eq!(ip_length(&[0x00, 0, 0, 0, 0, 0]), None);
    }
}
