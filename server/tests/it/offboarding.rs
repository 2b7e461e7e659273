//! Client offboarding: every row of the company in every tenant table the
//! catalog finds (a table added here included, with no code change), the
//! data key first, a receipt in the global register; a killed run resumes;
//! and a dump taken before offboarding, restored afterwards, no longer
//! opens the company's ciphertexts while another company's still open.
//! Its files too: every object under its prefix (local store and S3, the
//! listing paged), the old local exports, never another company's; a
//! store that fails leaves the receipt pending until a rerun finishes it.

use std::ops::ControlFlow;
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use metiva_db::files::FileStore;
use metiva_db::offboarding::{Actor, OffboardFiles, Options};
use metiva_db::{CompanyId, Database, PoolSettings};
use metiva_security::cipher::{KeyRing, Sealed};
use server::keys::Keys;

use crate::world::{BROUWER, DE_VRIES, ENC, SEED, World};

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(conn: &mut diesel_async::AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<N>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// The company's rows over every table with a `company_id` column, counted
/// by the superuser (no RLS) from `information_schema`: independent of
/// the code under test.
fn rows_of(company: &str) -> String {
    format!(
        "SELECT coalesce(sum((xpath('/row/n/text()', query_to_xml(
             format('SELECT count(*) AS n FROM %I.%I WHERE company_id = %L', c.table_schema, c.table_name, '{company}'),
             false, true, '')))[1]::text::bigint), 0)::bigint AS n
         FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE c.column_name = 'company_id' AND t.table_type = 'BASE TABLE'
           AND c.table_schema NOT IN ('pg_catalog', 'information_schema')"
    )
}

/// A tenant table no code knows about, with rows for both companies.
const PROBE_TABLE: &str = "
    CREATE TABLE zz_offboarding_probe (
        company_id text NOT NULL REFERENCES companies (id),
        id int NOT NULL,
        note text,
        PRIMARY KEY (company_id, id));
    SELECT metiva_apply_tenant_policy('zz_offboarding_probe');
    BEGIN;
    SELECT set_config('app.company_id', 'cmp_8fa2c1', true);
    INSERT INTO zz_offboarding_probe SELECT 'cmp_8fa2c1', i, 'x' FROM generate_series(1, 7) AS i;
    COMMIT;
    BEGIN;
    SELECT set_config('app.company_id', 'cmp_1d47b9', true);
    INSERT INTO zz_offboarding_probe SELECT 'cmp_1d47b9', i, 'y' FROM generate_series(1, 3) AS i;
    COMMIT;";

fn owner_db(w: &World) -> Database {
    Database::connect(&w.tdb.owner_url(), &PoolSettings::default()).unwrap()
}

/// An empty object store of the test's own (never the shared data
/// directory, whose objects other tests use meanwhile).
pub fn scratch_store(label: &str) -> FileStore {
    FileStore::local(&metiva_testkit::scratch_dir(label)).unwrap()
}

pub fn files(store: &FileStore) -> OffboardFiles<'_> {
    OffboardFiles {
        store,
        data_dir: None,
    }
}

#[tokio::test]
async fn offboarding_empties_every_tenant_table_the_catalog_finds() {
    let w = World::new().await;
    let mut owner = w.tdb.connect_as("metiva_owner").await;
    owner.batch_execute(PROBE_TABLE).await.unwrap();
    let mut su = w.tdb.connect_as("postgres").await;
    let before = count(&mut su, &rows_of(DE_VRIES)).await;
    let brouwer_before = count(&mut su, &rows_of(BROUWER)).await;
    assert!(before > 100, "{before}");
    let user = w.user_id("owner@devries.example").await;

    let db = owner_db(&w);
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let store = scratch_store("offboard-files");
    let started = Instant::now();
    let receipt = db
        .offboard(
            &company,
            Actor::Owner(user),
            Options { batch: 100 },
            files(&store),
            |_, _| ControlFlow::Continue(()),
        )
        .await
        .unwrap();
    eprintln!(
        "offboarding the demo workspace: {} rows in {} ms (debug build, batch 100)",
        receipt.total(),
        started.elapsed().as_millis()
    );
    assert!(receipt.done);
    // Proof by the catalog, counted independently: nothing of De Vries is
    // left, Brouwer is untouched.
    assert_eq!(count(&mut su, &rows_of(DE_VRIES)).await, 0);
    assert_eq!(db.company_row_count(&company).await.unwrap(), 0);
    assert_eq!(count(&mut su, &rows_of(BROUWER)).await, brouwer_before);
    // The receipt counts every row, the new table's included.
    assert_eq!(receipt.total(), before);
    assert_eq!(receipt.rows_deleted.get("zz_offboarding_probe"), Some(&7));
    assert_eq!(receipt.rows_deleted.get("company_keys"), Some(&1));
    assert!(
        receipt
            .rows_deleted
            .get("page_views")
            .is_some_and(|n| *n > 50)
    );
    assert_eq!(receipt.actor_user_id, Some(user));
    assert!(receipt.key_destroyed_at.is_some() && receipt.finished_at.is_some());
    // No personal data in the receipt.
    let json = server::keys::receipt_json(&receipt).to_string();
    for needle in ["@", "De Vries", "devries", "192.0.2", "Coolblue"] {
        assert!(!json.contains(needle), "{needle} in {json}");
    }
    // The company stays only as an offboarded id; nobody signs in to it.
    #[derive(QueryableByName)]
    struct C {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        status: String,
    }
    let c: C = diesel::sql_query("SELECT name, status FROM companies WHERE id = 'cmp_8fa2c1'")
        .get_result(&mut su)
        .await
        .unwrap();
    assert_eq!(
        (c.name.as_str(), c.status.as_str()),
        (DE_VRIES, "offboarded")
    );
    // No key comes back for it: a late seal is refused.
    let ring = Keys::from_seed(&SEED, &ENC).field_keys;
    assert!(
        KeyRing::load(&ring, &w.tdb.database(), DE_VRIES)
            .await
            .is_err()
    );
    assert_eq!(
        count(
            &mut su,
            "SELECT count(*) AS n FROM company_keys WHERE company_id = 'cmp_8fa2c1'"
        )
        .await,
        0
    );
    // Offboarding again answers the same receipt.
    let again = db
        .offboard(
            &company,
            Actor::Operator,
            Options::default(),
            files(&store),
            |_, _| ControlFlow::Continue(()),
        )
        .await
        .unwrap();
    assert_eq!(again, receipt);
}

#[tokio::test]
async fn a_killed_offboarding_resumes_and_finishes() {
    let w = World::new().await;
    let mut su = w.tdb.connect_as("postgres").await;
    // Enough rows that the run is still going when it is killed.
    su.batch_execute(
        "INSERT INTO page_views (company_id, id, site_id, visitor_id, at, path, referrer_domain,
                                 organisation, org_source, ip_key_id, ip_nonce, ip_ciphertext)
         SELECT company_id, gen_random_uuid(), site_id, NULL, at, path, referrer_domain,
                organisation, org_source, ip_key_id, ip_nonce, ip_ciphertext
         FROM page_views, generate_series(1, 40)
         WHERE company_id = 'cmp_8fa2c1'",
    )
    .await
    .unwrap();
    let before = count(&mut su, &rows_of(DE_VRIES)).await;
    let brouwer_before = count(&mut su, &rows_of(BROUWER)).await;
    let (app_url, owner_url) = (w.tdb.app_url(), w.tdb.owner_url());
    let data_dir = metiva_testkit::scratch_dir("offboard");
    std::fs::create_dir_all(&data_dir).unwrap();
    let run = move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_metiva"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app_url)
            .env("DATABASE_MIGRATION_URL", &owner_url)
            .env(
                "METIVA_DB_STATEMENT_CACHE",
                crate::process::statement_cache(),
            )
            .env("METIVA_DATA_DIR", &data_dir)
            .env("RUST_LOG", "warn")
            .args(["offboard", DE_VRIES, "--batch", "20"]);
        cmd
    };
    let mut child = run().spawn().unwrap();
    // Kill it once some batches are committed.
    let progress = "SELECT coalesce((SELECT sum(value::bigint) FROM offboardings, jsonb_each_text(rows_deleted)
                                     WHERE workspace = 'cmp_8fa2c1'), 0)::bigint AS n";
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = count(&mut su, progress).await;
        if n > 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Cut off mid-way: the register says running, the key is gone, part
    // of the rows are, access is closed, and the counts so far are exact.
    #[derive(QueryableByName)]
    struct St {
        #[diesel(sql_type = Text)]
        state: String,
        #[diesel(sql_type = Text)]
        status: String,
    }
    let st: St = diesel::sql_query(
        "SELECT o.state, c.status FROM offboardings o JOIN companies c ON c.id = o.workspace
         WHERE o.workspace = 'cmp_8fa2c1'",
    )
    .get_result(&mut su)
    .await
    .unwrap();
    assert_eq!(
        (st.state.as_str(), st.status.as_str()),
        ("running", "offboarding")
    );
    // One snapshot for both counts: the killed client's last COMMIT may
    // still land on the server after the kill, between two reads.
    su.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    let left = count(&mut su, &rows_of(DE_VRIES)).await;
    assert!(left > 0 && left < before, "{left} of {before}");
    assert_eq!(count(&mut su, progress).await, before - left);
    su.batch_execute("COMMIT").await.unwrap();
    assert_eq!(
        count(
            &mut su,
            "SELECT count(*) AS n FROM company_keys WHERE company_id = 'cmp_8fa2c1'"
        )
        .await,
        0
    );

    // Restart: the same command resumes and finishes.
    let out = tokio::task::spawn_blocking(move || run().output()).await;
    let out = out.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("0 rows left"), "{stdout}");
    assert_eq!(count(&mut su, &rows_of(DE_VRIES)).await, 0);
    assert_eq!(count(&mut su, &rows_of(BROUWER)).await, brouwer_before);
    // Every row counted exactly once over both runs.
    let receipt = owner_db(&w)
        .offboarding_receipt(&CompanyId::parse(DE_VRIES).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(receipt.done);
    assert_eq!(receipt.total(), before);
    assert_eq!(receipt.actor_user_id, None);
    assert_eq!(receipt.requested_by, "operator");
}

fn pg_bin(name: &str) -> String {
    format!("/usr/lib/postgresql/15/bin/{name}")
}

fn sh(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn a_dump_taken_before_offboarding_no_longer_opens_the_company() {
    let w = World::new().await;
    let ring = Keys::from_seed(&SEED, &ENC).field_keys;
    let app = w.tdb.database();
    // Brouwer gets a site and one sealed page view, under its own key.
    let mut su = w.tdb.connect_as("postgres").await;
    su.batch_execute(
        "INSERT INTO sites (company_id, domain, site_key, allowed_origins)
         VALUES ('cmp_1d47b9', 'brouwer.example', 'pk_brouwer_probe', ARRAY['https://brouwer.example'])",
    )
    .await
    .unwrap();
    KeyRing::load(&ring, &app, BROUWER).await.unwrap();
    let row = "7b2d2f7e-0000-4000-8000-000000000001";
    let b = ring
        .seal(
            b"198.51.100.0",
            &metiva_db::visitors::ip_context(BROUWER, row),
        )
        .unwrap();
    su.batch_execute(&format!(
        "INSERT INTO page_views (company_id, id, site_id, at, path, ip_key_id, ip_nonce, ip_ciphertext)
         SELECT 'cmp_1d47b9', '{row}', id, now(), '/', '{}', '\\x{}', '\\x{}' FROM sites WHERE site_key = 'pk_brouwer_probe'",
        b.key_id,
        hex::encode(b.nonce),
        hex::encode(&b.ciphertext)
    ))
    .await
    .unwrap();

    // The data backup, as README "Backups and keys" says: everything but
    // the key table's rows.
    let dir = metiva_testkit::scratch_dir("dump");
    std::fs::create_dir_all(&dir).unwrap();
    let dump = dir.join("before.sql");
    sh(Command::new(pg_bin("pg_dump"))
        .args(["--exclude-table-data=company_keys", "-f"])
        .arg(&dump)
        .args(["-d", &w.tdb.superuser_url()]));
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(text.contains("COPY public.page_views"), "a real dump");

    // Offboard De Vries: its DEK is destroyed.
    owner_db(&w)
        .offboard(
            &CompanyId::parse(DE_VRIES).unwrap(),
            Actor::Operator,
            Options::default(),
            files(&scratch_store("offboard-dump")),
            |_, _| ControlFlow::Continue(()),
        )
        .await
        .unwrap();

    // Restore the old dump into a fresh database, with the key table as it
    // is now (keys are never restored from a data backup).
    let restored = format!("{}_restored", w.tdb.name);
    su.batch_execute(&format!("CREATE DATABASE {restored} OWNER metiva_owner"))
        .await
        .unwrap();
    let restored_url = metiva_testkit::TestDb {
        name: restored.clone(),
    }
    .superuser_url();
    sh(Command::new(pg_bin("psql"))
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&dump)
        .args(["-d", &restored_url]));
    let keys_now = sh(Command::new(pg_bin("pg_dump")).args([
        "--data-only",
        "--table=company_keys",
        "-d",
        &w.tdb.superuser_url(),
    ]));
    let keys_file = dir.join("keys-now.sql");
    std::fs::write(&keys_file, keys_now).unwrap();
    sh(Command::new(pg_bin("psql"))
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&keys_file)
        .args(["-d", &restored_url]));

    // The restored database holds De Vries's ciphertexts again, but no key
    // opens them: its DEK is gone for good.
    let restored_db = metiva_testkit::TestDb {
        name: restored.clone(),
    };
    let mut rconn = restored_db.connect_as("postgres").await;
    let views = count(
        &mut rconn,
        "SELECT count(*) AS n FROM page_views WHERE company_id = 'cmp_8fa2c1'",
    )
    .await;
    assert!(views > 50, "{views}");
    let restored_owner =
        Database::connect(&restored_db.owner_url(), &PoolSettings::default()).unwrap();
    let (dv_row, dv_sealed) = first_view(&mut rconn, DE_VRIES).await;
    let fresh = Keys::from_seed(&SEED, &ENC).field_keys;
    let dv_at = metiva_db::visitors::ip_context(DE_VRIES, &dv_row);
    assert_eq!(
        restored_owner
            .fetch_data_key(&CompanyId::parse(DE_VRIES).unwrap())
            .await
            .unwrap(),
        None
    );
    // Even a new key made for it there (its restored row says active) is
    // another key: the old values stay sealed.
    let _ = KeyRing::load(&fresh, &restored_owner, DE_VRIES).await;
    assert!(fresh.open(&dv_sealed, &dv_at).is_err());
    // Brouwer's value, from the same dump, still opens.
    let (b_row, b_sealed) = first_view(&mut rconn, BROUWER).await;
    assert_eq!(b_row, row);
    KeyRing::load(&fresh, &restored_owner, BROUWER)
        .await
        .unwrap();
    assert_eq!(
        fresh
            .open(&b_sealed, &metiva_db::visitors::ip_context(BROUWER, &b_row))
            .unwrap(),
        b"198.51.100.0"
    );
    restored_owner.close();
    drop(rconn);
    su.batch_execute(&format!("DROP DATABASE {restored} WITH (FORCE)"))
        .await
        .unwrap();
}

async fn first_view(conn: &mut diesel_async::AsyncPgConnection, company: &str) -> (String, Sealed) {
    #[derive(QueryableByName)]
    struct V {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Text)]
        ip_key_id: String,
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        ip_nonce: Vec<u8>,
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        ip_ciphertext: Vec<u8>,
    }
    let v: V = diesel::sql_query(
        "SELECT id::text AS id, ip_key_id, ip_nonce, ip_ciphertext FROM page_views
         WHERE company_id = $1 ORDER BY id LIMIT 1",
    )
    .bind::<Text, _>(company)
    .get_result(conn)
    .await
    .unwrap();
    (
        v.id,
        Sealed {
            key_id: v.ip_key_id,
            nonce: v.ip_nonce.try_into().unwrap(),
            ciphertext: v.ip_ciphertext,
        },
    )
}

// ---- The workspace's files (issue 16: "deletes its files") ----

const BOUNDARY: &str = "metiva-offboarding-files";
const CONTRACT: &[u8] = b"%PDF-1.4\n% a contract to offboard\n%%EOF\n";

/// A contract's upload by a script.
fn upload(token: &str, path: &str) -> axum::http::Request<axum::body::Body> {
    use axum::http::header;
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ncontract\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Contract Jansen.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(CONTRACT);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    axum::http::Request::post(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, format!("metiva_session={token}"))
        .body(axum::body::Body::from(body))
        .unwrap()
}

/// Uploads `n` contracts to the first deal of `company` through `router`;
/// answers their file ids.
async fn attach(w: &World, router: &axum::Router, company: &str, n: usize) -> Vec<String> {
    let email = if company == DE_VRIES {
        "owner@devries.example"
    } else {
        "owner@brouwer.example"
    };
    let token = w.sign_in(email, company).await;
    let deal = w
        .id_in(company, "SELECT id FROM deals ORDER BY id LIMIT 1")
        .await;
    let mut ids = Vec::new();
    for _ in 0..n {
        let r =
            crate::world::call(router, upload(&token, &format!("/api/files/deal/{deal}"))).await;
        assert_eq!(r.status, axum::http::StatusCode::CREATED, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    ids
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { files_under(&p) } else { 1 })
        .sum()
}

#[tokio::test]
async fn offboarding_deletes_the_workspaces_files_and_keeps_the_others() {
    let w = World::new().await;
    // A data directory of this test's own: the shared one holds other
    // tests' objects of the same demo workspaces.
    let dir = metiva_testkit::scratch_dir("offboard-objects");
    let config = server::config::Config {
        data_dir: dir.clone(),
        ..crate::test_config(&w.tdb.app_url())
    };
    let router = server::http::dashboard_router_with(&config, w.auth.clone());
    attach(&w, &router, DE_VRIES, 3).await;
    let brouwer_file = attach(&w, &router, BROUWER, 1).await.remove(0);
    // An object no row refers to (a workspace export in the store), and
    // the old local export directories.
    let export_object = dir.join(format!("files/{DE_VRIES}/exports/0001.zip"));
    std::fs::create_dir_all(export_object.parent().unwrap()).unwrap();
    std::fs::write(&export_object, b"sealed export").unwrap();
    for company in [DE_VRIES, BROUWER] {
        let d = dir.join(format!("exports/{company}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("0002.zip"), b"old export").unwrap();
    }
    let store = FileStore::local(&dir).unwrap();
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let brouwer = CompanyId::parse(BROUWER).unwrap();
    assert_eq!(store.list_prefix(&company, 100).await.unwrap().len(), 4);
    assert_eq!(store.list_prefix(&brouwer, 100).await.unwrap().len(), 1);
    let on_disk = OffboardFiles {
        store: &store,
        data_dir: Some(&dir),
    };

    // The store is down: every row goes and the key is destroyed, but the
    // offboarding stays pending on its files.
    let db = owner_db(&w);
    let down = FileStore::unusable("the bucket is down");
    let pending = db
        .offboard(
            &company,
            Actor::Operator,
            Options::default(),
            OffboardFiles {
                store: &down,
                data_dir: Some(&dir),
            },
            |_, _| ControlFlow::Continue(()),
        )
        .await;
    let Err(metiva_db::offboarding::OffboardError::FilesPending { receipt, cause }) = pending
    else {
        panic!("{pending:?}");
    };
    assert!(cause.to_string().contains("the bucket is down"), "{cause}");
    assert!(!receipt.done && receipt.files_pending(), "{receipt:?}");
    assert_eq!(receipt.files_deleted, 0);
    assert!(receipt.key_destroyed_at.is_some());
    assert_eq!(db.company_row_count(&company).await.unwrap(), 0);
    let json = server::keys::receipt_json(&receipt);
    assert_eq!(json["state"], "running", "{json}");
    assert_eq!(json["files"]["state"], "pending", "{json}");
    assert_eq!(store.list_prefix(&company, 100).await.unwrap().len(), 4);
    // The register says so too, to anyone reading it later.
    let again = db.offboarding_receipt(&company).await.unwrap().unwrap();
    assert!(!again.done && again.files_pending());

    // Run again with the store back: the files go and it is done.
    let receipt = db
        .offboard(
            &company,
            Actor::Operator,
            Options::default(),
            on_disk,
            |_, _| ControlFlow::Continue(()),
        )
        .await
        .unwrap();
    assert!(receipt.done && !receipt.files_pending(), "{receipt:?}");
    // Three attachments, the export object, the old local export.
    assert_eq!(receipt.files_deleted, 5);
    assert!(store.list_prefix(&company, 100).await.unwrap().is_empty());
    assert_eq!(files_under(&dir.join(format!("files/{DE_VRIES}"))), 0);
    assert!(!dir.join(format!("exports/{DE_VRIES}")).exists());
    // Brouwer keeps its object, its old export, and can still open it.
    assert_eq!(store.list_prefix(&brouwer, 100).await.unwrap().len(), 1);
    assert!(dir.join(format!("exports/{BROUWER}/0002.zip")).exists());
    let token = w.sign_in("owner@brouwer.example", BROUWER).await;
    let r = crate::world::call(
        &router,
        crate::world::get_with(
            &format!("/files/{brouwer_file}"),
            &[("metiva_session", &token)],
        ),
    )
    .await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.body);
    assert_eq!(r.body.as_bytes(), CONTRACT);
    // The receipt counts files, and names none.
    let json = server::keys::receipt_json(&receipt);
    assert_eq!(json["state"], "done", "{json}");
    assert_eq!(json["files"]["state"], "deleted", "{json}");
    assert_eq!(json["files"]["deleted"], 5, "{json}");
    let text = json.to_string();
    for needle in ["attachments/", ".zip", "Jansen", ".pdf"] {
        assert!(!text.contains(needle), "{needle} in {text}");
    }
    // Offboarding again answers the same receipt.
    let same = db
        .offboard(
            &company,
            Actor::Operator,
            Options::default(),
            on_disk,
            |_, _| ControlFlow::Continue(()),
        )
        .await
        .unwrap();
    assert_eq!(same, receipt);
}

#[tokio::test]
async fn metiva_offboard_deletes_the_objects_in_the_bucket_and_resumes_after_an_outage() {
    use metiva_testkit::fake_s3::{self, FakeS3, S3Fault};
    let fake = FakeS3::start().await;
    // Pages of two keys: the listing follows continuation tokens.
    fake.set_list_page_size(2);
    let w = World::new().await;
    let settings = metiva_db::object_s3::S3Settings {
        bucket: fake_s3::BUCKET.into(),
        prefix: String::new(),
        region: "eu-central-1".into(),
        endpoint: Some(fake.endpoint()),
        access_key_id: fake_s3::ACCESS_KEY_ID.into(),
        secret_access_key: fake_s3::SECRET_ACCESS_KEY.into(),
    };
    let config = server::config::Config {
        object_store: server::file_store::ObjectStoreConfig::S3(settings),
        ..crate::test_config(&w.tdb.app_url())
    };
    let router = server::http::dashboard_router_with(&config, w.auth.clone());
    attach(&w, &router, DE_VRIES, 3).await;
    attach(&w, &router, BROUWER, 1).await;
    assert_eq!(fake.keys().len(), 4);

    let (app_url, owner_url, endpoint) = (w.tdb.app_url(), w.tdb.owner_url(), fake.endpoint());
    let data_dir = metiva_testkit::scratch_dir("offboard-s3");
    std::fs::create_dir_all(&data_dir).unwrap();
    let run = move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_metiva"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATABASE_URL", &app_url)
            .env("DATABASE_MIGRATION_URL", &owner_url)
            .env(
                "METIVA_DB_STATEMENT_CACHE",
                crate::process::statement_cache(),
            )
            .env("METIVA_DATA_DIR", &data_dir)
            .env("METIVA_OBJECT_STORE", "s3")
            .env("METIVA_S3_BUCKET", fake_s3::BUCKET)
            .env("METIVA_S3_ENDPOINT", &endpoint)
            .env("AWS_ACCESS_KEY_ID", fake_s3::ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", fake_s3::SECRET_ACCESS_KEY)
            .env("RUST_LOG", "warn")
            .args(["offboard", DE_VRIES]);
        cmd.output().unwrap()
    };

    // The bucket fails the listing, its three retries included: the
    // command fails saying so, and prints the receipt with files pending.
    fake.fail_next(4, S3Fault::InternalError);
    let run1 = run.clone();
    let out = tokio::task::spawn_blocking(run1).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{stdout} {stderr}");
    assert!(stderr.contains("run it again"), "{stderr}");
    assert!(!stderr.contains(fake_s3::SECRET_ACCESS_KEY), "{stderr}");
    let receipt: serde_json::Value = serde_json::from_str(
        stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .unwrap_or_default(),
    )
    .unwrap();
    assert_eq!(receipt["state"], "running", "{receipt}");
    assert_eq!(receipt["files"]["state"], "pending", "{receipt}");
    assert_eq!(fake.keys().len(), 4);
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let db = owner_db(&w);
    assert_eq!(db.company_row_count(&company).await.unwrap(), 0);

    // Run again: it lists page by page, deletes De Vries's objects only,
    // and finishes.
    let before = fake.requests().len();
    let out = tokio::task::spawn_blocking(run).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("3 file(s) deleted"), "{stdout}");
    let keys = fake.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with(&format!("{BROUWER}/")), "{keys:?}");
    let listings = fake.requests()[before..]
        .iter()
        .filter(|r| *r == "GET 200")
        .count();
    assert!(listings >= 2, "{:?}", fake.requests());
    let receipt = db.offboarding_receipt(&company).await.unwrap().unwrap();
    assert!(receipt.done && !receipt.files_pending(), "{receipt:?}");
    assert_eq!(receipt.files_deleted, 3);
}
