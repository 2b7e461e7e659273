//! The real `metiva` binary as a child process: signalling it, waiting
//! for it to be ready or to exit. Shared by the tests that start it
//! (`lifecycle`, `jobs_process`, `two_instances`); raw HTTP and free
//! ports come from `logs`.

use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

pub use crate::logs::{free_port, http};

/// Sends `sig` (as `kill` spells it: `-TERM`, `-KILL`) to `child` only.
pub fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} failed");
}

/// Waits for `child` to exit; fails after `within`.
pub async fn exit_within(child: &mut Child, within: Duration) -> ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(t.elapsed() < within, "still running after {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the child wrote to stderr: its pipe when piped, else `log`.
fn what_it_said(child: &mut Child, log: Option<&Path>) -> String {
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    if let Some(log) = log {
        err.push_str(&std::fs::read_to_string(log).unwrap_or_default());
    }
    err
}

/// Polls `GET /readyz` on `port` until it answers 200: the time it took.
/// If the child exits first (a port taken by another test, a refusal),
/// fails with what it said (its piped stderr, or the `log` file).
pub fn wait_ready(child: &mut Child, port: u16, within: Duration, log: Option<&Path>) -> Duration {
    let t = Instant::now();
    while t.elapsed() < within {
        if http(port, "GET", "/readyz", &[], "").0 == 200 {
            return t.elapsed();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "metiva exited before ready ({status}): {}",
                what_it_said(child, log)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("not ready within {within:?}: {}", what_it_said(child, log));
}

/// `METIVA_DB_STATEMENT_CACHE` for a spawned `metiva`: as the suite's own
/// pools (off through a transaction-mode pooler, where a named statement
/// may not exist on the next transaction's server connection).
pub(crate) fn statement_cache() -> &'static str {
    if metiva_testkit::pool_settings().statement_cache {
        "on"
    } else {
        "off"
    }
}
