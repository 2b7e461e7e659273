//! Export files removed after their download window (issue 16): the cron
//! schedule `export-cleanup` enqueues one [`EXPORT_CLEANUP`] job per
//! company per hour; its handler removes the files of that company's
//! finished exports whose [`DOWNLOAD_TTL`] has passed (and any leftover
//! partial file of a failed one), and records each in
//! `export_files_removed`; the export's row stays as its history.
//!
//! # Security and safety
//! - A file is removed only once no download can still be issued or
//!   redeemed for it: tokens expire at `finished_at + DOWNLOAD_TTL` and
//!   the page offers an export only within that window; the cut-off here
//!   adds [`MARGIN`] for clock skew between this host and the database.
//! - Paths and object keys come from the company id and the export id
//!   only ([`ExportStore`]), never from stored text.
//! - What goes: the sealed object in the object store, any spool file a
//!   failed export left, and a finished file as versions before the
//!   object store kept it under the data directory.
//! - The job runs on its own transaction bound to the job's company
//!   (`Database::for_job`, forced RLS), so it only sees that company's
//!   exports. The files go first, then the rows are marked in the job's
//!   transaction: a crash between the two leaves a row unmarked whose file
//!   is already gone, and the next run marks it (a missing file is not an
//!   error). Nothing is ever marked removed while its file remains.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use object_store::ObjectStoreExt;

use super::{DOWNLOAD_TTL, ExportStore};
use crate::files::{FileStore, parse_key, store_err};
use crate::jobs::{Backoff, BoxFuture, Handler, JobError, JobInfo, JobKind};
use crate::schema::{export_files_removed as removed, exports};
use crate::{DbError, TenantConn};

/// The clean-up's job kind (hourly; a failed run is retried, and the next
/// hour's slot runs again anyway).
pub const EXPORT_CLEANUP: JobKind = JobKind {
    name: "privacy.export_cleanup",
    max_attempts: 3,
    backoff: Backoff::DEFAULT,
};

/// Added to the download window before a file goes (clock skew).
pub const MARGIN: TimeDelta = TimeDelta::minutes(5);

/// Exports handled per run (the rest in the next hour's run).
const LIMIT: i64 = 1_000;

fn remove(path: &std::path::Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Deletes an object, answering whether it was there.
async fn remove_object(files: &FileStore, key: &str) -> Result<bool, DbError> {
    let path = parse_key(key)?;
    match files.inner()?.head(&path).await {
        Ok(_) => {}
        Err(object_store::Error::NotFound { .. }) => return Ok(false),
        Err(e) => return Err(store_err(e)),
    }
    files.delete(key).await?;
    Ok(true)
}

/// Removes the bound company's export files past their window at `at`
/// and marks their rows; answers how many files were removed.
pub async fn clean_expired(
    tc: &mut TenantConn<'_>,
    store: &ExportStore,
    at: DateTime<Utc>,
) -> Result<u64, JobError> {
    let company = tc.company().clone();
    let cutoff = at - DOWNLOAD_TTL - MARGIN;
    let due: Vec<Uuid> = exports::table
        .filter(exports::company_id.eq(company.as_str()))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            removed::table
                .filter(removed::company_id.eq(exports::company_id))
                .filter(removed::export_id.eq(exports::id)),
        )))
        .filter(
            exports::status
                .eq("done")
                .and(exports::finished_at.lt(cutoff))
                .or(exports::status.eq("failed")),
        )
        .order(exports::created_at.asc())
        .limit(LIMIT)
        .select(exports::id)
        .load(tc.conn())
        .await
        .map_err(DbError::from)?;
    let mut removed = 0;
    for id in &due {
        let key = ExportStore::object_key(&company, *id);
        if remove_object(store.files(), &key)
            .await
            .map_err(|e| JobError::retry(format!("export object {id}: {e}")))?
        {
            removed += 1;
        }
        for path in [
            store.legacy_path(&company, *id),
            store.partial_path(&company, *id),
        ] {
            if remove(&path).map_err(|e| JobError::retry(format!("export file {id}: {e}")))? {
                removed += 1;
            }
        }
    }
    if !due.is_empty() {
        let rows: Vec<_> = due
            .iter()
            .map(|id| {
                (
                    removed::company_id.eq(company.as_str()),
                    removed::export_id.eq(*id),
                )
            })
            .collect();
        diesel::insert_into(removed::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(tc.conn())
            .await
            .map_err(DbError::from)?;
    }
    Ok(removed)
}

/// The handler for [`EXPORT_CLEANUP`].
pub struct ExportCleanupJob {
    store: ExportStore,
}

impl ExportCleanupJob {
    pub fn new(store: ExportStore) -> Self {
        Self { store }
    }
}

impl Handler for ExportCleanupJob {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        _job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            clean_expired(tc, &self.store, Utc::now()).await?;
            Ok(())
        })
    }
}
