//! The event loop on a guest: enable what the program uses, turn each guest stop into one
//! probe firing, fire ticks and profile samples on time, and restore the guest on every exit.
//!
//! SDT probes: the catalog id of each enabled probe is written into its `id` field, so `edi`
//! at `sdt_probe_stub` is the probe id itself; one emulated-return breakpoint on the stub
//! serves every SDT probe (one stop per event, the stub's body never runs).

use std::collections::HashMap;

use introspect::{BpId, Event, Kind, Stop};
use lang::{Flow, OutputSink, ProbeKind, Program, BEGIN_ID};

use crate::catalog::ProbeSource;
use crate::clock::GuestClock;
use crate::context::{GuestContext, VcpuState};
use crate::error::Error;
use crate::guest::Guest;
use crate::kernel::{ImageKernel, TargetMemory};
use crate::output::WriterSink;
use crate::signals;
use crate::timers::{Timer, Timers};

/// Whether SDT calls are caught at a read watchpoint on `sdt_probe_func` (the default) rather
/// than only at the stub's breakpoint: `GUESTRACE_SDT_WATCH=0` turns it off, to compare.
fn sdt_watch_enabled() -> bool {
    std::env::var("GUESTRACE_SDT_WATCH").map_or(true, |v| v != "0")
}

/// Lowest kernel address on amd64 (profile-N: arg0 is the PC only when it is the kernel's).
const KERNEL_MIN: u64 = 0xffff_8000_0000_0000;

/// What each fbt entry breakpoint stands for.
#[derive(Debug, Clone, Copy, Default)]
struct FbtSite {
    entry: Option<u32>,
    /// A return probe caught by the call's return address (the function has no `ret` of its
    /// own to break on); its arg0 is then unknown and 0.
    ret: Option<u32>,
    nargs: usize,
    addr: u64,
}

/// An fbt return probe's breakpoint on one of the function's `ret` instructions.
#[derive(Debug, Clone, Copy)]
struct FbtReturn {
    probe: u32,
    /// The `ret`'s offset in the function (arg0).
    offset: u64,
}

/// What the loop needs to map stops to probes.
struct Enabled {
    stub: Option<BpId>,
    sdt_nargs: HashMap<u32, usize>,
    fbt: HashMap<BpId, FbtSite>,
    fbt_returns: HashMap<BpId, FbtReturn>,
}

impl Guest {
    /// Enables the program's probes, runs until exit(), a signal or a broken pipe, fires END,
    /// prints the aggregations, and restores the guest. Returns the exit status.
    pub fn run(mut self, program: &mut Program, out: &mut WriterSink) -> Result<i32, Error> {
        signals::register(self.target.interrupter(), self.target.cleanup_handle());
        let started = std::time::Instant::now();
        let result = crate::progress::during("enabling probes", || self.enable(program))
            .and_then(|en| self.event_loop(program, out, &en))
            .map_err(|e| crate::faults::print_if_lost(e, program, out));
        let capture = self.capture.as_mut().map(|c| c.finish()).transpose();
        crate::progress::RunSummary {
            events: Some((self.target.stats().events, started.elapsed())),
            errors: program.error_count(),
            capture: capture.as_ref().ok().cloned().flatten(),
        }
        .print();
        let detached = self.detach();
        let status = result?;
        detached?;
        capture?;
        Ok(status)
    }

    fn enable(&mut self, program: &Program) -> Result<Enabled, Error> {
        let mut sdt = Vec::new();
        let mut fbt: HashMap<u64, FbtSite> = HashMap::new();
        for p in program.enabled_probes() {
            if p.kind != ProbeKind::Catalog {
                continue;
            }
            match self.catalog.source(p.info.id) {
                Some(ProbeSource::Sdt { id_addr, nargs }) => {
                    sdt.push((p.info.id, *id_addr, *nargs))
                }
                Some(ProbeSource::FbtEntry { addr, nargs }) => {
                    let s = fbt.entry(*addr).or_default();
                    s.entry = Some(p.info.id);
                    s.nargs = *nargs;
                    s.addr = *addr;
                }
                Some(ProbeSource::FbtReturn { addr }) => {
                    let s = fbt.entry(*addr).or_default();
                    s.ret = Some(p.info.id);
                    s.addr = *addr;
                }
                None => {
                    return Err(Error::Unsupported(format!(
                        "probe {}:{}:{}:{} cannot be enabled on this guest",
                        p.info.provider, p.info.module, p.info.function, p.info.name
                    )))
                }
            }
        }
        let mut en = Enabled {
            stub: None,
            sdt_nargs: sdt.iter().map(|&(id, _, n)| (id, n)).collect(),
            fbt: HashMap::new(),
            fbt_returns: HashMap::new(),
        };
        if !sdt.is_empty() {
            let Some(f) = &self.freebsd else {
                return Err(Error::Unsupported("SDT probes need a guest profile".into()));
            };
            let wanted: Vec<&guests::freebsd10::SdtProbe> = f
                .sdt
                .iter()
                .filter(|p| sdt.iter().any(|&(_, a, _)| a == p.id_addr))
                .collect();
            let kernel = ImageKernel(&self.image);
            let stub = guests::freebsd10::check_enable_safe(
                &kernel,
                &mut TargetMemory(&mut self.target),
                &wanted,
            )?;
            // The breakpoint goes in before any id, so no hit can reach the stub's body.
            en.stub = Some(
                self.target
                    .add_breakpoint(stub, Kind::EmulatedReturn)
                    .map_err(|e| Error::target("planting the breakpoint on sdt_probe_stub", e))?,
            );
            // Every SDT site is `call *sdt_probe_func(%rip)`: a read watchpoint on the pointer
            // stops at the stub's entry like the breakpoint does, and QEMU does not flush its
            // translated code at that stop (it does at every breakpoint stop). The breakpoint
            // moves just past the stub's first push, as the net for calls the watch misses.
            // A stub that cannot take a read watchpoint (KVM has none) keeps the breakpoint.
            if sdt_watch_enabled() {
                if let (Some(bp), Ok(func)) = (en.stub, self.image.elf_symbol("sdt_probe_func")) {
                    let _ = self.target.watch_pointer(bp, func.address);
                }
            }
            // Emulated returns resume at a `ret` of the kernel's: one packet per event
            // instead of three. The stub's own exit is preferred (FreeBSD's ends in a tail
            // call, so usually another function's is used).
            if let Some(gadget) = crate::epilogue::return_gadget(
                &self.image,
                &["sdt_probe_stub", "kdb_backtrace"],
                stub,
            ) {
                self.target
                    .set_return_gadget(gadget)
                    .map_err(|e| Error::target("checking the return instruction", e))?;
            }
            for &(id, id_addr, _) in &sdt {
                self.target
                    .write_memory(id_addr, &u64::from(id).to_le_bytes())
                    .map_err(|e| Error::target("writing a probe id", e))?;
            }
        }
        for (addr, mut site) in fbt {
            // Return probes go on the function's own `ret` instructions, as FreeBSD's fbt
            // puts them: one stop per return, and arg0 says which `ret` ran. A function with
            // none (it leaves only by tail calls) has its returns caught at the return
            // address instead, from the entry breakpoint.
            if let Some(probe) = site.ret {
                let rets = crate::epilogue::return_sites(&self.image, addr);
                if !rets.is_empty() && !rets.contains(&addr) {
                    for at in rets {
                        let bp = self
                            .target
                            .add_breakpoint(at, Kind::EmulatedReturn)
                            .map_err(|e| {
                                Error::target(format!("planting an fbt breakpoint at 0x{at:x}"), e)
                            })?;
                        let offset = at - addr;
                        en.fbt_returns.insert(bp, FbtReturn { probe, offset });
                    }
                    site.ret = None;
                }
            }
            if site.entry.is_none() && site.ret.is_none() {
                continue;
            }
            let bp = self.target.add_breakpoint(addr, Kind::Entry).map_err(|e| {
                Error::target(format!("planting an fbt breakpoint at 0x{addr:x}"), e)
            })?;
            en.fbt.insert(bp, site);
        }
        Ok(en)
    }

    fn context<'a>(
        &'a mut self,
        clock: &'a GuestClock,
        args: [u64; 10],
        vcpu: VcpuState,
    ) -> GuestContext<'a> {
        GuestContext::new(
            &mut self.target,
            &self.image,
            self.freebsd.as_ref().map(|f| &f.threads),
            clock,
            args,
            vcpu,
        )
    }

    fn fire(
        &mut self,
        program: &mut Program,
        out: &mut dyn OutputSink,
        clock: &GuestClock,
        probe: u32,
        args: [u64; 10],
        vcpu: VcpuState,
    ) -> Flow {
        let mut ctx = self.context(clock, args, vcpu);
        program.fire(probe, &mut ctx, out)
    }

    fn event_loop(
        &mut self,
        program: &mut Program,
        out: &mut WriterSink,
        en: &Enabled,
    ) -> Result<i32, Error> {
        let mut clock = GuestClock::new();
        let first = self.stopped_state()?;
        let mut flow = self.fire(program, out, &clock, BEGIN_ID, [0; 10], first);
        out.flush();
        let mut timers = Timers::new(program.enabled_probes());
        let mut last = first;
        let mut cancelled = false;
        // Whether the guest runs now: a tick that does not read it leaves it running.
        let mut running = false;
        while flow == Flow::Continue && !signals::stop_requested() {
            let timeout = timers.until_next();
            if !running {
                clock.resumed();
                if live(self.target.resume(), "resuming the guest")?.is_none() {
                    cancelled = true;
                    break;
                }
                running = true;
            }
            let Some(stop) = live(self.target.wait_for(timeout), "waiting for the guest")? else {
                cancelled = true;
                break;
            };
            if let Some(stop) = stop {
                running = false;
                clock.stopped();
                if !self.handle(program, out, &clock, en, &stop, (&mut flow, &mut last))? {
                    cancelled = true;
                    break;
                }
            }
            if flow == Flow::Continue
                && !timers.is_empty()
                && timers.until_next().is_some_and(|d| d.is_zero())
            {
                let due = timers.take_due();
                // profile-N samples every vCPU's PC: that needs the guest stopped.
                if running && due.iter().any(|t| t.every_cpu) {
                    let Some(stop) = live(self.target.interrupt(), "stopping the guest")? else {
                        cancelled = true;
                        break;
                    };
                    running = false;
                    clock.stopped();
                    if !self.handle(program, out, &clock, en, &stop, (&mut flow, &mut last))? {
                        cancelled = true;
                        break;
                    }
                }
                if flow == Flow::Continue && running {
                    let (f, made) = self.fire_ticks_running(program, out, &clock, &due, last);
                    flow = f;
                    if let Some((stop, at)) = made {
                        // The clause stopped the guest to read it; what QEMU reported then
                        // may be a probe hit, which fires now like any other.
                        running = false;
                        clock.stopped_at(at);
                        if flow == Flow::Continue
                            && !self.handle(
                                program,
                                out,
                                &clock,
                                en,
                                &stop,
                                (&mut flow, &mut last),
                            )?
                        {
                            cancelled = true;
                            break;
                        }
                    }
                } else if flow == Flow::Continue {
                    flow = self.fire_timers(program, out, &clock, due, last)?;
                }
            }
            out.flush();
        }
        // END may read the guest: stop it (a probe hit now is past exit() and not fired).
        if running && !cancelled {
            match live(self.target.interrupt(), "stopping the guest")? {
                Some(_) => clock.stopped(),
                None => cancelled = true,
            }
        }
        if std::env::var_os("GUESTRACE_STATS").is_some() {
            let st = self.target.stats();
            eprintln!(
                "guestrace: stats: {} stops ({} at watchpoints, {} of them events; {} at the stub's net) in {:.3} s, \
                 guest held stopped {:.3} s; {} interrupts; registers from QEMU's memory at {} \
                 stops; {} shared-RAM reads, {} stub reads, {} spurious stops",
                st.events,
                st.watch_stops,
                st.watch_events,
                st.net_hits,
                clock.elapsed().as_secs_f64(),
                clock.held().as_secs_f64(),
                st.interrupts,
                st.mirrored_registers,
                st.ram_reads,
                st.stub_reads,
                st.spurious_stops
            );
        }
        let status = if cancelled {
            program.end(&mut lang::HostContext::default(), out)
        } else {
            let mut ctx = self.context(&clock, [0; 10], last);
            program.end(&mut ctx, out)
        };
        out.flush();
        Ok(status)
    }

    /// One stop: the probe it is (if any) fires, and `flow` and the last vCPU state follow.
    /// False when the run was cancelled meanwhile.
    fn handle(
        &mut self,
        program: &mut Program,
        out: &mut dyn OutputSink,
        clock: &GuestClock,
        en: &Enabled,
        stop: &Stop,
        (flow, last): (&mut Flow, &mut VcpuState),
    ) -> Result<bool, Error> {
        crate::faults::injected(self.target.stats().events)?;
        match self.on_stop(program, out, clock, en, stop) {
            Ok((f, state)) => {
                (*flow, *last) = (f, state);
                Ok(true)
            }
            Err(Error::Target {
                source: introspect::Error::Cancelled,
                ..
            }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Fires due tick-N probes while the guest runs. A clause that reads the guest stops it
    /// (once); that stop comes back for the loop to handle.
    fn fire_ticks_running(
        &mut self,
        program: &mut Program,
        out: &mut dyn OutputSink,
        clock: &GuestClock,
        due: &[Timer],
        last: VcpuState,
    ) -> (Flow, Option<(Stop, std::time::Instant)>) {
        let mut made = None;
        for t in due {
            let mut ctx = self.context(clock, [0; 10], last);
            if made.is_none() {
                ctx = ctx.running();
            }
            let flow = program.fire(t.probe, &mut ctx, out);
            made = made.or(ctx.stop_made());
            if flow != Flow::Continue {
                return (flow, made);
            }
        }
        (Flow::Continue, made)
    }

    fn stopped_state(&mut self) -> Result<VcpuState, Error> {
        let regs = self
            .target
            .registers()
            .map_err(|e| Error::target("reading registers", e))?
            .clone();
        Ok(VcpuState::of(&regs, 0))
    }

    fn on_stop(
        &mut self,
        program: &mut Program,
        out: &mut dyn OutputSink,
        clock: &GuestClock,
        en: &Enabled,
        stop: &Stop,
    ) -> Result<(Flow, VcpuState), Error> {
        let regs = self
            .target
            .registers()
            .map_err(|e| Error::target("reading registers", e))?
            .clone();
        let reg = |n: usize| regs.arg(n).unwrap_or(0);
        let sp = regs.rsp();
        let caller = self.target.read_u64(sp).unwrap_or(0);
        let state = VcpuState::of(&regs, caller);
        let flow = match &stop.event {
            Event::Breakpoint { id, .. } if Some(*id) == en.stub => {
                let probe = reg(0) as u32;
                let Some(&nargs) = en.sdt_nargs.get(&probe) else {
                    return Ok((Flow::Continue, state));
                };
                let mut args = [0u64; 10];
                for (i, a) in args.iter_mut().enumerate().take(5) {
                    *a = reg(i + 1);
                }
                if nargs > 5 {
                    args[5] = self.target.read_u64(sp + 8).unwrap_or(0);
                }
                if let Some(cap) = self.capture.as_mut().filter(|c| c.wants(probe)) {
                    cap.packet(
                        probe,
                        &mut TargetMemory(&mut self.target),
                        &args,
                        clock.now_ns(),
                    )?;
                }
                self.fire(program, out, clock, probe, args, state)
            }
            Event::Breakpoint { id, .. } if en.fbt_returns.contains_key(id) => {
                let r = en.fbt_returns[id];
                // At the `ret`: RSP points at the return address, so stack() starts in the
                // caller, as it does at the return address itself.
                let args = return_args(r.offset, &regs);
                self.fire(program, out, clock, r.probe, args, state)
            }
            Event::Breakpoint { id, .. } => {
                let Some(site) = en.fbt.get(id).copied() else {
                    return Ok((Flow::Continue, state));
                };
                if let Some(ret) = site.ret {
                    self.target
                        .catch_return(*id, u64::from(ret))
                        .map_err(|e| Error::target("catching an fbt return", e))?;
                }
                match site.entry {
                    Some(probe) => {
                        let mut args = [0u64; 10];
                        for (i, a) in args.iter_mut().enumerate().take(6) {
                            *a = reg(i);
                        }
                        // Arguments past the sixth are on the stack above the return address.
                        for (i, a) in args.iter_mut().enumerate().take(site.nargs.min(10)).skip(6) {
                            *a = self.target.read_u64(sp + 8 * (i as u64 - 5)).unwrap_or(0);
                        }
                        self.fire(program, out, clock, probe, args, state)
                    }
                    None => Flow::Continue,
                }
            }
            Event::Return { tag, .. } => {
                // arg0, the `ret`'s offset, is unknown here: 0.
                let args = return_args(0, &regs);
                // Stopped at the return address: the caller's frame is innermost in stack().
                let mut st = state;
                st.caller = 0;
                st.top = regs.rip();
                self.fire(program, out, clock, *tag as u32, args, st)
            }
            Event::Interrupted | Event::Other { .. } => Flow::Continue,
        };
        Ok((flow, state))
    }

    fn fire_timers(
        &mut self,
        program: &mut Program,
        out: &mut dyn OutputSink,
        clock: &GuestClock,
        due: Vec<Timer>,
        stopped: VcpuState,
    ) -> Result<Flow, Error> {
        for t in due {
            if !t.every_cpu {
                let flow = self.fire(program, out, clock, t.probe, [0; 10], stopped);
                if flow != Flow::Continue {
                    return Ok(flow);
                }
                continue;
            }
            for vcpu in self.target.vcpus().to_vec() {
                let regs = self
                    .target
                    .registers_of(vcpu)
                    .map_err(|e| Error::target("sampling a vCPU", e))?;
                let pc = regs.rip();
                let mut args = [0u64; 10];
                if pc >= KERNEL_MIN {
                    args[0] = pc;
                } else {
                    args[1] = pc;
                }
                let state = VcpuState::sampled(&regs);
                let flow = self.fire(program, out, clock, t.probe, args, state);
                if flow != Flow::Continue {
                    return Ok(flow);
                }
            }
        }
        Ok(Flow::Continue)
    }
}

/// fbt:::return's arguments: the `ret`'s offset in the function and the return value.
fn return_args(offset: u64, regs: &introspect::Registers) -> [u64; 10] {
    let mut args = [0u64; 10];
    args[0] = offset;
    args[1] = regs.get("rax").unwrap_or(0);
    args
}

/// A target call's result for the event loop: None when the run was cancelled (the guest is
/// already restored), the error named by `what` otherwise.
fn live<T>(r: Result<T, introspect::Error>, what: &str) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(introspect::Error::Cancelled) => Ok(None),
        Err(e) => Err(Error::target(what, e)),
    }
}
