//! One website visitor's record (`/visitors/{id}`): what the visitor page
//! shows before a member erases or exports the visitor (issue 16).
//!
//! # Security
//! Under the member's tenant binding (RLS) with `company_id` filtered
//! beside it; another workspace's id is `None`, like an unknown one. The
//! record holds ids, consent flags, dates and counts: the visitor key (the
//! cookie value) is not shown, nor any IP.

use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::access::TenantCtx;
use crate::schema::{consent_decisions, forwards, sites, visitors};
use crate::{Database, DbError, TenantConn};

/// A visitor with its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorRecord {
    pub id: Uuid,
    pub domain: String,
    pub analytics: bool,
    pub identification: bool,
    pub marketing: bool,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The contact a consented capture linked it to.
    pub person_id: Option<Uuid>,
    pub views: i64,
    pub consent_decisions: i64,
    pub forwards: i64,
}

type Head = (
    Uuid,
    String,
    bool,
    bool,
    bool,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<Uuid>,
    i64,
);

impl Database {
    /// The visitor `id` of this workspace, read in one snapshot; `None`
    /// for an unknown id or another workspace's.
    pub async fn visitor_record(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<VisitorRecord>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let head: Option<Head> = visitors::table
                .inner_join(
                    sites::table.on(sites::company_id
                        .eq(visitors::company_id)
                        .and(sites::id.eq(visitors::site_id))),
                )
                .filter(visitors::company_id.eq(&company))
                .filter(visitors::id.eq(id))
                .select((
                    visitors::id,
                    sites::domain,
                    visitors::analytics,
                    visitors::identification,
                    visitors::marketing,
                    visitors::first_seen,
                    visitors::last_seen,
                    visitors::person_id,
                    // Kept exact by statement triggers on page_views
                    // (migration 000061), not a count per view.
                    visitors::views_count,
                ))
                .first(tc.conn())
                .await
                .optional()?;
            let Some((
                id,
                domain,
                analytics,
                identification,
                marketing,
                first,
                last,
                person,
                views,
            )) = head
            else {
                return Ok(None);
            };
            let decisions: i64 = consent_decisions::table
                .filter(consent_decisions::company_id.eq(&company))
                .filter(consent_decisions::visitor_id.eq(id))
                .select(count_star())
                .first(tc.conn())
                .await?;
            let sent: i64 = forwards::table
                .filter(forwards::company_id.eq(&company))
                .filter(forwards::visitor_id.eq(id))
                .select(count_star())
                .first(tc.conn())
                .await?;
            Ok(Some(VisitorRecord {
                id,
                domain,
                analytics,
                identification,
                marketing,
                first_seen: first,
                last_seen: last,
                person_id: person,
                views,
                consent_decisions: decisions,
                forwards: sent,
            }))
        })
        .await
    }
}
