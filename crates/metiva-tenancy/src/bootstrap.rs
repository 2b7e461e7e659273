#![expect(
    clippy::disallowed_methods,
    reason = "bootstrap connects as the superuser and the owner role, outside any tenant"
)]
//! Bootstrap: the cluster-wide roles, the database, and the migrations.
//!
//! # Security
//! Roles are created by a superuser (`roles.sql`); migrations then run as
//! `metiva_owner`, never as a superuser, so nothing they create is owned by
//! a role that could bypass RLS.

use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::DbError;

/// Every schema migration, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// The cluster-wide roles script, `migrations/roles.sql`.
pub const ROLES_SQL: &str = include_str!("../../../migrations/roles.sql");

/// The role migrations run as.
pub const OWNER_ROLE: &str = "metiva_owner";
/// The runtime role the app connects as.
pub const APP_ROLE: &str = "metiva_app";
/// The runtime role the login service connects as: it may read password
/// hashes and manage sign-in sessions, which the app role may not.
pub const LOGIN_ROLE: &str = "metiva_login";

/// As a superuser: creates the roles (idempotent) and, if missing, the
/// database `db_name` owned by `metiva_owner`.
pub async fn bootstrap_as_superuser(superuser_url: &str, db_name: &str) -> Result<(), DbError> {
    if !db_name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(DbError::Internal(format!(
            "invalid database name {db_name:?}"
        )));
    }
    let mut conn = crate::DbUrl::parse(superuser_url)?.open().await?;
    conn.batch_execute(ROLES_SQL).await?;
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    // Raw SQL: a catalog query (pg_database), outside the schema.
    let found =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(db_name)
            .get_result::<Exists>(&mut conn)
            .await?;
    if !found.exists {
        conn.batch_execute(&format!(
            "CREATE DATABASE {db_name} OWNER {OWNER_ROLE} ENCODING 'UTF8' TEMPLATE template0"
        ))
        .await?;
    }
    // The app role may connect but nothing more; table grants come from the
    // migrations, one table at a time.
    conn.batch_execute(&format!(
        "REVOKE ALL ON DATABASE {db_name} FROM PUBLIC;
         GRANT CONNECT, TEMPORARY ON DATABASE {db_name} TO {APP_ROLE}, {LOGIN_ROLE};"
    ))
    .await?;
    Ok(())
}

/// As the owner role: makes the public schema usable (not creatable) by the
/// app role, then applies pending migrations. Returns how many ran. Both
/// steps are idempotent, so every deployment path runs the same sequence.
pub async fn run_migrations(owner_url: &str) -> Result<usize, DbError> {
    // Opened here, on the runtime, with TLS as the URL says; the
    // migration harness is synchronous, so it runs on a blocking thread.
    let conn = crate::DbUrl::parse(owner_url)?.open().await?;
    tokio::task::spawn_blocking(move || -> Result<usize, DbError> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
        diesel::connection::SimpleConnection::batch_execute(&mut conn, &format!(
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO {APP_ROLE}, {LOGIN_ROLE};"
        ))?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| DbError::Internal(format!("migration failed: {e}")))?
            .len();
        if applied > 0 {
            // Every instance drops its cached catalog facts (the security
            // page and the Trust Center); see `notify`.
            diesel::connection::SimpleConnection::batch_execute(
                &mut conn,
                &format!("NOTIFY {}, 'facts'", crate::notify::CACHE_CHANNEL),
            )?;
        }
        Ok(applied)
    })
    .await
    .map_err(|e| DbError::Internal(e.to_string()))?
}
