//! The key table (`company_keys`): each company's data key (DEK), wrapped
//! by the key-encryption key (see `metiva_security::envelope`), and the
//! operator's two key commands: rotation of the master key (rewrap only)
//! and the move of values sealed under the master key to the DEKs.
//!
//! # Security
//! - Every read and write of a key runs under that company's own binding
//!   (`Database::for_data_keys`), so RLS keeps other companies' keys out
//!   of reach even of a buggy query.
//! - The app role may only read and create (once) its company's key; a
//!   key is never created for an offboarded or unknown company (the
//!   companies row must say `active`), so offboarding cannot be undone by
//!   a late seal.
//! - Rotation and the value move run as the owner role (`metiva keys …`),
//!   one company (rotation) or one batch (values) per transaction, so a
//!   crash loses at most the transaction in flight and a re-run picks up
//!   what is left: both are idempotent.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use metiva_security::cipher::{CipherError, KeyRing, Sealed};
use metiva_security::envelope::{DataKeyStore, KeyFuture, WrappedKey};
use uuid::Uuid;

use crate::access::TenantCtx;
use crate::repo::audit::{self, AuditEntry};
use crate::schema::{companies, company_keys, page_views};
use crate::system::FACTS_MAX_AGE;
use crate::{CompanyId, Database, DbError, TenantConn};

#[derive(Queryable, Selectable)]
#[diesel(table_name = company_keys, check_for_backend(diesel::pg::Pg))]
struct KeyRow {
    id: String,
    kek_id: String,
    wrap_nonce: Vec<u8>,
    wrapped: Vec<u8>,
}

impl KeyRow {
    fn into_wrapped(self) -> Result<WrappedKey, DbError> {
        Ok(WrappedKey {
            id: self.id,
            kek_id: self.kek_id,
            nonce: self
                .wrap_nonce
                .try_into()
                .map_err(|_| DbError::Internal("a wrapped key's nonce is not 12 bytes".into()))?,
            wrapped: self.wrapped,
        })
    }
}

async fn read_key(tc: &mut TenantConn<'_>) -> Result<Option<WrappedKey>, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<KeyRow> = company_keys::table
        .filter(company_keys::company_id.eq(&company))
        .select(KeyRow::as_select())
        .first(tc.conn())
        .await
        .optional()?;
    row.map(KeyRow::into_wrapped).transpose()
}

fn parse_company(company: &str) -> Result<CompanyId, CipherError> {
    CompanyId::parse(company).map_err(|_| CipherError::NoDataKey)
}

fn store_error(e: DbError) -> CipherError {
    CipherError::Store(e.to_string())
}

impl Database {
    /// The company's wrapped DEK, if it has one.
    pub async fn fetch_data_key(&self, company: &CompanyId) -> Result<Option<WrappedKey>, DbError> {
        self.for_data_keys(company, async |tc| read_key(tc).await)
            .await
    }

    /// Stores `key` unless the company has a DEK already, and answers the
    /// one stored; `None` when the company is not active (offboarded).
    pub async fn create_data_key(
        &self,
        company: &CompanyId,
        key: &WrappedKey,
    ) -> Result<Option<WrappedKey>, DbError> {
        self.for_data_keys(company, async |tc| {
            let id = tc.company().as_str().to_string();
            let active: i64 = companies::table
                .filter(companies::id.eq(&id))
                .filter(companies::status.eq("active"))
                .count()
                .get_result(tc.conn())
                .await?;
            if active == 0 {
                return Ok(None);
            }
            diesel::insert_into(company_keys::table)
                .values((
                    company_keys::company_id.eq(&id),
                    company_keys::id.eq(&key.id),
                    company_keys::kek_id.eq(&key.kek_id),
                    company_keys::wrap_nonce.eq(key.nonce.to_vec()),
                    company_keys::wrapped.eq(&key.wrapped),
                ))
                .on_conflict_do_nothing()
                .execute(tc.conn())
                .await?;
            read_key(tc).await
        })
        .await
    }

    /// Every company id (owner role: `metiva_audit_companies()`).
    async fn all_companies(&self) -> Result<Vec<CompanyId>, DbError> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            company_id: String,
        }
        let rows: Vec<Row> = self
            .global(async |conn| {
                // Raw SQL: a directory function, outside the schema.
                Ok(
                    diesel::sql_query("SELECT company_id FROM metiva_audit_companies()")
                        .load::<Row>(conn)
                        .await?,
                )
            })
            .await?;
        rows.iter()
            .map(|r| {
                CompanyId::parse(&r.company_id)
                    .map_err(|e| DbError::Internal(format!("company id in the database: {e}")))
            })
            .collect()
    }

    /// `metiva keys rotate`: rewraps every company's DEK under the active
    /// KEK, one company per transaction with its audit row
    /// (`keys.rewrapped`, target the DEK id and the new KEK id). Keys
    /// already under the active KEK are skipped, so a re-run after a crash
    /// finishes the rest and rewraps nothing twice. `step` is asked before
    /// each company and may stop the walk (progress, tests).
    pub async fn rotate_data_keys(
        &self,
        keys: &KeyRing,
        mut step: impl FnMut(&CompanyId) -> ControlFlow<()>,
    ) -> Result<RotationReport, DbError> {
        let mut report = RotationReport::default();
        for company in self.all_companies().await? {
            if step(&company).is_break() {
                report.stopped = true;
                break;
            }
            let done = self
                .for_data_keys(&company, async |tc| {
                    let id = tc.company().as_str().to_string();
                    let row: Option<KeyRow> = company_keys::table
                        .filter(company_keys::company_id.eq(&id))
                        .select(KeyRow::as_select())
                        .for_update()
                        .first(tc.conn())
                        .await
                        .optional()?;
                    let Some(row) = row else {
                        return Ok(None);
                    };
                    let old = row.into_wrapped()?;
                    let Some(new) = keys
                        .rewrap(&id, &old)
                        .await
                        .map_err(|e| DbError::Internal(format!("rewrapping {id}'s key: {e}")))?
                    else {
                        return Ok(Some(false));
                    };
                    diesel::update(
                        company_keys::table
                            .filter(company_keys::company_id.eq(&id))
                            .filter(company_keys::id.eq(&old.id)),
                    )
                    .set((
                        company_keys::kek_id.eq(&new.kek_id),
                        company_keys::wrap_nonce.eq(new.nonce.to_vec()),
                        company_keys::wrapped.eq(&new.wrapped),
                        company_keys::rewrapped_at.eq(diesel::dsl::now),
                    ))
                    .execute(tc.conn())
                    .await?;
                    let target = format!("{} {}>{}", new.id, old.kek_id, new.kek_id);
                    audit::append(
                        tc,
                        &AuditEntry {
                            action: "keys.rewrapped",
                            target_type: Some("data_key"),
                            target_id: Some(&target),
                            ..AuditEntry::default()
                        },
                    )
                    .await?;
                    Ok(Some(true))
                })
                .await?;
            match done {
                Some(true) => report.rewrapped += 1,
                Some(false) => report.already_current += 1,
                None => report.without_key += 1,
            }
        }
        Ok(report)
    }

    /// Moves values sealed under a master key to their company's DEK
    /// (today: the page views' truncated IPs), `batch` rows per
    /// transaction, and answers how many moved. Idempotent and resumable:
    /// a value already under a DEK is never read again. Runs as the owner
    /// role (`metiva keys migrate-values`, and after `metiva migrate`).
    pub async fn migrate_sealed_values(&self, keys: &KeyRing, batch: i64) -> Result<u64, DbError> {
        let mut moved = 0u64;
        for company in self.all_companies().await? {
            // An offboarded company has no key and no values left.
            match keys.load(self, company.as_str()).await {
                Ok(()) => {}
                Err(CipherError::NoDataKey) => continue,
                Err(e) => return Err(DbError::Internal(format!("{company}: {e}"))),
            }
            let before = moved;
            loop {
                let n = self
                    .for_data_keys(&company, async |tc| move_batch(tc, keys, batch).await)
                    .await?;
                moved += n;
                if n == 0 {
                    break;
                }
            }
            if moved > before {
                // This process's security page counts again at once (other
                // processes within FACTS_MAX_AGE, as the page says).
                self.facts.sealed.forget(&company);
            }
        }
        Ok(moved)
    }
}

/// The page views whose IP is still sealed under a master key (a data
/// key's id starts `d-`). Written exactly as the partial index
/// `page_views_master_sealed_idx` (migration 000052) so the planner reads
/// through it; `starts_with` is LEAKPROOF, so forced RLS does not hold the
/// condition back behind the policy as it did `NOT LIKE`.
fn master_sealed() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("NOT starts_with(page_views.ip_key_id, 'd-')")
}

/// How many of the bound company's sealed values are still under the
/// master key (the security page's migration line). Only the partial index
/// `page_views_master_sealed_idx` is read: counting every page view would
/// cost a scan of millions of rows. Still, the index holds one entry per
/// value left, so a workspace with 1,000,000 values not yet moved costs
/// ~140 ms of index-only scan per count: the page reads it through
/// [`Database::master_sealed_status`], at most [`FACTS_MAX_AGE`] old.
pub(crate) async fn master_sealed_left(tc: &mut TenantConn<'_>) -> Result<i64, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(page_views::table
        .filter(page_views::company_id.eq(&company))
        .filter(master_sealed())
        .count()
        .get_result(tc.conn())
        .await?)
}

/// One batch of [`Database::migrate_sealed_values`] (and of the
/// [`MIGRATE_VALUES`] job) for the bound company.
async fn move_batch(tc: &mut TenantConn<'_>, keys: &KeyRing, batch: i64) -> Result<u64, DbError> {
    let company = tc.company().as_str().to_string();
    let rows: Vec<(Uuid, String, Vec<u8>, Vec<u8>)> = page_views::table
        .filter(page_views::company_id.eq(&company))
        .filter(master_sealed())
        .select((
            page_views::id,
            page_views::ip_key_id,
            page_views::ip_nonce,
            page_views::ip_ciphertext,
        ))
        .limit(batch)
        .for_update()
        .skip_locked()
        .load(tc.conn())
        .await?;
    let mut moved = 0u64;
    for (id, key_id, nonce, ciphertext) in rows {
        let row = id.to_string();
        let at = crate::visitors::ip_context(&company, &row);
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| DbError::Internal(format!("page view {row}: nonce not 12 bytes")))?;
        let plain = keys
            .open(
                &Sealed {
                    key_id,
                    nonce,
                    ciphertext,
                },
                &at,
            )
            .map_err(|e| DbError::Internal(format!("page view {row}: {e}")))?;
        let sealed = keys
            .seal(&plain, &at)
            .map_err(|e| DbError::Internal(format!("page view {row}: {e}")))?;
        diesel::update(
            page_views::table
                .filter(page_views::company_id.eq(&company))
                .filter(page_views::id.eq(id)),
        )
        .set((
            page_views::ip_key_id.eq(sealed.key_id),
            page_views::ip_nonce.eq(sealed.nonce.to_vec()),
            page_views::ip_ciphertext.eq(sealed.ciphertext),
        ))
        .execute(tc.conn())
        .await?;
        moved += 1;
    }
    Ok(moved)
}

/// The value move on the job runner: each run moves one batch of the
/// job's company, in the job's own transaction (a crash rolls the batch
/// back and the job runs again; a value already under the DEK is never
/// read again), and enqueues the next run while values are left. The
/// hourly cron starts it; with nothing left a run is one index lookup.
pub const MIGRATE_VALUES: crate::jobs::JobKind = crate::jobs::JobKind {
    name: "keys.migrate_values",
    max_attempts: 5,
    backoff: crate::jobs::Backoff::DEFAULT,
};

/// Values one run of [`MIGRATE_VALUES`] moves.
pub const MIGRATE_BATCH: i64 = 1000;

/// The handler of [`MIGRATE_VALUES`] (registered by `metiva serve`).
pub struct MigrateValuesJob {
    db: Database,
    keys: std::sync::Arc<KeyRing>,
}

impl MigrateValuesJob {
    pub fn new(db: Database, keys: std::sync::Arc<KeyRing>) -> Self {
        Self { db, keys }
    }
}

/// Whether the bound company has values still sealed under a master key.
async fn any_master_sealed(tc: &mut TenantConn<'_>) -> Result<bool, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(diesel::select(diesel::dsl::exists(
        page_views::table
            .filter(page_views::company_id.eq(&company))
            .filter(master_sealed()),
    ))
    .get_result(tc.conn())
    .await?)
}

impl crate::jobs::Handler for MigrateValuesJob {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a crate::jobs::JobInfo,
    ) -> crate::jobs::BoxFuture<'a, Result<(), crate::jobs::JobError>> {
        Box::pin(async move {
            // Nothing to move: no key is loaded (or created) for it.
            if !any_master_sealed(tc).await? {
                return Ok(());
            }
            match KeyRing::load(self.keys.as_ref(), &self.db, job.company.as_str()).await {
                Ok(()) => {}
                // Offboarding: the key is gone with the values.
                Err(CipherError::NoDataKey) => {
                    return Err(crate::jobs::JobError::permanent(
                        "the workspace has no data key",
                    ));
                }
                Err(e) => return Err(crate::jobs::JobError::retry(format!("data key: {e}"))),
            }
            let moved = move_batch(tc, self.keys.as_ref(), MIGRATE_BATCH).await?;
            if i64::try_from(moved).unwrap_or(i64::MAX) >= MIGRATE_BATCH {
                crate::jobs::enqueue(
                    tc,
                    &crate::jobs::NewJob {
                        kind: &MIGRATE_VALUES,
                        payload: "{}",
                        key: None,
                        run_at: None,
                    },
                )
                .await?;
            }
            Ok(())
        })
    }
}

/// What a rotation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RotationReport {
    pub rewrapped: usize,
    pub already_current: usize,
    /// Companies with no DEK (never sealed anything, or offboarded).
    pub without_key: usize,
    /// `step` stopped the walk before the end.
    pub stopped: bool,
}

impl DataKeyStore for Database {
    fn fetch<'a>(&'a self, company: &'a str) -> KeyFuture<'a, Option<WrappedKey>> {
        Box::pin(async move {
            let c = parse_company(company)?;
            self.fetch_data_key(&c).await.map_err(store_error)
        })
    }

    fn create<'a>(
        &'a self,
        company: &'a str,
        key: &'a WrappedKey,
    ) -> KeyFuture<'a, Option<WrappedKey>> {
        Box::pin(async move {
            let c = parse_company(company)?;
            self.create_data_key(&c, key).await.map_err(store_error)
        })
    }
}

/// The security page's migration line: how many values were still under
/// the master key, and when that was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MasterSealed {
    pub left: i64,
    pub checked_at: DateTime<Utc>,
}

/// One company's cached count: when it was taken (monotonic) and what.
type SealedSlot = Arc<futures::lock::Mutex<Option<(Instant, MasterSealed)>>>;

/// The master-sealed counts, one slot per company (issue 15), beside the
/// catalog facts in [`crate::system::FactsCache`]. A slot's lock is held
/// while its count runs, so concurrent views of an expired count wait for
/// one count instead of each scanning the index; other companies' slots
/// are not held up. One slot per company that viewed the page: bounded by
/// the companies.
#[derive(Debug, Default)]
pub(crate) struct SealedCounts {
    slots: std::sync::Mutex<HashMap<String, SealedSlot>>,
}

impl SealedCounts {
    fn slot(&self, company: &CompanyId) -> SealedSlot {
        // A poisoned map only means a panic elsewhere while inserting; the
        // map itself is still sound (a slot is inserted whole).
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(slots.entry(company.as_str().to_string()).or_default())
    }

    fn forget(&self, company: &CompanyId) {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.remove(company.as_str());
    }
}

impl Database {
    /// How many of the workspace's sealed values are still under the
    /// master key, counted now (tests and operators; the page reads
    /// [`Database::master_sealed_status`]).
    pub async fn master_sealed_count(&self, ctx: &TenantCtx) -> Result<i64, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            master_sealed_left(tc).await
        })
        .await
    }

    /// The security page's count of values still under the master key,
    /// counted at most [`FACTS_MAX_AGE`] ago, with when (the page shows
    /// it), as the catalog facts are (issue 15: at 1,000,000 values left
    /// the count was 695 ms of a 1,310 ms view under load).
    ///
    /// # Security
    /// The slot is keyed by the request's verified company and holds a
    /// count only. The count itself runs under that company's binding
    /// with its access re-asserted; a view served from the slot reads
    /// nothing, and the page's other reads re-assert the access anyway.
    pub async fn master_sealed_status(&self, ctx: &TenantCtx) -> Result<MasterSealed, DbError> {
        let slot = self.facts.sealed.slot(ctx.company());
        let mut slot = slot.lock().await;
        if let Some((at, status)) = slot.as_ref()
            && at.elapsed() < FACTS_MAX_AGE
        {
            return Ok(*status);
        }
        // An error is not cached: the next view counts again.
        let status = MasterSealed {
            left: self.master_sealed_count(ctx).await?,
            checked_at: Utc::now(),
        };
        *slot = Some((Instant::now(), status));
        Ok(status)
    }
}
