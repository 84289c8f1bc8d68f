//! Probes: the catalog the providers offer, the `dtrace` and `profile` probes lang supplies
//! itself, and matching of probe descriptions (split from the right, globs, empty fields).

/// One probe argument's types as C type strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgType {
    /// The native type, e.g. `struct tcpcb *`.
    pub native: String,
    /// The translated type D scripts see through `args[i]`, e.g. `tcpsinfo_t *`.
    pub translated: Option<String>,
}

/// A probe: its id and four-part name, and its arguments' types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeInfo {
    /// The probe id (also the "ID" column of dtrace's output).
    pub id: u32,
    /// Provider, e.g. `tcp`.
    pub provider: String,
    /// Module, e.g. `kernel`.
    pub module: String,
    /// Function, e.g. `tcp_output`.
    pub function: String,
    /// Name, e.g. `send`.
    pub name: String,
    /// Argument types, `args[0]` first.
    pub args: Vec<ArgType>,
}

/// Built-in variables a provider might not be able to supply on some guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `timestamp`.
    Timestamp,
    /// `vtimestamp`.
    Vtimestamp,
    /// `walltimestamp`.
    Walltimestamp,
    /// `execname`.
    Execname,
    /// `pid`.
    Pid,
    /// `ppid`.
    Ppid,
    /// `tid`.
    Tid,
    /// `uid`.
    Uid,
    /// `gid`.
    Gid,
    /// `cpu`.
    Cpu,
    /// `curthread`.
    Curthread,
    /// `errno`.
    Errno,
    /// `caller`.
    Caller,
    /// `stackdepth`.
    Stackdepth,
    /// `ucaller`.
    Ucaller,
    /// `ustackdepth`.
    Ustackdepth,
}

impl Builtin {
    /// The D name.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Timestamp => "timestamp",
            Builtin::Vtimestamp => "vtimestamp",
            Builtin::Walltimestamp => "walltimestamp",
            Builtin::Execname => "execname",
            Builtin::Pid => "pid",
            Builtin::Ppid => "ppid",
            Builtin::Tid => "tid",
            Builtin::Uid => "uid",
            Builtin::Gid => "gid",
            Builtin::Cpu => "cpu",
            Builtin::Curthread => "curthread",
            Builtin::Errno => "errno",
            Builtin::Caller => "caller",
            Builtin::Stackdepth => "stackdepth",
            Builtin::Ucaller => "ucaller",
            Builtin::Ustackdepth => "ustackdepth",
        }
    }

    /// Looks a built-in up by its D name.
    pub fn from_name(n: &str) -> Option<Builtin> {
        const ALL: [Builtin; 16] = [
            Builtin::Timestamp,
            Builtin::Vtimestamp,
            Builtin::Walltimestamp,
            Builtin::Execname,
            Builtin::Pid,
            Builtin::Ppid,
            Builtin::Tid,
            Builtin::Uid,
            Builtin::Gid,
            Builtin::Cpu,
            Builtin::Curthread,
            Builtin::Errno,
            Builtin::Caller,
            Builtin::Stackdepth,
            Builtin::Ucaller,
            Builtin::Ustackdepth,
        ];
        ALL.into_iter().find(|b| b.name() == n)
    }
}

/// The probes that exist on the traced guest; the providers implement it.
pub trait ProbeCatalog {
    /// Every probe the providers offer (lang adds `dtrace:::BEGIN/END/ERROR` and `profile` itself;
    /// their ids are 1..=3 and above every id listed here, so catalog ids must not use 1..=3).
    fn probes(&self) -> &[ProbeInfo];
    /// None if the provider can supply this variable on this guest, else why not
    /// (e.g. "execname is not available on this guest"); lang reports it at compile time.
    fn unavailable(&self, var: Builtin) -> Option<String> {
        let _ = var;
        None
    }
}

/// A catalog with no guest probes: for scripts that use only BEGIN/END/ERROR and profile.
#[derive(Debug, Default, Clone)]
pub struct NoProbes;

impl ProbeCatalog for NoProbes {
    fn probes(&self) -> &[ProbeInfo] {
        &[]
    }
}

/// What a probe lang itself supplies is, so the runner knows how to fire it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// A probe of the catalog: the providers fire it.
    Catalog,
    /// `dtrace:::BEGIN`: fire once, first.
    Begin,
    /// `dtrace:::END`: fired by [`crate::Program::end`].
    End,
    /// `dtrace:::ERROR`: fired by lang on runtime faults.
    Error,
    /// `profile:::tick-N`: fire on one CPU every `period_ns`.
    Tick { period_ns: u64 },
    /// `profile:::profile-N`: fire on every CPU every `period_ns`.
    Profile { period_ns: u64 },
}

/// Probe id of `dtrace:::BEGIN`.
pub const BEGIN_ID: u32 = 1;
/// Probe id of `dtrace:::END`.
pub const END_ID: u32 = 2;
/// Probe id of `dtrace:::ERROR`.
pub const ERROR_ID: u32 = 3;

/// A probe description split into its four fields (empty = any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// Provider pattern.
    pub provider: String,
    /// Module pattern.
    pub module: String,
    /// Function pattern.
    pub function: String,
    /// Name pattern.
    pub name: String,
}

impl Description {
    /// Splits `p:m:f:n` from the right: `BEGIN` is `:::BEGIN`, `tcp::send` is module tcp, name send.
    pub fn parse(text: &str) -> Result<Description, String> {
        let parts: Vec<&str> = text.rsplitn(4, ':').collect();
        if text.matches(':').count() > 3 {
            return Err(format!(
                "invalid probe description \"{text}\": Overspecified probe description"
            ));
        }
        let get = |i: usize| parts.get(i).map(|s| s.to_string()).unwrap_or_default();
        Ok(Description {
            name: get(0),
            function: get(1),
            module: get(2),
            provider: get(3),
        })
    }

    /// Whether this description matches a probe with these four fields.
    pub fn matches(&self, provider: &str, module: &str, function: &str, name: &str) -> bool {
        glob(&self.provider, provider)
            && glob(&self.module, module)
            && glob(&self.function, function)
            && glob(&self.name, name)
    }
}

/// dtrace's glob match: `*`, `?`, `[...]` (with `!` or `^` negation and ranges), `\` escapes; an
/// empty pattern matches anything.
pub fn glob(pat: &str, s: &str) -> bool {
    if pat.is_empty() {
        return true;
    }
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    // Iterative matcher with one backtrack point for '*': linear-ish and never recursive.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => Some(pi + 1),
                '[' => class_match(&p, pi, t[ti]),
                '\\' if pi + 1 < p.len() => (p[pi + 1] == t[ti]).then_some(pi + 2),
                c => (c == t[ti]).then_some(pi + 1),
            }
        } else {
            None
        };
        match step {
            Some(next) => {
                pi = next;
                ti += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `p[at] == '['`; returns the index after `]`.
fn class_match(p: &[char], at: usize, c: char) -> Option<usize> {
    let mut i = at + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() && (p[i] != ']' || first) {
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            hit |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            hit |= p[i] == c;
            i += 1;
        }
    }
    if i >= p.len() {
        return None;
    }
    (hit != negate).then_some(i + 1)
}

/// lang's own `dtrace` provider: BEGIN, END and ERROR.
pub(crate) fn dtrace_probes() -> [ProbeInfo; 3] {
    [(BEGIN_ID, "BEGIN"), (END_ID, "END"), (ERROR_ID, "ERROR")].map(|(id, name)| ProbeInfo {
        id,
        provider: "dtrace".into(),
        module: String::new(),
        function: String::new(),
        name: name.into(),
        args: Vec::new(),
    })
}

/// The probes `-l` lists for a description (None: every probe): lang's `dtrace` probes and
/// the catalog's, in id order.
pub fn list(
    catalog: &dyn ProbeCatalog,
    description: Option<&str>,
) -> Result<Vec<ProbeInfo>, String> {
    let desc = description.map(Description::parse).transpose()?;
    let mut out: Vec<ProbeInfo> = dtrace_probes()
        .into_iter()
        .chain(catalog.probes().iter().cloned())
        .filter(|p| {
            desc.as_ref()
                .is_none_or(|d| d.matches(&p.provider, &p.module, &p.function, &p.name))
        })
        .collect();
    out.sort_by_key(|p| p.id);
    out.dedup_by_key(|p| p.id);
    Ok(out)
}

/// Parses the N of `tick-N`/`profile-N` into a period in nanoseconds: suffixes
/// `ns nsec us usec ms msec s sec m min h hour d day hz`, bare numbers being hz.
pub fn profile_period(spec: &str) -> Option<u64> {
    let digits = spec.chars().take_while(|c| c.is_ascii_digit()).count();
    let n: u64 = spec[..digits].parse().ok()?;
    if n == 0 {
        return None;
    }
    let unit = &spec[digits..];
    let ns_per: u64 = match unit {
        "" | "hz" => return Some(1_000_000_000 / n).filter(|&p| p >= 200_000),
        "ns" | "nsec" => 1,
        "us" | "usec" => 1_000,
        "ms" | "msec" => 1_000_000,
        "s" | "sec" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" | "hour" => 3_600_000_000_000,
        "d" | "day" => 86_400_000_000_000,
        _ => return None,
    };
    n.checked_mul(ns_per).filter(|&p| p >= 200_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_split_from_the_right() {
        let d = Description::parse("tcp::send").unwrap();
        assert_eq!(
            (d.provider.as_str(), d.module.as_str(), d.name.as_str()),
            ("", "tcp", "send")
        );
        assert!(Description::parse("BEGIN")
            .unwrap()
            .matches("dtrace", "", "", "BEGIN"));
        assert!(Description::parse("a:b:c:d:e").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob("tcp*", "tcp_output"));
        assert!(glob("*-established", "accept-established"));
        assert!(!glob("*-established", "accept-refused"));
        assert!(glob("s?nd", "send"));
        assert!(glob("[rs]e*", "receive"));
        assert!(!glob("[!rs]e*", "receive"));
        assert!(glob("a\\*", "a*"));
        assert!(!glob("a\\*", "ab"));
        assert!(glob("", "anything"));
    }

    #[test]
    fn listing_includes_dtrace_probes_and_filters() {
        let all = list(&NoProbes, None).unwrap_or_default();
        assert_eq!(
            all.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            vec!["BEGIN", "END", "ERROR"]
        );
        assert_eq!(
            list(&NoProbes, Some("dtrace:::E*"))
                .unwrap_or_default()
                .len(),
            2
        );
    }

    #[test]
    fn profile_rates() {
        assert_eq!(profile_period("1s"), Some(1_000_000_000));
        assert_eq!(profile_period("10ms"), Some(10_000_000));
        assert_eq!(profile_period("97"), Some(1_000_000_000 / 97));
        assert_eq!(profile_period("100us"), None);
        assert_eq!(profile_period("1x"), None);
    }
}
