//! The real binary in production mode: every line it writes is one JSON
//! event (time, level, target, the request span with its id), and none
//! carries a demo email, a client IP, the password or a key.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

pub const APP_URL: &str = "https://app.metiva.test";
pub const LOGIN_URL: &str = "https://login.metiva.test";

pub fn free_port() -> u16 {
    // A port handed out once in this process is never handed out again:
    // the kernel may offer a just-released port to the next bind, so two
    // servers started back to back (the second before the first has bound
    // its own) could otherwise be given the same one (seen in CI: the
    // second instance's "already in use").
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        if GIVEN.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
}

/// The runtime roles' URLs over TLS (`verify-full`), as production
/// demands; None when the run has no TLS listener.
fn tls_url(role: &str, db: &str) -> Option<String> {
    let (addr, rootcert) = metiva_testkit::tcp_setup()?;
    Some(format!(
        "postgresql://{role}:{}@{}/{db}?sslmode=verify-full&sslrootcert={rootcert}",
        metiva_testkit::TEST_PASSWORD,
        addr.replace("127.0.0.1", "localhost")
    ))
}

fn b64(k: [u8; 32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(k)
}

/// A running `metiva serve` in production mode.
pub struct Prod {
    pub child: Child,
    pub app: u16,
    pub login: u16,
    pub metrics: u16,
}

/// Seeds the demo data (development mode, bcrypt cost 4) into `tdb`.
pub fn seed(tdb: &metiva_testkit::TestDb) {
    let out = Command::new(env!("CARGO_BIN_EXE_metiva"))
        .arg("seed-demo")
        .env("DATABASE_URL", tdb.app_url())
        .env("DATABASE_MIGRATION_URL", tdb.owner_url())
        .env("METIVA_APP_URL", APP_URL)
        .env("METIVA_ENCRYPTION_KEY", b64(crate::world::ENC))
        .env("METIVA_TOKEN_SIGNING_KEY", b64(crate::world::SEED))
        .env("METIVA_BCRYPT_COST", "4")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seed-demo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts production `serve` on `tdb` (None: no TLS test listener).
pub fn start_production(tdb: &metiva_testkit::TestDb, extra: &[(&str, &str)]) -> Option<Prod> {
    let app_db = tls_url("metiva_app", &tdb.name)?;
    let login_db = tls_url("metiva_login", &tdb.name)?;
    let (app, login, metrics) = (free_port(), free_port(), free_port());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_metiva"));
    cmd.arg("serve")
        .env_remove("RUST_LOG")
        .env("METIVA_ENV", "production")
        .env("DATABASE_URL", app_db)
        .env("METIVA_LOGIN_DATABASE_URL", login_db)
        .env("METIVA_ENCRYPTION_KEY", b64(crate::world::ENC))
        .env("METIVA_TOKEN_SIGNING_KEY", b64(crate::world::SEED))
        .env("METIVA_REGION", "eu-central-1")
        .env("METIVA_APP_URL", APP_URL)
        .env("METIVA_LOGIN_URL", LOGIN_URL)
        .env("METIVA_APP_ADDR", format!("127.0.0.1:{app}"))
        .env("METIVA_LOGIN_ADDR", format!("127.0.0.1:{login}"))
        .env("METIVA_METRICS_ADDR", format!("127.0.0.1:{metrics}"))
        .env("METIVA_TRUSTED_PROXY_HOPS", "1")
        // Invoice PDFs on the local filesystem (issue 17).
        .env("METIVA_FILES_ALLOW_LOCAL", "1")
        .env(
            "METIVA_DATA_DIR",
            metiva_testkit::scratch_dir("prod")
                .to_string_lossy()
                .as_ref(),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut p = Prod {
        child: cmd.spawn().unwrap(),
        app,
        login,
        metrics,
    };
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(60) {
        if http(p.app, "GET", "/readyz", &[], "").0 == 200 {
            return Some(p);
        }
        if let Ok(Some(status)) = p.child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = p.child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("metiva exited before ready ({status}): {err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = p.child.kill();
    panic!("not ready within 60 s");
}

/// SIGTERM, then everything it wrote: (stdout, stderr).
pub fn stop(p: Prod) -> (String, String) {
    let ok = Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -TERM");
    let out = p.child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A minimal HTTP/1.1 request: (status, head, body).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new(), String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new(), String::new());
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    let (head, body) = buf.split_once("\r\n\r\n").unwrap_or((&buf, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// A header's value in a response head (case-insensitive name).
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A cookie's value from the response's Set-Cookie headers.
fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.trim().eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| v.trim().strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
}

/// Signs in as `email` through both services over HTTP (the dashboard's
/// redirect, the login form, the workspace choice, the callback): the
/// token cookie's value.
pub fn sign_in(p: &Prod, email: &str, company: &str, client_ip: &str) -> String {
    let xff = [("X-Forwarded-For", client_ip)];
    let (st, head, _) = http(p.app, "GET", "/", &xff, "");
    assert_eq!(st, 303, "{head}");
    let state_cookie = set_cookie(&head, "__Host-metiva_state").unwrap();
    let location = header(&head, "location").unwrap().to_string();
    let return_to = crate::world::param(&location, "return_to");
    let state = crate::world::param(&location, "state");
    let form = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", server::http::ui::qs(v)))
            .collect::<Vec<_>>()
            .join("&")
    };
    let ct = ("Content-Type", "application/x-www-form-urlencoded");
    let (st, head, body) = http(
        p.login,
        "POST",
        "/login",
        &[ct, xff[0]],
        &form(&[
            ("email", email),
            ("password", metiva_db::seed::DEMO_PASSWORD),
            ("return_to", &return_to),
            ("state", &state),
        ]),
    );
    let login_cookie =
        set_cookie(&head, "__Host-metiva_login").unwrap_or_else(|| panic!("{head}{body}"));
    let callback = if st == 303 {
        header(&head, "location").unwrap().to_string()
    } else {
        let cookie = format!("__Host-metiva_login={login_cookie}");
        let (st, head, body) = http(
            p.login,
            "POST",
            "/choose",
            &[ct, xff[0], ("Cookie", &cookie)],
            &form(&[
                ("choice", company),
                ("return_to", &return_to),
                ("state", &state),
            ]),
        );
        assert_eq!(st, 303, "{head}{body}");
        header(&head, "location").unwrap().to_string()
    };
    let path = callback.strip_prefix(APP_URL).unwrap().to_string();
    let cookie = format!("__Host-metiva_state={state_cookie}");
    let (st, head, _) = http(p.app, "GET", &path, &[xff[0], ("Cookie", &cookie)], "");
    assert_eq!(st, 303, "{head}");
    set_cookie(&head, "__Host-metiva_session").unwrap()
}

#[tokio::test]
async fn production_logs_are_json_lines_without_personal_data() {
    let tdb = metiva_testkit::TestDb::new().await;
    let t = tdb.clone();
    tokio::task::spawn_blocking(move || seed(&t)).await.unwrap();
    let Some(p) = start_production(&tdb, &[]) else {
        println!("SKIPPED: no TLS test listener (METIVA_TEST_PG_TCP); run under cargo xtask test");
        return;
    };
    let (stdout, stderr) = tokio::task::spawn_blocking(move || {
        let token = sign_in(&p, "owner@devries.example", "cmp_8fa2c1", "203.0.113.77");
        // A page in the workspace: the request span gets its company.
        let cookie = format!("__Host-metiva_session={token}");
        let (st, _, _) = http(p.app, "GET", "/persons.csv", &[("Cookie", &cookie)], "");
        assert_eq!(st, 200);
        // A failed sign-in for another demo user.
        let (st, _, _) = http(
            p.login,
            "POST",
            "/login",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("X-Forwarded-For", "203.0.113.78"),
            ],
            "email=finance%40devries.example&password=not-the-password&return_to=https%3A%2F%2Fapp.metiva.test%2F&state=abcdefghijklmnopqrstuvwx",
        );
        assert!(st == 200 || st == 401 || st == 400, "{st}");
        // Ingest: accepted, and refused for an unknown site.
        let body = format!(
            r#"{{"type":"pageview","site":"{}","path":"/contact","referrer":"www.google.com","visitor":null}}"#,
            metiva_db::seed::OPERATOR_SITE_KEY
        );
        for _ in 0..3 {
            let (st, head, b) = http(
                p.app,
                "POST",
                "/collect",
                &[("Origin", APP_URL), ("X-Forwarded-For", "198.51.100.23")],
                &body,
            );
            assert_eq!(st, 204, "{head}{b}");
        }
        let (st, _, _) = http(
            p.app,
            "POST",
            "/collect",
            &[("Origin", APP_URL), ("X-Forwarded-For", "198.51.100.23")],
            r#"{"type":"pageview","site":"pk_nope","path":"/","visitor":null}"#,
        );
        assert!(st == 400 || st == 404, "{st}");
        stop(p)
    })
    .await
    .unwrap();

    let mut requests = 0;
    let mut with_company = 0;
    // stdout: nothing but JSON either (the job worker's start is a log
    // event in production, like the listeners').
    assert!(
        stderr.contains("metiva job worker started"),
        "no worker start event"
    );
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "{line}"
        );
    }
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        for field in ["timestamp", "level", "target"] {
            assert!(v.get(field).is_some(), "{field} missing: {line}");
        }
        if v["message"] == "request" {
            requests += 1;
            let span = v["spans"]
                .as_array()
                .and_then(|s| s.iter().find(|s| s["name"] == "request"))
                .unwrap_or_else(|| panic!("no request span: {line}"));
            assert!(
                span["request_id"].as_str().is_some_and(|r| r.len() == 36),
                "{line}"
            );
            assert!(span["route"].is_string(), "{line}");
            if span["company_id"] == "cmp_8fa2c1" {
                with_company += 1;
            }
        }
    }
    assert!(requests >= 4, "request lines: {stderr}");
    assert!(
        with_company >= 1,
        "no line with the bound company: {stderr}"
    );
    let secrets = [
        "@devries.example".to_string(),
        "@brouwer.example".to_string(),
        "203.0.113.77".to_string(),
        "203.0.113.78".to_string(),
        "198.51.100.23".to_string(),
        "203.0.113".to_string(),
        "198.51.100".to_string(),
        metiva_db::seed::DEMO_PASSWORD.to_string(),
        "not-the-password".to_string(),
        b64(crate::world::ENC),
        b64(crate::world::SEED),
        metiva_testkit::TEST_PASSWORD.to_string(),
        "/contact".to_string(),
    ];
    for s in &secrets {
        assert!(
            !stderr.contains(s.as_str()),
            "{s} appears in the logs:\n{stderr}"
        );
        assert!(!stdout.contains(s.as_str()), "{s} on stdout:\n{stdout}");
    }
}
