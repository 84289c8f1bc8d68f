//! `guestrace`: the command line. Parses options like dtrace(1) and wires them into the
//! library crates; it holds no tracing logic of its own.

mod cli;
mod manpage;
mod model;
mod qemu;
mod run;

use cli::Invocation;
use std::process::ExitCode;

/// The D language version FreeBSD 10's dtrace reports, which guestrace speaks.
const D_VERSION: &str = "Sun D 1.12.1";

fn main() -> ExitCode {
    let invocation = match cli::parse(std::env::args_os()) {
        Ok(inv) => inv,
        Err(err) => {
            // clap prints help and version to stdout with status 0, usage errors with status 2.
            let _ = err.print();
            return ExitCode::from(err.exit_code().clamp(0, 255) as u8);
        }
    };
    // Before anything touches a guest, so every exit path can restore it.
    providers::signals::install();
    let result = match invocation {
        Invocation::Version => {
            println!(
                "guestrace: {D_VERSION} (guestrace {})",
                env!("CARGO_PKG_VERSION")
            );
            Ok(0)
        }
        Invocation::Model(cmd) => model::run(cmd),
        Invocation::Qemu(args) => qemu::run(args),
        Invocation::Manpage => manpage::print_manpage(),
        Invocation::Completions(shell) => manpage::print_completions(shell),
        Invocation::Trace(args) => run::trace(args),
    };
    match result {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            eprintln!("guestrace: {}", causes(&err));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes, `: `-joined, leaving out a cause whose text the message above it
/// already contains (most of ours quote their source), so nothing is said twice.
fn causes(err: &anyhow::Error) -> String {
    let mut said = err.to_string();
    let mut last = said.clone();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !last.contains(&text) {
            said.push_str(": ");
            said.push_str(&text);
        }
        last = text;
    }
    said
}
