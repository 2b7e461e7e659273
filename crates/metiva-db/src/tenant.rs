//! The one way to run tenant queries: [`TenantConn`].
//!
//! # Security
//! A `TenantConn` exists only inside [`Database::tenant`] or
//! [`Database::tenant_read`], with `app.company_id` set transaction-locally
//! for every statement it runs:
//!
//! - `tenant` (read-write): the closure's first query carries `BEGIN` and
//!   `set_config('app.company_id', $1, true)` in front of it, in the same
//!   request; its later queries run inside that transaction, which commits
//!   or rolls back as one.
//! - `tenant_read`: each query carries `set_config('app.company_id', $1,
//!   true)` in front of it, in the same request, and so in the same implicit
//!   transaction, made read-only.
//!
//! The company id travels as a bind parameter of a prepared statement,
//! never in SQL text (see `wire`).
//!
//! Either way the setting is local to a transaction, never session-level,
//! so it ends at COMMIT, ROLLBACK or `Sync` and a reused connection reads
//! `''`, which the policies turn into NULL: no rows.
//!
//! A connection whose transaction did not end cleanly (an error while
//! ending it, or a request cancelled mid-flight) is never returned to the
//! pool: it is detached and closed, and the server rolls it back.
//!
//! Cost: the binding adds no round trip. `tenant` is one transaction: its
//! queries plus the `COMMIT`; `tenant_read` is one round trip per query.
//! See `cargo xtask bench`.

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

    fn pg_mut(&mut self) -> Result<&mut PgConn, DbError> {
        self.obj
            .as_deref_mut()
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

/// The access a request was granted, re-asserted at the start of its
/// transaction (see `metiva_assert_access`).
pub(crate) struct Access {
    pub(crate) user: uuid::Uuid,
    pub(crate) session: uuid::Uuid,
    pub(crate) role: &'static str,
}

impl Database {
    /// Checks out a connection and arms its tap for `company` (see `wire`),
    /// preparing the prelude's statements first if this connection has not
    /// yet.
    async fn lease(
        &self,
        company: &CompanyId,
        access: Option<&Access>,
        mode: wire::Mode,
    ) -> Result<Lease, DbError> {
        let mut lease = Lease {
            obj: Some(self.checkout_object().await?),
        };
        let pc = lease.pg_mut()?;
        if !pc.prelude_prepared {
            // Once per connection: the statements the prelude names. If
            // this fails or is cancelled, dropping the lease detaches the
            // connection, so a half-done PREPARE is never retried on it.
            pc.conn.batch_execute(wire::PREPARE_SQL).await?;
            pc.prelude_prepared = true;
        }
        pc.tap.arm(
            company.as_str(),
            access.map(|a| [a.user.to_string(), a.session.to_string(), a.role.to_owned()]),
            mode,
        );
        Ok(lease)
    }

    /// Runs `f` on a lease armed for `company` in `mode`, and hands the
    /// lease back with the result for the caller to end.
    async fn run_leased<T, F>(
        &self,
        company: &CompanyId,
        access: Option<&Access>,
        mode: wire::Mode,
        f: F,
    ) -> Result<(Lease, Result<T, DbError>), DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        let lease = self.lease(company, access, mode).await?;
        let result = {
            let mut tc = TenantConn {
                conn: lease.conn()?,
                company,
            };
            f(&mut tc).await
        };
        Ok((lease, result))
    }

    /// Runs `f` in one read-write transaction bound to `company`. Commits
    /// when `f` returns `Ok` (and only then reports success: acknowledged
    /// writes are durable); rolls back otherwise.
    ///
    /// The first query's request opens the transaction and binds it
    /// (`BEGIN`, then `set_config('app.company_id', $1, true)`, then the
    /// query, one `Sync`; see `wire`); later queries run inside it.
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
        let (lease, result) = self
            .run_leased(company, access, wire::Mode::Write, f)
            .await?;
        if !lease.pg()?.tap.sent() {
            // `f` ran no query: no transaction was opened, none to end.
            lease.release();
            return result;
        }
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
        let (lease, result) = self
            .run_leased(company, access, wire::Mode::Read, f)
            .await?;
        // Every query of `f` ended with its own request: there is no
        // transaction to end. `release` disarms the tap before the
        // connection goes back; a lease dropped before this point (a
        // cancelled request) is detached instead.
        lease.release();
        result
    }
}
