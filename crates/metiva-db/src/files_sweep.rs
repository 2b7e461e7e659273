//! Orphaned objects (issue 17): a stored file's object is written before
//! its row ([`crate::files::store`]), so a transaction that rolls back
//! after the upload (a refused insert, a crash, a lost connection) leaves
//! an object no row points to. It is sealed under the workspace's data
//! key and never offered, but it is the workspace's data all the same:
//! the hourly schedule `orphan-sweep` enqueues one [`ORPHAN_SWEEP`] job
//! per company, whose handler deletes the company's objects that no
//! `stored_files` row names and that are older than [`GRACE`].
//!
//! # Security and safety
//! - The job runs bound to its company (`Database::for_job`, forced RLS):
//!   it lists only the company's own prefix (`{company}/invoices/`,
//!   `…/attachments/`, `…/branding/`, the folders rows track) and reads
//!   only the company's rows. Export ZIPs (`…/exports/`) have no row and
//!   are the export clean-up's; they are never listed here.
//! - [`GRACE`] (one hour) keeps an upload whose transaction has not
//!   committed yet: no transaction of ours lives that long (statement and
//!   idle timeouts end it first), so an object older than that without a
//!   row will never get one.
//! - A row is looked up after the listing, so a row committed between the
//!   two keeps its object; deleting twice converges (a missing object is
//!   no error).

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use object_store::path::Path;

use crate::files::FileStore;
use crate::jobs::{Backoff, BoxFuture, Handler, JobError, JobInfo, JobKind};
use crate::schema::stored_files;
use crate::{DbError, TenantConn};

/// The sweep's job kind.
pub const ORPHAN_SWEEP: JobKind = JobKind {
    name: "files.orphan_sweep",
    max_attempts: 3,
    backoff: Backoff::DEFAULT,
};

/// How old an unreferenced object must be before it goes.
pub const GRACE: TimeDelta = TimeDelta::hours(1);

/// The folders whose objects `stored_files` rows name.
pub const TRACKED: [&str; 3] = ["invoices", "attachments", "branding"];

/// Candidates looked at per folder and run (the rest in the next hour).
const LIMIT: usize = 1_000;

/// Deletes the bound company's objects that no row names and that were
/// last modified before `older_than`; answers how many went.
pub async fn sweep_orphans(
    tc: &mut TenantConn<'_>,
    files: &FileStore,
    older_than: DateTime<Utc>,
) -> Result<u64, DbError> {
    let company = tc.company().as_str().to_string();
    let mut removed = 0;
    for folder in TRACKED {
        let prefix = Path::from(format!("{company}/{folder}"));
        let under = format!("{company}/{folder}/");
        // The listing is the prefix's; checked again before any delete.
        let old: Vec<String> = files
            .list_where(&prefix, LIMIT, |meta| {
                meta.last_modified < older_than && meta.location.as_ref().starts_with(&under)
            })
            .await?
            .into_iter()
            .map(|meta| meta.location.to_string())
            .collect();
        if old.is_empty() {
            continue;
        }
        let named: HashSet<String> = stored_files::table
            .filter(stored_files::company_id.eq(&company))
            .filter(stored_files::object_key.eq_any(&old))
            .select(stored_files::object_key)
            .load::<String>(tc.conn())
            .await?
            .into_iter()
            .collect();
        for key in old.iter().filter(|k| !named.contains(*k)) {
            files.delete(key).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The handler for [`ORPHAN_SWEEP`].
pub struct OrphanSweepJob {
    files: FileStore,
}

impl OrphanSweepJob {
    pub fn new(files: FileStore) -> Self {
        Self { files }
    }
}

impl Handler for OrphanSweepJob {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        _job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            sweep_orphans(tc, &self.files, Utc::now() - GRACE).await?;
            Ok(())
        })
    }
}
