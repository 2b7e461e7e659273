//! Client offboarding: every row of the company in every tenant table the
//! catalog finds (a table added here included, with no code change), the
//! data key first, a receipt in the global register; a killed run resumes;
//! and a dump taken before offboarding, restored afterwards, no longer
//! opens the company's ciphertexts while another company's still open.

use std::ops::ControlFlow;
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use metiva_db::offboarding::{Actor, Options};
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
    let started = Instant::now();
    let receipt = db
        .offboard(
            &company,
            Actor::Owner(user),
            Options { batch: 100 },
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
        .offboard(&company, Actor::Operator, Options::default(), |_, _| {
            ControlFlow::Continue(())
        })
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
    let left = count(&mut su, &rows_of(DE_VRIES)).await;
    assert!(left > 0 && left < before, "{left} of {before}");
    assert_eq!(count(&mut su, progress).await, before - left);
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
