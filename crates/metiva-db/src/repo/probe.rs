//! Diagnostics about the tenant context itself, for the isolation
//! self-test and the proofs. They read no client data, only counts.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::{Database, DbError, TenantConn};

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct ContextProbe {
    /// `current_setting('app.company_id', true)`: `None` if never set on
    /// this connection, `Some("")` on a reused one outside a transaction.
    #[diesel(sql_type = Nullable<Text>)]
    pub setting: Option<String>,
    /// Persons visible under that context.
    #[diesel(sql_type = BigInt)]
    pub visible_persons: i64,
}

const PROBE_SQL: &str = "SELECT current_setting('app.company_id', true) AS setting,
                                (SELECT count(*) FROM persons) AS visible_persons";

/// The context as seen inside a tenant transaction.
pub async fn inside(tc: &mut TenantConn<'_>) -> Result<ContextProbe, DbError> {
    // Raw SQL: a diagnostic of session functions (current_setting, pg_backend_pid), not table
    // data.
    Ok(diesel::sql_query(PROBE_SQL).get_result(tc.conn()).await?)
}

impl Database {
    /// Diagnostics, not a data path: the context and the persons visible on
    /// a pooled connection in a transaction that binds no tenant. Isolation
    /// demands `setting` be empty or absent and `visible_persons` be 0: a
    /// binding that outlived its own transaction (a session-level setting)
    /// would show here.
    pub async fn probe_without_tenant(&self) -> Result<ContextProbe, DbError> {
        // Raw SQL: a diagnostic of session functions, not table data.
        self.global(async |conn| Ok(diesel::sql_query(PROBE_SQL).get_result(conn).await?))
            .await
    }
}

/// Which transaction a query ran in: the backend and the transaction's
/// start time. Two queries with equal values ran in one transaction.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct TransactionProbe {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub backend_pid: i32,
    #[diesel(sql_type = Text)]
    pub transaction_started: String,
    #[diesel(sql_type = Text)]
    pub statement_started: String,
}

pub async fn transaction(tc: &mut TenantConn<'_>) -> Result<TransactionProbe, DbError> {
    // Raw SQL: a diagnostic of session functions, not table data.
    Ok(diesel::sql_query(
        "SELECT pg_backend_pid() AS backend_pid,
                transaction_timestamp()::text AS transaction_started,
                clock_timestamp()::text AS statement_started",
    )
    .get_result(tc.conn())
    .await?)
}

/// The channel [`signal_after`] notifies on.
pub const SIGNAL_CHANNEL: &str = "metiva_probe";

/// Sleeps `seconds`, then sends `NOTIFY metiva_probe` with the company this
/// statement runs under as payload. PostgreSQL delivers it only when the
/// statement's transaction commits, so a listener learns under which
/// tenant, in which transaction, a query the caller gave up on still ran.
pub async fn signal_after(tc: &mut TenantConn<'_>, seconds: f64) -> Result<(), DbError> {
    // Raw SQL: pg_sleep and pg_notify, functions Diesel has no DSL for.
    diesel::sql_query(
        "SELECT pg_sleep($1), pg_notify('metiva_probe', current_setting('app.company_id', true))",
    )
    .bind::<diesel::sql_types::Double, _>(seconds)
    .execute(tc.conn())
    .await?;
    Ok(())
}
