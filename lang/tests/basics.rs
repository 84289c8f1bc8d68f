//! Golden tests for programs without a guest: BEGIN/END, variables, arithmetic, strings, output.

mod common;
use common::*;

#[test]
fn printf_in_begin_quiet() {
    let r = run(
        "#pragma D option quiet\nBEGIN { printf(\"hello %d %s\\n\", 42, \"world\"); exit(3); }",
    );
    assert_eq!(r.out, "hello 42 world\n\n");
    assert_eq!(r.status, 3);
}

#[test]
fn non_quiet_record_has_header_and_prefix() {
    let r = run("BEGIN { printf(\"hello\"); exit(0) }");
    assert_eq!(
        r.out,
        "CPU     ID                    FUNCTION:NAME\n  0      1                           :BEGIN hello\n\n"
    );
}

#[test]
fn default_action_and_trace_records_non_quiet() {
    let r = run("BEGIN {}\nBEGIN { trace(1); trace(\"s\"); }\nBEGIN { exit(0); }");
    assert_eq!(
        r.out,
        concat!(
            "CPU     ID                    FUNCTION:NAME\n",
            "  0      1                           :BEGIN \n",
            "  0      1                           :BEGIN         1  s                                \n",
            "  0      1                           :BEGIN \n",
            "\n"
        )
    );
}

#[test]
fn aggregation_only_clauses_write_no_record() {
    let r = run("BEGIN { @a = count(); }\nBEGIN { exit(0); }");
    assert_eq!(
        r.out,
        concat!(
            "CPU     ID                    FUNCTION:NAME\n",
            "  0      1                           :BEGIN \n",
            "\n",
            "                1\n"
        )
    );
}

#[test]
fn exit_skips_later_clauses_but_end_runs() {
    let r = run("#pragma D option quiet\nBEGIN { exit(2); printf(\"same clause\\n\"); }\nBEGIN { printf(\"later\\n\"); }\nEND { printf(\"end\\n\"); }");
    assert_eq!(r.out, "same clause\nend\n\n");
    assert_eq!(r.status, 2);
}

#[test]
fn integer_semantics() {
    let r = run(r#"#pragma D option quiet
BEGIN {
    printf("%d %d %d %d\n", -7 / 2, -7 % 2, 7 / -2, 1 << 4 >> 2);
    printf("%u %d %x\n", (uint8_t)257, (char)255, (uint16_t)-1);
    printf("%d %d\n", (unsigned)1 > -1, 1 > -1);
    x = (uint32_t)0xffffffff; x++; printf("%d\n", (long)x);
    u = 0xffffffffffffffffULL; printf("%u %d\n", u >> 60, (long)u >> 60);
    printf("%d %d %d\n", 3 ^^ 0, 0 || 2, !5);
    printf("%d %d\n", 'a', sizeof(int) + sizeof(long) + sizeof(char *));
    exit(0);
}"#);
    assert_eq!(
        r.out,
        "-3 -1 -3 4\n1 -1 ffff\n0 1\n4294967296\n15 -1\n1 1 0\n97 20\n\n"
    );
}

#[test]
fn strings_and_ternaries() {
    let r = run(r#"#pragma D option quiet
BEGIN {
    s = "abc";
    t = s;
    printf("%s %d %d %d\n", t, s == "abc", s < "abd", s != "abc");
    printf("%s|%s\n", 1 ? "yes" : "no", 0 ? "yes" : "no");
    printf("[%10s][%-4s][%.2s]\n", s, "x", "hello");
    printf("%d %d\n", strlen(s), strlen(""));
    exit(0);
}"#);
    assert_eq!(r.out, "abc 1 1 0\nyes|no\n[       abc][x   ][he]\n3 0\n\n");
}

#[test]
fn associative_arrays_and_deletion() {
    let r = run(r#"#pragma D option quiet
BEGIN {
    a["x", 1] = 5;
    a["y", 2] = 7;
    a["x", 1]++;
    printf("%d %d %d\n", a["x", 1], a["y", 2], a["z", 3]);
    a["x", 1] = 0;
    printf("%d\n", a["x", 1]);
    n[1] = "one";
    printf("%s|%s\n", n[1], n[2]);
    exit(0);
}"#);
    assert_eq!(r.out, "6 7 0\n0\none|\n\n");
}

#[test]
fn variables_are_known_in_program_order_and_to_their_own_predicate() {
    let e = compile_error("BEGIN { printf(\"%d\\n\", later); }\nBEGIN { later = 5; }");
    assert!(
        e.contains("line 1: failed to resolve later: Unknown variable name"),
        "{e}"
    );
    let r = run(
        "#pragma D option quiet\nBEGIN /n < 1/ { n++; printf(\"%d\\n\", n); }\nBEGIN { exit(0); }",
    );
    assert_eq!(r.out, "1\n\n");
}

#[test]
fn inline_declarations_and_parameterised_inlines() {
    let r = run(r#"#pragma D option quiet
inline int TWICE = 2 * 21;
inline string name[int v] = v == 1 ? "one" : v == 2 ? "two" : "many";
BEGIN { printf("%d %s %s %s\n", TWICE, name[1], name[2], name[TWICE]); exit(0); }"#);
    assert_eq!(r.out, "42 one two many\n\n");
}

#[test]
fn declarations_typedefs_and_d_structs() {
    let r = run(r#"#pragma D option quiet
typedef struct pair { int a; char b; long c; } pair_t;
uint8_t small;
int last[uint64_t];
self int depth;
this string tag;
BEGIN {
    small = 300;
    last[1] = 9;
    self->depth = 3;
    this->tag = "t";
    printf("%d %d %d %d %s %d %d\n", small, sizeof(pair_t), offsetof(pair_t, c), last[1], this->tag,
        self->depth, sizeof(struct pair));
    exit(0);
}"#);
    assert_eq!(r.out, "44 16 8 9 t 3 16\n\n");
}

#[test]
fn this_is_shared_by_the_clauses_of_one_firing_only() {
    let r = run(r#"#pragma D option quiet
BEGIN { this->x = 5; }
BEGIN { printf("%d\n", this->x); }
END { printf("%d\n", this->x); }
BEGIN { exit(0); }"#);
    assert_eq!(r.out, "5\n0\n\n");
}

#[test]
fn macro_arguments() {
    let opts = lang::CompileOptions {
        macro_args: vec!["7".into(), "word".into(), "two words".into()],
        ..Default::default()
    };
    let r = run_with(
        "#pragma D option quiet\nBEGIN { printf(\"%d %s %s %s\\n\", $1 + 1, $$2, $3, $$1); exit(0); }",
        &Catalog::default(),
        &lang::DeclaredTypes::default(),
        &opts,
        &[],
    );
    assert_eq!(r.out, "8 word two words 7\n\n");
    let mut opts = lang::CompileOptions::default();
    opts.options.defaultargs = true;
    let r = run_with(
        "#pragma D option quiet\nBEGIN { printf(\"%d [%s]\\n\", $1, $$2); exit(0); }",
        &Catalog::default(),
        &lang::DeclaredTypes::default(),
        &opts,
        &[],
    );
    assert_eq!(r.out, "0 []\n\n");
}

#[test]
fn options_from_pragmas_and_the_command_line() {
    let mut opts = lang::CompileOptions::default();
    opts.options.set_arg("quiet").unwrap();
    let p = build(
        "#pragma D option switchrate=10hz\n#pragma D option bufsize=4m\nBEGIN { exit(0); }",
        &Catalog::default(),
        &lang::DeclaredTypes::default(),
        &opts,
    )
    .unwrap();
    assert!(p.options().quiet);
    assert_eq!(p.options().switchrate_ns, 100_000_000);
    assert_eq!(p.options().bufsize, 4 << 20);
}

#[test]
fn shebang_line_and_multiple_descriptions() {
    let r = run("#!/usr/sbin/dtrace -qs\n#pragma D option quiet\ndtrace:::BEGIN,\n:::END\n{ printf(\"%s \", probename); }\nBEGIN { exit(0); }");
    assert_eq!(r.out, "BEGIN END \n");
}

#[test]
fn profile_probes_are_created_with_their_rates() {
    let p = build(
        "tick-1s {} profile-97 {} tick-10ms {} profile:::tick-5 {}",
        &Catalog::default(),
        &lang::DeclaredTypes::default(),
        &lang::CompileOptions::default(),
    )
    .unwrap();
    let kinds: Vec<(String, lang::ProbeKind)> = p
        .enabled_probes()
        .iter()
        .map(|e| (e.info.name.clone(), e.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                "tick-1s".to_string(),
                lang::ProbeKind::Tick {
                    period_ns: 1_000_000_000
                }
            ),
            (
                "profile-97".to_string(),
                lang::ProbeKind::Profile {
                    period_ns: 10_309_278
                }
            ),
            (
                "tick-10ms".to_string(),
                lang::ProbeKind::Tick {
                    period_ns: 10_000_000
                }
            ),
            (
                "tick-5".to_string(),
                lang::ProbeKind::Tick {
                    period_ns: 200_000_000
                }
            ),
        ]
    );
}

#[test]
fn aggregations_print_at_exit_sorted_by_value() {
    let r = run(r#"#pragma D option quiet
BEGIN {
    @c["b"] = count(); @c["a"] = count(); @c["a"] = count();
    @s[(uint16_t)3, "x"] = sum(10); @s[(uint16_t)1, "y"] = sum(5);
    @m = max(4); @m = max(9); @n = min(4); @n = min(-2); @v = avg(3); @v = avg(4);
    exit(0);
}"#);
    let want = concat!(
        "\n",
        "  b                                                                 1\n",
        "  a                                                                 2\n",
        "     1  y                                                                 5\n",
        "     3  x                                                                10\n",
        "                9\n",
        "               -2\n",
        "                3\n"
    );
    assert_eq!(r.out, want);
}

#[test]
fn printa_with_format_and_trunc_clear_normalize() {
    let r = run(r#"#pragma D option quiet
BEGIN {
    @a["x"] = sum(10); @a["y"] = sum(30); @a["z"] = sum(20);
    @b["x"] = count(); @b["y"] = count(); @b["y"] = count(); @b["z"] = count();
    printa("%s %@d %@d\n", @a, @b);
    printa("%s %@d\n", @a);
    trunc(@a, 2);
    printa("%s=%@d ", @a); printf("\n");
    normalize(@a, 10);
    printa("%s=%@d ", @a); printf("\n");
    clear(@a);
    printa("%s=%@d ", @a); printf("\n");
    exit(0);
}"#);
    assert_eq!(
        r.out,
        "x 10 1\nz 20 1\ny 30 2\nx 10\nz 20\ny 30\nz=20 y=30 \nz=2 y=3 \ny=0 z=0 \n\n"
    );
}

#[test]
fn quantize_histogram_output() {
    let r = run("#pragma D option quiet\nBEGIN { @q = quantize(1); @q = quantize(3); @q = quantize(3); exit(0); }");
    assert_eq!(
        r.out,
        concat!(
            "\n\n",
            "           value  ------------- Distribution ------------- count    \n",
            "               0 |                                         0        \n",
            "               1 |@@@@@@@@@@@@@                            1        \n",
            "               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@              2        \n",
            "               4 |                                         0        \n",
            "\n"
        )
    );
}

#[test]
fn runtime_division_by_zero_is_a_fault() {
    let r = run("#pragma D option quiet\nBEGIN { z = 0; printf(\"%d\\n\", 1 / z); }\nBEGIN { printf(\"go on\\n\"); exit(0); }");
    assert_eq!(r.out, "go on\n\n");
    assert_eq!(r.err.len(), 1);
    assert!(r.err[0].starts_with("dtrace: error on enabled probe ID 1 (ID 1: dtrace:::BEGIN): divide-by-zero in action #2 at DIF offset"), "{}", r.err[0]);
}

#[test]
fn setopt_at_run_time() {
    let r = run("BEGIN { setopt(\"quiet\"); printf(\"q\"); setopt(\"nosuch\", \"1\"); exit(0); }");
    assert_eq!(r.out, "CPU     ID                    FUNCTION:NAME\n  0      1                           :BEGIN q\n");
    assert_eq!(
        r.err,
        vec!["dtrace: error on enabled probe ID 1 (ID 1: dtrace:::BEGIN): couldn't set option \"nosuch\" to \"1\": Invalid option name".to_string()]
    );
}

#[test]
fn byte_order_subroutines() {
    let r = run("#pragma D option quiet\nBEGIN { printf(\"%x %x %x\\n\", ntohs(0x1234), htonl(0x12345678), ntohll(1)); exit(0); }");
    assert_eq!(r.out, "3412 78563412 100000000000000\n\n");
}

fn ctx_with_symbols() -> Ctx {
    let mut mem = Memory::default();
    mem.map(0x5000, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    Ctx {
        stack: vec![0xffff_ffff_80a0_0010, 0xffff_ffff_80b0_0000, 0x1234],
        symbols: vec![
            (0xffff_ffff_80a0_0010, "kernel`tcp_output+0x10".to_string()),
            (0xffff_ffff_80b0_0000, "kernel`ip_output".to_string()),
        ],
        mem,
        args: vec![0xffff_ffff_80a0_0010, 0x5000],
        ..Ctx::default()
    }
}

/// Runs `script` over one firing of `fbt::tcp_output:entry` (id 40, args typed as given).
fn run_fbt(script: &str, args: &[(&str, Option<&str>)], ctx: Ctx) -> Run {
    let cat = Catalog {
        probes: vec![probe(40, "fbt", "kernel", "tcp_output", "entry", args)],
        missing: vec![],
    };
    run_with(
        script,
        &cat,
        &lang::DeclaredTypes::default(),
        &lang::CompileOptions::default(),
        &[(40, ctx)],
    )
}

#[test]
fn stack_and_symbolic_addresses_come_from_the_provider() {
    let r = run_fbt(
        "#pragma D option quiet\nfbt::tcp_output:entry { printf(\"%a|%s|%s\", arg0, func(arg0), sym(0x1234)); stack(); stack(1); exit(0); }",
        &[],
        ctx_with_symbols(),
    );
    assert_eq!(
        r.out,
        concat!(
            "kernel`tcp_output+0x10|kernel`tcp_output|0x1234\n",
            "              kernel`tcp_output+0x10\n",
            "              kernel`ip_output\n",
            "              0x1234\n",
            "\n",
            "              kernel`tcp_output+0x10\n",
            "\n"
        )
    );
}

#[test]
fn tracemem_dumps_guest_bytes() {
    let r = run_fbt(
        "#pragma D option quiet\nfbt::tcp_output:entry { tracemem(arg1, 20); exit(0); }",
        &[],
        ctx_with_symbols(),
    );
    assert_eq!(
        r.out,
        concat!(
            "\n",
            "             0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f  0123456789abcdef\n",
            "         0: 47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a  GET / HTTP/1.1..\n",
            "        10: 48 6f 73 74                                      Host\n",
            "\n"
        )
    );
}

#[test]
fn runtime_error_in_a_predicate_and_in_error_clauses() {
    let c = Ctx {
        args: vec![0x10],
        ..Ctx::default()
    };
    let r = run_fbt(
        "#pragma D option quiet\nfbt::tcp_output:entry / *args[0] == 1/ { printf(\"no\"); }\nERROR { printf(\"error %d %d %d\\n\", arg1, arg4, arg5); trace(*(int *)0); }",
        &[("int *", None)],
        c,
    );
    assert_eq!(r.out, "\n");
    assert_eq!(r.err.len(), 2);
    assert!(r.err[0].starts_with("dtrace: error on enabled probe ID 1 (ID 40: fbt:kernel:tcp_output:entry): invalid address (0x10) in predicate at DIF offset"), "{}", r.err[0]);
    // The ERROR clause's own fault is reported but does not fire ERROR again.
    assert!(r.err[1].starts_with("dtrace: error on enabled probe ID 2 (ID 3: dtrace:::ERROR): invalid address (0x0) in action #2"), "{}", r.err[1]);
}

#[test]
fn walltimestamp_and_lquantize() {
    let r = run("#pragma D option quiet\nBEGIN { @l = lquantize(3, 0, 10, 2); @l = lquantize(12, 0, 10, 2); @l = lquantize(-1, 0, 10, 2); exit(0); }");
    assert_eq!(
        r.out,
        concat!(
            "\n\n",
            "           value  ------------- Distribution ------------- count    \n",
            "             < 0 |@@@@@@@@@@@@@                            1        \n",
            "               0 |                                         0        \n",
            "               2 |@@@@@@@@@@@@@                            1        \n",
            "               4 |                                         0        \n",
            "               6 |                                         0        \n",
            "               8 |                                         0        \n",
            "           >= 10 |@@@@@@@@@@@@@                            1        \n",
            "\n"
        )
    );
}

#[test]
fn fixed_size_d_arrays() {
    let r = run("#pragma D option quiet\nint a[5];\nBEGIN { a[1] = 7; a[2] = a[1] * 2; printf(\"%d %d %d\\n\", a[0], a[1], a[2]); exit(0); }");
    assert_eq!(r.out, "0 7 14\n\n");
    assert!(compile_error("int a[4];\nBEGIN /a/ { }").contains("needs [keys]"));
    assert!(compile_error("BEGIN /\"s\"/ { }").contains("predicate result must be of scalar type"));
}

#[test]
fn end_runs_once_and_nothing_fires_after_it() {
    let mut p = build(
        "#pragma D option quiet\nEND { printf(\"end\\n\"); }\nBEGIN { printf(\"begin\\n\"); }",
        &Catalog::default(),
        &lang::DeclaredTypes::default(),
        &lang::CompileOptions::default(),
    )
    .unwrap();
    let mut ctx = Ctx::default();
    let mut sink = lang::BufferSink::default();
    assert_eq!(p.end(&mut ctx, &mut sink), 0);
    assert_eq!(p.end(&mut ctx, &mut sink), 0);
    p.fire(lang::BEGIN_ID, &mut ctx, &mut sink);
    assert_eq!(String::from_utf8_lossy(&sink.out), "end\n\n");
}

#[test]
fn dynamic_variable_space_is_bounded_by_dynvarsize() {
    let r = run("#pragma D option quiet\n#pragma D option dynvarsize=128\nBEGIN { a[1] = 1; a[2] = 2; a[3] = 3; a[1] = 5; printf(\"%d %d %d\\n\", a[1], a[2], a[3]); exit(0); }");
    assert_eq!(r.out, "5 2 0\n\n");
    assert_eq!(r.err, vec!["dtrace: 1 dynamic variable drop".to_string()]);
}

#[test]
fn aggregation_keys_print_at_their_natural_widths() {
    let r = run(r#"#pragma D option quiet
BEGIN {
    @a[(char)-2] = count();
    @b[(short)-2] = count();
    @c[-2] = count();
    @d[(long)-2] = count();
    @e[(uint8_t)3, "k"] = sum(7);
    exit(0);
}"#);
    assert_eq!(
        r.out,
        concat!(
            "\n",
            " 254                1\n",
            " 65534                1\n",
            "       -2                1\n",
            "               -2                1\n",
            "   3  k                                                                 7\n"
        )
    );
}

#[test]
fn zonename_is_global() {
    assert_eq!(
        run("#pragma D option quiet\nBEGIN { printf(\"%s\\n\", zonename); exit(0); }").out,
        "global\n\n"
    );
}

#[test]
fn a_large_catalog_of_fbt_probes_matches_by_glob() {
    let mut probes = Vec::new();
    for i in 0..20_000u32 {
        let f = format!("func{i}");
        probes.push(probe(100 + 2 * i, "fbt", "kernel", &f, "entry", &[]));
        probes.push(probe(101 + 2 * i, "fbt", "kernel", &f, "return", &[]));
    }
    let cat = Catalog {
        probes,
        missing: vec![],
    };
    let p = build(
        "fbt:::entry { @[probefunc] = count(); }\nfbt::func1*:return {}",
        &cat,
        &lang::DeclaredTypes::default(),
        &lang::CompileOptions::default(),
    )
    .unwrap();
    let counts: Vec<u32> = p.description_matches().iter().map(|m| m.matched).collect();
    assert_eq!(counts, vec![20_000, 11_111]);
    assert_eq!(p.enabled_probes().len(), 31_111);
}

#[test]
fn structs_held_in_d_variables() {
    let r = run(r#"#pragma D option quiet
struct pair { int n; string s; };
struct { string str; int pos; } cmd[int];
this struct pair p;
BEGIN {
    this->p.n = 3; this->p.s = "x"; this->p.n++;
    cmd[1].str = "foo"; cmd[1].pos = 7; cmd[2].str = "bar";
    printf("%d %s %s %d %s %d [%s]\n", this->p.n, this->p.s, cmd[1].str, cmd[1].pos, cmd[2].str, cmd[2].pos, cmd[3].str);
    exit(0);
}"#);
    assert_eq!(r.out, "4 x foo 7 bar 0 []\n\n");
    assert!(compile_error(
        "struct pair { int n; };\nthis struct pair p;\nBEGIN { this->p.m = 1; }"
    )
    .contains("m is not a member of struct pair; did you mean n?"));
}

#[test]
fn stacks_as_aggregation_keys() {
    let r = run_fbt(
        "#pragma D option quiet\nfbt::tcp_output:entry { @[stack(2)] = count(); printa(@); }",
        &[],
        ctx_with_symbols(),
    );
    assert_eq!(
        r.out,
        "\n\n              kernel`tcp_output+0x10\n              kernel`ip_output\n                1\n\n"
    );
    let e = compile_error("BEGIN { printf(\"%k\", 1); }");
    assert!(e.contains("conversion: %k"), "{e}");
}

#[test]
fn declared_floating_point_variables_print_with_percent_f() {
    let r = run("#pragma D option quiet\nfloat f;\ndouble d;\nBEGIN { printf(\"%f %e %g\\n\", f, d, d); exit(0); }");
    assert_eq!(r.out, "0.000000 0.000000e+00 0\n\n");
    assert!(compile_error("double d;\nBEGIN { x = d + 1; }")
        .contains("operator + requires operands of compatible types"));
}

#[test]
fn dollar_zero_names_the_script() {
    assert_eq!(
        run("#pragma D option quiet\nBEGIN { printf(\"%s\\n\", $$0); exit(0); }").out,
        "test.d\n\n"
    );
}
