//! Knowing when QEMU is up: its QMP monitor greets from its own I/O thread at once, but answers
//! commands only from the main loop, which QEMU enters after it has set up every disk, network
//! backend and device; so an answer means the command line was accepted in full.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{Qemu, QemuError};

/// The QEMU arguments for a QMP monitor on `socket`.
pub(crate) fn args(socket: &Path) -> [std::ffi::OsString; 2] {
    [
        "-qmp".into(),
        super::option_with_path("unix:", socket, ",server=on,wait=off"),
    ]
}

/// Waits for QMP's answer to a first command on `socket`; fails with QEMU's own message if it
/// exits first.
pub(crate) fn wait_ready(
    qemu: &mut Qemu,
    socket: &Path,
    timeout: Duration,
) -> Result<(), QemuError> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        qemu.check_running()?;
        if let Ok(mut s) = UnixStream::connect(socket) {
            if s.write_all(b"{\"execute\":\"qmp_capabilities\"}\n").is_ok()
                && answered(qemu, &mut s, deadline)?
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    qemu.check_running()?;
    Err(QemuError::StartTimeout {
        secs: timeout.as_secs(),
    })
}

/// Reads until a `"return":` arrives (true), the connection ends (false) or QEMU exits (error).
fn answered(qemu: &mut Qemu, s: &mut UnixStream, deadline: Instant) -> Result<bool, QemuError> {
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.windows(9).any(|w| w == b"\"return\":") {
                    return Ok(true);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                qemu.check_running()?;
            }
            Err(_) => return Ok(false),
        }
    }
    Ok(false)
}
