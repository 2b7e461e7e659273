//! Client offboarding: every row of one company, in every tenant table the
//! catalog finds, is deleted; its data key (DEK) is destroyed first; the
//! company is marked offboarded; a receipt stays in a global register.
//!
//! # How
//! 1. Start (one transaction): the register row (`offboardings`, state
//!    `running`, who asked) and the company's status `offboarding`, which
//!    ends every member's access at once (`metiva_assert_access` needs an
//!    `active` company).
//! 2. Destroy the DEK (`company_keys`): from here on every ciphertext of
//!    the company is unreadable, also in backups of the data (which leave
//!    the key table's rows out, see README "Backups and keys").
//! 3. Walk the tenant tables, found by the catalog (any table with a
//!    `company_id` column, the same definition as the isolation lint),
//!    children before parents by their foreign keys, deleting at most
//!    `batch` rows per transaction. Each batch adds its count to the
//!    register in the same transaction, so a crash loses nothing and
//!    counts nothing twice.
//! 4. Proof: the company's rows summed over every tenant table must be 0
//!    (a row written meanwhile, say by a job already running, is swept by
//!    another pass).
//! 5. Files: every object under `{company}/` in the object store (invoice
//!    PDFs, the logo, attachments, workspace exports), listed and deleted
//!    in batches of [`FILE_BATCH`], each batch counted in the register
//!    (`files_deleted`); then the data directory's `exports/<company>/`
//!    of the time exports were local files. They go last: with the key
//!    destroyed their contents were already unreadable, and with the rows
//!    gone nothing refers to them. A store that fails (down, refusing)
//!    stops the run here with [`OffboardError::FilesPending`]: the receipt
//!    shows the files as pending (`files_deleted_at` unset, state still
//!    `running`), and running the offboarding again finishes them.
//! 6. Finish (one transaction): status `offboarded`, the name replaced by
//!    the id, the register row `done` with its time and `files_deleted_at`
//!    (the table refuses `done` without it).
//!
//! A crash anywhere resumes: running the offboarding again for the company
//! (`metiva offboard <company>`) continues from the register's state; once
//! done, it answers the same receipt.
//!
//! # Security
//! - Runs as the owner role (it deletes from append-only tables the app
//!   role cannot touch), but every delete runs under the company's own
//!   binding (`Database::for_offboarding`): FORCE'd RLS limits even the
//!   owner role to that company's rows.
//! - Table names come from `pg_catalog`, quoted by PostgreSQL
//!   (`format('%I.%I')`), never from input.
//! - The receipt holds the company id, times, the actor's id and counts per
//!   table and of files: no name, email, object key, file name, or any
//!   other personal data.
//! - Files are found by the company's prefix, which comes from a parsed
//!   [`CompanyId`] (`cmp_` and six hex digits, never empty), so the
//!   listing cannot reach past `{company}/` into another workspace's or
//!   the whole bucket's objects.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::files::FileStore;
use crate::{CompanyId, Database, DbError, TenantConn};

/// Objects listed and deleted per batch (S3's DeleteObjects takes 1,000).
pub const FILE_BATCH: usize = 1_000;

/// Where a workspace's files live outside the database.
#[derive(Debug, Clone, Copy)]
pub struct OffboardFiles<'a> {
    /// The object store: every object under `{company}/`.
    pub store: &'a FileStore,
    /// The data directory, whose `exports/<company>/` (workspace exports
    /// written before they moved to the object store) is removed too;
    /// None when the process has none to look at.
    pub data_dir: Option<&'a std::path::Path>,
}

/// Who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The operator, with `metiva offboard`.
    Operator,
    /// An owner of the workspace, on its page.
    Owner(Uuid),
}

/// The register's row: the offboarding receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub company: String,
    pub done: bool,
    pub requested_by: String,
    pub actor_user_id: Option<Uuid>,
    pub started_at: DateTime<Utc>,
    pub key_destroyed_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Rows deleted per tenant table.
    pub rows_deleted: BTreeMap<String, i64>,
    /// Files (objects, and local export files) deleted so far.
    pub files_deleted: i64,
    /// When none of the company's files was left; None while pending.
    pub files_deleted_at: Option<DateTime<Utc>>,
}

impl Receipt {
    pub fn total(&self) -> i64 {
        self.rows_deleted.values().sum()
    }

    /// The company's files are not (known to be) all deleted yet.
    pub fn files_pending(&self) -> bool {
        self.files_deleted_at.is_none()
    }
}

#[derive(QueryableByName)]
struct ReceiptRow {
    #[diesel(sql_type = Text)]
    workspace: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Text)]
    requested_by: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    actor_user_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    started_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    key_destroyed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    finished_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    files_deleted: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    files_deleted_at: Option<DateTime<Utc>>,
}

/// One line of the receipt's counts.
#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

impl ReceiptRow {
    fn with_counts(self, counts: Vec<CountRow>) -> Receipt {
        Receipt {
            company: self.workspace,
            done: self.state == "done",
            requested_by: self.requested_by,
            actor_user_id: self.actor_user_id,
            started_at: self.started_at,
            key_destroyed_at: self.key_destroyed_at,
            finished_at: self.finished_at,
            rows_deleted: counts.into_iter().map(|c| (c.table_name, c.rows)).collect(),
            files_deleted: self.files_deleted,
            files_deleted_at: self.files_deleted_at,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OffboardError {
    #[error("no such workspace")]
    NotFound,
    /// Every row is deleted and the data key destroyed, but the object
    /// store failed before the files were all gone: the register stays
    /// `running` with the files pending; run the offboarding again.
    #[error(
        "its rows are deleted and its data key destroyed, but its files could not all be deleted \
         ({} so far: {cause}); the offboarding stays pending until they are: run it again",
        receipt.files_deleted
    )]
    FilesPending {
        receipt: Box<Receipt>,
        cause: DbError,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

// Raw SQL throughout: the register is owner-only and outside the app's
// schema use, and the deletes name tables found at run time in the catalog.
const READ_RECEIPT: &str = "SELECT workspace, state, requested_by, actor_user_id, started_at,
        key_destroyed_at, finished_at, files_deleted, files_deleted_at
        FROM offboardings WHERE workspace = $1";

async fn receipt(tc: &mut TenantConn<'_>) -> Result<Option<Receipt>, DbError> {
    let company = tc.company().as_str().to_string();
    let rows: Vec<ReceiptRow> = diesel::sql_query(READ_RECEIPT)
        .bind::<Text, _>(&company)
        .load(tc.conn())
        .await?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let counts: Vec<CountRow> = diesel::sql_query(
        "SELECT key AS table_name, value::bigint AS rows
         FROM offboardings, jsonb_each_text(rows_deleted) WHERE workspace = $1",
    )
    .bind::<Text, _>(&company)
    .load(tc.conn())
    .await?;
    Ok(Some(row.with_counts(counts)))
}

/// Adds `n` to the register's count for `table`, in the caller's
/// transaction.
async fn count_deleted(tc: &mut TenantConn<'_>, table: &str, n: i64) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    diesel::sql_query(
        "UPDATE offboardings SET rows_deleted = jsonb_set(rows_deleted, ARRAY[$2],
             to_jsonb(coalesce((rows_deleted ->> $2)::bigint, 0) + $3))
         WHERE workspace = $1",
    )
    .bind::<Text, _>(&company)
    .bind::<Text, _>(table)
    .bind::<BigInt, _>(n)
    .execute(tc.conn())
    .await?;
    Ok(())
}

/// A tenant table and the tenant tables its foreign keys point at.
#[derive(QueryableByName)]
struct TableRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    qualified: String,
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    parents: Vec<String>,
}

/// The tenant tables (the catalog's definition: every ordinary or
/// partitioned table outside the system schemas with a `company_id`
/// column), children before the parents they reference.
pub async fn tenant_tables_in_delete_order(
    conn: &mut &diesel_async::AsyncPgConnection,
) -> Result<Vec<(String, String)>, DbError> {
    let rows: Vec<TableRow> = diesel::sql_query(
        "WITH tenant_tables AS (
           SELECT c.oid, c.relname::text AS name, format('%I.%I', n.nspname, c.relname) AS qualified
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
             AND n.nspname !~ '^pg_toast' AND NOT c.relispartition
             AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'company_id'
                         AND a.attnum > 0 AND NOT a.attisdropped))
         SELECT t.name, t.qualified,
                coalesce(array_agg(DISTINCT p.qualified) FILTER (WHERE p.oid IS NOT NULL AND p.oid <> t.oid), '{}') AS parents
         FROM tenant_tables t
         LEFT JOIN pg_constraint k ON k.conrelid = t.oid AND k.contype = 'f'
         LEFT JOIN tenant_tables p ON p.oid = k.confrelid
         GROUP BY t.name, t.qualified ORDER BY t.qualified",
    )
    .load(conn)
    .await?;
    // Children first: a table goes once no remaining table references it.
    let mut left: Vec<TableRow> = rows;
    let mut order = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let referenced: BTreeSet<String> = left
            .iter()
            .flat_map(|t| t.parents.iter().cloned())
            .collect();
        let (ready, rest): (Vec<TableRow>, Vec<TableRow>) = left
            .into_iter()
            .partition(|t| !referenced.contains(&t.qualified));
        if ready.is_empty() {
            // A cycle of foreign keys: delete its tables in name order;
            // a batch refused by a reference falls back to one statement
            // per table (see `delete_table`), and the proof pass repeats.
            order.extend(rest.into_iter().map(|t| (t.name, t.qualified)));
            break;
        }
        order.extend(ready.into_iter().map(|t| (t.name, t.qualified)));
        left = rest;
    }
    Ok(order)
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Deletes up to `batch` of the bound company's rows from `qualified`
/// and counts them in the register; answers how many.
async fn delete_batch(
    tc: &mut TenantConn<'_>,
    name: &str,
    qualified: &str,
    batch: i64,
) -> Result<i64, DbError> {
    let company = tc.company().as_str().to_string();
    let n: N = diesel::sql_query(format!(
        "WITH gone AS (DELETE FROM {qualified} WHERE ctid = ANY (ARRAY(
             SELECT ctid FROM {qualified} WHERE company_id = $1 LIMIT $2)) RETURNING 1)
         SELECT count(*) AS n FROM gone"
    ))
    .bind::<Text, _>(&company)
    .bind::<BigInt, _>(batch)
    .get_result(tc.conn())
    .await?;
    if n.n > 0 {
        count_deleted(tc, name, n.n).await?;
    }
    Ok(n.n)
}

/// The bound company's rows over every tenant table (the proof).
async fn remaining(tc: &mut TenantConn<'_>, tables: &[(String, String)]) -> Result<i64, DbError> {
    if tables.is_empty() {
        return Ok(0);
    }
    let company = tc.company().as_str().to_string();
    let union: Vec<String> = tables
        .iter()
        .map(|(_, q)| format!("SELECT count(*) AS n FROM {q} WHERE company_id = $1"))
        .collect();
    let n: N = diesel::sql_query(format!(
        "SELECT coalesce(sum(n), 0)::bigint AS n FROM ({}) AS counts",
        union.join(" UNION ALL ")
    ))
    .bind::<Text, _>(&company)
    .get_result(tc.conn())
    .await?;
    Ok(n.n)
}

/// Options for [`Database::offboard`].
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Rows per delete transaction.
    pub batch: i64,
}

impl Default for Options {
    fn default() -> Self {
        Self { batch: 5_000 }
    }
}

impl Database {
    /// Offboards `company` (see the module docs), or resumes an
    /// offboarding a crash cut short, or answers the receipt of one
    /// already done. `step` is told each batch (table, rows) and may stop
    /// the walk (progress, tests): the register then stays `running`.
    pub async fn offboard(
        &self,
        company: &CompanyId,
        actor: Actor,
        options: Options,
        files: OffboardFiles<'_>,
        mut step: impl FnMut(&str, i64) -> ControlFlow<()>,
    ) -> Result<Receipt, OffboardError> {
        let batch = options.batch.clamp(1, 100_000);
        let (requested_by, actor_id) = match actor {
            Actor::Operator => ("operator", None),
            Actor::Owner(u) => ("owner", Some(u)),
        };
        // 1. Start (or find the run to resume, or the finished receipt).
        let started = self
            .for_offboarding(company, async |tc| {
                let id = tc.company().as_str().to_string();
                let exists: N =
                    diesel::sql_query("SELECT count(*) AS n FROM companies WHERE id = $1")
                        .bind::<Text, _>(&id)
                        .get_result(tc.conn())
                        .await?;
                if exists.n == 0 {
                    return Ok(None);
                }
                if let Some(r) = receipt(tc).await? {
                    return Ok(Some(r));
                }
                diesel::sql_query(
                    "INSERT INTO offboardings (workspace, state, requested_by, actor_user_id)
                     VALUES ($1, 'running', $2, $3)",
                )
                .bind::<Text, _>(&id)
                .bind::<Text, _>(requested_by)
                .bind::<Nullable<SqlUuid>, _>(actor_id)
                .execute(tc.conn())
                .await?;
                diesel::sql_query("UPDATE companies SET status = 'offboarding' WHERE id = $1")
                    .bind::<Text, _>(&id)
                    .execute(tc.conn())
                    .await?;
                receipt(tc).await
            })
            .await?
            .ok_or(OffboardError::NotFound)?;
        if started.done {
            return Ok(started);
        }
        // 2. Destroy the data key first.
        self.for_offboarding(company, async |tc| {
            let id = tc.company().as_str().to_string();
            let n = diesel::sql_query("DELETE FROM company_keys WHERE company_id = $1")
                .bind::<Text, _>(&id)
                .execute(tc.conn())
                .await?;
            if n > 0 {
                count_deleted(tc, "company_keys", i64::try_from(n).unwrap_or(i64::MAX)).await?;
            }
            diesel::sql_query(
                "UPDATE offboardings SET key_destroyed_at = coalesce(key_destroyed_at, now())
                 WHERE workspace = $1",
            )
            .bind::<Text, _>(&id)
            .execute(tc.conn())
            .await?;
            Ok(())
        })
        .await?;
        // 3. and 4. Every tenant table, children first, until none holds a row.
        let tables = self
            .global(async |conn| tenant_tables_in_delete_order(conn).await)
            .await?;
        for _pass in 0..3 {
            for (name, qualified) in &tables {
                loop {
                    let n = match self
                        .for_offboarding(company, async |tc| {
                            delete_batch(tc, name, qualified, batch).await
                        })
                        .await
                    {
                        Ok(n) => n,
                        // A batch refused by a reference inside the table
                        // (or a cycle): the whole table in one statement.
                        Err(e) if is_foreign_key_violation(&e) => {
                            self.for_offboarding(company, async |tc| {
                                delete_batch(tc, name, qualified, i64::MAX).await
                            })
                            .await?
                        }
                        Err(e) => return Err(e.into()),
                    };
                    if n == 0 {
                        break;
                    }
                    if step(name, n).is_break() {
                        return Ok(self.offboarding_receipt(company).await?.unwrap_or(started));
                    }
                }
            }
            let left = self
                .for_offboarding(company, async |tc| remaining(tc, &tables).await)
                .await?;
            if left == 0 {
                // 5. The files.
                if let Err(cause) = self.delete_files(company, files).await {
                    let receipt = self.offboarding_receipt(company).await?.unwrap_or(started);
                    return Err(OffboardError::FilesPending {
                        receipt: Box::new(receipt),
                        cause,
                    });
                }
                // 6. Finish.
                let done = self
                    .for_offboarding(company, async |tc| {
                        let id = tc.company().as_str().to_string();
                        diesel::sql_query(
                            "UPDATE companies SET status = 'offboarded', name = id WHERE id = $1",
                        )
                        .bind::<Text, _>(&id)
                        .execute(tc.conn())
                        .await?;
                        diesel::sql_query(
                            "UPDATE offboardings SET state = 'done', finished_at = now(),
                                 files_deleted_at = now() WHERE workspace = $1",
                        )
                        .bind::<Text, _>(&id)
                        .execute(tc.conn())
                        .await?;
                        receipt(tc).await
                    })
                    .await?;
                return done.ok_or(OffboardError::NotFound);
            }
        }
        Err(OffboardError::Db(DbError::Internal(format!(
            "{company}: rows kept appearing during offboarding; run it again"
        ))))
    }

    /// Step 5: deletes every file of `company` (see the module docs),
    /// counting each batch in the register. Idempotent: a missing object
    /// is no error, and a rerun lists only what is left.
    async fn delete_files(
        &self,
        company: &CompanyId,
        files: OffboardFiles<'_>,
    ) -> Result<(), DbError> {
        loop {
            let n = files.store.delete_prefix(company, FILE_BATCH).await?;
            if n == 0 {
                break;
            }
            self.count_files(company, n).await?;
        }
        if let Some(data_dir) = files.data_dir {
            let n = remove_legacy_exports(&data_dir.join("exports").join(company.as_str()))?;
            if n > 0 {
                self.count_files(company, n).await?;
            }
        }
        Ok(())
    }

    async fn count_files(&self, company: &CompanyId, n: u64) -> Result<(), DbError> {
        self.for_offboarding(company, async |tc| {
            let id = tc.company().as_str().to_string();
            diesel::sql_query(
                "UPDATE offboardings SET files_deleted = files_deleted + $2 WHERE workspace = $1",
            )
            .bind::<Text, _>(&id)
            .bind::<BigInt, _>(i64::try_from(n).unwrap_or(i64::MAX))
            .execute(tc.conn())
            .await?;
            Ok(())
        })
        .await
    }

    /// The register's receipt for `company`, if it was (or is being)
    /// offboarded. Owner role.
    pub async fn offboarding_receipt(
        &self,
        company: &CompanyId,
    ) -> Result<Option<Receipt>, DbError> {
        self.for_offboarding(company, async |tc| receipt(tc).await)
            .await
    }

    /// The company's rows summed over every tenant table the catalog finds
    /// (the offboarding proof; tests and `metiva offboard` print it).
    pub async fn company_row_count(&self, company: &CompanyId) -> Result<i64, DbError> {
        let tables = self
            .global(async |conn| tenant_tables_in_delete_order(conn).await)
            .await?;
        self.for_offboarding(company, async |tc| remaining(tc, &tables).await)
            .await
    }
}

/// Removes the local export directory of a company (the files in it, then
/// the directory); answers how many files went. A directory that is not
/// there is nothing to do. Plain `std::fs`, as the exports module writes
/// them: a few files, in the operator's command.
fn remove_legacy_exports(dir: &std::path::Path) -> Result<u64, DbError> {
    let failed =
        |e: std::io::Error| DbError::Unavailable(format!("removing {}: {e}", dir.display()));
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(failed(e)),
    };
    let mut n = 0;
    for entry in entries {
        let entry = entry.map_err(failed)?;
        let path = entry.path();
        if entry.file_type().map_err(failed)?.is_dir() {
            std::fs::remove_dir_all(&path).map_err(failed)?;
        } else {
            std::fs::remove_file(&path).map_err(failed)?;
        }
        n += 1;
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => Ok(n),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(n),
        Err(e) => Err(failed(e)),
    }
}

fn is_foreign_key_violation(e: &DbError) -> bool {
    // The core maps SQLSTATE 23503 (with check and not-null violations) to
    // `Rejected` with PostgreSQL's message; only a reference refuses a
    // delete.
    matches!(e, DbError::Rejected(m) if m.contains("foreign key"))
}
