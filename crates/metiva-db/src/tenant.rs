//! The one way to run tenant queries: [`TenantConn`].
//!
//! # Security
//! A `TenantConn` exists only inside [`Database::tenant`] or
//! [`Database::tenant_read`], after `BEGIN` and
//! `SET LOCAL app.company_id = …` were sent on its connection. The
//! setting is transaction-local (`LOCAL`), never session-level, so it ends at
//! COMMIT or ROLLBACK and a reused connection reads `''`, which the policies
//! turn into NULL: no rows.
//!
//! A connection whose transaction did not end cleanly (an error while
//! ending it, or a request cancelled mid-flight) is never returned to the
//! pool: it is detached and closed, and the server rolls it back.
//!
//! Cost: one request is one transaction. `BEGIN` + `SET LOCAL` go out in
//! the same write as the closure's first query (pipelining), and a
//! read-only transaction's `COMMIT` completes after the caller already has
//! its answer. See `cargo xtask bench`.

use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};

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
    obj: Option<Object<AsyncPgConnection>>,
}

impl Lease {
    fn conn(&self) -> Result<&AsyncPgConnection, DbError> {
        self.obj
            .as_deref()
            .ok_or_else(|| DbError::Internal("lease already released".into()))
    }

    /// The transaction ended cleanly: the connection may be reused.
    fn release(mut self) {
        drop(self.obj.take());
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
    read_only: bool,
    access: Option<&Access>,
) -> Result<(), DbError> {
    let begin = if read_only {
        "BEGIN READ ONLY"
    } else {
        "BEGIN"
    };
    debug_assert!(CompanyId::parse(company.as_str()).is_ok());
    let mut sql = format!("{begin}; SET LOCAL app.company_id = '{}'", company.as_str());
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
        read_only: bool,
        access: Option<&Access>,
        f: F,
    ) -> Result<(Lease, Result<T, DbError>), DbError>
    where
        F: for<'c> AsyncFnOnce(&mut TenantConn<'c>) -> Result<T, DbError>,
    {
        let lease = Lease {
            obj: Some(self.checkout().await?),
        };
        let result = {
            let conn = lease.conn()?;
            let mut tc = TenantConn { conn, company };
            // Polling BEGIN first puts it on the wire before the closure's
            // first query; they go out together.
            let (begun, out) =
                futures::join!(begin_bound(conn, company, read_only, access), f(&mut tc));
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
        let (lease, result) = self.run_bound(company, false, access, f).await?;
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

    /// Runs `f` in one `READ ONLY` transaction bound to `company`. Writes
    /// fail. The COMMIT is put on the wire at once but awaited in a
    /// background task, so the caller does not wait one more round trip for
    /// a transaction that changed nothing; the connection returns to the
    /// pool only after it.
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
        let (lease, result) = self.run_bound(company, true, access, f).await?;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let mut finish = Box::pin(async move {
            let ended = match lease.conn() {
                Ok(mut c) => c.batch_execute(end).await.is_ok(),
                Err(_) => false,
            };
            if ended {
                lease.release();
            }
        });
        // Poll once here so COMMIT is on the wire now, right behind the
        // query; only waiting for its answer moves to a background task.
        if futures::poll!(finish.as_mut()).is_pending() {
            tokio::spawn(finish);
        }
        result
    }
}
