//! Which kernel is running: its `version` banner checked against the debug file's, and the
//! release (`osrelease`, `osreldate`) that picks the translator variants.

use super::{need_symbol, read_cstr, Error, Kernel, Memory};

/// The running FreeBSD release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// `osrelease`, e.g. "10.4-RELEASE".
    pub osrelease: String,
    /// `osreldate` (`__FreeBSD_version`), e.g. 1004000.
    pub osreldate: u32,
    /// The `version` banner, first line.
    pub version: String,
}

/// Checks that the debug file describes the running kernel (the `version` banners agree),
/// then reads the release. Nothing is written to the guest.
pub fn identify(k: &dyn Kernel, m: &mut dyn Memory) -> Result<Release, Error> {
    let addr = need_symbol(k, "version")?;
    let file = k
        .file_bytes("version")
        .ok_or_else(|| Error::Missing("initialised `version` string".into()))?;
    let file = c_string(&file);
    let guest = read_cstr(m, addr, file.len().max(64) + 1, "the version string")?;
    if guest != file {
        return Err(Error::Mismatch {
            guest: first_line(&guest),
            file: first_line(&file),
        });
    }
    let osrelease = read_cstr(m, need_symbol(k, "osrelease")?, 32, "osrelease")?;
    let mut b = [0u8; 4];
    let at = need_symbol(k, "osreldate")?;
    m.read(at, &mut b).map_err(|a| Error::Unreadable {
        addr: a,
        what: "osreldate".into(),
    })?;
    Ok(Release {
        osrelease,
        osreldate: u32::from_le_bytes(b),
        version: first_line(&guest),
    })
}

/// The D source compiled before the translator libraries: tcp.d picks the 10.0 or the 10.2+
/// formulas (tcps_rto, tcps_srtt) by `__freebsd_version`.
pub fn translator_prelude(release: &Release) -> String {
    format!(
        "/* guestrace: the guest's __FreeBSD_version ({}) */\ninline int __freebsd_version = {};\n",
        release.osrelease, release.osreldate
    )
}

fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}
