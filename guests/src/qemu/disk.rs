//! Disk images: checks that a path is a usable image and reads its format from its header,
//! so QEMU is told the format instead of probing it (QEMU refuses writes to sector 0 of a
//! probed raw image).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::QemuError;

/// A disk image format QEMU's block layer knows by that name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    /// A plain disk dump (FreeBSD's `.raw`/`.img` VM images, `dd` copies).
    Raw,
    /// QEMU copy-on-write v2/v3 (FreeBSD's `.qcow2` VM images).
    Qcow2,
    /// QEMU copy-on-write v1.
    Qcow,
    /// VMware.
    Vmdk,
    /// VirtualBox.
    Vdi,
    /// Hyper-V (VHDX).
    Vhdx,
    /// Virtual PC (VHD; FreeBSD's `.vhd` VM images).
    Vpc,
    /// QEMU enhanced disk.
    Qed,
}

impl DiskFormat {
    /// The name `-drive format=` takes.
    pub fn qemu_name(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow2 => "qcow2",
            DiskFormat::Qcow => "qcow",
            DiskFormat::Vmdk => "vmdk",
            DiskFormat::Vdi => "vdi",
            DiskFormat::Vhdx => "vhdx",
            DiskFormat::Vpc => "vpc",
            DiskFormat::Qed => "qed",
        }
    }

    /// Recognises a format from the first bytes of an image; anything unrecognised is raw.
    pub fn from_header(h: &[u8]) -> DiskFormat {
        let at = |off: usize, magic: &[u8]| h.get(off..off + magic.len()) == Some(magic);
        if at(0, b"QFI\xfb") {
            // The version follows the magic, big-endian.
            return match h.get(4..8) {
                Some([0, 0, 0, 1]) => DiskFormat::Qcow,
                _ => DiskFormat::Qcow2,
            };
        }
        if at(0, b"KDMV") || at(0, b"# Disk DescriptorFile") {
            DiskFormat::Vmdk
        } else if at(0x40, &0xbeda_107f_u32.to_le_bytes()) {
            DiskFormat::Vdi
        } else if at(0, b"vhdxfile") {
            DiskFormat::Vhdx
        } else if at(0, b"conectix") {
            DiskFormat::Vpc
        } else if at(0, b"QED\0") {
            DiskFormat::Qed
        } else {
            DiskFormat::Raw
        }
    }
}

/// A disk image that exists, is a regular file or block device, is not empty and could be read.
#[derive(Debug, Clone)]
pub struct DiskImage {
    /// The path, made absolute (QEMU runs with the same working directory, but the printed
    /// command lines should work from anywhere).
    pub path: PathBuf,
    /// Its format, from its header.
    pub format: DiskFormat,
}

impl DiskImage {
    /// Checks `path` and reads its format.
    pub fn open(path: &Path) -> Result<DiskImage, QemuError> {
        let bad = |reason: String| QemuError::BadImage {
            path: path.to_path_buf(),
            reason,
        };
        let meta = fs::metadata(path).map_err(|e| bad(describe(&e)))?;
        if meta.is_dir() {
            return Err(bad("is a directory, not a disk image".into()));
        }
        let block = std::os::unix::fs::FileTypeExt::is_block_device(&meta.file_type());
        if !meta.is_file() && !block {
            return Err(bad("is not a regular file or a block device".into()));
        }
        if meta.is_file() && meta.len() == 0 {
            return Err(bad("is empty".into()));
        }
        let mut header = Vec::with_capacity(512);
        fs::File::open(path)
            .and_then(|f| f.take(512).read_to_end(&mut header))
            .map_err(|e| bad(format!("cannot be read: {}", describe(&e))))?;
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| bad(describe(&e)))?
                .join(path)
        };
        Ok(DiskImage {
            format: DiskFormat::from_header(&header),
            path,
        })
    }
}

/// An I/O error as words, without Rust's "(os error N)".
fn describe(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_headers() {
        let mut qcow2 = b"QFI\xfb\0\0\0\x03".to_vec();
        qcow2.resize(512, 0);
        assert_eq!(DiskFormat::from_header(&qcow2), DiskFormat::Qcow2);
        assert_eq!(
            DiskFormat::from_header(b"QFI\xfb\0\0\0\x01"),
            DiskFormat::Qcow
        );
        let mut vdi = vec![0u8; 512];
        vdi[0x40..0x44].copy_from_slice(&[0x7f, 0x10, 0xda, 0xbe]);
        assert_eq!(DiskFormat::from_header(&vdi), DiskFormat::Vdi);
        assert_eq!(DiskFormat::from_header(b"conectix"), DiskFormat::Vpc);
        // An MBR or GPT disk is raw; so is anything too short to hold a magic.
        let mut mbr = vec![0u8; 512];
        mbr[510] = 0x55;
        mbr[511] = 0xaa;
        assert_eq!(DiskFormat::from_header(&mbr), DiskFormat::Raw);
        assert_eq!(DiskFormat::from_header(b"QF"), DiskFormat::Raw);
    }
}
