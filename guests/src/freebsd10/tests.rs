//! The profile against a hand-built memory image laid out like a FreeBSD 10.4 kernel's.

use std::collections::HashMap;

use super::*;

#[derive(Default)]
struct Image {
    mem: HashMap<u64, u8>,
    syms: HashMap<String, u64>,
    version_in_file: Vec<u8>,
}

impl Image {
    fn put(&mut self, addr: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            self.mem.insert(addr + i as u64, *b);
        }
    }
    fn put_u64(&mut self, addr: u64, v: u64) {
        self.put(addr, &v.to_le_bytes());
    }
}

impl Kernel for Image {
    fn symbol(&self, name: &str) -> Option<u64> {
        self.syms.get(name).copied()
    }
    fn member_offset(&self, ty: &str, path: &str) -> Option<u64> {
        Some(match (ty, path) {
            ("struct sdt_probe", "prov") => 8,
            ("struct sdt_probe", "name") => 64,
            ("struct sdt_probe", "id") => 72,
            ("struct sdt_provider", "name") => 0,
            ("struct sdt_argtype", "ndx") => 0,
            ("struct sdt_argtype", "type") => 8,
            ("struct sdt_argtype", "xtype") => 16,
            ("struct sdt_argtype", "probe") => 40,
            ("struct pcpu", "pc_curthread") => 0,
            ("struct thread", "td_proc") => 8,
            ("struct thread", "td_tid") => 16,
            ("struct proc", "p_pid") => 4,
            ("struct proc", "p_comm") => 32,
            _ => return None,
        })
    }
    fn type_size(&self, _ty: &str) -> Option<u64> {
        None
    }
    fn file_bytes(&self, name: &str) -> Option<Vec<u8>> {
        (name == "version").then(|| self.version_in_file.clone())
    }
}

impl Memory for Image {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), u64> {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr + i as u64;
            // The low 64 KiB is "mapped" (zero where nothing was put); above it nothing is.
            *b = match self.mem.get(&a) {
                Some(v) => *v,
                None if a < 0x10000 => 0,
                None => return Err(a),
            };
        }
        Ok(())
    }
}

/// Two tcp probes (one with an argument) and the sets that list them.
fn kernel() -> Image {
    let mut k = Image::default();
    k.put(0x1000, b"tcp\0");
    k.put(0x1010, b"state__change\0");
    k.put(0x1030, b"send\0");
    k.put(0x1040, b"struct tcpcb *\0");
    k.put(0x1060, b"tcpsinfo_t *\0");
    k.put_u64(0x2000, 0x1000); // provider: name
    for (probe, name) in [(0x3000u64, 0x1010u64), (0x3100, 0x1030)] {
        k.put(probe, &[0; 96]);
        k.put_u64(probe + 8, 0x2000);
        k.put_u64(probe + 64, name);
    }
    k.put(0x4000, &[0; 48]);
    k.put(0x4000, &3u32.to_le_bytes());
    k.put_u64(0x4008, 0x1040);
    k.put_u64(0x4010, 0x1060);
    k.put_u64(0x4028, 0x3000);
    k.put_u64(0x5000, 0x3000);
    k.put_u64(0x5008, 0x3100);
    k.put_u64(0x5100, 0x4000);
    for (n, a) in [
        ("__start_set_sdt_probes_set", 0x5000),
        ("__stop_set_sdt_probes_set", 0x5010),
        ("__start_set_sdt_argtypes_set", 0x5100),
        ("__stop_set_sdt_argtypes_set", 0x5108),
        ("sdt_probe_stub", 0x6000),
        ("sdt_probe_func", 0x6100),
        ("version", 0x7000),
        ("osrelease", 0x7100),
        ("osreldate", 0x7200),
    ] {
        k.syms.insert(n.into(), a);
    }
    k.put_u64(0x6100, 0x6000);
    k.put(0x7000, b"FreeBSD 10.4-RELEASE #0\n  root@host\0");
    k.version_in_file = b"FreeBSD 10.4-RELEASE #0\n  root@host\0".to_vec();
    k.put(0x7100, b"10.4-RELEASE\0");
    k.put(0x7200, &1004000u32.to_le_bytes());
    k
}

#[test]
fn discovers_probes_with_dashed_names_and_arg_types() {
    let mut k = kernel();
    let probes = {
        let kk = Image {
            mem: HashMap::new(),
            syms: k.syms.clone(),
            version_in_file: Vec::new(),
        };
        discover(&kk, &mut k).expect("discover")
    };
    assert_eq!(probes.len(), 2);
    assert_eq!(
        (probes[0].provider.as_str(), probes[0].name.as_str()),
        ("tcp", "state-change")
    );
    assert_eq!(probes[0].id_addr, 0x3000 + 72);
    assert_eq!(probes[0].args.len(), 1, "ndx 3 only, padded by index order");
    assert_eq!(probes[0].args[0].native, "struct tcpcb *");
    assert_eq!(
        probes[0].args[0].translated.as_deref(),
        Some("tcpsinfo_t *")
    );
    assert!(probes[1].args.is_empty());
}

#[test]
fn refuses_when_dtrace_is_loaded_or_an_id_is_taken() {
    let mut k = kernel();
    let syms = Image {
        mem: HashMap::new(),
        syms: k.syms.clone(),
        version_in_file: Vec::new(),
    };
    let probes = discover(&syms, &mut k).expect("discover");
    let refs: Vec<&SdtProbe> = probes.iter().collect();
    assert_eq!(check_enable_safe(&syms, &mut k, &refs), Ok(0x6000));
    k.put_u64(0x3000 + 72, 7);
    let e = check_enable_safe(&syms, &mut k, &refs).expect_err("id in use");
    assert!(e.to_string().contains("state-change"), "{e}");
    k.put_u64(0x3000 + 72, 0);
    k.put_u64(0x6100, 0xdead);
    let e = check_enable_safe(&syms, &mut k, &refs).expect_err("dtrace loaded");
    assert!(e.to_string().contains("sdt.ko"), "{e}");
}

#[test]
fn identifies_the_release_and_rejects_another_kernel_file() {
    let mut k = kernel();
    let mut file = Image {
        mem: HashMap::new(),
        syms: k.syms.clone(),
        version_in_file: k.version_in_file.clone(),
    };
    let r = identify(&file, &mut k).expect("identify");
    assert_eq!(r.osreldate, 1004000);
    assert_eq!(r.osrelease, "10.4-RELEASE");
    assert!(translator_prelude(&r).contains("__freebsd_version = 1004000;"));
    file.version_in_file = b"FreeBSD 10.3-RELEASE #0\n\0".to_vec();
    match identify(&file, &mut k) {
        Err(Error::Mismatch { guest, file }) => {
            assert_eq!(guest, "FreeBSD 10.4-RELEASE #0");
            assert_eq!(file, "FreeBSD 10.3-RELEASE #0");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn curthread_leads_to_pid_tid_and_execname() {
    let mut k = kernel();
    k.put_u64(0x8000, 0x9000); // pcpu.pc_curthread
    k.put_u64(0x9008, 0xa000); // td_proc
    k.put(0x9010, &100_012i32.to_le_bytes());
    k.put(0xa004, &42i32.to_le_bytes());
    k.put(0xa020, b"sshd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    let l = ThreadLayout::new(&Image::default()).expect("layout");
    let td = l.curthread(&mut k, 0x8000).expect("curthread");
    let info = l.info(&mut k, td).expect("info");
    assert_eq!((info.td, info.tid, info.pid), (0x9000, 100_012, 42));
    assert_eq!(info.execname, b"sshd");
}
