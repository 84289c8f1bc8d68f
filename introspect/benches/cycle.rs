//! Per-event costs against the model guest under QEMU TCG (1 vCPU, pace 0, unix socket), all
//! in one run: the bare resume->stop cycle, the cheapest cycle in which the guest makes
//! progress, emulated-return events (breakpoint, and sdt_probe_func watch) with a `g` read,
//! entry breakpoints on ip_output (push done host-side, and single-step), `m` versus
//! shared-RAM reads, and Debian's gdb with a Python breakpoint doing the entry work.
//!
//! `cargo bench -p introspect --bench cycle` (env BENCH_SECS = seconds per row, default 3).
#[path = "../tests/common/model.rs"]
#[allow(dead_code)]
mod model;

use std::process::Command;
use std::time::{Duration, Instant};

use introspect::rsp::Resume;
use introspect::{Event, Journal, Kind, Options, Target};
use model::{Model, SDT_PROBE_ID};

/// Runs `f` in equal slices; returns the median µs per call and the number of calls.
fn measure(secs: f64, mut f: impl FnMut()) -> (f64, u64) {
    let slices = 6;
    let slice = Duration::from_secs_f64(secs / slices as f64);
    let mut per = Vec::new();
    let mut total = 0;
    for _ in 0..slices {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < slice {
            f();
            n += 1;
        }
        total += n;
        per.push(start.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    per.sort_by(|a, b| a.total_cmp(b));
    ((per[slices / 2 - 1] + per[slices / 2]) / 2.0, total)
}

fn connect(m: &Model, emulate_push: bool) -> Target {
    let o = Options {
        ram_file: Some(m.guest.ram_file().to_path_buf()),
        journal: Journal::At(m.guest.run_dir().join("bench.journal")),
        emulate_push,
        ..Options::default()
    };
    Target::connect(&m.addr(), o).expect("connect")
}

/// Address of some `ret` instruction in the kernel (from objdump), for the progress floor.
fn any_ret(m: &Model) -> Option<u64> {
    let out = Command::new("objdump")
        .arg("-d")
        .arg(m.guest.kernel_elf())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.trim_end().ends_with("\tret"))?;
    u64::from_str_radix(line.trim().split(':').next()?, 16).ok()
}

fn gdb_python(m: &Model, addr: u64, secs: f64, read: bool) -> Option<(f64, u64)> {
    let script = m.guest.run_dir().join("bench.py");
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
        .arg(format!("target remote {}", m.addr()))
        .arg("-x")
        .arg(&script)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("GDBRESULT"))?
        .split_whitespace()
        .collect();
    let hits: f64 = f.get(1)?.parse().ok()?;
    let el: f64 = f.get(2)?.parse().ok()?;
    Some((el * 1e6 / hits, hits as u64))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let m = Model::boot(1, Some(0));
    let stub = m.sym("sdt_probe_stub");
    let hook = m.sym("sdt_probe_func");
    let probe_id = m.sym("sdt_ip___send") + SDT_PROBE_ID;
    let entry = m.sym("ip_output");
    let gadget = any_ret(&m).expect("a ret instruction in the kernel");

    // 1. Bare cycle: continuing from a breakpoint PC re-hits at once, executing nothing.
    let mut t = connect(&m, true);
    t.write_memory(probe_id, &1u64.to_le_bytes())
        .expect("enable ip:::send");
    t.add_breakpoint(stub, Kind::EmulatedReturn).expect("bp");
    t.resume_and_wait(None).expect("first hit");
    let (bare, _) = measure(secs, || {
        let r = t.rsp();
        r.resume(Resume::Continue).expect("c");
        r.wait_stop(None, false).expect("stop");
    });

    // 2. Progress floor: at each hit only `P rip=<a ret instruction>` + `c` in one write (the
    //    guest pops its own return address): the guest runs, the client reads nothing.
    let rip_n = t.layout().find("rip").expect("rip").regnum;
    let (floor, _) = measure(secs, || {
        let r = t.rsp();
        r.queue_register_write(rip_n, &gadget.to_le_bytes());
        r.resume(Resume::Continue).expect("c");
        r.wait_stop(None, false).expect("stop");
    });
    // Leave the vCPU where the crate expects it: at the stub, return not yet emulated.
    drop(t);

    // 3. Emulated return, as guestrace takes sdt_probe_stub: `g` at every stop, a stack
    //    argument from shared RAM, RIP/RSP writes pipelined with the continue.
    let emulated = |watch: bool| {
        let mut t = connect(&m, true);
        t.write_memory(probe_id, &1u64.to_le_bytes())
            .expect("enable");
        let bp = t.add_breakpoint(stub, Kind::EmulatedReturn).expect("bp");
        if watch {
            t.watch_pointer(bp, hook).expect("watch");
        }
        let r = measure(secs, || {
            let s = t.resume_and_wait(None).expect("hit");
            assert!(matches!(
                s.event,
                Event::Breakpoint {
                    kind: Kind::EmulatedReturn,
                    ..
                }
            ));
            let sp = t.registers().expect("regs").rsp();
            t.read_u64(sp + 8).expect("stack argument");
        });
        (r, t.stats().watch_stops)
    };
    let ((emul_bp, n_bp), _) = emulated(false);
    let ((emul_watch, n_watch), watch_stops) = emulated(true);

    // 4. Entry breakpoint on ip_output reading rdi + 64 bytes: push done host-side (one stop),
    //    and single-stepped (two stops).
    let entry_run = |push: bool| {
        let mut t = connect(&m, push);
        t.add_breakpoint(entry, Kind::Entry).expect("bp");
        let mut buf = [0u8; 64];
        let r = measure(secs, || {
            t.resume_and_wait(None).expect("hit");
            let rdi = t.registers().expect("regs").arg(0).expect("rdi");
            t.read_memory(rdi, &mut buf).expect("read");
        });
        (r, t.stats().spurious_steps)
    };
    let ((entry_push, n_push), _) = entry_run(true);
    let ((entry_step, n_step), spurious) = entry_run(false);

    // 5. Memory, VM stopped: 64 B and 64 KiB through `m` and through shared RAM.
    let mut t = connect(&m, true);
    let base = entry;
    let mut small = [0u8; 64];
    let mut big = vec![0u8; 64 << 10];
    let (m64, _) = measure(secs / 3.0, || {
        t.rsp().read_memory(base, &mut small).expect("m")
    });
    let (ram64, _) = measure(secs / 3.0, || t.read_memory(base, &mut small).expect("ram"));
    let (m_big, _) = measure(secs / 3.0, || {
        t.rsp().read_memory(base, &mut big).expect("m")
    });
    let (ram_big, _) = measure(secs / 3.0, || t.read_memory(base, &mut big).expect("ram"));
    drop(t);

    // 6. Debian's gdb: Python breakpoint on ip_output, stop() returns False.
    let gdb_read = gdb_python(&m, entry, secs, true);
    let gdb_bare = gdb_python(&m, entry, secs, false);

    let rate = |us: f64| 1e6 / us;
    println!("introspect per-event costs: model guest, QEMU TCG, 1 vCPU, pace 0, unix socket");
    println!("bare resume->stop cycle (no progress)      {bare:7.1} us");
    println!(
        "progress floor (P rip=ret; c)              {floor:7.1} us  {:.2}x bare",
        floor / bare
    );
    println!(
        "emulated return, breakpoint (g + [rsp+8])  {emul_bp:7.1} us  {:6.0}/s  {:.2}x bare  {:.2}x floor  ({n_bp} events)",
        rate(emul_bp), emul_bp / bare, emul_bp / floor
    );
    println!(
        "emulated return, sdt_probe_func watch      {emul_watch:7.1} us  {:6.0}/s  {:.2}x bare  {:.2}x floor  ({n_watch} events, {watch_stops} watch stops)",
        rate(emul_watch), emul_watch / bare, emul_watch / floor
    );
    println!(
        "entry ip_output, push host-side (g + 64 B) {entry_push:7.1} us  {:6.0}/s  ({n_push} events)",
        rate(entry_push)
    );
    println!(
        "entry ip_output, single-step   (g + 64 B)  {entry_step:7.1} us  {:6.0}/s  ({n_step} events, {spurious} spurious steps)",
        rate(entry_step)
    );
    match gdb_read {
        Some((g, n)) => println!(
            "gdb Python bp ip_output, $rdi + 64 B       {g:7.1} us  {:6.0}/s  ({n} events): introspect {:.2}x faster (single-step {:.2}x)",
            rate(g), g / entry_push, g / entry_step
        ),
        None => println!("gdb: not available or failed"),
    }
    if let Some((g, n)) = gdb_bare {
        println!(
            "gdb Python bp ip_output, no reads          {g:7.1} us  {:6.0}/s  ({n} events)",
            rate(g)
        );
    }
    println!(
        "read 64 B:   m {m64:8.2} us   shared RAM {ram64:8.3} us   {:.0}x",
        m64 / ram64
    );
    println!(
        "read 64 KiB: m {m_big:8.1} us ({:.1} MB/s)   shared RAM {ram_big:8.2} us ({:.0} MB/s)   {:.0}x",
        65536.0 / m_big, 65536.0 / ram_big, m_big / ram_big
    );
}
