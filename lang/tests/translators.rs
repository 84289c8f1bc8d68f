//! Golden tests of typed, translated probe arguments over mock guest memory: a small kernel of
//! our own (struct ip, tcphdr, inpcb, tcpcb) and translator library in D, as the providers'
//! dlib files will supply them.

mod common;
use common::tcp::*;
use common::*;
use lang::{CompileOptions, Source};

fn run_tcp(script: &str, events: &[(u32, Ctx)]) -> Run {
    let types = types();
    let cat = catalog();
    let sources = [
        Source::library("tcp.d", LIBRARY),
        Source::script("t.d", script),
    ];
    let mut prog = match lang::compile(&sources, &cat, &types, &CompileOptions::default()) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let mut sink = lang::BufferSink::default();
    let mut base = Ctx::default();
    prog.fire(lang::BEGIN_ID, &mut base, &mut sink);
    for (id, c) in events {
        let mut c = c.clone();
        if prog.fire(*id, &mut c, &mut sink) != lang::Flow::Continue {
            break;
        }
    }
    let status = prog.end(&mut base, &mut sink);
    Run {
        out: String::from_utf8_lossy(&sink.out).into_owned(),
        err: sink.err,
        status,
    }
}

fn compile_tcp(script: &str) -> Result<lang::Program, String> {
    let sources = [
        Source::library("tcp.d", LIBRARY),
        Source::script("t.d", script),
    ];
    lang::compile(&sources, &catalog(), &types(), &CompileOptions::default())
        .map_err(|e| e.to_string())
}

#[test]
fn article_style_flags_printf() {
    let script = r#"#pragma D option quiet
tcp:::send, tcp:::receive
/args[4]->tcp_flags & TH_SYN/
{
    printf("%5d -> %-5d %d bytes flags=%x off=%d %s%s%s\n", args[4]->tcp_sport, args[4]->tcp_dport,
        args[2]->ip_plength - args[4]->tcp_offset, args[4]->tcp_flags, args[4]->tcp_offset,
        args[4]->tcp_flags & TH_SYN ? "SYN," : "", args[4]->tcp_flags & TH_ACK ? "ACK," : "",
        tcp_state_string[args[3]->tcps_state]);
}
"#;
    let r = run_tcp(
        script,
        &[
            (10, segment(0x12, true)),
            (11, segment(0x10, true)),
            (11, segment(0x02, true)),
        ],
    );
    assert_eq!(
        r.out,
        concat!(
            " 8080 -> 80    20 bytes flags=12 off=20 SYN,ACK,state-established\n",
            " 8080 -> 80    20 bytes flags=2 off=20 SYN,state-established\n\n"
        )
    );
    assert!(r.err.is_empty(), "{:?}", r.err);
}

#[test]
fn char_array_member_reads_as_string_and_bitfields_extract() {
    let script = r#"#pragma D option quiet
tcp:::send { printf("%s v%d hl=%d off=%d\n", args[3]->tcps_name, args[2]->ip_ver,
    ((struct ip *)arg2)->ip_hl, args[4]->tcp_hdr->th_off); }"#;
    let r = run_tcp(script, &[(10, segment(0x12, true))]);
    assert_eq!(r.out, "em0 v4 hl=5 off=5\n\n");
}

#[test]
fn bad_pointer_raises_the_freebsd_error_and_the_run_goes_on() {
    let script = r#"#pragma D option quiet
tcp:::send { printf("first\n"); printf("%d\n", args[3]->tcps_lport); }
tcp:::send { printf("second clause runs\n"); }
ERROR { printf("ERROR fired for epid %d fault %d\n", arg1, arg4); }
"#;
    let r = run_tcp(
        script,
        &[(10, segment(0x12, false)), (10, segment(0x12, true))],
    );
    assert_eq!(
        r.out,
        "second clause runs\nERROR fired for epid 1 fault 1\nfirst\n8080\nsecond clause runs\n\n"
            .replace(
                "second clause runs\nERROR fired for epid 1 fault 1\n",
                "ERROR fired for epid 1 fault 1\nsecond clause runs\n"
            )
    );
    assert_eq!(r.err.len(), 1);
    let e = &r.err[0];
    assert!(
        e.starts_with("dtrace: error on enabled probe ID 1 (ID 10: tcp:kernel:tcp_output:send): invalid address (0x4002) in action #2 at DIF offset "),
        "{e}"
    );
}

#[test]
fn self_and_this_and_assoc_arrays() {
    let script = r#"#pragma D option quiet
tcp:::send { self->n++; this->port = args[4]->tcp_sport; start[args[1]->cs_cid] = 1; }
tcp:::send /this->port == 8080/ { printf("thread %d count %d\n", tid, self->n); }
"#;
    // csinfo_t has no translator in this library: referencing it must fail to compile.
    let e = compile_tcp(script).unwrap_err();
    assert!(e.contains("line 2: args[1]: type csinfo_t * is not defined (is the provider's translator library loaded?)"), "{e}");
    let script = script.replace("args[1]->cs_cid", "arg1");
    let mut a = segment(0x12, true);
    let b = a.clone();
    a.thread = 8;
    let r = run_tcp(&script, &[(10, b.clone()), (10, b), (10, a)]);
    assert_eq!(
        r.out,
        "thread 7 count 1\nthread 7 count 2\nthread 8 count 1\n\n"
    );
}

#[test]
fn member_typo_names_the_type_and_near_matches() {
    let e = compile_tcp("tcp:::send { trace(args[4]->tcp_dprt); }").unwrap_err();
    assert!(
        e.contains("line 1: tcp_dprt is not a member of struct tcpinfo; did you mean tcp_dport?"),
        "{e}"
    );
    assert!(e.ends_with("^ column 29"), "{e}");
    let e = compile_tcp("tcp:::send { trace(((struct tcphdr *)arg4)->th_flag); }").unwrap_err();
    assert!(
        e.contains("th_flag is not a member of struct tcphdr; did you mean th_flags?"),
        "{e}"
    );
}

#[test]
fn args_type_check_and_ranges() {
    let e = compile_tcp("tcp:::send { trace(args[7]); }").unwrap_err();
    assert!(
        e.contains("index 7 is out of range for tcp:kernel:tcp_output:send args[ ]"),
        "{e}"
    );
    let e = compile_tcp("tcp:::send, tcp:::state-change { trace(args[1]); }").unwrap_err();
    assert!(e.contains("different argument types"), "{e}");
    let e = compile_tcp("tcp:::send { x = args[2]->ip_ver + \"a\"; }").unwrap_err();
    assert!(
        e.contains("operator + requires operands of compatible types"),
        "{e}"
    );
}

#[test]
fn description_matching_and_counts() {
    let p = compile_tcp("tcp:::send, tcp::tcp_input:, tcp:::*-change, ::tcp_o*: {}").unwrap();
    let counts: Vec<u32> = p.description_matches().iter().map(|m| m.matched).collect();
    assert_eq!(counts, vec![1, 1, 1, 1]);
    let ids: Vec<u32> = p.enabled_probes().iter().map(|e| e.info.id).collect();
    assert_eq!(ids, vec![10, 11, 12]);
    let e = compile_tcp("tcp:::sned {}").unwrap_err();
    assert!(
        e.contains("probe description tcp:::sned does not match any probes"),
        "{e}"
    );
}

#[test]
fn unavailable_builtin_is_a_compile_error() {
    let mut cat = catalog();
    cat.missing.push(lang::Builtin::Execname);
    let e = lang::compile(
        &[Source::script("t.d", "tcp:::send { trace(execname); }")],
        &cat,
        &types(),
        &CompileOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("execname is not available on this guest"), "{e}");
}

#[test]
fn xlate_and_sizeof_and_offsetof() {
    let script = r#"#pragma D option quiet
tcp:::send {
    printf("%d %d %d %d\n", xlate<tcpinfo_t *>((struct tcphdr *)arg4)->tcp_dport, sizeof(struct tcphdr),
        offsetof(struct tcphdr, th_flags), xlate<tcpinfo_t>((struct tcphdr *)arg4).tcp_sport);
}"#;
    let r = run_tcp(script, &[(10, segment(0x12, true))]);
    assert_eq!(r.out, "80 20 13 8080\n\n");
}
