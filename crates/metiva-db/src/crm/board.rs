//! The deal board's columns in one statement (issue 15): every stage's
//! latest cards with their contact's and organisation's names, instead of
//! a query per stage and two more for the names.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{
    Array, BigInt, Date, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::deals::{BoardDeal, CLOSED_COLUMN_LIMIT, OPEN_COLUMN_LIMIT, Stage};
use crate::repo::cached::{self, BindCached as _};
use crate::{DbError, TenantConn};

#[derive(QueryableByName)]
struct Card {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = BigInt)]
    value_cents: i64,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Text)]
    stage: String,
    #[diesel(sql_type = Nullable<Date>)]
    expected_close: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    person_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    person_name: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    organisation_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    organisation_name: Option<String>,
    #[diesel(sql_type = Integer)]
    version: i32,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

// Raw SQL: a LATERAL top-N per stage over an unnested array, which Diesel's
// DSL does not express. Each column is an index range scan on
// `deals_stage_idx` (company_id, stage, updated_at DESC, id DESC); the
// names are joined once. `company_id = $1` beside RLS on every table.
const COLUMNS: &str = "SELECT d.id, d.title, d.value_cents, d.currency, d.stage, d.expected_close,
            d.person_id, p.name AS person_name, d.organisation_id, o.name AS organisation_name,
            d.version, d.updated_at
     FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS s(key, cap, n)
     CROSS JOIN LATERAL (
         SELECT id, title, value_cents, currency, stage, expected_close, person_id,
                organisation_id, version, updated_at
         FROM deals WHERE company_id = $1 AND stage = s.key
         ORDER BY updated_at DESC, id DESC LIMIT s.cap) d
     LEFT JOIN persons p ON p.company_id = $1 AND p.id = d.person_id
     LEFT JOIN organisations o ON o.company_id = $1 AND o.id = d.organisation_id
     ORDER BY s.n, d.updated_at DESC, d.id DESC";

/// The latest cards of each stage that has deals, in stage order: at most
/// [`OPEN_COLUMN_LIMIT`] for an open stage, [`CLOSED_COLUMN_LIMIT`] for
/// won and lost.
pub(crate) async fn columns(
    tc: &mut TenantConn<'_>,
    stages: &[Stage],
    counts: &[(String, i64)],
) -> Result<Vec<BoardDeal>, DbError> {
    let (keys, caps): (Vec<String>, Vec<i64>) = stages
        .iter()
        .filter(|s| counts.iter().any(|(k, n)| *k == s.key && *n > 0))
        .map(|s| {
            let cap = if s.outcome == "open" {
                OPEN_COLUMN_LIMIT
            } else {
                CLOSED_COLUMN_LIMIT
            };
            (s.key.clone(), cap)
        })
        .unzip();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let company = tc.company().as_str().to_string();
    let rows: Vec<Card> = cached::sql(COLUMNS)
        .bind::<Text, _>(company)
        .bind::<Array<Text>, _>(keys)
        .bind::<Array<BigInt>, _>(caps)
        .load(tc.conn())
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| BoardDeal {
            id: r.id,
            title: r.title,
            value_cents: r.value_cents,
            currency: r.currency,
            stage: r.stage,
            expected_close: r.expected_close,
            person: r.person_id.zip(r.person_name),
            organisation: r.organisation_id.zip(r.organisation_name),
            version: r.version,
            updated_at: r.updated_at,
        })
        .collect())
}
