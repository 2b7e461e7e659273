//! Graceful shutdown: SIGTERM or Ctrl-C flips one watch channel that every
//! listener awaits, so in-flight requests drain before the process exits.

use tokio::sync::watch;

#[derive(Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

impl Shutdown {
    /// Installs the signal handlers and returns the shared signal.
    pub fn install() -> anyhow::Result<Self> {
        let (tx, rx) = watch::channel(false);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received, draining"),
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupt received, draining"),
            }
            let _ = tx.send(true);
        });
        Ok(Self { rx })
    }

    /// Resolves once shutdown has been requested.
    pub async fn requested(mut self) {
        let _ = self.rx.wait_for(|stop| *stop).await;
    }
}
