//! Per-event costs against QEMU (TCG) running the small test kernel (tests/kernel), whose loop
//! hits the probe with almost no guest work in between, so the client's and QEMU's own costs show;
//! all in one run:
//! bare resume->stop cycle, emulated-return events, entry breakpoint with step-over, `m`
//! versus shared-RAM reads, and Debian's gdb with a Python breakpoint doing the same work.
//!
//! `cargo bench -p introspect --bench micro` (env BENCH_SECS=seconds per measurement, default 3).
#[path = "../tests/common/qemu.rs"]
#[allow(dead_code)]
mod qemu;

use std::process::Command;
use std::time::{Duration, Instant};

use introspect::rsp::Resume;
use introspect::{Event, Journal, Kind, Options, Target};
use qemu::{Boot, Vm};

/// Runs `f` (which does `n` units per call) in slices; returns the median µs per unit.
fn measure(secs: f64, mut f: impl FnMut() -> u64) -> (f64, u64) {
    let slices = 6;
    let slice = Duration::from_secs_f64(secs / slices as f64);
    let mut per = Vec::new();
    let mut total = 0;
    for _ in 0..slices {
        let start = Instant::now();
        let mut n = 0;
        while start.elapsed() < slice {
            n += f();
        }
        total += n;
        per.push(start.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64);
    }
    per.sort_by(|a, b| a.total_cmp(b));
    ((per[slices / 2 - 1] + per[slices / 2]) / 2.0, total)
}

fn connect(vm: &Vm) -> Target {
    let o = Options {
        ram_file: Some(vm.ram.clone()),
        journal: Journal::At(vm.dir.join("bench.journal")),
        ..Options::default()
    };
    Target::connect(&vm.addr, o).expect("connect")
}

fn gdb_python(vm: &Vm, addr: u64, secs: f64, read: bool) -> Option<f64> {
    let script = vm.dir.join("bench.py");
    let body = format!(
        r#"
import gdb, time
class Bp(gdb.Breakpoint):
    def __init__(self):
        super().__init__("*{addr:#x}", internal=True)
        self.hits = 0
        self.start = time.monotonic()
    def stop(self):
        self.hits += 1
        if {read}:
            rdi = int(gdb.parse_and_eval("$rdi")) & 0xffffffffffffffff
            gdb.selected_inferior().read_memory(rdi, 64)
        return time.monotonic() - self.start >= {secs}
bp = Bp()
gdb.execute("continue")
el = time.monotonic() - bp.start
print("GDBRESULT %d %f" % (bp.hits, el))
bp.delete()
gdb.execute("detach")
"#,
        read = if read { "True" } else { "False" }
    );
    std::fs::write(&script, body).ok()?;
    let out = Command::new("gdb")
        .args(["-batch", "-nx", "-ex", "set pagination off"])
        .arg("-ex")
        .arg(format!("target remote {}", vm.addr))
        .arg("-x")
        .arg(&script)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("GDBRESULT"))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    let hits: f64 = f.get(1)?.parse().ok()?;
    let el: f64 = f.get(2)?.parse().ok()?;
    Some(el * 1e6 / hits)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let vm = Vm::boot(Boot { smp: 1, tcp: false });
    let entry = vm.sym("traced_func");
    let stub = vm.sym("probe_stub");

    // 1. Bare cycle: continue from a breakpoint PC re-hits at once, executing nothing.
    let mut t = connect(&vm);
    t.add_breakpoint(entry, Kind::Entry).expect("bp");
    t.resume_and_wait(None).expect("first hit");
    let (bare, _) = measure(secs, || {
        let r = t.rsp();
        r.resume(Resume::Continue).expect("c");
        r.wait_stop(None, false).expect("stop");
        1
    });
    drop(t);

    // 1b. Progress floor: the same hit, return emulated with constant RIP/RSP (no reads at
    //     all), so the guest runs its loop once per event. QEMU 7.2 flushes all translated
    //     code at every breakpoint stop, so running guest code costs retranslation.
    let mut t = connect(&vm);
    t.write_memory(vm.sym("probe_enabled"), &1u64.to_le_bytes())
        .expect("enable");
    t.add_breakpoint(stub, Kind::EmulatedReturn).expect("bp");
    t.resume_and_wait(None).expect("first hit");
    let sp = t.registers().expect("regs").rsp();
    let ret = t.read_u64(sp).expect("ret");
    let layout = t.layout().clone();
    let (rip_n, rsp_n) = (
        layout.find("rip").expect("rip").regnum,
        layout.find("rsp").expect("rsp").regnum,
    );
    let (floor, _) = measure(secs, || {
        let r = t.rsp();
        r.queue_register_write(rip_n, &ret.to_le_bytes());
        r.queue_register_write(rsp_n, &(sp + 8).to_le_bytes());
        r.resume(Resume::Continue).expect("c");
        r.wait_stop(None, false).expect("stop");
        1
    });
    drop(t);

    // 2. Emulated return: one stop per event; `g` (read by the crate at every stop), a stack
    //    argument from shared RAM, then RIP/RSP writes pipelined with the continue.
    let mut t = connect(&vm);
    t.write_memory(vm.sym("probe_enabled"), &1u64.to_le_bytes())
        .expect("enable");
    t.add_breakpoint(stub, Kind::EmulatedReturn).expect("bp");
    let (emulated, n_emul) = measure(secs, || {
        let s = t.resume_and_wait(None).expect("hit");
        assert!(matches!(
            s.event,
            Event::Breakpoint {
                kind: Kind::EmulatedReturn,
                ..
            }
        ));
        let sp = t.registers().expect("regs").rsp();
        t.read_u64(sp + 8).expect("stack arg");
        1
    });
    drop(t);

    // 2b. The same, with calls caught through the function pointer by a read watchpoint
    //     (QEMU 7.2 does not flush translated code at watchpoint stops).
    let mut t = connect(&vm);
    t.write_memory(vm.sym("probe_enabled"), &1u64.to_le_bytes())
        .expect("enable");
    let bp = t.add_breakpoint(stub, Kind::EmulatedReturn).expect("bp");
    t.watch_pointer(bp, vm.sym("probe_func")).expect("watch");
    let (watched, n_watch) = measure(secs, || {
        let s = t.resume_and_wait(None).expect("hit");
        assert!(matches!(
            s.event,
            Event::Breakpoint {
                kind: Kind::EmulatedReturn,
                ..
            }
        ));
        let sp = t.registers().expect("regs").rsp();
        t.read_u64(sp + 8).expect("stack arg");
        1
    });
    let watch_stops = t.stats().watch_stops;
    drop(t);

    // 3. Entry breakpoint with step-over (bp kept inserted), reading rdi + 64 bytes.
    let mut t = connect(&vm);
    t.add_breakpoint(entry, Kind::Entry).expect("bp");
    let mut buf = [0u8; 64];
    let (entry_us, n_entry) = measure(secs, || {
        t.resume_and_wait(None).expect("hit");
        let rdi = t.registers().expect("regs").arg(0).expect("rdi");
        t.read_memory(rdi, &mut buf).expect("read");
        1
    });
    drop(t);

    // 3b. Entry breakpoint with a real single-step over the breakpoint (two stops per event).
    let mut t = Target::connect(
        &vm.addr,
        Options {
            emulate_push: false,
            ram_file: Some(vm.ram.clone()),
            journal: Journal::Off,
            ..Options::default()
        },
    )
    .expect("connect");
    t.add_breakpoint(entry, Kind::Entry).expect("bp");
    let (step_us, n_step) = measure(secs, || {
        t.resume_and_wait(None).expect("hit");
        let rdi = t.registers().expect("regs").arg(0).expect("rdi");
        t.read_memory(rdi, &mut buf).expect("read");
        1
    });
    let spurious = t.stats().spurious_steps;

    // 4. Memory: 64 B and 64 KiB through `m` and through shared RAM (translation cache
    //    cleared each time, as after a resume).
    let base = vm.sym("kmain");
    let mut big = vec![0u8; 64 << 10];
    let (m64, _) = measure(secs / 3.0, || {
        t.rsp().read_memory(base, &mut buf).expect("m");
        1
    });
    let (ram64, _) = measure(secs / 3.0, || {
        t.read_memory(base, &mut buf).expect("ram");
        1
    });
    let (m_big, _) = measure(secs / 3.0, || {
        t.rsp().read_memory(base, &mut big).expect("m");
        1
    });
    let (ram_big, _) = measure(secs / 3.0, || {
        t.read_memory(base, &mut big).expect("ram");
        1
    });
    drop(t);

    // 5. Debian's gdb, Python breakpoint whose stop() returns False, same entry breakpoint.
    let gdb_read = gdb_python(&vm, entry, secs, true);
    let gdb_bare = gdb_python(&vm, entry, secs, false);

    let mbps = |us: f64| (64 << 10) as f64 / us;
    println!("introspect cycle bench (QEMU TCG, 1 vCPU, unix socket, {secs} s per row)");
    println!("bare resume->stop cycle            {bare:8.1} us");
    println!(
        "emulated return (g + [rsp+8])      {emulated:8.1} us  {:7.0} events/s  {:.2}x bare  ({n_emul} events)",
        1e6 / emulated,
        emulated / bare
    );
    println!(
        "emulated return via pointer watch  {watched:8.1} us  {:7.0} events/s  {:.2}x bare  ({n_watch} events, {watch_stops} watch stops)",
        1e6 / watched,
        watched / bare
    );
    println!(
        "progress floor (P,P,c; no reads)   {floor:8.1} us  {:7.0} events/s  {:.2}x bare",
        1e6 / floor,
        floor / bare
    );
    println!(
        "  emulated return / progress floor   {:.2}x",
        emulated / floor
    );
    println!(
        "entry, push done host-side (g+64B) {entry_us:8.1} us  {:7.0} events/s  ({n_entry} events)",
        1e6 / entry_us
    );
    println!(
        "entry, single-step over (g+64B)    {step_us:8.1} us  {:7.0} events/s  ({n_step} events, {spurious} spurious steps retried)",
        1e6 / step_us
    );
    match (gdb_read, gdb_bare) {
        (Some(r), Some(b)) => {
            println!(
                "gdb python bp, $rdi + 64 B        {r:8.1} us  {:7.0} events/s  introspect {:.2}x faster (single-step: {:.2}x)",
                1e6 / r,
                r / entry_us,
                r / step_us
            );
            println!(
                "gdb python bp, no reads           {b:8.1} us  {:7.0} events/s",
                1e6 / b
            );
        }
        _ => println!("gdb: not available or failed"),
    }
    println!(
        "read 64 B:   m {m64:8.2} us   shared RAM {ram64:8.3} us   {:.0}x",
        m64 / ram64
    );
    println!(
        "read 64 KiB: m {m_big:8.1} us ({:.1} MB/s)   shared RAM {ram_big:8.2} us ({:.0} MB/s)   {:.0}x",
        mbps(m_big),
        mbps(ram_big),
        m_big / ram_big
    );
}
