//! Malformed DWARF must give errors, never a panic or a hang: a compiled program's debug
//! sections are overwritten at many places and every query is run on the result.

mod common;

use common::build;
use symbols::{KernelImage, TypeKind, TypeRef};

/// Walks a type's members a few levels down, as a layout printer would.
fn walk(image: &KernelImage, t: TypeRef, depth: u32) {
    if depth > 6 {
        return;
    }
    let _ = image.c_name(t);
    let Ok((_, info)) = image.strip_typedefs(t) else {
        return;
    };
    if let TypeKind::Struct(members) | TypeKind::Union(members) = info.kind {
        for m in members {
            walk(image, m.ty, depth + 1);
        }
    }
}

fn exercise(image: &KernelImage) {
    for name in [
        "struct tcpcb",
        "struct mbuf",
        "struct ip",
        "tcpcb_t",
        "struct anon_members",
        "struct flex",
        "int",
    ] {
        if let Ok(t) = image.find_type(name) {
            walk(image, t, 0);
            let _ = image.member_path(t, "inp_inc.inc_ie.ie_fport");
            let _ = image.member_path(t, "grid[2][3]");
        }
    }
    for f in ["main", "sosend_like", "triple_plus_one", "asm_only"] {
        if let Ok(f) = image.function(f) {
            for p in f.params {
                walk(image, p.ty, 0);
            }
            let _ = image.symbolize(f.address + 1);
        }
    }
    for g in ["tcb0", "version", "hidden_ptr"] {
        let _ = image.global(g);
        let _ = image.global_bytes(g);
    }
    let _ = image.functions_matching("*");
}

#[test]
fn corrupted_debug_sections_give_errors_not_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = build(dir.path(), "layouts", "gcc", &["-gdwarf-4"]);
    let pristine = std::fs::read(&exe).expect("read");
    let image = KernelImage::open(&exe).expect("open");
    let targets: Vec<_> = image
        .sections()
        .expect("sections")
        .into_iter()
        .filter(|s| [".debug_info", ".debug_abbrev", ".debug_str"].contains(&s.name.as_str()))
        .collect();
    assert_eq!(targets.len(), 3);
    drop(image);
    // A fixed linear congruential sequence: the same places every run.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        seed >> 33
    };
    let (mut opened, mut failed) = (0, 0);
    for round in 0..240 {
        let section = &targets[round % targets.len()];
        let mut bytes = pristine.clone();
        // Every eighth round hits the section's first bytes (a unit header, the first abbrev).
        let at = section.file_offset
            + if round % 8 == 0 {
                next() % 8
            } else {
                next() % section.size
            };
        let len = 1 + next() % 24;
        for i in 0..len {
            let Some(b) = bytes.get_mut((at + i) as usize) else {
                break;
            };
            *b = match round % 3 {
                0 => 0xff,
                1 => 0,
                _ => next() as u8,
            };
        }
        let path = dir.path().join(format!("corrupt{round}"));
        std::fs::write(&path, &bytes).expect("write");
        match KernelImage::open(&path) {
            Ok(image) => {
                opened += 1;
                exercise(&image);
            }
            Err(e) => {
                failed += 1;
                assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            }
        }
    }
    println!("{opened} corrupted files opened and queried, {failed} refused at open");
}
