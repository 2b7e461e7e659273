//! A member's in-app notices: today the SLA breach of a first-response
//! task assigned to them (made by the sweep), shown on `/tasks` until
//! dismissed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::access::TenantCtx;
use crate::schema::{notifications, tasks};
use crate::{Database, DbError, TenantConn};

/// An unread notice as `/tasks` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: Uuid,
    pub kind: String,
    pub task_id: Uuid,
    pub task_person_id: Option<Uuid>,
    pub task_due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

type NoticeRow = (
    Uuid,
    String,
    Uuid,
    Option<Uuid>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
);

/// The most notices a page lists.
pub const NOTICES_SHOWN: i64 = 20;

/// The member's unread notices, newest first (at most [`NOTICES_SHOWN`]),
/// and how many are unread in all.
pub async fn unread(tc: &mut TenantConn<'_>, user: Uuid) -> Result<(Vec<Notice>, i64), DbError> {
    let company = tc.company().as_str().to_string();
    let base = notifications::table
        .filter(notifications::company_id.eq(&company))
        .filter(notifications::user_id.eq(user))
        .filter(notifications::read_at.is_null());
    let total: i64 = base.count().get_result(tc.conn()).await?;
    let rows: Vec<NoticeRow> = base
        .inner_join(
            tasks::table.on(tasks::company_id
                .eq(notifications::company_id)
                .and(tasks::id.eq(notifications::task_id))),
        )
        .order(notifications::created_at.desc())
        .limit(NOTICES_SHOWN)
        .select((
            notifications::id,
            notifications::kind,
            notifications::task_id,
            tasks::person_id,
            tasks::due_at,
            notifications::created_at,
        ))
        .load(tc.conn())
        .await?;
    Ok((
        rows.into_iter()
            .map(
                |(id, kind, task_id, task_person_id, task_due_at, created_at)| Notice {
                    id,
                    kind,
                    task_id,
                    task_person_id,
                    task_due_at,
                    created_at,
                },
            )
            .collect(),
        total,
    ))
}

impl Database {
    /// The signed-in member's unread notices and their count.
    pub async fn my_notices(&self, ctx: &TenantCtx) -> Result<(Vec<Notice>, i64), DbError> {
        let me = ctx.user_id();
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| unread(tc, me).await)
            .await
    }

    /// Marks all of the signed-in member's notices read; answers how many.
    /// Only the member's own (the filter on `user_id`), under RLS.
    pub async fn dismiss_notices(&self, ctx: &TenantCtx) -> Result<usize, DbError> {
        let me = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            Ok(diesel::update(
                notifications::table
                    .filter(notifications::company_id.eq(&company))
                    .filter(notifications::user_id.eq(me))
                    .filter(notifications::read_at.is_null()),
            )
            .set(
                notifications::read_at.eq(diesel::dsl::now
                    .into_sql::<diesel::sql_types::Timestamptz>()
                    .nullable()),
            )
            .execute(tc.conn())
            .await?)
        })
        .await
    }
}
