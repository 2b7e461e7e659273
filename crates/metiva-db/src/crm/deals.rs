//! The deal pipeline: the workspace's stages, the board, creating deals,
//! and moving them (a reason for won and lost; every move kept in the
//! stage history).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::validate::{self, Check, FieldError};
use super::{CrmError, check_member, organisation_name, parse_ref, split, stale_or_missing};
use crate::access::TenantCtx;
use crate::schema::{
    deal_stage_history as history, deals, organisations, persons, pipeline_stages as stages,
};
use crate::{Database, DbError, TenantConn};

/// One stage of the workspace's pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Stage {
    pub key: String,
    pub label: String,
    pub position: i32,
    /// `open`, `won` or `lost`.
    pub outcome: String,
}

/// A deal as the board shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardDeal {
    pub id: Uuid,
    pub title: String,
    pub value_cents: i64,
    pub currency: String,
    pub stage: String,
    pub expected_close: Option<NaiveDate>,
    /// The linked contact's name (the card shows names, not links).
    pub person: Option<String>,
    /// The linked organisation's name.
    pub organisation: Option<String>,
    pub version: i32,
}

/// One recorded move.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct HistoryRow {
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub reason: Option<String>,
    pub actor_user_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// A deal form as typed.
#[derive(Debug, Clone, Default)]
pub struct DealForm<'a> {
    pub title: &'a str,
    /// Euros as people type them: `1250`, `1250.50`, `1.250,50`.
    pub value: Option<&'a str>,
    /// `YYYY-MM-DD`, as a date input posts it.
    pub expected_close: Option<&'a str>,
    pub stage: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub organisation: Option<&'a str>,
    pub contact: Option<&'a str>,
}

/// Validated deal fields.
#[derive(Debug, Clone, PartialEq)]
pub struct DealFields {
    pub title: String,
    pub value_cents: i64,
    pub expected_close: Option<NaiveDate>,
    pub stage: Option<String>,
    pub owner_user_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
}

/// The largest value a deal may carry (ten billion euros), in cents.
const MAX_CENTS: i64 = 1_000_000_000_000;

/// Euros to cents. A comma is the decimal separator when it comes last
/// (Dutch `1.250,50`), a dot otherwise (`1,250.50`); thousands separators
/// are dropped. At most two decimals; never negative.
pub fn parse_euros(raw: &str) -> Option<i64> {
    let s: String = raw.trim().trim_start_matches('€').trim().replace(' ', "");
    if s.is_empty() {
        return Some(0);
    }
    let decimal = match (s.rfind(','), s.rfind('.')) {
        (Some(c), Some(d)) => Some(c.max(d)),
        (Some(c), None) if s.len() - c - 1 <= 2 => Some(c),
        (None, Some(d)) if s.len() - d - 1 <= 2 => Some(d),
        _ => None,
    };
    let (whole, frac) = match decimal {
        Some(i) => (s.get(..i)?, s.get(i + 1..)?),
        None => (s.as_str(), ""),
    };
    // Thousands separators group by three.
    let mut groups = whole.split(['.', ',']);
    groups.next();
    if groups.any(|g| g.len() != 3) {
        return None;
    }
    let whole: String = whole.chars().filter(|c| *c != '.' && *c != ',').collect();
    if whole.is_empty() && frac.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
    {
        return None;
    }
    let euros: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let total = euros.checked_mul(100)?.checked_add(cents)?;
    (total <= MAX_CENTS).then_some(total)
}

impl DealForm<'_> {
    pub fn validate(&self) -> Result<DealFields, Vec<FieldError>> {
        let mut c = Check::default();
        let value_cents = match self.value.map(parse_euros) {
            None => 0,
            Some(Some(v)) => v,
            Some(None) => {
                c.fail("value", "value.format");
                0
            }
        };
        let expected_close = match validate::optional(self.expected_close) {
            None => None,
            Some(d) => match NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    c.fail("expected_close", "date.format");
                    None
                }
            },
        };
        let fields = DealFields {
            title: validate::name(&mut c, "title", self.title),
            value_cents,
            expected_close,
            stage: validate::optional(self.stage),
            owner_user_id: parse_ref(&mut c, "owner", self.owner),
            organisation_id: parse_ref(&mut c, "organisation", self.organisation),
            person_id: parse_ref(&mut c, "contact", self.contact),
        };
        c.finish(fields)
    }
}

/// The workspace's stages, in order.
pub(crate) async fn load_stages(tc: &mut TenantConn<'_>) -> Result<Vec<Stage>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(stages::table
        .filter(stages::company_id.eq(&company))
        .order((stages::position.asc(), stages::key.asc()))
        .select((
            stages::key,
            stages::label,
            stages::position,
            stages::outcome,
        ))
        .load(tc.conn())
        .await?)
}

/// The most cards an open stage's column shows (the most recently
/// changed); the rest are in the list view, filtered by the stage (the
/// column's "N more in the list" link). Issue 15: the board's cost is its
/// cards (their rows in the statement, their rendering and bytes), so a
/// column shows about a screenful: at 200 a workspace with 2,000 deals
/// rendered ~850 cards (333 KB) per view; at 25, 120 cards (57 KB, 1,134
/// views/s on the bench); at 10, 50 cards. The count heads every column,
/// and the list sorts, filters and exports all of them.
pub const OPEN_COLUMN_LIMIT: i64 = 10;
/// Won and lost columns show only the latest: the history is in the list.
pub const CLOSED_COLUMN_LIMIT: i64 = 5;

/// The board: the stages, each stage's deal count, and its column's cards.
#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    pub stages: Vec<Stage>,
    /// (stage key, how many deals it holds), for every stage with deals.
    pub counts: Vec<(String, i64)>,
    pub cards: Vec<BoardDeal>,
}

/// The names of the contacts and organisations some deals link to, by id
/// (one query each, whatever the number of deals).
#[allow(clippy::type_complexity)]
pub(crate) async fn linked_names(
    tc: &mut TenantConn<'_>,
    person_ids: &[Uuid],
    org_ids: &[Uuid],
) -> Result<(Vec<(Uuid, String)>, Vec<(Uuid, String)>), DbError> {
    let company = tc.company().as_str().to_string();
    let people = persons::table
        .filter(persons::company_id.eq(&company))
        .filter(persons::id.eq_any(person_ids))
        .select((persons::id, persons::name))
        .load(tc.conn())
        .await?;
    let orgs = organisations::table
        .filter(organisations::company_id.eq(&company))
        .filter(organisations::id.eq_any(org_ids))
        .select((organisations::id, organisations::name))
        .load(tc.conn())
        .await?;
    Ok((people, orgs))
}

impl Database {
    /// The stages and each column's latest cards, in one statement (one
    /// statement sees one snapshot, so the counts and the cards agree). A
    /// column holds at most [`OPEN_COLUMN_LIMIT`] (open stages) or
    /// [`CLOSED_COLUMN_LIMIT`] (won and lost) cards, so the page stays
    /// light however many deals a workspace keeps.
    pub async fn deal_board(&self, ctx: &TenantCtx) -> Result<Board, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            super::board::board(tc).await
        })
        .await
    }

    /// A deal's stage history, oldest first, and its current version.
    pub async fn deal_history(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<(i32, Vec<Stage>, Vec<HistoryRow>)>, DbError> {
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let Some(version) = deals::table
                .filter(deals::company_id.eq(&company))
                .filter(deals::id.eq(id))
                .select(deals::version)
                .first::<i32>(tc.conn())
                .await
                .optional()?
            else {
                return Ok(None);
            };
            let stage_list = load_stages(tc).await?;
            let rows = history::table
                .filter(history::company_id.eq(&company))
                .filter(history::deal_id.eq(id))
                .order(history::id.asc())
                .select((
                    history::from_stage,
                    history::to_stage,
                    history::reason,
                    history::actor_user_id,
                    history::at,
                ))
                .load(tc.conn())
                .await?;
            Ok(Some((version, stage_list, rows)))
        })
        .await
    }

    /// Creates a deal in its stage (the first stage when none is given),
    /// recording that first stage in its history.
    pub async fn create_deal(
        &self,
        ctx: &TenantCtx,
        f: &DealFields,
        request_id: &str,
    ) -> Result<Uuid, CrmError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(create(tc, f, actor, request_id).await)
        })
        .await?
    }

    /// Moves a deal read at `version` to `to`; a won or lost stage needs a
    /// reason. Returns the new version.
    pub async fn move_deal(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        version: i32,
        to: &str,
        reason: Option<&str>,
    ) -> Result<i32, CrmError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(move_to(tc, id, version, to, reason, actor).await)
        })
        .await?
    }
}

/// A deal's editable fields, as its edit form shows them.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct DealEdit {
    pub id: Uuid,
    pub title: String,
    pub value_cents: i64,
    pub expected_close: Option<NaiveDate>,
    pub owner_user_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
    pub version: i32,
}

impl Database {
    /// A deal's editable fields; `None` when it is not in this workspace.
    pub async fn deal_edit(&self, ctx: &TenantCtx, id: Uuid) -> Result<Option<DealEdit>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            Ok(deals::table
                .filter(deals::company_id.eq(&company))
                .filter(deals::id.eq(id))
                .select((
                    deals::id,
                    deals::title,
                    deals::value_cents,
                    deals::expected_close,
                    deals::owner_user_id,
                    deals::organisation_id,
                    deals::person_id,
                    deals::version,
                ))
                .first(tc.conn())
                .await
                .optional()?)
        })
        .await
    }

    /// Saves a deal's fields (not its stage: that is a move, with its
    /// history) if it is still at `version`. Returns the new version.
    pub async fn update_deal(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        version: i32,
        f: &DealFields,
    ) -> Result<i32, CrmError> {
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(update(tc, id, version, f).await)
        })
        .await?
    }

    /// Deletes a deal at `version` with its stage history; audited.
    pub async fn delete_deal(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        version: i32,
        request_id: &str,
    ) -> Result<(), CrmError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(
                async {
                    let company = tc.company().as_str().to_string();
                    let n = diesel::delete(
                        deals::table
                            .filter(deals::company_id.eq(&company))
                            .filter(deals::id.eq(id))
                            .filter(deals::version.eq(version)),
                    )
                    .execute(tc.conn())
                    .await?;
                    if n == 0 {
                        return Err(stale_or_missing(exists(tc, id).await?));
                    }
                    super::audit(tc, actor, "crm.deal_deleted", "deal", id, request_id).await?;
                    Ok(())
                }
                .await,
            )
        })
        .await?
    }
}

async fn exists(tc: &mut TenantConn<'_>, id: Uuid) -> Result<bool, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(deals::table
        .filter(deals::company_id.eq(&company))
        .filter(deals::id.eq(id))
        .select(deals::id)
        .first::<Uuid>(tc.conn())
        .await
        .optional()?
        .is_some())
}

/// The linked records must be in this workspace; each names its field.
async fn check_links(tc: &mut TenantConn<'_>, f: &DealFields) -> Result<(), CrmError> {
    check_member(tc, "owner", f.owner_user_id).await?;
    organisation_name(tc, f.organisation_id).await?;
    let company = tc.company().as_str().to_string();
    if let Some(p) = f.person_id {
        let found: Option<Uuid> = persons::table
            .filter(persons::company_id.eq(&company))
            .filter(persons::id.eq(p))
            .select(persons::id)
            .first(tc.conn())
            .await
            .optional()?;
        if found.is_none() {
            return Err(CrmError::field("contact", "unknown"));
        }
    }
    Ok(())
}

async fn update(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    version: i32,
    f: &DealFields,
) -> Result<i32, CrmError> {
    check_links(tc, f).await?;
    let company = tc.company().as_str().to_string();
    let saved: Option<i32> = diesel::update(
        deals::table
            .filter(deals::company_id.eq(&company))
            .filter(deals::id.eq(id))
            .filter(deals::version.eq(version)),
    )
    .set((
        deals::title.eq(&f.title),
        deals::value_cents.eq(f.value_cents),
        deals::expected_close.eq(f.expected_close),
        deals::owner_user_id.eq(f.owner_user_id),
        deals::organisation_id.eq(f.organisation_id),
        deals::person_id.eq(f.person_id),
        deals::version.eq(deals::version + 1),
        deals::updated_at.eq(now.into_sql::<Timestamptz>()),
    ))
    .returning(deals::version)
    .get_result(tc.conn())
    .await
    .optional()?;
    match saved {
        Some(v) => Ok(v),
        None => Err(stale_or_missing(exists(tc, id).await?)),
    }
}

/// The stage a deal is created in or moved to, share-locked: a pipeline
/// change removing it (which locks the stages for update) waits for this
/// transaction, and then moves this deal along with the others.
async fn stage(tc: &mut TenantConn<'_>, key: &str) -> Result<Stage, CrmError> {
    let company = tc.company().as_str().to_string();
    stages::table
        .filter(stages::company_id.eq(&company))
        .filter(stages::key.eq(key))
        .select((
            stages::key,
            stages::label,
            stages::position,
            stages::outcome,
        ))
        .for_share()
        .first(tc.conn())
        .await
        .optional()?
        .ok_or_else(|| CrmError::field("stage", "unknown"))
}

async fn create(
    tc: &mut TenantConn<'_>,
    f: &DealFields,
    actor: Uuid,
    request_id: &str,
) -> Result<Uuid, CrmError> {
    check_links(tc, f).await?;
    let company = tc.company().as_str().to_string();
    let first_open = |list: Vec<Stage>| list.into_iter().find(|s| s.outcome == "open");
    let first = match &f.stage {
        Some(k) => stage(tc, k).await?,
        None => {
            let key = first_open(load_stages(tc).await?)
                .ok_or_else(|| CrmError::field("stage", "unknown"))?
                .key;
            stage(tc, &key).await?
        }
    };
    if first.outcome != "open" {
        // Won and lost need a reason, which a new deal's form does not ask.
        return Err(CrmError::field("stage", "stage.closed"));
    }
    let id: Uuid = diesel::insert_into(deals::table)
        .values((
            deals::company_id.eq(&company),
            deals::title.eq(&f.title),
            deals::value_cents.eq(f.value_cents),
            deals::stage.eq(&first.key),
            deals::expected_close.eq(f.expected_close),
            deals::owner_user_id.eq(f.owner_user_id),
            deals::organisation_id.eq(f.organisation_id),
            deals::person_id.eq(f.person_id),
        ))
        .returning(deals::id)
        .get_result(tc.conn())
        .await?;
    diesel::insert_into(history::table)
        .values((
            history::company_id.eq(&company),
            history::deal_id.eq(id),
            history::to_stage.eq(&first.key),
            history::actor_user_id.eq(Some(actor)),
        ))
        .execute(tc.conn())
        .await?;
    super::audit(tc, actor, "crm.deal_created", "deal", id, request_id).await?;
    Ok(id)
}

async fn move_to(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    version: i32,
    to: &str,
    reason: Option<&str>,
    actor: Uuid,
) -> Result<i32, CrmError> {
    let target = stage(tc, to).await?;
    let mut c = Check::default();
    let reason = validate::text(&mut c, "reason", reason, 500);
    if target.outcome != "open" && reason.is_none() {
        c.fail("reason", "reason.required");
    }
    c.finish(()).map_err(CrmError::Invalid)?;
    let company = tc.company().as_str().to_string();
    // FOR UPDATE: two moves of one deal serialise; the version decides.
    let current: Option<(String, i32)> = deals::table
        .filter(deals::company_id.eq(&company))
        .filter(deals::id.eq(id))
        .select((deals::stage, deals::version))
        .for_update()
        .first(tc.conn())
        .await
        .optional()?;
    let Some((from, at)) = current else {
        return Err(CrmError::NotFound);
    };
    if at != version {
        return Err(stale_or_missing(true));
    }
    if from == target.key {
        return Ok(version);
    }
    let kept_reason = (target.outcome != "open")
        .then_some(reason.clone())
        .flatten();
    let saved: i32 = diesel::update(
        deals::table
            .filter(deals::company_id.eq(&company))
            .filter(deals::id.eq(id))
            .filter(deals::version.eq(version)),
    )
    .set((
        deals::stage.eq(&target.key),
        deals::outcome_reason.eq(kept_reason),
        deals::version.eq(deals::version + 1),
        deals::updated_at.eq(now.into_sql::<Timestamptz>()),
    ))
    .returning(deals::version)
    .get_result(tc.conn())
    .await?;
    diesel::insert_into(history::table)
        .values((
            history::company_id.eq(&company),
            history::deal_id.eq(id),
            history::from_stage.eq(Some(from)),
            history::to_stage.eq(&target.key),
            history::reason.eq(reason),
            history::actor_user_id.eq(Some(actor)),
        ))
        .execute(tc.conn())
        .await?;
    if target.outcome == "won" {
        // Issue 18: the conversion uploads, in this same transaction.
        crate::conversions::on_deal_won(tc, id).await?;
    }
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::parse_euros;

    #[test]
    fn euros_are_read_as_people_type_them() {
        for (raw, cents) in [
            ("1250", 125_000),
            ("1250.5", 125_050),
            ("1250,50", 125_050),
            ("1.250,50", 125_050),
            ("1,250.50", 125_050),
            ("€ 12.500", 1_250_000),
            ("", 0),
            ("0,99", 99),
        ] {
            assert_eq!(parse_euros(raw), Some(cents), "{raw}");
        }
        for bad in ["-5", "12a", "1.2.3,456", "1,2345", "99999999999999"] {
            assert_eq!(parse_euros(bad), None, "{bad}");
        }
    }
}
