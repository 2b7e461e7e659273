//! The real binary with the embedded default: cold start, a second
//! instance on the same directory refused, SIGTERM drains and stops the
//! embedded PostgreSQL cleanly, and the data persists across restarts.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

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

/// A minimal HTTP/1.1 GET over a raw socket: the status code, or None.
fn get_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}

/// Waits for `/readyz`; if the instance exits first (a port taken by
/// another test, a refusal), fails with what it said.
fn wait_ready(instance: &mut Instance, within: Duration) -> Duration {
    let t = Instant::now();
    while t.elapsed() < within {
        if get_status(instance.app, "/readyz") == Some(200) {
            return t.elapsed();
        }
        if let Ok(Some(status)) = instance.child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = instance.child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("metiva exited before ready ({status}): {err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("not ready within {within:?}");
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -TERM failed");
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
