//! Optional: Debian's real vmlinux (linux-image-*-cloud-amd64-dbg, DWARF 5 from gcc) against
//! pahole's view of struct sock, struct tcp_sock and struct sk_buff. Skipped, with a message,
//! when the file or pahole is absent; symbols/bench.sh fetches the file into the cache below.

use std::path::PathBuf;
use std::process::Command;
use symbols::KernelImage;

fn find_vmlinux() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SYMBOLS_VMLINUX") {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let dirs = [
        home.join(".cache/guestrace-symbols/root/usr/lib/debug/boot"),
        PathBuf::from("/usr/lib/debug/boot"),
    ];
    let mut found: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinux-"))
        })
        .collect();
    found.sort();
    found.pop()
}

/// The vmlinux and pahole's output for `args` on it; None (with a message) when either is absent.
fn pahole(args: &[&str]) -> Option<(PathBuf, String)> {
    let Some(vmlinux) = find_vmlinux() else {
        println!(
            "SKIPPED: no Debian vmlinux (set SYMBOLS_VMLINUX or run symbols/bench.sh to fetch one)"
        );
        return None;
    };
    let Ok(out) = Command::new("pahole").args(args).arg(&vmlinux).output() else {
        println!("SKIPPED: pahole is not installed (Debian package dwarves)");
        return None;
    };
    Some((vmlinux, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// A member pahole printed directly inside the struct: name, byte offset, size, bitfield?
struct PaholeMember {
    name: String,
    offset: u64,
    size: u64,
    bitfield: bool,
}

/// Parses `pahole -C a,b,c` output into (struct name, size, top-level members).
fn parse_pahole(text: &str) -> Vec<(String, u64, Vec<PaholeMember>)> {
    let mut out = Vec::new();
    let mut depth = 0;
    for line in text.lines() {
        let trimmed = line.trim();
        if depth == 0 {
            if let Some(name) = trimmed
                .strip_prefix("struct ")
                .and_then(|r| r.strip_suffix(" {"))
            {
                out.push((name.to_string(), 0, Vec::new()));
                depth = 1;
            }
            continue;
        }
        let Some((_, _, members)) = out.last_mut() else {
            continue;
        };
        if let Some(rest) = trimmed.strip_prefix("/* size: ") {
            let size = rest
                .split(',')
                .next()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            if let Some(last) = out.last_mut() {
                last.1 = size;
            }
            continue;
        }
        let closing = trimmed.starts_with('}');
        if trimmed.ends_with('{') {
            depth += 1;
            continue;
        }
        if closing {
            depth -= 1;
        }
        if depth != 1 || trimmed.starts_with("/*") {
            continue;
        }
        let Some((decl, comment)) = trimmed.split_once(';') else {
            continue;
        };
        let nums: Vec<&str> = comment
            .trim()
            .trim_start_matches("/*")
            .trim_end_matches("*/")
            .split_whitespace()
            .collect();
        if nums.len() < 2 {
            continue;
        }
        let bitfield = nums[0].ends_with(':');
        let (Ok(offset), Some(Ok(size))) = (
            nums[0].trim_end_matches(':').parse(),
            nums.last().map(|s| s.parse()),
        ) else {
            continue;
        };
        let decl = decl.split(" __attribute__").next().unwrap_or(decl);
        let name = match decl.find("(*") {
            Some(i) => decl[i + 2..].split(')').next().unwrap_or("").to_string(),
            None => {
                let last = decl.split_whitespace().last().unwrap_or("");
                last.split(['[', ':'])
                    .next()
                    .unwrap_or("")
                    .trim_start_matches('*')
                    .to_string()
            }
        };
        if !name.is_empty() && name != "}" {
            members.push(PaholeMember {
                name,
                offset,
                size,
                bitfield,
            });
        }
    }
    out
}

#[test]
fn debian_vmlinux_matches_pahole() {
    let Some((vmlinux, out)) = pahole(&["-C", "sock,tcp_sock,sk_buff"]) else {
        return;
    };
    let structs = parse_pahole(&out);
    assert_eq!(structs.len(), 3, "pahole printed {} structs", structs.len());
    let image = KernelImage::open(&vmlinux).unwrap_or_else(|e| panic!("{e}"));
    for (name, size, members) in structs {
        let t = image.find_type(&format!("struct {name}")).expect("type");
        assert_eq!(
            image.type_info(t).expect("info").size,
            Some(size),
            "size of struct {name}"
        );
        assert!(
            members.len() > 20,
            "struct {name}: only {} members parsed",
            members.len()
        );
        for m in &members {
            let got = image
                .member_path(t, &m.name)
                .unwrap_or_else(|e| panic!("struct {name}.{}: {e}", m.name));
            if m.bitfield {
                // pahole gives the storage unit's offset and size; the field lies inside it.
                let unit = m.offset * 8..(m.offset + m.size) * 8;
                assert!(
                    unit.contains(&got.bit_offset),
                    "struct {name}.{}: bit {} not in {unit:?}",
                    m.name,
                    got.bit_offset
                );
            } else {
                assert_eq!(got.offset, m.offset, "struct {name}.{}", m.name);
                assert_eq!(
                    image.size_of(got.ty).expect("size"),
                    Some(m.size),
                    "size of struct {name}.{}",
                    m.name
                );
            }
        }
        println!(
            "struct {name}: size {size} and {} member offsets agree with pahole",
            members.len()
        );
    }
}

#[test]
fn debian_vmlinux_every_struct_size_matches_pahole() {
    let Some((vmlinux, out)) = pahole(&["--sizes"]) else {
        return;
    };
    // "name<TAB>size<TAB>holes", one line per struct; a name defined differently in two
    // units may appear twice, and either definition may be the one found.
    let mut sizes: std::collections::HashMap<String, Vec<u64>> = std::collections::HashMap::new();
    for line in out.lines() {
        let mut f = line.split('\t');
        if let (Some(name), Some(Ok(size))) = (f.next(), f.next().map(str::parse)) {
            sizes.entry(name.to_string()).or_default().push(size);
        }
    }
    assert!(
        sizes.len() > 5000,
        "pahole listed only {} structs",
        sizes.len()
    );
    let image = KernelImage::open(&vmlinux).unwrap_or_else(|e| panic!("{e}"));
    let mut wrong = Vec::new();
    for (name, want) in &sizes {
        let t = image
            .find_type(&format!("struct {name}"))
            .or_else(|_| image.find_type(&format!("union {name}")));
        let got = t.and_then(|t| image.size_of(t));
        match got {
            Ok(Some(size)) if want.contains(&size) => {}
            other => wrong.push(format!("{name}: {other:?}, pahole {want:?}")),
        }
    }
    wrong.sort();
    assert!(
        wrong.is_empty(),
        "{} of {} sizes differ:\n{}",
        wrong.len(),
        sizes.len(),
        wrong.join("\n")
    );
    println!("all {} struct sizes agree with pahole", sizes.len());
}
