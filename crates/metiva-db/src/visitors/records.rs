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
    /// Persons of the workspace, newest first, with how many deals and
    /// consented visitors each has.
    pub async fn person_list(&self, ctx: &TenantCtx) -> Result<Vec<PersonSummary>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            // Raw SQL: correlated count subqueries in the select list, which Diesel's DSL does
            // not express.
            Ok(cached::sql(
                "SELECT p.id, p.name, p.email, p.organisation, p.updated_at,
                        (SELECT count(*) FROM deals d WHERE d.company_id = p.company_id AND d.person_id = p.id) AS deals,
                        (SELECT count(*) FROM visitors v WHERE v.company_id = p.company_id AND v.person_id = p.id) AS visitors
                 FROM persons p WHERE p.company_id = $1
                 ORDER BY p.updated_at DESC, p.name LIMIT 500",
            )
            .bind::<Text, _>(tc.company().as_str().to_string())
            .load(tc.conn())
            .await?)
        })
        .await
    }

    /// One person with the chain: the visitors that led to them and their
    /// deals. `None` when not found (another tenant's person is not found).
    pub async fn person_record(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<PersonRecord>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let Some(person) = found(crate::repo::persons::get(tc, id).await)? else {
                return Ok(None);
            };
            let visitors = linked_visitors(tc, id).await?;
            let deals = crate::repo::deals::list_for_person(tc, id).await?;
            Ok(Some(PersonRecord {
                person,
                visitors,
                deals,
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
