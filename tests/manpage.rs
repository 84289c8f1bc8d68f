//! `guestrace manpage` renders as a manual page with the generated and the hand-written
//! sections and names every option that `--help` of each command shows; `guestrace
//! completions SHELL` writes a script for bash, zsh and fish that knows those options.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

fn guestrace(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_guestrace"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "guestrace {args:?}: {:?}", out.status);
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommand paths `--help` lists, at every depth ("model boot").
fn commands(prefix: &[&str]) -> Vec<Vec<String>> {
    let mut args: Vec<&str> = prefix.to_vec();
    args.push("--help");
    let help = guestrace(&args);
    let mut out = Vec::new();
    let mut in_commands = false;
    for line in help.lines() {
        if line.starts_with("Commands:") {
            in_commands = true;
            continue;
        }
        if in_commands {
            if !line.starts_with("  ") {
                break;
            }
            let name = line.split_whitespace().next().unwrap_or_default();
            if name == "help" {
                continue;
            }
            let mut path: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
            path.push(name.to_string());
            let sub: Vec<&str> = path.iter().map(String::as_str).collect();
            out.extend(commands(&sub));
            out.push(path);
        }
    }
    out
}

/// Every `--long` and `-x` option the help of `path` shows.
fn options(path: &[String]) -> BTreeSet<String> {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let help = guestrace(&args);
    let mut opts = BTreeSet::new();
    for line in help.lines().map(str::trim_start) {
        if !line.starts_with('-') {
            continue;
        }
        let words = line.split([' ', ',']).filter(|w| !w.is_empty());
        for word in words.take_while(|w| w.starts_with('-')) {
            // `--json[=<FILE>]`: an optional value starts at '[' as a required one does at '='.
            let name = word.split(['=', '[']).next().unwrap_or(word);
            if name.len() > 1 {
                opts.insert(name.to_string());
            }
        }
    }
    opts
}

/// Every option of every command, with the command it belongs to.
fn all_options() -> Vec<(String, String)> {
    let mut paths = commands(&[]);
    paths.push(Vec::new());
    let mut all = Vec::new();
    for p in paths {
        for o in options(&p) {
            all.push((p.join(" "), o));
        }
    }
    all
}

#[test]
fn man_page_has_every_section_and_option_and_renders() {
    let page = guestrace(&["manpage"]);
    assert!(
        page.lines().any(|l| l.starts_with(".TH guestrace 1 ")),
        "no .TH line"
    );
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "PROVIDERS",
        "TRANSLATORS",
        "GUEST SAFETY",
        "EXIT STATUS",
        "SEE ALSO",
    ] {
        assert!(
            page.lines()
                .any(|l| l == format!(".SH {section}") || l == format!(".SH \"{section}\"")),
            "no {section} section"
        );
    }
    let options = all_options();
    assert!(
        options.len() > 25,
        "too few options found in --help: {options:?}"
    );
    // roff escapes '-' as '\-'.
    let unescaped = page.replace("\\-", "-");
    for (cmd, opt) in &options {
        assert!(
            unescaped.contains(opt.as_str()),
            "{opt} of `guestrace {cmd}` not in the man page"
        );
    }
    for (path, _) in options.iter().filter(|(c, _)| !c.is_empty()) {
        assert!(
            page.contains(&format!(".SS \"guestrace {path}\"")),
            "no subsection for {path}"
        );
    }

    // Render it as man(1) would; fall back to groff alone where man-db is absent.
    let rendered = render(&page);
    let Some((text, warnings)) = rendered else {
        return;
    };
    assert!(warnings.trim().is_empty(), "roff warnings: {warnings}");
    for needle in ["GUEST SAFETY", "guestrace qemu", "--ssh-port", "tcpsinfo_t"] {
        assert!(text.contains(needle), "rendered page lacks {needle}");
    }
}

/// (rendered text, stderr) from `man -l -` or `groff -man -Tutf8 -ww`, or None if neither runs.
fn render(page: &str) -> Option<(String, String)> {
    let attempts: [(&str, &[&str]); 2] = [
        ("groff", &["-man", "-Tutf8", "-ww", "-P", "-cbou"]),
        ("man", &["-l", "-"]),
    ];
    for (prog, args) in attempts {
        let Ok(mut child) = Command::new(prog)
            .args(args)
            .env("MANWIDTH", "100")
            .env("MAN_KEEP_FORMATTING", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        else {
            continue;
        };
        child
            .stdin
            .take()
            .unwrap()
            .write_all(page.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            // Hyphenation and bold overstrikes aside, the words are there.
            let text = String::from_utf8_lossy(&out.stdout)
                .replace("\u{2010}\n", "")
                .replace('\u{2010}', "-");
            return Some((text, String::from_utf8_lossy(&out.stderr).into_owned()));
        }
    }
    None
}

#[test]
fn completions_for_each_shell_know_every_long_option() {
    let longs: BTreeSet<String> = all_options()
        .into_iter()
        .map(|(_, o)| o)
        .filter(|o| o.starts_with("--"))
        .collect();
    for shell in ["bash", "zsh", "fish"] {
        let script = guestrace(&["completions", shell]);
        for opt in &longs {
            // fish names long options without the dashes (`-l ssh-port`).
            let bare = opt.trim_start_matches('-');
            assert!(
                script.contains(opt.as_str())
                    || (shell == "fish" && script.contains(&format!("-l {bare}"))),
                "{shell} completions lack {opt}"
            );
        }
        for sub in ["qemu", "model", "manpage", "completions"] {
            assert!(script.contains(sub), "{shell} completions lack {sub}");
        }
        // Where the shell is installed, the script must at least parse.
        if let Ok(out) = Command::new(shell)
            .arg("-n")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(script.as_bytes())?;
                c.wait_with_output()
            })
        {
            assert!(
                out.status.success(),
                "{shell} -n: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_guestrace"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
