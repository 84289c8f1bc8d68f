//! A compiled program and its run: probe firings (clauses in program order, predicates,
//! actions, records), runtime errors and the ERROR probe, exit(), and the end-of-run sequence.

use std::collections::HashMap;
use std::rc::Rc;

use lang_output::{AggFunc, AggPrintOptions, Aggregation, Datum, IntVal, SortOrder};

use crate::compile::{Action, ArgKind};
use crate::context::{FireContext, OutputSink};
use crate::eval::{Firing, Flt, Machine, RtFault, Val};
use crate::ir::Node;
use crate::options::Options;
use crate::probes::{Builtin, ProbeInfo, ProbeKind, END_ID, ERROR_ID};
use crate::records::{Pending, Record, RecordKind};
use crate::types::Type;

/// An aggregation as the compiler declared it.
#[derive(Debug, Clone)]
pub(crate) struct AggInfo {
    pub name: String,
    pub func: AggFunc,
    pub func_name: String,
    pub keys: Vec<Type>,
}

/// A compiled clause.
#[derive(Debug, Clone)]
pub(crate) struct CClause {
    pub probes: Vec<u32>,
    pub pred: Option<Node>,
    pub actions: Vec<Action>,
    /// Whether a firing writes a record (and so the probe line in non-quiet mode).
    pub records: bool,
    /// (probe id, enabled probe id) for each matched probe.
    pub epids: Vec<(u32, u32)>,
}

/// How many probes one description matched ("dtrace: description '%s' matched %u probes").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptionMatch {
    /// The description as written.
    pub description: String,
    /// How many probes it matched.
    pub matched: u32,
}

/// A probe the program enables, and how it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnabledProbe {
    /// The probe.
    pub info: ProbeInfo,
    /// Catalog probe (the providers fire it) or one of lang's own (BEGIN, tick-N, ...).
    pub kind: ProbeKind,
}

/// Slot counts and zero values of the program's variables.
#[derive(Debug, Clone)]
pub(crate) struct VarLayout {
    pub assocs: usize,
    pub global_types: Vec<Type>,
    pub local_types: Vec<Type>,
}

/// What the caller should do after a firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep tracing.
    Continue,
    /// exit() was called with this status: stop firing probes, then call [`Program::end`].
    Exit(i32),
}

/// A compiled D program with its variables and aggregations.
pub struct Program {
    clauses: Vec<CClause>,
    /// Per probe: its description and (clause, epid) list, shared so a firing clones no data.
    by_probe: HashMap<u32, ProbeClauses, ProbeIdHash>,
    enabled: Vec<EnabledProbe>,
    matches: Vec<DescriptionMatch>,
    aggs: Vec<Aggregation>,
    machine: Machine,
    opts: Options,
    exit: Option<i32>,
    header_done: bool,
    errors: u64,
    ended: bool,
    in_error: bool,
    buf: Vec<u8>,
    datums: Vec<Datum>,
    pending_stderr: Vec<String>,
    drops_reported: u64,
    /// The aggregating function's name of each aggregation (structured records).
    agg_funcs: Vec<String>,
    /// Whether the sink of the current firing wants structured records.
    structured: bool,
    /// The current clause's structured records.
    pending: Vec<Pending>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("clauses", &self.clauses.len())
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// Hands lang_output the provider's symbol names.
struct CtxSymbols<'a>(&'a dyn FireContext);

impl lang_output::Symbolizer for CtxSymbols<'_> {
    fn symbolize(&self, addr: u64) -> Option<String> {
        self.0.symbolize(addr)
    }
}

/// A [`FireContext`] whose arguments are the ERROR probe's, all else from the faulting firing.
struct ErrorArgs<'a> {
    inner: &'a mut dyn FireContext,
    args: [u64; 6],
}

impl FireContext for ErrorArgs<'_> {
    fn arg(&self, i: usize) -> u64 {
        self.args.get(i).copied().unwrap_or(0)
    }
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), crate::context::Fault> {
        self.inner.read(addr, buf)
    }
    fn builtin(&mut self, var: Builtin) -> u64 {
        self.inner.builtin(var)
    }
    fn execname(&mut self) -> Vec<u8> {
        self.inner.execname()
    }
    fn thread_key(&mut self) -> u64 {
        self.inner.thread_key()
    }
    fn stack(&mut self) -> Vec<u64> {
        self.inner.stack()
    }
    fn symbolize(&self, addr: u64) -> Option<String> {
        self.inner.symbolize(addr)
    }
}

/// Where in a clause a fault happened.
enum Site {
    Predicate,
    Action(usize),
}

impl Program {
    pub(crate) fn new(
        clauses: Vec<CClause>,
        enabled: Vec<EnabledProbe>,
        matches: Vec<DescriptionMatch>,
        aggs: Vec<AggInfo>,
        layout: VarLayout,
        opts: Options,
        all_probes: Vec<ProbeInfo>,
    ) -> Program {
        let mut by_probe: HashMap<u32, Vec<(usize, u32)>> = HashMap::new();
        for (ci, c) in clauses.iter().enumerate() {
            for &(p, epid) in &c.epids {
                by_probe.entry(p).or_default().push((ci, epid));
            }
        }
        let infos: HashMap<u32, &ProbeInfo> = all_probes.iter().map(|p| (p.id, p)).collect();
        let by_probe = by_probe
            .into_iter()
            .filter_map(|(id, list)| {
                let info = infos.get(&id)?;
                Some((id, (Rc::new((*info).clone()), Rc::from(list))))
            })
            .collect();
        let agg_funcs = aggs.iter().map(|a| a.func_name.clone()).collect();
        let aggs = aggs
            .iter()
            .enumerate()
            .map(|(i, a)| Aggregation::new(i as u32, a.name.clone(), a.func))
            .collect();
        let mut machine = Machine::new(
            &layout.global_types,
            &layout.local_types,
            layout.assocs,
            opts.strsize as usize,
        );
        // dtrace's dynamic variables live in dynvarsize bytes; an element costs about 64 bytes.
        machine.dyn_limit = (opts.dynvarsize / 64).max(1) as usize;
        Program {
            clauses,
            by_probe,
            enabled,
            matches,
            aggs,
            machine,
            opts,
            exit: None,
            header_done: false,
            errors: 0,
            ended: false,
            in_error: false,
            buf: Vec::new(),
            datums: Vec::new(),
            pending_stderr: Vec::new(),
            drops_reported: 0,
            agg_funcs,
            structured: false,
            pending: Vec::new(),
        }
    }

    /// The probes to enable, each once, in first-use order.
    pub fn enabled_probes(&self) -> &[EnabledProbe] {
        &self.enabled
    }

    /// Each description's match count, in program order.
    pub fn description_matches(&self) -> &[DescriptionMatch] {
        &self.matches
    }

    /// The options in force (pragmas and -x applied).
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// How many runtime errors have been reported.
    pub fn error_count(&self) -> u64 {
        self.errors
    }

    /// The exit() status, once exit() has been called.
    pub fn exit_status(&self) -> Option<i32> {
        self.exit
    }

    /// Fires `probe_id`: runs its clauses in program order. After exit(), only END runs.
    pub fn fire(
        &mut self,
        probe_id: u32,
        ctx: &mut dyn FireContext,
        out: &mut dyn OutputSink,
    ) -> Flow {
        // After the end of the run nothing fires; after exit() only END (which end() fires).
        if self.ended || (self.exit.is_some() && probe_id != END_ID) {
            return self.flow();
        }
        self.fire_clauses(probe_id, ctx, out);
        self.flow()
    }

    fn flow(&self) -> Flow {
        match self.exit {
            Some(s) => Flow::Exit(s),
            None => Flow::Continue,
        }
    }

    /// Ends the run as dtrace does: END's clauses (once), a blank line, then every aggregation
    /// no printa() printed. Returns the exit status (0 without exit()).
    /// Calling it again only returns the status.
    pub fn end(&mut self, ctx: &mut dyn FireContext, out: &mut dyn OutputSink) -> i32 {
        self.finish(true, ctx, out)
    }

    /// Ends the run without firing END, for a run whose guest is gone (END's clauses could only
    /// read a dead guest): the blank line and the unprinted aggregations, as [`Program::end`].
    pub fn end_without_probe(
        &mut self,
        ctx: &mut dyn FireContext,
        out: &mut dyn OutputSink,
    ) -> i32 {
        self.finish(false, ctx, out)
    }

    fn finish(
        &mut self,
        fire_end: bool,
        ctx: &mut dyn FireContext,
        out: &mut dyn OutputSink,
    ) -> i32 {
        if self.ended {
            return self.exit.unwrap_or(0);
        }
        self.ended = true;
        if fire_end {
            self.fire_clauses(END_ID, ctx, out);
        }
        let mut buf = vec![b'\n'];
        let refs: Vec<&Aggregation> = self.aggs.iter().collect();
        // Stack keys print their frames by name.
        lang_output::print_unprinted_with(
            &refs,
            &self.agg_print_options(),
            &CtxSymbols(&*ctx),
            &mut buf,
        );
        out.stdout(&buf);
        if out.wants_records() {
            let order = self.agg_print_options().order;
            for (agg, rows) in lang_output::unprinted_rows(&refs, &order) {
                let function = self
                    .agg_funcs
                    .get(agg.id() as usize)
                    .map_or("", String::as_str);
                for row in &rows {
                    out.record(&Record::Aggregation {
                        name: agg.name(),
                        function,
                        row,
                    });
                }
            }
        }
        self.exit.unwrap_or(0)
    }

    fn agg_print_options(&self) -> AggPrintOptions {
        AggPrintOptions {
            order: SortOrder {
                by_key: self.opts.aggsortkey,
                reverse: self.opts.aggsortrev,
                sort_pos: self.opts.aggsortpos as usize,
                key_pos: self.opts.aggsortkeypos as usize,
            },
            strsize: self.opts.strsize as usize,
            rawbytes: self.opts.rawbytes,
        }
    }

    fn fire_clauses(&mut self, probe_id: u32, ctx: &mut dyn FireContext, out: &mut dyn OutputSink) {
        let Some((probe, list)) = self.by_probe.get(&probe_id).cloned() else {
            return;
        };
        self.machine.reset_locals();
        self.run_clauses(&probe, &list, ctx, out);
        let drops = self.machine.dyn_drops - self.drops_reported;
        if drops > 0 {
            self.drops_reported = self.machine.dyn_drops;
            let s = if drops == 1 { "" } else { "s" };
            out.stderr(&format!("dtrace: {drops} dynamic variable drop{s}"));
        }
    }

    fn run_clauses(
        &mut self,
        probe: &Rc<ProbeInfo>,
        list: &[(usize, u32)],
        ctx: &mut dyn FireContext,
        out: &mut dyn OutputSink,
    ) {
        let probe_id = probe.id;
        for &(ci, epid) in list.iter() {
            // exit() stops the remaining clauses of this firing too, except END's.
            if self.exit.is_some() && probe_id != END_ID {
                break;
            }
            self.buf.clear();
            self.structured = out.wants_records();
            self.pending.clear();
            let r = self.run_clause(ci, epid, probe, ctx);
            match r {
                Ok(()) => {
                    if !self.buf.is_empty() {
                        out.stdout(&self.buf);
                    }
                    if self.structured && !self.pending.is_empty() {
                        let firing = crate::records::Firing {
                            probe,
                            cpu: ctx.builtin(Builtin::Cpu) as u32,
                            timestamp: ctx.builtin(Builtin::Timestamp),
                        };
                        for p in self.pending.drain(..) {
                            p.emit(firing, &self.buf, out);
                        }
                    }
                    for line in self.pending_stderr.drain(..) {
                        out.stderr(&line);
                    }
                }
                Err((fault, site)) => {
                    self.buf.clear();
                    self.report(fault, site, epid, probe, ctx, out);
                }
            }
        }
    }

    fn report(
        &mut self,
        fault: RtFault,
        site: Site,
        epid: u32,
        probe: &ProbeInfo,
        ctx: &mut dyn FireContext,
        out: &mut dyn OutputSink,
    ) {
        self.errors += 1;
        let addr = match fault.kind {
            crate::eval::FaultKind::BadAddr => format!(" (0x{:x})", fault.addr),
            _ => String::new(),
        };
        let (place, action) = match site {
            Site::Predicate => ("predicate".to_string(), 0),
            Site::Action(i) => (format!("action #{}", i + 1), i as u64 + 1),
        };
        out.stderr(&format!(
            "dtrace: error on enabled probe ID {epid} (ID {}: {}:{}:{}:{}): {}{addr} in {place} at DIF offset {}",
            probe.id,
            probe.provider,
            probe.module,
            probe.function,
            probe.name,
            fault.kind.text(),
            fault.pc
        ));
        if self.in_error || probe.id == ERROR_ID {
            return;
        }
        self.in_error = true;
        let args = [
            0,
            u64::from(epid),
            action,
            u64::from(fault.pc),
            fault.kind as u64,
            fault.addr,
        ];
        let mut ectx = ErrorArgs { inner: ctx, args };
        // ERROR's clause-locals are its own; the faulting firing's are abandoned with it.
        self.fire_clauses(ERROR_ID, &mut ectx, out);
        self.in_error = false;
    }

    fn run_clause(
        &mut self,
        ci: usize,
        epid: u32,
        probe: &ProbeInfo,
        ctx: &mut dyn FireContext,
    ) -> Result<(), (RtFault, Site)> {
        let clause = &self.clauses[ci];
        let mut f = Firing::new(ctx, probe, epid);
        if let Some(p) = &clause.pred {
            let v = self
                .machine
                .eval(p, &mut f)
                .map_err(|e| (*e, Site::Predicate))?;
            if v.int() == 0 {
                return Ok(());
            }
        }
        let quiet = self.opts.quiet;
        // Where this record's line starts (after dtrace's column header, printed once).
        let mut line_start = self.buf.len();
        if clause.records && !quiet {
            if !self.header_done {
                self.header_done = true;
                lang_output::record_header(&mut self.buf);
            }
            line_start = self.buf.len();
            let cpu = f.ctx.builtin(Builtin::Cpu) as i32;
            lang_output::record_prefix(
                cpu,
                probe.id,
                probe.function.as_bytes(),
                probe.name.as_bytes(),
                &mut self.buf,
            );
        }
        let clauses = std::mem::take(&mut self.clauses);
        let mut result = Ok(());
        for (i, a) in clauses[ci].actions.iter().enumerate() {
            if let Err(e) = self.act(a, &mut f) {
                result = Err((*e, Site::Action(i)));
                break;
            }
        }
        self.clauses = clauses;
        result?;
        if self.clauses[ci].records {
            if self.structured && self.pending.is_empty() {
                // Nothing traced a value: the record is the default action's probe line.
                self.pending.push(Pending::Action {
                    kind: RecordKind::Default,
                    text: line_start..self.buf.len(),
                    args: Vec::new(),
                });
            }
            lang_output::record_end(self.opts.quiet, &mut self.buf);
        }
        Ok(())
    }

    /// Notes a structured record for the bytes from `start` on (only when the sink wants them).
    fn note(&mut self, kind: RecordKind, start: usize, args: impl FnOnce() -> Vec<Datum>) {
        if self.structured {
            self.pending.push(Pending::Action {
                kind,
                text: start..self.buf.len(),
                args: args(),
            });
        }
    }

    fn act(&mut self, a: &Action, f: &mut Firing) -> Result<(), Flt> {
        let start = self.buf.len();
        match a {
            Action::Eval(n) => {
                self.machine.eval(n, f)?;
            }
            Action::Printf { fmt, args } => {
                self.machine.datums(args, &mut self.datums, f)?;
                let sym = CtxSymbols(&*f.ctx);
                fmt.render(&self.datums, &sym, &mut self.buf)
                    .map_err(render_fault)?;
                if self.structured {
                    let args = self.datums.clone();
                    self.note(RecordKind::Printf, start, || args);
                }
            }
            Action::Trace(n, k) => {
                let d = self.machine.datum(n, *k, f)?;
                let opts = lang_output::RecordOptions {
                    quiet: self.opts.quiet,
                    strsize: self.opts.strsize as usize,
                    rawbytes: self.opts.rawbytes,
                };
                lang_output::trace_datum_with(&d, &opts, &mut self.buf);
                self.note(RecordKind::Trace, start, || vec![d]);
            }
            Action::Tracemem { addr, len, pc } => {
                let a = self.machine.eval_int(addr, f)?;
                let mut bytes = vec![0u8; *len as usize];
                self.machine.read(a, &mut bytes, f, *pc)?;
                lang_output::tracemem(&bytes, &mut self.buf);
                self.note(RecordKind::Tracemem, start, || vec![Datum::Str(bytes)]);
            }
            Action::Printa { fmt, aggs } => {
                let opts = self.agg_print_options();
                let refs: Vec<&Aggregation> = aggs
                    .iter()
                    .filter_map(|i| self.aggs.get(*i as usize))
                    .collect();
                if self.structured {
                    self.pending.push(Pending::Printa {
                        aggregations: refs.iter().map(|a| a.name().to_string()).collect(),
                        rows: lang_output::printa_rows(&refs, &opts.order),
                    });
                }
                match fmt {
                    Some(fmt) => {
                        let sym = CtxSymbols(&*f.ctx);
                        lang_output::printa_format(fmt, &refs, &opts, &sym, &mut self.buf)
                            .map_err(render_fault)?;
                    }
                    None => {
                        lang_output::printa_with(&refs, &opts, &CtxSymbols(&*f.ctx), &mut self.buf)
                    }
                }
            }
            Action::Aggregate {
                agg,
                keys,
                value,
                incr,
            } => {
                self.machine.datums(keys, &mut self.datums, f)?;
                let value = match value {
                    Some(n) => self.machine.eval_int(n, f)? as i64,
                    None => 0,
                };
                let incr = match incr {
                    Some(n) => self.machine.eval_int(n, f)? as i64,
                    None => 1,
                };
                if let Some(a) = self.aggs.get_mut(*agg as usize) {
                    a.update(&self.datums, value, incr);
                }
            }
            Action::Exit(n) => {
                let v = self.machine.eval_int(n, f)?;
                self.exit = Some(v as i32);
            }
            Action::Clear(a) => {
                if let Some(a) = self.aggs.get_mut(*a as usize) {
                    a.clear();
                }
            }
            Action::Trunc(a, n) => {
                let keep = match n {
                    Some(n) => Some(self.machine.eval_int(n, f)? as i64),
                    None => None,
                };
                if let Some(a) = self.aggs.get_mut(*a as usize) {
                    a.trunc(keep);
                }
            }
            Action::Normalize(a, n) => {
                let v = self.machine.eval_int(n, f)?;
                if let Some(a) = self.aggs.get_mut(*a as usize) {
                    if a.normalize(v).is_err() {
                        return Err(Box::new(RtFault {
                            kind: crate::eval::FaultKind::DivZero,
                            addr: 0,
                            pc: 0,
                        }));
                    }
                }
            }
            Action::Denormalize(a) => {
                if let Some(a) = self.aggs.get_mut(*a as usize) {
                    a.denormalize();
                }
            }
            Action::Setopt(name, value) => {
                let name = self.machine.eval(name, f)?;
                let value = match value {
                    Some(v) => Some(self.machine.eval(v, f)?),
                    None => None,
                };
                let n = String::from_utf8_lossy(name.bytes()).into_owned();
                let v = value
                    .as_ref()
                    .map(|v| String::from_utf8_lossy(v.bytes()).into_owned());
                if let Err(why) = self.opts.set(&n, v.as_deref()) {
                    let p = f.probe;
                    self.pending_stderr.push(format!(
                        "dtrace: error on enabled probe ID {} (ID {}: {}:{}:{}:{}): couldn't set option \"{n}\" to \"{}\": {why}",
                        f.epid,
                        p.id,
                        p.provider,
                        p.module,
                        p.function,
                        p.name,
                        v.as_deref().unwrap_or("")
                    ));
                }
            }
            Action::Stack(n) => {
                let mut pcs = f.ctx.stack();
                pcs.truncate(*n as usize);
                let sym = CtxSymbols(&*f.ctx);
                lang_output::print_stack(&pcs, lang_output::STACK_INDENT, &sym, &mut self.buf);
                self.note(RecordKind::Stack, start, || vec![Datum::Stack(pcs)]);
            }
        }
        Ok(())
    }
}

impl Machine {
    /// Evaluates values for output into `out`, reusing its string buffers from the last firing
    /// (no allocation per string once they have grown).
    fn datums(
        &mut self,
        args: &[(Node, ArgKind)],
        out: &mut Vec<Datum>,
        f: &mut Firing,
    ) -> Result<(), Flt> {
        out.truncate(args.len());
        for (i, (n, k)) in args.iter().enumerate() {
            match (*k, out.get_mut(i)) {
                (ArgKind::Str, Some(Datum::Str(buf))) => {
                    let v = self.eval(n, f)?;
                    buf.clear();
                    buf.extend_from_slice(v.bytes());
                }
                (kind, slot) => {
                    let d = self.datum(n, kind, f)?;
                    match slot {
                        Some(s) => *s = d,
                        None => out.push(d),
                    }
                }
            }
        }
        Ok(())
    }

    /// Evaluates a value for output: an integer record of its type's size, or a string.
    fn datum(&mut self, n: &Node, kind: ArgKind, f: &mut Firing) -> Result<Datum, Flt> {
        Ok(match kind {
            ArgKind::Int(t) => Datum::Int(IntVal::new(self.eval_int(n, f)?, t.size, t.signed)),
            ArgKind::Float(size) => {
                let bits = self.eval_int(n, f)?;
                let value = if size == 4 {
                    f64::from(f32::from_bits(bits as u32))
                } else {
                    f64::from_bits(bits)
                };
                Datum::Float(lang_output::FloatVal { value, size })
            }
            ArgKind::Stack(depth) => {
                let mut pcs = f.ctx.stack();
                pcs.truncate(depth as usize);
                Datum::Stack(pcs)
            }
            ArgKind::Str => match self.eval(n, f)? {
                Val::S(s) => Datum::Str(s.to_vec()),
                Val::I(_) | Val::T(_) => Datum::Str(Vec::new()),
            },
        })
    }
}

/// Probe ids are small distinct integers: hashing them needs no SipHash.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type ProbeIdHash = std::hash::BuildHasherDefault<IdHasher>;

/// A probe's description and its (clause index, enabled probe id) list.
type ProbeClauses = (Rc<ProbeInfo>, Rc<[(usize, u32)]>);

/// A format the checker let through but the values cannot fill: an illegal operation.
fn render_fault(_: lang_output::RenderError) -> Flt {
    Box::new(RtFault {
        kind: crate::eval::FaultKind::IllOp,
        addr: 0,
        pc: 0,
    })
}
