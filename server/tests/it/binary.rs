//! The real binary's startup errors: one clear line, a non-zero exit, no
//! panic and no backtrace.

use std::process::{Command, Output};

fn metiva(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_metiva"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env("METIVA_APP_ADDR", "127.0.0.1:0")
        .env("METIVA_LOGIN_ADDR", "127.0.0.1:0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| panic!("run metiva: {e}"))
}

fn assert_one_clear_line(out: &Output, needle: &str) {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("metiva: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "stderr: {stderr}");
    assert!(
        errors.first().is_some_and(|l| l.contains(needle)),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    assert!(!stderr.contains("backtrace"), "stderr: {stderr}");
}

#[test]
fn help_lists_the_commands() {
    let out = metiva(&["--help"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["serve", "migrate"] {
        assert!(text.contains(cmd), "{text}");
    }
}

#[test]
fn malformed_database_url() {
    assert_one_clear_line(
        &metiva(&["serve"], &[("DATABASE_URL", "mysql://nope")]),
        "DATABASE_URL",
    );
    assert_one_clear_line(
        &metiva(
            &["serve"],
            &[("DATABASE_URL", "postgres://u@h:notaport/db")],
        ),
        "DATABASE_URL is malformed",
    );
}

#[test]
fn unreachable_database() {
    // Port 1 on loopback: nothing listens there.
    let out = metiva(
        &["serve"],
        &[("DATABASE_URL", "postgres://metiva_app@127.0.0.1:1/metiva")],
    );
    assert_one_clear_line(&out, "unreachable");
}

#[test]
fn missing_postgres_binaries() {
    let dir = metiva_testkit::scratch_dir("nobin");
    let out = metiva(
        &["serve"],
        &[
            ("METIVA_PG_BIN", "/nonexistent"),
            ("METIVA_DATA_DIR", &dir.to_string_lossy()),
        ],
    );
    assert_one_clear_line(&out, "apt-get install -y postgresql");
}

#[test]
fn port_in_use() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = busy
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .to_string();
    let out = metiva(
        &["serve"],
        &[
            ("METIVA_APP_ADDR", &addr),
            ("DATABASE_URL", "postgres://u@127.0.0.1:1/x"),
        ],
    );
    assert_one_clear_line(&out, "already in use");
}

#[test]
fn unknown_command_exits_2() {
    let out = metiva(&["frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn production_requires_a_database_url() {
    assert_one_clear_line(
        &metiva(&["serve"], &[("METIVA_ENV", "production")]),
        "DATABASE_URL is required",
    );
}
