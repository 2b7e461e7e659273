//! A workspace export killed outright (issue 16, "Crashes"): the real
//! binary as a worker (`metiva serve --only worker`) streams a workspace
//! of a few hundred thousand page views, and is sent SIGKILL once the
//! export's progress shows rows written. Nothing may be offered then: the
//! export is not done, the download is refused, and no object exists
//! under the company's `exports/` prefix (the spool file under the data
//! directory may, and is never served). A second worker claims the job
//! again once its lease has run out and finishes it: the ZIP downloads
//! once, its manifest's row counts match the catalog's, the spool is
//! gone, and exactly one object is left.
//!
//! The worker and the test's own dashboard share a private data
//! directory (the local object store under it), so no other test's
//! objects are listed. No timing is asserted; polls have generous limits.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use metiva_db::CompanyId;
use metiva_db::exports::ExportStore;
use metiva_db::exports::workspace::catalog_counts;
use metiva_db::files::FileStore;
use sha2::{Digest, Sha256};

use crate::crm::script;
use crate::exports::{assert_download_headers, file, raw_on, request_export, unzip};
use crate::process::{exit_within, signal};
use crate::world::{DE_VRIES, ENC, SEED, World, call, get_with};

/// Page views added to the demo workspace: enough that a debug build's
/// export runs for seconds, so the kill lands mid-stream.
const PAGE_VIEWS: i64 = 300_000;

/// The lease both workers take: the killed worker's job is due again
/// this long after its claim.
const LEASE_SECS: &str = "3";

/// The real binary as a worker only, against the test database as the
/// app role, with the suite's keys (the workspace's data key is wrapped
/// under them) and `dir` as its data directory. The cron stays quiet
/// (its first pass an hour away): only the export job runs.
fn worker(w: &World, dir: &Path, log: &str) -> Child {
    let log = std::fs::File::create(dir.join(log)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_metiva"))
        .args(["serve", "--only", "worker"])
        .env("DATABASE_URL", w.tdb.app_url())
        .env(
            "METIVA_DB_STATEMENT_CACHE",
            crate::process::statement_cache(),
        )
        .env("METIVA_DATA_DIR", dir)
        .env("METIVA_APP_ADDR", "127.0.0.1:0")
        .env("METIVA_LOGIN_ADDR", "127.0.0.1:0")
        .env_remove("METIVA_METRICS_ADDR")
        .env_remove("METIVA_OBJECT_STORE")
        .env("METIVA_ENCRYPTION_KEY", B64.encode(ENC))
        .env("METIVA_TOKEN_SIGNING_KEY", B64.encode(SEED))
        .env("METIVA_JOBS_LOCK_TIMEOUT_SECS", LEASE_SECS)
        .env("METIVA_JOBS_GRACE_SECS", "5")
        .env("METIVA_JOBS_POLL_MS", "50")
        .env("METIVA_JOBS_CRON_FIRST_SECS", "3600")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn metiva: {e}"))
}

#[derive(QueryableByName, Debug)]
struct ExportRow {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    rows_done: i64,
    #[diesel(sql_type = BigInt)]
    rows_total: i64,
}

/// The export's row as the superuser reads it (no RLS, no app code).
async fn export_row(su: &mut diesel_async::AsyncPgConnection, id: uuid::Uuid) -> ExportRow {
    diesel::sql_query(format!(
        "SELECT status, rows_done::bigint AS rows_done, coalesce(rows_total, 0)::bigint AS rows_total
         FROM exports WHERE id = '{id}'"
    ))
    .get_result(su)
    .await
    .unwrap_or_else(|e| panic!("export {id}: {e}"))
}

/// Every file under `dir` (recursively), as paths.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn said(dir: &Path, log: &str) -> String {
    std::fs::read_to_string(dir.join(log)).unwrap_or_default()
}

#[tokio::test]
async fn a_killed_workspace_export_offers_nothing_and_finishes_after_a_restart() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let company = CompanyId::parse(DE_VRIES).unwrap();
    // The worker's data directory is also this dashboard's: its local
    // object store (`<dir>/files/<key>`) and the export spool.
    let dir = metiva_testkit::scratch_dir("export-crash");
    std::fs::create_dir_all(&dir).unwrap();
    let config = server::config::Config {
        data_dir: dir.clone(),
        ..crate::test_config(&w.tdb.app_url())
    };
    let router = server::http::dashboard_router_with(&config, w.auth.clone());
    let store = ExportStore::new(&dir, FileStore::local(&dir).unwrap());
    let objects = dir.join("files").join(DE_VRIES).join("exports");

    // The bulk loader of the export figure (exports.rs): one INSERT ...
    // SELECT per 100,000 rows, as the superuser.
    let mut su = w.tdb.connect_as("postgres").await;
    let mut left = PAGE_VIEWS;
    while left > 0 {
        let batch = left.min(100_000);
        left -= batch;
        su.batch_execute(&format!(
            "INSERT INTO page_views (company_id, id, site_id, at, path, ip_key_id, ip_nonce, ip_ciphertext)
             SELECT 'cmp_8fa2c1', gen_random_uuid(), (SELECT id FROM sites WHERE company_id = 'cmp_8fa2c1' LIMIT 1),
                    now() - (g || ' seconds')::interval, '/pagina/' || (g % 500), 'k1',
                    decode('000000000000000000000000', 'hex'), decode(md5(g::text) || md5(g::text), 'hex')
             FROM generate_series(1, {batch}) g"
        ))
        .await
        .unwrap();
    }

    // Requested the way the page does: the route enqueues the job.
    let (id, uuid) = request_export(&router, &owner).await;
    let mut first = worker(&w, &dir, "first.log");

    // Killed once rows are written and the export is not done.
    let t = Instant::now();
    loop {
        let r = export_row(&mut su, uuid).await;
        if r.status == "running" && r.rows_done > 0 {
            break;
        }
        assert_ne!(r.status, "done", "finished before the kill: {r:?}");
        assert!(
            first.try_wait().unwrap().is_none(),
            "the worker exited: {}",
            said(&dir, "first.log")
        );
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "no progress: {r:?}; the worker said: {}",
            said(&dir, "first.log")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal(&first, "-KILL");
    exit_within(&mut first, Duration::from_secs(10)).await;

    // Cut off mid-stream: still "running", part of the rows counted.
    let cut = export_row(&mut su, uuid).await;
    assert_eq!(cut.status, "running", "{cut:?}");
    assert!(
        cut.rows_done > 0 && cut.rows_done < cut.rows_total,
        "killed mid-stream: {cut:?}"
    );
    // Nothing offered: the status says so and the download is refused.
    let s = crate::exports::status(&w, &owner, &id).await;
    assert_eq!(s["status"], "running", "{s}");
    assert_eq!(s["downloadable"], false, "{s}");
    let r = call(
        &router,
        script(&format!("/privacy/exports/{id}/download"), &owner, &[]),
    )
    .await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
    // No object under the company's exports/ prefix; the spool may be
    // there (half a ZIP), but nothing serves it.
    assert_eq!(
        files_under(&objects),
        Vec::<PathBuf>::new(),
        "no object before the export is whole"
    );
    let spool = store.partial_path(&company, uuid);
    let spool_after_kill = spool.exists();

    // The restart: a new worker claims the job once the dead one's lease
    // has run out, and runs it to the end.
    let mut second = worker(&w, &dir, "second.log");
    let t = Instant::now();
    loop {
        let r = export_row(&mut su, uuid).await;
        if r.status == "done" {
            break;
        }
        assert_ne!(r.status, "failed", "{r:?}: {}", said(&dir, "second.log"));
        assert!(
            second.try_wait().unwrap().is_none(),
            "the second worker exited: {}",
            said(&dir, "second.log")
        );
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "not done: {r:?}; the worker said: {}",
            said(&dir, "second.log")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    signal(&second, "-TERM");
    assert!(
        exit_within(&mut second, Duration::from_secs(30))
            .await
            .success()
    );
    // The job ran twice: the killed attempt and the finishing one.
    #[derive(QueryableByName)]
    struct Job {
        #[diesel(sql_type = Text)]
        state: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        attempts: i32,
    }
    let job: Job = diesel::sql_query(format!(
        "SELECT state, attempts FROM jobs WHERE company_id = 'cmp_8fa2c1'
         AND kind = 'privacy.workspace_export' AND payload::jsonb ->> 'export_id' = '{uuid}'"
    ))
    .get_result(&mut su)
    .await
    .unwrap();
    assert_eq!(
        (job.state.as_str(), job.attempts),
        ("done", 2),
        "one killed attempt, one that finished"
    );

    // Done: the spool is gone and exactly one object is left.
    assert!(
        !spool.exists(),
        "the spool is removed (it existed after the kill: {spool_after_kill})"
    );
    let stored = files_under(&objects);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(
        stored[0],
        dir.join("files")
            .join(ExportStore::object_key(&company, uuid))
    );
    let s = crate::exports::status(&w, &owner, &id).await;
    assert_eq!(s["status"], "done", "{s}");
    assert_eq!(s["rows_done"], s["rows_total"], "{s}");

    // The catalog's counts as the export saw them (the completion's own
    // audit row came after the files were written).
    let mut counts = w
        .tdb
        .database()
        .tenant(&company, async |tc| catalog_counts(tc).await)
        .await
        .unwrap();
    for (name, n) in counts.iter_mut() {
        if name == "tables/audit_log.csv" {
            *n -= 1;
        }
    }

    // Downloaded once, through the router.
    let r = call(
        &router,
        script(&format!("/privacy/exports/{id}/download"), &owner, &[]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let link = r.location();
    let (st, headers, body) = raw_on(&router, get_with(&link, &[("metiva_session", &owner)])).await;
    assert_eq!(st, StatusCode::OK);
    assert_download_headers(&headers);
    assert_eq!(
        headers[header::CONTENT_LENGTH].to_str().unwrap(),
        body.len().to_string()
    );
    let (st, _, _) = raw_on(&router, get_with(&link, &[("metiva_session", &owner)])).await;
    assert_eq!(st, StatusCode::GONE, "a second use");
    assert_eq!(s["sha256"], hex::encode(Sha256::digest(&body)));

    // The ZIP: every catalog table with its rows, the page views all of
    // them, each file's SHA-256 as the manifest says.
    let files = unzip(&body);
    let manifest: serde_json::Value = serde_json::from_str(file(&files, "manifest.json")).unwrap();
    let entries = manifest["files"].as_array().unwrap();
    assert_eq!(entries.len(), counts.len(), "{manifest}");
    for (name, n) in &counts {
        let e = entries
            .iter()
            .find(|e| e["file"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not in the manifest"));
        assert_eq!(e["rows"].as_i64().unwrap(), *n, "{name}");
        let data = files.iter().find(|(f, _)| f == name).unwrap();
        assert_eq!(e["sha256"], hex::encode(Sha256::digest(&data.1)), "{name}");
        let rows = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(data.1.as_slice())
            .records()
            .count();
        assert_eq!(rows as i64, *n, "{name}");
    }
    let views = counts
        .iter()
        .find(|(f, _)| f == "tables/page_views.csv")
        .map(|(_, n)| *n);
    assert!(views.is_some_and(|n| n >= PAGE_VIEWS), "{views:?}");
    assert!(cut.rows_done < views.unwrap_or_default());
    // Still one object after the download.
    assert_eq!(files_under(&objects).len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
