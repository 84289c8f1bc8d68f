//! Acceptance point 5, on the model guest: whatever way the tracing side dies (drop, an error
//! path, SIGTERM to a tracer process, SIGKILL to it), the guest ends up as it was found (code
//! and data bytes, no breakpoint left, the SDT probe id back to 0) and keeps running.
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::model::{Model, SDT_PROBE_ID};
use introspect::{Cleanup, Error, Event, Journal, Kind, Options, Target};

fn opts(journal: &Path) -> Options {
    Options {
        journal: Journal::At(journal.to_path_buf()),
        timeout: Duration::from_secs(5),
        ..Options::default()
    }
}

/// Addresses the tracer touches: as guestrace will, an SDT probe id, the stub, two fbt-style
/// entry breakpoints (and their returns).
struct Places {
    stub: u64,
    hook: u64,
    probe_id: u64,
    entry: u64,
    nested: u64,
}

const VARS: [&str; 5] = ["IT_STUB", "IT_HOOK", "IT_PROBE_ID", "IT_ENTRY", "IT_NESTED"];

impl Places {
    fn of(m: &Model) -> Places {
        Places {
            stub: m.sym("sdt_probe_stub"),
            hook: m.sym("sdt_probe_func"),
            probe_id: m.sym("sdt_tcp___send") + SDT_PROBE_ID,
            entry: m.sym("ip_output"),
            nested: m.sym("tcp_output"),
        }
    }

    fn values(&self) -> [u64; 5] {
        [self.stub, self.hook, self.probe_id, self.entry, self.nested]
    }

    fn from_env() -> Places {
        let v: Vec<u64> = VARS
            .iter()
            .map(|k| {
                let s = std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
                u64::from_str_radix(&s, 16).unwrap_or_else(|_| panic!("{k}={s}"))
            })
            .collect();
        Places {
            stub: v[0],
            hook: v[1],
            probe_id: v[2],
            entry: v[3],
            nested: v[4],
        }
    }

    fn code_and_data(&self) -> Vec<(u64, usize)> {
        vec![
            (self.stub, 32),
            (self.entry, 32),
            (self.nested, 32),
            (self.probe_id, 8),
            (self.hook, 8),
        ]
    }
}

/// Plants every kind of change and traces until `events` events were seen.
fn plant_and_trace(t: &mut Target, p: &Places, events: usize) -> Result<(), Error> {
    t.write_memory(p.probe_id, &3u64.to_le_bytes())?;
    let stub = t.add_breakpoint(p.stub, Kind::EmulatedReturn)?;
    t.watch_pointer(stub, p.hook)?;
    t.add_breakpoint(p.entry, Kind::Entry)?;
    t.add_breakpoint(p.nested, Kind::Entry)?;
    for _ in 0..events {
        trace_one(t)?;
    }
    Ok(())
}

fn trace_one(t: &mut Target) -> Result<(), Error> {
    let s = t.resume_and_wait(Some(Duration::from_secs(20)))?;
    if let Event::Breakpoint {
        id,
        kind: Kind::Entry,
        ..
    } = s.event
    {
        t.catch_return(id, 0)?;
    }
    Ok(())
}

fn read_places(addr: &str, journal: &Path, p: &Places) -> (Vec<Vec<u8>>, Target) {
    let mut t = Target::connect(addr, opts(journal)).unwrap();
    let v = p
        .code_and_data()
        .into_iter()
        .map(|(a, n)| {
            let mut b = vec![0u8; n];
            t.rsp().read_memory(a, &mut b).unwrap();
            b
        })
        .collect();
    (v, t)
}

/// From a fresh connection: bytes as before, no breakpoint stops the guest, its clock moves, and
/// the stub's body never ran.
fn check_guest(m: &Model, journal: &Path, p: &Places, before: &[Vec<u8>], how: &str) {
    let (now, mut t) = read_places(&m.addr(), journal, p);
    assert_eq!(now, before, "{how}: code or data bytes changed");
    let (event, progressed) = m.run_a_while(&mut t);
    assert_eq!(
        event,
        Event::Interrupted,
        "{how}: a leftover breakpoint stopped the guest"
    );
    assert!(progressed, "{how}: the guest made no progress");
    t.detach().unwrap();
    let serial = std::fs::read_to_string(m.guest.serial_log()).unwrap_or_default();
    assert!(
        !serial.contains("sdt_probe_stub: unexpectedly called"),
        "{how}: stub body ran"
    );
}

fn setup() -> (Model, PathBuf, Places, Vec<Vec<u8>>) {
    let m = Model::boot(2, Some(0));
    let journal = m.guest.run_dir().join("undo.journal");
    let p = Places::of(&m);
    let (before, t) = read_places(&m.addr(), &journal, &p);
    t.detach().unwrap();
    (m, journal, p, before)
}

#[test]
fn drop_mid_trace_restores_the_guest() {
    let (m, journal, p, before) = setup();
    {
        let mut t = Target::connect(&m.addr(), opts(&journal)).unwrap();
        plant_and_trace(&mut t, &p, 40).unwrap();
        // Dropped while the VM runs towards the next hit.
        t.resume().unwrap();
    }
    check_guest(&m, &journal, &p, &before, "drop");
}

#[test]
fn an_error_mid_trace_restores_the_guest() {
    let (m, journal, p, before) = setup();
    let traced = || -> Result<(), Error> {
        let mut t = Target::connect(&m.addr(), opts(&journal))?;
        plant_and_trace(&mut t, &p, 40)?;
        // A failing guest access ends the tracer through `?`, dropping the target.
        t.write_memory(0xffff_8000_0000_0000, &[1])?;
        Ok(())
    };
    assert!(matches!(traced(), Err(Error::Memory(_))));
    check_guest(&m, &journal, &p, &before, "error");
}

#[test]
fn sigterm_to_a_tracer_process_restores_the_guest() {
    let (m, journal, p, before) = setup();
    let mut child = spawn_tracer(&m, &journal, &p, "cleanup-on-sigterm");
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "tracer exited with {status}");
    assert!(!journal.exists(), "a clean exit leaves no journal");
    check_guest(&m, &journal, &p, &before, "SIGTERM");
}

#[test]
fn sigkill_to_a_tracer_process_is_undone_by_the_next_connection() {
    let (m, journal, p, before) = setup();
    let mut child = spawn_tracer(&m, &journal, &p, "no-handler");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        journal.exists(),
        "the dead tracer's journal is what makes recovery possible"
    );
    check_guest(&m, &journal, &p, &before, "SIGKILL");
}

/// Starts this test binary as a tracer (the `tracer_process` test below) and waits until it
/// is tracing.
fn spawn_tracer(m: &Model, journal: &Path, p: &Places, mode: &str) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "tracer_process",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("IT_ADDR", m.addr())
    .env("IT_JOURNAL", journal)
    .env("IT_MODE", mode)
    .stdout(Stdio::piped());
    for (k, v) in VARS.iter().zip(p.values()) {
        cmd.env(k, format!("{v:x}"));
    }
    let mut child = cmd.spawn().unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("TRACING") => break,
            Some(Ok(_)) => continue,
            other => panic!("tracer ended before tracing: {other:?}"),
        }
    }
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

static CLEANUP: OnceLock<Cleanup> = OnceLock::new();

extern "C" fn on_sigterm(_: libc::c_int) {
    if let Some(c) = CLEANUP.get() {
        c.trigger();
    }
}

/// The tracer side of the two process tests; does nothing unless started by them.
#[test]
#[ignore = "run as a child process by the tests above"]
fn tracer_process() {
    let Ok(addr) = std::env::var("IT_ADDR") else {
        return;
    };
    let journal = PathBuf::from(std::env::var("IT_JOURNAL").unwrap());
    let p = Places::from_env();
    let mut t = Target::connect(&addr, opts(&journal)).unwrap();
    if std::env::var("IT_MODE").as_deref() == Ok("cleanup-on-sigterm") {
        let _ = CLEANUP.set(t.cleanup_handle());
        // SAFETY: installing a handler that only does an atomic store and a write(2).
        unsafe { libc::signal(libc::SIGTERM, on_sigterm as *const () as libc::sighandler_t) };
    }
    plant_and_trace(&mut t, &p, 20).unwrap();
    println!("TRACING");
    loop {
        match trace_one(&mut t) {
            Ok(()) => {}
            Err(Error::Cancelled) => return,
            Err(e) => panic!("tracer: {e}"),
        }
    }
}
