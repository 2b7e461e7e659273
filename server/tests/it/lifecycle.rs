//! The real binary with the embedded default: cold start, a second
//! instance on the same directory refused, SIGTERM drains and stops the
//! embedded PostgreSQL cleanly, and the data persists across restarts.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::process::{self, free_port, http, signal};

struct Instance {
    child: Child,
    app: u16,
}

fn start(data_dir: &std::path::Path) -> Instance {
    let (app, login) = (free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_metiva"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("METIVA_DATA_DIR", data_dir)
        .env("METIVA_APP_ADDR", format!("127.0.0.1:{app}"))
        .env("METIVA_LOGIN_ADDR", format!("127.0.0.1:{login}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn metiva: {e}"));
    Instance { child, app }
}

/// `GET path`: the status code, or None when nothing answered.
fn get_status(port: u16, path: &str) -> Option<u16> {
    match http(port, "GET", path, &[], "").0 {
        0 => None,
        status => Some(status),
    }
}

/// Waits for `/readyz`; if the instance exits first (a port taken by
/// another test, a refusal), fails with what it said.
fn wait_ready(instance: &mut Instance, within: Duration) -> Duration {
    process::wait_ready(&mut instance.child, instance.app, within, None)
}

fn sigterm(child: &Child) {
    signal(child, "-TERM");
}

#[test]
fn embedded_default_lifecycle() {
    let dir = metiva_testkit::scratch_dir("lifecycle");
    let mut first = start(&dir);
    let cold = wait_ready(&mut first, Duration::from_secs(60));
    println!("embedded cold start to ready: {} ms", cold.as_millis());
    assert_eq!(get_status(first.app, "/healthz"), Some(200));

    // A second instance on the same directory is refused, clearly, and
    // the first keeps serving.
    let second = start(&dir);
    let out = second
        .child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("already using the embedded database"),
        "{stderr}"
    );
    assert_eq!(get_status(first.app, "/readyz"), Some(200));

    // SIGTERM: drains, stops PostgreSQL, exits 0.
    sigterm(&first.child);
    let status = first.child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}");
    assert!(
        !dir.join("pgdata/postmaster.pid").exists(),
        "the embedded PostgreSQL is still running after shutdown"
    );

    // Restart on the same directory: a warm start, and the data is there.
    let mut again = start(&dir);
    let warm = wait_ready(&mut again, Duration::from_secs(60));
    println!("embedded warm start to ready: {} ms", warm.as_millis());
    sigterm(&again.child);
    assert!(
        again
            .child
            .wait()
            .unwrap_or_else(|e| panic!("{e}"))
            .success()
    );
    assert!(
        dir.join("pgdata/PG_VERSION").is_file(),
        "data directory persists"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
