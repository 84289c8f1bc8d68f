//! Per-event cost of guestrace on the model guest in benchmark mode (`bench=1`, pace 0: the
//! guest's normal traffic through the normal probe sites, but no per-event console lines, so
//! sites fire as fast as TCG runs them), QEMU TCG, 1 vCPU, shared RAM, unix socket. Rows are
//! interleaved in passes; every figure is a median over passes:
//!
//! - untraced: the guest's own rate of each probe site, from its never-reset counters
//!   (`gt_bench_total`, read from the shared RAM file while it runs);
//! - the bare resume→stop cycle (a `c` at a breakpoint that makes no progress): the floor;
//! - (a) `ip:::send { @[args[2]->ip_daddr] = count(); }`, (b) scripts/tcp_flags.d, (c)
//!   `fbt::ip_output:entry { @ = count(); }`, each run by the guestrace binary;
//! - (d) Debian's gdb doing (a)'s job: a Python breakpoint on sdt_probe_stub that reads the IP
//!   header at `$rcx`, counts per destination and emulates the return; `stop()` returns False.
//!
//! Each traced row measures its own window: guestrace's BEGIN and END clauses (gdb's script at
//! its start and end) read the host clock and the guest's counters, so the window's events are
//! the guest's count of the probe's site, and the tracer's own count (aggregation total, printed
//! lines) must equal it: `lost` says by how much it does not. Per row: wall time per event
//! (window / events) and overhead per event = (window − the untraced time for as many events)
//! / events = wall per event − 1 / untraced rate.
//!
//! `GUESTRACE_BIN=target/release/guestrace cargo bench -p providers --bench events`
//! (BENCH_ROUNDS passes, default 5; BENCH_SLICE_S seconds per row, default 3).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use guests::model::bench::{BenchCounter, TOTALS_SYMBOL};
use guests::model::{BootOptions, ModelGuest};
use introspect::rsp::Resume;
use introspect::{Journal, Kind, Options, Target};

/// Where the model kernel's image sits: virtual KERNBASE maps guest-physical 0.
const KERNBASE: u64 = 0xffff_ffff_8000_0000;

struct Setup {
    guest: ModelGuest,
    bin: PathBuf,
    slice: u64,
    stub: u64,
    id_addr: u64,
    totals: u64,
}

/// The guest counters a row's events are counted by.
#[derive(Clone, Copy)]
enum Site {
    IpSend,
    TcpSendReceive,
    IpOutput,
}

impl Site {
    fn counters(self) -> &'static [BenchCounter] {
        match self {
            Site::IpSend => &[BenchCounter::Ip4Send, BenchCounter::Ip6Send],
            Site::TcpSendReceive => &[BenchCounter::TcpSend, BenchCounter::TcpReceive],
            Site::IpOutput => &[BenchCounter::Ip4Send],
        }
    }

    /// The D expression summing this site's counters.
    fn d_expr(self) -> String {
        self.sum_of(|i| format!("`{TOTALS_SYMBOL}[{i}]"))
    }

    /// The Python expression summing them from a list `t` of totals.
    fn py_expr(self) -> String {
        self.sum_of(|i| format!("t[{i}]"))
    }

    fn sum_of(self, term: impl Fn(u32) -> String) -> String {
        self.counters()
            .iter()
            .map(|c| term(*c as u32))
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// One row's result in one pass: the guest's events in the window, the tracer's own count of
/// them, the window, and how long guestrace held the guest stopped (if it said).
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    events: f64,
    seen: f64,
    secs: f64,
    held: Option<f64>,
}

/// The guest's counters, read from the shared RAM file while it runs.
fn totals(s: &Setup) -> [u64; 9] {
    let mut buf = [0u8; 72];
    File::open(s.guest.ram_file())
        .and_then(|f| f.read_exact_at(&mut buf, s.totals - KERNBASE))
        .expect("read gt_bench_total from the RAM file");
    let mut t = [0u64; 9];
    for (v, b) in t.iter_mut().zip(buf.chunks_exact(8)) {
        *v = u64::from_le_bytes(b.try_into().expect("8 bytes"));
    }
    t
}

fn sum(t: &[u64; 9], site: Site) -> f64 {
    site.counters().iter().map(|c| t[*c as usize] as f64).sum()
}

/// Untraced: the guest's counters over a slice; one sample per site.
fn untraced(s: &Setup) -> [Sample; 3] {
    let a = totals(s);
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(s.slice));
    let b = totals(s);
    let secs = t0.elapsed().as_secs_f64();
    [Site::IpSend, Site::TcpSendReceive, Site::IpOutput].map(|site| {
        let n = sum(&b, site) - sum(&a, site);
        Sample {
            events: n,
            seen: n,
            secs,
            held: None,
        }
    })
}

fn bare_cycle(s: &Setup) -> Sample {
    let opts = Options {
        journal: Journal::Off,
        ram_file: Some(s.guest.ram_file().to_path_buf()),
        ..Options::default()
    };
    let sock = s.guest.gdb_socket().display().to_string();
    let mut t = Target::connect(&sock, opts).expect("connect");
    t.add_breakpoint(s.stub, Kind::EmulatedReturn).expect("bp");
    t.write_memory(s.id_addr, &4u64.to_le_bytes()).expect("id");
    t.resume_and_wait(None).expect("first hit");
    let t0 = Instant::now();
    let mut n = 0.0;
    while t0.elapsed() < Duration::from_secs(s.slice) {
        let r = t.rsp();
        r.resume(Resume::Continue).expect("c");
        r.wait_stop(None, false).expect("stop");
        n += 1.0;
    }
    let secs = t0.elapsed().as_secs_f64();
    t.detach().expect("detach");
    Sample {
        events: n,
        seen: n,
        secs,
        held: None,
    }
}

/// Runs guestrace for one slice; `count` turns its stdout into its own event count.
fn guestrace(s: &Setup, program: &[&str], site: Site, count: fn(&str) -> f64) -> Sample {
    let expr = site.d_expr();
    let begin = format!("BEGIN {{ bench_t0 = walltimestamp; bench_g0 = {expr}; }}");
    let tick = format!("tick-{}s {{ exit(0); }}", s.slice);
    let end = format!(
        "END {{ printf(\"@@bench %d %d\\n\", walltimestamp - bench_t0, {expr} - bench_g0); }}"
    );
    let out = Command::new(&s.bin)
        .args(["-n", &begin])
        .args(program)
        .args(["-n", &tick, "-n", &end])
        .arg("--gdb")
        .arg(s.guest.gdb_socket())
        .arg("--kernel")
        .arg(s.guest.kernel_elf())
        .arg("--ram")
        .arg(s.guest.ram_file())
        .env("GUESTRACE_STATS", "1")
        .output()
        .expect("run guestrace");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    let bench: Vec<f64> = text
        .lines()
        .find_map(|l| l.strip_prefix("@@bench "))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    if bench.len() != 2 {
        eprintln!("guestrace gave no window: {text}\n{err}");
    }
    if let Some(stats) = err.lines().find(|l| l.contains("stats:")) {
        eprintln!("{stats}");
    }
    let held = err
        .split_once("guest held stopped ")
        .and_then(|(_, r)| r.split_whitespace().next()?.parse().ok());
    Sample {
        events: bench.get(1).copied().unwrap_or(f64::NAN),
        seen: count(&text),
        secs: bench.first().copied().unwrap_or(f64::NAN) / 1e9,
        held,
    }
}

/// Sum of the last column of aggregation lines (`  key   count`).
fn agg_total(text: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with("@@"))
        .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .sum()
}

fn segment_lines(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.contains(" -> ") || l.contains(" <- "))
        .count() as f64
}

fn gdb_python(s: &Setup) -> Sample {
    let script = s.guest.run_dir().join("bench_ip_send.py");
    let body = format!(
        r#"
import gdb, time, struct
inf = gdb.selected_inferior()
def guest():
    t = struct.unpack("<9Q", bytes(inf.read_memory({totals:#x}, 72)))
    return {expr}
class Bp(gdb.Breakpoint):
    def __init__(self):
        super().__init__("*{stub:#x}", internal=True)
        self.hits = 0
        self.dst = {{}}
        self.g0 = guest()
        self.start = time.monotonic()
    def stop(self):
        self.hits += 1
        ip = int(gdb.parse_and_eval("$rcx")) & 0xffffffffffffffff
        hdr = bytes(inf.read_memory(ip, 40))
        key = hdr[16:20] if hdr[0] >> 4 == 4 else hdr[24:40]
        self.dst[key] = self.dst.get(key, 0) + 1
        sp = int(gdb.parse_and_eval("$rsp")) & 0xffffffffffffffff
        ret = struct.unpack("<Q", bytes(inf.read_memory(sp, 8)))[0]
        gdb.execute("set $rip = %d" % ret)
        gdb.execute("set $rsp = %d" % (sp + 8))
        if time.monotonic() - self.start >= {secs}:
            self.el = time.monotonic() - self.start
            self.g1 = guest()
            return True
        return False
inf.write_memory({id_addr:#x}, struct.pack("<Q", 4))
bp = Bp()
gdb.execute("continue")
inf.write_memory({id_addr:#x}, struct.pack("<Q", 0))
print("GDBRESULT %d %d %f" % (sum(bp.dst.values()), bp.g1 - bp.g0, bp.el))
bp.delete()
gdb.execute("detach")
"#,
        totals = s.totals,
        expr = Site::IpSend.py_expr(),
        stub = s.stub,
        id_addr = s.id_addr,
        secs = s.slice,
    );
    std::fs::write(&script, body).expect("gdb script");
    let out = Command::new("gdb")
        .args(["-batch", "-nx", "-ex", "set pagination off", "-ex"])
        .arg(format!("target remote {}", s.guest.gdb_socket().display()))
        .arg("-x")
        .arg(&script)
        .output()
        .expect("run gdb");
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<f64> = text
        .lines()
        .find(|l| l.starts_with("GDBRESULT"))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .filter_map(|w| w.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    if f.len() != 3 {
        eprintln!(
            "gdb gave no result: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Sample {
        seen: f.first().copied().unwrap_or(f64::NAN),
        events: f.get(1).copied().unwrap_or(f64::NAN),
        secs: f.get(2).copied().unwrap_or(f64::NAN),
        held: None,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| !x.is_nan());
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// A traced row: name, the site its events are counted at, and how to run one pass.
type Row = (&'static str, Site, Box<dyn Fn(&Setup) -> Sample>);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let passes = env("BENCH_ROUNDS", 5);
    let slice = env("BENCH_SLICE_S", 3);
    let bin = std::env::var_os("GUESTRACE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/guestrace"));
    let guest = ModelGuest::boot(&BootOptions {
        pace: Some(0),
        bench: true,
        ..BootOptions::default()
    })
    .expect("boot the model guest");
    let image = symbols::KernelImage::open(guest.kernel_elf()).expect("kernel");
    let addr = |name: &str| {
        image
            .elf_symbol(name)
            .unwrap_or_else(|e| panic!("no symbol {name}: {e}"))
            .address
    };
    let off = image
        .find_type("struct sdt_probe")
        .and_then(|t| image.member_path(t, "id"))
        .expect("id")
        .offset;
    let s = Setup {
        stub: addr("sdt_probe_stub"),
        id_addr: addr("sdt_ip___send") + off,
        totals: addr(TOTALS_SYMBOL),
        guest,
        bin,
        slice,
    };
    let flags = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/tcp_flags.d");
    let flags = flags.display().to_string();
    let rows: Vec<Row> = vec![
        (
            "(a) ip:::send { @[args[2]->ip_daddr] = count(); }",
            Site::IpSend,
            Box::new(|s| {
                let prog = ["-q", "-n", "ip:::send { @[args[2]->ip_daddr] = count(); }"];
                guestrace(s, &prog, Site::IpSend, agg_total)
            }),
        ),
        (
            "(b) scripts/tcp_flags.d",
            Site::TcpSendReceive,
            Box::new(move |s| guestrace(s, &["-s", &flags], Site::TcpSendReceive, segment_lines)),
        ),
        (
            "(c) fbt::ip_output:entry { @ = count(); }",
            Site::IpOutput,
            Box::new(|s| {
                let prog = ["-q", "-n", "fbt::ip_output:entry { @ = count(); }"];
                guestrace(s, &prog, Site::IpOutput, agg_total)
            }),
        ),
        (
            "(d) gdb 13.1 + Python bp doing (a)",
            Site::IpSend,
            Box::new(gdb_python),
        ),
    ];
    let mut loads = vec![load_average()];
    let mut untraced_samples: Vec<[Sample; 3]> = Vec::new();
    let mut bare: Vec<Sample> = Vec::new();
    let mut traced: Vec<Vec<Sample>> = vec![Vec::new(); rows.len()];
    for pass in 0..passes {
        let u = untraced(&s);
        eprintln!("pass {pass} untraced: {u:?}");
        untraced_samples.push(u);
        let b = bare_cycle(&s);
        eprintln!("pass {pass} bare cycle: {b:?}");
        bare.push(b);
        for (i, (name, _, run)) in rows.iter().enumerate() {
            let x = run(&s);
            eprintln!("pass {pass} {name}: {x:?}");
            traced[i].push(x);
        }
        loads.push(load_average());
    }
    let site_index = |site: Site| match site {
        Site::IpSend => 0,
        Site::TcpSendReceive => 1,
        Site::IpOutput => 2,
    };
    let untraced_us = |site: Site, pass: usize| {
        let u = untraced_samples[pass][site_index(site)];
        u.secs / u.events * 1e6
    };
    println!(
        "model guest, bench=1 pace=0, QEMU TCG, 1 vCPU; {passes} passes of {slice} s per row; \
         medians; load averages (1/5/15 min) at each pass: {}",
        loads.join(" | ")
    );
    for (name, site) in [
        ("ip:::send", Site::IpSend),
        ("tcp:::send+receive", Site::TcpSendReceive),
        ("ip_output calls", Site::IpOutput),
    ] {
        let us = median((0..passes as usize).map(|p| untraced_us(site, p)).collect());
        println!("untraced {name}: {:.0}/s ({us:.1} us per event)", 1e6 / us);
    }
    let bare_us = median(bare.iter().map(|x| x.secs / x.events * 1e6).collect());
    println!(
        "bare resume->stop cycle: {bare_us:.1} us ({:.0}/s)",
        1e6 / bare_us
    );
    let mut overheads = Vec::new();
    for (i, (name, site, _)) in rows.iter().enumerate() {
        let xs = &traced[i];
        let wall = median(xs.iter().map(|x| x.secs / x.events * 1e6).collect());
        let over = median(
            xs.iter()
                .enumerate()
                .map(|(p, x)| x.secs / x.events * 1e6 - untraced_us(*site, p))
                .collect(),
        );
        let held = median(
            xs.iter()
                .filter_map(|x| Some(x.held? / x.events * 1e6))
                .collect(),
        );
        let lost: f64 = xs.iter().map(|x| x.events - x.seen).sum();
        let events: f64 = xs.iter().map(|x| x.events).sum();
        println!(
            "{name}: {:.0} events/s, {wall:.1} us per event wall, overhead {over:.1} us per \
             event ({:.2}x the bare cycle), held stopped {held:.1} us; {events} events, lost {lost}",
            1e6 / wall,
            over / bare_us
        );
        overheads.push((wall, over));
    }
    let (a_wall, a_over) = overheads[0];
    let (g_wall, g_over) = overheads[3];
    println!(
        "(a) overhead / bare cycle {:.2} (goal <= 1.5); (a) rate / gdb's rate {:.2} (goal >= 3); \
         gdb's overhead / (a)'s {:.2}",
        a_over / bare_us,
        g_wall / a_wall,
        g_over / a_over
    );
}
