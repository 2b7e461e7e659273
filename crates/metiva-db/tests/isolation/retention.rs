//! Retention: the sweep deletes what outlived its workspace's period (and
//! nothing newer, and nothing of another workspace), in batches of at most
//! 5,000 rows, records the counts, never runs twice at once for one
//! company, and the settings' bounds hold in the domain and the table.

use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use metiva_db::retention::{
    BATCH, RetentionForm, RetentionSettings, SweepCounts, SweepOutcome, Sweeper,
};
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, C, cid, exec, member_ctx, three_companies, try_exec};

const SITE: &str = "00000000-0000-4000-8000-00000000517e";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs `sql` as the owner under `company`'s binding.
async fn as_owner(tdb: &TestDb, company: &str, sql: &str) {
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!("BEGIN; SELECT set_config('app.company_id', '{company}', true); {sql} COMMIT;"),
    )
    .await;
}

/// `SELECT count(*) …` under `company`'s binding, as the app role.
async fn count(db: &metiva_db::Database, company: &str, sql: &str) -> i64 {
    let sql = sql.to_string();
    db.tenant(&cid(company), async |tc| {
        Ok(diesel::sql_query(&sql)
            .get_result::<Count>(tc.conn())
            .await?
            .n)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A site, `old` page views 14 months old and `new` one month old.
async fn page_views(tdb: &TestDb, company: &str, old: i64, new: i64) {
    as_owner(
        tdb,
        company,
        &format!(
            "INSERT INTO sites (company_id, id, domain, site_key)
                 VALUES ('{company}', '{SITE}', 'example.nl', 'pk_{company}_site')
                 ON CONFLICT DO NOTHING;
             INSERT INTO page_views (company_id, id, site_id, at, path, ip_key_id, ip_nonce, ip_ciphertext)
             SELECT '{company}', gen_random_uuid(), '{SITE}',
                    CASE WHEN g <= {old} THEN now() - interval '14 months' ELSE now() - interval '1 month' END,
                    '/p', 'k1', '\\x000000000000000000000000', '\\x0000000000000000000000000000000000000000'
             FROM generate_series(1, {old} + {new}) g;"
        ),
    )
    .await;
}

fn swept(o: SweepOutcome) -> SweepCounts {
    match o {
        SweepOutcome::Swept(c) => c,
        SweepOutcome::Busy => panic!("the sweep found its company busy"),
    }
}

#[tokio::test]
async fn retention_sweep_deletes_old_page_views_in_batches_and_leaves_the_rest() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    page_views(&tdb, A, 12_000, 10).await;
    page_views(&tdb, B, 20, 5).await;
    let db = tdb.database();

    let companies = Sweeper::companies(&db)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(companies, vec![cid(A), cid(B), cid(C)]);

    let counts = swept(
        db.sweep_company(&cid(A))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(counts.page_views, 12_000);
    // 5,000 + 5,000 + 2,000: no transaction deleted more than a batch.
    assert_eq!(BATCH, 5_000);
    assert_eq!(counts.batches, 3, "{counts:?}");
    assert_eq!(
        count(&db, A, "SELECT count(*) AS n FROM page_views").await,
        10
    );
    // Another workspace is untouched until its own sweep.
    assert_eq!(
        count(&db, B, "SELECT count(*) AS n FROM page_views").await,
        25
    );
    // The counts are recorded, and the privacy page reads them back.
    let ctx = member_ctx(&tdb, &db, A, 1, "viewer").await;
    let (settings, last) = db.retention(&ctx).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings, RetentionSettings::default());
    let last = last.unwrap_or_else(|| panic!("no last sweep recorded"));
    assert_eq!(last.counts, counts);
    // B's own sweep sees only B's rows.
    let b = swept(
        db.sweep_company(&cid(B))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!((b.page_views, b.batches), (20, 1));
    assert_eq!(
        count(&db, B, "SELECT count(*) AS n FROM page_views").await,
        5
    );
    assert_eq!(
        count(&db, A, "SELECT count(*) AS n FROM page_views").await,
        10
    );
}

#[tokio::test]
async fn retention_sweep_follows_each_workspaces_settings_within_bounds() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    // Two months old: kept under the default (13 months), gone under 1.
    for c in [A, B] {
        page_views(&tdb, c, 0, 0).await;
        as_owner(
            &tdb,
            c,
            &format!(
                "INSERT INTO page_views (company_id, id, site_id, at, path, ip_key_id, ip_nonce, ip_ciphertext)
                 VALUES ('{c}', gen_random_uuid(), '{SITE}', now() - interval '2 months', '/p', 'k1',
                         '\\x000000000000000000000000', '\\x0000000000000000000000000000000000000000');"
            ),
        )
        .await;
    }
    let owner = member_ctx(&tdb, &db, A, 1, "owner").await;
    let s = RetentionForm {
        page_views_months: "1",
        visitors_months: "13",
        contacts_months: "24",
        audit_months: "12",
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    db.save_retention(&owner, &s, "req-1")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(db.retention(&owner).await.ok().map(|r| r.0), Some(s));
    for c in [A, B] {
        db.sweep_company(&cid(c))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(
        count(&db, A, "SELECT count(*) AS n FROM page_views").await,
        0
    );
    assert_eq!(
        count(&db, B, "SELECT count(*) AS n FROM page_views").await,
        1
    );
    // The change is audited, with no values.
    assert_eq!(
        count(
            &db,
            A,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'privacy.retention_changed' AND reason IS NULL"
        )
        .await,
        1
    );

    // Out of bounds: the form names the field, and the table refuses it
    // even past the domain.
    let bad = RetentionForm {
        page_views_months: "61",
        visitors_months: "13",
        contacts_months: "24",
        audit_months: "11",
    }
    .validate()
    .err()
    .unwrap_or_default();
    let fields: Vec<_> = bad.iter().map(|f| f.field).collect();
    assert_eq!(fields, vec!["page_views_months", "audit_months"]);
    let mut app = tdb.connect_as("metiva_app").await;
    for (col, v) in [
        ("audit_months", 11),
        ("page_views_months", 0),
        ("visitors_months", 61),
        ("contacts_months", 61),
    ] {
        let r = try_exec(
            &mut app,
            &format!(
                "BEGIN; SELECT set_config('app.company_id', '{B}', true);
                 INSERT INTO retention_settings (company_id, {col}) VALUES ('{B}', {v}); COMMIT;"
            ),
        )
        .await;
        assert!(r.is_err(), "{col} = {v} was stored");
    }
}

#[tokio::test]
async fn retention_sweep_removes_stale_contacts_and_visitors_with_nothing_left_to_prove() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    page_views(&tdb, A, 0, 0).await;
    let p = |n: u32| format!("00000000-0000-4000-8000-0000000010{n:02}");
    let v = |n: u32| format!("00000000-0000-4000-8000-0000000020{n:02}");
    let old = "now() - interval '25 months'";
    let hash = "0".repeat(64);
    let decision = |visitor: &str, a: bool, w: bool| {
        format!(
            "INSERT INTO consent_decisions (company_id, site_id, visitor_id, analytics, identification, marketing, withdrawal, banner_version, lang, text_hash)
             VALUES ('{A}', '{SITE}', '{visitor}', {a}, false, false, {w}, '2026-11.1', 'nl', '{hash}');"
        )
    };
    let visitor = |id: &str, a: bool, m: bool, seen: &str| {
        format!(
            "INSERT INTO visitors (company_id, id, site_id, visitor_key, analytics, marketing, first_seen, last_seen)
             VALUES ('{A}', '{id}', '{SITE}', gen_random_uuid(), {a}, {m}, {seen}, {seen});"
        )
    };
    let sql = [
        // Contacts: 1 stale (goes, with its old note), 2 stale with a deal,
        // 3 stale with a recent note, 4 recent.
        format!(
            "INSERT INTO persons (company_id, id, name, created_at, updated_at) VALUES
               ('{A}', '{}', 'Stale', {old}, {old}), ('{A}', '{}', 'Dealt', {old}, {old}),
               ('{A}', '{}', 'Noted', {old}, {old}), ('{A}', '{}', 'Recent', now(), now());
             INSERT INTO notes (company_id, person_id, body, at) VALUES
               ('{A}', '{}', 'old note', {old}), ('{A}', '{}', 'new note', now());
             INSERT INTO deals (company_id, title, person_id) VALUES ('{A}', 'Deal', '{}');",
            p(1),
            p(2),
            p(3),
            p(4),
            p(1),
            p(3),
            p(2)
        ),
        // Visitors: 1 withdrew (goes, with both decisions); 2 withdrew but a
        // page view still links it; 3 consents and was seen last month;
        // 4 consents but was last seen 14 months ago (goes); 5 withdrew
        // but has a forward.
        visitor(&v(1), true, false, "now()"),
        decision(&v(1), true, false),
        decision(&v(1), false, true),
        "UPDATE visitors SET analytics = false WHERE id = '00000000-0000-4000-8000-000000002001';"
            .into(),
        visitor(&v(2), false, false, "now()"),
        decision(&v(2), false, true),
        format!(
            "INSERT INTO page_views (company_id, id, site_id, visitor_id, path, ip_key_id, ip_nonce, ip_ciphertext)
             VALUES ('{A}', gen_random_uuid(), '{SITE}', '{}', '/p', 'k1',
                     '\\x000000000000000000000000', '\\x0000000000000000000000000000000000000000');",
            v(2)
        ),
        visitor(&v(3), true, false, "now() - interval '1 month'"),
        decision(&v(3), true, false),
        visitor(&v(4), true, false, "now() - interval '14 months'"),
        decision(&v(4), true, false),
        visitor(&v(5), false, true, "now()"),
        format!(
            "INSERT INTO forwards (company_id, visitor_id, event) VALUES ('{A}', '{}', 'lead');
             UPDATE visitors SET marketing = false WHERE id = '{}';",
            v(5),
            v(5)
        ),
    ]
    .concat();
    as_owner(&tdb, A, &sql).await;
    let db = tdb.database();
    let counts = swept(
        db.sweep_company(&cid(A))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(
        (counts.contacts, counts.visitors, counts.consent_decisions),
        (1, 2, 3),
        "{counts:?}"
    );
    let left = |table: &str| format!("SELECT count(*) AS n FROM {table}");
    // The fixture's own lead (created now) and persons 2, 3 and 4 stay.
    assert_eq!(count(&db, A, &left("persons")).await, 4);
    assert_eq!(
        count(
            &db,
            A,
            &format!("SELECT count(*) AS n FROM persons WHERE id = '{}'", p(1))
        )
        .await,
        0
    );
    assert_eq!(count(&db, A, &left("notes")).await, 1);
    assert_eq!(
        count(
            &db,
            A,
            "SELECT count(*) AS n FROM visitors WHERE id IN ('00000000-0000-4000-8000-000000002001', '00000000-0000-4000-8000-000000002004')"
        )
        .await,
        0
    );
    assert_eq!(count(&db, A, &left("visitors")).await, 3);
    assert_eq!(count(&db, A, &left("consent_decisions")).await, 2);
    // Other workspaces keep their contacts.
    assert_eq!(count(&db, B, &left("persons")).await, 1);
    // A second sweep finds nothing more.
    let again = swept(
        db.sweep_company(&cid(A))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(again, SweepCounts::default());
}

#[tokio::test]
async fn retention_sweeps_of_one_company_never_work_at_once() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    page_views(&tdb, A, 12_000, 0).await;
    let db = tdb.database();
    // A claim held by a live sweep elsewhere: this one skips the company.
    as_owner(
        &tdb,
        A,
        &format!("INSERT INTO retention_sweeps (company_id) VALUES ('{A}');"),
    )
    .await;
    let r = db
        .sweep_company(&cid(A))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r, SweepOutcome::Busy);
    assert_eq!(
        count(&db, A, "SELECT count(*) AS n FROM page_views").await,
        12_000
    );
    // Another company is not blocked by A's claim.
    assert!(matches!(
        db.sweep_company(&cid(B)).await,
        Ok(SweepOutcome::Swept(_))
    ));
    // A claim whose heartbeat stopped 20 minutes ago is abandoned.
    as_owner(
        &tdb,
        A,
        "UPDATE retention_sweeps SET heartbeat_at = now() - interval '20 minutes' WHERE finished_at IS NULL;",
    )
    .await;
    // Two sweeps at once (two instances): one does the work, the other
    // finds it busy or nothing left; no row is counted twice.
    let other = tdb.database();
    let a = cid(A);
    let (x, y) = tokio::join!(db.sweep_company(&a), other.sweep_company(&a));
    let total: i64 = [x, y]
        .into_iter()
        .map(|r| match r.unwrap_or_else(|e| panic!("{e}")) {
            SweepOutcome::Swept(c) => c.page_views,
            SweepOutcome::Busy => 0,
        })
        .sum();
    assert_eq!(total, 12_000);
    assert_eq!(
        count(&db, A, "SELECT count(*) AS n FROM page_views").await,
        0
    );
    assert_eq!(
        count(
            &db,
            A,
            "SELECT count(*) AS n FROM retention_sweeps WHERE abandoned"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            A,
            "SELECT count(*) AS n FROM retention_sweeps WHERE finished_at IS NULL"
        )
        .await,
        0
    );
}
