//! SDT probes as the kernel defines them: found by walking the `set_sdt_probes_set` and
//! `set_sdt_argtypes_set` linker sets (never by guessing symbol spellings, which changed
//! between 10.0 and 10.1), and the checks that make writing probe ids safe.

use std::collections::HashMap;

use super::{need_offset, need_symbol, read_cstr, read_u64, Error, Kernel, Memory};

/// The module sdt.ko names probes defined in the kernel proper.
pub const SDT_MODULE: &str = "kernel";
/// The function sdt.ko names probes whose definition leaves it empty.
pub const SDT_FUNCTION: &str = "none";

/// Upper bound on linker-set entries, so a corrupt set cannot make us read forever.
const MAX_SET_ENTRIES: u64 = 65_536;

/// One probe argument's C types, as `SDT_PROBE_ARGTYPE` recorded them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdtArg {
    /// The native type, e.g. `struct tcpcb *`.
    pub native: String,
    /// The translated type, e.g. `tcpsinfo_t *`; None when the probe does not translate it.
    pub translated: Option<String>,
}

/// One SDT probe of the running kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdtProbe {
    /// `prov->name`, e.g. "tcp".
    pub provider: String,
    /// The DTrace name (`__` in the C name becomes `-`), e.g. "state-change".
    pub name: String,
    /// Address of the `struct sdt_probe`.
    pub addr: u64,
    /// Address of its `id` field (8 bytes): nonzero enables the probe.
    pub id_addr: u64,
    /// The id found in the guest.
    pub id: u64,
    /// Argument types by index.
    pub args: Vec<SdtArg>,
}

/// Walks the linker sets and returns every SDT probe of the kernel proper, in set order.
pub fn discover(k: &dyn Kernel, m: &mut dyn Memory) -> Result<Vec<SdtProbe>, Error> {
    let probe_ptrs = linker_set(k, m, "sdt_probes_set")?;
    let off_prov = need_offset(k, "struct sdt_probe", "prov")?;
    let off_name = need_offset(k, "struct sdt_probe", "name")?;
    let off_id = need_offset(k, "struct sdt_probe", "id")?;
    let off_pname = need_offset(k, "struct sdt_provider", "name")?;
    let mut args = argtypes(k, m)?;
    let mut providers: HashMap<u64, String> = HashMap::new();
    let mut out = Vec::with_capacity(probe_ptrs.len());
    for p in probe_ptrs {
        let prov = read_u64(m, p + off_prov, "sdt_probe.prov")?;
        let provider = match providers.get(&prov) {
            Some(n) => n.clone(),
            None => {
                let name_ptr = read_u64(m, prov + off_pname, "sdt_provider.name")?;
                let n = read_cstr(m, name_ptr, 64, "a provider name")?;
                providers.insert(prov, n.clone());
                n
            }
        };
        let name_ptr = read_u64(m, p + off_name, "sdt_probe.name")?;
        let name = read_cstr(m, name_ptr, 128, "a probe name")?.replace("__", "-");
        let id = read_u64(m, p + off_id, "sdt_probe.id")?;
        let mut list = args.remove(&p).unwrap_or_default();
        list.sort_by_key(|(ndx, _)| *ndx);
        out.push(SdtProbe {
            provider,
            name,
            addr: p,
            id_addr: p + off_id,
            id,
            args: list.into_iter().map(|(_, a)| a).collect(),
        });
    }
    Ok(out)
}

/// The pointers of linker set `set` (between `__start_set_X` and `__stop_set_X`).
fn linker_set(k: &dyn Kernel, m: &mut dyn Memory, set: &str) -> Result<Vec<u64>, Error> {
    let start = need_symbol(k, &format!("__start_set_{set}"))?;
    let stop = need_symbol(k, &format!("__stop_set_{set}"))?;
    let n = stop.saturating_sub(start) / 8;
    if n > MAX_SET_ENTRIES {
        return Err(Error::Missing(format!("sane bounds for linker set {set}")));
    }
    let mut raw = vec![0u8; (n * 8) as usize];
    m.read(start, &mut raw).map_err(|a| Error::Unreadable {
        addr: a,
        what: format!("linker set {set}"),
    })?;
    Ok(raw
        .chunks_exact(8)
        .filter_map(|c| <[u8; 8]>::try_from(c).ok().map(u64::from_le_bytes))
        .filter(|&p| p != 0)
        .collect())
}

/// Argument types per probe address, from `set_sdt_argtypes_set` (the probe's own
/// `argtype_list` is filled in only by sdt.ko, so it is unusable on a guest without DTrace).
fn argtypes(k: &dyn Kernel, m: &mut dyn Memory) -> Result<HashMap<u64, Vec<(u32, SdtArg)>>, Error> {
    let ptrs = linker_set(k, m, "sdt_argtypes_set")?;
    let off_ndx = need_offset(k, "struct sdt_argtype", "ndx")?;
    let off_type = need_offset(k, "struct sdt_argtype", "type")?;
    let off_xtype = need_offset(k, "struct sdt_argtype", "xtype")?;
    let off_probe = need_offset(k, "struct sdt_argtype", "probe")?;
    let mut out: HashMap<u64, Vec<(u32, SdtArg)>> = HashMap::new();
    for a in ptrs {
        let ndx = read_u64(m, a + off_ndx, "sdt_argtype.ndx")? as u32;
        let ty = read_u64(m, a + off_type, "sdt_argtype.type")?;
        let xty = read_u64(m, a + off_xtype, "sdt_argtype.xtype")?;
        let probe = read_u64(m, a + off_probe, "sdt_argtype.probe")?;
        let native = read_cstr(m, ty, 128, "an argument type")?;
        let translated = match xty {
            0 => None,
            x => Some(read_cstr(m, x, 128, "a translated argument type")?),
        };
        out.entry(probe)
            .or_default()
            .push((ndx, SdtArg { native, translated }));
    }
    Ok(out)
}

/// Before any id is written: `sdt_probe_func` must still be `sdt_probe_stub` (with sdt.ko
/// loaded, a made-up id would index DTrace's own probe table) and every probe about to be
/// enabled must have id 0 (nobody else is using it). Returns the stub's address.
pub fn check_enable_safe(
    k: &dyn Kernel,
    m: &mut dyn Memory,
    probes: &[&SdtProbe],
) -> Result<u64, Error> {
    let stub = need_symbol(k, "sdt_probe_stub")?;
    let func = read_u64(m, need_symbol(k, "sdt_probe_func")?, "sdt_probe_func")?;
    if func != stub {
        return Err(Error::Unsafe(format!(
            "sdt_probe_func is 0x{func:x}, not sdt_probe_stub (0x{stub:x}): DTrace (sdt.ko) is \
             loaded in the guest; unload it (kldunload dtraceall sdt) or use its own dtrace"
        )));
    }
    for p in probes {
        let id = read_u64(m, p.id_addr, "sdt_probe.id")?;
        if id != 0 {
            return Err(Error::Unsafe(format!(
                "probe {}:{}:{}:{} already has id {id}: another tracer is using it (if a \
                 guestrace was killed, run guestrace --cleanup --gdb ADDR)",
                p.provider, SDT_MODULE, SDT_FUNCTION, p.name
            )));
        }
    }
    Ok(stub)
}
