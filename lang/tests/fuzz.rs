//! Fuzzing on stable Rust: mutations of the corpus in lang/fuzz/corpus/compile are compiled
//! (with the mock TCP world) and, when they compile, run through BEGIN, a probe firing and END.
//! Nothing may panic, and no input may make the compiler or a firing take long. `cargo fuzz`
//! (lang/fuzz) runs the same target under libFuzzer for longer sessions.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use common::tcp;
use lang::{BufferSink, CompileOptions, Source};

/// xorshift64*: reproducible mutations without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Fragments that tend to reach deeper parser and checker states than random bytes.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "/",
    "*",
    "->",
    ".",
    ",",
    ";",
    "?",
    ":",
    "=",
    "==",
    "++",
    "@",
    "$1",
    "$$2",
    "\"",
    "'",
    "/*",
    "*/",
    "#pragma D option quiet\n",
    "self->",
    "this->",
    "args[4]->",
    "xlate<tcpinfo_t *>(",
    "sizeof(",
    "offsetof(",
    "stringof",
    "(struct tcphdr *)",
    "0x",
    "9999999999999999999999",
    "-1",
    "<<",
    "printf(\"%d %s %@d\", ",
    "printa(",
    "@a[1] = count();",
    "quantize(",
    "inline int Z = ",
    "translator ",
    "typedef ",
    "struct x { int a:3; };",
    "tcp:::send ",
    "BEGIN",
    "END",
    "\n",
    "\\",
    "`hz",
    "int x[",
    "exit(0);",
    "#define F(a) (a + 1)\n",
    "#if defined(X) || 1\n",
    "#else\n",
    "#endif\n",
    "F(",
    "#include \"x\"\n",
];

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut s: Vec<u8> = seed.as_bytes().to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(s.len() + 1);
        match rng.below(5) {
            0 if !s.is_empty() => {
                let len = rng.below(16).min(s.len() - at.min(s.len()));
                s.drain(at.min(s.len())..at.min(s.len()) + len);
            }
            1 => {
                let tok = TOKENS[rng.below(TOKENS.len())];
                s.splice(at..at, tok.bytes());
            }
            2 if !s.is_empty() => {
                let i = at.min(s.len() - 1);
                s[i] = (rng.next() & 0x7f) as u8;
            }
            3 => {
                // Duplicate a slice: repeats nest constructs.
                let from = rng.below(s.len() + 1);
                let len = rng.below(40).min(s.len() - from);
                let piece: Vec<u8> = s[from..from + len].to_vec();
                s.splice(at..at, piece);
            }
            _ => {
                let tok = TOKENS[rng.below(TOKENS.len())];
                s.splice(at..at, tok.bytes());
            }
        }
    }
    String::from_utf8_lossy(&s).into_owned()
}

/// Compiles and, if that works, runs one input; returns how long it took.
fn exercise(text: &str) -> Duration {
    let start = Instant::now();
    let sources = [
        Source::library("tcp.d", tcp::LIBRARY),
        Source::script("fuzz.d", text),
    ];
    let mut opts = CompileOptions::default();
    opts.options.zdefs = true;
    opts.options.argref = true;
    opts.macro_args = vec!["1".into(), "x".into()];
    // Half the inputs also go through the preprocessor (-C).
    if text.len().is_multiple_of(2) {
        opts.cpp = Some(Default::default());
    }
    if let Ok(mut p) = lang::compile(&sources, &tcp::catalog(), &tcp::types(), &opts) {
        let mut sink = BufferSink::default();
        let mut ctx = tcp::segment(0x12, true);
        p.fire(lang::BEGIN_ID, &mut ctx, &mut sink);
        p.fire(10, &mut ctx, &mut sink);
        p.end(&mut ctx, &mut sink);
    }
    start.elapsed()
}

fn corpus() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/compile");
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if let Ok(t) = std::fs::read_to_string(e.path()) {
                out.push(t);
            }
        }
    }
    out
}

#[test]
fn corpus_seeds_compile_or_fail_cleanly() {
    let seeds = corpus();
    assert!(seeds.len() >= 4, "the fuzz corpus is missing");
    for s in &seeds {
        let t = exercise(s);
        assert!(t < Duration::from_secs(2), "a seed took {t:?}");
    }
}

#[test]
fn mutated_inputs_never_panic_or_hang() {
    let seeds = corpus();
    let iterations: usize = std::env::var("LANG_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let seed: u64 = std::env::var("LANG_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let mut rng = Rng(seed | 1);
    for i in 0..iterations {
        let seed = &seeds[i % seeds.len()];
        let input = mutate(&mut rng, seed);
        let r = catch_unwind(AssertUnwindSafe(|| exercise(&input)));
        match r {
            Ok(t) => assert!(t < Duration::from_secs(2), "input took {t:?}:\n{input}"),
            Err(_) => panic!("lang panicked on input #{i}:\n{input}"),
        }
    }
}
