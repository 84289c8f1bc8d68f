//! RSP framing: `$payload#cs`, escapes (`}` xor 0x20) and run-length decoding (`*`).

use crate::error::{Error, Result};

/// What the byte stream from the stub decodes into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `+`: the stub acknowledged our last packet.
    Ack,
    /// `-`: the stub saw a bad checksum in our last packet and wants it again.
    Nack,
    /// A complete packet, with escapes and run-length encoding already undone.
    Packet(Vec<u8>),
}

/// Appends the framed form of `payload` to `out`, escaping the bytes RSP reserves.
pub fn encode(payload: &[u8], out: &mut Vec<u8>) {
    out.push(b'$');
    let mut sum: u8 = 0;
    for &b in payload {
        if matches!(b, b'$' | b'#' | b'}' | b'*') {
            out.push(b'}');
            out.push(b ^ 0x20);
            sum = sum.wrapping_add(b'}').wrapping_add(b ^ 0x20);
        } else {
            out.push(b);
            sum = sum.wrapping_add(b);
        }
    }
    out.push(b'#');
    out.push(HEX[(sum >> 4) as usize]);
    out.push(HEX[(sum & 15) as usize]);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Incremental decoder: feed it whatever the socket returned, take frames out.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Adds bytes read from the stub.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// True when no partial frame is buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Takes the next complete frame, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        // Bytes outside a packet other than acks are noise (e.g. a stub's stray output); skip
        // them rather than let them desynchronise us.
        let mut start = 0;
        while start < self.buf.len() {
            match self.buf[start] {
                b'+' => {
                    self.buf.drain(..=start);
                    return Ok(Some(Frame::Ack));
                }
                b'-' => {
                    self.buf.drain(..=start);
                    return Ok(Some(Frame::Nack));
                }
                b'$' | b'%' => break,
                _ => start += 1,
            }
        }
        if start > 0 {
            self.buf.drain(..start);
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        let Some(hash) = self.buf.iter().position(|&b| b == b'#') else {
            return Ok(None);
        };
        if self.buf.len() < hash + 3 {
            return Ok(None);
        }
        let raw = &self.buf[1..hash];
        let sum = raw.iter().fold(0u8, |s, &b| s.wrapping_add(b));
        let given = parse_hex_byte(self.buf[hash + 1], self.buf[hash + 2]);
        let frame = match given {
            Some(g) if g == sum => Ok(Frame::Packet(unescape(&expand_runs(raw)?))),
            Some(g) => Err(Error::Protocol(format!(
                "bad checksum {g:02x} (computed {sum:02x}) on {:?}",
                String::from_utf8_lossy(&raw[..raw.len().min(40)])
            ))),
            None => Err(Error::Protocol("non-hex checksum".into())),
        };
        self.buf.drain(..hash + 3);
        frame.map(Some)
    }
}

/// `X*n` means "X repeated n-29 more times"; applied to the raw bytes, as gdb does.
fn expand_runs(raw: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'*' {
            let (Some(&prev), Some(&n)) = (out.last(), raw.get(i + 1)) else {
                return Err(Error::Protocol(
                    "run-length marker without a byte to repeat".into(),
                ));
            };
            let count = (n as usize)
                .checked_sub(29)
                .ok_or_else(|| Error::Protocol(format!("bad run length byte {n:#x}")))?;
            out.resize(out.len() + count, prev);
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

fn unescape(data: &[u8]) -> Vec<u8> {
    if !data.contains(&b'}') {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len());
    let mut it = data.iter();
    while let Some(&b) = it.next() {
        if b == b'}' {
            if let Some(&n) = it.next() {
                out.push(n ^ 0x20);
            }
        } else {
            out.push(b);
        }
    }
    out
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn parse_hex_byte(hi: u8, lo: u8) -> Option<u8> {
    Some(hex_val(hi)? << 4 | hex_val(lo)?)
}

/// Decodes a hex string (as in `g` and `m` replies) into bytes.
pub fn decode_hex(hex: &[u8], out: &mut Vec<u8>) -> Result<()> {
    if hex.len() & 1 == 1 {
        return Err(Error::Protocol(format!(
            "odd-length hex reply ({} chars)",
            hex.len()
        )));
    }
    out.reserve(hex.len() / 2);
    for pair in hex.chunks_exact(2) {
        match parse_hex_byte(pair[0], pair[1]) {
            Some(b) => out.push(b),
            // QEMU sends "xx" for registers it cannot read; treat them as zero.
            None if pair == b"xx" => out.push(0),
            None => {
                return Err(Error::Protocol(format!(
                    "non-hex byte {:?} in reply",
                    String::from_utf8_lossy(pair)
                )))
            }
        }
    }
    Ok(())
}

/// Appends the hex form of `bytes` to `out`.
pub fn encode_hex(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
}

/// Parses a big-endian hex number such as a thread id or an address.
pub fn parse_hex_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.iter()
        .try_fold(0u64, |acc, &c| Some(acc << 4 | u64::from(hex_val(c)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> Vec<Frame> {
        let mut d = Decoder::default();
        d.feed(bytes);
        let mut v = Vec::new();
        while let Some(f) = d.next_frame().unwrap() {
            v.push(f);
        }
        v
    }

    #[test]
    fn round_trips_escaped_payload() {
        let payload = b"X1000,4:$#}*";
        let mut wire = Vec::new();
        encode(payload, &mut wire);
        assert!(!wire[1..wire.len() - 3].contains(&b'$'));
        assert_eq!(decode_all(&wire), vec![Frame::Packet(payload.to_vec())]);
    }

    #[test]
    fn known_checksum() {
        let mut wire = Vec::new();
        encode(b"qSupported", &mut wire);
        assert_eq!(wire, b"$qSupported#37");
    }

    #[test]
    fn expands_run_length() {
        // "0* " is '0' followed by 32-29 = 3 more zeros.
        let body = b"0* 1";
        let sum = body.iter().fold(0u8, |s, &b| s.wrapping_add(b));
        let wire = format!("${}#{:02x}", std::str::from_utf8(body).unwrap(), sum);
        assert_eq!(
            decode_all(wire.as_bytes()),
            vec![Frame::Packet(b"00001".to_vec())]
        );
    }

    #[test]
    fn acks_and_noise_between_packets() {
        let frames = decode_all(b"++\x00$OK#9a-");
        assert_eq!(
            frames,
            vec![
                Frame::Ack,
                Frame::Ack,
                Frame::Packet(b"OK".to_vec()),
                Frame::Nack
            ]
        );
    }

    #[test]
    fn partial_packet_waits_for_more() {
        let mut d = Decoder::default();
        d.feed(b"$O");
        assert_eq!(d.next_frame().unwrap(), None);
        d.feed(b"K#9");
        assert_eq!(d.next_frame().unwrap(), None);
        d.feed(b"a");
        assert_eq!(d.next_frame().unwrap(), Some(Frame::Packet(b"OK".to_vec())));
        assert!(d.is_empty());
    }

    #[test]
    fn bad_checksum_is_an_error_and_stream_recovers() {
        let mut d = Decoder::default();
        d.feed(b"$OK#00$OK#9a");
        assert!(d.next_frame().is_err());
        assert_eq!(d.next_frame().unwrap(), Some(Frame::Packet(b"OK".to_vec())));
    }

    #[test]
    fn hex_helpers() {
        let mut out = Vec::new();
        decode_hex(b"00ff7Axx", &mut out).unwrap();
        assert_eq!(out, vec![0, 0xff, 0x7a, 0]);
        assert!(decode_hex(b"0", &mut out).is_err());
        let mut h = Vec::new();
        encode_hex(&[0xde, 0xad], &mut h);
        assert_eq!(h, b"dead");
        assert_eq!(parse_hex_u64(b"ffffffff80200120"), Some(0xffffffff80200120));
        assert_eq!(parse_hex_u64(b"g"), None);
    }
}
