//! What both benchmarks share: interleaved rounds (so a noisy, shared machine affects every row
//! alike), medians, and the gdb run.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One measured configuration: given a time slice, sets itself up, runs events for the slice,
/// tears down, and returns (µs per event, events).
pub struct Row<'a> {
    pub name: &'static str,
    pub run: Box<dyn FnMut(Duration) -> Option<(f64, u64)> + 'a>,
}

/// Per-row results of every round.
pub struct Results {
    pub names: Vec<&'static str>,
    pub us: Vec<Vec<f64>>,
    pub events: Vec<u64>,
}

impl Results {
    /// Median µs per event of a row (NaN if it never ran).
    pub fn median(&self, name: &str) -> f64 {
        let i = self.names.iter().position(|n| *n == name).expect("row");
        median(self.us[i].clone())
    }

    /// Median over rounds of a/b measured in the same round.
    pub fn ratio(&self, a: &str, b: &str) -> f64 {
        self.paired(a, b, |x, y| x / y)
    }

    /// Median over rounds of a − b measured in the same round.
    pub fn difference(&self, a: &str, b: &str) -> f64 {
        self.paired(a, b, |x, y| x - y)
    }

    fn paired(&self, a: &str, b: &str, f: impl Fn(f64, f64) -> f64) -> f64 {
        let ia = self.names.iter().position(|n| *n == a).expect("row");
        let ib = self.names.iter().position(|n| *n == b).expect("row");
        median(
            self.us[ia]
                .iter()
                .zip(&self.us[ib])
                .map(|(x, y)| f(*x, *y))
                .collect(),
        )
    }

    /// Prints one line per row: median µs, events/s, events.
    pub fn print(&self) {
        for (i, n) in self.names.iter().enumerate() {
            let m = median(self.us[i].clone());
            println!(
                "{n:<44} {m:9.2} us {:9.0}/s  ({} events)",
                1e6 / m,
                self.events[i]
            );
        }
    }
}

pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs every row once per round, rounds times, each for `slice`.
pub fn interleave(rows: &mut [Row<'_>], rounds: usize, slice: Duration) -> Results {
    let mut us = vec![Vec::new(); rows.len()];
    let mut events = vec![0u64; rows.len()];
    // BENCH_ROWS=a,b runs only the rows whose names contain one of those words.
    let only = std::env::var("BENCH_ROWS").ok();
    let wanted = |name: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|w| name.contains(w)))
    };
    for _ in 0..rounds {
        for (i, row) in rows.iter_mut().enumerate() {
            if !wanted(row.name) {
                continue;
            }
            if let Some((u, n)) = (row.run)(slice) {
                us[i].push(u);
                events[i] += n;
            }
        }
    }
    Results {
        names: rows.iter().map(|r| r.name).collect(),
        us,
        events,
    }
}

/// Calls `f` until `slice` has passed; µs per call and calls.
pub fn time_events(slice: Duration, mut f: impl FnMut()) -> (f64, u64) {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < slice {
        f();
        n += 1;
    }
    (start.elapsed().as_secs_f64() * 1e6 / n as f64, n)
}

/// Debian's gdb on the stub: a Python breakpoint at `addr` whose stop() returns False (after
/// reading $rdi and 64 bytes there if `read`) until `slice` has passed; µs per hit and hits.
pub fn gdb_python(
    sock: &str,
    dir: &Path,
    addr: u64,
    slice: Duration,
    read: bool,
) -> Option<(f64, u64)> {
    let script = dir.join("bench.py");
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
        read = if read { "True" } else { "False" },
        secs = slice.as_secs_f64()
    );
    std::fs::write(&script, body).ok()?;
    let out = Command::new("gdb")
        .args(["-batch", "-nx", "-ex", "set pagination off"])
        .arg("-ex")
        .arg(format!("target remote {sock}"))
        .arg("-x")
        .arg(&script)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("GDBRESULT"))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    let hits: f64 = f.get(1)?.parse().ok()?;
    let el: f64 = f.get(2)?.parse().ok()?;
    Some((el * 1e6 / hits, hits as u64))
}

/// Address of some `ret` instruction in a kernel (from objdump), for the progress floor.
pub fn any_ret(elf: &Path, not_in: (u64, u64)) -> Option<u64> {
    let out = Command::new("objdump").arg("-d").arg(elf).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| l.trim_end().ends_with("\tret"))
        .filter_map(|l| u64::from_str_radix(l.trim().split(':').next()?, 16).ok())
        // Kernel-half text only: the boot code linked at low physical addresses is not
        // mapped once the kernel runs.
        .find(|a| *a >= 0xffff_8000_0000_0000 && !(not_in.0..not_in.1).contains(a))
}

/// Bench settings from the environment: BENCH_ROUNDS (default 5), BENCH_SLICE_MS (default 600);
/// BENCH_ROWS picks rows (see [`interleave`]).
pub fn settings() -> (usize, Duration) {
    let rounds = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let ms = std::env::var("BENCH_SLICE_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    (rounds, Duration::from_millis(ms))
}

/// Where a benchmark guest keeps what the rows use.
pub struct Guest {
    /// gdbstub socket.
    pub sock: String,
    /// A scratch directory (gdb script, journal).
    pub dir: std::path::PathBuf,
    /// Shared RAM file.
    pub ram: std::path::PathBuf,
    /// Kernel ELF (for a `ret` gadget).
    pub elf: std::path::PathBuf,
    /// The emulated-return function.
    pub stub: u64,
    /// The pointer through which it is called.
    pub hook: u64,
    /// The 8-byte word that enables calls to it, and the value to write.
    pub enable: (u64, u64),
    /// The entry-breakpoint function (first argument a pointer).
    pub entry: u64,
    /// The model guest in benchmark mode: where its probe-site counters (`gt_bench_total`)
    /// sit in the RAM file, and which of them count the stub's and the entry function's
    /// calls; the untraced rows read them over a slice while the guest runs.
    pub counters: Option<Counters>,
}

/// See [`Guest::counters`].
pub struct Counters {
    /// File offset of the `u_long` array in the shared RAM file.
    pub offset: u64,
    /// Indices counting calls of the stub.
    pub stub: Vec<usize>,
    /// Indices counting calls of the entry function.
    pub entry: Vec<usize>,
}

impl Counters {
    fn read(&self, ram: &Path, which: &[usize]) -> u64 {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 8];
        let f = std::fs::File::open(ram).expect("RAM file");
        which
            .iter()
            .map(|&i| {
                f.read_exact_at(&mut buf, self.offset + 8 * i as u64)
                    .expect("read a counter");
                u64::from_le_bytes(buf)
            })
            .sum()
    }

    /// µs per call of the untraced guest over `slice`, and the calls.
    fn untraced(&self, ram: &Path, which: &[usize], slice: Duration) -> Option<(f64, u64)> {
        let a = self.read(ram, which);
        let t0 = Instant::now();
        std::thread::sleep(slice);
        let n = self.read(ram, which).checked_sub(a)?;
        Some((t0.elapsed().as_secs_f64() * 1e6 / n as f64, n))
    }
}

fn connect(g: &Guest, emulate_push: bool) -> introspect::Target {
    let o = introspect::Options {
        ram_file: Some(g.ram.clone()),
        journal: introspect::Journal::At(g.dir.join("bench.journal")),
        emulate_push,
        ..introspect::Options::default()
    };
    introspect::Target::connect(&g.sock, o).expect("connect")
}

const UNTRACED_STUB: &str = "untraced guest, per stub call (ip:::send)";
const UNTRACED_ENTRY: &str = "untraced guest, per entry-function call";

/// Runs every row of the benchmark on `g`, interleaved, and prints the results.
pub fn run(g: &Guest, title: &str) {
    use introspect::rsp::Resume;
    use introspect::{Event, Kind};
    let (rounds, slice) = settings();
    let gadget = any_ret(&g.elf, (g.stub & !0xfff, (g.stub & !0xfff) + 0x1000)).expect("a ret");
    let enable = |t: &mut introspect::Target| {
        t.write_memory(g.enable.0, &g.enable.1.to_le_bytes())
            .expect("enable")
    };
    let emulated = move |watch: bool| {
        move |slice| {
            let mut t = connect(g, true);
            enable(&mut t);
            let bp = t.add_breakpoint(g.stub, Kind::EmulatedReturn).expect("bp");
            if watch {
                // What guestrace does: the watch catches the calls, a `ret` returns them.
                t.watch_pointer(bp, g.hook).expect("watch");
                t.set_return_gadget(gadget).expect("a ret");
            }
            Some(time_events(slice, || {
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
            }))
        }
    };
    let entry = move |push: bool| {
        move |slice| {
            let mut t = connect(g, push);
            t.add_breakpoint(g.entry, Kind::Entry).expect("bp");
            let mut buf = [0u8; 64];
            Some(time_events(slice, || {
                t.resume_and_wait(None).expect("hit");
                let rdi = t.registers().expect("regs").arg(0).expect("rdi");
                t.read_memory(rdi, &mut buf).expect("read");
            }))
        }
    };
    let read = move |len: usize, stub: bool| {
        move |slice| {
            let mut t = connect(g, true);
            let mut buf = vec![0u8; len];
            Some(time_events(slice, || {
                if stub {
                    t.rsp().read_memory(g.entry, &mut buf).expect("m");
                } else {
                    t.read_memory(g.entry, &mut buf).expect("shared RAM");
                }
            }))
        }
    };
    let mut rows = vec![
        Row {
            name: UNTRACED_STUB,
            run: Box::new(|slice| {
                let c = g.counters.as_ref()?;
                c.untraced(&g.ram, &c.stub, slice)
            }),
        },
        Row {
            name: UNTRACED_ENTRY,
            run: Box::new(|slice| {
                let c = g.counters.as_ref()?;
                c.untraced(&g.ram, &c.entry, slice)
            }),
        },
        Row {
            name: "bare resume->stop cycle (no progress)",
            run: Box::new(|slice| {
                let mut t = connect(g, true);
                enable(&mut t);
                t.add_breakpoint(g.stub, Kind::EmulatedReturn).expect("bp");
                t.resume_and_wait(None).expect("first hit");
                Some(time_events(slice, || {
                    let r = t.rsp();
                    r.resume(Resume::Continue).expect("c");
                    r.wait_stop(None, false).expect("stop");
                }))
            }),
        },
        Row {
            name: "progress floor (P rip=<a ret>; c; no reads)",
            run: Box::new(|slice| {
                let mut t = connect(g, true);
                enable(&mut t);
                t.add_breakpoint(g.stub, Kind::EmulatedReturn).expect("bp");
                t.resume_and_wait(None).expect("first hit");
                let rip = t.layout().find("rip").expect("rip").regnum;
                let timed = time_events(slice, || {
                    let r = t.rsp();
                    r.queue_register_write(rip, &gadget.to_le_bytes());
                    r.resume(Resume::Continue).expect("c");
                    r.wait_stop(None, false).expect("stop");
                });
                // The raw stops came from other call sites than the hit `t` saw: give it this
                // stop's stack pointer, or leaving will emulate the return with a stale one.
                // (`t`'s cached registers are the first hit's: read the live ones raw.)
                let vcpu = t.stopped_vcpu().unwrap_or(1);
                let sp_num = t.layout().find("rsp").expect("rsp").regnum;
                let r = t.rsp();
                r.select_thread(vcpu).expect("Hg");
                let raw = r.read_register(sp_num).expect("p rsp");
                let mut b = [0u8; 8];
                b[..raw.len().min(8)].copy_from_slice(&raw[..raw.len().min(8)]);
                t.set_register("rsp", u64::from_le_bytes(b)).expect("rsp");
                Some(timed)
            }),
        },
        Row {
            name: "emulated return, breakpoint (regs, [rsp+8])",
            run: Box::new(emulated(false)),
        },
        Row {
            name: "emulated return, pointer watch + ret (regs, [rsp+8])",
            run: Box::new(emulated(true)),
        },
        Row {
            name: "entry, push done host-side (regs, 64 B at rdi)",
            run: Box::new(entry(true)),
        },
        Row {
            name: "entry, single-step over (regs, 64 B at rdi)",
            run: Box::new(entry(false)),
        },
        Row {
            name: "gdb Python bp, $rdi + 64 B, stop() False",
            run: Box::new(|slice| gdb_python(&g.sock, &g.dir, g.entry, slice, true)),
        },
        Row {
            name: "gdb Python bp, no reads, stop() False",
            run: Box::new(|slice| gdb_python(&g.sock, &g.dir, g.entry, slice, false)),
        },
        Row {
            name: "g exchange while stopped (all registers)",
            run: Box::new(|slice| {
                let mut t = connect(g, true);
                let mut raw = Vec::new();
                Some(time_events(slice, || {
                    raw.clear();
                    t.rsp().read_all_registers(&mut raw).expect("g");
                }))
            }),
        },
        Row {
            name: "read 64 B with m",
            run: Box::new(read(64, true)),
        },
        Row {
            name: "read 64 B from shared RAM",
            run: Box::new(read(64, false)),
        },
        Row {
            name: "read 64 KiB with m",
            run: Box::new(read(64 << 10, true)),
        },
        Row {
            name: "read 64 KiB from shared RAM",
            run: Box::new(read(64 << 10, false)),
        },
    ];
    let r = interleave(&mut rows, rounds, slice);
    println!("{title}");
    println!(
        "{rounds} interleaved rounds of {} ms per row; medians",
        slice.as_millis()
    );
    r.print();
    let bare = "bare resume->stop cycle (no progress)";
    let floor = "progress floor (P rip=<a ret>; c; no reads)";
    let emul = "emulated return, breakpoint (regs, [rsp+8])";
    let watch = "emulated return, pointer watch + ret (regs, [rsp+8])";
    let push = "entry, push done host-side (regs, 64 B at rdi)";
    let step = "entry, single-step over (regs, 64 B at rdi)";
    let gdb = "gdb Python bp, $rdi + 64 B, stop() False";
    println!("ratios (median of same-round ratios):");
    let m64 = ("read 64 B with m", "read 64 B from shared RAM");
    let m64k = ("read 64 KiB with m", "read 64 KiB from shared RAM");
    for (label, (a, b)) in [
        ("emulated return (bp)    / bare cycle    ", (emul, bare)),
        ("emulated return (watch) / bare cycle    ", (watch, bare)),
        ("progress floor          / bare cycle    ", (floor, bare)),
        ("emulated return (bp)    / progress floor", (emul, floor)),
        ("gdb / entry (push host-side)            ", (gdb, push)),
        ("gdb / entry (single-step)               ", (gdb, step)),
        ("m / shared RAM, 64 B                    ", m64),
        ("m / shared RAM, 64 KiB                  ", m64k),
    ] {
        println!("  {label} {:.2}", r.ratio(a, b));
    }
    if g.counters.is_some() {
        println!(
            "overhead per event (row − untraced time per call, medians of same-round differences):"
        );
        for (row, base) in [
            (emul, UNTRACED_STUB),
            (watch, UNTRACED_STUB),
            (push, UNTRACED_ENTRY),
            (step, UNTRACED_ENTRY),
            (gdb, UNTRACED_ENTRY),
        ] {
            let over = r.difference(row, base);
            println!(
                "  {row:<44} {over:9.1} us ({:.2}x the bare cycle)",
                over / r.median(bare)
            );
        }
        println!(
            "  gdb / entry (push host-side), overheads   {:.2}",
            r.difference(gdb, UNTRACED_ENTRY) / r.difference(push, UNTRACED_ENTRY)
        );
    }
    let mbs = |name: &str| 65536.0 / r.median(name);
    println!(
        "  64 KiB throughput: m {:.1} MB/s, shared RAM {:.0} MB/s",
        mbs("read 64 KiB with m"),
        mbs("read 64 KiB from shared RAM")
    );
}
