//! Compile errors: dtrace's shape with guestrace's name, the line, the source line and a caret,
//! and a clear message for each kind of mistake.

mod common;
use common::*;
use lang::{compile, CompileOptions, DeclaredTypes, Source};

#[test]
fn undefined_variable_has_line_column_and_caret() {
    let e = compile_error("BEGIN\n{\n\tprintf(\"%d\\n\", nosuch);\n}\n");
    assert_eq!(
        e,
        "guestrace: failed to compile script test.d: line 3: failed to resolve nosuch: Unknown variable name\n\
         \tprintf(\"%d\\n\", nosuch);\n\t               ^ column 17"
    );
}

#[test]
fn description_errors_use_the_probe_specifier_wording() {
    let e = compile(
        &[Source::description("BEGIN { x = ; }")],
        &Catalog::default(),
        &DeclaredTypes::default(),
        &CompileOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with(
            "guestrace: invalid probe specifier BEGIN { x = ; }: line 1: syntax error near \";\""
        ),
        "{e}"
    );
}

#[test]
fn type_mismatch() {
    let e = compile_error("BEGIN { s = \"a\"; s = 1; }");
    assert!(
        e.contains("line 1: operands have incompatible types: \"string\" = \"int\""),
        "{e}"
    );
    let e = compile_error("BEGIN { x = \"a\" * 2; }");
    assert!(
        e.contains("operator * requires operands of compatible types: \"string\" * \"int\""),
        "{e}"
    );
}

#[test]
fn aggregation_used_as_scalar() {
    let e = compile_error("BEGIN { @a = count(); x = @a + 1; }");
    assert!(
        e.contains("aggregation @a cannot be used as a scalar"),
        "{e}"
    );
    let e = compile_error("BEGIN { @a = count(); @a = sum(1); }");
    assert!(e.contains("aggregation redefined"), "{e}");
    let e = compile_error("BEGIN { x = count(); }");
    assert!(
        e.contains("count( ) may only be used to assign an aggregation"),
        "{e}"
    );
}

#[test]
fn bad_printf_conversions() {
    let e = compile_error("BEGIN { printf(\"%d\\n\", \"str\"); }");
    assert!(
        e.contains("printf( ) argument #2 is incompatible with conversion #1 prototype:"),
        "{e}"
    );
    assert!(
        e.contains("conversion: %d") && e.contains("argument: string"),
        "{e}"
    );
    let e = compile_error("BEGIN { printf(\"%d %d\\n\", 1); }");
    assert!(
        e.contains("conversion #2 (%d) is missing a corresponding value argument"),
        "{e}"
    );
    let e = compile_error("BEGIN { printf(\"%q\\n\", 1); }");
    assert!(e.contains("format conversion #1 is undefined: %q"), "{e}");
    let e = compile_error("BEGIN { printf(\"%d\\n\", 1, 2); }");
    assert!(
        e.contains("only 1 arguments required by this format string"),
        "{e}"
    );
    let e = compile_error("BEGIN { printf(\"%@d\\n\", 1); }");
    assert!(e.contains("%@ conversion requires an aggregation"), "{e}");
}

#[test]
fn lexical_errors() {
    assert!(compile_error("BEGIN { x = \"abc\n\"; }")
        .contains("line 1: newline encountered in string literal"));
    assert!(compile_error("BEGIN { /* x").contains("end-of-file encountered before matching */"));
    assert!(compile_error("BEGIN { x = 08; }").contains("invalid digit"));
    assert!(
        compile_error("BEGIN { x = 1.5; }").contains("floating-point constants are not permitted")
    );
}

#[test]
fn probe_and_pragma_errors() {
    assert!(compile_error("nosuch:::probe {}")
        .contains("probe description nosuch:::probe does not match any probes"));
    assert!(compile_error("#pragma D option nosuch\nBEGIN {}")
        .contains("line 1: failed to set option 'nosuch': Invalid option name"));
    assert!(compile_error("#define X 1\nBEGIN {}").contains("invalid control directive: #define"));
    assert!(compile_error("BEGIN { trace($1); }").contains("macro argument $1 is not defined"));
}

#[test]
fn other_semantic_errors() {
    assert!(compile_error("BEGIN { x = 1 / 0; }").contains("expression contains division by zero"));
    assert!(compile_error("BEGIN { trace(nosuchfn(1)); }")
        .contains("failed to resolve nosuchfn: Unknown function name"));
    assert!(
        compile_error("BEGIN { x = 1; y = &x; }").contains("cannot take address of a D variable")
    );
    assert!(compile_error("BEGIN { a[1] = 1; a[\"x\"] = 2; }").contains("key #1 is incompatible"));
    assert!(compile_error("BEGIN { a[1] = 1; a[1, 2] = 2; }")
        .contains("prototype mismatch: 2 arguments passed, 1 expected"));
    assert!(
        compile_error("inline int X = 1;\ninline int X = 2;\nBEGIN {}")
            .contains("line 2: identifier redeclared: X")
    );
    assert!(compile_error("BEGIN { x = y->z; }").contains("failed to resolve y"));
    assert!(
        compile_error("BEGIN { exit(\"a\"); }").contains("exit( ) argument #1 must be an integer")
    );
    assert!(compile_error("BEGIN { if (1) { x = 1; } }").contains("syntax error near \"if\""));
    assert!(compile_error("tick-100us { }").contains("does not match any probes"));
}

#[test]
fn long_chains_compile_and_absurd_nesting_is_refused() {
    // A 40-way ternary chain, like the translator libraries' name tables but longer.
    let mut chain = String::new();
    for i in 0..40 {
        chain.push_str(&format!("x == {i} ? \"v{i}\" : "));
    }
    chain.push_str("\"other\"");
    let script = format!(
        "#pragma D option quiet\ninline string name[int x] = {chain};\nBEGIN {{ printf(\"%s\\n\", name[39]); exit(0); }}"
    );
    assert_eq!(run(&script).out, "v39\n\n");
    let sum = vec!["1"; 60].join(" + ");
    let r = run(&format!(
        "#pragma D option quiet\nBEGIN {{ printf(\"%d\\n\", {sum}); exit(0); }}"
    ));
    assert_eq!(r.out, "60\n\n");
    let deep = format!("BEGIN {{ x = {}1{}; }}", "(".repeat(500), ")".repeat(500));
    assert!(compile_error(&deep).contains("nested too deeply"));
    let long = format!("BEGIN {{ x = 1{}; }}", " + 1".repeat(100_000));
    assert!(compile_error(&long).contains("nested too deeply"));
}

#[test]
fn unreferenced_operands_are_refused_unless_argref() {
    let mut opts = CompileOptions {
        macro_args: vec!["1".into(), "b".into()],
        ..Default::default()
    };
    let src = [Source::script("m.d", "BEGIN { trace($1); }")];
    let e = compile(&src, &Catalog::default(), &DeclaredTypes::default(), &opts)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("extraneous argument 'b' ($2 is not referenced)"),
        "{e}"
    );
    opts.options.argref = true;
    assert!(compile(&src, &Catalog::default(), &DeclaredTypes::default(), &opts).is_ok());
}

#[test]
fn unknown_names_suggest_near_ones() {
    let e = compile_error("BEGIN { counter = 1; trace(countr); }");
    assert!(
        e.contains("failed to resolve countr: Unknown variable name; did you mean counter?"),
        "{e}"
    );
    let e = compile_error("BEGIN { trace(timestmp); }");
    assert!(e.contains("did you mean timestamp?"), "{e}");
    let e = compile_error("BEGIN { self->start = 1; trace(self->strt); }");
    assert!(
        e.contains(
            "failed to resolve self->strt: Unknown variable name; did you mean self->start?"
        ),
        "{e}"
    );
}
