//! Each visitor's kept page-view count (`visitors.views_count`, migration
//! 000061) against a full recount of page views, after random writes in
//! three workspaces at once: ingest batches through the app (views of
//! consented visitors linked, of unconsented or unknown ones not, some
//! old enough for the retention sweep), visitors erased through the app,
//! retention sweeps through the app, page views and visitors deleted by
//! hand (a visitor's deletion sets its page views' link NULL by the
//! foreign key). The count is kept by statement triggers in each writer's
//! transaction, so any drift shows here, and so does a person record whose
//! visitors' counts disagree with the recount. Their isolation: bound to
//! one company, a writer's page views never move another company's
//! counts, and the app role cannot relink a page view at all.

use chrono::{Duration, Utc};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use metiva_db::ingest::PageView;
use metiva_db::{Database, TenantCtx};
use metiva_testkit::TestDb;
use rand::Rng;
use uuid::Uuid;

use crate::fixtures::{A, B, C, cid, exec, member_ctx, three_companies, try_exec};

const SITE: &str = "00000000-0000-4000-8000-00000005c0d0";

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Views {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    views: i64,
}

/// Every visitor's kept count and a recount, in one snapshot.
async fn kept_and_recount(tdb: &TestDb, company: &str) -> (Vec<Views>, Vec<Views>) {
    crate::fixtures::kept_and_recount(
        tdb,
        company,
        "SELECT id, views_count AS views FROM visitors ORDER BY id",
        "SELECT v.id, (SELECT count(*) FROM page_views p WHERE p.visitor_id = v.id) AS views
         FROM visitors v ORDER BY v.id",
    )
    .await
}

/// The kept counts equal the recount, and every person record shows the
/// recount for each of its visitors. Returns how many of the records'
/// visitors showed at least one view.
async fn record_matches_recount(
    tdb: &TestDb,
    db: &Database,
    ctx: &TenantCtx,
    company: &str,
    round: usize,
) -> usize {
    let mut shown = 0;
    let (kept, recount) = kept_and_recount(tdb, company).await;
    assert_eq!(
        kept, recount,
        "round {round}, {company}: kept view counts drifted"
    );
    for p in crate::fixtures::ids(tdb, company, "SELECT id FROM persons ORDER BY id").await {
        let record = db
            .person_record(ctx, p)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"))
            .unwrap_or_else(|| panic!("round {round}: person {p} not found"));
        for v in record.visitors {
            let want = recount
                .iter()
                .find(|c| c.id == v.id)
                .unwrap_or_else(|| panic!("round {round}: {} not in the recount", v.id));
            assert_eq!(
                v.views, want.views,
                "round {round}, {company}: the record's count for visitor {}",
                v.id
            );
            shown += usize::from(v.views > 0);
        }
    }
    // The visitor's own page and the visitors overview read the same
    // kept count.
    for want in &recount {
        let record = db
            .visitor_record(ctx, want.id)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"))
            .unwrap_or_else(|| panic!("round {round}: visitor {} not found", want.id));
        assert_eq!(
            record.views, want.views,
            "round {round}, {company}: visitor {}'s page",
            want.id
        );
    }
    let overview = db
        .visitors_overview(ctx, 30, false)
        .await
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
    for v in overview.consented {
        let want = recount
            .iter()
            .find(|c| c.id == v.id)
            .unwrap_or_else(|| panic!("round {round}: {} not in the recount", v.id));
        assert_eq!(
            v.views, want.views,
            "round {round}, {company}: the overview's count for visitor {}",
            v.id
        );
    }
    shown
}

/// One owner transaction under `company`'s binding.
async fn write(tdb: &TestDb, company: &str, sql: &str) {
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!("BEGIN; SELECT set_config('app.company_id', '{company}', true); {sql} COMMIT;"),
    )
    .await;
}

/// The company's visitor keys (consented or not), read under its binding.
async fn visitor_keys(tdb: &TestDb, company: &str) -> Vec<Uuid> {
    crate::fixtures::ids(
        tdb,
        company,
        "SELECT visitor_key AS id FROM visitors ORDER BY visitor_key",
    )
    .await
}

fn view(site: Uuid, key: Option<Uuid>, days_ago: i64) -> PageView {
    PageView {
        id: Uuid::new_v4(),
        site_id: site,
        visitor_key: key,
        at: Utc::now() - Duration::days(days_ago),
        path: "/".into(),
        referrer_domain: None,
        organisation: None,
        org_source: None,
        ip_key_id: "k1".into(),
        ip_nonce: vec![0; 12],
        ip_ciphertext: vec![0; 28],
    }
}

/// New visitors: most with analytics consent (their views link), some
/// without (their views stay company-level), some linked to a person.
fn new_visitors(company: &str, n: i64) -> String {
    format!(
        "INSERT INTO visitors (company_id, site_id, visitor_key, analytics, identification, person_id)
           SELECT '{company}', '{SITE}', gen_random_uuid(), g % 4 <> 0, g % 2 = 0,
                  CASE WHEN g % 2 = 0 THEN (SELECT id FROM persons ORDER BY random() + g LIMIT 1) END
           FROM generate_series(1, {n}) g;"
    )
}

#[tokio::test]
async fn visitor_view_counts_match_a_full_recount_after_random_writes() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    for c in [A, B, C] {
        write(
            &tdb,
            c,
            &format!(
                "INSERT INTO sites (company_id, id, domain, site_key)
                     VALUES ('{c}', '{SITE}', 'example.nl', 'pk_{c}_views');
                 INSERT INTO persons (company_id, name, email)
                   SELECT '{c}', 'Person ' || g, 'p' || g || '@example.nl' FROM generate_series(1, 3) g;
                 {}",
                new_visitors(c, 6)
            ),
        )
        .await;
    }
    let db = tdb.database();
    let site = Uuid::parse_str(SITE).unwrap_or_else(|e| panic!("{e}"));
    let mut ctxs = Vec::new();
    for (n, c) in [A, B, C].into_iter().enumerate() {
        ctxs.push(member_ctx(&tdb, &db, c, 90 + n as u128, "owner").await);
    }
    let mut rng = rand::rng();
    let mut shown = 0;
    for round in 0..80 {
        let which = rng.random_range(0..3);
        let company = [A, B, C][which];
        match rng.random_range(0..10) {
            // An ingest batch: several views per visitor in one
            // statement, unknown keys and company-level views among them,
            // a quarter old enough for the retention sweep (13 months).
            0..=3 => {
                let keys = visitor_keys(&tdb, company).await;
                let batch: Vec<PageView> = (0..rng.random_range(1..12))
                    .map(|_| {
                        let key = match rng.random_range(0..5) {
                            0 => None,
                            1 => Some(Uuid::new_v4()),
                            _ => keys.get(rng.random_range(0..keys.len().max(1))).copied(),
                        };
                        let days = if rng.random_range(0..4) == 0 { 420 } else { 1 };
                        view(site, key, days)
                    })
                    .collect();
                db.record_page_views(&cid(company), &batch)
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
            4 => {
                write(
                    &tdb,
                    company,
                    &new_visitors(company, rng.random_range(1..4)),
                )
                .await
            }
            // A visitor erased through the app (an unlinked one; a linked
            // one goes with its contact's erasure, below): its page views
            // go in the same transaction as the visitor row.
            5 => {
                let unlinked = crate::fixtures::ids(
                    &tdb,
                    company,
                    "SELECT id FROM visitors WHERE person_id IS NULL ORDER BY id",
                )
                .await;
                if let Some(v) = unlinked.get(rng.random_range(0..unlinked.len().max(1))) {
                    db.erase_visitor(
                        &ctxs[which],
                        *v,
                        &crate::erasure::request("subject_request", None),
                        "req",
                    )
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
                }
            }
            // A contact erased through the app, with its visitors and
            // their page views; a new contact keeps the pool.
            6 => {
                let people =
                    crate::fixtures::ids(&tdb, company, "SELECT id FROM persons ORDER BY id").await;
                if let Some(p) = people.get(rng.random_range(0..people.len().max(1))) {
                    db.erase_person(
                        &ctxs[which],
                        *p,
                        &crate::erasure::request("subject_request", None),
                        "req",
                    )
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
                }
                write(
                    &tdb,
                    company,
                    &format!(
                        "INSERT INTO persons (company_id, name, email)
                           VALUES ('{company}', 'New {round}', 'n{round}@example.nl');"
                    ),
                )
                .await;
            }
            // The retention sweep through the app (old page views go).
            7 => {
                db.sweep_company(&cid(company))
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
            // Page views deleted by hand, one statement over several
            // visitors.
            8 => {
                write(
                    &tdb,
                    company,
                    "DELETE FROM page_views WHERE id IN
                       (SELECT id FROM page_views ORDER BY random() LIMIT 4);",
                )
                .await
            }
            // A visitor deleted by hand: its page views stay, unlinked
            // by the foreign key (ON DELETE SET NULL).
            _ => {
                write(
                    &tdb,
                    company,
                    "DELETE FROM visitors WHERE id IN
                       (SELECT id FROM visitors ORDER BY random() LIMIT 1);",
                )
                .await
            }
        }
        shown += record_matches_recount(&tdb, &db, &ctxs[which], company, round).await;
    }
    for (which, company) in [A, B, C].into_iter().enumerate() {
        shown += record_matches_recount(&tdb, &db, &ctxs[which], company, 80).await;
    }
    // The records did show counted views along the way (not only zeros).
    assert!(shown > 0, "no record ever showed a visitor's views");
}

#[tokio::test]
async fn visitor_view_counts_stay_in_their_workspace() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    for c in [A, B] {
        write(
            &tdb,
            c,
            &format!(
                "INSERT INTO sites (company_id, id, domain, site_key)
                     VALUES ('{c}', '{SITE}', 'example.nl', 'pk_{c}_views2');
                 INSERT INTO visitors (company_id, site_id, visitor_key, analytics)
                     VALUES ('{c}', '{SITE}', gen_random_uuid(), true);"
            ),
        )
        .await;
    }
    let (b_visitors, _) = kept_and_recount(&tdb, B).await;
    let b_visitor = <[Views]>::first(&b_visitors)
        .map(|v| v.id)
        .unwrap_or_else(|| panic!("B has a visitor"));
    let b_key = <[Uuid]>::first(&visitor_keys(&tdb, B).await)
        .copied()
        .unwrap_or_else(|| panic!("B has a visitor key"));
    let db = tdb.database();
    let site = Uuid::parse_str(SITE).unwrap_or_else(|e| panic!("{e}"));
    // A's ingest with B's visitor key links nothing (the join is inside
    // A), so B's count cannot move.
    db.record_page_views(&cid(A), &[view(site, Some(b_key), 1)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut app = tdb.connect_as("metiva_app").await;
    // Bound to A, a page view linked to B's visitor is refused (the
    // composite foreign key finds no such visitor in A).
    let r = try_exec(
        &mut app,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO page_views (company_id, id, site_id, visitor_id, path, ip_key_id, ip_nonce, ip_ciphertext)
               VALUES ('{A}', gen_random_uuid(), '{SITE}', '{b_visitor}', '/', 'k1',
                       '\\x000000000000000000000000', '\\x00000000000000000000000000000000000000000000');
             COMMIT;"
        ),
    )
    .await;
    assert!(
        r.is_err(),
        "a page view linked to another company's visitor"
    );
    // The app role cannot relink a page view (the count's exactness
    // rests on links being written only at insert).
    let r = try_exec(
        &mut app,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{B}', true);
             UPDATE page_views SET visitor_id = NULL;
             COMMIT;"
        ),
    )
    .await;
    assert!(r.is_err(), "the app role relinked a page view");
    // A's own visitor's views count on A's visitor only; a write to B's
    // counts while bound to A changes nothing.
    let (a_visitors, _) = kept_and_recount(&tdb, A).await;
    let a_key = <[Uuid]>::first(&visitor_keys(&tdb, A).await)
        .copied()
        .unwrap_or_else(|| panic!("A has a visitor key"));
    db.record_page_views(
        &cid(A),
        &[view(site, Some(a_key), 1), view(site, Some(a_key), 1)],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    exec(
        &mut app,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             UPDATE visitors SET views_count = 99 WHERE company_id = '{B}';
             COMMIT;"
        ),
    )
    .await;
    for (company, views) in [(A, vec![2]), (B, vec![0])] {
        let (kept, recount) = kept_and_recount(&tdb, company).await;
        assert_eq!(kept, recount, "{company}");
        assert_eq!(
            kept.iter().map(|v| v.views).collect::<Vec<_>>(),
            views,
            "{company}"
        );
    }
    assert_eq!(a_visitors.len(), 1);
    // With no binding, no visitor (nor count) is visible.
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT count(*) AS n FROM visitors")
        .get_result(&mut app)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n.n, 0);
}
