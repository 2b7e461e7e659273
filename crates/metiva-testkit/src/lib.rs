//! Test support: every test gets a fresh database, cloned with
//! `CREATE DATABASE … TEMPLATE` from one migrated template, and connects to
//! it as the runtime role `metiva_app`, never as the owner.
//!
//! The cluster comes from `METIVA_TEST_PG_HOST` (the socket directory of a
//! private cluster that `cargo xtask test` starts once for the whole run).
//! Without it, each test process starts its own throw-away cluster, which
//! is slower but needs no setup.

#![expect(
    clippy::disallowed_methods,
    reason = "test support opens raw connections as each role on purpose"
)]

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

/// A URL for `user` on database `db` in the test cluster.
pub fn url(user: &str, db: &str) -> String {
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
        self.database_with(&PoolSettings::default())
    }

    pub fn database_with(&self, settings: &PoolSettings) -> Database {
        Database::connect(&self.app_url(), settings).unwrap_or_else(|e| panic!("pool: {e}"))
    }

    /// One raw connection as `user`, for tests that probe the database
    /// with plain SQL.
    pub async fn connect_as(&self, user: &str) -> AsyncPgConnection {
        AsyncPgConnection::establish(&url(user, &self.name))
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
