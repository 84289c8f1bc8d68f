//! Events per second and per-event cost of guestrace on the model guest (pace 0, TCG, 1 vCPU),
//! in one run with interleaved rows:
//!
//! - the bare resume→stop cycle (a `c` at a breakpoint that makes no progress): the floor;
//! - (a) `ip:::send { @[args[2]->ip_daddr] = count(); }`, (b) scripts/tcp_flags.d, (c) an fbt
//!   entry probe (`fbt::ip_output:entry`), each run by the guestrace binary;
//! - Debian's gdb doing (a)'s job: a Python breakpoint on sdt_probe_stub that reads the IP
//!   header at rcx, counts per destination and emulates the return.
//!
//! Each traced row reports events/s and the tracer's cost per event: the extra wall time per
//! guest round compared with the untraced guest, divided by the events per round (the guest's
//! own work between events is not the tracer's cost).
//!
//! `GUESTRACE_BIN=target/release/guestrace cargo bench -p providers --bench events`
//! (BENCH_ROUNDS, default 3; BENCH_SLICE_S, default 3).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use guests::model::{BootOptions, ModelGuest};
use introspect::rsp::Resume;
use introspect::{Journal, Kind, Options, Target};

struct Setup {
    guest: ModelGuest,
    bin: PathBuf,
    slice: u64,
    stub: u64,
    id_addr: u64,
}

/// One measurement: events, guest rounds, seconds.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    events: f64,
    rounds: f64,
    secs: f64,
}

fn round_ends(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .map(|s| s.matches(" round end ").count())
        .unwrap_or(0)
}

fn untraced(s: &Setup) -> Sample {
    let r0 = round_ends(s.guest.serial_log());
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(s.slice));
    Sample {
        events: 0.0,
        rounds: (round_ends(s.guest.serial_log()) - r0) as f64,
        secs: t0.elapsed().as_secs_f64(),
    }
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
        rounds: 0.0,
        secs,
    }
}

/// Runs guestrace for one slice; `count` turns its stdout into an event count.
fn guestrace(s: &Setup, program: &[&str], count: fn(&str) -> f64) -> Sample {
    let tick = format!("tick-{}s {{ exit(0); }}", s.slice);
    let out = Command::new(&s.bin)
        .args(program)
        .args(["-n", "fbt::gt_round_end:entry { @rounds = count(); }"])
        .args(["-n", &tick])
        .args(["-n", "END { printa(\"@@rounds %@d\\n\", @rounds); }"])
        .arg("--gdb")
        .arg(s.guest.gdb_socket())
        .arg("--kernel")
        .arg(s.guest.kernel_elf())
        .arg("--ram")
        .arg(s.guest.ram_file())
        .output()
        .expect("run guestrace");
    let text = String::from_utf8_lossy(&out.stdout);
    let rounds = text
        .lines()
        .find_map(|l| l.strip_prefix("@@rounds "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    Sample {
        events: count(&text),
        rounds,
        secs: s.slice as f64,
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
log = {log:?}
def rounds():
    with open(log, errors="replace") as f:
        return f.read().count(" round end ")
class Bp(gdb.Breakpoint):
    def __init__(self):
        super().__init__("*{stub:#x}", internal=True)
        self.hits = 0
        self.dst = {{}}
        self.start = time.monotonic()
        self.r0 = rounds()
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
            self.r1 = rounds()
            return True
        return False
inf.write_memory({id_addr:#x}, struct.pack("<Q", 4))
bp = Bp()
gdb.execute("continue")
el = time.monotonic() - bp.start
inf.write_memory({id_addr:#x}, struct.pack("<Q", 0))
print("GDBRESULT %d %d %f" % (bp.hits, bp.r1 - bp.r0, el))
bp.delete()
gdb.execute("detach")
"#,
        log = s.guest.serial_log().display().to_string(),
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
    Sample {
        events: f.first().copied().unwrap_or(0.0),
        rounds: f.get(1).copied().unwrap_or(0.0),
        secs: f.get(2).copied().unwrap_or(1.0),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

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
    let rounds = env("BENCH_ROUNDS", 3);
    let slice = env("BENCH_SLICE_S", 3);
    let bin = std::env::var_os("GUESTRACE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/guestrace"));
    let guest = ModelGuest::boot(&BootOptions {
        pace: Some(0),
        ..BootOptions::default()
    })
    .expect("boot the model guest");
    let image = symbols::KernelImage::open(guest.kernel_elf()).expect("kernel");
    let stub = image.elf_symbol("sdt_probe_stub").expect("stub").address;
    let probe = image.elf_symbol("sdt_ip___send").expect("probe").address;
    let off = image
        .find_type("struct sdt_probe")
        .and_then(|t| image.member_path(t, "id"))
        .expect("id")
        .offset;
    let s = Setup {
        guest,
        bin,
        slice,
        stub,
        id_addr: probe + off,
    };
    type Row = (&'static str, Box<dyn Fn(&Setup) -> Sample>);
    let rows: Vec<Row> = vec![
        ("untraced guest", Box::new(untraced)),
        ("bare resume->stop cycle", Box::new(bare_cycle)),
        (
            "(a) ip:::send { @[args[2]->ip_daddr] = count(); }",
            Box::new(|s| {
                guestrace(
                    s,
                    &["-q", "-n", "ip:::send { @[args[2]->ip_daddr] = count(); }"],
                    agg_total,
                )
            }),
        ),
        (
            "(b) scripts/tcp_flags.d",
            Box::new(|s| {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/tcp_flags.d");
                guestrace(s, &["-s", &path.display().to_string()], segment_lines)
            }),
        ),
        (
            "(c) fbt::ip_output:entry { @ = count(); }",
            Box::new(|s| {
                guestrace(
                    s,
                    &["-q", "-n", "fbt::ip_output:entry { @ = count(); }"],
                    agg_total,
                )
            }),
        ),
        ("gdb + Python bp doing (a)", Box::new(gdb_python)),
    ];
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); rows.len()];
    for r in 0..rounds {
        for (i, (name, run)) in rows.iter().enumerate() {
            let x = run(&s);
            eprintln!("round {r} {name}: {x:?}");
            samples[i].push(x);
        }
    }
    let per_round_untraced = median(samples[0].iter().map(|x| x.secs / x.rounds).collect());
    println!("model guest, pace 0, TCG, 1 vCPU; {rounds} rounds of {slice} s; medians");
    println!(
        "untraced guest: {:.1} ms per round",
        per_round_untraced * 1e3
    );
    let bare = median(samples[1].iter().map(|x| x.secs / x.events * 1e6).collect());
    println!(
        "bare resume->stop cycle: {bare:.0} us ({:.0}/s)",
        1e6 / bare
    );
    for (i, (name, _)) in rows.iter().enumerate().skip(2) {
        let rate = median(samples[i].iter().map(|x| x.events / x.secs).collect());
        let cost = median(
            samples[i]
                .iter()
                .map(|x| (x.secs / x.rounds - per_round_untraced) / (x.events / x.rounds) * 1e6)
                .collect(),
        );
        println!(
            "{name}: {rate:.0} events/s, {cost:.0} us per event ({:.2}x the bare cycle)",
            cost / bare
        );
    }
}
