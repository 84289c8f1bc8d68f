//! A tracing run: read the program, decide whether it needs a guest (BEGIN/END/ERROR/profile
//! programs do not), attach or boot one, compile, print dtrace's messages, run.

use std::io::Write;

use anyhow::{bail, Context};
use lang::{CompileOptions, NoProbes, NoTypes, Options, Source};
use providers::{Attach, Guest, WriterSink};

use crate::cli::{JsonOutput, ProgramSource, TraceArgs};

/// Runs `guestrace [-n|-s|-P|-l|...]`; returns the exit status.
pub fn trace(args: TraceArgs) -> anyhow::Result<u8> {
    if args.sources.is_empty()
        && args.providers.is_empty()
        && !args.list
        && !args.cleanup
        && args.pcap.is_none()
    {
        bail!("no probes or script given: use -n DESCRIPTION, -s FILE, -P PROVIDER or -l");
    }
    if args.target.gdb.is_some() && args.target.kernel.is_none() {
        eprintln!("guestrace: --gdb needs --kernel FILE (the guest kernel with DWARF)");
        return Ok(2);
    }
    if args.cleanup {
        return cleanup(&args);
    }
    let mut user = read_sources(&args)?;
    let opts = compile_options(&args)?;
    providers::progress::set_quiet(opts.options.quiet);
    if args.list {
        return list(&args);
    }
    for p in &args.providers {
        user.push(Source::description(format!("{p}:::")));
    }
    // --pcap enables ip:::send/receive itself, with a clause that prints nothing.
    if args.pcap.is_some() {
        user.push(Source::library(
            "guestrace --pcap",
            providers::pcap::CAPTURE_CLAUSE,
        ));
    }

    // A program of lang's own probes only runs on the host: no guest, nothing booted.
    if args.target.gdb.is_none() && !providers::needs_guest(&user, &args.macro_args) {
        let mut program = match lang::compile(&user, &NoProbes, &NoTypes, &opts) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return Ok(1);
            }
        };
        if args.compile_only {
            return Ok(0);
        }
        report_matches(&args, &program);
        let mut out = sink(&args)?;
        let status = providers::run_without_guest(&mut program, &mut out);
        providers::progress::RunSummary {
            errors: program.error_count(),
            ..Default::default()
        }
        .print();
        return Ok(status as u8);
    }

    let (mut guest, _model) = attach(&args, &user)?;
    let sources = providers::program_sources(Some(&guest), user);
    let mut program = match lang::compile(&sources, guest.catalog(), guest.types(), &opts) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            guest.detach()?;
            return Ok(1);
        }
    };
    if args.compile_only {
        guest.detach()?;
        return Ok(0);
    }
    providers::progress::set_quiet(program.options().quiet);
    report_matches(&args, &program);
    if let Some(file) = &args.pcap {
        let snaplen = args.snaplen.unwrap_or(providers::pcap::DEFAULT_SNAPLEN);
        if let Err(e) = guest.capture_packets(file, snaplen) {
            guest.detach()?;
            return Err(e.into());
        }
    }
    let mut out = sink(&args)?;
    let status = guest.run(&mut program, &mut out)?;
    Ok(status as u8)
}

/// Attaches to --gdb, or boots the model guest (kept alive by the returned handle).
fn attach(
    args: &TraceArgs,
    user: &[Source],
) -> anyhow::Result<(Guest, Option<guests::model::ModelGuest>)> {
    let patterns = providers::fbt_patterns(user, &args.providers, &args.macro_args);
    attach_with(args, patterns, Guest::attach)
}

/// As [`attach`], with the fbt patterns and the way to attach given (listing has no fbt limit).
fn attach_with(
    args: &TraceArgs,
    patterns: Vec<String>,
    attach_guest: fn(&Attach, &[String]) -> Result<Guest, providers::Error>,
) -> anyhow::Result<(Guest, Option<guests::model::ModelGuest>)> {
    let (attach, model) = match (&args.target.gdb, &args.target.kernel) {
        (Some(gdb), Some(kernel)) => (
            Attach {
                gdb: gdb.clone(),
                kernel: kernel.clone(),
                ram: args.target.ram.clone(),
            },
            None,
        ),
        _ => {
            let m = providers::progress::during(
                "booting the model guest",
                crate::model::boot_for_trace,
            )?;
            let a = Attach {
                gdb: m.gdb_socket().display().to_string(),
                kernel: args
                    .target
                    .kernel
                    .clone()
                    .unwrap_or_else(|| m.kernel_elf().to_path_buf()),
                ram: Some(m.ram_file().to_path_buf()),
            };
            (a, Some(m))
        }
    };
    let guest = providers::progress::during(
        "attaching to the guest and indexing its kernel's DWARF",
        || attach_guest(&attach, &patterns),
    )?;
    for w in guest.warnings() {
        eprintln!("guestrace: warning: {w}");
    }
    Ok((guest, model))
}

fn read_sources(args: &TraceArgs) -> anyhow::Result<Vec<Source>> {
    args.sources
        .iter()
        .map(|s| match s {
            ProgramSource::Description(d) => Ok(Source::description(d.clone())),
            ProgramSource::Script(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("failed to open {}", p.display()))?;
                Ok(Source::script(p.display().to_string(), text))
            }
        })
        .collect()
}

fn compile_options(args: &TraceArgs) -> anyhow::Result<CompileOptions> {
    let mut options = Options::default();
    if args.quiet {
        options.quiet = true;
    }
    if args.allow_zero_matches {
        options.zdefs = true;
    }
    for (k, v) in &args.options {
        options
            .set(k, v.as_deref())
            .map_err(|why| anyhow::anyhow!("failed to set option -x {k}: {why}"))?;
    }
    // lang's CompileOptions gains fields as the language grows: keep their defaults.
    #[allow(clippy::needless_update)]
    Ok(CompileOptions {
        options,
        macro_args: args.macro_args.clone(),
        ..CompileOptions::default()
    })
}

/// dtrace's "matched N probes" lines (not in quiet mode).
fn report_matches(args: &TraceArgs, program: &lang::Program) {
    if program.options().quiet {
        return;
    }
    let matches = program.description_matches();
    // The --pcap clause comes last and is guestrace's own: not reported.
    let own = if args.pcap.is_some() {
        providers::pcap::CAPTURE_DESCRIPTIONS
    } else {
        0
    };
    let matches = &matches[..matches.len().saturating_sub(own)];
    let scripts: Vec<&std::path::PathBuf> = args
        .sources
        .iter()
        .filter_map(|s| match s {
            ProgramSource::Script(p) => Some(p),
            ProgramSource::Description(_) => None,
        })
        .collect();
    if scripts.len() == 1 && args.sources.len() == 1 {
        let n: u32 = matches.iter().map(|m| m.matched).sum();
        eprintln!(
            "guestrace: script '{}' matched {n} probe{}",
            scripts[0].display(),
            plural(n)
        );
        return;
    }
    for m in matches {
        eprintln!(
            "guestrace: description '{}' matched {} probe{}",
            m.description,
            m.matched,
            plural(m.matched)
        );
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn sink(args: &TraceArgs) -> anyhow::Result<WriterSink> {
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("failed to open output file {}", path.display()))?,
        ),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let sink = WriterSink::new(out, "guestrace");
    Ok(match &args.json {
        None => sink,
        Some(JsonOutput::InsteadOfText) => {
            sink.with_json(providers::json::JsonRecords::instead_of_text())
        }
        Some(JsonOutput::File(path)) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("failed to create JSON file {}", path.display()))?;
            sink.with_json(providers::json::JsonRecords::beside_text(Box::new(
                std::io::BufWriter::new(file),
            )))
        }
    })
}

/// `-l`: list the probes matching -n/-P (all without them).
fn list(args: &TraceArgs) -> anyhow::Result<u8> {
    let mut descs: Vec<String> = args
        .sources
        .iter()
        .filter_map(|s| match s {
            ProgramSource::Description(d) => Some(d.trim().to_string()),
            ProgramSource::Script(_) => None,
        })
        .collect();
    descs.extend(args.providers.iter().map(|p| format!("{p}:::")));
    // fbt probes are listed for the functions the descriptions name (all of them: -l -P fbt).
    let as_sources: Vec<Source> = descs
        .iter()
        .map(|d| Source::description(d.clone()))
        .collect();
    // A bare -l lists every probe, fbt's for every kernel function included, as dtrace -l does.
    let patterns = if descs.is_empty() {
        vec!["*".to_string()]
    } else {
        providers::fbt_patterns(&as_sources, &[], &args.macro_args)
    };
    let (guest, _model) = attach_with(args, patterns, Guest::attach_for_listing)?;
    let (lines, counts) = providers::listing(Some(guest.catalog()), &descs);
    guest.detach()?;
    let mut out = std::io::stdout().lock();
    for l in lines {
        writeln!(out, "{l}")?;
    }
    for (d, n) in counts {
        if n == 0 && !args.allow_zero_matches {
            eprintln!(
                "guestrace: invalid probe specifier {d}: probe description {d} does not match any probes"
            );
            return Ok(1);
        }
    }
    Ok(0)
}

fn cleanup(args: &TraceArgs) -> anyhow::Result<u8> {
    let (Some(gdb), Some(kernel)) = (&args.target.gdb, &args.target.kernel) else {
        bail!("--cleanup needs --gdb ADDR and --kernel FILE");
    };
    let done = Guest::cleanup(&Attach {
        gdb: gdb.clone(),
        kernel: kernel.clone(),
        ram: args.target.ram.clone(),
    })?;
    if done.is_empty() {
        eprintln!("guestrace: nothing to restore");
    }
    for d in done {
        eprintln!("guestrace: {d}");
    }
    Ok(0)
}
