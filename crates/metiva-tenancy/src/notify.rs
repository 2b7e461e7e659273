//! Cross-instance cache invalidation: one `LISTEN metiva_cache` connection
//! per pool handle (shared by its clones), fanned out to the caches that
//! subscribe. The triggers of migrations `token_signing_keys` and
//! `cache_notify` send `pg_notify('metiva_cache', '<cache>')` in the
//! changing transaction, so instance B hears of instance A's change at
//! A's COMMIT.
//!
//! # Security
//! - The bus is only trusted while the listener is connected, LISTENing
//!   and has heard its own probe: every 5 s a `NOTIFY` sent on a second
//!   connection (on the pool's URL) must reach it within 2 s. Behind a
//!   transaction-mode pooler (PgBouncer), where LISTEN and NOTIFY may land
//!   on different server connections and nothing is delivered, the probe
//!   fails and the bus stays untrusted: every cache then falls back to its
//!   short TTL (or bypasses itself), never to a long one.
//! - Subscribers see [`CacheEvent::Lost`] before a reconnect and
//!   [`CacheEvent::Connected`] after it, and drop everything on both: a
//!   change missed while the listener was down is never served.
//! - Operators point the listener at the server itself (or a pooler in
//!   session mode) with `DATABASE_LISTEN_URL`; it falls back to
//!   `DATABASE_URL`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use crate::Database;

/// The notification channel of the cache triggers.
pub const CACHE_CHANNEL: &str = "metiva_cache";

/// Payload prefix of the listener's own liveness probe.
const PROBE: &str = "probe:";

/// What a subscriber hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheEvent {
    /// The listener is up and proven (drop everything, then trust).
    Connected,
    /// The listener is down or unproven (drop everything, stop trusting).
    Lost,
    /// `pg_notify('metiva_cache', payload)`: the named cache changed.
    Changed(String),
}

type Subscriber = Arc<dyn Fn(&CacheEvent) + Send + Sync>;

/// The fan-out of one listener connection.
pub struct CacheBus {
    subscribers: RwLock<Vec<Subscriber>>,
    trusted: AtomicBool,
    /// Notifications received (tests and metrics).
    received: AtomicU64,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for CacheBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheBus")
            .field("trusted", &self.is_trusted())
            .finish_non_exhaustive()
    }
}

impl Drop for CacheBus {
    fn drop(&mut self) {
        if let Ok(mut t) = self.task.lock()
            && let Some(t) = t.take()
        {
            t.abort();
        }
    }
}

impl CacheBus {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            subscribers: RwLock::new(Vec::new()),
            trusted: AtomicBool::new(false),
            received: AtomicU64::new(0),
            task: std::sync::Mutex::new(None),
        })
    }

    /// True only while the listener is connected and its probe came back.
    pub fn is_trusted(&self) -> bool {
        self.trusted.load(Ordering::SeqCst)
    }

    /// Notifications heard so far (probes excluded).
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Calls `f` for every event from now on. `f` runs on the listener's
    /// task: keep it short and non-blocking.
    pub fn subscribe(&self, f: impl Fn(&CacheEvent) + Send + Sync + 'static) {
        if let Ok(mut subs) = self.subscribers.write() {
            subs.push(Arc::new(f));
        }
    }

    fn publish(&self, event: &CacheEvent) {
        match event {
            CacheEvent::Lost => self.trusted.store(false, Ordering::SeqCst),
            CacheEvent::Changed(_) => {
                self.received.fetch_add(1, Ordering::Relaxed);
            }
            CacheEvent::Connected => {}
        }
        let subs: Vec<Subscriber> = self
            .subscribers
            .read()
            .map(|s| s.clone())
            .unwrap_or_default();
        for s in subs {
            s(event);
        }
        // Trusted only after every subscriber dropped what it held.
        if *event == CacheEvent::Connected {
            self.trusted.store(true, Ordering::SeqCst);
        }
    }
}

impl Database {
    /// The cache bus of this pool handle (its clones share it); the first
    /// call starts its listener on the current Tokio runtime.
    pub fn cache_bus(&self) -> Arc<CacheBus> {
        let bus = self.bus.get_or_init(CacheBus::new).clone();
        if let Ok(mut task) = bus.task.lock()
            && task
                .as_ref()
                .is_none_or(tokio::task::JoinHandle::is_finished)
        {
            *task = Some(tokio::spawn(run(
                self.listen_url().clone(),
                self.url().clone(),
                Arc::downgrade(&bus),
            )));
        }
        bus
    }
}

/// Reconnects with backoff for as long as the bus lives.
async fn run(url: crate::DbUrl, pool_url: crate::DbUrl, bus: Weak<CacheBus>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match listen_once(&url, &pool_url, &bus).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!("cache listener: {e}; caches fall back to their short TTLs");
            }
        }
        let Some(b) = bus.upgrade() else { return };
        // Only a trusted bus has anything to take back: while untrusted
        // the caches already keep to their short TTLs.
        if b.is_trusted() {
            backoff = Duration::from_millis(100);
            b.publish(&CacheEvent::Lost);
        }
        drop(b);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One connection's life. `Ok` only when the bus is gone.
async fn listen_once(
    url: &crate::DbUrl,
    pool_url: &crate::DbUrl,
    bus: &Weak<CacheBus>,
) -> Result<(), String> {
    use futures::StreamExt as _;
    let mut config = url.config().clone();
    config.application_name("metiva-cache-listener");
    config.connect_timeout(Duration::from_secs(5));
    let (client, mut connection) = url
        .client(&config)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(msg) = messages.next().await {
            match msg {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_string()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let _abort_driver = AbortOnDrop(driver);
    // The probe's sender: a connection of its own on the pool's URL, the
    // path real notifications take (through a pooler, if there is one).
    // Security: a probe sent on the listener's own connection could come
    // back even through a transaction-mode pooler (same backend, same
    // client); from another connection it reaches the listener only when
    // the listener truly holds a LISTENing session.
    let mut probe_config = pool_url.config().clone();
    probe_config.application_name("metiva-cache-probe");
    probe_config.connect_timeout(Duration::from_secs(5));
    let (prober, probe_connection) = pool_url
        .client(&probe_config)
        .await
        .map_err(|e| format!("probe connect: {e}"))?;
    let _abort_prober = AbortOnDrop(tokio::spawn(async move {
        let _ = probe_connection.await;
    }));
    client
        .batch_execute(&format!("LISTEN {CACHE_CHANNEL}"))
        .await
        .map_err(|e| format!("LISTEN: {e}"))?;
    let mut trusted = false;
    loop {
        // Probe: NOTIFY ourselves and wait for it (see the module docs).
        let token = format!("{PROBE}{}", uuid::Uuid::new_v4().simple());
        prober
            .batch_execute(&format!("NOTIFY {CACHE_CHANNEL}, '{token}'"))
            .await
            .map_err(|e| format!("probe NOTIFY: {e}"))?;
        let deadline = tokio::time::sleep(Duration::from_secs(2));
        tokio::pin!(deadline);
        let mut heard = false;
        while !heard {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(p) if p == token => heard = true,
                    Some(p) if p.starts_with(PROBE) => {}
                    Some(p) => dispatch(bus, trusted, p)?,
                    None => return Err("listener connection closed".into()),
                },
                () = &mut deadline => break,
            }
        }
        if !heard {
            return Err("the listener's own NOTIFY did not come back within 2 s (a transaction-mode pooler?)".into());
        }
        if !trusted {
            let Some(b) = bus.upgrade() else {
                return Ok(());
            };
            b.publish(&CacheEvent::Connected);
            trusted = true;
            tracing::debug!("cache listener connected");
        }
        // Between probes: deliver notifications as they come.
        let next_probe = tokio::time::sleep(Duration::from_secs(5));
        tokio::pin!(next_probe);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(p) if p.starts_with(PROBE) => {}
                    Some(p) => dispatch(bus, trusted, p)?,
                    None => return Err("listener connection closed".into()),
                },
                () = &mut next_probe => break,
            }
        }
    }
}

/// Hands a notification to the bus; `Ok` keeps listening.
fn dispatch(bus: &Weak<CacheBus>, trusted: bool, payload: String) -> Result<(), String> {
    // Before the first probe came back the subscribers are told
    // `Connected` anyway (and drop everything then).
    if !trusted {
        return Ok(());
    }
    match bus.upgrade() {
        Some(b) => {
            b.publish(&CacheEvent::Changed(payload));
            Ok(())
        }
        None => Err("the cache bus is gone".into()),
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
