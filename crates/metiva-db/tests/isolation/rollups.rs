//! The visitors page's daily rollups (`page_view_daily`) against a full
//! recount of `page_views`, after random ingest batches through the ingest
//! path, erasure-shaped deletes (a visitor's views, as erasure removes
//! them), deletes of single views, and the retention sweep, in three
//! workspaces at once. The rollups are maintained by statement triggers in
//! each writer's own transaction, so any drift shows here.
//!
//! The visitors page keeps its window per company while the company's
//! rollup version is unchanged (`page_view_rollup_marks`, migration
//! 000054): after every write the page's organisations and chart are held
//! against a recount of the page views, so a write that changed the
//! rollups without bumping the version (a stale kept window) shows here.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use metiva_db::ingest::PageView;
use metiva_testkit::TestDb;
use rand::Rng;

use crate::fixtures::{A, B, C, cid, exec, member_ctx, three_companies};

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

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct OrgCount {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    organisation: Option<String>,
    #[diesel(sql_type = BigInt)]
    views: i64,
}

#[derive(QueryableByName, Debug, PartialEq, Eq)]
struct DayViews {
    #[diesel(sql_type = diesel::sql_types::Date)]
    day: chrono::NaiveDate,
    #[diesel(sql_type = BigInt)]
    views: i64,
}

/// The visitors page's window (30 UTC days, today included) recounted
/// from `company`'s page views: views per organisation, and per day (the
/// days with views).
async fn window_recount(tdb: &TestDb, company: &str) -> (Vec<OrgCount>, Vec<DayViews>) {
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!("BEGIN; SELECT set_config('app.company_id', '{company}', true);"),
    )
    .await;
    const IN_WINDOW: &str = "(at AT TIME ZONE 'UTC')::date > (now() AT TIME ZONE 'UTC')::date - 30";
    let mut orgs: Vec<OrgCount> = diesel::sql_query(format!(
        "SELECT organisation, count(*) AS views FROM page_views WHERE {IN_WINDOW} GROUP BY 1"
    ))
    .load(&mut owner)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    orgs.sort();
    let days: Vec<DayViews> = diesel::sql_query(format!(
        "SELECT (at AT TIME ZONE 'UTC')::date AS day, count(*) AS views FROM page_views
         WHERE {IN_WINDOW} GROUP BY 1 ORDER BY 1"
    ))
    .load(&mut owner)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    exec(&mut owner, "COMMIT;").await;
    (orgs, days)
}

/// The visitors page's organisations and chart for `ctx` against the
/// recount (at most 6 organisations here, so all of them are listed).
async fn page_matches_recount(
    tdb: &TestDb,
    db: &metiva_db::Database,
    ctx: &metiva_db::TenantCtx,
    company: &str,
    round: usize,
) {
    let page = db
        .visitors_overview(ctx, 30, false)
        .await
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
    let mut orgs: Vec<OrgCount> = page
        .organisations
        .iter()
        .map(|o| OrgCount {
            organisation: o.organisation.clone(),
            views: o.views,
        })
        .collect();
    orgs.sort();
    let days: Vec<DayViews> = page
        .days
        .iter()
        .filter(|d| d.views > 0)
        .map(|d| DayViews {
            day: d.day,
            views: d.views,
        })
        .collect();
    let (want_orgs, want_days) = window_recount(tdb, company).await;
    assert_eq!(orgs, want_orgs, "round {round}: {company}'s organisations");
    assert_eq!(days, want_days, "round {round}: {company}'s chart");
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
    let mut ctxs = Vec::new();
    for (n, c) in [A, B, C].into_iter().enumerate() {
        ctxs.push(member_ctx(&tdb, &db, c, 40 + n as u128, "owner").await);
    }
    let mut rng = rand::rng();
    for round in 0..60 {
        let which = rng.random_range(0..3);
        let company = [A, B, C][which];
        // The page before the write: its window is kept at this version.
        page_matches_recount(&tdb, &db, &ctxs[which], company, round).await;
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
        // After it: the kept window is not served for changed rollups.
        page_matches_recount(&tdb, &db, &ctxs[which], company, round).await;
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
