//! Test support: every test gets a fresh database, cloned with
//! `CREATE DATABASE … TEMPLATE` from one migrated template, and connects to
//! it as the runtime role `metiva_app`, never as the owner.
//!
//! The cluster comes from `METIVA_TEST_PG_HOST` (the socket directory of a
//! private cluster that `cargo xtask test` starts once for the whole run).
//! Without it, each test process starts its own throw-away cluster, which
//! is slower but needs no setup.

use std::path::PathBuf;
use std::sync::OnceLock;

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use metiva_db::bootstrap::{self, APP_ROLE, OWNER_ROLE};
use metiva_db::{Database, PoolSettings};
use metiva_embedded_pg::{Cluster, SUPERUSER};

const TEMPLATE: &str = "metiva_template";
/// Serialises template creation across the parallel test processes.
const TEMPLATE_LOCK_KEY: i64 = 0x6d65_7469_7661;

/// Where the test cluster's socket lives.
fn socket_dir() -> &'static str {
    static DIR: OnceLock<String> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Ok(host) = std::env::var("METIVA_TEST_PG_HOST") {
            return host;
        }
        static CLUSTER: OnceLock<Cluster> = OnceLock::new();
        let root = std::env::temp_dir().join(format!(
            "metiva-test-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let cluster = CLUSTER.get_or_init(|| match Cluster::start(&root) {
            Ok(c) => {
                if let Err(e) = c.stop_when_process_exits(true) {
                    panic!("cannot arrange cluster cleanup: {e}");
                }
                c
            }
            Err(e) => panic!("cannot start a private test cluster: {e}"),
        });
        socket_dir_of(cluster)
    })
}

fn socket_dir_of(cluster: &Cluster) -> String {
    // The cluster's URL carries the socket directory as `host=`; recover it
    // through the one place that knows the layout.
    let url = cluster.url(SUPERUSER, "postgres");
    let encoded = url.rsplit("host=").next().unwrap_or_default();
    percent_decode(encoded)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            if let Some(v) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A URL for `user` on database `db` in the test cluster.
pub fn url(user: &str, db: &str) -> String {
    let host: String = socket_dir()
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("postgresql://{user}@localhost:5432/{db}?host={host}")
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
                 GRANT CONNECT, TEMPORARY ON DATABASE {name} TO {APP_ROLE};"
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
    let exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
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
        bootstrap::grant_schema_usage(&owner)
            .await
            .unwrap_or_else(|e| panic!("template schema: {e}"));
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
