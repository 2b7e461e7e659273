//! Persons and deals with their chain: visitor → person → deal.

use crate::access::TenantCtx;
use crate::repo::cached::{self, BindCached as _};
use crate::{Database, DbError, TenantConn};
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::Uuid as SqlUuid;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

/// A person with the chain: visitors that led to them, and their deals.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRecord {
    pub person: crate::repo::persons::Person,
    pub visitors: Vec<LinkedVisitor>,
    pub deals: Vec<crate::repo::deals::Deal>,
    /// The record's tasks and notes and the active members (assignees,
    /// note authors): the page's work panel, read in the same transaction.
    pub tasks: Vec<crate::crm::tasks::Task>,
    pub notes: Vec<crate::crm::tasks::Note>,
    pub members: Vec<(Uuid, String)>,
    /// The person's conversion uploads (issue 18's panel), read in the
    /// same transaction rather than one of its own (issue 15).
    pub uploads: Vec<crate::conversions::UploadStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct LinkedVisitor {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub domain: String,
    #[diesel(sql_type = Timestamptz)]
    pub first_seen: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_seen: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub views: i64,
    #[diesel(sql_type = Bool)]
    pub marketing: bool,
    #[diesel(sql_type = Integer)]
    pub pending_forwards: i32,
}

/// A deal with its person and that person's visitors.
#[derive(Debug, Clone, PartialEq)]
pub struct DealRecord {
    pub deal: crate::repo::deals::Deal,
    pub person: Option<crate::repo::persons::Person>,
    pub visitors: Vec<LinkedVisitor>,
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PersonSummary {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub organisation: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub deals: i64,
    #[diesel(sql_type = BigInt)]
    pub visitors: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DealSummary {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = BigInt)]
    pub value_cents: i64,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = Text)]
    pub stage: String,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub person_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub person_name: Option<String>,
}

impl Database {
    /// One page of the workspace's persons, most recently updated first,
    /// with how many deals and visitors each has: at most `limit` rows
    /// after `after` (the last row of the previous page; keyset, so a deep
    /// page costs what the first does).
    pub async fn person_list(
        &self,
        ctx: &TenantCtx,
        after: Option<PersonCursor>,
        limit: i64,
    ) -> Result<Vec<PersonSummary>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            person_page(tc, after, limit).await
        })
        .await
    }

    /// One person with the chain (the visitors that led to them and their
    /// deals), the work panel (tasks, notes, members) and the conversion
    /// uploads: the whole person page in one transaction, so one tenant
    /// binding (issue 15). `None`
    /// when not found (another tenant's person is not found).
    pub async fn person_record(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<PersonRecord>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            // One pipelined flight (issue 15): the reads do not depend on
            // each other, so they go out together behind BEGIN and the
            // binding instead of one round trip each (the notes follow
            // the tasks). A missing person costs the other reads, which
            // find nothing; the answer is the same `None`.
            let (mut v, mut d, mut w, mut m, mut u) =
                (tc.fork(), tc.fork(), tc.fork(), tc.fork(), tc.fork());
            let (person, visitors, deals, (tasks, notes), members, uploads) = futures::try_join!(
                async { found(crate::repo::persons::get(tc, id).await) },
                linked_visitors(&mut v, id),
                crate::repo::deals::list_for_person(&mut d, id),
                crate::crm::tasks::record_work(&mut w, crate::crm::tasks::Link::Person(id)),
                crate::crm::active_members(&mut m),
                crate::conversions::uploads_of(&mut u, crate::conversions::UploadsOf::Person(id)),
            )?;
            let Some(person) = person else {
                return Ok(None);
            };
            Ok(Some(PersonRecord {
                person,
                visitors,
                deals,
                tasks,
                notes,
                members,
                uploads,
            }))
        })
        .await
    }

    /// One deal with its person and that person's visitors (the same
    /// record as the person's).
    pub async fn deal_record(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<DealRecord>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let Some(deal) = found(crate::repo::deals::get(tc, id).await)? else {
                return Ok(None);
            };
            let (person, visitors) = match deal.person_id {
                Some(pid) => (
                    Some(crate::repo::persons::get(tc, pid).await?),
                    linked_visitors(tc, pid).await?,
                ),
                None => (None, Vec::new()),
            };
            Ok(Some(DealRecord {
                deal,
                person,
                visitors,
            }))
        })
        .await
    }
}

/// Where a page of the person list starts: the previous page's last row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonCursor {
    pub updated_at: DateTime<Utc>,
    pub id: Uuid,
}

/// The most rows one call reads: a page of 50 and one more, which tells
/// whether another page follows. A literal in the statements below, so
/// their generic plan is as good as a custom one and each is planned once
/// per connection (a bound LIMIT made PostgreSQL plan it on every call).
pub const PERSON_PAGE_MAX: i64 = 51;

// Raw SQL below: row-value keyset comparisons and aggregates joined once
// over the page's ids, which Diesel's DSL does not express. The counts are
// one grouped index scan per table over the page's persons (not a
// correlated subquery per row); the page itself is an index range scan on
// `persons_updated_id_idx` (company_id, updated_at DESC, id DESC), so the
// RLS predicate and the sort key are one index (migration
// `page_shapes`). `company_id = $1` beside RLS on every table.
const PERSON_PAGE_FIRST: &str = "WITH page AS (
         SELECT id, name, email, organisation, updated_at FROM persons
         WHERE company_id = $1
         ORDER BY updated_at DESC, id DESC LIMIT 51)
     SELECT p.id, p.name, p.email, p.organisation, p.updated_at,
            COALESCE(d.n, 0) AS deals, COALESCE(v.n, 0) AS visitors
     FROM page p
     LEFT JOIN (SELECT person_id, count(*) AS n FROM deals
                WHERE company_id = $1 AND person_id IN (SELECT id FROM page)
                GROUP BY person_id) d ON d.person_id = p.id
     LEFT JOIN (SELECT person_id, count(*) AS n FROM visitors
                WHERE company_id = $1 AND person_id IN (SELECT id FROM page)
                GROUP BY person_id) v ON v.person_id = p.id
     ORDER BY p.updated_at DESC, p.id DESC";

const PERSON_PAGE_AFTER: &str = "WITH page AS (
         SELECT id, name, email, organisation, updated_at FROM persons
         WHERE company_id = $1 AND (updated_at, id) < ($2, $3)
         ORDER BY updated_at DESC, id DESC LIMIT 51)
     SELECT p.id, p.name, p.email, p.organisation, p.updated_at,
            COALESCE(d.n, 0) AS deals, COALESCE(v.n, 0) AS visitors
     FROM page p
     LEFT JOIN (SELECT person_id, count(*) AS n FROM deals
                WHERE company_id = $1 AND person_id IN (SELECT id FROM page)
                GROUP BY person_id) d ON d.person_id = p.id
     LEFT JOIN (SELECT person_id, count(*) AS n FROM visitors
                WHERE company_id = $1 AND person_id IN (SELECT id FROM page)
                GROUP BY person_id) v ON v.person_id = p.id
     ORDER BY p.updated_at DESC, p.id DESC";

/// One page of the person list, in the caller's transaction.
pub(crate) async fn person_page(
    tc: &mut TenantConn<'_>,
    after: Option<PersonCursor>,
    limit: i64,
) -> Result<Vec<PersonSummary>, DbError> {
    let company = tc.company().as_str().to_string();
    let limit = usize::try_from(limit.clamp(1, PERSON_PAGE_MAX)).unwrap_or(1);
    let mut rows: Vec<PersonSummary> = match after {
        None => {
            cached::sql(PERSON_PAGE_FIRST)
                .bind::<Text, _>(company)
                .load(tc.conn())
                .await?
        }
        Some(c) => {
            cached::sql(PERSON_PAGE_AFTER)
                .bind::<Text, _>(company)
                .bind::<Timestamptz, _>(c.updated_at)
                .bind::<SqlUuid, _>(c.id)
                .load(tc.conn())
                .await?
        }
    };
    rows.truncate(limit);
    Ok(rows)
}

/// `NotFound` as `None` (another tenant's row is simply not found).
fn found<T>(r: Result<T, DbError>) -> Result<Option<T>, DbError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(DbError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn linked_visitors(
    tc: &mut TenantConn<'_>,
    person: Uuid,
) -> Result<Vec<LinkedVisitor>, DbError> {
    // Raw SQL: correlated count subqueries in the select list, which Diesel's DSL does not
    // express.
    Ok(cached::sql(
        "SELECT v.id, s.domain, v.first_seen, v.last_seen, v.marketing,
                (SELECT count(*) FROM page_views p WHERE p.company_id = v.company_id AND p.visitor_id = v.id) AS views,
                (SELECT count(*)::int FROM forwards f
                  WHERE f.company_id = v.company_id AND f.visitor_id = v.id AND f.status = 'pending') AS pending_forwards
         FROM visitors v JOIN sites s ON s.company_id = v.company_id AND s.id = v.site_id
         WHERE v.company_id = $1 AND v.person_id = $2
         ORDER BY v.last_seen DESC",
    )
    .bind::<Text, _>(tc.company().as_str().to_string())
    .bind::<SqlUuid, _>(person)
    .load(tc.conn())
    .await?)
}
