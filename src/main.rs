//! `guestrace`: the command line. Parses options like dtrace(1) and wires them into the
//! library crates; it holds no tracing logic of its own.

mod cli;

use cli::{Invocation, ModelCommand, TraceArgs};
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
    match run(invocation) {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            eprintln!("guestrace: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn run(invocation: Invocation) -> anyhow::Result<u8> {
    match invocation {
        Invocation::Version => {
            println!("guestrace: {D_VERSION} (guestrace {})", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Invocation::Model(cmd) => run_model(cmd),
        Invocation::Trace(args) => run_trace(args),
    }
}

fn run_model(cmd: ModelCommand) -> anyhow::Result<u8> {
    match cmd {
        ModelCommand::Boot { .. } => not_built("the model guest launcher (issue 3)"),
        ModelCommand::Kernel { .. } => not_built("the model guest kernel (issue 3)"),
    }
}

fn run_trace(args: TraceArgs) -> anyhow::Result<u8> {
    if args.sources.is_empty() && args.providers.is_empty() && !args.list && !args.cleanup {
        anyhow::bail!("no probes or script given: use -n DESCRIPTION, -s FILE, -P PROVIDER or -l");
    }
    not_built("the D compiler and the providers (issues 6 and 7)")
}

fn not_built(what: &str) -> anyhow::Result<u8> {
    anyhow::bail!("not built yet: {what}")
}
