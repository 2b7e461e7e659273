//! The connection pool, private to this crate.

use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{Manager, Metrics, Object, Pool, RecycleError, RecycleResult};
use diesel::connection::CacheSize;
use diesel_async::RunQueryDsl;
use diesel_async::pooled_connection::PoolableConnection;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::DbError;
use crate::connect::DbUrl;

/// How the pool behaves. The defaults suit one app instance on a small
/// machine; tests shrink `max_size` to prove connection reuse is safe.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: usize,
    /// How long a request waits for a free connection or a new one.
    pub timeout: Duration,
    /// diesel-async's client-side prepared-statement cache. Keep it on
    /// (the default) for a direct connection or a pooler in session mode.
    /// Turn it off behind a pooler in transaction mode that does not track
    /// prepared statements (PgBouncer before 1.21, or 1.21+ with
    /// `max_prepared_statements = 0`): a named statement lives on one
    /// server backend, and such a pooler may hand the next transaction
    /// another. `METIVA_DB_STATEMENT_CACHE=off`.
    pub statement_cache: bool,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            timeout: Duration::from_secs(3),
            statement_cache: true,
        }
    }
}

/// A pooled connection: diesel-async's connection, opened by
/// tokio-postgres itself (see `connect`).
pub(crate) struct PgConn {
    pub(crate) conn: AsyncPgConnection,
    /// The tenant-binding statement is in this connection's statement
    /// cache: a lease may send it in the same flight as the closure's
    /// first query (see `tenant`).
    pub(crate) bind_prepared: bool,
    /// `statement_cache` of the pool's settings.
    pub(crate) cached: bool,
}

/// diesel-async's own manager with `RecyclingMethod::Fast`, over
/// [`DbUrl`] (TLS, several hosts, timeouts).
pub(crate) struct PgManager {
    url: Arc<DbUrl>,
    statement_cache: bool,
}

impl Manager for PgManager {
    type Type = PgConn;
    type Error = DbError;

    #[expect(
        clippy::disallowed_methods,
        reason = "the pool opens its own connections"
    )]
    async fn create(&self) -> Result<PgConn, DbError> {
        let mut conn = self.url.open().await?;
        if !self.statement_cache {
            conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        }
        Ok(PgConn {
            conn,
            bind_prepared: false,
            cached: self.statement_cache,
        })
    }

    async fn recycle(&self, c: &mut PgConn, _: &Metrics) -> RecycleResult<DbError> {
        // `Fast` recycling: the connection's own broken/closed state, no
        // round trip. A lease whose transaction did not end cleanly never
        // gets here: it detaches its connection (see `tenant::Lease`).
        if std::thread::panicking() || c.conn.is_broken() {
            return Err(RecycleError::Message("broken connection".into()));
        }
        Ok(())
    }
}

/// The app's handle on PostgreSQL, connected as the runtime role.
///
/// # Security
/// The pool inside is private and no method returns a pooled connection:
/// see the crate docs.
#[derive(Clone)]
pub struct Database {
    pool: Pool<PgManager>,
    url: Arc<DbUrl>,
    /// Where the access-change listener connects, outside the pool (see
    /// `access`): `url` unless set apart, as it must be behind a
    /// transaction-mode pooler, which cannot carry a session's LISTEN.
    listen_url: Arc<DbUrl>,
    /// The cache-invalidation listener shared by clones (see `notify`).
    pub(crate) bus: Arc<std::sync::OnceLock<Arc<crate::notify::CacheBus>>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").finish_non_exhaustive()
    }
}

impl Database {
    /// Builds the pool. No connection is opened yet, so this succeeds while
    /// the database is down; `/readyz` reports that, and recovers by itself.
    pub fn connect(url: &str, settings: &PoolSettings) -> Result<Self, DbError> {
        let url = Arc::new(DbUrl::parse(url)?);
        let pool = Pool::builder(PgManager {
            url: Arc::clone(&url),
            statement_cache: settings.statement_cache,
        })
        .max_size(settings.max_size)
        .wait_timeout(Some(settings.timeout))
        .create_timeout(Some(settings.timeout))
        .recycle_timeout(Some(settings.timeout))
        .runtime(deadpool_runtime())
        .build()
        .map_err(|e| DbError::Internal(e.to_string()))?;
        Ok(Self {
            pool,
            listen_url: Arc::clone(&url),
            url,
            bus: Arc::default(),
        })
    }

    /// The access-change listener connects to `url` instead of the pool's
    /// URL (`DATABASE_LISTEN_URL`): the database server directly, or a
    /// pooler in session mode.
    pub fn with_listen_url(mut self, url: &str) -> Result<Self, DbError> {
        self.listen_url = Arc::new(DbUrl::parse(url)?);
        self.bus = Arc::default();
        Ok(self)
    }

    /// The parsed URL this pool connects with.
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    pub(crate) fn listen_url(&self) -> &DbUrl {
        &self.listen_url
    }

    /// A connection for a tenant lease (see `tenant`).
    pub(crate) async fn checkout_object(&self) -> Result<Object<PgManager>, DbError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Readiness probe: one `SELECT 1` round trip.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.global(async |conn| {
            // Raw SQL: the bare round trip a ping is.
            diesel::sql_query("SELECT 1").execute(conn).await?;
            Ok(())
        })
        .await
    }

    /// The pool's occupancy for the metrics endpoint: (connections in
    /// use, requests waiting for one, the maximum size).
    pub fn pool_status(&self) -> (usize, usize, usize) {
        let s = self.pool.status();
        (s.size.saturating_sub(s.available), s.waiting, s.max_size)
    }

    /// Closes the pool: waiting and future checkouts fail, idle connections
    /// are dropped. Used at shutdown before the embedded database stops.
    pub fn close(&self) {
        self.pool.close();
    }
}

fn pool_error(e: deadpool::managed::PoolError<DbError>) -> DbError {
    use deadpool::managed::PoolError as P;
    match e {
        P::Backend(e) => e,
        other => DbError::Unavailable(other.to_string()),
    }
}

fn deadpool_runtime() -> deadpool::Runtime {
    deadpool::Runtime::Tokio1
}
