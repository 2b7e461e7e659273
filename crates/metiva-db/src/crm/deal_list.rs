//! The deal list: every deal of the workspace (open, won and lost),
//! filtered by stage, owner and closing month, sorted, a page at a time.
//! The count and the page come from one snapshot, so they agree. The same
//! filter feeds the CSV export of the list as the user sees it.

use chrono::{DateTime, Months, NaiveDate, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::validate::{Check, FieldError, optional};
use crate::access::TenantCtx;
use crate::schema::{deals, memberships, users};
use crate::{Database, DbError, TenantConn};

/// Deals on one page of the list.
pub const PAGE_SIZE: i64 = 100;

/// The most deals one CSV export carries.
pub const EXPORT_LIMIT: i64 = 50_000;

/// What the list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DealSort {
    /// Most recently changed first (the default).
    #[default]
    Updated,
    Title,
    Value,
    Close,
}

impl DealSort {
    pub const ALL: [DealSort; 4] = [
        DealSort::Updated,
        DealSort::Title,
        DealSort::Value,
        DealSort::Close,
    ];

    pub fn key(self) -> &'static str {
        match self {
            DealSort::Updated => "updated",
            DealSort::Title => "title",
            DealSort::Value => "value",
            DealSort::Close => "close",
        }
    }
}

/// A validated filter.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DealFilter {
    pub stage: Option<String>,
    pub owner: Option<Uuid>,
    /// The first day of the closing month.
    pub month: Option<NaiveDate>,
    pub sort: DealSort,
    pub descending: bool,
    /// From 1.
    pub page: i64,
}

/// The filter as the list's query string carries it.
#[derive(Debug, Clone, Default)]
pub struct DealQuery<'a> {
    pub stage: Option<&'a str>,
    pub owner: Option<&'a str>,
    /// `YYYY-MM`, as a month input posts it.
    pub month: Option<&'a str>,
    pub sort: Option<&'a str>,
    /// `asc` or `desc`.
    pub dir: Option<&'a str>,
    pub page: Option<&'a str>,
}

impl DealQuery<'_> {
    /// Checks the filter before any SQL; a malformed value names its
    /// parameter (422), it is never silently dropped.
    pub fn validate(&self) -> Result<DealFilter, Vec<FieldError>> {
        let mut c = Check::default();
        let stage = optional(self.stage);
        if stage.as_ref().is_some_and(|s| s.len() > 40) {
            c.fail("stage", "unknown");
        }
        let owner = super::parse_ref(&mut c, "owner", self.owner);
        let month = optional(self.month).and_then(|m| {
            let d = NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok();
            if d.is_none() {
                c.fail("month", "month.format");
            }
            d
        });
        let sort = match optional(self.sort) {
            None => DealSort::default(),
            Some(s) => DealSort::ALL
                .into_iter()
                .find(|k| k.key() == s)
                .unwrap_or_else(|| {
                    c.fail("sort", "unknown");
                    DealSort::default()
                }),
        };
        let descending = match optional(self.dir).as_deref() {
            None => sort == DealSort::Updated || sort == DealSort::Value,
            Some("desc") => true,
            Some("asc") => false,
            Some(_) => {
                c.fail("dir", "unknown");
                false
            }
        };
        let page = match optional(self.page).map(|p| p.parse::<i64>()) {
            None => 1,
            Some(Ok(p)) if (1..=100_000).contains(&p) => p,
            Some(_) => {
                c.fail("page", "unknown");
                1
            }
        };
        c.finish(DealFilter {
            stage,
            owner,
            month,
            sort,
            descending,
            page,
        })
    }
}

/// A deal as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DealRow {
    pub id: Uuid,
    pub title: String,
    pub value_cents: i64,
    pub currency: String,
    pub stage: String,
    pub expected_close: Option<NaiveDate>,
    pub owner: Option<String>,
    pub person: Option<String>,
    pub organisation: Option<String>,
    pub updated_at: DateTime<Utc>,
}

type Raw = (
    Uuid,
    String,
    i64,
    String,
    String,
    Option<NaiveDate>,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    DateTime<Utc>,
);

/// The filtered deals, boxed so sorting can be chosen at run time. Every
/// branch keeps the explicit `company_id` filter beside RLS and starts
/// from the company-leading indexes.
fn filtered<'a>(company: &'a str, f: &'a DealFilter) -> deals::BoxedQuery<'a, diesel::pg::Pg> {
    let mut q = deals::table
        .filter(deals::company_id.eq(company))
        .into_boxed();
    if let Some(s) = &f.stage {
        q = q.filter(deals::stage.eq(s));
    }
    if let Some(o) = f.owner {
        q = q.filter(deals::owner_user_id.eq(o));
    }
    if let Some(m) = f.month {
        let next = m.checked_add_months(Months::new(1)).unwrap_or(m);
        q = q
            .filter(deals::expected_close.ge(m))
            .filter(deals::expected_close.lt(next));
    }
    q
}

fn sorted<'a>(
    q: deals::BoxedQuery<'a, diesel::pg::Pg>,
    f: &DealFilter,
) -> deals::BoxedQuery<'a, diesel::pg::Pg> {
    // The id breaks ties, so pages never overlap or skip a deal.
    match (f.sort, f.descending) {
        (DealSort::Updated, true) => q.order((deals::updated_at.desc(), deals::id.desc())),
        (DealSort::Updated, false) => q.order((deals::updated_at.asc(), deals::id.asc())),
        (DealSort::Title, true) => q.order((deals::title.desc(), deals::id.desc())),
        (DealSort::Title, false) => q.order((deals::title.asc(), deals::id.asc())),
        (DealSort::Value, true) => q.order((deals::value_cents.desc(), deals::id.desc())),
        (DealSort::Value, false) => q.order((deals::value_cents.asc(), deals::id.asc())),
        (DealSort::Close, true) => {
            q.order((deals::expected_close.desc().nulls_last(), deals::id.desc()))
        }
        (DealSort::Close, false) => {
            q.order((deals::expected_close.asc().nulls_last(), deals::id.asc()))
        }
    }
}

async fn rows(
    tc: &mut TenantConn<'_>,
    f: &DealFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<DealRow>, DbError> {
    let company = tc.company().as_str().to_string();
    let raw: Vec<Raw> = sorted(filtered(&company, f), f)
        .offset(offset)
        .limit(limit)
        .select((
            deals::id,
            deals::title,
            deals::value_cents,
            deals::currency,
            deals::stage,
            deals::expected_close,
            deals::owner_user_id,
            deals::person_id,
            deals::organisation_id,
            deals::updated_at,
        ))
        .load(tc.conn())
        .await?;
    let ids = |pick: fn(&Raw) -> Option<Uuid>| -> Vec<Uuid> {
        let mut v: Vec<Uuid> = raw.iter().filter_map(pick).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (owner_ids, person_ids, org_ids) = (ids(|r| r.6), ids(|r| r.7), ids(|r| r.8));
    let owners: Vec<(Uuid, String)> = memberships::table
        .inner_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(memberships::company_id.eq(&company))
        .filter(memberships::user_id.eq_any(&owner_ids))
        .select((memberships::user_id, users::name))
        .load(tc.conn())
        .await?;
    let (people, orgs) = super::deals::linked_names(tc, &person_ids, &org_ids).await?;
    let name = |list: &[(Uuid, String)], id: Option<Uuid>| {
        id.and_then(|id| list.iter().find(|(i, _)| *i == id).map(|(_, n)| n.clone()))
    };
    Ok(raw
        .into_iter()
        .map(|r| DealRow {
            owner: name(&owners, r.6),
            person: name(&people, r.7),
            organisation: name(&orgs, r.8),
            id: r.0,
            title: r.1,
            value_cents: r.2,
            currency: r.3,
            stage: r.4,
            expected_close: r.5,
            updated_at: r.9,
        })
        .collect())
}

impl Database {
    /// How many deals match, and the filter's page of them, from one
    /// snapshot.
    pub async fn deal_list(
        &self,
        ctx: &TenantCtx,
        f: &DealFilter,
    ) -> Result<(i64, Vec<DealRow>), DbError> {
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let total: i64 = filtered(&company, f)
                .select(count_star())
                .get_result(tc.conn())
                .await?;
            let offset = (f.page.max(1) - 1).saturating_mul(PAGE_SIZE);
            let page = rows(tc, f, offset, PAGE_SIZE).await?;
            Ok((total, page))
        })
        .await
    }

    /// Every deal the filter matches (up to [`EXPORT_LIMIT`]), for the
    /// CSV export; audited with the count, in the read's own transaction.
    pub async fn export_deals(
        &self,
        ctx: &TenantCtx,
        f: &DealFilter,
        request_id: &str,
    ) -> Result<Vec<DealRow>, DbError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let list = rows(tc, f, 0, EXPORT_LIMIT).await?;
            crate::repo::audit::append(
                tc,
                &crate::repo::audit::AuditEntry {
                    actor_user_id: Some(actor),
                    action: "crm.deals_exported",
                    target_type: Some("deals"),
                    target_id: Some(&list.len().to_string()),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await?;
            Ok(list)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_is_checked_before_any_sql() {
        let f = DealQuery {
            stage: Some("proposal"),
            month: Some("2027-03"),
            sort: Some("value"),
            ..Default::default()
        }
        .validate();
        let f = f.unwrap_or_default();
        assert_eq!(f.month, NaiveDate::from_ymd_opt(2027, 3, 1));
        assert_eq!((f.sort, f.descending, f.page), (DealSort::Value, true, 1));
        let bad = DealQuery {
            owner: Some("bob"),
            month: Some("maart"),
            sort: Some("secret_column"),
            dir: Some("sideways"),
            page: Some("0"),
            ..Default::default()
        }
        .validate()
        .err()
        .unwrap_or_default();
        let fields: Vec<_> = bad.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["owner", "month", "sort", "dir", "page"]);
    }
}
