//! bcrypt runs on its own small pool of OS threads at the lowest CPU
//! priority (nice 19).
//!
//! # Security
//! Password hashing is deliberately expensive. On a small machine a burst
//! of sign-ins (or an attacker's flood) would otherwise take every core
//! from the dashboard and the database. At nice 19 the scheduler runs
//! these threads only in the gaps: every other request preempts them, so
//! sign-ins slow down under load instead of everything else. The pool is
//! bounded (one thread per core) and callers queue for it.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// SCHED_IDLE where available: the kernel preempts such a thread at once
/// for any ordinary one waking on its core, and counts its core as free
/// when placing work. Falls back to nice 19.
fn lower_priority() {
    use thread_priority::unix::{
        NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
        thread_native_id,
    };
    let idle = set_thread_priority_and_policy(
        thread_native_id(),
        thread_priority::ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    );
    if idle.is_err()
        && let Err(e) =
            thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    {
        tracing::warn!("could not lower the bcrypt thread's priority: {e:?}");
    }
}

/// A fixed pool of low-priority threads for CPU-bound password work.
#[derive(Clone)]
pub struct BcryptPool {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for BcryptPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BcryptPool")
    }
}

impl BcryptPool {
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("metiva-bcrypt-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Self { tx })
    }

    /// Runs `f` on the pool; `None` if the pool is gone.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        self.tx.send(job).ok()?;
        result.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_at_the_lowest_priority() {
        let pool = BcryptPool::new(2).unwrap();
        // The kernel's view: fields 19 (`nice`) and 41 (`policy`) of
        // /proc/thread-self/stat. SCHED_IDLE is policy 5.
        let (nice, policy) = pool
            .run(|| {
                let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
                let fields: Vec<i64> = stat
                    .rsplit_once(')')
                    .unwrap()
                    .1
                    .split_whitespace()
                    .skip(1)
                    .map(|f| f.parse().unwrap_or(-1))
                    .collect();
                (fields[15], fields[37])
            })
            .await
            .unwrap();
        assert!(policy == 5 || nice == 19, "nice {nice}, policy {policy}");
        let sum = pool.run(|| (1..=10).sum::<u32>()).await;
        assert_eq!(sum, Some(55));
    }
}
