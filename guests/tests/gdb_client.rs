//! An independent client, Debian's gdb in batch mode, sees the model guest the way guestrace
//! must: the SDT objects and linker sets, sdt_probe_func == sdt_probe_stub, struct tcpcb with
//! t_state in the DWARF of every build, curthread through GS base; and a nonzero probe id
//! written through the gdbstub makes the stub complain on the console, as on FreeBSD.

mod common;

use std::time::Duration;

use guests::model::ground_truth::STUB_MESSAGE;
use guests::model::{kernel_elf, BootOptions, DwarfVersion, ModelGuest};

#[test]
fn gdb_reads_sdt_machinery_and_curthread() {
    let guest = ModelGuest::boot(&BootOptions {
        smp: 2,
        ..common::fast(2)
    })
    .unwrap();
    let out = common::gdb_batch(
        guest.kernel_elf(),
        Some(guest.gdb_socket()),
        &[
            "p/x (unsigned long)sdt_probe_func",
            "p/x (unsigned long)&sdt_probe_stub",
            "p sdt_tcp___state__change[0].name",
            "p sdt_tcp___state__change[0].prov->name",
            "p sdt_tcp___state__change[0].id",
            "p sizeof(sdt_tcp___state__change[0].id)",
            "p (int)(((unsigned long)&__stop_set_sdt_probes_set - (unsigned long)&__start_set_sdt_probes_set) / 8)",
            "p (*(struct sdt_probe **)&__start_set_sdt_probes_set)->prov->name",
            "p osrelease",
            "p hz",
            "p ((struct pcpu *)$gs_base)->pc_curthread == ((struct pcpu *)$gs_base)->pc_prvspace->pc_curthread",
            "p ((struct pcpu *)$gs_base)->pc_curthread->td_proc->p_comm[0] != 0",
            "p &((struct pcpu *)0)->pc_curthread",
        ],
    );
    let v = common::gdb_values(&out);
    assert_eq!(v.len(), 13, "gdb output:\n{out}");
    assert_eq!(v[0], v[1], "sdt_probe_func must point at sdt_probe_stub");
    assert!(v[2].ends_with("\"state__change\""), "{}", v[2]);
    assert!(v[3].ends_with("\"tcp\""), "{}", v[3]);
    assert_eq!(v[4], "0");
    assert_eq!(v[5], "8", "id is an id_t (64-bit)");
    assert_eq!(v[6], "13");
    assert!(
        v[7].ends_with("\"ip\"") || v[7].ends_with("\"tcp\"") || v[7].ends_with("\"udp\""),
        "{}",
        v[7]
    );
    assert_eq!(v[8], "\"10.4-RELEASE\"");
    assert_eq!(v[9], "1000");
    assert_eq!(v[10], "1");
    assert_eq!(v[11], "1");
    assert!(
        v[12].ends_with("0x0"),
        "pc_curthread at offset 0: {}",
        v[12]
    );
    guest.shutdown().unwrap();
}

#[test]
fn every_build_describes_struct_tcpcb_with_t_state() {
    for dwarf in DwarfVersion::ALL {
        let elf = kernel_elf(dwarf).unwrap();
        let out = common::gdb_batch(
            &elf,
            None,
            &[
                "ptype struct tcpcb",
                "ptype struct mbuf",
                "ptype ((struct mbuf *)0)->M_dat.MH",
                "ptype struct ip",
                "ptype struct tcphdr",
                "ptype struct inpcb",
                "ptype struct sdt_probe",
                "p sizeof(struct ip)",
                "p &((struct tcpcb *)0)->t_state",
            ],
        );
        for needle in [
            "int t_state;",
            "struct inpcb *t_inpcb;",
            "u_long snd_ssthresh;",
            "tcp_seq last_ack_sent;",
            "struct m_hdr m_hdr;",
            "struct pkthdr MH_pkthdr;",
            "u_char ip_hl : 4;",
            "u_char ip_v : 4;",
            "u_char th_off : 4;",
            "struct in_conninfo inp_inc;",
            "u_char inp_vflag;",
            "id_t id;",
            "struct sdt_provider *prov;",
        ] {
            assert!(
                out.contains(needle),
                "DWARF {dwarf}: {needle:?} missing from gdb's view:\n{out}"
            );
        }
        let v = common::gdb_values(&out);
        assert_eq!(v[0], "20", "DWARF {dwarf}: struct ip is 20 bytes");
    }
}

#[test]
fn a_nonzero_probe_id_makes_the_stub_complain() {
    let mut guest = ModelGuest::boot(&common::fast(1)).unwrap();
    let before = common::wait_rounds(&mut guest, 1, Duration::from_secs(60));
    assert_eq!(before.stub_calls, 0);
    common::gdb_batch(
        guest.kernel_elf(),
        Some(guest.gdb_socket()),
        &["set var sdt_ip___send[0].id = 1", "p sdt_ip___send[0].id"],
    );
    let text = common::wait_for_text(guest.serial_log(), STUB_MESSAGE, Duration::from_secs(30));
    let after = text.split(STUB_MESSAGE).nth(1).unwrap_or("");
    assert!(
        after.contains("KDB: stack backtrace:"),
        "no backtrace after the stub's message"
    );
    guest.shutdown().unwrap();
}

/// The tracing method of freebsd10.md §1.7, done by gdb: enable tcp:::state-change by writing
/// an id, break on sdt_probe_stub, read the probe's arguments (args[5] on the stack), emulate
/// the return. Each hit matches the ground truth, the stub body never runs, and the traced
/// guest's rounds are identical to an untraced boot's.
#[test]
fn stub_breakpoint_tracing_matches_ground_truth_and_changes_nothing() {
    const HITS: usize = 25;
    let mut guest = ModelGuest::boot(&common::fast(1)).unwrap();
    common::wait_rounds(&mut guest, 1, Duration::from_secs(60));
    let script = guest.run_dir().join("trace.gdb");
    std::fs::write(
        &script,
        format!(
            "set $hits = 0\n\
             set var sdt_tcp___state__change[0].id = 7\n\
             break sdt_probe_stub\n\
             commands\n\
             silent\n\
             set $hits = $hits + 1\n\
             printf \"HIT id=%d tp=%#lx old=%d new=%d\\n\", (int)$rdi, (unsigned long)$rdx, (int)*(long *)($rsp + 8), ((struct tcpcb *)$rdx)->t_state\n\
             set $pc = *(unsigned long *)$rsp\n\
             set $sp = $sp + 8\n\
             if $hits < {HITS}\n\
             continue\n\
             end\n\
             end\n\
             continue\n\
             set var sdt_tcp___state__change[0].id = 0\n\
             delete\n"
        ),
    )
    .unwrap();
    let out = common::gdb_batch(
        guest.kernel_elf(),
        Some(guest.gdb_socket()),
        &[&format!("source {}", script.display())],
    );
    let hits: Vec<(u64, i32, i32)> = out
        .lines()
        .filter_map(|l| l.strip_prefix("HIT "))
        .map(|l| {
            let f: Vec<&str> = l
                .split_whitespace()
                .map(|w| w.split_once('=').unwrap().1)
                .collect();
            assert_eq!(f[0], "7", "edi carries the probe id");
            (
                u64::from_str_radix(f[1].trim_start_matches("0x"), 16).unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(hits.len(), HITS, "gdb output:\n{out}");

    let traced = common::wait_rounds(&mut guest, 4, Duration::from_secs(120));
    assert_eq!(traced.stub_calls, 0, "the stub body ran");
    let changes: Vec<(u64, i32, i32)> = traced
        .rounds
        .iter()
        .flat_map(|r| {
            r.state_changes()
                .map(|s| (s.tp, s.old, s.new))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        changes.windows(HITS).any(|w| w == hits.as_slice()),
        "hits are not a run of the ground truth's state changes: {hits:?}"
    );
    guest.shutdown().unwrap();

    let mut reference = ModelGuest::boot(&common::fast(1)).unwrap();
    let untraced = common::wait_rounds(&mut reference, 4, Duration::from_secs(120));
    reference.shutdown().unwrap();
    for (a, b) in traced.rounds_of(0).zip(untraced.rounds_of(0)).take(4) {
        assert_eq!(
            a, b,
            "round {} differs between the traced and the untraced boot",
            a.n
        );
    }
}
