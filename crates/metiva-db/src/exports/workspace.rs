//! The whole-workspace export: a job that streams every tenant table the
//! catalog lists (`metiva_tenancy::catalog::tenant_tables`, never a
//! hand-written list) as one CSV per table, the workspace's stored files
//! (invoice PDFs, attachments, logos) under `files/`, plus
//! `manifest.json` (row count and SHA-256 per file) and `README.txt`,
//! into a ZIP that ends up sealed in the object store.
//!
//! # Memory
//! Rows are read through a server-side cursor in batches of
//! [`BATCH`] rows and written through a deflate stream straight into a
//! buffered spool file; stored files (at most 10 MB each) pass one at a
//! time; the upload reads the spool back a 1 MiB chunk at a time
//! (`crate::sealed_stream`): memory holds one batch, one file or a few
//! upload parts, never the export.
//!
//! # Security
//! - The rows are read in the job's own transaction, bound to the job's
//!   company (`Database::for_job`): the app role under forced RLS, never a
//!   BYPASSRLS role, and every query also filters `company_id` on the
//!   transaction's own setting. A table or column the app role may not
//!   read is not exported and the manifest lists it as withheld; so is
//!   every table on [`EXCLUDED_TABLES`] (keys, credentials, machinery).
//! - Sealed values (the truncated IPs) stay sealed: the export carries
//!   their ciphertext, which only this deployment's keys open, never a
//!   clear IP. Revealing an IP stays a per-row, audited act (`ip.reveal`).
//! - A text value a spreadsheet would run as a formula (a leading
//!   `= + - @`, tab or CR) gets a leading apostrophe (CSV injection);
//!   numbers, dates and ids are written as PostgreSQL prints them.
//! - Stored files are opened (tag and SHA-256 checked) and written in the
//!   clear into the ZIP, which is the point of an export; the ZIP itself
//!   is sealed under the workspace's data key before it reaches the
//!   object store, and the spool file is removed once uploaded.
//! - The file's path and object key come from the company id and the
//!   export id only; a stored file's name inside the ZIP is reduced to
//!   safe characters after its id, so no name can climb out of `files/`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use metiva_security::cipher::KeyRing;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zip::write::SimpleFileOptions;

use super::{ExportStore, WORKSPACE_EXPORT};
use crate::files::StoredFile;
use crate::jobs::{BoxFuture, Handler, JobError, JobInfo};
use crate::schema::{exports, stored_files};
use crate::{CompanyId, Database, DbError, TenantConn};

/// Rows per cursor fetch.
pub const BATCH: i64 = 2_000;

/// How often progress is written (its own short transaction).
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Tenant tables never exported, with the reason the manifest gives
/// under `withheld`. The export is catalog-driven (a new tenant table is
/// exported without code changes), so this is the one list that holds
/// things back: key material, credentials and one-time codes (sealed or
/// hashed, but an export file must not carry them at all: it leaves the
/// system and its safety would then rest on the master key), and the
/// runner's and the export's own machinery, which is not the client's
/// data. A table named here that no longer exists is simply not met.
pub const EXCLUDED_TABLES: &[(&str, &str)] = &[
    (
        "company_keys",
        "key material (the workspace's wrapped data key)",
    ),
    ("jobs", "internal: the background job queue"),
    ("export_downloads", "credentials: download token hashes"),
    ("integrations", "credentials: sealed adapter credentials"),
    (
        "stripe_connections",
        "credentials: the sealed Stripe key and signing secret",
    ),
    ("phone_codes", "credentials: one-time verification codes"),
    (
        "adapter_breakers",
        "internal: adapter circuit-breaker state",
    ),
    (
        "invoice_counters",
        "internal: the invoice numbering counter",
    ),
    (
        "audit_chain_checks",
        "internal: audit-chain verification results",
    ),
    ("retention_sweeps", "internal: retention sweep bookkeeping"),
];

/// Why `schema.table` is not exported, when it is on [`EXCLUDED_TABLES`].
pub fn excluded(schema: &str, table: &str) -> Option<&'static str> {
    if schema != "public" {
        return None;
    }
    EXCLUDED_TABLES
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, why)| *why)
}

/// The tenant-context filter every export query carries beside RLS.
const OWN_ROWS: &str = "company_id = (SELECT NULLIF(current_setting('app.company_id', true), ''))";

/// The job handler (register with [`WORKSPACE_EXPORT`]).
pub struct WorkspaceExportJob {
    db: Database,
    store: ExportStore,
    keys: Arc<KeyRing>,
    /// Fault injection for the crash tests: fail (as a killed process
    /// would stop) once this many rows are written.
    pub fail_after_rows: Option<i64>,
}

impl WorkspaceExportJob {
    pub fn new(db: Database, store: ExportStore, keys: Arc<KeyRing>) -> Self {
        Self {
            db,
            store,
            keys,
            fail_after_rows: None,
        }
    }
}

#[derive(serde::Deserialize)]
struct Payload {
    export_id: Uuid,
}

impl Handler for WorkspaceExportJob {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let p: Payload = serde_json::from_str(&job.payload)
                .map_err(|_| JobError::permanent("payload is not an export id"))?;
            let company = job.company.clone();
            match self.export(tc, &company, p.export_id).await {
                Ok(()) => Ok(()),
                Err(e) => {
                    if job.attempt >= job.max_attempts || !e.retry {
                        // The last attempt: never leave a row "running"
                        // forever, a spool file or an object behind.
                        let _ =
                            std::fs::remove_file(self.store.partial_path(&company, p.export_id));
                        let _ = self
                            .store
                            .files()
                            .delete(&ExportStore::object_key(&company, p.export_id))
                            .await;
                        let msg: String = e.message.chars().take(400).collect();
                        let _ = self
                            .db
                            .for_job(&company, async |t: &mut TenantConn<'_>| {
                                set_failed(t, p.export_id, &msg).await
                            })
                            .await;
                    }
                    Err(e)
                }
            }
        })
    }
}

async fn set_failed(tc: &mut TenantConn<'_>, id: Uuid, msg: &str) -> Result<(), DbError> {
    let c = tc.company().as_str().to_string();
    diesel::update(
        exports::table
            .filter(exports::company_id.eq(&c))
            .filter(exports::id.eq(id))
            .filter(exports::status.ne("done")),
    )
    .set((exports::status.eq("failed"), exports::error.eq(msg)))
    .execute(tc.conn())
    .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Column {
    /// `quote_ident`-ed, for the SQL text.
    #[diesel(sql_type = Text)]
    ident: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    ty: String,
}

#[derive(QueryableByName)]
struct Qualified {
    #[diesel(sql_type = Text)]
    qual: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// One table to export.
struct Plan {
    file: String,
    table: String,
    qual: String,
    columns: Vec<Column>,
    rows: i64,
    /// Why it is not exported (then `columns` is empty).
    withheld: Option<&'static str>,
}

/// One written file, for the manifest.
#[derive(serde::Serialize)]
struct Entry {
    file: String,
    table: String,
    rows: i64,
    bytes: u64,
    sha256: String,
    columns: Vec<String>,
}

/// Hashes and counts what passes through to the ZIP entry.
struct Tee<'w, W: Write> {
    inner: &'w mut W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(done) = buf.get(..n) {
            self.hash.update(done);
        }
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn io(e: impl std::fmt::Display) -> JobError {
    JobError::retry(format!("export file: {e}"))
}

fn is_text(ty: &str) -> bool {
    ty == "text" || ty.starts_with("character") || ty == "citext"
}

/// A value a spreadsheet would run as a formula gets a leading apostrophe.
fn guard(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

impl WorkspaceExportJob {
    async fn progress(
        &self,
        company: &CompanyId,
        id: Uuid,
        rows_done: i64,
        tables_done: i32,
    ) -> Result<(), DbError> {
        let tables_done = tables_done.max(0);
        self.db
            .for_job(company, async |t: &mut TenantConn<'_>| {
                let c = t.company().as_str().to_string();
                diesel::update(
                    exports::table
                        .filter(exports::company_id.eq(&c))
                        .filter(exports::id.eq(id)),
                )
                .set((
                    exports::rows_done.eq(rows_done),
                    exports::tables_done.eq(tables_done),
                ))
                .execute(t.conn())
                .await?;
                Ok(())
            })
            .await
    }

    async fn export(
        &self,
        tc: &mut TenantConn<'_>,
        company: &CompanyId,
        id: Uuid,
    ) -> Result<(), JobError> {
        // Start (or restart) in a transaction of its own, so the page sees
        // "running"; a finished or failed export is left alone (the job
        // runs at least once).
        let started = self
            .db
            .for_job(company, async |t: &mut TenantConn<'_>| {
                let c = t.company().as_str().to_string();
                Ok(diesel::update(
                    exports::table
                        .filter(exports::company_id.eq(&c))
                        .filter(exports::id.eq(id))
                        .filter(exports::status.eq_any(["queued", "running"])),
                )
                .set((
                    exports::status.eq("running"),
                    exports::started_at.eq(now),
                    exports::attempt.eq(exports::attempt + 1),
                    exports::rows_done.eq(0),
                    exports::tables_done.eq(0),
                ))
                .execute(t.conn())
                .await?)
            })
            .await?;
        if started == 0 {
            return Ok(());
        }

        // The workspace's data key opens its stored files and seals the
        // ZIP; loaded on the key store's own connection.
        KeyRing::load(&self.keys, &self.db, company.as_str())
            .await
            .map_err(|e| JobError::retry(format!("loading the data key: {e}")))?;
        let plans = plan(tc).await?;
        let rows_total: i64 = plans.iter().map(|p| p.rows).sum();
        let tables_total = i32::try_from(plans.len()).unwrap_or(i32::MAX);
        self.db
            .for_job(company, async |t: &mut TenantConn<'_>| {
                let c = t.company().as_str().to_string();
                diesel::update(
                    exports::table
                        .filter(exports::company_id.eq(&c))
                        .filter(exports::id.eq(id)),
                )
                .set((
                    exports::rows_total.eq(rows_total),
                    exports::tables_total.eq(tables_total),
                ))
                .execute(t.conn())
                .await?;
                Ok(())
            })
            .await?;

        std::fs::create_dir_all(self.store.dir(company)).map_err(io)?;
        let partial = self.store.partial_path(company, id);
        // Truncates a partial file an earlier, crashed attempt left.
        let file = File::create(&partial).map_err(io)?;
        let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(256 * 1024, file));
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);

        let mut entries = Vec::new();
        let mut withheld = Vec::new();
        let mut rows_done: i64 = 0;
        let mut last = Instant::now();
        for (i, p) in plans.iter().enumerate() {
            if p.columns.is_empty() {
                withheld.push(serde_json::json!({
                    "table": p.table,
                    "reason": p.withheld.unwrap_or("not readable by the application role"),
                }));
                continue;
            }
            zip.start_file(p.file.as_str(), opts).map_err(io)?;
            let mut tee = Tee {
                inner: &mut zip,
                hash: Sha256::new(),
                bytes: 0,
            };
            let mut rows: i64 = 0;
            {
                let mut w = csv::WriterBuilder::new()
                    .quote_style(csv::QuoteStyle::Necessary)
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(&mut tee);
                w.write_record(p.columns.iter().map(|c| c.name.as_str()))
                    .map_err(io)?;
                let cols: Vec<String> = p
                    .columns
                    .iter()
                    .map(|c| format!("{}::text", c.ident))
                    .collect();
                // jsonb_build_array takes at most 100 arguments: chunk it.
                let arrays: Vec<String> = cols
                    .chunks(90)
                    .map(|c| format!("jsonb_build_array({})", c.join(", ")))
                    .collect();
                // Raw SQL: a cursor over a table the catalog named; the
                // identifiers are quote_ident-ed by PostgreSQL itself.
                diesel::sql_query(format!(
                    "DECLARE metiva_export NO SCROLL CURSOR FOR SELECT ({})::text AS line FROM {} WHERE {OWN_ROWS}",
                    arrays.join(" || "),
                    p.qual
                ))
                .execute(tc.conn())
                .await
                .map_err(DbError::from)?;
                let text: Vec<bool> = p.columns.iter().map(|c| is_text(&c.ty)).collect();
                loop {
                    let batch: Vec<Line> =
                        diesel::sql_query(format!("FETCH {BATCH} FROM metiva_export"))
                            .load(tc.conn())
                            .await
                            .map_err(DbError::from)?;
                    if batch.is_empty() {
                        break;
                    }
                    for l in &batch {
                        let vals: Vec<Option<String>> = serde_json::from_str(&l.line)
                            .map_err(|e| JobError::retry(format!("row of {}: {e}", p.table)))?;
                        w.write_record(vals.into_iter().zip(text.iter()).map(|(v, t)| {
                            let v = v.unwrap_or_default();
                            if *t { guard(v) } else { v }
                        }))
                        .map_err(io)?;
                    }
                    let n = i64::try_from(batch.len()).unwrap_or(i64::MAX);
                    rows += n;
                    rows_done += n;
                    if self.fail_after_rows.is_some_and(|f| rows_done >= f) {
                        w.flush().map_err(io)?;
                        return Err(JobError::retry("injected crash (test)"));
                    }
                    if last.elapsed() >= PROGRESS_EVERY {
                        let done = i32::try_from(i).unwrap_or(i32::MAX);
                        self.progress(company, id, rows_done, done).await?;
                        last = Instant::now();
                    }
                }
                diesel::sql_query("CLOSE metiva_export")
                    .execute(tc.conn())
                    .await
                    .map_err(DbError::from)?;
                w.flush().map_err(io)?;
            }
            entries.push(Entry {
                file: p.file.clone(),
                table: p.table.clone(),
                rows,
                bytes: tee.bytes,
                sha256: hex::encode(tee.hash.finalize()),
                columns: p.columns.iter().map(|c| c.name.clone()).collect(),
            });
            let done = i32::try_from(i + 1).unwrap_or(i32::MAX);
            self.progress(company, id, rows_done, done).await?;
            last = Instant::now();
        }

        // The workspace's stored files, one at a time (at most 10 MB each).
        let mut stored = Vec::new();
        for f in stored_files_of(tc).await? {
            let name = format!("files/{}-{}", f.id, safe_name(&f.name));
            let bytes = match crate::files::open(
                self.store.files(),
                &self.keys,
                company.as_str(),
                &f,
            )
            .await
            {
                Ok(b) => b,
                Err(crate::DbError::Unavailable(m)) => return Err(JobError::retry(m)),
                Err(e) => {
                    // A file that no longer opens is named, not hidden: the
                    // export says what it could not include (the error
                    // names keys and ids, never contents).
                    withheld.push(serde_json::json!({
                        "file": f.id,
                        "reason": format!("the stored file could not be read back: {e}"),
                    }));
                    continue;
                }
            };
            zip.start_file(name.as_str(), opts).map_err(io)?;
            zip.write_all(&bytes).map_err(io)?;
            stored.push(serde_json::json!({
                "file": name,
                "id": f.id,
                "purpose": f.purpose,
                "content_type": f.content_type,
                "bytes": bytes.len(),
                "sha256": hex::encode(Sha256::digest(&bytes)),
                "invoice_id": f.invoice_id,
                "deal_id": f.deal_id,
                "organisation_id": f.organisation_id,
            }));
        }

        let manifest = serde_json::json!({
            "format": "metiva-workspace-export/1",
            "company_id": company.as_str(),
            "export_id": id,
            "created_at": chrono::Utc::now().to_rfc3339(),
            "csv": "RFC 4180, UTF-8, CRLF, header row; NULL and empty text are both empty fields",
            "files": entries,
            "stored_files": stored,
            "withheld": withheld,
        });
        zip.start_file("manifest.json", opts).map_err(io)?;
        serde_json::to_writer_pretty(&mut zip, &manifest).map_err(io)?;
        zip.start_file("README.txt", opts).map_err(io)?;
        zip.write_all(README.as_bytes()).map_err(io)?;
        let buf = zip.finish().map_err(io)?;
        let file = buf.into_inner().map_err(|e| io(e.error()))?;
        drop(file);
        // Sealed into the object store in one multipart upload; the
        // object appears only once complete.
        let written = crate::sealed_stream::put_file(
            self.store.files(),
            &self.keys,
            &ExportStore::object_key(company, id),
            &ExportStore::context(company, id),
            &partial,
        )
        .await
        .map_err(|e| match e {
            DbError::Unavailable(m) => JobError::retry(m),
            e => JobError::retry(e.to_string()),
        })?;
        // The spool is no longer needed (a crash before this leaves it for
        // the next attempt, or the clean-up, to remove).
        let _ = std::fs::remove_file(&partial);
        let (bytes, sha) = (
            i64::try_from(written.bytes).unwrap_or(i64::MAX),
            written.sha256,
        );

        // Done in the job's own transaction: it commits with the job's
        // completion, so "done" and "job finished" are one fact.
        let c = company.as_str().to_string();
        diesel::update(
            exports::table
                .filter(exports::company_id.eq(&c))
                .filter(exports::id.eq(id)),
        )
        .set((
            exports::status.eq("done"),
            exports::rows_done.eq(rows_done),
            exports::tables_done.eq(tables_total),
            exports::bytes.eq(bytes),
            exports::sha256.eq(sha),
            exports::finished_at.eq(now),
            exports::error.eq(None::<String>),
        ))
        .execute(tc.conn())
        .await
        .map_err(DbError::from)?;
        crate::repo::audit::append(
            tc,
            &crate::repo::audit::AuditEntry {
                actor_user_id: None,
                action: "privacy.export_completed",
                target_type: Some("export"),
                target_id: Some(&id.to_string()),
                request_id: None,
                reason: None,
            },
        )
        .await?;
        Ok(())
    }
}

/// The bound workspace's stored files, oldest first.
async fn stored_files_of(tc: &mut TenantConn<'_>) -> Result<Vec<StoredFile>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(stored_files::table
        .filter(stored_files::company_id.eq(&company))
        .order((stored_files::created_at.asc(), stored_files::id.asc()))
        .select(StoredFile::as_select())
        .load(tc.conn())
        .await?)
}

/// A stored file's name as a ZIP entry's tail: letters, digits, `.`, `-`
/// and `_` only (others become `_`), no leading dot, at most 80
/// characters; the id before it keeps entries apart.
fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let s = s.trim_start_matches('.');
    if s.is_empty() {
        "file".into()
    } else {
        s.into()
    }
}

/// The catalog's tenant tables with their readable columns and counts.
async fn plan(tc: &mut TenantConn<'_>) -> Result<Vec<Plan>, DbError> {
    let tables = metiva_tenancy::catalog::tenant_tables(tc.conn()).await?;
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        if let Some(why) = excluded(&t.schema, &t.name) {
            out.push(Plan {
                file: String::new(),
                table: format!("{}.{}", t.schema, t.name),
                qual: String::new(),
                columns: Vec::new(),
                rows: 0,
                withheld: Some(why),
            });
            continue;
        }
        // Raw SQL: catalog reads (pg_attribute, privileges).
        let columns: Vec<Column> = diesel::sql_query(
            "SELECT quote_ident(a.attname::text) AS ident, a.attname::text AS name,
                    format_type(a.atttypid, a.atttypmod) AS ty
             FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
               AND has_column_privilege(c.oid, a.attnum, 'SELECT')
             ORDER BY a.attnum",
        )
        .bind::<Text, _>(&t.schema)
        .bind::<Text, _>(&t.name)
        .load(tc.conn())
        .await?;
        let qual: Qualified =
            diesel::sql_query("SELECT format('%I.%I', $1::text, $2::text) AS qual")
                .bind::<Text, _>(&t.schema)
                .bind::<Text, _>(&t.name)
                .get_result(tc.conn())
                .await?;
        let readable = columns.iter().any(|c| c.name == "company_id");
        let file = if t.schema == "public" {
            format!("tables/{}.csv", t.name)
        } else {
            format!("tables/{}.{}.csv", t.schema, t.name)
        };
        let rows = if readable {
            // Raw SQL: a count over a table the catalog named.
            diesel::sql_query(format!(
                "SELECT count(*) AS n FROM {} WHERE {OWN_ROWS}",
                qual.qual
            ))
            .get_result::<Count>(tc.conn())
            .await?
            .n
        } else {
            0
        };
        out.push(Plan {
            file,
            table: format!("{}.{}", t.schema, t.name),
            qual: qual.qual,
            columns: if readable { columns } else { Vec::new() },
            rows,
            withheld: None,
        });
    }
    Ok(out)
}

/// Counts per tenant table of the bound company, as the catalog lists
/// them (for tests and the manifest check).
pub async fn catalog_counts(tc: &mut TenantConn<'_>) -> Result<Vec<(String, i64)>, DbError> {
    Ok(plan(tc)
        .await?
        .into_iter()
        .filter(|p| !p.columns.is_empty())
        .map(|p| (p.file, p.rows))
        .collect())
}

/// The README inside every workspace export, Dutch and English.
pub const README: &str = "Metiva - export van de hele werkruimte / whole-workspace export
==============================================================

NEDERLANDS
Dit archief bevat alle gegevens van uw werkruimte in Metiva.
- tables/<tabel>.csv: een bestand per tabel (UTF-8, komma-gescheiden,
  eerste regel = kolomnamen). Lege velden zijn leeg of NULL.
  Tekst die met = + - @ begint, krijgt een apostrof ervoor, zodat een
  spreadsheet hem niet als formule uitvoert.
- files/<id>-<naam>: de opgeslagen bestanden van de werkruimte (facturen
  als pdf, bijlagen, logo's), zoals ze zijn geüpload of gemaakt; het
  manifest noemt per bestand het doel, het type, de grootte en de
  SHA-256 onder \"stored_files\".
- manifest.json: per bestand het aantal rijen en de SHA-256-controlesom,
  zodat u kunt nagaan dat niets ontbreekt of gewijzigd is.
  Tabellen die niet zijn meegenomen staan onder \"withheld\", met de
  reden: sleutels, inloggegevens en interne administratie van Metiva
  (zoals de takenwachtrij) gaan nooit mee in een export.
- IP-adressen zijn ingekort en versleuteld opgeslagen en blijven in deze
  export versleuteld (kolommen ip_ciphertext/ip_nonce). Een IP-adres
  tonen kan alleen per regel in Metiva, met de juiste rechten, en wordt
  vastgelegd in het auditlogboek.
Bewaar dit bestand veilig: het bevat persoonsgegevens.

ENGLISH
This archive holds all of your workspace's data in Metiva.
- tables/<table>.csv: one file per table (UTF-8, comma-separated, first
  line = column names). Empty fields are empty or NULL.
  Text starting with = + - @ gets a leading apostrophe so a spreadsheet
  does not run it as a formula.
- files/<id>-<name>: the workspace's stored files (invoice PDFs,
  attachments, logos) as uploaded or rendered; the manifest lists each
  one's purpose, type, size and SHA-256 under \"stored_files\".
- manifest.json: each file's row count and SHA-256 checksum, so you can
  verify nothing is missing or altered. Tables not included are listed
  under \"withheld\" with the reason: keys, credentials and Metiva's
  internal bookkeeping (such as the job queue) never leave in an export.
- IP addresses are stored truncated and encrypted and stay encrypted in
  this export (columns ip_ciphertext/ip_nonce). Revealing one is possible
  only per row in Metiva, with the right permission, and is audited.
Keep this file safe: it contains personal data.
";

/// The kind, re-exported for registration next to the handler.
pub const KIND: crate::jobs::JobKind = WORKSPACE_EXPORT;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_material_the_queue_and_credentials_are_never_exported() {
        for t in [
            "company_keys",
            "jobs",
            "export_downloads",
            "integrations",
            "stripe_connections",
            "phone_codes",
        ] {
            assert!(excluded("public", t).is_some(), "{t}");
        }
        for t in ["persons", "page_views", "audit_log", "exports", "invoices"] {
            assert_eq!(excluded("public", t), None, "{t}");
        }
        assert_eq!(excluded("other", "jobs"), None);
    }

    #[test]
    fn a_stored_files_name_cannot_leave_its_folder() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name("..."), "file");
        assert_eq!(
            safe_name("Contract v2 (signed).pdf"),
            "Contract_v2__signed_.pdf"
        );
        assert_eq!(safe_name("offerte-é.pdf"), "offerte-_.pdf");
        assert_eq!(safe_name(&"a".repeat(300)).len(), 80);
    }
}
