//! The one way to run tenant queries: [`TenantConn`].
//!
//! # Security
//! A `TenantConn` exists only inside a bound transaction
//! (`Database::in_tenant*` and the named entry points, see the crate
//! docs), which first runs `set_config('app.company_id', $1, true)`.
//! Every lease sends, in one pipelined flight on the stock driver (as
//! PostgREST does):
//!
//! 1. `BEGIN` (`READ ONLY` for reads; `REPEATABLE READ` for snapshots);
//! 2. `SELECT set_config('app.company_id', $1, true)`, with the access
//!    assertion where the request has one: a typed, cached prepared
//!    statement with the company id as a bind parameter, never in SQL text;
//! 3. the closure's queries;
//! 4. `COMMIT` (or `ROLLBACK`).
//!
//! Requests on one connection run in the order they are sent, and
//! tokio-postgres sends a request when its future is first polled. The
//! lease polls `BEGIN`, then the binding, then the closure, so the
//! closure's first query is always behind the binding. When the binding
//! statement is not yet prepared on this connection (its first lease, or
//! with the statement cache off behind a transaction-mode pooler), the
//! lease waits for the binding before it starts the closure: a prepare is
//! a round trip of its own, and the closure must never overtake it.
//! `COMMIT` is sent only after the closure has finished, so it never
//! overtakes a query, prepared or not.
//!
//! The setting is transaction-local, never session-level, so it ends at
//! COMMIT or ROLLBACK and a reused connection reads `''`, which the
//! policies turn into NULL: no rows.
//!
//! A connection whose transaction did not end cleanly (an error while
//! ending it, or a lease dropped mid-flight by a cancelled request) is
//! never returned to the pool: it is detached and closed, and the server
//! rolls it back. A query future the closure dropped after it was sent
//! still runs, inside this lease's transaction, before its `COMMIT`: never
//! under the next lease.
//!
//! Cost: a read with a prepared statement is one network round trip. Its
//! `COMMIT` (read-only: nothing to make durable) is awaited off the
//! caller's path, and the connection returns to the pool once it is
//! answered. A write waits for its `COMMIT`: acknowledged writes are
//! durable. See `cargo xtask bench isolation`.

use deadpool::managed::Object;
use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
use diesel::{ExpressionMethods, IntoSql};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures::future::{join, try_join};

use crate::pool::{PgConn, PgManager};
use crate::{CompanyId, Database, DbError};

diesel::define_sql_function! {
    /// PostgreSQL's `set_config(name, value, is_local)`.
    fn set_config(name: Text, value: Text, is_local: Bool) -> Text;
}

diesel::define_sql_function! {
    /// `metiva_assert_access(user, session, role)` raises SQLSTATE 42501
    /// unless that access still holds (migration `sign_in`). It returns
    /// `void`; only `… IS NULL` of it is selected, never the value.
    fn metiva_assert_access(user_id: SqlUuid, session_id: SqlUuid, role: Text) -> diesel::sql_types::Nullable<Text>;
}

/// A connection inside a tenant transaction. Repositories take
/// `&mut TenantConn`. Only the core and the domain crate may run SQL
/// through it: `clippy.toml` disallows [`TenantConn::conn`] everywhere
/// else (app and server call domain functions, never SQL).
pub struct TenantConn<'c> {
    conn: &'c AsyncPgConnection,
    company: &'c CompanyId,
}

impl<'c> TenantConn<'c> {
    /// The company this transaction is bound to.
    pub fn company(&self) -> &CompanyId {
        self.company
    }

    /// The raw connection, for the core's and the domain's repositories.
    pub fn conn(&mut self) -> &mut &'c AsyncPgConnection {
        &mut self.conn
    }

    /// Another handle on this same transaction, so independent reads can
    /// be sent in one pipelined flight (`futures::try_join!` over several
    /// repository calls) instead of one round trip each (issue 15).
    ///
    /// # Security
    /// Nothing new is opened or bound: the handle is the same connection
    /// inside the same transaction, after the same `BEGIN` and tenant
    /// binding, with the same company. It borrows for `'c`, the lease's
    /// higher-ranked lifetime, so it cannot outlive the closure that got
    /// it; the lease sends `COMMIT` only once the closure has finished,
    /// and a query a dropped future had already sent still runs inside
    /// this transaction (see the module docs).
    pub fn fork(&self) -> TenantConn<'c> {
        TenantConn {
            conn: self.conn,
            company: self.company,
        }
    }
}

/// A pooled connection that is detached (closed, not reused) unless the
/// transaction on it ended cleanly.
struct Lease {
    obj: Option<Object<PgManager>>,
}

impl Lease {
    fn pg(&self) -> Result<&PgConn, DbError> {
        self.obj
            .as_deref()
            .ok_or_else(|| DbError::Internal("lease already released".into()))
    }

    fn pg_mut(&mut self) -> Result<&mut PgConn, DbError> {
        self.obj
            .as_deref_mut()
            .ok_or_else(|| DbError::Internal("lease already released".into()))
    }

    /// Ends the transaction: `COMMIT` after `Ok`, `ROLLBACK` after `Err`.
    /// A write is acknowledged only once its `COMMIT` is answered
    /// (durable). A read-only transaction has nothing to make durable and
    /// its answer is complete: it ends off the caller's path, and the
    /// connection returns to the pool once that is answered.
    async fn finish<T>(self, mode: Mode, result: Result<T, DbError>) -> Result<T, DbError> {
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        if mode == Mode::Write {
            return match (result, self.end(end).await) {
                (Ok(v), Ok(())) => Ok(v),
                (Ok(_), Err(e)) | (Err(e), _) => Err(e),
            };
        }
        tokio::spawn(async move {
            if let Err(e) = self.end(end).await {
                tracing::debug!(error = %e, "ending a read transaction failed; connection detached");
            }
        });
        result
    }

    /// Ends the transaction with `end` (`COMMIT` or `ROLLBACK`); the
    /// connection goes back to the pool only if that succeeded.
    async fn end(mut self, end: &'static str) -> Result<(), DbError> {
        self.pg()?.conn.batch_execute_shared(end).await?;
        // Clean end: back to the pool (not through `Drop`, which detaches).
        drop(self.obj.take());
        Ok(())
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(obj) = self.obj.take() {
            // Security: never hand a connection that may still be inside a
            // transaction (with a tenant setting) to the next request.
            tracing::debug!("detaching a connection whose transaction did not end cleanly");
            drop(Object::take(obj));
        }
    }
}

/// `batch_execute` through a shared reference, as the lease holds one.
pub(crate) trait SharedBatch {
    async fn batch_execute_shared(&self, sql: &str) -> Result<(), DbError>;
}

impl SharedBatch for AsyncPgConnection {
    async fn batch_execute_shared(&self, sql: &str) -> Result<(), DbError> {
        let mut conn = self;
        Ok(conn.batch_execute(sql).await?)
    }
}

/// The access a request was granted, re-asserted at the start of its
/// transaction (see `metiva_assert_access`).
pub(crate) struct Access {
    pub(crate) user: uuid::Uuid,
    pub(crate) session: uuid::Uuid,
    pub(crate) role: &'static str,
}

/// How a lease opens its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Read-write; the caller waits for `COMMIT`.
    Write,
    /// `READ ONLY`, `READ COMMITTED`.
    Read,
    /// `READ ONLY`, `REPEATABLE READ`: every query sees one snapshot.
    Snapshot,
}

impl Mode {
    fn begin(self) -> &'static str {
        match self {
            Mode::Write => "BEGIN",
            Mode::Read => "BEGIN READ ONLY",
            Mode::Snapshot => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        }
    }
}

/// `SELECT set_config('app.company_id', $1, true)`, with the access
/// assertion when there is one. Typed, so diesel-async caches it as a
/// prepared statement per connection.
async fn bind(
    mut conn: &AsyncPgConnection,
    company: &CompanyId,
    access: Option<&Access>,
) -> Result<(), DbError> {
    let set = set_config(
        "app.company_id".into_sql::<Text>(),
        company.as_str().into_sql::<Text>(),
        true.into_sql::<Bool>(),
    );
    match access {
        None => {
            diesel::select(set).get_result::<String>(&mut conn).await?;
        }
        Some(a) => {
            // Evaluated left to right: the assertion reads memberships
            // under the company just set.
            let assert = metiva_assert_access(a.user, a.session, a.role).is_null();
            diesel::select((set, assert))
                .get_result::<(String, bool)>(&mut conn)
                .await?;
        }
    }
    Ok(())
}

impl Database {
    /// Runs `f` inside one transaction bound to `company` (see the module
    /// docs for the flight it sends), and ends it. `access`, when given, is
    /// re-asserted in the same flight (see `access`).
    pub(crate) async fn run<T, F>(
        &self,
        company: &CompanyId,
        access: Option<&Access>,
        mode: Mode,
        f: F,
    ) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        let mut lease = Lease {
            obj: Some(self.checkout_object().await?),
        };
        let (bound, result) = {
            let pc = lease.pg()?;
            let conn = &pc.conn;
            let prelude = try_join(
                conn.batch_execute_shared(mode.begin()),
                bind(conn, company, access),
            );
            let mut tc = TenantConn { conn, company };
            if pc.bind_prepared {
                // One flight: `join` polls the prelude first, so BEGIN and
                // the binding are sent before the closure's first query.
                join(prelude, f(&mut tc)).await
            } else {
                // The binding must be prepared first (a round trip of its
                // own): the closure waits, so it cannot overtake it.
                match prelude.await {
                    Ok(b) => (Ok(b), f(&mut tc).await),
                    Err(e) => (Err(e), Err(DbError::Internal("unbound".into()))),
                }
            }
        };
        // A failed binding (revoked access, say) is the reason the
        // closure's queries failed: report it, not their 25P02.
        let result = match bound {
            Ok(_) => {
                let pc = lease.pg_mut()?;
                pc.bind_prepared = pc.cached;
                result
            }
            Err(e) => Err(e),
        };
        lease.finish(mode, result).await
    }

    /// Runs `f` in one read-write transaction with no tenant binding: for
    /// the global tables (users, sign-in sessions and codes, system
    /// checks) and catalog reads. Tenant tables show no rows here: RLS
    /// needs `app.company_id`, which is unset. In a transaction because a
    /// pooler in transaction mode keeps a backend only for one, and a
    /// statement prepared outside it may be gone when it is executed.
    pub async fn global<T, F>(&self, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut &'c AsyncPgConnection) -> Result<T, DbError>,
    {
        let lease = Lease {
            obj: Some(self.checkout_object().await?),
        };
        let (begun, result) = {
            let mut conn = &lease.pg()?.conn;
            // `BEGIN` is a simple query, never prepared: it always goes out
            // in the same flight as `f`'s first query, ahead of it.
            join(conn.batch_execute_shared("BEGIN"), f(&mut conn)).await
        };
        let result = begun.and(result);
        lease.finish(Mode::Write, result).await
    }

    /// Cross-tenant entry point 1, the login directory: sign-in picks the
    /// company from the user's own memberships (or the workspace they
    /// chose) before any access exists to resolve. Read-write: it records
    /// the sign-in in the workspace's audit log.
    pub async fn for_sign_in<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Write, f).await
    }

    /// The login directory's read-only variant (listing a user's
    /// workspaces, reading a membership).
    pub async fn for_sign_in_read<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Read, f).await
    }

    /// Cross-tenant entry point 2, the site-key lookup: ingest names no
    /// member, only a public site key, and the company is the one that key
    /// was registered to (looked up globally, unique per key).
    pub async fn for_site_key<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Write, f).await
    }

    /// The site-key path's read-only variant (a site's known networks).
    pub async fn for_site_key_read<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Read, f).await
    }

    /// Cross-tenant entry point 3, provisioning: the operator's own
    /// commands (the demo seed, setting up a workspace) acting for the
    /// company they create. Never reachable from a request. The job
    /// dispatcher will be the next named entry point.
    pub async fn for_provisioning<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Write, f).await
    }

    /// Cross-tenant entry point 4, the audit verify (`metiva audit verify`,
    /// an operator's command, never reachable from a request): reads one
    /// company's audit chain under that company's own binding, in one
    /// read-only snapshot so the chain is seen as of one instant. The list
    /// of companies to walk comes from `metiva_audit_companies()` (owner
    /// role only); the rows themselves stay behind RLS.
    pub async fn for_audit_verify<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Snapshot, f).await
    }

    /// Cross-tenant entry point 5, the retention sweep (the hourly task
    /// in `metiva serve`, later the job runner; never reachable from a
    /// request): one short read-write transaction bound to the company
    /// being swept, per batch.
    ///
    /// # Security
    /// A named entry point rather than a public `Database::tenant`: the
    /// sweep has no member whose access could be re-asserted, so it picks
    /// the company itself, and this name keeps that one path greppable
    /// and reviewable. It still runs as the app role under FORCE'd RLS
    /// (never a BYPASSRLS role), so a batch can only ever see and delete
    /// the bound company's rows; the list of companies comes from
    /// `metiva_sweep_companies()`, which answers ids only.
    pub async fn for_sweep<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Write, f).await
    }

    /// Cross-tenant entry point 6, the job dispatcher (`metiva_db::jobs`,
    /// run by the worker in `metiva serve`; never reachable from a
    /// request): one read-write transaction bound to the company a claimed
    /// job belongs to, in which its handler runs, or in which the cron
    /// enqueues that company's scheduled job.
    ///
    /// # Security
    /// The worker has no member whose access could be re-asserted: the
    /// company comes from the job row itself, which was written under that
    /// company's binding (forced RLS `WITH CHECK`), and the claim
    /// (`metiva_claim_jobs()`) answers ids, company and kind only. The
    /// handler runs as the app role under FORCE'd RLS, so it can only see
    /// and change the bound company's rows.
    pub async fn for_job<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Write, f).await
    }

    /// Cross-tenant entry point 7, a Stripe webhook delivery
    /// (`POST /webhooks/stripe/{endpoint}`, public, outside the tenant
    /// guard): one read-write transaction bound to the company whose
    /// Stripe connection owns the endpoint id, in which the workspace's
    /// signing secret is opened, the signature checked and the event
    /// stored.
    ///
    /// # Security
    /// No member is signed in: the company comes from the directory
    /// function `metiva_stripe_endpoint()` (company id only, active
    /// companies only), and the request proves itself by the signature
    /// checked inside this transaction with that company's own secret.
    /// It runs as the app role under FORCE'd RLS, never a BYPASSRLS role.
    pub async fn for_stripe_webhook<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Write, f).await
    }

    /// Cross-tenant entry point, a Twilio status callback
    /// (`POST /webhooks/twilio/{endpoint}`, public, outside the tenant
    /// guard): one read-write transaction bound to the company whose
    /// endpoint id was called, in which its Twilio auth token is opened,
    /// the `X-Twilio-Signature` checked and the message status recorded.
    ///
    /// # Security
    /// No member is signed in: the company comes from the directory
    /// function `metiva_twilio_endpoint()` (company id only, active
    /// companies only), and the request proves itself by the signature
    /// checked inside this transaction with that company's own token.
    /// It runs as the app role under FORCE'd RLS.
    pub async fn for_twilio_webhook<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Write, f).await
    }

    /// Cross-tenant entry point 6, the data keys (issue 16): reads or
    /// creates one company's wrapped data key, and rewraps it at rotation,
    /// under that company's own binding, so RLS keeps every other
    /// company's key out of reach. The company is the one whose value is
    /// about to be sealed or opened (a request's, an ingest site's, a
    /// rotation's walk). Never a read of any data but `company_keys`.
    pub async fn for_data_keys<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Write, f).await
    }

    /// Cross-tenant entry point 7, offboarding (`metiva offboard`, run as
    /// the owner role, never reachable from a request): one short
    /// transaction per batch, bound to the company being removed, so even
    /// the owner role (FORCE'd RLS) can only see and delete that
    /// company's rows.
    pub async fn for_offboarding<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Write, f).await
    }

    /// Runs `f` in one read-write transaction bound to `company`, with no
    /// named purpose: tests and benchmarks only (`test-support`).
    #[cfg(feature = "test-support")]
    pub async fn tenant<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Write, f).await
    }

    /// Runs `f` in one read-only transaction bound to `company`; writes
    /// fail (SQLSTATE 25006). Tests and benchmarks only (`test-support`).
    #[cfg(feature = "test-support")]
    pub async fn tenant_read<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.run(company, None, Mode::Read, f).await
    }
}
