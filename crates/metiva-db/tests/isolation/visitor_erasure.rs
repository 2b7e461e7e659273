//! Erasure of one website visitor (issue 16): the visitor row, its page
//! views with the sealed IPs, its forwards (the lead events its capture
//! queued) go; its consent decisions stay under the receipt's tombstone;
//! a catalog-driven scan of every tenant table finds neither the visitor's
//! id nor its key afterwards. A visitor linked to a contact is refused
//! (the contact's erasure covers it); a role without `privacy.erase` and
//! another workspace get not found; erasing again answers the first
//! receipt.

use metiva_db::crm::CrmError;
use metiva_db::erasure::Receipt;
use metiva_testkit::TestDb;
use uuid::Uuid;

use crate::erasure::{count, owner_in_a, request, scan};
use crate::fixtures::{A, B, exec, member_ctx, three_companies};

const SITE: Uuid = Uuid::from_u128(0x5e5f_0000_0000_4000_8000_0000_0000_0001);
const VISITOR: Uuid = Uuid::from_u128(0x5e5f_0000_0000_4000_8000_0000_0000_0002);
const VISITOR_KEY: Uuid = Uuid::from_u128(0x5e5f_0000_0000_4000_8000_0000_0000_0003);
const LINKED: Uuid = Uuid::from_u128(0x5e5f_0000_0000_4000_8000_0000_0000_0004);
const OTHER: Uuid = Uuid::from_u128(0x5e5f_0000_0000_4000_8000_0000_0000_0005);
const PERSON: Uuid = Uuid::from_u128(0x5e5f_0000_0000_4000_8000_0000_0000_0006);

/// Workspace A: the visitor (captured once, then it withdrew recognition,
/// so its contact link is gone but the capture's lead forward remains),
/// two consent decisions, two page views with sealed IPs; a visitor linked
/// to a contact; and another visitor whose trail must survive.
async fn visitor_with_a_trail(tdb: &TestDb) {
    let ip = "'k1', decode('000000000000000000000000', 'hex'), decode(repeat('ab', 24), 'hex')";
    exec(
        &mut tdb.connect_as("metiva_owner").await,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO sites (company_id, id, domain, site_key) VALUES ('{A}', '{SITE}', 'bezoek.nl', 'pk_visitorerase1');
             INSERT INTO persons (company_id, id, name, email, source)
                 VALUES ('{A}', '{PERSON}', 'Karel Gekoppeld', 'karel@bezoek.nl', 'capture');
             INSERT INTO visitors (company_id, id, site_id, visitor_key, analytics, identification, marketing, person_id)
                 VALUES ('{A}', '{VISITOR}', '{SITE}', '{VISITOR_KEY}', true, false, true, NULL),
                        ('{A}', '{LINKED}', '{SITE}', gen_random_uuid(), true, true, false, '{PERSON}'),
                        ('{A}', '{OTHER}', '{SITE}', gen_random_uuid(), true, false, false, NULL);
             INSERT INTO consent_decisions (company_id, site_id, visitor_id, analytics, identification, marketing, banner_version, lang, text_hash)
                 VALUES ('{A}', '{SITE}', '{VISITOR}', true, true, true, '2026-11.1', 'nl', repeat('a', 64)),
                        ('{A}', '{SITE}', '{VISITOR}', true, false, true, '2026-11.1', 'nl', repeat('b', 64)),
                        ('{A}', '{SITE}', '{OTHER}', true, false, false, '2026-11.1', 'nl', repeat('c', 64));
             INSERT INTO page_views (company_id, id, site_id, visitor_id, path, ip_key_id, ip_nonce, ip_ciphertext)
                 VALUES ('{A}', gen_random_uuid(), '{SITE}', '{VISITOR}', '/contact', {ip}),
                        ('{A}', gen_random_uuid(), '{SITE}', '{VISITOR}', '/prijzen', {ip}),
                        ('{A}', gen_random_uuid(), '{SITE}', '{OTHER}', '/', {ip});
             INSERT INTO forwards (company_id, visitor_id, person_id, event) VALUES ('{A}', '{VISITOR}', '{PERSON}', 'lead');
             INSERT INTO jobs (company_id, kind, payload, job_key, max_attempts)
                 SELECT '{A}', 'forwards.send', json_build_object('forward', id)::text, 'forward:' || id, 12
                   FROM forwards WHERE visitor_id = '{VISITOR}';
             INSERT INTO jobs (company_id, kind, payload, job_key, max_attempts)
                 VALUES ('{A}', 'forwards.send', '{{}}', 'forward:{OTHER}', 12);
             COMMIT;"
        ),
    )
    .await;
}

#[tokio::test]
async fn visitor_erasure_removes_the_visitors_rows_keeps_consent_and_leaves_a_receipt() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let admin = member_ctx(&tdb, &db, A, 1, "admin").await;
    let sales = member_ctx(&tdb, &db, A, 3, "sales").await;
    let foreign = member_ctx(&tdb, &db, B, 2, "owner").await;
    visitor_with_a_trail(&tdb).await;
    let mut owner = owner_in_a(&tdb).await;
    let needles = vec![VISITOR.to_string(), VISITOR_KEY.to_string()];
    let nothing_kept = Receipt {
        id: Uuid::nil(),
        at: chrono::Utc::now(),
        actor_user_id: Uuid::nil(),
        subject_kind: String::new(),
        reason: String::new(),
        note: None,
        tombstone: Uuid::nil(),
        lines: Vec::new(),
    };
    let uuid_refs = async |conn: &mut diesel_async::AsyncPgConnection| {
        let mut n = 0;
        for (table, col) in [
            ("visitors", "id"),
            ("consent_decisions", "visitor_id"),
            ("page_views", "visitor_id"),
            ("forwards", "visitor_id"),
        ] {
            n += count(
                conn,
                &format!("SELECT count(*) AS n FROM {table} WHERE {col} = '{VISITOR}'"),
            )
            .await;
        }
        n
    };
    assert_eq!(uuid_refs(&mut owner).await, 1 + 2 + 2 + 1);

    // Refused, nothing changed: another workspace, a role without
    // privacy.erase, a visitor linked to a contact, a note naming the
    // visitor.
    let r = db
        .erase_visitor(&foreign, VISITOR, &request("subject_request", None), "r-b")
        .await;
    assert!(matches!(r, Err(CrmError::NotFound)), "{r:?}");
    let r = db
        .erase_visitor(&sales, VISITOR, &request("subject_request", None), "r-s")
        .await;
    assert!(matches!(r, Err(CrmError::NotFound)), "{r:?}");
    match db
        .erase_visitor(&admin, LINKED, &request("duplicate", None), "r-l")
        .await
    {
        Err(CrmError::Invalid(f)) => {
            assert_eq!((f[0].field, f[0].code), ("visitor", "visitor.has_contact"))
        }
        other => panic!("{other:?}"),
    }
    let note = format!("cookie {VISITOR_KEY}");
    match db
        .erase_visitor(&admin, VISITOR, &request("other", Some(&note)), "r-n")
        .await
    {
        Err(CrmError::Invalid(f)) => assert_eq!((f[0].field, f[0].code), ("note", "note.personal")),
        other => panic!("{other:?}"),
    }
    assert_eq!(uuid_refs(&mut owner).await, 6);

    let erased = db
        .erase_visitor(&admin, VISITOR, &request("consent_withdrawn", None), "r-1")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(!erased.already);
    let receipt = db
        .erasure_receipt(&admin, erased.receipt_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no receipt"));
    assert_eq!(
        (receipt.subject_kind.as_str(), receipt.reason.as_str()),
        ("visitor", "consent_withdrawn")
    );
    let counts: Vec<(&str, i64, i64, Option<&str>)> = receipt
        .lines
        .iter()
        .map(|l| (l.table.as_str(), l.erased, l.retained, l.basis.as_deref()))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("consent_decisions", 0, 2, Some("proof_of_consent")),
            ("forwards", 1, 0, None),
            ("jobs", 1, 0, None),
            ("page_views", 2, 0, None),
            ("visitors", 1, 0, None),
        ]
    );
    // The forward's queued send job was cancelled with it; another
    // forward's job still waits.
    let jobs = async |conn: &mut diesel_async::AsyncPgConnection, state: &str| {
        count(
            conn,
            &format!(
                "SELECT count(*) AS n FROM jobs WHERE kind = 'forwards.send' AND state = '{state}'"
            ),
        )
        .await
    };
    assert_eq!(jobs(&mut owner, "discarded").await, 1);
    assert_eq!(jobs(&mut owner, "queued").await, 1);

    // The catalog scan (every text and json column of every tenant table)
    // finds neither the visitor's id nor its key; no uuid column points
    // at it; the ledger carries the tombstone instead.
    let after = scan(&mut owner, &needles, &nothing_kept).await;
    assert!(after.is_empty(), "the visitor is still in {after:?}");
    assert_eq!(uuid_refs(&mut owner).await, 0);
    let key_left = count(
        &mut owner,
        &format!("SELECT count(*) AS n FROM visitors WHERE visitor_key = '{VISITOR_KEY}'"),
    )
    .await;
    assert_eq!(key_left, 0);
    let tombstoned = count(
        &mut owner,
        &format!(
            "SELECT count(*) AS n FROM consent_decisions WHERE erased_subject = '{}' AND visitor_id IS NULL",
            receipt.tombstone
        ),
    )
    .await;
    assert_eq!(tombstoned, 2);

    // The rest of the workspace is untouched: the other visitor's trail,
    // the linked visitor, the contact.
    for (sql, n) in [
        (
            format!("SELECT count(*) AS n FROM page_views WHERE visitor_id = '{OTHER}'"),
            1,
        ),
        (
            format!("SELECT count(*) AS n FROM consent_decisions WHERE visitor_id = '{OTHER}'"),
            1,
        ),
        (
            format!("SELECT count(*) AS n FROM visitors WHERE id IN ('{OTHER}', '{LINKED}')"),
            2,
        ),
        (
            format!("SELECT count(*) AS n FROM persons WHERE id = '{PERSON}'"),
            1,
        ),
    ] {
        assert_eq!(count(&mut owner, &sql).await, n, "{sql}");
    }

    // Audited with the receipt as target and the reason code.
    let audited = count(
        &mut owner,
        &format!(
            "SELECT count(*) AS n FROM audit_log WHERE action = 'privacy.erased'
               AND target_type = 'erasure_receipt' AND target_id = '{}'",
            erased.receipt_id
        ),
    )
    .await;
    assert_eq!(audited, 1);

    // Again: the first receipt, nothing new.
    let again = db
        .erase_visitor(&admin, VISITOR, &request("duplicate", None), "r-2")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((again.receipt_id, again.already), (erased.receipt_id, true));
    assert_eq!(
        count(&mut owner, "SELECT count(*) AS n FROM erasure_receipts").await,
        1
    );
    let r = db
        .erase_visitor(&foreign, VISITOR, &request("subject_request", None), "r-b2")
        .await;
    assert!(matches!(r, Err(CrmError::NotFound)), "{r:?}");
}
