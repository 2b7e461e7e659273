//! Access: turning a verified token's claims into a [`TenantCtx`], with a
//! membership cache that every instance keeps honest.
//!
//! # Security
//! - A `TenantCtx` can only be built here, from a row that says the user
//!   holds an *active* membership of an *active* company through a
//!   session that is neither revoked nor expired. There is no other
//!   constructor, so no request code can invent a tenant.
//! - The cache is an optimisation that must never widen access:
//!   * every change that narrows access (role, status, removal, session
//!     revocation, company suspension) fires `NOTIFY metiva_access` in the
//!     changing transaction, and every instance's listener drops its whole
//!     cache when it arrives;
//!   * while the listener connection is down (or not yet up) the cache is
//!     bypassed entirely, and it starts empty when the listener returns;
//!   * a lookup that raced an invalidation is not cached (generation
//!     counter), and entries expire after a short TTL as a safety net.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::Text;
use metiva_roles::{Permission, Role};
use uuid::Uuid;

use crate::tenant::Mode;
use crate::{CompanyId, Database, DbError, TenantConn};

/// The notification channel the access-change triggers use.
pub const ACCESS_CHANNEL: &str = "metiva_access";

/// Who is asking, in which workspace, with which role: the only source of
/// a request's tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCtx {
    company: CompanyId,
    company_name: String,
    user_id: Uuid,
    role: Role,
    session_id: Uuid,
}

impl TenantCtx {
    pub fn company(&self) -> &CompanyId {
        &self.company
    }
    pub fn company_name(&self) -> &str {
        &self.company_name
    }
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn session_id(&self) -> Uuid {
        self.session_id
    }
    pub fn can(&self, p: Permission) -> bool {
        self.role.can(p)
    }

    fn access(&self) -> crate::tenant::Access {
        crate::tenant::Access {
            user: self.user_id,
            session: self.session_id,
            role: self.role.key(),
        }
    }
}

#[derive(QueryableByName)]
struct Binding {
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Text)]
    company_name: String,
}

impl Database {
    /// Resolves verified claims to a [`TenantCtx`], in one read-only
    /// transaction under the claimed company's tenant context. `None` when
    /// the membership, the company or the session is not active.
    pub async fn resolve_access(
        &self,
        company: &CompanyId,
        user_id: Uuid,
        session_id: Uuid,
    ) -> Result<Option<TenantCtx>, DbError> {
        use diesel_async::RunQueryDsl as _;
        let found = self
            .run(
                company,
                None,
                Mode::Read,
                async |tc: &mut TenantConn<'_>| {
                    // Raw SQL: the same conditions as `metiva_assert_access`
                    // (migration 000051, three key lookups there), which
                    // re-asserts them inside every request's transaction;
                    // change both together.
                    let rows: Vec<Binding> = diesel::sql_query(
                        "SELECT m.role, c.name AS company_name
                     FROM memberships m
                     JOIN companies c ON c.id = m.company_id
                     JOIN sessions s ON s.id = $2 AND s.user_id = m.user_id
                     WHERE m.user_id = $1 AND m.status = 'active' AND c.status = 'active'
                       AND s.revoked_at IS NULL AND s.expires_at > now()",
                    )
                    .bind::<diesel::sql_types::Uuid, _>(user_id)
                    .bind::<diesel::sql_types::Uuid, _>(session_id)
                    .load(tc.conn())
                    .await?;
                    Ok(rows.into_iter().next())
                },
            )
            .await?;
        let Some(b) = found else { return Ok(None) };
        // Fail closed: a role the registry does not know grants nothing.
        let role = Role::parse(&b.role)
            .map_err(|_| DbError::Internal(format!("unknown role {:?} in memberships", b.role)))?;
        Ok(Some(TenantCtx {
            company: company.clone(),
            company_name: b.company_name,
            user_id,
            role,
            session_id,
        }))
    }

    /// Runs `f` in one read-write transaction bound to the context's
    /// company (see the crate docs). The transaction first re-asserts
    /// the context's access, in the same round trip; if it changed since
    /// the guard resolved it, nothing runs and the answer is
    /// [`DbError::AccessRevoked`].
    pub async fn in_tenant<T, F>(&self, ctx: &TenantCtx, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(&ctx.company, Some(&ctx.access()), Mode::Write, f)
            .await
    }

    /// Runs `f` in one read-only transaction bound to the context's
    /// company, re-asserting its access first (see [`Database::in_tenant`]).
    pub async fn in_tenant_read<T, F>(&self, ctx: &TenantCtx, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(&ctx.company, Some(&ctx.access()), Mode::Read, f)
            .await
    }

    /// As [`Database::in_tenant_read`], in one `REPEATABLE READ` snapshot:
    /// for pages whose counts and lists must agree.
    pub async fn in_tenant_snapshot<T, F>(&self, ctx: &TenantCtx, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(&ctx.company, Some(&ctx.access()), Mode::Snapshot, f)
            .await
    }
}

type Key = (CompanyId, Uuid, Uuid);

/// Cache statistics, for tests and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub invalidations: u64,
}

/// Resolved memberships, shared by one instance's requests.
pub struct AccessCache {
    entries: Mutex<HashMap<Key, (TenantCtx, Instant)>>,
    /// True only while the listener is connected and LISTENing.
    trusted: AtomicBool,
    generation: AtomicU64,
    ttl: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
}

impl std::fmt::Debug for AccessCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessCache")
            .field("trusted", &self.is_trusted())
            .field("stats", &self.stats())
            .finish()
    }
}

impl AccessCache {
    /// An empty, untrusted cache (it is bypassed until a listener runs).
    pub fn new(ttl: Duration) -> Arc<Self> {
        Arc::new(Self {
            entries: Mutex::new(HashMap::new()),
            trusted: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
        })
    }

    pub fn is_trusted(&self) -> bool {
        self.trusted.load(Ordering::SeqCst)
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
        }
    }

    /// Drops one user's entries (after a request found its access changed).
    pub fn forget(&self, company: &CompanyId, user_id: Uuid) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut map) = self.entries.lock() {
            map.retain(|(c, u, _), _| !(c == company && *u == user_id));
        }
    }

    /// Drops every entry; lookups in flight will not store their answer.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    fn set_trusted(&self, trusted: bool) {
        // Untrust first, then clear; on reconnect clear first, then trust:
        // a change missed while the listener was down is never served.
        if !trusted {
            self.trusted.store(false, Ordering::SeqCst);
        }
        self.invalidate_all();
        if trusted {
            self.trusted.store(true, Ordering::SeqCst);
        }
    }

    /// Resolves through the cache when it can be trusted, else straight
    /// from the database.
    pub async fn resolve(
        &self,
        db: &Database,
        company: &CompanyId,
        user_id: Uuid,
        session_id: Uuid,
    ) -> Result<Option<TenantCtx>, DbError> {
        let key = (company.clone(), user_id, session_id);
        if self.is_trusted()
            && let Ok(map) = self.entries.lock()
            && let Some((ctx, at)) = map.get(&key)
            && at.elapsed() < self.ttl
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(ctx.clone()));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let generation = self.generation.load(Ordering::SeqCst);
        let ctx = db.resolve_access(company, user_id, session_id).await?;
        // Only grants are cached; a refusal is looked up again next time.
        let Some(found) = &ctx else { return Ok(None) };
        if self.is_trusted()
            && self.generation.load(Ordering::SeqCst) == generation
            && let Ok(mut map) = self.entries.lock()
            // Re-check under the lock: an invalidation between the load
            // above and here must win.
            && self.generation.load(Ordering::SeqCst) == generation
        {
            if map.len() > 100_000 {
                map.clear();
            }
            map.insert(key, (found.clone(), Instant::now()));
        }
        Ok(ctx)
    }
}

/// Keeps `cache` honest for as long as the returned handle lives: a task
/// that LISTENs on [`ACCESS_CHANNEL`] with a connection of its own,
/// reconnects with backoff, and self-checks: the cache is trusted only
/// once a probe `NOTIFY`, sent from a second connection on the pool's
/// URL (the path real changes take), has come back to the listener, and
/// again every 5 s (within 2 s) for as long as it stays trusted.
///
/// # Security
/// A listener that is connected and answers queries can still be deaf:
/// LISTEN behind a transaction-mode pooler, or `DATABASE_LISTEN_URL`
/// naming another database (notifications are per database). A plain
/// `SELECT 1` would call that healthy and the cache would keep revoked
/// access for its whole TTL; the probe round trip fails instead, and the
/// cache is bypassed (every request asks the database) until it passes.
pub fn spawn_access_listener(db: &Database, cache: Arc<AccessCache>) -> ListenerHandle {
    let url = db.listen_url().clone();
    let pool_url = db.url().clone();
    let task = tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let e = listen_once(&url, &pool_url, &cache).await;
            tracing::warn!("access listener: {e}; bypassing the membership cache");
            // A listener that had proven itself reconnects at once.
            if cache.is_trusted() {
                backoff = Duration::from_millis(100);
            }
            cache.set_trusted(false);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    });
    ListenerHandle { task }
}

/// Stops the listener when dropped.
#[derive(Debug)]
pub struct ListenerHandle {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Payload prefix of the listener's own probe (ignored by every other
/// instance's listener: a probe is not a change).
const PROBE: &str = "probe:";

async fn listen_once(url: &crate::DbUrl, pool_url: &crate::DbUrl, cache: &AccessCache) -> String {
    match listen_until_failure(url, pool_url, cache).await {
        Err(e) => e,
    }
}

/// One connection's life; it only ends in failure.
async fn listen_until_failure(
    url: &crate::DbUrl,
    pool_url: &crate::DbUrl,
    cache: &AccessCache,
) -> Result<std::convert::Infallible, String> {
    use futures::StreamExt as _;
    let mut config = url.config().clone();
    config.application_name("metiva-access-listener");
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
        // Dropping `tx` tells the loop below the connection is gone.
    });
    let _abort_driver = AbortOnDrop(driver);
    // The probe's sender: a connection of its own on the pool's URL (see
    // `spawn_access_listener`; a probe sent on the listener's own
    // connection could come back even through a transaction pooler).
    let mut probe_config = pool_url.config().clone();
    probe_config.application_name("metiva-access-probe");
    probe_config.connect_timeout(Duration::from_secs(5));
    let (prober, probe_connection) = pool_url
        .client(&probe_config)
        .await
        .map_err(|e| format!("probe connect: {e}"))?;
    let _abort_prober = AbortOnDrop(tokio::spawn(async move {
        let _ = probe_connection.await;
    }));
    client
        .batch_execute(&format!("LISTEN {ACCESS_CHANNEL}"))
        .await
        .map_err(|e| format!("LISTEN: {e}"))?;
    loop {
        let token = format!("{PROBE}{}", Uuid::new_v4().simple());
        prober
            .batch_execute(&format!("NOTIFY {ACCESS_CHANNEL}, '{token}'"))
            .await
            .map_err(|e| format!("probe NOTIFY: {e}"))?;
        let deadline = tokio::time::sleep(Duration::from_secs(2));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(p) if p == token => break,
                    Some(p) if p.starts_with(PROBE) => {}
                    Some(_) => cache.invalidate_all(),
                    None => return Err("listener connection closed".into()),
                },
                () = &mut deadline => {
                    return Err("the listener's probe did not come back within 2 s (a transaction-mode pooler, or another database?)".into());
                }
            }
        }
        if !cache.is_trusted() {
            // Clears, then trusts: nothing from before the proof is served.
            cache.set_trusted(true);
            tracing::debug!("access listener connected");
        }
        let next_probe = tokio::time::sleep(Duration::from_secs(5));
        tokio::pin!(next_probe);
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(p) if p.starts_with(PROBE) => {}
                    Some(_) => cache.invalidate_all(),
                    None => return Err("listener connection closed".into()),
                },
                () = &mut next_probe => break,
            }
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
