//! Stopping the `metiva serve` a benchmark started.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// SIGTERM (metiva drains and stops its embedded cluster), up to 30 s
/// for it to exit, then SIGKILL.
pub(crate) fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
