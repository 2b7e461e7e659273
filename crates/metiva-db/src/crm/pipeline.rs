//! Configuring a workspace's pipeline: rename, add, reorder and remove
//! stages. Every change runs in one transaction that first locks the
//! workspace's stages (so two admins' changes serialise), keeps the
//! pipeline whole (at least one open, one won and one lost stage; at most
//! [`MAX_STAGES`]), and is audited with the stage's key only.

use diesel::dsl::{count_star, now};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::deals::Stage;
use super::validate::{self, Check};
use super::{CrmError, split};
use crate::access::TenantCtx;
use crate::schema::{deal_stage_history as history, deals, pipeline_stages as stages};
use crate::{Database, DbError, TenantConn};

/// The most stages a pipeline holds (a board wider than this is unusable).
pub const MAX_STAGES: usize = 20;

/// The longest stage label (the table's CHECK says the same).
pub const MAX_LABEL: usize = 60;

/// One change to the pipeline, as a settings form posts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageChange {
    Rename {
        key: String,
        label: String,
    },
    /// A new stage. An open one goes after the last open stage; a won or
    /// lost one at the end.
    Add {
        label: String,
        outcome: String,
    },
    /// One place earlier (`up`) or later.
    Move {
        key: String,
        up: bool,
    },
    /// Removes a stage. Its deals move to `move_to`, which must have the
    /// same outcome (an open deal never becomes won or lost without a
    /// reason, and a won deal never silently reopens).
    Remove {
        key: String,
        move_to: Option<String>,
    },
}

/// A stage with how many deals sit in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageUse {
    pub stage: Stage,
    pub deals: i64,
}

/// A key for a new stage from its label: lower-case ASCII letters, digits
/// and underscores, starting with a letter (`Offerte verstuurd` →
/// `offerte_verstuurd`), made unique in the workspace with a suffix.
fn key_for(label: &str, taken: &[Stage]) -> String {
    let mut base = String::new();
    for ch in label.chars().flat_map(char::to_lowercase) {
        if ch.is_ascii_alphanumeric() {
            base.push(ch);
        } else if !base.ends_with('_') && !base.is_empty() {
            base.push('_');
        }
    }
    let mut base: String = base.trim_end_matches('_').chars().take(32).collect();
    if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
        base = format!("stage_{base}").trim_end_matches('_').to_string();
    }
    let free = |k: &str| !taken.iter().any(|s| s.key == k);
    if free(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}_{n}"))
        .find(|k| free(k))
        .unwrap_or(base)
}

fn label(c: &mut Check, raw: &str, stages: &[Stage], except: Option<&str>) -> String {
    let v = raw.trim().to_string();
    if v.is_empty() {
        c.fail("label", "required");
    } else if v.chars().count() > MAX_LABEL {
        c.fail("label", "too_long");
    } else if stages
        .iter()
        .any(|s| Some(s.key.as_str()) != except && s.label.to_lowercase() == v.to_lowercase())
    {
        c.fail("label", "stage.taken");
    }
    v
}

fn find<'a>(stages: &'a [Stage], key: &str) -> Result<&'a Stage, CrmError> {
    stages
        .iter()
        .find(|s| s.key == key)
        .ok_or(CrmError::NotFound)
}

impl Database {
    /// The stages in order, each with its number of deals, in one snapshot.
    pub async fn pipeline_usage(&self, ctx: &TenantCtx) -> Result<Vec<StageUse>, DbError> {
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let list = super::deals::load_stages(tc).await?;
            let counts: Vec<(String, i64)> = deals::table
                .filter(deals::company_id.eq(&company))
                .group_by(deals::stage)
                .select((deals::stage, count_star()))
                .load(tc.conn())
                .await?;
            Ok(list
                .into_iter()
                .map(|stage| {
                    let deals = counts
                        .iter()
                        .find(|(k, _)| *k == stage.key)
                        .map_or(0, |(_, n)| *n);
                    StageUse { stage, deals }
                })
                .collect())
        })
        .await
    }

    /// Applies one change to the pipeline; audited with the stage's key.
    pub async fn change_pipeline(
        &self,
        ctx: &TenantCtx,
        change: &StageChange,
        request_id: &str,
    ) -> Result<(), CrmError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(apply(tc, change, actor, request_id).await)
        })
        .await?
    }
}

async fn apply(
    tc: &mut TenantConn<'_>,
    change: &StageChange,
    actor: Uuid,
    request_id: &str,
) -> Result<(), CrmError> {
    let company = tc.company().as_str().to_string();
    // Lock the workspace's stages first: concurrent changes serialise,
    // and each one sees the pipeline the previous one left.
    let _: Vec<String> = stages::table
        .filter(stages::company_id.eq(&company))
        .select(stages::key)
        .for_update()
        .load(tc.conn())
        .await?;
    let mut list = super::deals::load_stages(tc).await?;
    let mut c = Check::default();
    let (action, key) = match change {
        StageChange::Rename { key, label: raw } => {
            find(&list, key)?;
            let label = label(&mut c, raw, &list, Some(key));
            c.finish(()).map_err(CrmError::Invalid)?;
            diesel::update(
                stages::table
                    .filter(stages::company_id.eq(&company))
                    .filter(stages::key.eq(key)),
            )
            .set(stages::label.eq(&label))
            .execute(tc.conn())
            .await?;
            ("crm.stage_renamed", key.clone())
        }
        StageChange::Add {
            label: raw,
            outcome,
        } => {
            let label = label(&mut c, raw, &list, None);
            if !matches!(outcome.as_str(), "open" | "won" | "lost") {
                c.fail("outcome", "unknown");
            }
            if list.len() >= MAX_STAGES {
                c.fail("label", "stage.limit");
            }
            c.finish(()).map_err(CrmError::Invalid)?;
            let key = key_for(&label, &list);
            let position = i32::try_from(list.len()).unwrap_or(i32::MAX);
            let at = if outcome == "open" {
                list.iter()
                    .rposition(|s| s.outcome == "open")
                    .map_or(0, |i| i + 1)
            } else {
                list.len()
            };
            diesel::insert_into(stages::table)
                .values((
                    stages::company_id.eq(&company),
                    stages::key.eq(&key),
                    stages::label.eq(&label),
                    stages::position.eq(position),
                    stages::outcome.eq(outcome),
                ))
                .execute(tc.conn())
                .await?;
            list.insert(
                at,
                Stage {
                    key: key.clone(),
                    label,
                    position,
                    outcome: outcome.clone(),
                },
            );
            renumber(tc, &list).await?;
            ("crm.stage_added", key)
        }
        StageChange::Move { key, up } => {
            let i = list
                .iter()
                .position(|s| s.key == *key)
                .ok_or(CrmError::NotFound)?;
            let j = if *up { i.checked_sub(1) } else { Some(i + 1) };
            if let Some(j) = j.filter(|j| *j < list.len()) {
                list.swap(i, j);
                renumber(tc, &list).await?;
            }
            ("crm.stage_moved", key.clone())
        }
        StageChange::Remove { key, move_to } => {
            let gone = find(&list, key)?.clone();
            if list.iter().filter(|s| s.outcome == gone.outcome).count() < 2 {
                // The pipeline keeps an open, a won and a lost stage.
                c.fail("key", "stage.last");
                return Err(CrmError::Invalid(c.finish(()).err().unwrap_or_default()));
            }
            let in_stage: i64 = deals::table
                .filter(deals::company_id.eq(&company))
                .filter(deals::stage.eq(key))
                .select(count_star())
                .get_result(tc.conn())
                .await?;
            if in_stage > 0 {
                let target = validate::optional(move_to.as_deref())
                    .and_then(|t| list.iter().find(|s| s.key == t && s.key != *key));
                let Some(target) = target.filter(|t| t.outcome == gone.outcome) else {
                    c.fail("move_to", "stage.move_to");
                    return Err(CrmError::Invalid(c.finish(()).err().unwrap_or_default()));
                };
                move_all(tc, key, &target.key, actor).await?;
            }
            diesel::delete(
                stages::table
                    .filter(stages::company_id.eq(&company))
                    .filter(stages::key.eq(key)),
            )
            .execute(tc.conn())
            .await?;
            list.retain(|s| s.key != *key);
            renumber(tc, &list).await?;
            ("crm.stage_removed", key.clone())
        }
    };
    crate::repo::audit::append(
        tc,
        &crate::repo::audit::AuditEntry {
            actor_user_id: Some(actor),
            action,
            target_type: Some("pipeline_stage"),
            target_id: Some(&key),
            request_id: Some(request_id),
            reason: None,
        },
    )
    .await?;
    Ok(())
}

/// Writes positions 0, 1, 2, … in the list's order (only rows that move).
async fn renumber(tc: &mut TenantConn<'_>, list: &[Stage]) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    for (i, s) in list.iter().enumerate() {
        let pos = i32::try_from(i).unwrap_or(i32::MAX);
        if s.position == pos {
            continue;
        }
        diesel::update(
            stages::table
                .filter(stages::company_id.eq(&company))
                .filter(stages::key.eq(&s.key)),
        )
        .set(stages::position.eq(pos))
        .execute(tc.conn())
        .await?;
    }
    Ok(())
}

/// Moves every deal in `from` to `to`, recording each move in its stage
/// history and bumping its version (an open edit form of one of them is
/// then stale, not silently overwritten).
async fn move_all(
    tc: &mut TenantConn<'_>,
    from: &str,
    to: &str,
    actor: Uuid,
) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    let moved: Vec<Uuid> = diesel::update(
        deals::table
            .filter(deals::company_id.eq(&company))
            .filter(deals::stage.eq(from)),
    )
    .set((
        deals::stage.eq(to),
        deals::version.eq(deals::version + 1),
        deals::updated_at.eq(now.into_sql::<Timestamptz>()),
    ))
    .returning(deals::id)
    .get_results(tc.conn())
    .await?;
    let rows: Vec<_> = moved
        .iter()
        .map(|id| {
            (
                history::company_id.eq(&company),
                history::deal_id.eq(*id),
                history::from_stage.eq(Some(from)),
                history::to_stage.eq(to),
                history::actor_user_id.eq(Some(actor)),
            )
        })
        .collect();
    for chunk in rows.chunks(1_000) {
        diesel::insert_into(history::table)
            .values(chunk)
            .execute(tc.conn())
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(key: &str) -> Stage {
        Stage {
            key: key.into(),
            label: key.into(),
            position: 0,
            outcome: "open".into(),
        }
    }

    #[test]
    fn a_new_stage_key_comes_from_its_label_and_is_unique() {
        let taken = [stage("lead"), stage("offerte_verstuurd")];
        assert_eq!(key_for("Demo gepland", &taken), "demo_gepland");
        assert_eq!(key_for("Offerte verstuurd!", &taken), "offerte_verstuurd_2");
        assert_eq!(key_for("Lead", &taken), "lead_2");
        assert_eq!(key_for("2e gesprek", &taken), "stage_2e_gesprek");
        assert_eq!(key_for("Überprüfung", &taken), "berpr_fung");
        assert_eq!(key_for("✓✓", &taken), "stage");
        let long = key_for(&"x".repeat(60), &taken);
        assert!(long.len() <= 40, "{long}");
    }
}
