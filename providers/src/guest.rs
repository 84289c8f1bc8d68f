//! Attaching to a guest: the gdbstub connection, the kernel's debug info, the check that both
//! describe the same kernel, the guest profile (FreeBSD 10.x, when the kernel is one), and the
//! catalog of probes the program can use.

use std::path::PathBuf;
use std::sync::Arc;

use guests::freebsd10::{self, Release, SdtProbe, ThreadLayout};
use introspect::{Options, RamStatus, Target};
use lang::probes::Description;
use lang::{Builtin, ProbeCatalog, Source};
use symbols::KernelImage;

use crate::catalog::{listing_header, listing_line, Catalog, FBT_LIMIT};
use crate::error::Error;
use crate::kernel::{ImageKernel, TargetMemory};
use crate::types::DwarfTypes;

/// Where the guest is.
#[derive(Debug, Clone)]
pub struct Attach {
    /// QEMU's gdbstub: unix socket path or host:port.
    pub gdb: String,
    /// The guest kernel with DWARF.
    pub kernel: PathBuf,
    /// QEMU's shared RAM file, if any.
    pub ram: Option<PathBuf>,
}

/// What the FreeBSD 10 profile found in the guest.
pub(crate) struct FreeBsd {
    pub release: Release,
    pub sdt: Vec<SdtProbe>,
    pub threads: ThreadLayout,
}

/// A stopped guest with its kernel's debug info, ready to trace.
pub struct Guest {
    pub(crate) target: Target,
    pub(crate) image: Arc<KernelImage>,
    pub(crate) types: DwarfTypes,
    pub(crate) freebsd: Option<FreeBsd>,
    pub(crate) catalog: Catalog,
    warnings: Vec<String>,
    /// `--pcap`: where packets at ip:::send/receive go.
    pub(crate) capture: Option<crate::pcap::Capture>,
}

impl Guest {
    /// Connects, loads the kernel, checks it is the running one, and builds the catalog: every
    /// SDT probe, and fbt probes for the functions matching `fbt_patterns`.
    pub fn attach(a: &Attach, fbt_patterns: &[String]) -> Result<Guest, Error> {
        Guest::attach_limited(a, fbt_patterns, FBT_LIMIT)
    }

    /// As [`Guest::attach`] for `-l`: listing plants no breakpoint, so fbt patterns are not held
    /// to the per-run breakpoint limit (dtrace -l -P fbt lists every kernel function).
    pub fn attach_for_listing(a: &Attach, fbt_patterns: &[String]) -> Result<Guest, Error> {
        Guest::attach_limited(a, fbt_patterns, usize::MAX)
    }

    fn attach_limited(a: &Attach, fbt_patterns: &[String], limit: usize) -> Result<Guest, Error> {
        let image = KernelImage::open(&a.kernel).map_err(|source| Error::Kernel {
            path: a.kernel.display().to_string(),
            source,
        })?;
        let opts = Options {
            ram_file: a.ram.clone(),
            ..Options::default()
        };
        let mut target = Target::connect(&a.gdb, opts)
            .map_err(|e| Error::target(format!("connecting to the gdbstub at {}", a.gdb), e))?;
        let mut warnings = Vec::new();
        if let RamStatus::Disabled(why) = target.ram_status() {
            warnings.push(format!("not using the shared RAM file: {why}"));
        }
        let kernel = ImageKernel(&image);
        let freebsd = match freebsd_profile(&kernel, &mut target)? {
            Some(f) => Some(f),
            None => {
                check_other_kernel(&image, &mut target, &mut warnings)?;
                None
            }
        };
        let mut catalog = Catalog::default();
        match &freebsd {
            Some(f) => f.sdt.iter().for_each(|p| catalog.add_sdt(p)),
            None => {
                for var in [
                    Builtin::Execname,
                    Builtin::Pid,
                    Builtin::Ppid,
                    Builtin::Tid,
                    Builtin::Curthread,
                    Builtin::Uid,
                    Builtin::Gid,
                ] {
                    catalog.set_unavailable(
                        var,
                        format!(
                            "{} is not available: guestrace has no guest profile for this kernel",
                            var.name()
                        ),
                    );
                }
                warnings.push(
                    "no guest profile for this kernel (only FreeBSD 10.x has one): the ip, tcp and \
                     udp providers and execname, pid, ppid, tid, uid, gid and curthread are \
                     unavailable; fbt, profile and dtrace work"
                        .into(),
                );
            }
        }
        for pattern in fbt_patterns {
            for f in crate::fbt::functions(&image, pattern, limit)? {
                if catalog
                    .probes()
                    .iter()
                    .any(|p| p.provider == "fbt" && p.function == f.name)
                {
                    continue;
                }
                catalog.add_fbt(&f);
            }
        }
        let image = Arc::new(image);
        Ok(Guest {
            target,
            types: DwarfTypes::new(image.clone()),
            image,
            freebsd,
            catalog,
            warnings,
            capture: None,
        })
    }

    /// Connects only to restore what a killed guestrace left: the undo journal (replayed by
    /// the connection itself) and any nonzero SDT probe id while DTrace is not loaded.
    pub fn cleanup(a: &Attach) -> Result<Vec<String>, Error> {
        let mut g = Guest::attach(a, &[])?;
        let mut done: Vec<String> = g
            .target
            .recovered()
            .map(|r| {
                let mut v = vec![format!(
                    "undid the previous tracer's changes: {} breakpoints removed, {} writes \
                     restored, {} vCPUs returned from an emulated-return function",
                    r.breakpoints_removed, r.writes_restored, r.returns_finished
                )];
                v.extend(r.failures.iter().map(|f| format!("could not undo: {f}")));
                v
            })
            .unwrap_or_default();
        if let Some(f) = &g.freebsd {
            let kernel = ImageKernel(&g.image);
            let mut mem = TargetMemory(&mut g.target);
            let stub = kernel
                .0
                .elf_symbol("sdt_probe_stub")
                .map(|s| s.address)
                .ok();
            let func = kernel.0.elf_symbol("sdt_probe_func").ok().and_then(|s| {
                let mut b = [0u8; 8];
                guests::freebsd10::Memory::read(&mut mem, s.address, &mut b).ok()?;
                Some(u64::from_le_bytes(b))
            });
            if stub.is_some() && stub == func {
                for p in &f.sdt {
                    let mut b = [0u8; 8];
                    if guests::freebsd10::Memory::read(&mut mem, p.id_addr, &mut b).is_ok()
                        && b != [0; 8]
                    {
                        g.target
                            .rsp()
                            .write_memory(p.id_addr, &[0; 8])
                            .map_err(|e| Error::target("zeroing a probe id", e))?;
                        done.push(format!("zeroed the id of {}:::{}", p.provider, p.name));
                        mem = TargetMemory(&mut g.target);
                    }
                }
            }
        }
        g.detach()?;
        Ok(done)
    }

    /// The probes this guest offers.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The guest kernel's types for lang.
    pub fn types(&self) -> &DwarfTypes {
        &self.types
    }

    /// Things the user should know (printed as warnings).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The running release, on a FreeBSD guest.
    pub fn release(&self) -> Option<&Release> {
        self.freebsd.as_ref().map(|f| &f.release)
    }

    /// The translator libraries for this guest (none without a profile).
    pub fn libraries(&self) -> Vec<Source> {
        match &self.freebsd {
            Some(f) => crate::dlib::sources(freebsd10::translator_prelude(&f.release)),
            None => Vec::new(),
        }
    }

    /// Undoes everything and leaves the guest running.
    pub fn detach(self) -> Result<(), Error> {
        self.target
            .detach()
            .map(|_| ())
            .map_err(|e| Error::target("restoring the guest", e))
    }
}

/// The FreeBSD 10 profile when the kernel is a FreeBSD 10.x one (its version must match the
/// guest's); None for another kernel.
fn freebsd_profile(kernel: &ImageKernel, target: &mut Target) -> Result<Option<FreeBsd>, Error> {
    use guests::freebsd10::Kernel;
    if kernel.symbol("osreldate").is_none() || kernel.symbol("version").is_none() {
        return Ok(None);
    }
    let mut mem = TargetMemory(target);
    let release = freebsd10::identify(kernel, &mut mem)?;
    if !(1_000_000..1_100_000).contains(&release.osreldate)
        || kernel.symbol("__start_set_sdt_probes_set").is_none()
    {
        return Ok(None);
    }
    let sdt = freebsd10::discover(kernel, &mut mem)?;
    let threads = ThreadLayout::new(kernel)?;
    Ok(Some(FreeBsd {
        release,
        sdt,
        threads,
    }))
}

/// For kernels without a profile: compare Linux's banner when there is one.
fn check_other_kernel(
    image: &KernelImage,
    target: &mut Target,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    let Ok(file) = image.global_bytes("linux_banner") else {
        warnings
            .push("cannot check that the kernel file matches the guest (no version string)".into());
        return Ok(());
    };
    let Ok(sym) = image.global("linux_banner") else {
        return Ok(());
    };
    let mut guest = vec![0u8; file.len()];
    target
        .read_memory(sym.address, &mut guest)
        .map_err(|e| Error::target("reading linux_banner", e.into()))?;
    if guest != file {
        let show = |b: &[u8]| {
            let end = b
                .iter()
                .position(|&c| c == 0 || c == b'\n')
                .unwrap_or(b.len());
            String::from_utf8_lossy(&b[..end]).into_owned()
        };
        return Err(Error::Profile(freebsd10::Error::Mismatch {
            guest: show(&guest),
            file: show(&file),
        }));
    }
    Ok(())
}

/// dtrace -l: the header, then every probe (lang's dtrace probes first) matched by one of
/// `descriptions` (all when empty). Also returns each description's match count.
pub fn listing(
    catalog: Option<&Catalog>,
    descriptions: &[String],
) -> (Vec<String>, Vec<(String, usize)>) {
    let mut all = vec![
        dtrace_probe(lang::BEGIN_ID, "BEGIN"),
        dtrace_probe(lang::END_ID, "END"),
        dtrace_probe(lang::ERROR_ID, "ERROR"),
    ];
    if let Some(c) = catalog {
        all.extend(c.probes().iter().cloned());
    }
    let parsed: Vec<(String, Option<Description>)> = descriptions
        .iter()
        .map(|d| (d.clone(), Description::parse(d).ok()))
        .collect();
    let mut counts: Vec<(String, usize)> = parsed.iter().map(|(d, _)| (d.clone(), 0)).collect();
    let mut lines = vec![listing_header()];
    for p in &all {
        let mut hit = parsed.is_empty();
        for (i, (_, d)) in parsed.iter().enumerate() {
            if d.as_ref()
                .is_some_and(|d| d.matches(&p.provider, &p.module, &p.function, &p.name))
            {
                counts[i].1 += 1;
                hit = true;
            }
        }
        if hit {
            lines.push(listing_line(p));
        }
    }
    (lines, counts)
}

fn dtrace_probe(id: u32, name: &str) -> lang::ProbeInfo {
    lang::ProbeInfo {
        id,
        provider: "dtrace".into(),
        module: String::new(),
        function: String::new(),
        name: name.into(),
        args: Vec::new(),
    }
}
