//! The visitors page's window over the daily rollups (issue 15): the
//! organisations and the per-day chart from ONE scan of the window's
//! rollup rows, and the CRM organisations matched by name through an
//! index on their stored lowercased name.
//!
//! Measured on 1,000,000 page views (6,880 rollup rows in the window,
//! EXPLAIN ANALYZE on the shared machine): the two statements that each
//! scanned the window took 17.1 + 9.6 ms together, the one below 19.5 ms;
//! the name match fell from 1.44 ms (a sequential scan testing
//! `lower(name) = ANY($2)` against every name) to a hash join's cost, and
//! then to index probes on `name_key` (migration 000060).
//!
//! # Kept windows
//! Still, that statement aggregated every rollup row of the window on
//! every view (16.3 ms per call in the page bench at 1,000,000 page views
//! and 32 connections, the page's largest cost). Its result now is kept
//! per company in [`WindowCache`] with the company's rollup version
//! (`page_view_rollup_marks`, migration 000054) and the UTC day it was
//! computed on. Each view reads the version in its own snapshot (one
//! indexed row) and reuses the kept window only when both match: every
//! change to the rollups bumps the version in the same transaction, so a
//! matching version means these are exactly the rollups the window was
//! computed from, and the page's snapshot stays consistent (its recent
//! views and its counts still describe one moment). Ingest, erasure and
//! the retention sweep bump it through the page-view triggers.
//!
//! # Security
//! A kept window is keyed by the bound company (from the verified
//! context, with its access re-asserted in the reading transaction before
//! the cache is consulted), holds only that company's aggregates, and is
//! served only after that company's own version was read under forced
//! RLS. One window per company: bounded by the companies.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Date, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::{DayCount, OrganisationVisits};
use crate::repo::cached::{self, BindCached as _};
use crate::{DbError, TenantConn};

/// One row of the window statement: an organisation (`day` NULL) or a
/// day of the chart (`day` set, the organisation columns empty).
#[derive(QueryableByName)]
struct WindowRow {
    #[diesel(sql_type = Nullable<Date>)]
    day: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Text>)]
    organisation: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    source: Option<String>,
    #[diesel(sql_type = BigInt)]
    views: i64,
    #[diesel(sql_type = BigInt)]
    pages: i64,
    #[diesel(sql_type = Array<Text>)]
    top_pages: Vec<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    first_seen: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_seen: Option<DateTime<Utc>>,
}

// Raw SQL: grouping sets, a window function, ordered aggregates and a
// zero-filled generate_series, which Diesel's DSL does not express.
// `g` is read twice, so PostgreSQL materialises it: the window's rollup
// rows are scanned and hashed once, into both groupings (by organisation
// and page, and by day). The window is the last `$2` UTC days, today
// included, as the chart shows them. `company_id = $1` beside RLS.
const WINDOW: &str = "WITH g AS (
         SELECT GROUPING(day) = 1 AS by_page, day, organisation, path,
                min(org_source) AS source, sum(views) AS views,
                min(first_at) AS first_at, max(last_at) AS last_at
         FROM page_view_daily
         WHERE company_id = $1 AND day > (now() AT TIME ZONE 'UTC')::date - $2
         GROUP BY GROUPING SETS ((organisation, path), (day))),
     ranked AS (
         SELECT organisation, path, source, views, first_at, last_at,
                row_number() OVER (PARTITION BY organisation ORDER BY views DESC, path) AS rank
         FROM g WHERE by_page),
     orgs AS (
         SELECT organisation, min(source) AS source, sum(views)::bigint AS views,
                count(*) AS pages,
                COALESCE(array_agg(path ORDER BY rank) FILTER (WHERE rank <= 3), '{}') AS top_pages,
                min(first_at) AS first_seen, max(last_at) AS last_seen
         FROM ranked GROUP BY organisation
         ORDER BY organisation IS NULL, views DESC, organisation
         LIMIT 100)
     SELECT NULL::date AS day,
            row_number() OVER (ORDER BY organisation IS NULL, views DESC, organisation) AS ord,
            organisation, source, views, pages, top_pages, first_seen, last_seen
     FROM orgs
     UNION ALL
     SELECT d::date, 0, NULL, NULL, COALESCE(sum(g.views), 0)::bigint, 0, '{}', NULL, NULL
     FROM generate_series((now() AT TIME ZONE 'UTC')::date - ($2 - 1),
                          (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS d
     LEFT JOIN g ON NOT g.by_page AND g.day = d::date
     GROUP BY d
     ORDER BY day NULLS FIRST, ord";

/// The bound company's rollup version and the UTC day, in the caller's
/// snapshot (the same `now()` as the window's). No mark yet: no page view
/// was ever stored, version 0.
const MARK: &str = "SELECT COALESCE((SELECT version FROM page_view_rollup_marks
                                      WHERE company_id = $1), 0) AS version,
            (now() AT TIME ZONE 'UTC')::date AS today";

#[derive(QueryableByName)]
struct Mark {
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Date)]
    today: NaiveDate,
}

/// One company's kept window and what it was computed from.
#[derive(Debug)]
struct Kept {
    version: i64,
    today: NaiveDate,
    days: i32,
    organisations: Vec<OrganisationVisits>,
    per_day: Vec<DayCount>,
}

/// The kept windows, one per company (see the module docs), shared by a
/// pool's clones beside the catalog facts.
#[derive(Debug, Default)]
pub(crate) struct WindowCache {
    kept: std::sync::Mutex<HashMap<String, Arc<Kept>>>,
}

impl WindowCache {
    fn get(&self, company: &str) -> Option<Arc<Kept>> {
        // A poisoned lock only means a panic elsewhere while inserting;
        // an entry is inserted whole, so the map is sound.
        let kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.get(company).cloned()
    }

    fn put(&self, company: String, window: Kept) {
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // A view on an older snapshot does not push out a newer window.
        let newer = kept.get(&company).is_some_and(|k| {
            (k.today, k.version) > (window.today, window.version) && k.days == window.days
        });
        if !newer {
            kept.insert(company, Arc::new(window));
        }
    }
}

/// The window's organisations (at most 100, most views first, the
/// unidentified last) and its per-day counts (zero-filled, oldest first):
/// the kept window when the company's rollups and the day are still the
/// ones it was computed from, else computed now and kept.
pub(super) async fn organisations_and_days(
    tc: &mut TenantConn<'_>,
    days: i32,
    cache: &WindowCache,
) -> Result<(Vec<OrganisationVisits>, Vec<DayCount>), DbError> {
    let company = tc.company().as_str().to_string();
    let mark: Mark = cached::sql(MARK)
        .bind::<Text, _>(&company)
        .get_result(tc.conn())
        .await?;
    if let Some(k) = cache.get(&company)
        && k.version == mark.version
        && k.today == mark.today
        && k.days == days
    {
        return Ok((k.organisations.clone(), k.per_day.clone()));
    }
    let (organisations, per_day) = compute(tc, &company, days).await?;
    cache.put(
        company,
        Kept {
            version: mark.version,
            today: mark.today,
            days,
            organisations: organisations.clone(),
            per_day: per_day.clone(),
        },
    );
    Ok((organisations, per_day))
}

/// The window statement, run now.
async fn compute(
    tc: &mut TenantConn<'_>,
    company: &str,
    days: i32,
) -> Result<(Vec<OrganisationVisits>, Vec<DayCount>), DbError> {
    let rows: Vec<WindowRow> = cached::sql(WINDOW)
        .bind::<Text, _>(company)
        .bind::<Integer, _>(days)
        .load(tc.conn())
        .await?;
    let mut organisations = Vec::new();
    let mut per_day = Vec::new();
    for r in rows {
        match (r.day, r.first_seen, r.last_seen) {
            (Some(day), _, _) => per_day.push(DayCount {
                day,
                views: r.views,
            }),
            (None, Some(first_seen), Some(last_seen)) => {
                organisations.push(OrganisationVisits {
                    organisation: r.organisation,
                    source: r.source,
                    views: r.views,
                    pages: r.pages,
                    top_pages: r.top_pages,
                    first_seen,
                    last_seen,
                });
            }
            // An organisation row always has both times (min and max of
            // NOT NULL columns over at least one row).
            (None, _, _) => {
                return Err(DbError::Internal(
                    "visitors window: an organisation row without its times".into(),
                ));
            }
        }
    }
    Ok((organisations, per_day))
}

#[derive(QueryableByName)]
struct IdName {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
}

// Raw SQL: an array membership test, planned once per connection.
// `lower()` is not LEAKPROOF, so under forced RLS PostgreSQL cannot use
// an expression index on (company_id, lower(name)); the match was a hash
// join over every organisation of the workspace (1,000: 0.54 ms in the
// generic plan). `name_key` is the name lowercased by PostgreSQL itself
// (a stored generated column, migration 000060) with a plain index on
// (company_id, name_key): text equality is LEAKPROOF, so the index
// condition is allowed (0.14 ms, two index probes per shown name).
//
// # Security
// `company_id = $1` beside RLS; the names come from this company's own
// rollups and only select among its organisations.
const CRM_NAMES: &str = "SELECT o.id, o.name
     FROM organisations o
     WHERE o.company_id = $1 AND o.name_key = ANY($2::text[])";

/// The CRM organisations whose lowercased name is one of `names` (already
/// lowercased): id and name.
pub(super) async fn crm_organisations(
    tc: &mut TenantConn<'_>,
    names: Vec<String>,
) -> Result<Vec<(Uuid, String)>, DbError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let company = tc.company().as_str().to_string();
    let rows: Vec<IdName> = cached::sql(CRM_NAMES)
        .bind::<Text, _>(&company)
        .bind::<Array<Text>, _>(names)
        .load(tc.conn())
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name)).collect())
}
