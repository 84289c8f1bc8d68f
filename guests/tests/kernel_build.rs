//! The model kernel builds for DWARF 2, 4 and 5, is laid out like FreeBSD 10.4 amd64 and carries
//! FreeBSD's SDT objects, linker sets and function symbols.

use guests::model::{kernel_bytes, kernel_elf, DwarfVersion};
use object::{Object, ObjectSection, ObjectSymbol};

const PROBES: [&str; 13] = [
    "sdt_ip___receive",
    "sdt_ip___send",
    "sdt_tcp___accept__established",
    "sdt_tcp___accept__refused",
    "sdt_tcp___connect__established",
    "sdt_tcp___connect__refused",
    "sdt_tcp___connect__request",
    "sdt_tcp___receive",
    "sdt_tcp___send",
    "sdt_tcp___state__change",
    "sdt_tcp___receive__autoresize",
    "sdt_udp___receive",
    "sdt_udp___send",
];

const FUNCTIONS: [&str; 20] = [
    "ip_input",
    "ip_output",
    "ip6_input",
    "nd6_output_ifp",
    "tcp_output",
    "tcp_input",
    "tcp_do_segment",
    "tcp_respond",
    "tcp_state_change",
    "udp_input",
    "udp_output",
    "udp6_input",
    "udp6_output",
    "tcp_usr_attach",
    "udp_attach",
    "sosend_generic",
    "sosend_dgram",
    "soreceive",
    "in_pcbdetach",
    "sdt_probe_stub",
];

fn symbol(file: &object::File, name: &str) -> (u64, u64) {
    let s = file
        .symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("no symbol {name}"));
    (s.address(), s.size())
}

#[test]
fn every_dwarf_version_builds_with_its_own_debug_info() {
    for v in DwarfVersion::ALL {
        let path = kernel_elf(v).unwrap_or_else(|e| panic!("kernel_elf({v}): {e}"));
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(
            on_disk,
            kernel_bytes(v),
            "cached file differs from the embedded image"
        );
        let file = object::File::parse(&*on_disk).unwrap();
        let info = file
            .section_by_name(".debug_info")
            .expect(".debug_info")
            .data()
            .unwrap();
        // Compilation unit header: 4-byte length, then the 2-byte version.
        let version = u16::from_le_bytes([info[4], info[5]]);
        assert_eq!(version, v.number(), "DWARF version of {v} build");
        // Asking again returns the same cached path.
        assert_eq!(kernel_elf(v).unwrap(), path);
    }
    let mut hashes: Vec<&[u8]> = DwarfVersion::ALL.iter().map(|v| kernel_bytes(*v)).collect();
    hashes.dedup();
    assert_eq!(hashes.len(), 3, "the three builds must differ");
}

#[test]
fn layout_is_freebsd_amd64() {
    let bytes = kernel_bytes(DwarfVersion::V2);
    let file = object::File::parse(bytes).unwrap();
    let text = file.section_by_name(".text").expect(".text");
    assert_eq!(
        text.address(),
        0xffff_ffff_8020_0000,
        ".text at KERNBASE + 2 MiB"
    );
    assert_eq!(symbol(&file, "kernbase").0, 0xffff_ffff_8000_0000);
    for name in PROBES.iter().chain(FUNCTIONS.iter()) {
        symbol(&file, name);
    }
    for g in [
        "hz",
        "ticks",
        "osrelease",
        "version",
        "osreldate",
        "sdt_probe_func",
        "__pcpu",
    ] {
        symbol(&file, g);
    }
}

#[test]
fn linker_sets_hold_every_probe_provider_and_argtype() {
    let file = object::File::parse(kernel_bytes(DwarfVersion::V2)).unwrap();
    let span = |set: &str| {
        symbol(&file, &format!("__stop_set_{set}")).0
            - symbol(&file, &format!("__start_set_{set}")).0
    };
    assert_eq!(span("sdt_probes_set"), 8 * PROBES.len() as u64);
    assert_eq!(span("sdt_providers_set"), 8 * 3);
    // ip: 2 x 6, tcp: 7 x 5 + state-change 6 + receive-autoresize 6, udp: 2 x 5.
    assert_eq!(span("sdt_argtypes_set"), 8 * (12 + 35 + 6 + 6 + 10));
}

#[test]
fn sdt_probe_stub_is_alone_in_its_page() {
    let file = object::File::parse(kernel_bytes(DwarfVersion::V2)).unwrap();
    let (stub, size) = symbol(&file, "sdt_probe_stub");
    assert_eq!(stub % 4096, 0, "stub page-aligned");
    assert!(size > 0 && size < 4096);
    let page = stub..stub + 4096;
    let neighbours: Vec<String> = file
        .symbols()
        .filter(|s| {
            s.kind() == object::SymbolKind::Text
                && page.contains(&s.address())
                && s.name() != Ok("sdt_probe_stub")
        })
        .map(|s| s.name().unwrap_or("?").to_string())
        .collect();
    assert!(
        neighbours.is_empty(),
        "functions sharing the stub's page: {neighbours:?}"
    );
}

#[test]
fn dwarf_parses_as_a_string() {
    assert_eq!("2".parse::<DwarfVersion>().unwrap(), DwarfVersion::V2);
    assert_eq!("dwarf5".parse::<DwarfVersion>().unwrap(), DwarfVersion::V5);
    assert!("3".parse::<DwarfVersion>().is_err());
}

#[test]
fn images_carry_no_build_machine_paths() {
    // Reproducibility: the checkout's and the build directory's paths are mapped away, so the
    // bytes do not depend on where the build ran.
    let checkout = env!("CARGO_MANIFEST_DIR").as_bytes();
    let out_dir = env!("OUT_DIR").as_bytes();
    for v in DwarfVersion::ALL {
        let bytes = kernel_bytes(v);
        assert!(
            !bytes.windows(out_dir.len()).any(|w| w == out_dir),
            "DWARF {v} image names the build directory"
        );
        assert!(
            !bytes.windows(checkout.len()).any(|w| w == checkout),
            "DWARF {v} image names {}",
            env!("CARGO_MANIFEST_DIR")
        );
        assert!(
            bytes.windows(18).any(|w| w == b"/usr/src/sys/model"),
            "DWARF {v}: mapped source path missing"
        );
    }
}
