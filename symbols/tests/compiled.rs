//! The index against real compilers: layouts.c prints sizeof/_Alignof/offsetof and bitfield
//! positions as the compiler laid them out; each test builds it with one DWARF flavour and
//! checks every printed fact against the index.

mod common;

use common::{assert_agrees, build, facts, have, run, Scope};
use std::process::Command;
use symbols::{KernelImage, Linkage, TypeKind};

/// Builds, runs, opens and checks one flavour; returns the image for extra checks.
fn flavour(
    compiler: &str,
    flags: &[&str],
) -> Option<(tempfile::TempDir, KernelImage, Vec<common::Fact>)> {
    if !have(compiler) {
        println!("SKIPPED: {compiler} is not installed; the {compiler} {flags:?} flavour was not checked");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = build(dir.path(), "layouts", compiler, flags);
    let facts = facts(&run(&mut Command::new(&exe)));
    let image = KernelImage::open(&exe).unwrap_or_else(|e| panic!("{e}"));
    assert_agrees(&image, &facts, Scope::Everything);
    Some((dir, image, facts))
}

/// Checks what the facts do not cover: signatures, C names, cross-unit declarations.
fn check_details(image: &KernelImage, gcc: bool) {
    let f = common::assert_sosend_signature(image, "sosend_like");
    assert_eq!(f.linkage, Linkage::Global);
    assert_eq!(image.c_name(f.ret).expect("ret"), "int");
    assert_eq!(
        image
            .function("local_helper")
            .expect("local_helper")
            .linkage,
        Linkage::Static
    );
    if gcc {
        // gcc inlines triple_plus_one into main and also emits the copy out_of_line points at.
        assert!(
            image
                .function("triple_plus_one")
                .expect("out-of-line copy")
                .inline_copy
        );
    }

    let ifnet = image.find_type("struct ifnet").expect("ifnet");
    let out = image.member_path(ifnet, "if_output").expect("if_output");
    assert_eq!(
        image.c_name(out.ty).expect("c_name"),
        "int (*)(struct ifnet *, struct mbuf *, const struct sockaddr *, struct route *)"
    );
    let anon = image.find_type("struct anon_members").expect("anon");
    let c_of = |path: &str| {
        image
            .c_name(image.member_path(anon, path).expect(path).ty)
            .expect("c_name")
    };
    assert_eq!(c_of("cp"), "const char *");
    assert_eq!(c_of("pc"), "char *const");
    assert_eq!(c_of("cv"), "const volatile int");

    let flex = image.find_type("struct flex").expect("flex");
    let grid = image.member_path(flex, "grid").expect("grid");
    assert!(image.c_name(grid.ty).expect("grid").ends_with(" [3][5]"));
    let row = image.member_path(flex, "grid[1]").expect("grid[1]");
    assert_eq!(image.type_info(row.ty).expect("row").size, Some(10));
    let data = image
        .type_info(image.member_path(flex, "data").expect("data").ty)
        .expect("data");
    assert!(
        matches!(data.kind, TypeKind::Array { count: None, .. }),
        "{data:?}"
    );

    // struct tcpcb's CU only declares struct hidden; its size comes from other.c's definition.
    let tcpcb = image.find_type("tcpcb_t").expect("typedef");
    let hidden_ptr = image.member_path(tcpcb, "t_hidden").expect("t_hidden").ty;
    assert_eq!(image.c_name(hidden_ptr).expect("c_name"), "struct hidden *");
    let TypeKind::Pointer(hidden) = image.type_info(hidden_ptr).expect("ptr").kind else {
        panic!("not a pointer")
    };
    let complete = image.type_info(hidden).expect("hidden");
    let defined = image
        .type_info(image.find_type("struct hidden").expect("hidden"))
        .expect("def");
    assert_eq!(complete.size, defined.size);
    assert!(!complete.incomplete && complete.size.is_some());

    assert_eq!(
        image
            .c_name(image.find_type("struct tcpcb *").expect("ptr"))
            .expect("c"),
        "struct tcpcb *"
    );
    let g = image.global("tcb0").expect("tcb0");
    assert_eq!(
        image.c_name(g.ty.expect("type")).expect("c"),
        "struct tcpcb"
    );
    assert_eq!(image.elf_symbol("tcb0").expect("sym").address, g.address);
    let matching = image.functions_matching("so*_like").expect("glob");
    assert_eq!(matching, ["sosend_like"]);
}

#[test]
fn gcc_dwarf2() {
    if let Some((_d, image, _)) = flavour("gcc", &["-gdwarf-2"]) {
        check_details(&image, true);
    }
}

#[test]
fn gcc_dwarf3() {
    if let Some((_d, image, _)) = flavour("gcc", &["-gdwarf-3"]) {
        check_details(&image, true);
    }
}

#[test]
fn gcc_dwarf4() {
    if let Some((_d, image, _)) = flavour("gcc", &["-gdwarf-4"]) {
        check_details(&image, true);
    }
}

#[test]
fn gcc_dwarf5() {
    if let Some((_d, image, _)) = flavour("gcc", &["-gdwarf-5"]) {
        check_details(&image, true);
    }
}

/// Types in DWARF 4 .debug_types units, referenced by signature (DW_FORM_ref_sig8).
#[test]
fn gcc_dwarf4_type_units() {
    if let Some((_d, image, _)) = flavour("gcc", &["-gdwarf-4", "-fdebug-types-section"]) {
        let sections = image.sections().expect("sections");
        assert!(
            sections.iter().any(|s| s.name == ".debug_types"),
            "{sections:?}"
        );
        check_details(&image, true);
    }
}

/// Types in DWARF 5 type units inside .debug_info.
#[test]
fn gcc_dwarf5_type_units() {
    if let Some((_d, image, _)) = flavour("gcc", &["-gdwarf-5", "-fdebug-types-section"]) {
        check_details(&image, true);
    }
}

#[test]
fn gcc_compressed_shf_compressed() {
    if let Some((_d, image, _)) = flavour("gcc", &["-gdwarf-4", "-gz=zlib"]) {
        let sections = image.sections().expect("sections");
        assert!(
            sections
                .iter()
                .any(|s| s.name == ".debug_info" && s.compressed),
            "{sections:?}"
        );
        check_details(&image, true);
    }
}

#[test]
fn gcc_compressed_zdebug() {
    if let Some((_d, image, _)) = flavour("gcc", &["-gdwarf-4", "-gz=zlib-gnu"]) {
        let sections = image.sections().expect("sections");
        assert!(
            sections
                .iter()
                .any(|s| s.name == ".zdebug_info" && s.compressed),
            "{sections:?}"
        );
        check_details(&image, true);
    }
}

#[test]
fn clang_dwarf2() {
    if let Some((_d, image, _)) = flavour("clang", &["-gdwarf-2"]) {
        check_details(&image, false);
    }
}

#[test]
fn clang_dwarf3() {
    if let Some((_d, image, _)) = flavour("clang", &["-gdwarf-3"]) {
        check_details(&image, false);
    }
}

#[test]
fn clang_dwarf4() {
    if let Some((_d, image, _)) = flavour("clang", &["-gdwarf-4"]) {
        check_details(&image, false);
    }
}

#[test]
fn clang_dwarf5() {
    if let Some((_d, image, _)) = flavour("clang", &["-gdwarf-5"]) {
        check_details(&image, false);
    }
}

/// A `gcc -c` object keeps its DWARF references as relocations in .rela.debug_*.
#[test]
fn gcc_relocatable_object() {
    for dwarf in ["-gdwarf-2", "-gdwarf-5"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = build(dir.path(), "layouts", "gcc", &[dwarf]);
        let facts = facts(&run(&mut Command::new(&exe)));
        let c = common::c_dir();
        let obj = dir.path().join("layouts.o");
        run(Command::new("gcc")
            .args([dwarf, "-O2", "-c", "-I"])
            .arg(&c)
            .arg("-o")
            .arg(&obj)
            .arg(c.join("layouts.c")));
        let image = KernelImage::open(&obj).unwrap_or_else(|e| panic!("{e}"));
        let sections = image.sections().expect("sections");
        assert!(
            sections.iter().any(|s| s.name == ".rela.debug_info"),
            "{sections:?}"
        );
        // struct hidden is defined only in other.c, which is not in this object.
        let local: Vec<_> = facts
            .into_iter()
            .filter(|f| !matches!(f, common::Fact::Size(t, _) | common::Fact::Offset(t, _, _) if t == "struct hidden"))
            .collect();
        common::assert_agrees(&image, &local, Scope::TypesOnly);
        let f = image.function("sosend_like").expect("sosend_like");
        assert_eq!(f.params.len(), 7);
        assert_eq!(f.params[6].name.as_deref(), Some("td"));
    }
}
