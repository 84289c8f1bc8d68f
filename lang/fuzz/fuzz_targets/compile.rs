//! libFuzzer target: any bytes as a D script, compiled against no guest and, when it compiles,
//! run through BEGIN and END. Run with `cargo +nightly fuzz run compile fuzz/corpus/compile`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut opts = lang::CompileOptions::default();
    opts.options.zdefs = true;
    let sources = [lang::Source::script("fuzz.d", text.as_ref())];
    if let Ok(mut p) = lang::compile(&sources, &lang::NoProbes, &lang::NoTypes, &opts) {
        let mut ctx = lang::HostContext::default();
        let mut sink = lang::BufferSink::default();
        p.fire(lang::BEGIN_ID, &mut ctx, &mut sink);
        p.end(&mut ctx, &mut sink);
    }
});
