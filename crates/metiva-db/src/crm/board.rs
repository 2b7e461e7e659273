//! The deal board in one statement (issue 15): the stages in order, each
//! stage's deal count (kept per stage in `deal_stage_counts`) and its
//! column's latest cards with their contact's and organisation's names. It
//! was three statements (the stages, a `GROUP BY` over every deal of the
//! workspace, the columns) before.
//!
//! # Security
//! Every table is read with `company_id = $1` (the bound company) beside
//! RLS; the names are looked up by the card's own (company, id) key, so a
//! card never shows a name from another workspace (RLS would hide it too).

use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Date, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::deals::{Board, BoardDeal, CLOSED_COLUMN_LIMIT, OPEN_COLUMN_LIMIT, Stage};
use crate::repo::cached::{self, BindCached as _};
use crate::{DbError, TenantConn};

/// One row per (stage, card), in stage order; a stage without deals is
/// one row with no card.
#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Text)]
    label: String,
    #[diesel(sql_type = Integer)]
    position: i32,
    #[diesel(sql_type = Text)]
    outcome: String,
    #[diesel(sql_type = BigInt)]
    deals: i64,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    value_cents: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    currency: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    expected_close: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Text>)]
    person_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    organisation_name: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    version: Option<i32>,
}

// Raw SQL: a LATERAL top-N per stage, which Diesel's DSL does not
// express. The counts are read from `deal_stage_counts` (migration
// 000059), one primary-key row per stage, kept exact by statement
// triggers on deals in every writer's transaction; this statement reads
// them in the same snapshot as the cards, so a count never disagrees with
// the columns it heads. It was a `GROUP BY` over every deal of the
// workspace on every view (2,000 deals: a sequential scan and a hash
// aggregate; EXPLAIN ANALYZE 0.7–1.2 ms for the statement against
// 0.4–0.5 ms now). Each non-empty column is an index range scan on
// `deals_stage_idx` (company_id, stage, updated_at DESC, id DESC), capped
// at $2 for an open stage and $3 for won and lost. The names are index
// lookups per card (scalar subqueries): the joins hashed every
// organisation of the workspace to name a few cards (EXPLAIN ANALYZE with
// 1,000 organisations: 0.79 ms for the statement against 1.03 ms).
//
// # Security
// `company_id = $1` beside RLS on every table, the counts included: a
// count row is found by the bound company and the stage's own key.
const BOARD: &str = "SELECT s.key, s.label, s.position, s.outcome, COALESCE(c.deals, 0) AS deals,
            d.id, d.title, d.value_cents, d.currency, d.expected_close,
            (SELECT p.name FROM persons p
              WHERE p.company_id = $1 AND p.id = d.person_id) AS person_name,
            (SELECT o.name FROM organisations o
              WHERE o.company_id = $1 AND o.id = d.organisation_id) AS organisation_name,
            d.version
     FROM pipeline_stages s
     LEFT JOIN deal_stage_counts c ON c.company_id = $1 AND c.stage = s.key
     LEFT JOIN LATERAL (
         SELECT id, title, value_cents, currency, expected_close, person_id,
                organisation_id, version, updated_at
         FROM deals WHERE company_id = $1 AND stage = s.key
         ORDER BY updated_at DESC, id DESC
         LIMIT CASE WHEN s.outcome = 'open' THEN $2 ELSE $3 END) d ON c.deals > 0
     WHERE s.company_id = $1
     ORDER BY s.position, s.key, d.updated_at DESC, d.id DESC";

/// The board in `tc`'s transaction, one statement: the stages in order,
/// the count of every stage that has deals, and each column's latest
/// cards: at most [`OPEN_COLUMN_LIMIT`] for an open stage,
/// [`CLOSED_COLUMN_LIMIT`] for won and lost.
pub(crate) async fn board(tc: &mut TenantConn<'_>) -> Result<Board, DbError> {
    let company = tc.company().as_str().to_string();
    let rows: Vec<Row> = cached::sql(BOARD)
        .bind::<Text, _>(company)
        .bind::<BigInt, _>(OPEN_COLUMN_LIMIT)
        .bind::<BigInt, _>(CLOSED_COLUMN_LIMIT)
        .load(tc.conn())
        .await?;
    let mut board = Board {
        stages: Vec::new(),
        counts: Vec::new(),
        cards: Vec::with_capacity(rows.len()),
    };
    for r in rows {
        // Rows come grouped by stage: a stage starts where the key changes.
        if board.stages.last().is_none_or(|s: &Stage| s.key != r.key) {
            if r.deals > 0 {
                board.counts.push((r.key.clone(), r.deals));
            }
            board.stages.push(Stage {
                key: r.key.clone(),
                label: r.label,
                position: r.position,
                outcome: r.outcome,
            });
        }
        // A stage without deals has one row and no card.
        let (Some(id), Some(title), Some(value_cents), Some(currency), Some(version)) =
            (r.id, r.title, r.value_cents, r.currency, r.version)
        else {
            continue;
        };
        board.cards.push(BoardDeal {
            id,
            title,
            value_cents,
            currency,
            stage: r.key,
            expected_close: r.expected_close,
            person: r.person_name,
            organisation: r.organisation_name,
            version,
        });
    }
    Ok(board)
}
