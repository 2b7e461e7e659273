//! Test support: every test gets a fresh database, cloned with
//! `CREATE DATABASE … TEMPLATE` from one migrated template, and connects to
//! it as the runtime role `metiva_app`, never as the owner.
//!
//! The cluster comes from `METIVA_TEST_PG_HOST` (the socket directory of a
//! private cluster that `cargo xtask test` starts once for the whole run).
//! Without it, each test process starts its own throw-away cluster, which
//! is slower but needs no setup.
//!
//! `METIVA_TEST_PG_MODE` chooses how the runtime roles (`metiva_app`,
//! `metiva_login`) reach that cluster, so the same suites prove each
//! connection setup an operator runs:
//!
//! - `socket` (default): the Unix socket, as the embedded default does;
//! - `tls`: TCP to `METIVA_TEST_PG_TCP` with SCRAM-SHA-256 and TLS
//!   `verify-full` against the CA in `METIVA_TEST_PG_ROOTCERT`;
//! - `pgbouncer`: PgBouncer in transaction mode at `METIVA_TEST_PGBOUNCER`,
//!   with the client-side statement cache off.
//!
//! Bootstrap, migrations and fixtures (superuser and owner) always use the
//! socket.

#![expect(
    clippy::disallowed_methods,
    reason = "test support opens raw connections as each role on purpose"
)]

pub mod fake_google_ads;
pub mod fake_meta;
pub mod fake_s3;
pub mod fake_stripe;
pub mod fake_twilio;
pub mod fake_webhook;
pub mod recording_fake;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use metiva_db::bootstrap::{self, APP_ROLE, LOGIN_ROLE, OWNER_ROLE};
use metiva_db::{Database, PoolSettings};
use metiva_embedded_pg::{Cluster, SUPERUSER};

const TEMPLATE: &str = "metiva_template";
/// Serialises template creation across the parallel test processes.
const TEMPLATE_LOCK_KEY: i64 = 0x6d65_7469_7661;

/// Where the test cluster's socket lives.
fn socket_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(host) = std::env::var_os("METIVA_TEST_PG_HOST") {
            return PathBuf::from(host);
        }
        let root = std::env::temp_dir().join(format!(
            "metiva-test-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        // Deliberately leaked for the life of the process; the watchdog
        // stops the cluster and removes its directory when we exit.
        let cluster = match Cluster::start(&root) {
            Ok(c) => c,
            Err(e) => panic!("cannot start a private test cluster: {e}"),
        };
        if let Err(e) = cluster.stop_when_process_exits(true) {
            panic!("cannot arrange cluster cleanup: {e}");
        }
        let dir = cluster.socket_dir().to_path_buf();
        std::mem::forget(cluster);
        dir
    })
}

/// The password the runtime roles get in the `tls` and `pgbouncer` modes
/// (the socket trusts local users; TCP demands SCRAM).
pub const TEST_PASSWORD: &str = "metiva-test-password";

/// How the runtime roles connect (see the crate docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Socket,
    Tls { addr: String, rootcert: String },
    Pgbouncer { addr: String },
}

/// The mode of this run, from the environment.
pub fn mode() -> &'static Mode {
    static MODE: OnceLock<Mode> = OnceLock::new();
    MODE.get_or_init(|| {
        let var =
            |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("METIVA_TEST_PG_MODE needs {k}"));
        match std::env::var("METIVA_TEST_PG_MODE").as_deref() {
            Ok("tls") => Mode::Tls {
                addr: var("METIVA_TEST_PG_TCP"),
                rootcert: var("METIVA_TEST_PG_ROOTCERT"),
            },
            Ok("pgbouncer") => Mode::Pgbouncer {
                addr: var("METIVA_TEST_PGBOUNCER"),
            },
            Ok("socket") | Err(_) => Mode::Socket,
            Ok(other) => panic!("unknown METIVA_TEST_PG_MODE {other:?}"),
        }
    })
}

/// The TLS listener of the test cluster, `(address, CA file)`, when the
/// run has one (`cargo xtask test` always does), whatever the mode.
pub fn tcp_setup() -> Option<(String, String)> {
    Some((
        std::env::var("METIVA_TEST_PG_TCP").ok()?,
        std::env::var("METIVA_TEST_PG_ROOTCERT").ok()?,
    ))
}

/// Pool settings for this mode: the statement cache is off behind a
/// transaction-mode pooler.
pub fn pool_settings() -> PoolSettings {
    PoolSettings {
        statement_cache: !matches!(mode(), Mode::Pgbouncer { .. }),
        ..PoolSettings::default()
    }
}

/// A URL for `user` on database `db` in the test cluster: the runtime
/// roles as the mode says, everyone else over the socket.
pub fn url(user: &str, db: &str) -> String {
    let runtime = user == APP_ROLE || user == LOGIN_ROLE;
    match mode() {
        Mode::Tls { addr, rootcert } if runtime => format!(
            "postgresql://{user}:{TEST_PASSWORD}@{}/{db}?sslmode=verify-full&sslrootcert={rootcert}",
            addr.replace("127.0.0.1", "localhost")
        ),
        Mode::Pgbouncer { addr } if runtime => format!(
            "postgresql://{user}:{TEST_PASSWORD}@{addr}/{db}?sslmode=disable&application_name=metiva-test"
        ),
        _ => socket_url(user, db),
    }
}

/// A URL over the Unix socket whatever the mode (LISTEN, which a
/// transaction-mode pooler cannot carry, and direct probes).
pub fn socket_url(user: &str, db: &str) -> String {
    metiva_embedded_pg::socket_url(socket_dir(), user, db)
}

/// A fresh database for one test.
#[derive(Debug, Clone)]
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    /// Clones a new database from the migrated template (creating the
    /// template first if this is the first test of the run).
    pub async fn new() -> Self {
        ensure_template().await;
        let name = format!("t_{:016x}", rand::random::<u64>());
        let mut conn = su_conn().await;
        // CREATE DATABASE cannot share a (implicit) transaction: one each.
        for sql in [
            format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE} OWNER {OWNER_ROLE}"),
            format!(
                "REVOKE ALL ON DATABASE {name} FROM PUBLIC;
                 GRANT CONNECT, TEMPORARY ON DATABASE {name} TO {APP_ROLE}, {LOGIN_ROLE};"
            ),
        ] {
            conn.batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("clone template: {e}"));
        }
        Self { name }
    }

    /// The runtime role's URL (what the app uses).
    pub fn app_url(&self) -> String {
        url(APP_ROLE, &self.name)
    }

    /// The login service's role URL.
    pub fn login_url(&self) -> String {
        url(LOGIN_ROLE, &self.name)
    }

    /// The owner role's URL (migrations and lint fixtures only).
    pub fn owner_url(&self) -> String {
        url(OWNER_ROLE, &self.name)
    }

    /// The superuser's URL (bootstrap-level fixtures only).
    pub fn superuser_url(&self) -> String {
        url(SUPERUSER, &self.name)
    }

    /// A pool connected as the runtime role.
    pub fn database(&self) -> Database {
        self.database_with(&pool_settings())
    }

    pub fn database_with(&self, settings: &PoolSettings) -> Database {
        Database::connect(&self.app_url(), settings)
            .unwrap_or_else(|e| panic!("pool: {e}"))
            .with_listen_url(&self.listen_url())
            .unwrap_or_else(|e| panic!("listen URL: {e}"))
    }

    /// The runtime role's URL for LISTEN: direct, never through a
    /// transaction-mode pooler.
    pub fn listen_url(&self) -> String {
        match mode() {
            Mode::Pgbouncer { .. } => socket_url(APP_ROLE, &self.name),
            _ => self.app_url(),
        }
    }

    /// One raw connection as `user`, for tests that probe the database
    /// with plain SQL.
    pub async fn connect_as(&self, user: &str) -> AsyncPgConnection {
        metiva_db::DbUrl::parse(&url(user, &self.name))
            .unwrap_or_else(|e| panic!("URL for {user}: {e}"))
            .open()
            .await
            .unwrap_or_else(|e| panic!("connect as {user}: {e}"))
    }
}

async fn su_conn() -> AsyncPgConnection {
    AsyncPgConnection::establish(&url(SUPERUSER, "postgres"))
        .await
        .unwrap_or_else(|e| panic!("connect to the test cluster: {e}"))
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

async fn ensure_template() {
    let mut conn = su_conn().await;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(TEMPLATE_LOCK_KEY)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("template lock: {e}"));
    let exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(TEMPLATE)
            .get_result::<Exists>(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("template lookup: {e}"))
            .exists;
    if !exists {
        bootstrap::bootstrap_as_superuser(&url(SUPERUSER, "postgres"), TEMPLATE)
            .await
            .unwrap_or_else(|e| panic!("bootstrap template: {e}"));
        let owner = url(OWNER_ROLE, TEMPLATE);
        bootstrap::run_migrations(&owner)
            .await
            .unwrap_or_else(|e| panic!("migrate template: {e}"));
        // Nobody may connect to the template again, so clones never fail
        // with "source database is being accessed by other users".
        conn.batch_execute(&format!(
            "ALTER DATABASE {TEMPLATE} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"
        ))
        .await
        .unwrap_or_else(|e| panic!("seal template: {e}"));
    }
    if tcp_setup().is_some() {
        // SCRAM over TCP needs passwords (stored as SCRAM verifiers:
        // password_encryption is scram-sha-256).
        conn.batch_execute(&format!(
            "ALTER ROLE {APP_ROLE} PASSWORD '{TEST_PASSWORD}';
             ALTER ROLE {LOGIN_ROLE} PASSWORD '{TEST_PASSWORD}';"
        ))
        .await
        .unwrap_or_else(|e| panic!("role passwords: {e}"));
    }
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<diesel::sql_types::BigInt, _>(TEMPLATE_LOCK_KEY)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("template unlock: {e}"));
}

/// A throw-away cluster directory for tests that need a cluster of their
/// own (for example to stop and restart it).
pub fn scratch_dir(label: &str) -> PathBuf {
    std::env::temp_dir().join(format!("metiva-{label}-{:08x}", rand::random::<u32>()))
}
