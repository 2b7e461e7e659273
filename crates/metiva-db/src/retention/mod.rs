//! Retention: each workspace's period per data class, and the sweep that
//! deletes what outlived it.
//!
//! | class | default | bounds |
//! |---|---|---|
//! | page views | 13 months | 1..=60 |
//! | visitors without activity | 13 months | 1..=60 |
//! | contacts without a deal or activity | 24 months | 1..=60 |
//! | audit log | 24 months | 12..=120 |
//! | invoices | 7 years | fixed by Dutch fiscal law (no table yet) |
//!
//! The sweep ([`Database::sweep_company`]) runs per company, each batch in
//! its own short transaction bound to that company
//! ([`metiva_tenancy::Database::for_sweep`]), deleting at most
//! [`BATCH`] rows of one class, so it never holds long locks. What it
//! removed is recorded as counts only (`retention_sweeps`).
//!
//! # Security
//! - The sweep runs as the app role under FORCE'd RLS, with explicit
//!   `company_id` filters beside it; the only cross-tenant read is the list
//!   of company ids (`metiva_sweep_companies()`).
//! - One sweep per company at a time, across instances: a sweep first
//!   claims a `retention_sweeps` row with `finished_at` NULL, which a
//!   partial unique index allows once per company (`INSERT … ON CONFLICT DO
//!   NOTHING`; a second sweep finds it taken and skips the company). A
//!   claim is a row, not a session-level advisory lock, because a session
//!   lock would not survive a transaction-mode pooler and an `xact` lock
//!   would only cover one batch. Each batch refreshes the claim's heartbeat
//!   in the same transaction as its deletes and refuses to run once its
//!   claim was closed; a claim silent for 15 minutes (its instance died)
//!   is closed as abandoned by the next sweep.
//! - A sweep run as a job ([`Sweeper::sweep_job`]) claims with the job's
//!   id as the claim's id, so the job's next attempt after a crash
//!   (SIGKILL) takes its own dead claim over and resumes, instead of
//!   finding it fresh and skipping the company until the claim goes
//!   stale (issue 16, "Crashes"). That takeover is safe: an attempt runs
//!   only while its worker holds the job row locked (`jobs::execute`), so
//!   the claim's earlier holder is gone; and were it not, every batch
//!   still deletes by id and records the count it deleted, in one
//!   transaction, so the rows and counts stay exact.
//!
//! # Visitors: "nothing left to prove"
//! A visitor row and its consent ledger are the proof that processing
//! under consent was allowed. The sweep removes them only when no
//! processing that the proof justifies is left:
//! - the visitor withdrew (no purpose granted any more) or was last seen
//!   before the visitors' period; and
//! - no page view still links to it (page views keep a visitor link only
//!   under analytics consent; they go by their own period first, then the
//!   visitor can go); and
//! - no forward refers to it (data queued for or sent to an ad platform
//!   under marketing consent: its proof is kept, and forwards are not
//!   swept); and
//! - it is linked to no person (a person captured under identification
//!   consent keeps the proof of that consent for as long as it exists).
//!
//! Its consent decisions go first, in batches, then the visitor rows that
//! have none left.
//!
//! # Contacts
//! A contact the sweep removes takes its visitors with it, and their
//! consent decisions stay as proof under a random tombstone, as in an
//! erasure (see `batches::delete_contacts`); a contact whose visitor has
//! a forward stays, as such a visitor does.
//!
//! # The audit log
//! Swept last, oldest first, from the start of its hash chain (never the
//! head, which the next append links to), in batches of at most
//! [`BATCH`] rows, each leaving a checkpoint signed with a key derived
//! from the company's data key, so `metiva audit verify` still passes and
//! names a forged one. The app role still may not delete audit rows: each
//! batch goes through the narrow `metiva_audit_cut()`. It needs the keys,
//! so only a sweep given them ([`KeyedSweeper`],
//! [`Database::sweep_company_with_keys`]) sweeps it; see
//! [`crate::audit_checkpoint`].
//!
//! # Not swept
//! Organisations are not a retention class.

use std::future::Future;

use chrono::{DateTime, Months, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use metiva_security::cipher::KeyRing;

use crate::access::TenantCtx;
use crate::crm::validate::{Check, FieldError, optional};
use crate::crm::{CrmError, split};
use crate::schema::{retention_settings, retention_sweeps};
use crate::{CompanyId, Database, DbError, TenantConn};

mod batches;
mod record;
use batches::{delete_consent_decisions, delete_contacts, delete_page_views, delete_visitors};
use record::record;

/// The most rows one sweep transaction deletes (cascades aside: a
/// contact's own notes and tasks go with it).
pub const BATCH: i64 = 5_000;

/// A claim whose heartbeat is older than this was left by a stopped
/// instance, and is closed as abandoned.
const STALE_CLAIM: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// Invoices are kept for the Dutch fiscal period; not configurable.
pub const INVOICE_YEARS: i32 = 7;

/// A setting's field name, default and bounds (months, inclusive), as the
/// table's CHECKs say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub field: &'static str,
    pub default: i32,
    pub min: i32,
    pub max: i32,
}

pub const PAGE_VIEWS: Bounds = Bounds {
    field: "page_views_months",
    default: 13,
    min: 1,
    max: 60,
};
pub const VISITORS: Bounds = Bounds {
    field: "visitors_months",
    default: 13,
    min: 1,
    max: 60,
};
pub const CONTACTS: Bounds = Bounds {
    field: "contacts_months",
    default: 24,
    min: 1,
    max: 60,
};
pub const AUDIT: Bounds = Bounds {
    field: "audit_months",
    default: 24,
    min: 12,
    max: 120,
};

/// A workspace's retention periods, in months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    pub page_views_months: i32,
    pub visitors_months: i32,
    pub contacts_months: i32,
    pub audit_months: i32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            page_views_months: PAGE_VIEWS.default,
            visitors_months: VISITORS.default,
            contacts_months: CONTACTS.default,
            audit_months: AUDIT.default,
        }
    }
}

/// The retention form as posted: whole months, as text.
#[derive(Debug, Clone, Default)]
pub struct RetentionForm<'a> {
    pub page_views_months: &'a str,
    pub visitors_months: &'a str,
    pub contacts_months: &'a str,
    pub audit_months: &'a str,
}

impl RetentionForm<'_> {
    /// Every field a whole number of months within its bounds; each
    /// failure names its field (`required` or `retention.months`).
    pub fn validate(&self) -> Result<RetentionSettings, Vec<FieldError>> {
        let mut c = Check::default();
        let mut months = |b: Bounds, raw: &str| match optional(Some(raw)).map(|m| m.parse::<i32>())
        {
            None => {
                c.fail(b.field, "required");
                b.default
            }
            Some(Ok(m)) if (b.min..=b.max).contains(&m) => m,
            Some(_) => {
                c.fail(b.field, "retention.months");
                b.default
            }
        };
        let settings = RetentionSettings {
            page_views_months: months(PAGE_VIEWS, self.page_views_months),
            visitors_months: months(VISITORS, self.visitors_months),
            contacts_months: months(CONTACTS, self.contacts_months),
            audit_months: months(AUDIT, self.audit_months),
        };
        c.finish(settings)
    }
}

/// What one sweep removed (counts only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepCounts {
    pub page_views: i64,
    pub visitors: i64,
    pub consent_decisions: i64,
    pub contacts: i64,
    /// Audit rows removed (each batch with its checkpoint).
    pub audit_rows: i64,
    /// Transactions that deleted something.
    pub batches: i32,
}

/// The last finished sweep, for the privacy page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastSweep {
    pub finished_at: DateTime<Utc>,
    pub counts: SweepCounts,
}

/// A sweep's answer for one company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepOutcome {
    Swept(SweepCounts),
    /// Another sweep of this company holds the claim; nothing was done.
    Busy,
}

/// Sweeps companies one at a time: what the hourly scheduler in
/// `metiva serve` drives, and what the job runner will take over.
pub trait Sweeper: Send + Sync + 'static {
    /// Every company to sweep.
    fn companies(&self) -> impl Future<Output = Result<Vec<CompanyId>, DbError>> + Send;
    /// Sweeps one company under its own tenant binding.
    fn sweep_company(
        &self,
        company: &CompanyId,
    ) -> impl Future<Output = Result<SweepOutcome, DbError>> + Send;
    /// As [`Sweeper::sweep_company`], run by the job `job`: a claim left
    /// open by an earlier, killed attempt of this job is resumed (see the
    /// module docs).
    fn sweep_job(
        &self,
        company: &CompanyId,
        job: Uuid,
    ) -> impl Future<Output = Result<SweepOutcome, DbError>> + Send {
        let _ = job;
        self.sweep_company(company)
    }
}

/// The sweep with the keys: every class, the audit log too (its
/// checkpoints are signed with the company's DEK). What `metiva serve`
/// runs.
#[derive(Clone)]
pub struct KeyedSweeper {
    pub db: Database,
    pub keys: std::sync::Arc<KeyRing>,
}

impl Sweeper for KeyedSweeper {
    fn companies(&self) -> impl Future<Output = Result<Vec<CompanyId>, DbError>> + Send {
        self.db.sweep_companies()
    }

    fn sweep_company(
        &self,
        company: &CompanyId,
    ) -> impl Future<Output = Result<SweepOutcome, DbError>> + Send {
        self.db.sweep_company_with_keys(company, Some(&self.keys))
    }

    fn sweep_job(
        &self,
        company: &CompanyId,
        job: Uuid,
    ) -> impl Future<Output = Result<SweepOutcome, DbError>> + Send {
        self.db.sweep_as(company, Some(&self.keys), Some(job))
    }
}

/// Without the keys: every class but the audit log.
impl Sweeper for Database {
    fn companies(&self) -> impl Future<Output = Result<Vec<CompanyId>, DbError>> + Send {
        self.sweep_companies()
    }

    fn sweep_company(
        &self,
        company: &CompanyId,
    ) -> impl Future<Output = Result<SweepOutcome, DbError>> + Send {
        Database::sweep_company(self, company)
    }

    fn sweep_job(
        &self,
        company: &CompanyId,
        job: Uuid,
    ) -> impl Future<Output = Result<SweepOutcome, DbError>> + Send {
        self.sweep_as(company, None, Some(job))
    }
}

#[derive(QueryableByName)]
struct CompanyRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    company_id: String,
}

/// One class the sweep deletes, in the order it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    PageViews,
    Contacts,
    ConsentDecisions,
    Visitors,
    Audit,
}

/// The cutoffs, from one clock reading at the start of a sweep.
#[derive(Debug, Clone, Copy)]
struct Cutoffs {
    page_views: DateTime<Utc>,
    visitors: DateTime<Utc>,
    contacts: DateTime<Utc>,
    audit: DateTime<Utc>,
}

fn months_before(at: DateTime<Utc>, months: i32) -> DateTime<Utc> {
    at.checked_sub_months(Months::new(months.unsigned_abs()))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl Database {
    /// The workspace's retention periods (defaults when unset) and its last
    /// finished sweep.
    pub async fn retention(
        &self,
        ctx: &TenantCtx,
    ) -> Result<(RetentionSettings, Option<LastSweep>), DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            Ok((settings_of(tc).await?, last_sweep_of(tc).await?))
        })
        .await
    }

    /// Sets the workspace's retention periods; audited (who and when, no
    /// values). Callers check `security.manage` first.
    pub async fn save_retention(
        &self,
        ctx: &TenantCtx,
        s: &RetentionSettings,
        request_id: &str,
    ) -> Result<(), CrmError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(
                async {
                    let company = tc.company().as_str().to_string();
                    diesel::insert_into(retention_settings::table)
                        .values((
                            retention_settings::company_id.eq(&company),
                            retention_settings::page_views_months.eq(s.page_views_months),
                            retention_settings::visitors_months.eq(s.visitors_months),
                            retention_settings::contacts_months.eq(s.contacts_months),
                            retention_settings::audit_months.eq(s.audit_months),
                        ))
                        .on_conflict(retention_settings::company_id)
                        .do_update()
                        .set((
                            retention_settings::page_views_months
                                .eq(excluded(retention_settings::page_views_months)),
                            retention_settings::visitors_months
                                .eq(excluded(retention_settings::visitors_months)),
                            retention_settings::contacts_months
                                .eq(excluded(retention_settings::contacts_months)),
                            retention_settings::audit_months
                                .eq(excluded(retention_settings::audit_months)),
                            retention_settings::updated_at.eq(now),
                        ))
                        .execute(tc.conn())
                        .await?;
                    crate::repo::audit::append(
                        tc,
                        &crate::repo::audit::AuditEntry {
                            actor_user_id: Some(actor),
                            action: "privacy.retention_changed",
                            target_type: Some("retention_settings"),
                            target_id: None,
                            request_id: Some(request_id),
                            reason: None,
                        },
                    )
                    .await?;
                    Ok(())
                }
                .await,
            )
        })
        .await?
    }

    /// Every company's id, for the sweep: the one cross-tenant read it
    /// makes (`metiva_sweep_companies()`, ids only).
    pub async fn sweep_companies(&self) -> Result<Vec<CompanyId>, DbError> {
        let rows = self
            .global(async |conn| {
                // Raw SQL: a set-returning directory function.
                Ok(
                    diesel::sql_query("SELECT company_id FROM metiva_sweep_companies()")
                        .load::<CompanyRow>(conn)
                        .await?,
                )
            })
            .await?;
        rows.into_iter()
            .map(|r| {
                CompanyId::parse(&r.company_id)
                    .map_err(|e| DbError::Internal(format!("company id in the database: {e}")))
            })
            .collect()
    }

    /// Sweeps one company (see the module docs): claims it, deletes what
    /// outlived its periods in batches of at most [`BATCH`] rows, records
    /// the counts and closes the claim. [`SweepOutcome::Busy`] when another
    /// sweep of this company is running. Without keys, so the audit log
    /// stays ([`Database::sweep_company_with_keys`] sweeps it too).
    pub async fn sweep_company(&self, company: &CompanyId) -> Result<SweepOutcome, DbError> {
        self.sweep_company_with_keys(company, None).await
    }

    /// As [`Database::sweep_company`]; with `keys`, the audit log too
    /// (the company's DEK is loaded first, outside the batches).
    pub async fn sweep_company_with_keys(
        &self,
        company: &CompanyId,
        keys: Option<&KeyRing>,
    ) -> Result<SweepOutcome, DbError> {
        self.sweep_as(company, keys, None).await
    }

    /// As [`Database::sweep_company_with_keys`], for the job `job`: its
    /// claim's id is the job's, and the job's own claim, left open by a
    /// killed earlier attempt, is taken over and resumed (its counts
    /// carry on). A job whose own claim is already closed (a dead job
    /// retried by hand) claims afresh.
    pub async fn sweep_as(
        &self,
        company: &CompanyId,
        keys: Option<&KeyRing>,
        job: Option<Uuid>,
    ) -> Result<SweepOutcome, DbError> {
        let (settings, claim) = self
            .for_sweep(company, async |tc: &mut TenantConn<'_>| {
                let c = tc.company().as_str().to_string();
                // A claim whose instance stopped beating is closed first.
                diesel::update(
                    retention_sweeps::table
                        .filter(retention_sweeps::company_id.eq(&c))
                        .filter(retention_sweeps::finished_at.is_null())
                        .filter(retention_sweeps::heartbeat_at.lt(Utc::now() - STALE_CLAIM)),
                )
                .set((
                    retention_sweeps::finished_at.eq(now),
                    retention_sweeps::abandoned.eq(true),
                ))
                .execute(tc.conn())
                .await?;
                // This job's own open claim: an earlier attempt was killed
                // (see the module docs); resume it.
                if let Some(job) = job {
                    let own: Option<Uuid> = diesel::update(
                        retention_sweeps::table
                            .filter(retention_sweeps::company_id.eq(&c))
                            .filter(retention_sweeps::id.eq(job))
                            .filter(retention_sweeps::finished_at.is_null()),
                    )
                    .set(retention_sweeps::heartbeat_at.eq(now))
                    .returning(retention_sweeps::id)
                    .get_result(tc.conn())
                    .await
                    .optional()?;
                    if own.is_some() {
                        return Ok((settings_of(tc).await?, own));
                    }
                }
                // The job's id when unused, else a fresh one.
                let used: bool = match job {
                    Some(job) => {
                        diesel::select(diesel::dsl::exists(
                            retention_sweeps::table
                                .filter(retention_sweeps::company_id.eq(&c))
                                .filter(retention_sweeps::id.eq(job)),
                        ))
                        .get_result(tc.conn())
                        .await?
                    }
                    None => true,
                };
                let id = match job {
                    Some(job) if !used => job,
                    _ => Uuid::new_v4(),
                };
                let claim: Option<Uuid> = diesel::insert_into(retention_sweeps::table)
                    .values((
                        retention_sweeps::company_id.eq(&c),
                        retention_sweeps::id.eq(id),
                    ))
                    .on_conflict_do_nothing()
                    .returning(retention_sweeps::id)
                    .get_result(tc.conn())
                    .await
                    .optional()?;
                Ok((settings_of(tc).await?, claim))
            })
            .await?;
        let Some(run) = claim else {
            return Ok(SweepOutcome::Busy);
        };
        let at = Utc::now();
        let cut = Cutoffs {
            page_views: months_before(at, settings.page_views_months),
            visitors: months_before(at, settings.visitors_months),
            contacts: months_before(at, settings.contacts_months),
            // Never under the minimum, whatever a row says.
            audit: months_before(at, settings.audit_months.max(AUDIT.min)),
        };
        let mut counts = SweepCounts::default();
        let mut swept = Ok(());
        let mut classes = vec![
            Class::PageViews,
            Class::Contacts,
            Class::ConsentDecisions,
            Class::Visitors,
        ];
        if let Some(keys) = keys {
            match KeyRing::load(keys, self, company.as_str()).await {
                Ok(()) => classes.push(Class::Audit),
                Err(e) => {
                    swept = Err(DbError::Internal(format!(
                        "audit sweep: loading the data key: {e}"
                    )))
                }
            }
        }
        for class in classes {
            if swept.is_err() {
                break;
            }
            swept = self
                .sweep_class(company, run, class, &cut, keys, &mut counts)
                .await;
            if swept.is_err() {
                break;
            }
        }
        // Close the claim even after a failed batch (the next hour retries);
        // a closed claim that failed to close times out as abandoned.
        let closed = self
            .for_sweep(company, async |tc: &mut TenantConn<'_>| {
                let c = tc.company().as_str().to_string();
                diesel::update(
                    retention_sweeps::table
                        .filter(retention_sweeps::company_id.eq(&c))
                        .filter(retention_sweeps::id.eq(run)),
                )
                .set((
                    retention_sweeps::finished_at.eq(now),
                    retention_sweeps::heartbeat_at.eq(now),
                    retention_sweeps::abandoned.eq(swept.is_err()),
                ))
                .execute(tc.conn())
                .await?;
                Ok(())
            })
            .await;
        swept?;
        closed?;
        Ok(SweepOutcome::Swept(counts))
    }

    /// Deletes one class in batches until a batch comes back short.
    async fn sweep_class(
        &self,
        company: &CompanyId,
        run: Uuid,
        class: Class,
        cut: &Cutoffs,
        keys: Option<&KeyRing>,
        counts: &mut SweepCounts,
    ) -> Result<(), DbError> {
        loop {
            let n = self
                .for_sweep(company, async |tc: &mut TenantConn<'_>| {
                    let n = match class {
                        Class::PageViews => delete_page_views(tc, cut.page_views).await?,
                        Class::Contacts => delete_contacts(tc, cut.contacts).await?,
                        Class::ConsentDecisions => {
                            delete_consent_decisions(tc, cut.visitors).await?
                        }
                        Class::Visitors => delete_visitors(tc, cut.visitors).await?,
                        Class::Audit => match keys {
                            Some(k) => {
                                crate::audit_checkpoint::cut_batch(tc, k, cut.audit, BATCH).await?
                            }
                            None => 0,
                        },
                    };
                    record(tc, run, class, n).await?;
                    Ok(n)
                })
                .await?;
            if n > 0 {
                counts.batches += 1;
                match class {
                    Class::PageViews => counts.page_views += n,
                    Class::Contacts => counts.contacts += n,
                    Class::ConsentDecisions => counts.consent_decisions += n,
                    Class::Visitors => counts.visitors += n,
                    Class::Audit => counts.audit_rows += n,
                }
            }
            if n < BATCH {
                return Ok(());
            }
        }
    }
}

async fn settings_of(tc: &mut TenantConn<'_>) -> Result<RetentionSettings, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<(i32, i32, i32, i32)> = retention_settings::table
        .filter(retention_settings::company_id.eq(&company))
        .select((
            retention_settings::page_views_months,
            retention_settings::visitors_months,
            retention_settings::contacts_months,
            retention_settings::audit_months,
        ))
        .first(tc.conn())
        .await
        .optional()?;
    Ok(row.map_or_else(RetentionSettings::default, |(p, v, c, a)| {
        RetentionSettings {
            page_views_months: p,
            visitors_months: v,
            contacts_months: c,
            audit_months: a,
        }
    }))
}

/// A sweep row as read back: when it finished, then the counts.
type SweepRow = (Option<DateTime<Utc>>, i64, i64, i64, i64, i64, i32);

pub(crate) async fn last_sweep_of(tc: &mut TenantConn<'_>) -> Result<Option<LastSweep>, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<SweepRow> = retention_sweeps::table
        .filter(retention_sweeps::company_id.eq(&company))
        .filter(retention_sweeps::finished_at.is_not_null())
        .filter(retention_sweeps::abandoned.eq(false))
        .order(retention_sweeps::finished_at.desc())
        .select((
            retention_sweeps::finished_at,
            retention_sweeps::page_views,
            retention_sweeps::visitors,
            retention_sweeps::consent_decisions,
            retention_sweeps::contacts,
            retention_sweeps::audit_rows,
            retention_sweeps::batches,
        ))
        .first(tc.conn())
        .await
        .optional()?;
    Ok(row.and_then(|(at, p, v, d, c, a, b)| {
        Some(LastSweep {
            finished_at: at?,
            counts: SweepCounts {
                page_views: p,
                visitors: v,
                consent_decisions: d,
                contacts: c,
                audit_rows: a,
                batches: b,
            },
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form<'a>(p: &'a str, v: &'a str, c: &'a str, a: &'a str) -> RetentionForm<'a> {
        RetentionForm {
            page_views_months: p,
            visitors_months: v,
            contacts_months: c,
            audit_months: a,
        }
    }

    #[test]
    fn retention_bounds_are_checked_per_field() {
        assert_eq!(
            form("13", "13", "24", "24").validate(),
            Ok(RetentionSettings::default())
        );
        assert_eq!(
            form("1", "60", "60", "12")
                .validate()
                .map(|s| s.audit_months),
            Ok(12)
        );
        let fields = |f: RetentionForm<'_>| {
            f.validate()
                .err()
                .unwrap_or_default()
                .iter()
                .map(|e| (e.field, e.code))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(form("0", "61", "x", "11")),
            vec![
                ("page_views_months", "retention.months"),
                ("visitors_months", "retention.months"),
                ("contacts_months", "retention.months"),
                ("audit_months", "retention.months"),
            ]
        );
        assert_eq!(
            fields(form("13", "13", "", "121")),
            vec![
                ("contacts_months", "required"),
                ("audit_months", "retention.months")
            ]
        );
    }

    #[test]
    fn months_before_counts_calendar_months() {
        let at = DateTime::parse_from_rfc3339("2027-03-31T12:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(
            months_before(at, 13).to_rfc3339(),
            "2026-02-28T12:00:00+00:00"
        );
    }
}
