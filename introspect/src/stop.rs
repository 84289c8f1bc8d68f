//! Stop replies (`T`, `S`, `W`, `X`) as the stub sends them.

use crate::packet::parse_hex_u64;

/// A parsed stop reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReply {
    /// The VM stopped with a signal (5 = breakpoint/step, 2 = interrupt).
    Signal {
        /// GDB signal number.
        signal: u8,
        /// The gdb thread id (QEMU: vCPU index + 1) that stopped, if the stub named one.
        thread: Option<u32>,
        /// Data address for a watchpoint stop.
        watch: Option<u64>,
    },
    /// The VM (QEMU) is gone.
    Exited(String),
}

impl StopReply {
    /// True when the packet looks like a stop reply rather than an answer to a request.
    pub fn is_stop(p: &[u8]) -> bool {
        matches!(p.first(), Some(b'T' | b'S')) && p.len() >= 3 && parse_hex_u64(&p[1..3]).is_some()
            || matches!(p.first(), Some(b'W' | b'X')) && p.len() >= 2
    }

    /// Parses a stop reply; None if it is not one.
    pub fn parse(p: &[u8]) -> Option<StopReply> {
        if !Self::is_stop(p) {
            return None;
        }
        match p[0] {
            b'W' | b'X' => Some(StopReply::Exited(String::from_utf8_lossy(p).into_owned())),
            b'S' => Some(StopReply::Signal {
                signal: parse_hex_u64(&p[1..3])? as u8,
                thread: None,
                watch: None,
            }),
            _ => {
                let signal = parse_hex_u64(&p[1..3])? as u8;
                let mut thread = None;
                let mut watch = None;
                for field in p[3..].split(|&b| b == b';') {
                    let Some(colon) = field.iter().position(|&b| b == b':') else {
                        continue;
                    };
                    let (k, v) = (&field[..colon], &field[colon + 1..]);
                    match k {
                        b"thread" => thread = parse_thread_id(v),
                        b"watch" | b"rwatch" | b"awatch" => watch = parse_hex_u64(v),
                        _ => {}
                    }
                }
                Some(StopReply::Signal {
                    signal,
                    thread,
                    watch,
                })
            }
        }
    }
}

/// `p<pid>.<tid>` (multiprocess) or `<tid>`, both hex.
pub fn parse_thread_id(v: &[u8]) -> Option<u32> {
    let tid = match v.strip_prefix(b"p") {
        Some(rest) => {
            let dot = rest.iter().position(|&b| b == b'.')?;
            &rest[dot + 1..]
        }
        None => v,
    };
    parse_hex_u64(tid).and_then(|t| u32::try_from(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qemu_forms() {
        assert_eq!(
            StopReply::parse(b"T02thread:01;"),
            Some(StopReply::Signal {
                signal: 2,
                thread: Some(1),
                watch: None
            })
        );
        assert_eq!(
            StopReply::parse(b"T05thread:p01.02;watch:ffffffff802050d8;"),
            Some(StopReply::Signal {
                signal: 5,
                thread: Some(2),
                watch: Some(0xffffffff802050d8)
            })
        );
        assert_eq!(
            StopReply::parse(b"S05"),
            Some(StopReply::Signal {
                signal: 5,
                thread: None,
                watch: None
            })
        );
        assert_eq!(
            StopReply::parse(b"W00"),
            Some(StopReply::Exited("W00".into()))
        );
    }

    #[test]
    fn answers_are_not_stops() {
        for p in [
            &b"OK"[..],
            b"E14",
            b"",
            b"l<xml/>",
            b"PacketSize=1000",
            b"0123",
            b"Tx",
        ] {
            assert_eq!(
                StopReply::parse(p),
                None,
                "{:?}",
                String::from_utf8_lossy(p)
            );
        }
    }
}
