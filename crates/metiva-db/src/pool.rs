//! The connection pool, private to this crate.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};

use crate::DbError;

/// How the pool behaves. The defaults suit one app instance on a small
/// machine; tests shrink `max_size` to prove connection reuse is safe.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: usize,
    /// How long a request waits for a free connection or a new one.
    pub timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            timeout: Duration::from_secs(3),
        }
    }
}

/// The app's handle on PostgreSQL, connected as the runtime role.
///
/// # Security
/// The pool inside is private and no method returns a pooled connection:
/// see the crate docs.
#[derive(Clone)]
pub struct Database {
    pool: Pool<AsyncPgConnection>,
    /// Kept for the access-change listener, which needs a connection of
    /// its own outside the pool (see `access`).
    url: std::sync::Arc<str>,
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
        let mut config = ManagerConfig::default();
        // `Fast` recycling checks the connection's own broken/closed state
        // (including a transaction left open by a cancelled request) without
        // an extra round trip per checkout.
        config.recycling_method = RecyclingMethod::Fast;
        let manager =
            AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
        let pool = Pool::builder(manager)
            .max_size(settings.max_size)
            .wait_timeout(Some(settings.timeout))
            .create_timeout(Some(settings.timeout))
            .recycle_timeout(Some(settings.timeout))
            .runtime(deadpool_runtime())
            .build()
            .map_err(|e| DbError::Internal(e.to_string()))?;
        Ok(Self {
            pool,
            url: url.into(),
        })
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) async fn checkout(&self) -> Result<Object<AsyncPgConnection>, DbError> {
        Ok(self.pool.get().await?)
    }

    /// Readiness probe: one `SELECT 1` round trip.
    pub async fn ping(&self) -> Result<(), DbError> {
        let mut conn = self.checkout().await?;
        diesel::sql_query("SELECT 1").execute(&mut *conn).await?;
        Ok(())
    }

    /// Closes the pool: waiting and future checkouts fail, idle connections
    /// are dropped. Used at shutdown before the embedded database stops.
    pub fn close(&self) {
        self.pool.close();
    }
}

fn deadpool_runtime() -> deadpool::Runtime {
    deadpool::Runtime::Tokio1
}
