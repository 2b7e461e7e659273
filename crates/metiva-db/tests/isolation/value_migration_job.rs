//! The `keys.migrate_values` job (issue 16): values sealed under the
//! master key (page views' truncated IPs, from before per-company keys)
//! move to the workspace's data key, one batch of 1,000 per run, each run
//! enqueueing the next while values are left; the security page's
//! progress count goes down run by run; a run in a fresh process (no key
//! cached) picks up where the last stopped and never reads a moved value
//! again; another workspace's values are untouched; every value still
//! opens afterwards.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Binary, Text};
use diesel_async::RunQueryDsl;
use metiva_db::data_keys::{MIGRATE_BATCH, MIGRATE_VALUES, MigrateValuesJob};
use metiva_db::jobs::{self, NewJob, Outcome, Registry};
use metiva_security::cipher::{KeyRing, Sealed};
use metiva_testkit::TestDb;
use uuid::Uuid;

use crate::fixtures::{A, B, cid, exec, member_ctx, three_companies};

const SITE: Uuid = Uuid::from_u128(0x5a1e_0000_0000_4000_8000_0000_0000_0001);
const ROWS_A: usize = 2_500;
const ROWS_B: usize = 10;

fn ring() -> KeyRing {
    let mut k = KeyRing::new();
    k.rotate_in_key("k1", &[7u8; 32]);
    k
}

/// `n` page views for `company`, each IP sealed directly under the master
/// key in its own context (as before per-company keys).
async fn master_sealed(tdb: &TestDb, keys: &KeyRing, company: &str, n: usize) {
    let mut values = Vec::with_capacity(n);
    for i in 0..n {
        let id = Uuid::new_v4();
        let row = id.to_string();
        let ip = format!("192.0.{}.0", i % 250);
        let s = keys
            .seal_transient(
                ip.as_bytes(),
                &metiva_db::visitors::ip_context(company, &row),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        values.push(format!(
            "('{company}', '{id}', '{SITE}', '/p{i}', '{}', decode('{}', 'hex'), decode('{}', 'hex'))",
            s.key_id,
            hex::encode(s.nonce),
            hex::encode(&s.ciphertext)
        ));
    }
    exec(
        &mut tdb.connect_as("metiva_owner").await,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{company}', true);
             INSERT INTO sites (company_id, id, domain, site_key)
                 VALUES ('{company}', '{SITE}', 'migrate-{}.example', 'pk_migrate{}');
             INSERT INTO page_views (company_id, id, site_id, path, ip_key_id, ip_nonce, ip_ciphertext)
                 VALUES {};
             COMMIT;",
            company.trim_start_matches("cmp_"),
            company.trim_start_matches("cmp_"),
            values.join(",")
        ),
    )
    .await;
}

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    key_id: String,
    #[diesel(sql_type = Binary)]
    nonce: Vec<u8>,
    #[diesel(sql_type = Binary)]
    ciphertext: Vec<u8>,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn under_dek(tdb: &TestDb, company: &str) -> i64 {
    let mut c = tdb.connect_as("metiva_owner").await;
    exec(
        &mut c,
        &format!("SELECT set_config('app.company_id', '{company}', false)"),
    )
    .await;
    diesel::sql_query("SELECT count(*) AS n FROM page_views WHERE ip_key_id LIKE 'd-%'")
        .get_result::<N>(&mut c)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .n
}

/// Claims and runs every due job once; answers how many ran.
/// Enqueues one `keys.migrate_values` run for workspace A.
async fn enqueue_migration(db: &metiva_db::Database) {
    db.for_job(&cid(A), async |tc| {
        jobs::enqueue(
            tc,
            &NewJob {
                kind: &MIGRATE_VALUES,
                payload: "{}",
                key: None,
                run_at: None,
            },
        )
        .await
    })
    .await
    .unwrap_or_else(|e| panic!("enqueue: {e}"));
}

async fn run_due(db: &metiva_db::Database, reg: &Registry) -> usize {
    let claimed = jobs::claim(db, "migrate-test", 10, 60)
        .await
        .unwrap_or_else(|e| panic!("claim: {e}"));
    for c in &claimed {
        let out = jobs::execute(db, reg, "migrate-test", c)
            .await
            .unwrap_or_else(|e| panic!("execute: {e}"));
        assert_eq!(out, Outcome::Done);
    }
    claimed.len()
}

fn registry(db: &metiva_db::Database) -> Registry {
    let mut reg = Registry::default();
    // A fresh key ring per registry: a new process, no DEK cached.
    reg.register(
        MIGRATE_VALUES,
        MigrateValuesJob::new(db.clone(), std::sync::Arc::new(ring())),
    );
    reg
}

#[tokio::test]
async fn the_value_migration_job_moves_master_sealed_values_to_the_data_key_batch_by_batch() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let keys = ring();
    master_sealed(&tdb, &keys, A, ROWS_A).await;
    master_sealed(&tdb, &keys, B, ROWS_B).await;
    let owner = member_ctx(&tdb, &db, A, 1, "owner").await;
    let left = async || {
        db.master_sealed_count(&owner)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(left().await, ROWS_A as i64);

    enqueue_migration(&db).await;

    // Each run moves one batch and enqueues the next while values are
    // left; each run is a fresh process (its own key ring).
    let mut progress = Vec::new();
    for _ in 0..10 {
        let ran = run_due(&db, &registry(&db)).await;
        if ran == 0 {
            break;
        }
        progress.push((left().await, under_dek(&tdb, A).await));
    }
    let batch = MIGRATE_BATCH;
    assert_eq!(
        progress,
        vec![
            (ROWS_A as i64 - batch, batch),
            (ROWS_A as i64 - 2 * batch, 2 * batch),
            (0, ROWS_A as i64),
        ],
        "the progress count after each run"
    );
    // Workspace B's job never ran: its values are still under the master
    // key (each workspace moves under its own binding and key).
    assert_eq!(under_dek(&tdb, B).await, 0);

    // Resumable and idempotent: a run with nothing left moves nothing and
    // enqueues nothing.
    enqueue_migration(&db).await;
    assert_eq!(run_due(&db, &registry(&db)).await, 1);
    assert_eq!(run_due(&db, &registry(&db)).await, 0);
    assert_eq!(under_dek(&tdb, A).await, ROWS_A as i64);

    // Every moved value opens with the data key, in its own context, to
    // the IP it held; the master key alone no longer opens it.
    KeyRing::load(&keys, &db, A)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut c = tdb.connect_as("metiva_owner").await;
    exec(
        &mut c,
        &format!("SELECT set_config('app.company_id', '{A}', false)"),
    )
    .await;
    let rows = diesel::sql_query(
        "SELECT id::text AS id, ip_key_id AS key_id, ip_nonce AS nonce, ip_ciphertext AS ciphertext, path
           FROM page_views ORDER BY path LIMIT 50",
    )
    .load::<Value>(&mut c)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 50);
    let fresh = ring();
    for r in rows {
        let sealed = Sealed {
            key_id: r.key_id.clone(),
            nonce: r.nonce.try_into().unwrap_or_else(|_| panic!("nonce")),
            ciphertext: r.ciphertext,
        };
        let at = metiva_db::visitors::ip_context(A, &r.id);
        let plain = keys.open(&sealed, &at).unwrap_or_else(|e| panic!("{e}"));
        assert!(String::from_utf8_lossy(&plain).starts_with("192.0."));
        assert!(r.key_id.starts_with("d-"), "{}", r.key_id);
        assert!(fresh.open(&sealed, &at).is_err(), "no DEK loaded: refused");
    }
}

/// The security page's count and the job's batch find the values still
/// under the master key through the partial index, as the app role under
/// forced RLS (migration 000052). With `NOT LIKE` (not LEAKPROOF) the
/// policy held the condition back and every page view was scanned; with
/// sequential scans disabled, the plan can only avoid one through the
/// index if its predicate is proven under RLS. The SQL is the condition
/// `data_keys::master_sealed` writes.
#[tokio::test]
async fn the_master_sealed_values_are_found_through_the_partial_index_under_rls() {
    use diesel_async::SimpleAsyncConnection;
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let mut app = tdb.connect_as("metiva_app").await;
    app.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.company_id', '{A}', true); SET LOCAL enable_seqscan = off"
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    for sql in [
        format!(
            "EXPLAIN SELECT count(*) FROM page_views WHERE company_id = '{A}' \
             AND NOT starts_with(page_views.ip_key_id, 'd-')"
        ),
        format!(
            "EXPLAIN SELECT id FROM page_views WHERE company_id = '{A}' \
             AND NOT starts_with(page_views.ip_key_id, 'd-') LIMIT 1000 FOR UPDATE SKIP LOCKED"
        ),
    ] {
        let plan: Vec<Plan> = diesel::sql_query(&sql)
            .load(&mut app)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let text: Vec<String> = plan.into_iter().map(|p| p.line).collect();
        assert!(
            text.iter()
                .any(|l| l.contains("page_views_master_sealed_idx")),
            "{sql}: {text:#?}"
        );
        assert!(
            !text.iter().any(|l| l.contains("Seq Scan")),
            "{sql}: {text:#?}"
        );
    }
}
