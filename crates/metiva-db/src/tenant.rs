//! The one way to run tenant queries: [`TenantConn`].
//!
//! # Security
//! A `TenantConn` exists only inside [`Database::tenant`] or
//! [`Database::tenant_read`], with `app.company_id` set transaction-locally
//! for every statement it runs:
//!
//! - `tenant` (read-write): `BEGIN; SET LOCAL app.company_id = …` goes out
//!   before the closure's first query, and the closure's work commits or
//!   rolls back as one transaction.
//! - `tenant_read`: each query carries `set_config('app.company_id', $1,
//!   true)` in front of it, in the same request, and so in the same implicit
//!   transaction, made read-only (see `wire`).
//!
//! Either way the setting is local to a transaction, never session-level,
//! so it ends at COMMIT, ROLLBACK or `Sync` and a reused connection reads
//! `''`, which the policies turn into NULL: no rows.
//!
//! A connection whose transaction did not end cleanly (an error while
//! ending it, or a request cancelled mid-flight) is never returned to the
//! pool: it is detached and closed, and the server rolls it back.
//!
//! Cost: one request is one transaction (`tenant`), or one round trip per
//! query (`tenant_read`). See `cargo xtask bench`.

use deadpool::managed::Object;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};

use crate::pool::{PgConn, PgManager};
use crate::wire;
use crate::{CompanyId, Database, DbError};

/// A connection inside a tenant transaction. Repositories take
/// `&mut TenantConn`; nothing outside this crate can run SQL through it.
pub struct TenantConn<'c> {
    conn: &'c AsyncPgConnection,
    company: &'c CompanyId,
}

impl<'c> TenantConn<'c> {
    /// The company this transaction is bound to.
    pub fn company(&self) -> &CompanyId {
        self.company
    }

    /// The raw connection, for repositories in this crate only.
    pub(crate) fn conn(&mut self) -> &mut &'c AsyncPgConnection {
        &mut self.conn
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

    fn conn(&self) -> Result<&AsyncPgConnection, DbError> {
        Ok(&self.pg()?.conn)
    }

    /// The transaction ended cleanly: the connection may be reused.
    fn release(mut self) {
        if let Some(obj) = self.obj.take() {
            obj.tap.disarm();
            drop(obj);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(obj) = self.obj.take() {
            // Security: never hand a connection that may still be inside a
            // transaction (with a tenant setting), or still armed with a
            // tenant prelude, to the next request.
            obj.tap.disarm();
            tracing::debug!("detaching a connection whose transaction did not end cleanly");
            drop(Object::take(obj));
        }
    }
}

/// Opens the transaction and binds it to `company` in one simple-protocol
/// message: `BEGIN; SET LOCAL app.company_id = '<id>'`.
///
/// # Security
/// `LOCAL`: the setting lives until COMMIT or ROLLBACK, never longer (the
/// same as `set_config(…, true)`). The id is spliced into the SQL, which is
/// safe only because a [`CompanyId`] can hold nothing but `cmp_[0-9a-f]{6}`
/// (its sole constructor checks). One message instead of two saves the
/// server a round of work per request, and `SET LOCAL` is a utility
/// statement, so unlike `SELECT set_config(…)` it is neither planned nor
/// answered with a row (see `cargo xtask bench`).
async fn begin_bound(
    mut conn: &AsyncPgConnection,
    company: &CompanyId,
    access: Option<&Access>,
) -> Result<(), DbError> {
    debug_assert!(CompanyId::parse(company.as_str()).is_ok());
    let mut sql = format!("BEGIN; SET LOCAL app.company_id = '{}'", company.as_str());
    if let Some(a) = access {
        // Inlined like the company id, and as safe: a `Uuid` prints as
        // hex and hyphens only, and the role key is a `&'static str` from
        // the registry.
        sql.push_str(&format!(
            "; SELECT metiva_assert_access('{}', '{}', '{}')",
            a.user, a.session, a.role
        ));
    }
    conn.batch_execute(&sql).await?;
    Ok(())
}

/// The access a request was granted, re-asserted at the start of its
/// transaction (see `metiva_assert_access`).
pub(crate) struct Access {
    pub(crate) user: uuid::Uuid,
    pub(crate) session: uuid::Uuid,
    pub(crate) role: &'static str,
}

impl Database {
    /// Checks out a connection and runs `f` inside a transaction bound to
    /// `company`, leaving the transaction open for the caller to end.
    async fn run_bound<T, F>(
        &self,
        company: &CompanyId,
        access: Option<&Access>,
        f: F,
    ) -> Result<(Lease, Result<T, DbError>), DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        let lease = Lease {
            obj: Some(self.checkout_object().await?),
        };
        let result = {
            let conn = lease.conn()?;
            let mut tc = TenantConn { conn, company };
            // Polling BEGIN first puts it on the wire before the closure's
            // first query; they go out together.
            let (begun, out) = futures::join!(begin_bound(conn, company, access), f(&mut tc));
            begun.and(out)
        };
        Ok((lease, result))
    }

    /// Runs `f` in one read-write transaction bound to `company`. Commits
    /// when `f` returns `Ok` (and only then reports success: acknowledged
    /// writes are durable); rolls back otherwise.
    pub async fn tenant<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.tenant_with(company, None, f).await
    }

    pub(crate) async fn tenant_with<T, F>(
        &self,
        company: &CompanyId,
        access: Option<&Access>,
        f: F,
    ) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        let (lease, result) = self.run_bound(company, access, f).await?;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = { lease.conn()? }.batch_execute(end).await;
        match (result, ended) {
            (Ok(v), Ok(())) => {
                lease.release();
                Ok(v)
            }
            (Ok(_), Err(e)) => Err(e.into()),
            (Err(e), Ok(())) => {
                lease.release();
                Err(e)
            }
            (Err(e), Err(_)) => Err(e),
        }
    }

    /// Runs `f` with every query bound to `company`, read-only. Writes
    /// fail.
    ///
    /// Each query carries the tenant binding in its own request (see
    /// `wire`): `set_config('app.company_id', …, true)` and the query run
    /// in one implicit transaction that ends at the request's `Sync`. No
    /// `BEGIN`, no `SET LOCAL`, no `COMMIT`: one round trip per query, as
    /// for a plain query. Under READ COMMITTED that is what a read-only
    /// transaction gave too: every statement sees its own snapshot.
    pub async fn tenant_read<T, F>(&self, company: &CompanyId, f: F) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        self.tenant_read_with(company, None, f).await
    }

    pub(crate) async fn tenant_read_with<T, F>(
        &self,
        company: &CompanyId,
        access: Option<&Access>,
        f: F,
    ) -> Result<T, DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        let mut lease = Lease {
            obj: Some(self.checkout_object().await?),
        };
        let pc = lease
            .obj
            .as_deref_mut()
            .ok_or_else(|| DbError::Internal("lease already released".into()))?;
        if !pc.prelude_prepared {
            // Once per connection: the statements the prelude names.
            pc.conn.batch_execute(wire::PREPARE_SQL).await?;
            pc.prelude_prepared = true;
        }
        let pc = lease.pg()?;
        pc.tap.arm(
            company.as_str(),
            access.map(|a| [a.user.to_string(), a.session.to_string(), a.role.to_owned()]),
        );
        let result = {
            let mut tc = TenantConn {
                conn: &pc.conn,
                company,
            };
            f(&mut tc).await
        };
        // Every query of `f` ended with its own request: there is no
        // transaction to end. `release` disarms the tap before the
        // connection goes back; a lease dropped before this point (a
        // cancelled request) is detached instead.
        lease.release();
        result
    }
}
