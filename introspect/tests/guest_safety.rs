//! Acceptance point 5: whatever way the tracing side dies, the guest ends up as it was found
//! (code and data bytes, no breakpoints) and keeps running.
mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::qemu::{Boot, Vm};
use introspect::{Cleanup, Error, Event, Journal, Kind, Options, Target};

fn opts(journal: PathBuf) -> Options {
    Options {
        journal: Journal::At(journal),
        timeout: Duration::from_secs(5),
        ..Options::default()
    }
}

/// Addresses the tracer touches.
struct Places {
    entry: u64,
    stub: u64,
    recurse: u64,
    enabled: u64,
}

impl Places {
    fn of(vm: &Vm) -> Places {
        Places {
            entry: vm.sym("traced_func"),
            stub: vm.sym("probe_stub"),
            recurse: vm.sym("recurse"),
            enabled: vm.sym("probe_enabled"),
        }
    }

    fn from_env() -> Places {
        let v = |k: &str| {
            let s = std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
            u64::from_str_radix(&s, 16).unwrap_or_else(|_| panic!("{k}={s}"))
        };
        Places {
            entry: v("IT_ENTRY"),
            stub: v("IT_STUB"),
            recurse: v("IT_RECURSE"),
            enabled: v("IT_ENABLED"),
        }
    }

    fn code_and_data(&self) -> Vec<(u64, usize)> {
        vec![
            (self.entry, 32),
            (self.stub, 32),
            (self.recurse, 32),
            (self.enabled, 8),
        ]
    }
}

/// Plants every kind of change and traces until `events` events were seen.
fn plant_and_trace(t: &mut Target, p: &Places, events: usize) -> Result<(), Error> {
    t.write_memory(p.enabled, &1u64.to_le_bytes())?;
    let entry = t.add_breakpoint(p.entry, Kind::Entry)?;
    t.add_breakpoint(p.stub, Kind::EmulatedReturn)?;
    let rec = t.add_breakpoint(p.recurse, Kind::Entry)?;
    for _ in 0..events {
        let s = t.resume_and_wait(Some(Duration::from_secs(10)))?;
        if let Event::Breakpoint { id, .. } = s.event {
            if id == rec || id == entry {
                t.catch_return(id, 0)?;
            }
        }
    }
    Ok(())
}

fn snapshot(addr: &str, journal: PathBuf, p: &Places) -> Vec<Vec<u8>> {
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
    t.detach().unwrap();
    v
}

/// From a fresh connection: bytes as before, no breakpoint stops the guest, both vCPUs move.
fn check_guest(vm: &Vm, journal: PathBuf, p: &Places, before: &[Vec<u8>], how: &str) {
    let mut t = Target::connect(&vm.addr, opts(journal)).unwrap();
    for ((a, n), orig) in p.code_and_data().into_iter().zip(before) {
        let mut b = vec![0u8; n];
        t.rsp().read_memory(a, &mut b).unwrap();
        assert_eq!(&b, orig, "{how}: bytes at {a:#x} changed");
    }
    let loops = vm.sym("loops");
    let read_loops = |t: &mut Target| [t.read_u64(loops).unwrap(), t.read_u64(loops + 8).unwrap()];
    let first = read_loops(&mut t);
    let runs = t.read_u64(vm.sym("stub_body_runs")).unwrap();
    // No breakpoint of ours is left: the only stop is the time-out's interrupt.
    let s = t.resume_and_wait(Some(Duration::from_millis(300))).unwrap();
    eprintln!(
        "DEBUG {how}: {:?} rip {:#x} rec {:?} vcpu {}",
        s.event,
        t.reg("rip").unwrap(),
        t.recovered(),
        s.vcpu
    );
    assert_eq!(
        s.event,
        Event::Interrupted,
        "{how}: a leftover breakpoint stopped the guest"
    );
    let second = read_loops(&mut t);
    assert!(
        second[0] > first[0] && second[1] > first[1],
        "{how}: no progress {first:?} {second:?}"
    );
    assert_eq!(
        t.read_u64(vm.sym("stub_body_runs")).unwrap(),
        runs,
        "{how}: probe left enabled"
    );
    t.detach().unwrap();
}

fn setup() -> (Vm, PathBuf, Places, Vec<Vec<u8>>) {
    let vm = Vm::boot(Boot::default());
    let journal = vm.dir.join("undo.journal");
    let p = Places::of(&vm);
    let before = snapshot(&vm.addr, journal.clone(), &p);
    (vm, journal, p, before)
}

#[test]
fn drop_mid_trace_restores_the_guest() {
    let (vm, journal, p, before) = setup();
    {
        let mut t = Target::connect(&vm.addr, opts(journal.clone())).unwrap();
        plant_and_trace(&mut t, &p, 40).unwrap();
        // Dropped while the VM runs towards the next hit.
        t.resume().unwrap();
    }
    check_guest(&vm, journal, &p, &before, "drop");
}

#[test]
fn an_error_mid_trace_restores_the_guest() {
    let (vm, journal, p, before) = setup();
    let traced = || -> Result<(), Error> {
        let mut t = Target::connect(&vm.addr, opts(journal.clone()))?;
        plant_and_trace(&mut t, &p, 40)?;
        // A failing guest access ends the tracer through `?`, dropping the target.
        t.write_memory(0xffff_8000_0000_0000, &[1])?;
        Ok(())
    };
    assert!(matches!(traced(), Err(Error::Memory(_))));
    check_guest(&vm, journal, &p, &before, "error");
}

#[test]
fn sigterm_to_a_tracer_process_restores_the_guest() {
    let (vm, journal, p, before) = setup();
    let mut child = spawn_tracer(&vm, &journal, &p, "cleanup-on-sigterm");
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "tracer exited with {status}");
    assert!(!journal.exists(), "a clean exit leaves no journal");
    check_guest(&vm, journal, &p, &before, "SIGTERM");
}

#[test]
fn sigkill_to_a_tracer_process_is_undone_by_the_next_connection() {
    let (vm, journal, p, before) = setup();
    let mut child = spawn_tracer(&vm, &journal, &p, "no-handler");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        journal.exists(),
        "the dead tracer's journal is what makes recovery possible"
    );
    check_guest(&vm, journal, &p, &before, "SIGKILL");
}

/// Starts this test binary as a tracer (the `tracer_process` test below) and waits until it
/// is tracing.
fn spawn_tracer(vm: &Vm, journal: &std::path::Path, p: &Places, mode: &str) -> std::process::Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "tracer_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("IT_ADDR", &vm.addr)
        .env("IT_JOURNAL", journal)
        .env("IT_MODE", mode)
        .env("IT_ENTRY", format!("{:x}", p.entry))
        .env("IT_STUB", format!("{:x}", p.stub))
        .env("IT_RECURSE", format!("{:x}", p.recurse))
        .env("IT_ENABLED", format!("{:x}", p.enabled))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
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
    let mut t = Target::connect(&addr, opts(journal)).unwrap();
    if std::env::var("IT_MODE").as_deref() == Ok("cleanup-on-sigterm") {
        let _ = CLEANUP.set(t.cleanup_handle());
        // SAFETY: installing a handler that only does an atomic store and a write(2).
        unsafe { libc::signal(libc::SIGTERM, on_sigterm as *const () as libc::sighandler_t) };
    }
    plant_and_trace(&mut t, &p, 20).unwrap();
    println!("TRACING");
    loop {
        match t.resume_and_wait(None) {
            Ok(s) => {
                if let Event::Breakpoint {
                    id,
                    kind: Kind::Entry,
                    ..
                } = s.event
                {
                    t.catch_return(id, 0).unwrap();
                }
            }
            Err(Error::Cancelled) => return,
            Err(e) => panic!("tracer: {e}"),
        }
    }
}
