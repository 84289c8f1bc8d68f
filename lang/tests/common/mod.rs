//! Mock provider side for lang's tests: a probe catalog, guest memory, and per-event context.
#![allow(dead_code)]

use std::collections::BTreeMap;

use lang::{
    compile, ArgType, BufferSink, Builtin, CompileOptions, DeclaredTypes, Fault, FireContext, Flow,
    ProbeCatalog, ProbeInfo, Program, Source, TypeSource,
};

/// A catalog from a list of probes.
#[derive(Default, Clone)]
pub struct Catalog {
    pub probes: Vec<ProbeInfo>,
    pub missing: Vec<Builtin>,
}

impl ProbeCatalog for Catalog {
    fn probes(&self) -> &[ProbeInfo] {
        &self.probes
    }
    fn unavailable(&self, var: Builtin) -> Option<String> {
        self.missing
            .contains(&var)
            .then(|| format!("{} is not available on this guest", var.name()))
    }
}

/// A probe with argument types `(native, translated)`.
pub fn probe(
    id: u32,
    p: &str,
    m: &str,
    f: &str,
    n: &str,
    args: &[(&str, Option<&str>)],
) -> ProbeInfo {
    ProbeInfo {
        id,
        provider: p.into(),
        module: m.into(),
        function: f.into(),
        name: n.into(),
        args: args
            .iter()
            .map(|(n, t)| ArgType {
                native: n.to_string(),
                translated: t.map(str::to_string),
            })
            .collect(),
    }
}

/// Guest memory as a set of mapped regions.
#[derive(Default, Clone)]
pub struct Memory {
    pub regions: BTreeMap<u64, Vec<u8>>,
}

impl Memory {
    pub fn map(&mut self, addr: u64, bytes: &[u8]) {
        self.regions.insert(addr, bytes.to_vec());
    }
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        for (i, b) in buf.iter_mut().enumerate() {
            let a = addr.wrapping_add(i as u64);
            let hit = self
                .regions
                .range(..=a)
                .next_back()
                .and_then(|(base, bytes)| bytes.get((a - base) as usize));
            match hit {
                Some(v) => *b = *v,
                None => return Err(Fault { addr: a }),
            }
        }
        Ok(())
    }
}

/// One event's context.
#[derive(Clone, Default)]
pub struct Ctx {
    pub args: Vec<u64>,
    pub mem: Memory,
    pub thread: u64,
    pub timestamp: u64,
    pub cpu: u64,
    pub pid: u64,
    pub execname: String,
}

impl FireContext for Ctx {
    fn arg(&self, i: usize) -> u64 {
        self.args.get(i).copied().unwrap_or(0)
    }
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.mem.read(addr, buf)
    }
    fn builtin(&mut self, var: Builtin) -> u64 {
        match var {
            Builtin::Timestamp | Builtin::Vtimestamp => self.timestamp,
            Builtin::Cpu => self.cpu,
            Builtin::Pid => self.pid,
            Builtin::Walltimestamp => 1_700_000_000_000_000_000,
            _ => 0,
        }
    }
    fn execname(&mut self) -> Vec<u8> {
        self.execname.clone().into_bytes()
    }
    fn thread_key(&mut self) -> u64 {
        self.thread
    }
    fn symbolize(&self, addr: u64) -> Option<String> {
        (addr == 0xffffffff80a00010).then(|| "kernel`tcp_output+0x10".to_string())
    }
}

/// What a run printed.
#[derive(Debug)]
pub struct Run {
    pub out: String,
    pub err: Vec<String>,
    pub status: i32,
}

/// Compiles `script` and returns the program or the error text.
pub fn build(
    script: &str,
    cat: &Catalog,
    types: &dyn TypeSource,
    opts: &CompileOptions,
) -> Result<Program, String> {
    compile(&[Source::script("test.d", script)], cat, types, opts).map_err(|e| e.to_string())
}

/// Runs a script the way dtrace does: BEGIN, then each event (probe id, context) until exit(),
/// then END and the end-of-run printing.
pub fn run_with(
    script: &str,
    cat: &Catalog,
    types: &dyn TypeSource,
    opts: &CompileOptions,
    events: &[(u32, Ctx)],
) -> Run {
    let mut prog = match build(script, cat, types, opts) {
        Ok(p) => p,
        Err(e) => panic!("compile failed:\n{e}"),
    };
    let mut sink = BufferSink::default();
    let mut base = Ctx::default();
    let mut flow = prog.fire(lang::BEGIN_ID, &mut base, &mut sink);
    for (id, ctx) in events {
        if flow != Flow::Continue {
            break;
        }
        let mut c = ctx.clone();
        flow = prog.fire(*id, &mut c, &mut sink);
    }
    let status = prog.end(&mut base, &mut sink);
    Run {
        out: String::from_utf8_lossy(&sink.out).into_owned(),
        err: sink.err,
        status,
    }
}

/// Runs a script with no guest probes or types.
pub fn run(script: &str) -> Run {
    run_with(
        script,
        &Catalog::default(),
        &DeclaredTypes::default(),
        &CompileOptions::default(),
        &[],
    )
}

/// The compile error text of a script.
pub fn compile_error(script: &str) -> String {
    match build(
        script,
        &Catalog::default(),
        &DeclaredTypes::default(),
        &CompileOptions::default(),
    ) {
        Ok(_) => panic!("script compiled but should not have:\n{script}"),
        Err(e) => e,
    }
}
