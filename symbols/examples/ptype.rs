//! Prints the full layout of a type (every member, nested structs and unions expanded), like
//! `pahole -E` or gdb's `ptype /o`: `ptype FILE 'struct tcp_sock'`. Used by bench.sh.

use symbols::{KernelImage, TypeKind, TypeRef};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: ptype ELF-FILE 'struct NAME'");
        std::process::exit(2);
    }
    if let Err(e) = run(&args[1], &args[2]) {
        eprintln!("ptype: {e}");
        std::process::exit(1);
    }
}

fn run(path: &str, name: &str) -> symbols::Result<()> {
    let start = std::time::Instant::now();
    let image = KernelImage::open(path)?;
    let opened = start.elapsed();
    let t = image.find_type(name)?;
    let found = start.elapsed();
    let info = image.type_info(t)?;
    let mut out = String::new();
    let members = print(&image, t, 0, 1, &mut out)?;
    if std::env::var_os("PTYPE_TIMES").is_some() {
        eprintln!(
            "open {opened:?} find {found:?} layout {:?}",
            start.elapsed()
        );
        // Peak and current memory, split into anonymous (the index) and file (mapped DWARF).
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        for line in status
            .lines()
            .filter(|l| l.starts_with("VmHWM") || l.starts_with("Rss"))
        {
            eprintln!("{line}");
        }
    }
    print!("{out}");
    println!(
        "/* size: {:?}, align: {:?}, members: {members} */",
        info.size, info.align
    );
    Ok(())
}

/// Appends one line per member below `t`, recursing into embedded structs and unions; returns
/// the number of members printed.
fn print(
    image: &KernelImage,
    t: TypeRef,
    base: u64,
    depth: usize,
    out: &mut String,
) -> symbols::Result<usize> {
    let (_, info) = image.strip_typedefs(t)?;
    let (TypeKind::Struct(members) | TypeKind::Union(members)) = info.kind else {
        return Ok(0);
    };
    let mut count = 0;
    for m in members {
        let bits = base + m.bit_offset;
        let width = m.bit_size.map(|b| format!(":{b}")).unwrap_or_default();
        let name = m.name.as_deref().unwrap_or("");
        out.push_str(&format!(
            "{:indent$}{} {name}{width}; /* {} {} */\n",
            "",
            image.c_name(m.ty)?,
            bits / 8,
            image.size_of(m.ty)?.unwrap_or(0),
            indent = depth * 4
        ));
        count += 1 + print(image, m.ty, bits, depth + 1, out)?;
    }
    Ok(count)
}
