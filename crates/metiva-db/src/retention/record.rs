//! The sweep's bookkeeping: each batch adds its count to the sweep's
//! claim row (`retention_sweeps`) in its own transaction.

use diesel::dsl::now;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::Class;
use crate::schema::retention_sweeps;
use crate::{DbError, TenantConn};

/// Adds a batch's count to the claim and refreshes its heartbeat, in the
/// batch's own transaction; fails (rolling the batch back) when the claim
/// was closed meanwhile.
pub(super) async fn record(
    tc: &mut TenantConn<'_>,
    run: Uuid,
    class: Class,
    n: i64,
) -> Result<(), DbError> {
    use retention_sweeps as s;
    let company = tc.company().as_str().to_string();
    let target = s::table
        .filter(s::company_id.eq(&company))
        .filter(s::id.eq(run))
        .filter(s::finished_at.is_null());
    let batch = i32::from(n > 0);
    let q = diesel::update(target);
    let changed = match class {
        Class::PageViews => {
            q.set((
                s::page_views.eq(s::page_views + n),
                s::batches.eq(s::batches + batch),
                s::heartbeat_at.eq(now),
            ))
            .execute(tc.conn())
            .await?
        }
        Class::Contacts => {
            q.set((
                s::contacts.eq(s::contacts + n),
                s::batches.eq(s::batches + batch),
                s::heartbeat_at.eq(now),
            ))
            .execute(tc.conn())
            .await?
        }
        Class::ConsentDecisions => {
            q.set((
                s::consent_decisions.eq(s::consent_decisions + n),
                s::batches.eq(s::batches + batch),
                s::heartbeat_at.eq(now),
            ))
            .execute(tc.conn())
            .await?
        }
        Class::Visitors => {
            q.set((
                s::visitors.eq(s::visitors + n),
                s::batches.eq(s::batches + batch),
                s::heartbeat_at.eq(now),
            ))
            .execute(tc.conn())
            .await?
        }
        Class::Audit => {
            q.set((
                s::audit_rows.eq(s::audit_rows + n),
                s::batches.eq(s::batches + batch),
                s::heartbeat_at.eq(now),
            ))
            .execute(tc.conn())
            .await?
        }
    };
    if changed == 1 {
        Ok(())
    } else {
        Err(DbError::Internal("retention sweep: claim lost".into()))
    }
}
