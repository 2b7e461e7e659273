//! Retention against erasure: when the sweep removes a stale contact, its
//! visitors' consent decisions stay as proof under one random tombstone
//! per contact (the column an erasure fills, never the visitor or person
//! id), its visitors go, their page views stay unlinked; a contact whose
//! visitor has a forward stays with its ledger untouched.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;
use metiva_db::retention::SweepOutcome;
use metiva_testkit::TestDb;

use crate::fixtures::{A, cid, exec, three_companies};

const SITE: &str = "00000000-0000-4000-8000-00000000517f";
const STALE: &str = "00000000-0000-4000-8000-000000003001";
const FORWARDED: &str = "00000000-0000-4000-8000-000000003002";
const V_STALE_1: &str = "00000000-0000-4000-8000-000000004001";
const V_STALE_2: &str = "00000000-0000-4000-8000-000000004002";
const V_FORWARDED: &str = "00000000-0000-4000-8000-000000004003";

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Nullable<Text>)]
    visitor: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    tombstone: Option<String>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test]
async fn a_contact_the_sweep_removes_leaves_its_consent_proof_under_a_tombstone() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let old = "now() - interval '25 months'";
    let hash = "0".repeat(64);
    let decision = |visitor: &str, withdrawal: bool| {
        let grant = !withdrawal;
        format!(
            "INSERT INTO consent_decisions (company_id, site_id, visitor_id, analytics, identification, marketing, withdrawal, banner_version, lang, text_hash, decided_at)
             VALUES ('{A}', '{SITE}', '{visitor}', {grant}, {grant}, false, {withdrawal}, '2026-11.1', 'nl', '{hash}', {old});"
        )
    };
    let visitor = |id: &str, person: &str| {
        format!(
            "INSERT INTO visitors (company_id, id, site_id, visitor_key, analytics, identification, person_id, first_seen, last_seen)
             VALUES ('{A}', '{id}', '{SITE}', gen_random_uuid(), true, true, '{person}', {old}, {old});"
        )
    };
    let sql = [
        format!(
            "INSERT INTO sites (company_id, id, domain, site_key)
                 VALUES ('{A}', '{SITE}', 'tombstone.example', 'pk_tombstone_site');
             INSERT INTO persons (company_id, id, name, email, created_at, updated_at) VALUES
               ('{A}', '{STALE}', 'Henk Stoffels', 'henk@stoffels.example', {old}, {old}),
               ('{A}', '{FORWARDED}', 'Fenna Voorwaarts', 'fenna@voorwaarts.example', {old}, {old});"
        ),
        visitor(V_STALE_1, STALE),
        visitor(V_STALE_2, STALE),
        visitor(V_FORWARDED, FORWARDED),
        decision(V_STALE_1, false),
        decision(V_STALE_1, true),
        decision(V_STALE_2, false),
        decision(V_FORWARDED, false),
        format!(
            "INSERT INTO page_views (company_id, id, site_id, visitor_id, at, path, ip_key_id, ip_nonce, ip_ciphertext)
             VALUES ('{A}', gen_random_uuid(), '{SITE}', '{V_STALE_1}', now() - interval '1 month', '/p', 'k1',
                     '\\x000000000000000000000000', '\\x0000000000000000000000000000000000000000');
             UPDATE visitors SET marketing = true WHERE id = '{V_FORWARDED}';
             INSERT INTO forwards (company_id, visitor_id, event) VALUES ('{A}', '{V_FORWARDED}', 'lead');"
        ),
    ]
    .concat();
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!("BEGIN; SELECT set_config('app.company_id', '{A}', true); {sql} COMMIT;"),
    )
    .await;

    let db = tdb.database();
    let counts = match db.sweep_company(&cid(A)).await {
        Ok(SweepOutcome::Swept(c)) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(counts.contacts, 1, "{counts:?}");
    // Nothing of the ledger was deleted by the sweep.
    assert_eq!(counts.consent_decisions, 0, "{counts:?}");

    let read = async |sql: &str| -> Vec<Row> {
        let sql = sql.to_string();
        db.tenant(&cid(A), async |tc| {
            Ok(diesel::sql_query(&sql).load::<Row>(tc.conn()).await?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let n = async |sql: &str| -> i64 {
        let sql = sql.to_string();
        db.tenant(&cid(A), async |tc| {
            Ok(diesel::sql_query(&sql)
                .get_result::<Count>(tc.conn())
                .await?
                .n)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let ledger = read(
        "SELECT visitor_id::text AS visitor, erased_subject::text AS tombstone
         FROM consent_decisions ORDER BY id",
    )
    .await;
    assert_eq!(ledger.len(), 4, "all four decisions are kept");
    let (tombstoned, linked): (Vec<&Row>, Vec<&Row>) =
        ledger.iter().partition(|r| r.tombstone.is_some());
    assert_eq!(tombstoned.len(), 3);
    assert!(tombstoned.iter().all(|r| r.visitor.is_none()));
    // One tombstone for the contact (both of its visitors), derived from
    // nothing about it.
    // `<[_]>::first`: Diesel's RunQueryDsl::first is in scope here.
    let tomb = <[_]>::first(&tombstoned)
        .and_then(|r| r.tombstone.clone())
        .unwrap_or_default();
    assert!(
        tombstoned
            .iter()
            .all(|r| r.tombstone.as_deref() == Some(&tomb))
    );
    for id in [STALE, V_STALE_1, V_STALE_2, FORWARDED, V_FORWARDED] {
        assert_ne!(tomb, id);
    }
    // The forwarded contact's decision still proves its visitor's consent.
    assert_eq!(linked.len(), 1);
    assert_eq!(
        <[_]>::first(&linked).and_then(|r| r.visitor.as_deref()),
        Some(V_FORWARDED)
    );

    // The stale contact and its visitors are gone; its page view stays,
    // unlinked; the forwarded contact and its visitor stay.
    assert_eq!(
        n(&format!(
            "SELECT count(*) AS n FROM persons WHERE id = '{STALE}'"
        ))
        .await,
        0
    );
    assert_eq!(
        n(&format!(
            "SELECT count(*) AS n FROM persons WHERE id = '{FORWARDED}'"
        ))
        .await,
        1
    );
    assert_eq!(
        n(&format!(
            "SELECT count(*) AS n FROM visitors WHERE id IN ('{V_STALE_1}', '{V_STALE_2}')"
        ))
        .await,
        0
    );
    assert_eq!(
        n(&format!(
            "SELECT count(*) AS n FROM visitors WHERE id = '{V_FORWARDED}'"
        ))
        .await,
        1
    );
    assert_eq!(
        n(&format!(
            "SELECT count(*) AS n FROM page_views WHERE site_id = '{SITE}' AND visitor_id IS NULL"
        ))
        .await,
        1
    );
    // No text column of the ledger names the removed contact.
    assert_eq!(
        n("SELECT count(*) AS n FROM consent_decisions c
           WHERE c::text ILIKE '%stoffels%' OR c::text ILIKE '%henk%'")
        .await,
        0
    );

    // A second sweep changes nothing more, and the tombstone stays.
    let again = match db.sweep_company(&cid(A)).await {
        Ok(SweepOutcome::Swept(c)) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(again.contacts, 0, "{again:?}");
    let after = read(
        "SELECT visitor_id::text AS visitor, erased_subject::text AS tombstone
         FROM consent_decisions WHERE erased_subject IS NOT NULL",
    )
    .await;
    assert_eq!(after.len(), 3);
    assert!(after.iter().all(|r| r.tombstone.as_deref() == Some(&tomb)));
}
