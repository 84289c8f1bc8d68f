//! The probes a guest offers: its SDT probes (through the guest profile) and the fbt probes of
//! the functions the program names, with the ids lang and the listing use.

use std::collections::{HashMap, HashSet};

use lang::probes::Description;
use lang::{ArgType, Builtin, ProbeCatalog, ProbeInfo, Source};

use crate::fbt::FbtFunction;

/// At most this many functions get fbt breakpoints in one run.
pub const FBT_LIMIT: usize = 1000;

/// First id the catalog hands out (lang owns 1..=3 for BEGIN, END and ERROR).
const FIRST_ID: u32 = 4;

/// How a catalog probe is made to fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeSource {
    /// An SDT probe: write a nonzero id at `id_addr`, catch the call at `sdt_probe_stub`.
    Sdt {
        /// Address of the probe's `id` field.
        id_addr: u64,
        /// How many arguments it passes (6 means one on the stack).
        nargs: usize,
    },
    /// fbt entry of the function at `addr`.
    FbtEntry {
        /// Entry address.
        addr: u64,
        /// How many arguments DWARF gives it.
        nargs: usize,
    },
    /// fbt return of the function at `addr`.
    FbtReturn {
        /// Entry address (where the return is caught from).
        addr: u64,
    },
}

/// Every probe of one guest that a program may enable.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    probes: Vec<ProbeInfo>,
    sources: HashMap<u32, ProbeSource>,
    unavailable: HashMap<Builtin, String>,
}

impl Catalog {
    fn push(&mut self, info: ProbeInfo, source: ProbeSource) {
        self.sources.insert(info.id, source);
        self.probes.push(info);
    }

    fn next_id(&self) -> u32 {
        FIRST_ID + self.probes.len() as u32
    }

    /// Adds an SDT probe as sdt.ko names it (module `kernel`, function `none`).
    pub(crate) fn add_sdt(&mut self, p: &guests::freebsd10::SdtProbe) {
        let info = ProbeInfo {
            id: self.next_id(),
            provider: p.provider.clone(),
            module: guests::freebsd10::SDT_MODULE.into(),
            function: guests::freebsd10::SDT_FUNCTION.into(),
            name: p.name.clone(),
            args: p
                .args
                .iter()
                .map(|a| ArgType {
                    native: a.native.clone(),
                    translated: a.translated.clone(),
                })
                .collect(),
        };
        let nargs = p.args.len();
        self.push(
            info,
            ProbeSource::Sdt {
                id_addr: p.id_addr,
                nargs,
            },
        );
    }

    /// Adds the entry and return probes of a function.
    pub(crate) fn add_fbt(&mut self, f: &FbtFunction) {
        let native = |t: &str| ArgType {
            native: t.to_string(),
            translated: None,
        };
        let entry = ProbeInfo {
            id: self.next_id(),
            provider: "fbt".into(),
            module: "kernel".into(),
            function: f.name.clone(),
            name: "entry".into(),
            args: f.params.iter().map(|p| native(p)).collect(),
        };
        self.push(
            entry,
            ProbeSource::FbtEntry {
                addr: f.addr,
                nargs: f.params.len(),
            },
        );
        let mut ret_args = vec![native("int")];
        ret_args.extend(f.ret.as_deref().map(native));
        let ret = ProbeInfo {
            id: self.next_id(),
            provider: "fbt".into(),
            module: "kernel".into(),
            function: f.name.clone(),
            name: "return".into(),
            args: ret_args,
        };
        self.push(ret, ProbeSource::FbtReturn { addr: f.addr });
    }

    /// Marks a built-in variable as unavailable on this guest, with the reason lang reports.
    pub(crate) fn set_unavailable(&mut self, var: Builtin, why: String) {
        self.unavailable.insert(var, why);
    }

    /// How a probe fires (None for lang's own probes).
    pub fn source(&self, id: u32) -> Option<&ProbeSource> {
        self.sources.get(&id)
    }

    /// The probe with this id.
    pub fn info(&self, id: u32) -> Option<&ProbeInfo> {
        self.probes.iter().find(|p| p.id == id)
    }
}

impl ProbeCatalog for Catalog {
    fn probes(&self) -> &[ProbeInfo] {
        &self.probes
    }
    fn unavailable(&self, var: Builtin) -> Option<String> {
        self.unavailable.get(&var).cloned()
    }
}

/// Every probe description in `sources` (parsed as D; sources that do not parse are skipped,
/// the compiler reports them).
fn descriptions(sources: &[Source], macro_args: &[String]) -> Vec<Description> {
    let macros = lang::lexer::MacroArgs {
        args: macro_args.to_vec(),
        default_args: true,
    };
    let mut out = Vec::new();
    for s in sources {
        let mut typedefs = HashSet::new();
        let Ok(items) = lang::parser::parse(&s.text, &macros, &mut typedefs, &|_| false) else {
            continue;
        };
        for item in items {
            if let lang::ast::Item::Clause(c) = item {
                out.extend(
                    c.descs
                        .iter()
                        .filter_map(|(t, _)| Description::parse(t).ok()),
                );
            }
        }
    }
    out
}

/// The function patterns of every description in the user's program (and `-P` providers) that
/// can match an fbt probe, so only those functions' types are looked up.
pub fn fbt_patterns(
    sources: &[Source],
    providers: &[String],
    macro_args: &[String],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let provider_descs = providers
        .iter()
        .filter_map(|p| Description::parse(&format!("{p}:::")).ok());
    for d in provider_descs.chain(descriptions(sources, macro_args)) {
        let fbt = lang::probes::glob(&d.provider, "fbt")
            && (d.module.is_empty() || lang::probes::glob(&d.module, "kernel"))
            && (lang::probes::glob(&d.name, "entry") || lang::probes::glob(&d.name, "return"));
        let f = if d.function.is_empty() {
            "*".to_string()
        } else {
            d.function
        };
        if fbt && seen.insert(f.clone()) {
            out.push(f);
        }
    }
    out
}

/// Whether the program names any probe beyond dtrace's BEGIN/END/ERROR and profile's
/// tick-N/profile-N (which run without a guest).
pub fn needs_guest(sources: &[Source], macro_args: &[String]) -> bool {
    descriptions(sources, macro_args).iter().any(|d| {
        let own = d.module.is_empty()
            && d.function.is_empty()
            && match d.provider.as_str() {
                "" => {
                    matches!(d.name.as_str(), "BEGIN" | "END" | "ERROR")
                        || d.name.starts_with("tick-")
                        || d.name.starts_with("profile-")
                }
                "dtrace" => matches!(d.name.as_str(), "BEGIN" | "END" | "ERROR"),
                "profile" => d.name.starts_with("tick-") || d.name.starts_with("profile-"),
                _ => false,
            };
        !own
    })
}

/// dtrace -l's header line.
pub(crate) fn listing_header() -> String {
    format!(
        "{:>5} {:>10} {:>17} {:>33} {}",
        "ID", "PROVIDER", "MODULE", "FUNCTION", "NAME"
    )
}

/// One dtrace -l line.
pub(crate) fn listing_line(p: &ProbeInfo) -> String {
    format!(
        "{:>5} {:>10} {:>17} {:>33} {}",
        p.id, p.provider, p.module, p.function, p.name
    )
}
