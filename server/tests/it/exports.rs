//! Exports through the real router (issue 16): a contact's access-request
//! ZIP parsed back (files, README, the subject's rows, nobody else's, IPs
//! withheld without `ip.reveal`), 403 without `privacy.export` and 404
//! across workspaces; the workspace export job crashing mid-way (nothing
//! offered, only a spool file, no object) and restarting to a manifest
//! whose row counts match the catalog's and whose SHA-256s match the
//! files, with the workspace's stored files inside; the object at rest
//! sealed (no ZIP structure, no file names); the download link used once,
//! refused once expired, and audited.

use std::io::{Cursor, Read};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use metiva_db::CompanyId;
use metiva_db::exports::ExportStore;
use metiva_db::exports::workspace::{WorkspaceExportJob, catalog_counts};
use metiva_db::files::FileStore;
use metiva_db::jobs::{self, Outcome, Registry};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::crm::script;
use crate::world::{BROUWER, DE_VRIES, World, call, get_with, post_form};

/// Status, headers and the raw body bytes.
pub(crate) async fn raw(
    w: &World,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    raw_on(&w.dashboard, req).await
}

/// As [`raw`], from any router.
pub(crate) async fn raw_on(
    router: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

pub(crate) fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).unwrap();
            (f.name().to_string(), buf)
        })
        .collect()
}

pub(crate) fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a str {
    let (_, b) = files
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} missing"));
    std::str::from_utf8(b).unwrap()
}

pub(crate) fn assert_download_headers(h: &axum::http::HeaderMap) {
    assert_eq!(h[header::CONTENT_TYPE], "application/zip");
    assert!(
        h[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"metiva-")
    );
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
}

async fn new_contact(w: &World, token: &str, name: &str, email: &str) -> String {
    let r = call(
        &w.dashboard,
        script(
            "/api/save_contact",
            token,
            &[("name", name), ("email", email)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

#[tokio::test]
async fn a_subject_export_holds_the_subjects_rows_and_nobody_elses() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let manager = w.sign_in("account_manager@devries.example", DE_VRIES).await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let id = new_contact(&w, &owner, "Sanne Visser", "sanne.visser@voorbeeld.nl").await;
    let _brouwer = new_contact(&w, &other, "Joost Bakker", "joost.bakker@voorbeeld.nl").await;
    let _neighbour = new_contact(&w, &owner, "Eva de Wit", "eva.dewit@voorbeeld.nl").await;
    let uri = format!("/persons/{id}/export");

    // Without privacy.export: 403. Another workspace's contact: 404.
    let r = call(&w.dashboard, script(&uri, &sales, &[])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(&w.dashboard, script(&uri, &other, &[])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = call(
        &w.dashboard,
        script("/persons/not-a-uuid/export", &owner, &[]),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    let (status, headers, body) =
        raw(&w, post_form(&uri, &[("metiva_session", &owner)], &[])).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_download_headers(&headers);
    let files = unzip(&body);
    for stem in [
        "person",
        "visitors",
        "page_views",
        "consent_decisions",
        "forwards",
        "notes",
        "tasks",
        "deals",
    ] {
        file(&files, &format!("{stem}.json"));
        file(&files, &format!("{stem}.csv"));
    }
    let readme = file(&files, "README.txt");
    assert!(readme.contains("NEDERLANDS") && readme.contains("ENGLISH"));
    let person: serde_json::Value = serde_json::from_str(file(&files, "person.json")).unwrap();
    assert_eq!(person.as_array().unwrap().len(), 1);
    assert_eq!(person[0]["email"], "sanne.visser@voorbeeld.nl");
    assert_eq!(person[0]["company_id"], DE_VRIES);
    assert!(file(&files, "person.csv").contains("sanne.visser@voorbeeld.nl"));
    // Nobody else: not the neighbour in this workspace, nothing of Brouwer.
    for (name, b) in &files {
        let s = String::from_utf8_lossy(b);
        assert!(!s.contains("eva.dewit"), "{name}");
        assert!(!s.contains("joost.bakker"), "{name}");
        assert!(!s.contains(BROUWER), "{name}");
    }

    // The account manager may export but not reveal IPs: the README says
    // the IPs are withheld.
    let (status, _, body) = raw(&w, post_form(&uri, &[("metiva_session", &manager)], &[])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(file(&unzip(&body), "README.txt").contains("withheld"));

    let audit = w.audit_rows(DE_VRIES).await;
    let exported = audit
        .iter()
        .filter(|a| a.action == "privacy.subject_exported")
        .count();
    assert_eq!(exported, 2, "{audit:?}");
}

/// Runs every due job once with `job`.
pub(crate) async fn run_jobs(w: &World, job: WorkspaceExportJob) -> Vec<Outcome> {
    let db = w.tdb.database();
    let mut reg = Registry::default();
    reg.register(metiva_db::exports::WORKSPACE_EXPORT, job);
    let mut out = Vec::new();
    for c in jobs::claim(&db, "exports-test", 10, 60).await.unwrap() {
        out.push(jobs::execute(&db, &reg, "exports-test", &c).await.unwrap());
    }
    out
}

/// Requests a workspace export as `token`: its id, as text and as uuid.
pub(crate) async fn request_export(router: &axum::Router, token: &str) -> (String, uuid::Uuid) {
    let r = call(router, script("/privacy/exports", token, &[])).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let uuid = uuid::Uuid::parse_str(&id).unwrap();
    (id, uuid)
}

pub(crate) async fn status(w: &World, token: &str, id: &str) -> serde_json::Value {
    let r = call(
        &w.dashboard,
        get_with(
            &format!("/privacy/exports/{id}/status.json"),
            &[("metiva_session", token)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

#[tokio::test]
async fn a_workspace_export_survives_a_crash_and_downloads_once() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    // The dashboard's own object store: the local one under the data
    // directory, where an object's file is `<dir>/files/<key>`.
    let dir = crate::test_config(&w.tdb.app_url()).data_dir;
    let store = ExportStore::new(&dir, FileStore::local(&dir).unwrap());
    let db = w.tdb.database();
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let object = |id: uuid::Uuid| {
        dir.join("files")
            .join(ExportStore::object_key(&company, id))
    };
    // A stored file the export must carry: a contract on a deal.
    let (deal, _) = crate::attachments::records(&w, DE_VRIES).await;
    let contract = b"%PDF-1.4\n% a signed contract\n%%EOF\n";
    let r = call(
        &w.dashboard,
        crate::attachments::upload(
            &owner,
            &format!("/api/files/deal/{deal}"),
            "contract",
            "Contract v2 (signed).pdf",
            contract,
            false,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let contract_id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Without privacy.export: 403 on the page and the request.
    let r = call(&w.dashboard, script("/privacy/exports", &sales, &[])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &w.dashboard,
        get_with("/privacy/exports", &[("metiva_session", &sales)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let (id, uuid) = request_export(&w.dashboard, &owner).await;
    // Another workspace: 404 for its status and its download.
    let r = call(
        &w.dashboard,
        get_with(
            &format!("/privacy/exports/{id}/status.json"),
            &[("metiva_session", &other)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(
        &w.dashboard,
        script(&format!("/privacy/exports/{id}/download"), &other, &[]),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The page shows the status and, without JavaScript, refreshes itself.
    let r = call(
        &w.dashboard,
        get_with(
            &format!("/privacy/exports/{id}"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("http-equiv=\"refresh\""), "{}", r.body);
    assert!(r.body.contains("/privacy/exports.js"));

    // A crash after the first rows: nothing offered, only a partial file.
    let keys = w.auth.field_keys.clone();
    let mut crashing = WorkspaceExportJob::new(db.clone(), store.clone(), keys.clone());
    crashing.fail_after_rows = Some(1);
    let out = run_jobs(&w, crashing).await;
    assert!(matches!(out.as_slice(), [Outcome::Retry(_)]), "{out:?}");
    let s = status(&w, &owner, &id).await;
    assert_eq!(s["status"], "running", "{s}");
    assert_eq!(s["downloadable"], false);
    assert!(store.partial_path(&company, uuid).exists());
    assert!(
        !object(uuid).exists(),
        "no object before the export is whole"
    );
    let r = call(
        &w.dashboard,
        script(&format!("/privacy/exports/{id}/download"), &owner, &[]),
    )
    .await;
    assert_eq!(r.status, StatusCode::GONE, "{}", r.body);

    // The restart: due at once, runs to the end.
    db.tenant(&company, async |tc| {
        use diesel_async::RunQueryDsl;
        #[expect(
            clippy::disallowed_methods,
            reason = "a test fixture: make the retry due now"
        )]
        let conn = tc.conn();
        diesel::sql_query("UPDATE jobs SET run_at = now() WHERE company_id = 'cmp_8fa2c1'")
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
    .unwrap();
    let out = run_jobs(
        &w,
        WorkspaceExportJob::new(db.clone(), store.clone(), keys.clone()),
    )
    .await;
    assert_eq!(out, [Outcome::Done]);
    // At rest: the sealed stream, not a ZIP; no entry name readable.
    let at_rest = std::fs::read(object(uuid)).unwrap();
    assert!(at_rest.starts_with(metiva_db::sealed_stream::MAGIC));
    for clear in [
        &b"PK\x03\x04"[..],
        b"manifest.json",
        b"tables/persons.csv",
        b"signed contract",
    ] {
        assert!(
            !at_rest.windows(clear.len()).any(|w| w == clear),
            "{} readable at rest",
            String::from_utf8_lossy(clear)
        );
    }
    // The catalog's counts as the export saw them: the completion's own
    // audit row came after the files were written.
    let mut counts = db
        .tenant(&company, async |tc| catalog_counts(tc).await)
        .await
        .unwrap();
    for (name, n) in counts.iter_mut() {
        if name == "tables/audit_log.csv" {
            *n -= 1;
        }
    }
    let s = status(&w, &owner, &id).await;
    assert_eq!(s["status"], "done", "{s}");
    assert_eq!(s["percent"], 100);
    assert_eq!(s["rows_done"], s["rows_total"]);
    assert!(
        !store.partial_path(&company, uuid).exists(),
        "the spool is removed"
    );

    // A single-use link.
    let r = call(
        &w.dashboard,
        script(&format!("/privacy/exports/{id}/download"), &owner, &[]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let link = r.location();
    assert!(link.starts_with("/privacy/exports/download/"), "{link}");
    let (st, headers, body) = raw(&w, get_with(&link, &[("metiva_session", &owner)])).await;
    assert_eq!(st, StatusCode::OK);
    assert_download_headers(&headers);
    assert_eq!(
        headers[header::CONTENT_LENGTH].to_str().unwrap(),
        body.len().to_string()
    );
    let (st, _, _) = raw(&w, get_with(&link, &[("metiva_session", &owner)])).await;
    assert_eq!(st, StatusCode::GONE, "a second use");
    // The whole file's SHA-256 is the one the page shows.
    assert_eq!(s["sha256"], hex::encode(Sha256::digest(&body)));

    // The manifest: one file per catalog table, counts as the catalog's,
    // SHA-256 per file, and no other workspace's rows.
    let files = unzip(&body);
    let manifest: serde_json::Value = serde_json::from_str(file(&files, "manifest.json")).unwrap();
    assert!(file(&files, "README.txt").contains("NEDERLANDS"));
    let entries = manifest["files"].as_array().unwrap();
    assert_eq!(entries.len(), counts.len(), "{manifest}");
    let mut rows_seen = 0;
    for (name, n) in &counts {
        let e = entries
            .iter()
            .find(|e| e["file"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not in the manifest"));
        assert_eq!(e["rows"].as_i64().unwrap(), *n, "{name}");
        let data = files.iter().find(|(f, _)| f == name).unwrap();
        assert_eq!(e["sha256"], hex::encode(Sha256::digest(&data.1)), "{name}");
        // header + one line per row (no embedded newlines in the seed's
        // values is not assumed: parse as CSV).
        let mut rdr = csv_reader(&data.1);
        assert_eq!(rdr.records().count() as i64, *n, "{name}");
        rows_seen += n;
        assert!(
            !String::from_utf8_lossy(&data.1).contains(BROUWER),
            "{name}"
        );
    }
    assert!(rows_seen > 10, "the demo workspace has rows: {rows_seen}");
    // The stored file, byte for byte, under a name that stays in files/.
    let name = format!("files/{contract_id}-Contract_v2__signed_.pdf");
    let inside = files.iter().find(|(f, _)| *f == name).unwrap_or_else(|| {
        panic!(
            "{name} not in the ZIP: {:?}",
            files.iter().map(|f| &f.0).collect::<Vec<_>>()
        )
    });
    assert_eq!(inside.1, contract);
    let listed = manifest["stored_files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} not in the manifest: {manifest}"));
    assert_eq!(listed["sha256"], hex::encode(Sha256::digest(contract)));
    assert_eq!(listed["deal_id"], deal.to_string());
    assert!(
        counts
            .iter()
            .any(|(f, n)| f == "tables/persons.csv" && *n > 0)
    );
    assert!(counts.iter().any(|(f, _)| f == "tables/exports.csv"));
    // Key material, the job queue and credentials never leave: no file,
    // and the manifest names each as withheld with its reason.
    let withheld = manifest["withheld"].as_array().unwrap();
    for t in [
        "company_keys",
        "jobs",
        "export_downloads",
        "stripe_connections",
    ] {
        assert!(
            !files.iter().any(|(f, _)| f == &format!("tables/{t}.csv")),
            "{t} exported"
        );
        let w = withheld
            .iter()
            .find(|w| w["table"] == format!("public.{t}").as_str())
            .unwrap_or_else(|| panic!("{t} not withheld: {manifest}"));
        assert!(!w["reason"].as_str().unwrap().is_empty());
    }

    // An expired link is refused.
    let r = call(
        &w.dashboard,
        script(&format!("/privacy/exports/{id}/download"), &owner, &[]),
    )
    .await;
    let link = r.location();
    db.tenant(&company, async |tc| {
        use diesel_async::RunQueryDsl;
        #[expect(clippy::disallowed_methods, reason = "a test fixture: age the link")]
        let conn = tc.conn();
        diesel::sql_query(
            "UPDATE export_downloads SET expires_at = now() - interval '1 second' WHERE company_id = 'cmp_8fa2c1' AND used_at IS NULL",
        )
        .execute(conn)
        .await?;
        Ok(())
    })
    .await
    .unwrap();
    let (st, _, _) = raw(&w, get_with(&link, &[("metiva_session", &owner)])).await;
    assert_eq!(st, StatusCode::GONE, "an expired link");
    // A link is the member's own: sales (no permission) gets 403 anyway.
    let (st, _, _) = raw(&w, get_with(&link, &[("metiva_session", &sales)])).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let audit = w.audit_rows(DE_VRIES).await;
    for action in [
        "privacy.export_requested",
        "privacy.export_completed",
        "privacy.export_downloaded",
    ] {
        assert_eq!(
            audit.iter().filter(|a| a.action == action).count(),
            1,
            "{action}: {audit:?}"
        );
    }
    let _ = std::fs::remove_file(object(uuid));
}

fn csv_reader(b: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new().has_headers(true).from_reader(b)
}

/// Peak resident memory of this process (VmHWM), in KiB.
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The closing note's figure: a workspace export of
/// `METIVA_EXPORT_FIGURE_ROWS` (default 1,000,000) page views, its time
/// and this process's peak RSS before and after. Run by hand:
/// `cargo nextest run -p server --test it exports::figure --run-ignored only --no-capture`.
#[tokio::test]
#[ignore = "a figure, not a check: minutes of inserts"]
async fn figure_workspace_export_of_many_page_views() {
    let n: i64 = std::env::var("METIVA_EXPORT_FIGURE_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let db = w.tdb.database();
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let t0 = std::time::Instant::now();
    let mut left = n;
    while left > 0 {
        let batch = left.min(100_000);
        left -= batch;
        db.tenant(&company, async |tc| {
            use diesel_async::RunQueryDsl;
            #[expect(clippy::disallowed_methods, reason = "a figure's fixture")]
            let conn = tc.conn();
            diesel::sql_query(format!(
                "INSERT INTO page_views (company_id, id, site_id, at, path, ip_key_id, ip_nonce, ip_ciphertext)
                 SELECT 'cmp_8fa2c1', gen_random_uuid(), (SELECT id FROM sites WHERE company_id = 'cmp_8fa2c1' LIMIT 1),
                        now() - (g || ' seconds')::interval, '/pagina/' || (g % 500), 'k1',
                        decode('000000000000000000000000', 'hex'), decode(md5(g::text) || md5(g::text), 'hex')
                 FROM generate_series(1, {batch}) g"
            ))
            .execute(conn)
            .await?;
            Ok(())
        })
        .await
        .unwrap();
    }
    println!("seeded {n} page views in {:?}", t0.elapsed());
    let (id, _) = request_export(&w.dashboard, &owner).await;
    let dir = std::env::temp_dir().join("metiva-export-figure");
    let store = ExportStore::new(&dir, FileStore::local(&dir).unwrap());
    let before = vm_hwm_kib();
    let t = std::time::Instant::now();
    let out = run_jobs(
        &w,
        WorkspaceExportJob::new(db.clone(), store.clone(), w.auth.field_keys.clone()),
    )
    .await;
    let took = t.elapsed();
    assert_eq!(out, [Outcome::Done]);
    let s = status(&w, &owner, &id).await;
    println!(
        "FIGURE workspace export: {} rows, {} bytes ZIP, {:?}; VmHWM before {} KiB, after {} KiB",
        s["rows_done"],
        s["bytes"],
        took,
        before,
        vm_hwm_kib()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
