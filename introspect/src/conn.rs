//! The socket to the stub: unix or TCP, time-outs, acks, and a wake-up pipe so another thread
//! or a signal handler can break a blocking wait.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::packet::{encode, Decoder, Frame};

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn connect(addr: &str) -> Result<Stream> {
        let err = |source| Error::Connect {
            addr: addr.to_string(),
            source,
        };
        if let Some(path) = addr.strip_prefix("unix:") {
            return UnixStream::connect(path).map(Stream::Unix).map_err(err);
        }
        let tcp = addr.strip_prefix("tcp:");
        if tcp.is_none() && (addr.contains('/') || Path::new(addr).exists()) {
            return UnixStream::connect(addr).map(Stream::Unix).map_err(err);
        }
        let s = TcpStream::connect(tcp.unwrap_or(addr)).map_err(err)?;
        // Every packet is latency-bound; Nagle would add up to 40 ms per request.
        s.set_nodelay(true).map_err(err)?;
        Ok(Stream::Tcp(s))
    }

    fn fd(&self) -> RawFd {
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.write_all(buf),
            Stream::Tcp(s) => s.write_all(buf),
        }
    }
}

/// A self-pipe plus flags: the only things a signal handler may touch.
#[derive(Debug)]
pub(crate) struct Wake {
    read_fd: RawFd,
    write_fd: RawFd,
    /// Set by [`crate::Interrupter::interrupt`].
    pub interrupt: AtomicBool,
    /// Set by [`crate::Cleanup::trigger`].
    pub cleanup: AtomicBool,
}

impl Wake {
    pub fn new() -> Result<Wake> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: fds is a valid array of two ints, as pipe2 requires.
        let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) };
        if rc != 0 {
            return Err(Error::Io(std::io::Error::last_os_error()));
        }
        Ok(Wake {
            read_fd: fds[0],
            write_fd: fds[1],
            interrupt: AtomicBool::new(false),
            cleanup: AtomicBool::new(false),
        })
    }

    /// Async-signal-safe: one write(2) of one byte.
    pub fn poke(&self) {
        let b = 1u8;
        // SAFETY: write_fd is our open pipe; a full pipe (EAGAIN) already means "woken".
        unsafe { libc::write(self.write_fd, (&b as *const u8).cast(), 1) };
    }

    fn drain(&self) {
        let mut buf = [0u8; 64];
        // SAFETY: read_fd is our open non-blocking pipe and buf is writable.
        while unsafe { libc::read(self.read_fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }
}

impl Drop for Wake {
    fn drop(&mut self) {
        // SAFETY: both fds were opened by pipe2 in new() and are closed only here.
        unsafe {
            libc::close(self.read_fd);
            libc::close(self.write_fd);
        }
    }
}

/// What a wait returned.
#[derive(Debug)]
pub(crate) enum Recv {
    Packet(Vec<u8>),
    /// The wake pipe fired (interrupt or cleanup requested).
    Woken,
}

/// One connection to a stub.
pub(crate) struct Conn {
    stream: Stream,
    decoder: Decoder,
    pub wake: Arc<Wake>,
    /// Time-out for one request/reply exchange.
    pub timeout: Duration,
    /// Send `+` for packets received while the VM is stopped (never while it runs).
    pub send_acks: bool,
    /// A resume was written and its stop reply has not arrived: no byte may be sent now
    /// except a deliberate interrupt, because QEMU treats any byte as one.
    pub running: bool,
    out: Vec<u8>,
    last_packet: Vec<u8>,
    rbuf: Box<[u8]>,
}

impl Conn {
    pub fn connect(addr: &str, timeout: Duration) -> Result<Conn> {
        Ok(Conn {
            stream: Stream::connect(addr)?,
            decoder: Decoder::default(),
            wake: Arc::new(Wake::new()?),
            timeout,
            send_acks: false,
            running: false,
            out: Vec::with_capacity(4096),
            last_packet: Vec::new(),
            rbuf: vec![0u8; 65536].into_boxed_slice(),
        })
    }

    /// The process at the other end of a unix socket (SO_PEERCRED); None over TCP.
    pub fn peer_pid(&self) -> Option<i32> {
        let Stream::Unix(_) = &self.stream else {
            return None;
        };
        let mut cred = libc::ucred {
            pid: 0,
            uid: 0,
            gid: 0,
        };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: cred and len are valid for writes of the sizes given.
        let rc = unsafe {
            libc::getsockopt(
                self.stream.fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        };
        (rc == 0 && cred.pid > 0).then_some(cred.pid)
    }

    /// Frames a packet into the output batch; nothing is written until [`Conn::flush`].
    pub fn queue(&mut self, payload: &[u8]) {
        let start = self.out.len();
        encode(payload, &mut self.out);
        self.last_packet.clear();
        self.last_packet.extend_from_slice(&self.out[start..]);
    }

    /// Writes the batch in one system call, so pipelined packets cost one wake-up of QEMU.
    pub fn flush(&mut self) -> Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let r = self.stream.write_all(&self.out);
        self.out.clear();
        r.map_err(map_io)
    }

    /// Shuts the socket down so the peer can accept another client.
    pub fn close(&mut self) {
        let how = std::net::Shutdown::Both;
        let _ = match &self.stream {
            Stream::Unix(s) => s.shutdown(how),
            Stream::Tcp(s) => s.shutdown(how),
        };
    }

    /// The RSP interrupt: a bare 0x03 byte.
    pub fn send_interrupt(&mut self) -> Result<()> {
        self.flush()?;
        self.stream.write_all(&[0x03]).map_err(map_io)
    }

    /// Waits for the next packet until `deadline` (None: forever). With `wakeable`, a poke of
    /// the wake pipe ends the wait with [`Recv::Woken`].
    pub fn recv(&mut self, deadline: Option<Instant>, wakeable: bool, what: &str) -> Result<Recv> {
        loop {
            match self.decoder.next_frame()? {
                Some(Frame::Packet(p)) => {
                    if self.send_acks && !self.running {
                        self.stream.write_all(b"+").map_err(map_io)?;
                    }
                    return Ok(Recv::Packet(p));
                }
                Some(Frame::Ack) => continue,
                Some(Frame::Nack) => {
                    // Retransmitting while the VM runs would stop it; the caller's time-out
                    // reports the lost packet instead.
                    if !self.running && !self.last_packet.is_empty() {
                        let p = self.last_packet.clone();
                        self.stream.write_all(&p).map_err(map_io)?;
                    }
                    continue;
                }
                None => {}
            }
            if wakeable && self.woken() {
                return Ok(Recv::Woken);
            }
            let timeout_ms = match deadline {
                None => -1,
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(Error::Timeout {
                            after: self.timeout,
                            waiting_for: what.to_string(),
                        });
                    }
                    // Round up so we never spin on a sub-millisecond remainder.
                    ((d - now).as_micros().div_ceil(1000)).min(i32::MAX as u128) as i32
                }
            };
            let mut fds = [
                libc::pollfd {
                    fd: self.stream.fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: self.wake.read_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            let nfds = if wakeable { 2 } else { 1 };
            // SAFETY: fds holds nfds valid pollfd structs.
            let rc = unsafe { libc::poll(fds.as_mut_ptr(), nfds, timeout_ms) };
            if rc < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::Io(e));
            }
            if wakeable && fds[1].revents != 0 {
                self.wake.drain();
            }
            if fds[0].revents != 0 {
                let n = match self.stream.read(&mut self.rbuf) {
                    Ok(0) => return Err(Error::Closed),
                    Ok(n) => n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(map_io(e)),
                };
                self.decoder.feed(&self.rbuf[..n]);
            }
        }
    }

    fn woken(&self) -> bool {
        self.wake.interrupt.load(Ordering::SeqCst) || self.wake.cleanup.load(Ordering::SeqCst)
    }

    /// Deadline for one exchange from now.
    pub fn deadline(&self) -> Option<Instant> {
        Some(Instant::now() + self.timeout)
    }
}

fn map_io(e: std::io::Error) -> Error {
    match e.kind() {
        ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof => {
            Error::Closed
        }
        _ => Error::Io(e),
    }
}
