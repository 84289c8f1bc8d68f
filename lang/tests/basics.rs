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
