//! `/settings/jobs`: a workspace's open jobs, and "retry now" and
//! "discard" for a member's request (resolved access, re-asserted in the
//! transaction). Callers check `jobs.read` / `jobs.manage` first.

use uuid::Uuid;

use super::store::{JobRow, discard, list_open, retry_now};
use crate::{Database, DbError, TenantConn, TenantCtx};

/// The most jobs the page lists.
pub const PAGE_LIMIT: i64 = 200;

impl Database {
    /// The workspace's queued, running, failed and dead jobs.
    pub async fn open_jobs(&self, ctx: &TenantCtx) -> Result<Vec<JobRow>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            list_open(tc, PAGE_LIMIT).await
        })
        .await
    }

    /// "Retry now" by the member in `ctx`; audited. `NotFound` for another
    /// workspace's job or one that is not failed or dead.
    pub async fn retry_job(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        request_id: &str,
    ) -> Result<(), DbError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            retry_now(tc, id, actor, request_id).await
        })
        .await
    }

    /// "Discard" by the member in `ctx`; audited. `NotFound` for another
    /// workspace's job or one that is running or finished.
    pub async fn discard_job(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        request_id: &str,
    ) -> Result<(), DbError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            discard(tc, id, actor, request_id).await
        })
        .await
    }
}
