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

/// Runs `metiva serve` against a test database as `role` and expects a
/// refusal naming `needle`.
async fn refuses_as(tdb: &metiva_testkit::TestDb, role: &str, needle: &str) {
    let url = metiva_testkit::url(role, &tdb.name);
    let out = tokio::task::spawn_blocking(move || metiva(&["serve"], &[("DATABASE_URL", &url)]))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_one_clear_line(&out, needle);
}

#[tokio::test]
async fn refuses_to_serve_as_a_superuser() {
    let tdb = metiva_testkit::TestDb::new().await;
    refuses_as(
        &tdb,
        "postgres",
        "refusing to serve: runtime role postgres is a superuser",
    )
    .await;
}

#[tokio::test]
async fn refuses_to_serve_as_the_table_owner() {
    let tdb = metiva_testkit::TestDb::new().await;
    refuses_as(
        &tdb,
        "metiva_owner",
        "owns (or can act as the owner of) tenant tables",
    )
    .await;
}

#[tokio::test]
async fn refuses_to_serve_as_a_bypassrls_role() {
    use diesel_async::SimpleAsyncConnection;
    let tdb = metiva_testkit::TestDb::new().await;
    let role = format!("bypass_{}", &tdb.name[2..10]);
    let mut su = tdb.connect_as("postgres").await;
    su.batch_execute(&format!(
        "CREATE ROLE {role} LOGIN BYPASSRLS; GRANT CONNECT ON DATABASE {} TO {role}; GRANT USAGE ON SCHEMA public TO {role};",
        tdb.name
    ))
    .await
    .unwrap();
    refuses_as(&tdb, &role, "has BYPASSRLS").await;
}

#[tokio::test]
async fn refuses_to_serve_as_a_member_of_a_bypassrls_role() {
    use diesel_async::SimpleAsyncConnection;
    let tdb = metiva_testkit::TestDb::new().await;
    let suffix = &tdb.name[2..10];
    let (escape, app) = (format!("escape_{suffix}"), format!("app_{suffix}"));
    let mut su = tdb.connect_as("postgres").await;
    su.batch_execute(&format!(
        "CREATE ROLE {escape} NOLOGIN BYPASSRLS; CREATE ROLE {app} LOGIN NOINHERIT IN ROLE {escape};
         GRANT CONNECT ON DATABASE {db} TO {app}; GRANT USAGE ON SCHEMA public TO {app};",
        db = tdb.name
    ))
    .await
    .unwrap();
    refuses_as(&tdb, &app, "is a member of roles that bypass RLS").await;
}

#[tokio::test]
async fn refuses_to_serve_when_a_tenant_table_lacks_rls() {
    use diesel_async::SimpleAsyncConnection;
    let tdb = metiva_testkit::TestDb::new().await;
    let mut owner = tdb.connect_as("metiva_owner").await;
    owner
        .batch_execute("CREATE SCHEMA reporting; CREATE TABLE reporting.leads_copy (company_id text, id int, PRIMARY KEY (company_id, id))")
        .await
        .unwrap();
    refuses_as(&tdb, "metiva_app", "catalog lint: reporting.leads_copy").await;
}

#[tokio::test]
async fn check_prints_one_line_per_check_and_fails_on_any_failure() {
    let tdb = metiva_testkit::TestDb::new().await;
    let good = metiva_testkit::url("metiva_app", &tdb.name);
    let out = tokio::task::spawn_blocking(move || metiva(&["check"], &[("DATABASE_URL", &good)]))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout
            .lines()
            .all(|l| l.starts_with("PASS") || l.starts_with("SKIP")),
        "{stdout}"
    );
    assert!(stdout.contains("catalog lint clean"), "{stdout}");

    let su = metiva_testkit::url("postgres", &tdb.name);
    let out = tokio::task::spawn_blocking(move || {
        metiva(
            &["check"],
            &[
                ("DATABASE_URL", &su),
                ("METIVA_ENV", "production"),
                ("METIVA_REGION", "us-east-1"),
            ],
        )
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "FAIL  METIVA_ENCRYPTION_KEY is missing",
        "FAIL  METIVA_REGION \"us-east-1\" is not a known EU region",
        "FAIL  runtime role postgres is a superuser",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

#[test]
fn seed_demo_is_refused_in_production() {
    let out = metiva(
        &["seed-demo"],
        &[
            ("METIVA_ENV", "production"),
            ("DATABASE_URL", "postgres://u@127.0.0.1:1/x"),
        ],
    );
    assert_one_clear_line(&out, "seed-demo is refused in production");
}

#[test]
fn keygen_prints_keys_that_check_accepts() {
    let out = metiva(&["keygen"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} missing in {text}"))
            .to_string()
    };
    let other = String::from_utf8_lossy(&metiva(&["keygen"], &[]).stdout).to_string();
    assert_ne!(text, other, "two runs must not print the same keys");
    let config = server::config::Config {
        encryption_key: Some(value("METIVA_ENCRYPTION_KEY")),
        token_signing_key: Some(value("METIVA_TOKEN_SIGNING_KEY")),
        region: Some("eu-central-1".into()),
        mode: server::config::Mode::Production,
        app_url: "https://app.metiva.example".into(),
        login_url: "https://login.metiva.example".into(),
        ..crate::test_config("postgres://unused@localhost/x")
    };
    let checks = server::checks::config_checks(&config);
    // Two keys, https, the database's TLS (a loopback URL), the region,
    // the metrics exposure.
    assert_eq!(checks.len(), 6);
    // Every check passes, except the metrics line, which this config
    // leaves off (a skip, not a failure).
    assert!(
        checks
            .iter()
            .all(|c| c.outcome == server::checks::Outcome::Pass
                || (c.outcome == server::checks::Outcome::Skip
                    && c.line.starts_with("metrics: off"))),
        "{checks:?}"
    );
}

/// Production refuses a remote database reached with less than
/// `verify-full`, in one line, before it opens any connection (the host
/// below does not exist: an attempt would be a different error); `metiva
/// check` names the same failure.
#[test]
fn production_refuses_a_remote_database_without_verify_full() {
    let keys = String::from_utf8_lossy(&metiva(&["keygen"], &[]).stdout).to_string();
    let value = |name: &str| {
        keys.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} missing in {keys}"))
            .to_string()
    };
    let (enc, sign) = (
        value("METIVA_ENCRYPTION_KEY"),
        value("METIVA_TOKEN_SIGNING_KEY"),
    );
    for mode in ["require", "prefer", "disable"] {
        let url = format!("postgres://metiva_app:pw@db.invalid:5432/metiva?sslmode={mode}");
        let env = [
            ("DATABASE_URL", url.as_str()),
            ("METIVA_ENV", "production"),
            ("METIVA_REGION", "eu-central-1"),
            ("METIVA_ENCRYPTION_KEY", enc.as_str()),
            ("METIVA_TOKEN_SIGNING_KEY", sign.as_str()),
            ("METIVA_APP_URL", "https://app.metiva.example"),
            ("METIVA_LOGIN_URL", "https://login.metiva.example"),
            // Past the file-store check, to the database one under test.
            ("METIVA_FILES_ALLOW_LOCAL", "1"),
        ];
        let out = metiva(&["serve"], &env);
        assert_one_clear_line(&out, &format!("sslmode={mode} for a remote host"));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("password"));
        let check = metiva(&["check"], &env);
        assert!(!check.status.success());
        let stdout = String::from_utf8_lossy(&check.stdout);
        assert!(
            stdout.contains(&format!(
                "FAIL  DATABASE_URL uses sslmode={mode} for a remote host"
            )),
            "{stdout}"
        );
    }
}

#[tokio::test]
async fn audit_verify_passes_a_clean_database_and_names_a_tampered_row() {
    use diesel_async::SimpleAsyncConnection as _;
    let tdb = metiva_testkit::TestDb::new().await;
    let mut owner = tdb.connect_as("metiva_owner").await;
    owner
        .batch_execute(
            "BEGIN; SELECT set_config('app.company_id', 'cmp_aaaaaa', true);
             INSERT INTO companies (id, name) VALUES ('cmp_aaaaaa', 'Alpha');
             INSERT INTO audit_log (company_id, action)
               SELECT 'cmp_aaaaaa', 'test.chain' FROM generate_series(1, 4);
             COMMIT;",
        )
        .await
        .unwrap();
    let env = [
        ("DATABASE_URL", tdb.app_url()),
        ("DATABASE_MIGRATION_URL", tdb.owner_url()),
    ];
    let verify = move |args: &'static [&'static str]| {
        let env = env.clone();
        tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            metiva(args, &env)
        })
    };
    let out = verify(&["audit", "verify"]).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("cmp_aaaaaa: ok, 4 row(s)"), "{stdout}");

    // A fresh database's first audit rows are ids 1 to 4, in seq order.
    let mut su = tdb.connect_as("postgres").await;
    su.batch_execute("UPDATE audit_log SET target_id = 'x' WHERE id = 2 AND seq = 2")
        .await
        .unwrap();
    let id = 2;
    for args in [
        &["audit", "verify"][..],
        &["audit", "verify", "--company", "cmp_aaaaaa"][..],
    ] {
        let out = verify(args).await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("cmp_aaaaaa: BROKEN at audit row id {id} (seq 2)")),
            "{stdout}"
        );
        assert_one_clear_line(
            &out,
            &format!("audit chain broken: cmp_aaaaaa at audit row id {id}"),
        );
    }
}
