//! Mock provider side for lang's tests: a probe catalog, guest memory, and per-event context.
#![allow(dead_code)]

pub mod tcp;

use lang::{compile, BufferSink, CompileOptions, DeclaredTypes, Flow, Program, Source, TypeSource};

#[allow(unused_imports)]
pub use lang::mock::{probe, Catalog, Ctx, Memory};

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
