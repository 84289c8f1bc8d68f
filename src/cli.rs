//! The command line, shaped like dtrace(1): what the user asked for, parsed and checked, with no
//! behaviour of its own.

use clap::{Arg, ArgAction, ArgMatches, Command};
use std::path::PathBuf;

/// One piece of D program text, in the order the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramSource {
    /// `-n DESCRIPTION`: a probe description, possibly with a clause.
    Description(String),
    /// `-s FILE`: a D script file.
    Script(PathBuf),
}

/// How guestrace reaches the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// `--gdb`: unix socket path or host:port of QEMU's gdbstub; None means the model guest.
    pub gdb: Option<String>,
    /// `--kernel`: the guest kernel with DWARF.
    pub kernel: Option<PathBuf>,
    /// `--ram`: QEMU's shared RAM backing file.
    pub ram: Option<PathBuf>,
}

/// Where JSON output goes (`-O json`, `--json[=FILE]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonOutput {
    /// JSON lines instead of the text, on stdout or the `-o` file.
    InsteadOfText,
    /// JSON lines to this file, the text going on as usual.
    File(PathBuf),
}

/// A tracing run: everything dtrace(1)'s own options would say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceArgs {
    /// The D sources in command-line order.
    pub sources: Vec<ProgramSource>,
    /// `-P PROVIDER`: every probe of these providers (with -l, a filter).
    pub providers: Vec<String>,
    /// `-q`.
    pub quiet: bool,
    /// `-x NAME[=VALUE]`, in order.
    pub options: Vec<(String, Option<String>)>,
    /// `-l`: list matching probes instead of tracing.
    pub list: bool,
    /// `-e`: compile, then exit without tracing.
    pub compile_only: bool,
    /// `-Z`: allow descriptions that match no probe.
    pub allow_zero_matches: bool,
    /// `-o FILE`: where traced output goes.
    pub output: Option<PathBuf>,
    /// Operands after the options: the macro arguments `$1..$9`.
    pub macro_args: Vec<String>,
    /// Where the guest is.
    pub target: Target,
    /// `--cleanup`: restore probe ids and breakpoints left by a killed guestrace, then exit.
    pub cleanup: bool,
    /// `-O json` / `--json[=FILE]`.
    pub json: Option<JsonOutput>,
    /// `--pcap FILE`: packets at ip:::send/receive to a pcapng file.
    pub pcap: Option<PathBuf>,
    /// `--snaplen N`: bytes kept of each captured packet.
    pub snaplen: Option<u32>,
}

/// The `model` subcommands: the bundled model guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelCommand {
    /// `model boot`: run the model guest until interrupted.
    Boot {
        /// vCPUs.
        smp: u32,
        /// Where the serial log goes (default: a file next to the other run files).
        serial: Option<PathBuf>,
        /// DWARF version of the kernel to boot (2, 4 or 5).
        dwarf: u8,
    },
    /// `model kernel`: build the model kernel if needed and print its path.
    Kernel {
        /// DWARF version of the kernel (2, 4 or 5).
        dwarf: u8,
    },
}

/// What the user asked guestrace to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Trace (or list, or compile only).
    Trace(TraceArgs),
    /// Work with the bundled model guest.
    Model(ModelCommand),
    /// `-V`: print the D version and exit.
    Version,
    /// `qemu`: run the user's own VM from a disk image, ready for guestrace.
    Qemu(crate::qemu::QemuArgs),
    /// `manpage`: print guestrace(1).
    Manpage,
    /// `completions SHELL`: print a shell completion script.
    Completions(clap_complete::Shell),
}

/// The dtrace-style command definition; also the source of the man page and completions.
pub fn command() -> Command {
    Command::new("guestrace")
        .version(env!("CARGO_PKG_VERSION"))
        .about("DTrace for a guest kernel, from outside, over QEMU's gdbstub")
        .long_about(
            "guestrace runs D scripts over the ip, tcp, udp, fbt, profile and dtrace providers of \
             a FreeBSD 10 (amd64) guest kernel running under QEMU, without loading anything into \
             the guest. With no --gdb it traces the bundled model guest.",
        )
        .disable_version_flag(true)
        .args_conflicts_with_subcommands(true)
        .arg(
            Arg::new("description")
                .short('n')
                .value_name("DESCRIPTION")
                .action(ArgAction::Append)
                .help("Enable a probe description, optionally with /predicate/ and { actions }"),
        )
        .arg(
            Arg::new("script")
                .short('s')
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .action(ArgAction::Append)
                .help("Compile the D script FILE"),
        )
        .arg(
            Arg::new("provider")
                .short('P')
                .value_name("PROVIDER")
                .action(ArgAction::Append)
                .help("Enable every probe of PROVIDER (with -l: list only its probes)"),
        )
        .arg(
            Arg::new("quiet")
                .short('q')
                .action(ArgAction::SetTrue)
                .help("Quiet: print only explicitly traced data (same as -x quiet)"),
        )
        .arg(
            Arg::new("option")
                .short('x')
                .value_name("OPTION[=VALUE]")
                .action(ArgAction::Append)
                .help("Set a D option, as #pragma D option would"),
        )
        .arg(
            Arg::new("list")
                .short('l')
                .action(ArgAction::SetTrue)
                .help("List probes (those matched by -n/-P/-s, or all) instead of tracing"),
        )
        .arg(
            Arg::new("compile_only")
                .short('e')
                .action(ArgAction::SetTrue)
                .help("Exit after compiling the program, without enabling probes"),
        )
        .arg(
            Arg::new("zero")
                .short('Z')
                .action(ArgAction::SetTrue)
                .help("Permit probe descriptions that match no probes"),
        )
        .arg(
            Arg::new("output")
                .short('o')
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Append traced output to FILE instead of standard output"),
        )
        .arg(
            Arg::new("version")
                .short('V')
                .action(ArgAction::SetTrue)
                .help("Print the D language version and exit"),
        )
        .arg(Arg::new("gdb").long("gdb").value_name("ADDR").help(
            "QEMU's gdbstub: a unix socket path or HOST:PORT (default: boot the model guest)",
        ))
        .arg(
            Arg::new("kernel")
                .long("kernel")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("The guest kernel with DWARF (kernel.debug or kernel.symbols)"),
        )
        .arg(
            Arg::new("ram")
                .long("ram")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("QEMU's shared guest RAM file (memory-backend-file,share=on) for fast reads"),
        )
        .arg(
            Arg::new("cleanup")
                .long("cleanup")
                .action(ArgAction::SetTrue)
                .requires("gdb")
                .help("Restore probe ids and breakpoints left in the guest by a killed guestrace"),
        )
        .arg(
            Arg::new("format")
                .short('O')
                .value_name("FORMAT")
                .value_parser(["text", "json"])
                .help("Output format: text (dtrace's, the default) or json (one object per line)"),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .value_name("FILE")
                .num_args(0..=1)
                .require_equals(true)
                .value_parser(clap::value_parser!(PathBuf))
                .help("JSON output: alone, as -O json; =FILE writes JSON lines to FILE beside the text"),
        )
        .arg(
            Arg::new("pcap")
                .long("pcap")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Write every packet at ip:::send and ip:::receive to the pcapng FILE"),
        )
        .arg(
            Arg::new("snaplen")
                .long("snaplen")
                .value_name("BYTES")
                .value_parser(clap::value_parser!(u32).range(1..))
                .requires("pcap")
                .help("With --pcap: bytes kept of each packet (default 65535)"),
        )
        .arg(
            Arg::new("macro_args")
                .value_name("ARG")
                .num_args(0..)
                .trailing_var_arg(true)
                .help("Macro arguments $1..$9 for the script"),
        )
        .subcommand(crate::qemu::command())
        .subcommand(crate::manpage::manpage_command())
        .subcommand(crate::manpage::completions_command())
        .subcommand(
            Command::new("model")
                .about("The bundled model guest")
                .subcommand_required(true)
                .subcommand(
                    Command::new("boot")
                        .about("Boot the model guest under QEMU and run it until Ctrl-C or SIGTERM")
                        .arg(
                            Arg::new("smp")
                                .long("smp")
                                .value_name("N")
                                .default_value("1")
                                .value_parser(clap::value_parser!(u32).range(1..=2))
                                .help("Number of vCPUs (1 or 2)"),
                        )
                        .arg(
                            Arg::new("serial")
                                .long("serial")
                                .value_name("FILE")
                                .value_parser(clap::value_parser!(PathBuf))
                                .help(
                                    "Write the guest's serial console (its ground truth) to FILE",
                                ),
                        )
                        .arg(dwarf_arg()),
                )
                .subcommand(
                    Command::new("kernel")
                        .about("Build the model kernel if needed and print the path of its ELF")
                        .arg(dwarf_arg()),
                ),
        )
}

fn dwarf_arg() -> Arg {
    Arg::new("dwarf")
        .long("dwarf")
        .value_name("VERSION")
        .default_value("2")
        .value_parser(["2", "4", "5"])
        .help("DWARF version of the model kernel's debug info")
}

/// Parses `argv` (including the program name) into an invocation, or a clap error (exit 2).
pub fn parse<I, T>(argv: I) -> Result<Invocation, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let argv = split_interpreter_args(argv.into_iter().map(Into::into).collect());
    let matches = command().try_get_matches_from(argv)?;
    Ok(from_matches(&matches))
}

/// A `#!/usr/bin/env -S guestrace -qs` line, or a kernel that passes everything after the
/// interpreter as one word, can hand us "-qs" or "-q -s" as a single argument; split it.
fn split_interpreter_args(argv: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::with_capacity(argv.len());
    for (i, arg) in argv.into_iter().enumerate() {
        match arg.to_str() {
            Some(s) if i == 1 && s.starts_with('-') && s.contains(' ') => {
                out.extend(s.split_whitespace().map(std::ffi::OsString::from));
            }
            _ => out.push(arg),
        }
    }
    out
}

fn from_matches(m: &ArgMatches) -> Invocation {
    match m.subcommand() {
        Some(("qemu", q)) => return Invocation::Qemu(crate::qemu::QemuArgs::from_matches(q)),
        Some(("manpage", _)) => return Invocation::Manpage,
        Some(("completions", c)) => return Invocation::Completions(crate::manpage::shell_of(c)),
        _ => {}
    }
    if let Some(("model", sub)) = m.subcommand() {
        return Invocation::Model(match sub.subcommand() {
            Some(("boot", b)) => ModelCommand::Boot {
                smp: b.get_one::<u32>("smp").copied().unwrap_or(1),
                serial: b.get_one::<PathBuf>("serial").cloned(),
                dwarf: dwarf_of(b),
            },
            _ => ModelCommand::Kernel {
                dwarf: sub.subcommand().map(|(_, k)| dwarf_of(k)).unwrap_or(2),
            },
        });
    }
    if m.get_flag("version") {
        return Invocation::Version;
    }

    // dtrace compiles -n and -s in the order given, so keep clap's indices to restore it.
    let mut ordered: Vec<(usize, ProgramSource)> = Vec::new();
    if let (Some(idx), Some(vals)) = (
        m.indices_of("description"),
        m.get_many::<String>("description"),
    ) {
        ordered.extend(
            idx.zip(vals)
                .map(|(i, v)| (i, ProgramSource::Description(v.clone()))),
        );
    }
    if let (Some(idx), Some(vals)) = (m.indices_of("script"), m.get_many::<PathBuf>("script")) {
        ordered.extend(
            idx.zip(vals)
                .map(|(i, v)| (i, ProgramSource::Script(v.clone()))),
        );
    }
    ordered.sort_by_key(|(i, _)| *i);

    let options = m
        .get_many::<String>("option")
        .into_iter()
        .flatten()
        .map(|o| match o.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (o.clone(), None),
        })
        .collect();

    Invocation::Trace(TraceArgs {
        sources: ordered.into_iter().map(|(_, s)| s).collect(),
        providers: strings(m, "provider"),
        quiet: m.get_flag("quiet"),
        options,
        list: m.get_flag("list"),
        compile_only: m.get_flag("compile_only"),
        allow_zero_matches: m.get_flag("zero"),
        output: m.get_one::<PathBuf>("output").cloned(),
        macro_args: strings(m, "macro_args"),
        target: Target {
            gdb: m.get_one::<String>("gdb").cloned(),
            kernel: m.get_one::<PathBuf>("kernel").cloned(),
            ram: m.get_one::<PathBuf>("ram").cloned(),
        },
        cleanup: m.get_flag("cleanup"),
        json: json_output(m),
        pcap: m.get_one::<PathBuf>("pcap").cloned(),
        snaplen: m.get_one::<u32>("snaplen").copied(),
    })
}

/// `--json=FILE` beside the text, or JSON instead of it (`--json`, `-O json`).
fn json_output(m: &ArgMatches) -> Option<JsonOutput> {
    if let Some(file) = m.get_one::<PathBuf>("json") {
        return Some(JsonOutput::File(file.clone()));
    }
    (m.contains_id("json") || m.get_one::<String>("format").is_some_and(|f| f == "json"))
        .then_some(JsonOutput::InsteadOfText)
}

fn strings(m: &ArgMatches, id: &str) -> Vec<String> {
    m.get_many::<String>(id)
        .into_iter()
        .flatten()
        .cloned()
        .collect()
}

fn dwarf_of(m: &ArgMatches) -> u8 {
    m.get_one::<String>("dwarf")
        .and_then(|s| s.parse().ok())
        .unwrap_or(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(argv: &[&str]) -> TraceArgs {
        match parse(argv) {
            Ok(Invocation::Trace(t)) => t,
            other => panic!("expected a trace invocation, got {other:?}"),
        }
    }

    #[test]
    fn keeps_sources_in_command_line_order() {
        let t = trace(&["guestrace", "-s", "a.d", "-n", "BEGIN", "-s", "b.d"]);
        assert_eq!(
            t.sources,
            vec![
                ProgramSource::Script("a.d".into()),
                ProgramSource::Description("BEGIN".into()),
                ProgramSource::Script("b.d".into()),
            ]
        );
    }

    #[test]
    fn macro_args_follow_the_script() {
        let t = trace(&["guestrace", "-qs", "x.d", "10", "-5", "em0"]);
        assert!(t.quiet);
        assert_eq!(t.sources, vec![ProgramSource::Script("x.d".into())]);
        assert_eq!(t.macro_args, vec!["10", "-5", "em0"]);
    }

    #[test]
    fn options_split_at_the_first_equals_sign() {
        let t = trace(&[
            "guestrace",
            "-x",
            "switchrate=10hz",
            "-x",
            "quiet",
            "-n",
            "BEGIN",
        ]);
        assert_eq!(
            t.options,
            vec![
                ("switchrate".into(), Some("10hz".into())),
                ("quiet".into(), None)
            ]
        );
    }

    #[test]
    fn json_and_pcap_flags() {
        let t = trace(&["guestrace", "-n", "BEGIN", "-O", "json"]);
        assert_eq!(t.json, Some(JsonOutput::InsteadOfText));
        let t = trace(&["guestrace", "-n", "BEGIN", "--json"]);
        assert_eq!(t.json, Some(JsonOutput::InsteadOfText));
        let t = trace(&["guestrace", "-n", "BEGIN", "--json=out.json", "x"]);
        assert_eq!(t.json, Some(JsonOutput::File("out.json".into())));
        assert_eq!(t.macro_args, vec!["x"]);
        let t = trace(&["guestrace", "--pcap", "p.pcapng", "--snaplen", "96"]);
        assert_eq!((t.pcap, t.snaplen), (Some("p.pcapng".into()), Some(96)));
        assert_eq!(trace(&["guestrace", "-n", "BEGIN"]).json, None);
    }

    #[test]
    fn target_selection() {
        let t = trace(&[
            "guestrace",
            "-n",
            "ip:::send",
            "--gdb",
            "/tmp/vm.sock",
            "--kernel",
            "k.debug",
            "--ram",
            "/dev/shm/r",
        ]);
        assert_eq!(t.target.gdb.as_deref(), Some("/tmp/vm.sock"));
        assert_eq!(t.target.kernel, Some(PathBuf::from("k.debug")));
        assert_eq!(t.target.ram, Some(PathBuf::from("/dev/shm/r")));
    }

    #[test]
    fn interpreter_line_passed_as_one_word_is_split() {
        let t = trace(&["guestrace", "-q -s", "x.d"]);
        assert!(t.quiet);
        assert_eq!(t.sources, vec![ProgramSource::Script("x.d".into())]);
    }

    #[test]
    fn model_subcommands() {
        assert_eq!(
            parse(["guestrace", "model", "boot", "--smp", "2"]).ok(),
            Some(Invocation::Model(ModelCommand::Boot {
                smp: 2,
                serial: None,
                dwarf: 2
            }))
        );
        assert_eq!(
            parse(["guestrace", "model", "kernel", "--dwarf", "5"]).ok(),
            Some(Invocation::Model(ModelCommand::Kernel { dwarf: 5 }))
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        for bad in [
            vec!["guestrace", "--smp"],
            vec!["guestrace", "model", "boot", "--smp", "3"],
            vec!["guestrace", "-x"],
            vec!["guestrace", "--cleanup"],
        ] {
            let err = parse(&bad).expect_err("should be a usage error");
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn version_flag() {
        assert_eq!(parse(["guestrace", "-V"]).ok(), Some(Invocation::Version));
    }
}
