//! Issue 16's figures (ignored by default: seconds of inserts; run with
//! `cargo nextest run -p metiva-db --test isolation --run-ignored only
//! figures16 --no-capture`): subject erasure time with 100,000 page views
//! in the workspace, retention sweep throughput, offboarding time, and
//! audit appends per second with the chain against without it.

use std::ops::ControlFlow;
use std::time::Instant;

use metiva_db::erasure::ErasureForm;
use metiva_db::offboarding::{Actor, Options};
use metiva_db::repo::audit::{self, AuditEntry};
use metiva_db::retention::SweepOutcome;
use metiva_testkit::TestDb;
use uuid::Uuid;

use crate::fixtures::{A, B, C, cid, exec, member_ctx, three_companies};

const PAGE_VIEWS: i64 = 100_000;
const SUBJECT_VIEWS: i64 = 1_000;
const APPENDS: usize = 2_000;

/// `n` page views in `company` on one site, the first `mine` by `visitor`
/// (or none), `age` old.
fn page_views_sql(
    company: &str,
    site: Uuid,
    visitor: Option<Uuid>,
    n: i64,
    mine: i64,
    age: &str,
) -> String {
    let v = visitor.map_or("NULL".to_string(), |v| format!("'{v}'"));
    format!(
        "INSERT INTO page_views (company_id, id, site_id, visitor_id, at, path, ip_key_id, ip_nonce, ip_ciphertext)
         SELECT '{company}', gen_random_uuid(), '{site}',
                CASE WHEN g <= {mine} THEN {v}::uuid ELSE NULL END,
                now() - interval '{age}', '/p' || (g % 50), 'k1',
                '\\x000000000000000000000000', '\\x0000000000000000000000000000000000000000'
         FROM generate_series(1, {n}) g;"
    )
}

async fn appends_per_second(db: &metiva_db::Database, company: &str) -> f64 {
    let started = Instant::now();
    for _ in 0..APPENDS {
        db.tenant(&cid(company), async |tc| {
            audit::append(
                tc,
                &AuditEntry {
                    actor_user_id: None,
                    action: "figure.append",
                    target_type: Some("probe"),
                    target_id: None,
                    request_id: None,
                    reason: None,
                },
            )
            .await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    APPENDS as f64 / started.elapsed().as_secs_f64()
}

#[tokio::test]
#[ignore = "a figure, not a check: seconds of inserts"]
async fn figures16_erasure_sweep_offboarding_and_audit_appends() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let admin = member_ctx(&tdb, &db, A, 1, "admin").await;
    let (site, person, visitor) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut owner = tdb.connect_as("metiva_owner").await;

    // A: the subject with 1,000 of the workspace's 100,000 page views.
    let t = Instant::now();
    exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO sites (company_id, id, domain, site_key) VALUES ('{A}', '{site}', 'a.example', 'pk_figure_a');
             INSERT INTO persons (company_id, id, name, email) VALUES ('{A}', '{person}', 'Figuur Persoon', 'figuur@a.example');
             INSERT INTO visitors (company_id, id, site_id, visitor_key, analytics, identification, person_id)
                 VALUES ('{A}', '{visitor}', '{site}', gen_random_uuid(), true, true, '{person}');
             {}
             COMMIT;",
            page_views_sql(A, site, Some(visitor), PAGE_VIEWS, SUBJECT_VIEWS, "1 day")
        ),
    )
    .await;
    eprintln!("setup A: {PAGE_VIEWS} page views in {:?}", t.elapsed());
    let req = ErasureForm {
        reason: Some("subject_request"),
        note: None,
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    let t = Instant::now();
    let erased = db
        .erase_person(&admin, person, &req, "figure")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let erase = t.elapsed();
    eprintln!(
        "FIGURE subject erasure ({SUBJECT_VIEWS} of the subject's page views among {PAGE_VIEWS} in the workspace): {:.1} ms (receipt {})",
        erase.as_secs_f64() * 1000.0,
        erased.receipt_id
    );

    // B: 100,000 page views past their 13 months, swept.
    let site_b = Uuid::new_v4();
    exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{B}', true);
             INSERT INTO sites (company_id, id, domain, site_key) VALUES ('{B}', '{site_b}', 'b.example', 'pk_figure_b');
             {}
             COMMIT;",
            page_views_sql(B, site_b, None, PAGE_VIEWS, 0, "14 months")
        ),
    )
    .await;
    let t = Instant::now();
    let out = db
        .sweep_company(&cid(B))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let sweep = t.elapsed();
    let SweepOutcome::Swept(c) = out else {
        panic!("busy")
    };
    assert_eq!(c.page_views, PAGE_VIEWS);
    eprintln!(
        "FIGURE retention sweep: {} page views in {} batches in {:.2} s = {:.0} rows/s",
        c.page_views,
        c.batches,
        sweep.as_secs_f64(),
        c.page_views as f64 / sweep.as_secs_f64()
    );

    // Audit appends, one transaction each, with the chain and without it
    // (the trigger disabled by the superuser, on this throw-away DB only).
    let chained = appends_per_second(&db, C).await;
    let mut su = tdb.connect_as("postgres").await;
    exec(
        &mut su,
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain",
    )
    .await;
    // Without the trigger the chain columns must be given: fill them.
    exec(
        &mut su,
        "ALTER TABLE audit_log ALTER COLUMN seq DROP NOT NULL,
                             ALTER COLUMN prev_hash DROP NOT NULL,
                             ALTER COLUMN hash DROP NOT NULL",
    )
    .await;
    let plain = appends_per_second(&db, A).await;
    eprintln!(
        "FIGURE audit appends (one transaction each, {APPENDS}): {chained:.0}/s with the chain, {plain:.0}/s without ({:.0} %)",
        chained / plain * 100.0
    );

    // C: offboarding a workspace holding 100,000 page views.
    let site_c = Uuid::new_v4();
    exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{C}', true);
             INSERT INTO sites (company_id, id, domain, site_key) VALUES ('{C}', '{site_c}', 'c.example', 'pk_figure_c');
             {}
             COMMIT;",
            page_views_sql(C, site_c, None, PAGE_VIEWS, 0, "1 day")
        ),
    )
    .await;
    let owner_db = metiva_db::Database::connect(&tdb.owner_url(), &metiva_testkit::pool_settings())
        .unwrap_or_else(|e| panic!("{e}"));
    let store = metiva_db::files::FileStore::local(&metiva_testkit::scratch_dir("figure-offboard"))
        .unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    owner_db
        .offboard(
            &cid(C),
            Actor::Operator,
            Options::default(),
            metiva_db::offboarding::OffboardFiles {
                store: &store,
                data_dir: None,
            },
            |_, _| ControlFlow::Continue(()),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    eprintln!(
        "FIGURE offboarding ({PAGE_VIEWS} page views + the rest of the workspace, batches of 5,000): {:.2} s",
        t.elapsed().as_secs_f64()
    );
}
