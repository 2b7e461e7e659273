//! The connection pool, private to this crate.

use std::sync::Arc;
use std::time::Duration;

use deadpool::managed::{Manager, Metrics, Object, Pool, RecycleError, RecycleResult};
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::pooled_connection::PoolableConnection;

use crate::DbError;
use crate::wire::{Tap, TappedStream};

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

/// A pooled connection: diesel-async's connection over a [`TappedStream`],
/// and the [`Tap`] that binds its requests (see `wire`).
pub(crate) struct PgConn {
    pub(crate) conn: AsyncPgConnection,
    pub(crate) tap: Arc<Tap>,
    /// `wire::PREPARE_SQL` ran on this connection.
    pub(crate) prelude_prepared: bool,
}

/// Opens connections through [`TappedStream`]; otherwise what
/// diesel-async's own manager does with `RecyclingMethod::Fast`.
pub(crate) struct PgManager {
    config: tokio_postgres::Config,
}

impl Manager for PgManager {
    type Type = PgConn;
    type Error = DbError;

    async fn create(&self) -> Result<PgConn, DbError> {
        connect(&self.config).await
    }

    async fn recycle(&self, c: &mut PgConn, _: &Metrics) -> RecycleResult<DbError> {
        // `Fast` recycling: the connection's own broken/closed state, no
        // round trip. Security: a connection still armed for a tenant is
        // never reused (a lease always disarms before it releases).
        if std::thread::panicking() || c.conn.is_broken() || c.tap.is_armed() {
            return Err(RecycleError::Message("broken connection".into()));
        }
        Ok(())
    }
}

/// Connects to the first host of `config` that answers (as tokio-postgres
/// would: `hostaddr` before `host`, ports paired by position), with the
/// socket wrapped in a [`TappedStream`].
async fn connect(config: &tokio_postgres::Config) -> Result<PgConn, DbError> {
    use tokio_postgres::config::Host;
    let tap = Arc::new(Tap::default());
    let ports = config.get_ports();
    let port = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
    let mut targets: Vec<(Option<std::net::IpAddr>, Option<&Host>, u16)> = Vec::new();
    let hosts = config.get_hosts();
    let addrs = config.get_hostaddrs();
    for i in 0..hosts.len().max(addrs.len()) {
        targets.push((addrs.get(i).copied(), hosts.get(i), port(i)));
    }
    let mut last = String::from("no host in the database URL");
    for (addr, host, port) in targets {
        let client = match (addr, host) {
            (Some(ip), _) => tcp(config, (ip, port), &tap).await,
            (None, Some(Host::Tcp(name))) => tcp(config, (name.as_str(), port), &tap).await,
            #[cfg(unix)]
            (None, Some(Host::Unix(dir))) => {
                let path = dir.join(format!(".s.PGSQL.{port}"));
                match tokio::net::UnixStream::connect(&path).await {
                    Ok(s) => handshake(config, s, &tap).await,
                    Err(e) => Err(format!("{}: {e}", path.display())),
                }
            }
            (None, None) => continue,
        };
        match client {
            Ok(client) => {
                let conn = AsyncPgConnection::try_from(client)
                    .await
                    .map_err(|e| DbError::Unavailable(e.to_string()))?;
                return Ok(PgConn {
                    conn,
                    tap,
                    prelude_prepared: false,
                });
            }
            Err(e) => last = e,
        }
    }
    Err(DbError::Unavailable(last))
}

async fn tcp<A>(
    config: &tokio_postgres::Config,
    addr: A,
    tap: &Arc<Tap>,
) -> Result<tokio_postgres::Client, String>
where
    A: tokio::net::ToSocketAddrs + std::fmt::Debug + Copy,
{
    match tokio::net::TcpStream::connect(addr).await {
        Ok(s) => {
            // As tokio-postgres does: small requests go out at once.
            let _ = s.set_nodelay(true);
            handshake(config, s, tap).await
        }
        Err(e) => Err(format!("{addr:?}: {e}")),
    }
}

async fn handshake<S>(
    config: &tokio_postgres::Config,
    socket: S,
    tap: &Arc<Tap>,
) -> Result<tokio_postgres::Client, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (client, connection) = config
        .connect_raw(
            TappedStream::new(socket, Arc::clone(tap)),
            tokio_postgres::NoTls,
        )
        .await
        .map_err(|e| e.to_string())?;
    // The connection's I/O runs on its own task; when it ends (error or
    // close) the client reports itself closed and the pool drops it.
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "database connection ended");
        }
    });
    Ok(client)
}

/// A checked-out connection for this crate's global (non-tenant) reads and
/// writes. It carries no tenant binding: its tap is disarmed.
pub(crate) struct Pooled(Object<PgManager>);

impl std::ops::Deref for Pooled {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        &self.0.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.0.conn
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
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| DbError::Internal(format!("database URL: {e}")))?;
        let pool = Pool::builder(PgManager { config })
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

    /// A connection for a tenant lease (see `tenant`).
    pub(crate) async fn checkout_object(&self) -> Result<Object<PgManager>, DbError> {
        let obj = self.pool.get().await.map_err(pool_error)?;
        // Security: recycling refuses armed connections; this is the
        // second lock on the same door.
        obj.tap.disarm();
        Ok(obj)
    }

    pub(crate) async fn checkout(&self) -> Result<Pooled, DbError> {
        Ok(Pooled(self.checkout_object().await?))
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
