//! `guestrace manpage` and `guestrace completions SHELL`: guestrace(1) and shell completion
//! scripts generated from the clap definition, so they never drift from the parser. The man
//! page adds hand-written sections on providers, translators and what guestrace promises about
//! the guest.

use std::io::Write;

use anyhow::Context;
use clap::{Arg, ArgMatches, Command};
use clap_complete::Shell;

/// The `manpage` subcommand's definition.
pub fn manpage_command() -> Command {
    Command::new("manpage")
        .about("Write the guestrace(1) manual page (roff) to standard output")
        .long_about(
            "Writes the guestrace(1) manual page as roff to standard output, e.g. \
             `guestrace manpage | gzip > /usr/share/man/man1/guestrace.1.gz`; \
             `guestrace manpage | man -l -` shows it.",
        )
}

/// The `completions` subcommand's definition.
pub fn completions_command() -> Command {
    Command::new("completions")
        .about("Write a shell completion script for guestrace to standard output")
        .arg(
            Arg::new("shell")
                .value_name("SHELL")
                .required(true)
                .value_parser(clap::value_parser!(Shell))
                .help("The shell: bash, zsh, fish, elvish or powershell"),
        )
}

/// The shell named on `guestrace completions SHELL`.
pub fn shell_of(m: &ArgMatches) -> Shell {
    m.get_one::<Shell>("shell").copied().unwrap_or(Shell::Bash)
}

/// Writes guestrace(1) to standard output.
pub fn print_manpage() -> anyhow::Result<u8> {
    let mut out = Vec::new();
    render(&crate::cli::command(), &mut out).context("rendering the man page")?;
    write_stdout(&out)
}

/// Writes the completion script for `shell` to standard output.
pub fn print_completions(shell: Shell) -> anyhow::Result<u8> {
    let mut out = Vec::new();
    let mut cmd = crate::cli::command();
    clap_complete::generate(shell, &mut cmd, "guestrace", &mut out);
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(0),
        // `guestrace manpage | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(e).context("writing to standard output"),
    }
}

/// Renders the whole page: clap_mangen's sections for the top-level command, a COMMANDS
/// section with every subcommand's synopsis and options, then the hand-written sections.
fn render(cmd: &Command, w: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = cmd.clone().disable_help_subcommand(true);
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone())
        .section("1")
        .source(format!("guestrace {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands");
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;
    writeln!(w, ".SH COMMANDS")?;
    for (path, sub) in subcommands(&cmd, "guestrace") {
        render_subcommand(&path, sub, w)?;
    }
    w.write_all(HAND_WRITTEN.as_bytes())
}

/// Every subcommand at any depth, with its full name ("guestrace model boot").
fn subcommands<'a>(cmd: &'a Command, prefix: &str) -> Vec<(String, &'a Command)> {
    let mut out = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let path = format!("{prefix} {}", sub.get_name());
        out.push((path.clone(), sub));
        out.extend(subcommands(sub, &path));
    }
    out
}

/// One subcommand as a subsection: its synopsis, about text and options, rendered by
/// clap_mangen with their section headers dropped.
fn render_subcommand(path: &str, sub: &Command, w: &mut dyn Write) -> std::io::Result<()> {
    writeln!(w, ".SS \"{path}\"")?;
    let man = clap_mangen::Man::new(sub.clone().bin_name(path));
    let mut body = Vec::new();
    man.render_synopsis_section(&mut body)?;
    body.extend_from_slice(b".PP\n");
    man.render_description_section(&mut body)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut body)?;
    }
    let body = String::from_utf8_lossy(&body);
    for line in body.lines().filter(|l| !l.starts_with(".SH ")) {
        writeln!(w, "{line}")?;
    }
    Ok(())
}

/// The sections no parser knows: what the providers are, where translators come from, what
/// guestrace promises about the guest, exit status, environment, examples.
const HAND_WRITTEN: &str = r#".SH PROVIDERS
.TP
\fBip\fR, \fBtcp\fR, \fBudp\fR
The FreeBSD 10 kernel's own SDT probe sites, found by walking its
\fBset_sdt_probes_set\fR and \fBset_sdt_argtypes_set\fR linker sets and named as
sdt.ko names them (\fBtcp:kernel:none:send\fR).
guestrace writes probe ids only for the probes a script uses and puts one breakpoint on
\fBsdt_probe_stub\fR; each firing is one guest stop, whose arguments are read from the
registers and the stack, after which the stub's return is emulated (its body never runs).
.TP
\fBfbt\fR
A breakpoint at the entry of each matched kernel function (at most 1000 per run),
\fBargs[]\fR typed from the kernel's DWARF; \fB:return\fR gives the return value in
\fBarg1\fR.
.TP
\fBprofile\fR
\fBtick-\fIN\fR fires at real time on the host; \fBprofile-\fIN\fR stops the guest and samples
every vCPU (\fBarg0\fR the kernel PC, \fBarg1\fR the user PC).
.TP
\fBdtrace\fR
\fBBEGIN\fR, \fBEND\fR and \fBERROR\fR. A program using only these and \fBtick-\fIN\fR or
\fBprofile-\fIN\fR needs no guest: without \fB--gdb\fR it runs on the host and boots nothing.
.PP
\fBexecname\fR, \fBpid\fR, \fBtid\fR and \fBcurthread\fR come from the stopped vCPU's
\fBpc_curthread\fR; \fBtimestamp\fR counts guest-visible nanoseconds (host time minus the
time guestrace held the guest stopped); \fBstack()\fR walks frame pointers.
.SH TRANSLATORS
The \fBip\fR, \fBtcp\fR and \fBudp\fR probes' \fBargs[]\fR are translated types
(\fBpktinfo_t\fR, \fBcsinfo_t\fR, \fBipinfo_t\fR, \fBifinfo_t\fR, \fBipv4info_t\fR,
\fBipv6info_t\fR, \fBtcpsinfo_t\fR, \fBtcpinfo_t\fR, \fBtcpinfoh_t\fR, \fBtcplsinfo_t\fR,
\fBudpsinfo_t\fR, \fBudpinfo_t\fR), defined, as FreeBSD's \fI/usr/lib/dtrace\fR defines
them, by D library files (\fIip.d\fR, \fItcp.d\fR, \fIudp.d\fR) built into guestrace and
compiled before the user's program.
On attach guestrace reads the guest's \fBosrelease\fR and \fBosreldate\fR, and the
translators pick the FreeBSD 10.0 or the 10.2-and-later formulas through
\fB__freebsd_version\fR, so a script sees the values its own release's dtrace(1) would show.
.SH GUEST SAFETY
guestrace loads nothing into the guest and leaves it as it found it:
.IP \(bu 2
Before enabling anything it checks that the kernel file matches the running kernel
(its \fBversion\fR banner); a different kernel is refused with both banners in the message.
.IP \(bu 2
It refuses to enable SDT probes if DTrace is loaded in the guest
(\fBsdt_probe_func\fR is not \fBsdt_probe_stub\fR) or a probe id is already set.
.IP \(bu 2
Probe ids are restored and breakpoints removed, and the guest is left running, on every way out:
normal end, \fBexit()\fR, Ctrl-C, SIGTERM, SIGHUP, a closed output pipe, and errors.
A second signal more than a second after the first restores the guest at once.
.IP \(bu 2
If guestrace itself is killed (SIGKILL), the next connection restores what it left, as does
\fBguestrace --cleanup --gdb\fR \fIADDR\fR \fB--kernel\fR \fIFILE\fR.
.IP \(bu 2
\fBguestrace qemu\fR and \fBguestrace model boot\fR stop their QEMU and remove its socket and
RAM file on Ctrl-C or SIGTERM; QEMU dies with guestrace if it is killed.
.SH EXIT STATUS
0 on success; 1 when a program fails to compile or a run fails; 2 for usage errors;
\fIN\fR for \fBexit(\fIN\fB)\fR.
.SH ENVIRONMENT
.TP
\fBXDG_RUNTIME_DIR\fR
Where the gdbstub sockets of QEMUs started by guestrace live (else the temporary directory);
their RAM files are in \fI/dev/shm\fR.
.TP
\fBXDG_CACHE_HOME\fR
Where the model guest's kernel is written (else \fI~/.cache/guestrace\fR).
.TP
\fBGUESTRACE_STATS\fR
When set to 1, print how many stops a run took and how long the guest was held.
.SH EXAMPLES
Trace the bundled model guest's IPv4 destinations:
.PP
.RS 4
.nf
guestrace -n 'ip:::send { printf("%s\en", args[2]->ip_daddr); }'
.fi
.RE
.PP
Run your own FreeBSD 10 VM, copy its kernel symbols out, and trace it:
.PP
.RS 4
.nf
guestrace qemu -- freebsd10.qcow2
scp -P 2222 USER@127.0.0.1:/boot/kernel/kernel.symbols .
guestrace --gdb SOCKET --ram RAMFILE --kernel kernel.symbols \e
    -n 'tcp:::state-change { printf("%s -> %s\en",
        tcp_state_string[args[5]->tcps_state],
        tcp_state_string[args[3]->tcps_state]); }'
.fi
.RE
.SH SEE ALSO
dtrace(1), qemu(1), gdb(1)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_subcommand_gets_a_subsection() {
        let mut out = Vec::new();
        render(&crate::cli::command(), &mut out).expect("render to memory");
        let page = String::from_utf8(out).expect("roff is UTF-8");
        for (path, _) in subcommands(&crate::cli::command(), "guestrace") {
            assert!(page.contains(&format!(".SS \"{path}\"")), "{path}");
        }
        assert!(page.contains(".SH GUEST SAFETY"));
    }

    #[test]
    fn every_option_of_the_definition_is_on_the_page() {
        let mut out = Vec::new();
        let cmd = crate::cli::command();
        render(&cmd, &mut out).expect("render to memory");
        let page = String::from_utf8(out)
            .expect("roff is UTF-8")
            .replace("\\-", "-");
        let mut all = vec![("guestrace".to_string(), &cmd)];
        all.extend(subcommands(&cmd, "guestrace"));
        let mut checked = 0;
        for (path, c) in all {
            for arg in c.get_arguments() {
                let mut names: Vec<String> = arg
                    .get_long()
                    .map(|l| format!("--{l}"))
                    .into_iter()
                    .collect();
                names.extend(arg.get_short().map(|c| format!("-{c}")));
                names.extend(
                    arg.get_value_names()
                        .into_iter()
                        .flatten()
                        .map(|v| v.to_string()),
                );
                for n in names {
                    assert!(page.contains(&n), "{n} of `{path}` is not on the page");
                    checked += 1;
                }
            }
        }
        assert!(checked > 40, "only {checked} names checked");
    }
}
