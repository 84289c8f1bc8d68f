//! The index on the model guest's kernel (guests::model, built with DWARF 2, 4 and 5): its
//! FreeBSD-shaped structures against what gcc says about the same headers (tests/c/
//! model_facts.c, compiled with the model's include path and ABI flags), and its functions,
//! SDT probe objects and globals.

mod common;

use common::{check, run, Fact, Scope};
use guests::model::{kernel_elf, DwarfVersion};
use std::path::Path;
use std::process::Command;
use symbols::{KernelImage, TypeKind};

const NAME_LEN: usize = 96;

/// Compiles model_facts.c and reads its .facts and .bitfacts sections back.
fn compiler_facts(dir: &Path) -> Vec<Fact> {
    let kernel_include = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests/kernel/include");
    let gcc_include = run(Command::new("gcc").arg("-print-file-name=include"));
    let obj = dir.join("model_facts.o");
    run(Command::new("gcc")
        .args([
            "-c",
            "-O2",
            "-std=gnu99",
            "-ffreestanding",
            "-fno-builtin",
            "-nostdinc",
            "-fno-pic",
        ])
        .args([
            "-fno-pie",
            "-mcmodel=kernel",
            "-mno-red-zone",
            "-isystem",
            gcc_include.trim(),
            "-I",
        ])
        .arg(&kernel_include)
        .arg(common::c_dir().join("model_facts.c"))
        .arg("-o")
        .arg(&obj));
    let section = |name: &str| -> Vec<u8> {
        let out = dir.join(format!("{name}.bin"));
        run(Command::new("objcopy")
            .args(["-O", "binary", "--only-section", name])
            .arg(&obj)
            .arg(&out));
        std::fs::read(&out).expect("section dump")
    };
    let text = |bytes: &[u8]| {
        String::from_utf8_lossy(&bytes[..NAME_LEN])
            .trim_end_matches('\0')
            .to_string()
    };
    let mut facts = Vec::new();
    for record in section(".facts").chunks_exact(NAME_LEN + 8) {
        let value = u64::from_le_bytes(record[NAME_LEN..].try_into().expect("8 bytes"));
        let what = text(record);
        let words: Vec<&str> = what.split(' ').collect();
        facts.push(match words[0] {
            "size" => Fact::Size(words[1..].join(" "), value),
            _ => Fact::Offset(words[1..3].join(" "), words[3].into(), value),
        });
    }
    for record in section(".bitfacts").chunks_exact(NAME_LEN + 64) {
        let what = text(record);
        let words: Vec<&str> = what.split(' ').collect();
        let bits: Vec<u64> = (0..64 * 8)
            .filter(|b| record[NAME_LEN + b / 8] & (1 << (b % 8)) != 0)
            .map(|b| b as u64)
            .collect();
        facts.push(Fact::Bits(
            words[1..3].join(" "),
            words[3].into(),
            bits[0],
            bits.len() as u64,
        ));
    }
    facts
}

fn open(v: DwarfVersion) -> KernelImage {
    let path = kernel_elf(v).unwrap_or_else(|e| panic!("model kernel: {e}"));
    KernelImage::open(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn model_layouts_match_gcc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let facts = compiler_facts(dir.path());
    assert!(facts.len() > 60, "only {} facts", facts.len());
    for v in DwarfVersion::ALL {
        let image = open(v);
        let (bad, checked) = check(&image, &facts, Scope::TypesOnly);
        assert!(bad.is_empty(), "DWARF {}: {}", v.number(), bad.join("\n"));
        assert_eq!(checked, facts.len());
    }
}

#[test]
fn model_functions_probes_and_globals() {
    for v in DwarfVersion::ALL {
        let image = open(v);
        let at = |what: &str| format!("DWARF {}: {what}", v.number());

        // fbt args[] of sosend_generic: FreeBSD 10.4's seven parameters.
        let f = common::assert_sosend_signature(&image, "sosend_generic");
        assert_eq!(
            f.address,
            image.elf_symbol("sosend_generic").expect("symbol").address
        );
        assert_eq!(
            image.symbolize(f.address + 4).expect("symbolize"),
            Some(("sosend_generic".into(), 4))
        );
        let tcp_output = image.function("tcp_output").expect("tcp_output");
        assert_eq!(
            image.c_name(tcp_output.params[0].ty).expect("c"),
            "struct tcpcb *"
        );
        assert!(image
            .functions_matching("tcp_*")
            .expect("glob")
            .contains(&"tcp_output".to_string()));

        // struct sdt_probe as FreeBSD 10.4 declares it, and a probe object of that type.
        let probe_t = image.find_type("struct sdt_probe").expect("sdt_probe");
        let TypeKind::Struct(members) = image.type_info(probe_t).expect("info").kind else {
            panic!("not a struct")
        };
        let names: Vec<_> = members
            .iter()
            .map(|m| m.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            [
                "version",
                "prov",
                "probe_entry",
                "argtype_list",
                "mod",
                "func",
                "name",
                "id",
                "n_args",
                "sdtp_lf"
            ],
            "{}",
            at("sdt_probe members")
        );
        // SDT_PROBE_DEFINE makes each probe a one-element array, as in FreeBSD.
        let send = image.global("sdt_ip___send").expect("probe object");
        assert_eq!(
            image.c_name(send.ty.expect("type")).expect("c"),
            "struct sdt_probe [1]"
        );
        assert_eq!(send.size, image.type_info(probe_t).expect("info").size);
        let id = image.member_path(probe_t, "id").expect("id");
        assert_eq!(image.c_name(id.ty).expect("c"), "id_t");

        let tcpcb = image.find_type("struct tcpcb").expect("tcpcb");
        assert_eq!(
            image
                .c_name(image.member_path(tcpcb, "t_state").expect("t_state").ty)
                .expect("c"),
            "int"
        );

        assert_eq!(
            image.global_bytes("osrelease").expect("osrelease"),
            b"10.4-RELEASE\0"
        );
        let hz = image.global("hz").expect("hz");
        assert_eq!(image.c_name(hz.ty.expect("type")).expect("c"), "int");
        assert_eq!(
            image.read_bytes(hz.address, 4).expect("hz"),
            1000i32.to_le_bytes()
        );
    }
}
