//! The visitors page's daily rollups (`page_view_daily`) against a full
//! recount of `page_views`, after random ingest batches through the ingest
//! path, erasure-shaped deletes (a visitor's views, as erasure removes
//! them), deletes of single views, and the retention sweep, in three
//! workspaces at once. The rollups are maintained by statement triggers in
//! each writer's own transaction, so any drift shows here.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use metiva_db::ingest::PageView;
use metiva_testkit::TestDb;
use rand::Rng;

use crate::fixtures::{A, B, C, cid, exec, three_companies};

const SITE: &str = "00000000-0000-4000-8000-0000000517e2";

#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct Diff {
    #[diesel(sql_type = Text)]
    company_id: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Rows where the rollups and a recount disagree, per company (as the
/// owner, who sees every company under no binding only through this
/// per-company loop).
async fn drift(tdb: &TestDb, company: &str) -> (i64, i64) {
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!("BEGIN; SELECT set_config('app.company_id', '{company}', true);"),
    )
    .await;
    let d: Diff = diesel::sql_query(
        "WITH recount AS (
             SELECT company_id, (at AT TIME ZONE 'UTC')::date AS day, organisation, org_source, path,
                    count(*) AS views, min(at) AS first_at, max(at) AS last_at
             FROM page_views GROUP BY 1, 2, 3, 4, 5),
         rolled AS (
             SELECT company_id, day, organisation, org_source, path, views, first_at, last_at
             FROM page_view_daily)
         SELECT current_setting('app.company_id') AS company_id, count(*) AS n FROM (
             (SELECT * FROM recount EXCEPT ALL SELECT * FROM rolled)
             UNION ALL
             (SELECT * FROM rolled EXCEPT ALL SELECT * FROM recount)) x",
    )
    .get_result(&mut owner)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let views: N = diesel::sql_query("SELECT count(*) AS n FROM page_views")
        .get_result(&mut owner)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    exec(&mut owner, "COMMIT;").await;
    assert_eq!(d.company_id, company);
    (d.n, views.n)
}

fn random_view(rng: &mut impl Rng, site: uuid::Uuid) -> PageView {
    let org = rng.random_range(0..6);
    let (organisation, org_source) = match org {
        0 => (None, None),
        1 => (Some("Known BV".to_string()), Some("known_network")),
        n => (Some(format!("Org {n}")), Some("asn")),
    };
    PageView {
        id: uuid::Uuid::new_v4(),
        site_id: site,
        visitor_key: None,
        // Spread over 40 days, some older than the retention period.
        at: chrono::Utc::now()
            - chrono::Duration::hours(rng.random_range(0..40 * 24))
            - if rng.random_range(0..10) == 0 {
                chrono::Duration::days(430)
            } else {
                chrono::Duration::zero()
            },
        path: format!("/p/{}", rng.random_range(0..5)),
        referrer_domain: None,
        organisation,
        org_source,
        ip_key_id: "k1".into(),
        ip_nonce: vec![0; 12],
        ip_ciphertext: vec![0; 28],
    }
}

#[tokio::test]
async fn rollups_match_a_full_recount_after_random_ingest_deletes_and_sweeps() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let site = uuid::Uuid::parse_str(SITE).unwrap_or_else(|e| panic!("{e}"));
    let mut owner = tdb.connect_as("metiva_owner").await;
    for c in [A, B, C] {
        exec(
            &mut owner,
            &format!(
                "BEGIN; SELECT set_config('app.company_id', '{c}', true);
                 INSERT INTO sites (company_id, id, domain, site_key)
                     VALUES ('{c}', '{SITE}', 'example.nl', 'pk_{c}_site');
                 COMMIT;"
            ),
        )
        .await;
    }
    let db = tdb.database();
    let mut rng = rand::rng();
    for round in 0..60 {
        let company = [A, B, C][rng.random_range(0..3)];
        match rng.random_range(0..10) {
            // Ingest: a batch of 1..200 views, one statement.
            0..=5 => {
                let n = rng.random_range(1..200);
                let batch: Vec<PageView> = (0..n).map(|_| random_view(&mut rng, site)).collect();
                let stored = db
                    .record_page_views(&cid(company), &batch)
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
                assert_eq!(stored, batch.len());
            }
            // Erasure-shaped: every view of one organisation on one path
            // goes (as an erased subject's views do), in one statement.
            6..=7 => {
                exec(
                    &mut owner,
                    &format!(
                        "BEGIN; SELECT set_config('app.company_id', '{company}', true);
                     DELETE FROM page_views WHERE organisation IS NOT DISTINCT FROM
                       (SELECT organisation FROM page_views ORDER BY random() LIMIT 1)
                       AND path = '/p/{}';
                     COMMIT;",
                        rng.random_range(0..5)
                    ),
                )
                .await
            }
            // Single views, including a day's first or last one.
            8 => {
                exec(
                    &mut owner,
                    &format!(
                        "BEGIN; SELECT set_config('app.company_id', '{company}', true);
                     DELETE FROM page_views WHERE id IN
                       (SELECT id FROM page_views ORDER BY at {} LIMIT 3);
                     COMMIT;",
                        if rng.random_range(0..2) == 0 {
                            "ASC"
                        } else {
                            "DESC"
                        }
                    ),
                )
                .await
            }
            // The retention sweep (13 months): the old views go in batches.
            _ => {
                db.sweep_company(&cid(company))
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
        }
        if round % 10 == 9 {
            for c in [A, B, C] {
                let (bad, _) = drift(&tdb, c).await;
                assert_eq!(bad, 0, "round {round}: {c}'s rollups drifted");
            }
        }
    }
    let mut total = 0;
    for c in [A, B, C] {
        let (bad, views) = drift(&tdb, c).await;
        assert_eq!(bad, 0, "{c}'s rollups drifted");
        total += views;
    }
    // The run did store something (the comparison is not vacuous).
    assert!(total > 0);
}
