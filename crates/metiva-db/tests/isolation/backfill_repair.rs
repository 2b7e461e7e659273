//! Migration 000063 repairs the backfills of 000009 (default pipeline),
//! 000010 (search terms) and 000023 (daily rollups), whose loops over
//! `companies` saw no workspace under forced RLS. Here workspace A is put
//! in the state such a database was left in (no stages, no search terms,
//! rollups that miss page views), B and C stay sound, and the repair's
//! own SQL runs as the migration role: A is whole again, B and C are not
//! touched, and a second run changes nothing.

use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use metiva_db::ingest::PageView;
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, C, cid, exec, three_companies};

const REPAIR: &str =
    include_str!("../../../../migrations/2026-12-08-000063_repair_workspace_backfills/up.sql");
const SITE: &str = "00000000-0000-4000-8000-0000000b0f11";

#[derive(QueryableByName, Debug, PartialEq, Eq, Clone, Copy)]
struct Shape {
    #[diesel(sql_type = BigInt)]
    stages: i64,
    #[diesel(sql_type = BigInt)]
    terms: i64,
    #[diesel(sql_type = BigInt)]
    rolled: i64,
    #[diesel(sql_type = BigInt)]
    views: i64,
    #[diesel(sql_type = BigInt)]
    rollup_rows: i64,
}

/// What the backfills govern in `company`, read as the owner under that
/// company's binding.
async fn shape(tdb: &TestDb, company: &str) -> Shape {
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!("BEGIN; SELECT set_config('app.company_id', '{company}', true);"),
    )
    .await;
    let s: Shape = diesel::sql_query(
        "SELECT (SELECT count(*) FROM pipeline_stages) AS stages,
                (SELECT count(*) FROM search_terms) AS terms,
                (SELECT coalesce(sum(views), 0)::bigint FROM page_view_daily) AS rolled,
                (SELECT count(*) FROM page_views) AS views,
                (SELECT count(*) FROM page_view_daily) AS rollup_rows",
    )
    .get_result(&mut owner)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    exec(&mut owner, "COMMIT;").await;
    s
}

async fn run_repair(tdb: &TestDb) {
    let mut owner = tdb.connect_as("metiva_owner").await;
    // As diesel's migration harness runs it: one transaction, owner role.
    exec(&mut owner, &format!("BEGIN; {REPAIR} COMMIT;")).await;
    // The binding does not outlive the repair's loop.
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        v: Option<String>,
    }
    let s: Setting = diesel::sql_query("SELECT current_setting('app.company_id', true) AS v")
        .get_result(&mut owner)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        s.v.unwrap_or_default().is_empty(),
        "no binding after the repair"
    );
}

fn view(n: usize) -> PageView {
    PageView {
        id: uuid::Uuid::new_v4(),
        site_id: uuid::Uuid::parse_str(SITE).unwrap_or_else(|e| panic!("{e}")),
        visitor_key: None,
        at: chrono::Utc::now() - chrono::Duration::hours((n % 50) as i64),
        path: format!("/p/{}", n % 4),
        referrer_domain: None,
        organisation: n.is_multiple_of(3).then(|| "Known BV".to_string()),
        org_source: n.is_multiple_of(3).then_some("known_network"),
        ip_key_id: "k1".into(),
        ip_nonce: vec![0; 12],
        ip_ciphertext: vec![0; 28],
    }
}

#[tokio::test]
async fn the_repair_restores_missed_backfills_and_leaves_sound_workspaces_alone() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let mut owner = tdb.connect_as("metiva_owner").await;
    for c in [A, B, C] {
        exec(
            &mut owner,
            &format!(
                "BEGIN; SELECT set_config('app.company_id', '{c}', true);
                 INSERT INTO sites (company_id, id, domain, site_key)
                     VALUES ('{c}', '{SITE}', 'example.nl', 'pk_{c}_site');
                 INSERT INTO organisations (company_id, name, domain)
                     VALUES ('{c}', 'Bakkerij Jansen', 'jansen.example');
                 COMMIT;"
            ),
        )
        .await;
        let batch: Vec<PageView> = (0..120).map(view).collect();
        let stored = db
            .record_page_views(&cid(c), &batch)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored, batch.len());
    }
    let sound = shape(&tdb, A).await;
    assert_eq!(sound.stages, 6, "a new workspace gets the default pipeline");
    assert!(
        sound.terms > 0,
        "the triggers index the person and organisation"
    );
    assert_eq!((sound.rolled, sound.views), (120, 120));
    let (b, c) = (shape(&tdb, B).await, shape(&tdb, C).await);

    // A as the old loops left it: the rows they were to add are missing,
    // and half of its rollups (views from before 000023) are not there.
    exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             DELETE FROM pipeline_stages;
             DELETE FROM search_terms;
             DELETE FROM page_view_daily WHERE ctid IN
               (SELECT ctid FROM page_view_daily ORDER BY day, path LIMIT 5);
             COMMIT;"
        ),
    )
    .await;
    let broken = shape(&tdb, A).await;
    assert_eq!((broken.stages, broken.terms), (0, 0));
    assert!(
        broken.rolled < broken.views,
        "the rollups miss views: {broken:?}"
    );

    run_repair(&tdb).await;
    assert_eq!(shape(&tdb, A).await, sound, "A is whole again");
    assert_eq!(shape(&tdb, B).await, b, "B is untouched");
    assert_eq!(shape(&tdb, C).await, c, "C is untouched");

    // Idempotent: a second run (a sound database) changes nothing.
    run_repair(&tdb).await;
    assert_eq!(shape(&tdb, A).await, sound);
    assert_eq!(shape(&tdb, B).await, b);
}
