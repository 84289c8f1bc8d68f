//! Runs the language-only tests of a DTrace test suite checkout (`*.d` with a `.d.out`) through
//! lang with no guest, firing BEGIN, simulated profile ticks and END, and compares stdout.
//!
//! Usage: `cargo run -p lang --example oracle -- SUITE_DIR [REPORT_FILE]`. The suite itself is
//! never part of this repository; point this at a local checkout.

use std::path::{Path, PathBuf};

use lang::{
    compile, BufferSink, Builtin, CompileOptions, Fault, FireContext, Flow, NoProbes, NoTypes,
    ProbeKind, Source,
};

/// A firing context on a simulated clock, with no guest memory.
struct SimContext {
    now: u64,
    /// arg0 of the probe firing (profile probes carry the interrupted kernel pc there).
    arg0: u64,
}

impl FireContext for SimContext {
    fn arg(&self, i: usize) -> u64 {
        if i == 0 {
            self.arg0
        } else {
            0
        }
    }
    fn read(&mut self, addr: u64, _buf: &mut [u8]) -> Result<(), Fault> {
        Err(Fault { addr })
    }
    fn builtin(&mut self, var: Builtin) -> u64 {
        match var {
            Builtin::Timestamp | Builtin::Vtimestamp => self.now,
            Builtin::Walltimestamp => 1_500_000_000_000_000_000 + self.now,
            Builtin::Pid | Builtin::Tid => 4242,
            _ => 0,
        }
    }
    fn execname(&mut self) -> Vec<u8> {
        b"dtrace".to_vec()
    }
    fn thread_key(&mut self) -> u64 {
        1
    }
}

enum Outcome {
    Pass,
    Mismatch(Vec<u8>),
    CompileError(String),
}

fn run_one(path: &Path) -> Outcome {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Outcome::CompileError("unreadable".into());
    };
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    // The suite's harness runs `dtrace -C -s`.
    let opts = CompileOptions {
        cpp: Some(Default::default()),
        ..Default::default()
    };
    let prog = compile(&[Source::script(name, text)], &NoProbes, &NoTypes, &opts);
    let mut prog = match prog {
        Ok(p) => p,
        Err(e) => {
            return Outcome::CompileError(e.to_string().lines().next().unwrap_or("").to_string())
        }
    };
    let mut ctx = SimContext {
        now: 1_000_000,
        arg0: 0,
    };
    let mut sink = BufferSink::default();
    let mut flow = prog.fire(lang::BEGIN_ID, &mut ctx, &mut sink);
    let ticks: Vec<(u32, u64)> = prog
        .enabled_probes()
        .iter()
        .filter_map(|p| match p.kind {
            ProbeKind::Tick { period_ns } | ProbeKind::Profile { period_ns } => {
                Some((p.info.id, period_ns))
            }
            _ => None,
        })
        .collect();
    let mut next: Vec<u64> = ticks.iter().map(|t| ctx.now + t.1).collect();
    let mut firings = 0;
    while flow == Flow::Continue && !ticks.is_empty() && firings < 200_000 {
        let (i, &at) = next
            .iter()
            .enumerate()
            .min_by_key(|(_, t)| **t)
            .unwrap_or((0, &0));
        ctx.now = at;
        next[i] = at + ticks[i].1;
        ctx.arg0 = 0xffff_ffff_8000_1000;
        flow = prog.fire(ticks[i].0, &mut ctx, &mut sink);
        ctx.arg0 = 0;
        firings += 1;
    }
    prog.end(&mut ctx, &mut sink);
    let want = std::fs::read(path.with_extension("d.out")).unwrap_or_default();
    if sink.out == want {
        Outcome::Pass
    } else {
        Outcome::Mismatch(sink.out)
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "d") && p.with_extension("d.out").exists() {
            out.push(p);
        }
    }
}

fn collect_errs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for p in rd.filter_map(|e| e.ok().map(|e| e.path())) {
        if p.is_dir() {
            collect_errs(&p, out);
        } else if p.extension().is_some_and(|e| e == "d")
            && p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("err."))
        {
            out.push(p);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: oracle SUITE_DIR [REPORT_FILE]");
        std::process::exit(2);
    };
    let mut tests = Vec::new();
    collect(Path::new(dir), &mut tests);
    let (mut pass, mut mismatch, mut cerr) = (0, 0, 0);
    let mut report = String::new();
    for t in &tests {
        let rel = t.strip_prefix(dir).unwrap_or(t).display().to_string();
        match run_one(t) {
            Outcome::Pass => {
                pass += 1;
                report.push_str(&format!("PASS {rel}\n"));
            }
            Outcome::Mismatch(got) => {
                mismatch += 1;
                report.push_str(&format!("DIFF {rel}\n"));
                // With OUT_DIR set, keep what we printed for diffing against the .d.out.
                if let Ok(out_dir) = std::env::var("OUT_DIR") {
                    let file = Path::new(&out_dir).join(rel.replace('/', "_") + ".got");
                    let _ = std::fs::write(file, &got);
                }
            }
            Outcome::CompileError(e) => {
                cerr += 1;
                report.push_str(&format!("CERR {rel}: {e}\n"));
            }
        }
    }
    if let Some(file) = args.get(2) {
        if let Err(e) = std::fs::write(file, &report) {
            eprintln!("cannot write {file}: {e}");
        }
    } else {
        print!("{report}");
    }
    println!(
        "{} tests: {pass} pass, {mismatch} output differs, {cerr} do not compile (other providers, cpp, unsupported)",
        tests.len()
    );
    // The err.*.d tests expect dtrace to fail (exit status 1): count those lang rejects at compile time.
    let mut errs = Vec::new();
    collect_errs(Path::new(dir), &mut errs);
    let rejected = errs
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let opts = CompileOptions {
                cpp: Some(Default::default()),
                ..Default::default()
            };
            compile(&[Source::script("err.d", text)], &NoProbes, &NoTypes, &opts).is_err()
        })
        .count();
    println!(
        "{} err.* tests: {rejected} rejected at compile time",
        errs.len()
    );
}
