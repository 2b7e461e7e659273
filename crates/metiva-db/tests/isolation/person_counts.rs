//! The person list's per-contact counts (`persons.deals_count` and
//! `persons.visitors_count`, migration 000060) against a full recount of
//! deals and visitors, after random writes in three workspaces at once:
//! visitors linked by a capture, relinked, unlinked by a withdrawal and
//! deleted; deals linked, relinked, moved and deleted; a contact deleted
//! (its links set NULL by the foreign keys) and a contact erased through
//! the app. The counts are kept by statement triggers in each writer's
//! transaction, so any drift shows here, and so does a person list whose
//! counts disagree with the recount. Their isolation: bound to one
//! company, a writer's links never move another company's counts.
//!
//! The same migration's `organisations.name_key` (the visitors page's
//! CRM name match by index): the page still finds its own workspace's
//! organisation whatever the case, never another workspace's, and the key
//! follows a rename.

use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use metiva_db::ingest::PageView;
use metiva_db::{Database, TenantCtx};
use metiva_testkit::TestDb;
use rand::Rng;
use uuid::Uuid;

use crate::fixtures::{A, B, C, exec, member_ctx, three_companies, try_exec};

const SITE: &str = "00000000-0000-4000-8000-00000005c0c0";

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Counts {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    deals: i64,
    #[diesel(sql_type = BigInt)]
    visitors: i64,
}

/// Every person's kept counts and a recount, in one snapshot.
async fn kept_and_recount(tdb: &TestDb, company: &str) -> (Vec<Counts>, Vec<Counts>) {
    crate::fixtures::kept_and_recount(
        tdb,
        company,
        "SELECT id, deals_count AS deals, visitors_count AS visitors FROM persons ORDER BY id",
        "SELECT p.id,
                (SELECT count(*) FROM deals d WHERE d.person_id = p.id) AS deals,
                (SELECT count(*) FROM visitors v WHERE v.person_id = p.id) AS visitors
         FROM persons p ORDER BY p.id",
    )
    .await
}

async fn list_matches_recount(
    tdb: &TestDb,
    db: &Database,
    ctx: &TenantCtx,
    company: &str,
    round: usize,
) {
    let (kept, recount) = kept_and_recount(tdb, company).await;
    assert_eq!(
        kept, recount,
        "round {round}, {company}: kept counts drifted"
    );
    let page = db
        .person_list(ctx, None, 50)
        .await
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
    assert_eq!(page.len(), recount.len().min(50), "round {round}");
    for row in page {
        let want = recount
            .iter()
            .find(|c| c.id == row.id)
            .unwrap_or_else(|| panic!("round {round}: {} not in the recount", row.id));
        assert_eq!(
            (row.deals, row.visitors),
            (want.deals, want.visitors),
            "round {round}, {company}: the list's counts for {}",
            row.id
        );
    }
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

/// A random person of the company, as SQL (a subquery).
const ANY_PERSON: &str = "(SELECT id FROM persons ORDER BY random() LIMIT 1)";

#[tokio::test]
async fn person_counts_match_a_full_recount_after_random_writes() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    for c in [A, B, C] {
        write(
            &tdb,
            c,
            &format!(
                "INSERT INTO sites (company_id, id, domain, site_key)
                     VALUES ('{c}', '{SITE}', 'example.nl', 'pk_{c}_counts');
                 INSERT INTO persons (company_id, name, email)
                   SELECT '{c}', 'Person ' || g, 'p' || g || '@example.nl' FROM generate_series(1, 6) g;"
            ),
        )
        .await;
    }
    let db = tdb.database();
    let mut ctxs = Vec::new();
    for (n, c) in [A, B, C].into_iter().enumerate() {
        ctxs.push(member_ctx(&tdb, &db, c, 70 + n as u128, "owner").await);
    }
    let mut rng = rand::rng();
    for round in 0..80 {
        let which = rng.random_range(0..3);
        let company = [A, B, C][which];
        let n = rng.random_range(1..6);
        let sql = match rng.random_range(0..11) {
            // Visitors, some captured (linked) at once, one statement.
            0..=1 => format!(
                "INSERT INTO visitors (company_id, site_id, visitor_key, analytics, identification, person_id)
                   SELECT '{company}', '{SITE}', gen_random_uuid(), true, g % 2 = 0,
                          CASE WHEN g % 2 = 0 THEN (SELECT id FROM persons ORDER BY random() + g LIMIT 1) END
                   FROM generate_series(1, {n}) g;"
            ),
            // A capture linking visitors to one person; last_seen bumps
            // (a link kept, nets to zero).
            2 => format!(
                "UPDATE visitors SET identification = true, person_id = {ANY_PERSON}
                  WHERE id IN (SELECT id FROM visitors ORDER BY random() LIMIT {n});
                 UPDATE visitors SET last_seen = now();"
            ),
            // A withdrawal of identification unlinks.
            3 => format!(
                "UPDATE visitors SET identification = false, person_id = NULL
                  WHERE id IN (SELECT id FROM visitors ORDER BY random() LIMIT {n});"
            ),
            4 => format!(
                "DELETE FROM visitors WHERE id IN (SELECT id FROM visitors ORDER BY random() LIMIT {n});"
            ),
            // Deals, some linked, one statement.
            5..=6 => format!(
                "INSERT INTO deals (company_id, title, value_cents, stage, person_id)
                   SELECT '{company}', 'Deal ' || g, 100, 'lead',
                          CASE WHEN g % 3 <> 0 THEN (SELECT id FROM persons ORDER BY random() + g LIMIT 1) END
                   FROM generate_series(1, {n}) g;"
            ),
            // Relinked to one person, or unlinked; a stage move keeps the
            // link.
            7 => format!(
                "UPDATE deals SET person_id = CASE WHEN random() < 0.3 THEN NULL ELSE {ANY_PERSON} END
                  WHERE id IN (SELECT id FROM deals ORDER BY random() LIMIT {n});
                 UPDATE deals SET stage = 'won', version = version + 1
                  WHERE id IN (SELECT id FROM deals ORDER BY random() LIMIT 2);"
            ),
            8 => format!(
                "DELETE FROM deals WHERE id IN (SELECT id FROM deals ORDER BY random() LIMIT {n});"
            ),
            // A contact deleted (links set NULL by the foreign keys) and
            // a new one, so the pool of contacts stays.
            9 => format!(
                "DELETE FROM persons WHERE id = {ANY_PERSON};
                 INSERT INTO persons (company_id, name, email)
                   VALUES ('{company}', 'New {round}', 'n{round}@example.nl');"
            ),
            // A contact erased through the app (deals kept, unlinked).
            _ => {
                let (kept, _) = kept_and_recount(&tdb, company).await;
                if let Some(p) = kept.get(rng.random_range(0..kept.len().max(1))) {
                    db.erase_person(
                        &ctxs[which],
                        p.id,
                        &crate::erasure::request("subject_request", None),
                        "req",
                    )
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
                }
                String::new()
            }
        };
        if !sql.is_empty() {
            write(&tdb, company, &sql).await;
        }
        list_matches_recount(&tdb, &db, &ctxs[which], company, round).await;
    }
    for (which, company) in [A, B, C].into_iter().enumerate() {
        list_matches_recount(&tdb, &db, &ctxs[which], company, 80).await;
    }
}

#[tokio::test]
async fn person_counts_stay_in_their_workspace() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let (b_people, _) = kept_and_recount(&tdb, B).await;
    let b_person = <[Counts]>::first(&b_people)
        .map(|c| c.id)
        .unwrap_or_else(|| panic!("B has a person"));
    let mut app = tdb.connect_as("metiva_app").await;
    // Bound to A, a deal linked to B's person is refused (the composite
    // foreign key finds no such person in A), so B's count cannot move.
    let r = try_exec(
        &mut app,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO deals (company_id, title, value_cents, stage, person_id)
               VALUES ('{A}', 'Cross', 100, 'lead', '{b_person}');
             COMMIT;"
        ),
    )
    .await;
    assert!(r.is_err(), "a deal linked to another company's person");
    // A's own link counts on A's person only.
    exec(
        &mut app,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO deals (company_id, title, value_cents, stage, person_id)
               SELECT '{A}', 'Own', 100, 'lead', id FROM persons;
             UPDATE persons SET deals_count = 99 WHERE company_id = '{B}';
             COMMIT;"
        ),
    )
    .await;
    for (company, deals) in [(A, 1), (B, 0), (C, 0)] {
        let (kept, recount) = kept_and_recount(&tdb, company).await;
        assert_eq!(kept, recount, "{company}");
        assert_eq!(
            kept.iter().map(|c| c.deals).collect::<Vec<_>>(),
            vec![deals],
            "{company}"
        );
    }
    // With no binding, no person (nor count) is visible.
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT count(*) AS n FROM persons")
        .get_result(&mut app)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n.n, 0);
}

fn view_from(site: Uuid, organisation: &str) -> PageView {
    PageView {
        id: Uuid::new_v4(),
        site_id: site,
        visitor_key: None,
        at: chrono::Utc::now(),
        path: "/".into(),
        referrer_domain: None,
        organisation: Some(organisation.into()),
        org_source: Some("asn"),
        ip_key_id: "k1".into(),
        ip_nonce: vec![0; 12],
        ip_ciphertext: vec![0; 28],
    }
}

#[tokio::test]
async fn crm_names_match_by_their_stored_key_inside_the_workspace() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let site = Uuid::parse_str(SITE).unwrap_or_else(|e| panic!("{e}"));
    for c in [A, B] {
        write(
            &tdb,
            c,
            &format!(
                "INSERT INTO sites (company_id, id, domain, site_key)
                     VALUES ('{c}', '{SITE}', 'example.nl', 'pk_{c}_crm');
                 INSERT INTO organisations (company_id, name) VALUES ('{c}', 'ACME bv');"
            ),
        )
        .await;
    }
    let db = tdb.database();
    let ctx = member_ctx(&tdb, &db, A, 80, "owner").await;
    db.record_page_views(&crate::fixtures::cid(A), &[view_from(site, "Acme BV")])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let crm = |page: metiva_db::visitors::VisitorsOverview| -> Vec<String> {
        page.crm_organisations.into_iter().map(|(_, n)| n).collect()
    };
    let page = db
        .visitors_overview(&ctx, 30, true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A's own organisation, found case-insensitively; B's same-named one
    // is not (one row, not two).
    assert_eq!(crm(page), vec!["ACME bv".to_string()]);
    // The key is PostgreSQL's: it follows a rename, and no writer can set it.
    write(
        &tdb,
        A,
        "UPDATE organisations SET name = 'Other BV' WHERE name = 'ACME bv';",
    )
    .await;
    let page = db
        .visitors_overview(&ctx, 30, true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(crm(page).is_empty());
    let mut app = tdb.connect_as("metiva_app").await;
    let r = try_exec(
        &mut app,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             UPDATE organisations SET name_key = 'acme bv';
             COMMIT;"
        ),
    )
    .await;
    assert!(r.is_err(), "a writer set the generated name key");
}
