//! Erasure of one contact: what the transaction removes and keeps, the
//! receipt, a catalog-driven scan of every tenant table for the subject,
//! idempotency, 404 across workspaces and the consent ledger's tombstone
//! (deleting old decisions is the retention sweep's, not tested here).

use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use metiva_db::crm::CrmError;
use metiva_db::erasure::{ErasureForm, ErasureRequest, Receipt};
use metiva_testkit::TestDb;
use uuid::Uuid;

use crate::fixtures::{A, B, exec, member_ctx, three_companies, try_exec};

const NAME: &str = "Marieke Zwanenburg";
const EMAIL: &str = "marieke.zwanenburg@voorbeeld.nl";
const PERSON: Uuid = Uuid::from_u128(0x5e5e_0000_0000_4000_8000_0000_0000_0001);
const VISITOR: Uuid = Uuid::from_u128(0x5e5e_0000_0000_4000_8000_0000_0000_0002);
const VISITOR_KEY: Uuid = Uuid::from_u128(0x5e5e_0000_0000_4000_8000_0000_0000_0003);
const OTHER: Uuid = Uuid::from_u128(0x5e5e_0000_0000_4000_8000_0000_0000_0004);
const NAMED_DEAL: Uuid = Uuid::from_u128(0x5e5e_0000_0000_4000_8000_0000_0000_0005);
const PLAIN_DEAL: Uuid = Uuid::from_u128(0x5e5e_0000_0000_4000_8000_0000_0000_0006);
const SITE: Uuid = Uuid::from_u128(0x5e5e_0000_0000_4000_8000_0000_0000_0007);

/// Workspace A: the subject with a visitor (consent, page views, a
/// forward), a note, a task, two deals (one titled with the surname) and
/// a member's staged import naming the email; another contact with a
/// trail of its own that must survive.
async fn subject_with_a_trail(tdb: &TestDb, uploader: Uuid) {
    let ip = "decode('000000000000000000000000', 'hex'), decode(repeat('ab', 24), 'hex')";
    exec(
        &mut tdb.connect_as("metiva_owner").await,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO sites (company_id, id, domain, site_key) VALUES ('{A}', '{SITE}', 'voorbeeld.nl', 'pk_erasuretest1');
             INSERT INTO persons (company_id, id, name, email, phone, source)
                 VALUES ('{A}', '{PERSON}', '{NAME}', '{EMAIL}', '+31612345678', 'capture'),
                        ('{A}', '{OTHER}', 'Bert Blijft', 'bert@voorbeeld.nl', NULL, 'manual');
             INSERT INTO visitors (company_id, id, site_id, visitor_key, analytics, identification, marketing, person_id)
                 VALUES ('{A}', '{VISITOR}', '{SITE}', '{VISITOR_KEY}', true, true, true, '{PERSON}');
             INSERT INTO visitors (company_id, site_id, visitor_key, analytics, identification, person_id)
                 VALUES ('{A}', '{SITE}', gen_random_uuid(), true, true, '{OTHER}');
             INSERT INTO consent_decisions (company_id, site_id, visitor_id, analytics, identification, marketing, banner_version, lang, text_hash)
                 VALUES ('{A}', '{SITE}', '{VISITOR}', true, true, true, '2026-11.1', 'nl', repeat('a', 64)),
                        ('{A}', '{SITE}', '{VISITOR}', true, true, false, '2026-11.1', 'nl', repeat('b', 64));
             INSERT INTO page_views (company_id, id, site_id, visitor_id, path, ip_key_id, ip_nonce, ip_ciphertext)
                 VALUES ('{A}', gen_random_uuid(), '{SITE}', '{VISITOR}', '/contact', 'k1', {ip}),
                        ('{A}', gen_random_uuid(), '{SITE}', '{VISITOR}', '/prijzen', 'k1', {ip}),
                        ('{A}', gen_random_uuid(), '{SITE}', NULL, '/', 'k1', {ip});
             INSERT INTO forwards (company_id, visitor_id, person_id, event) VALUES ('{A}', '{VISITOR}', '{PERSON}', 'lead');
             INSERT INTO notes (company_id, body, person_id) VALUES ('{A}', 'Belde {NAME} over de offerte', '{PERSON}'),
                                                                    ('{A}', 'Bert belt terug', '{OTHER}');
             INSERT INTO tasks (company_id, title, person_id) VALUES ('{A}', 'Mail {EMAIL}', '{PERSON}');
             INSERT INTO deals (company_id, id, title, person_id) VALUES
                 ('{A}', '{NAMED_DEAL}', 'Zwanenburg webshop', '{PERSON}'),
                 ('{A}', '{PLAIN_DEAL}', 'Onderhoud 2027', '{PERSON}');
             INSERT INTO crm_imports (company_id, user_id, kind, body)
                 VALUES ('{A}', '{uploader}', 'contacts', 'naam;email\r\nM. Z.;{EMAIL}\r\n');
             COMMIT;"
        ),
    )
    .await;
}

pub(crate) fn request(reason: &str, note: Option<&str>) -> ErasureRequest {
    ErasureForm {
        reason: Some(reason),
        note,
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"))
}

#[derive(QueryableByName)]
struct TextColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Every (table, column) of a tenant table (one with company_id) whose
/// type is text-like, json or jsonb (arrays of them too), from the catalog.
async fn text_columns(conn: &mut AsyncPgConnection) -> Vec<TextColumn> {
    diesel::sql_query(
        "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name
           FROM information_schema.columns c
           JOIN information_schema.tables t
             ON t.table_schema = c.table_schema AND t.table_name = c.table_name
          WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
            AND c.udt_name IN ('text', 'varchar', 'bpchar', 'json', 'jsonb', '_text', '_varchar', '_json', '_jsonb')
            AND EXISTS (SELECT 1 FROM information_schema.columns k
                         WHERE k.table_schema = c.table_schema AND k.table_name = c.table_name
                           AND k.column_name = 'company_id')
          ORDER BY 1, 2",
    )
    .load(conn)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Where in workspace A any of `needles` (lower case) still occurs in a
/// text or json column, outside the rows the receipt lists as kept:
/// "table.column" for each hit.
pub(crate) async fn scan(
    conn: &mut AsyncPgConnection,
    needles: &[String],
    receipt: &Receipt,
) -> Vec<String> {
    let columns = text_columns(conn).await;
    assert!(
        columns
            .iter()
            .any(|c| c.table_name == "persons" && c.column_name == "email"),
        "the catalog scan must see persons.email"
    );
    let mut hits = Vec::new();
    for c in &columns {
        // A kept record's own row, and its search terms (whose record_id
        // names it): uuids are unique across tables.
        let kept: Vec<String> = receipt
            .lines
            .iter()
            .filter(|l| l.table == c.table_name || c.table_name == "search_terms")
            .flat_map(|l| l.retained_ids.iter().flatten().map(Uuid::to_string))
            .collect();
        // Identifiers come from the catalog, quoted; values are binds.
        let sql = format!(
            "SELECT count(*) AS n FROM \"{t}\" r
              WHERE r.company_id = '{A}'
                AND EXISTS (SELECT 1 FROM unnest($1::text[]) needle
                             WHERE strpos(lower(r.\"{col}\"::text), needle) > 0)
                AND coalesce(to_jsonb(r) ->> 'id', to_jsonb(r) ->> 'record_id', '') <> ALL($2::text[])",
            t = c.table_name,
            col = c.column_name,
        );
        let found: Count = diesel::sql_query(sql)
            .bind::<Array<Text>, _>(needles)
            .bind::<Array<Text>, _>(&kept)
            .get_result(conn)
            .await
            .unwrap_or_else(|e| panic!("{}.{}: {e}", c.table_name, c.column_name));
        if found.n > 0 {
            hits.push(format!("{}.{}", c.table_name, c.column_name));
        }
    }
    hits
}

/// Rows of `sql` (a count query) in workspace A, as the owner role.
pub(crate) async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    let c: Count = diesel::sql_query(sql)
        .get_result(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    c.n
}

/// The owner role bound to workspace A (FORCE'd RLS applies to it too).
/// Session-level on purpose: a private test connection, never pooled.
pub(crate) async fn owner_in_a(tdb: &TestDb) -> AsyncPgConnection {
    let mut conn = tdb.connect_as("metiva_owner").await;
    exec(
        &mut conn,
        &format!("SELECT set_config('app.company_id', '{A}', false)"),
    )
    .await;
    conn
}

#[tokio::test]
async fn erasure_removes_the_subject_keeps_deals_and_consent_and_leaves_a_receipt() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let admin = member_ctx(&tdb, &db, A, 1, "admin").await;
    let foreign = member_ctx(&tdb, &db, B, 2, "owner").await;
    subject_with_a_trail(&tdb, admin.user_id()).await;
    let mut owner = owner_in_a(&tdb).await;

    // Before: the scan finds the subject (the scan itself works).
    let needles: Vec<String> = [NAME, EMAIL, "zwanenburg"]
        .iter()
        .map(|s| s.to_lowercase())
        .chain([VISITOR.to_string(), VISITOR_KEY.to_string()])
        .collect();
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
    let before = scan(&mut owner, &needles, &nothing_kept).await;
    for expected in [
        "persons.email",
        "persons.name",
        "notes.body",
        "tasks.title",
        "search_terms.term",
        "deals.title",
    ] {
        assert!(
            before.contains(&expected.to_string()),
            "{expected} not in {before:?}"
        );
    }

    // Another workspace cannot erase it: not found, nothing changed.
    let refused = db
        .erase_person(&foreign, PERSON, &request("subject_request", None), "req-b")
        .await;
    assert!(matches!(refused, Err(CrmError::NotFound)), "{refused:?}");
    assert_eq!(
        count(
            &mut owner,
            &format!("SELECT count(*) AS n FROM persons WHERE id = '{PERSON}'")
        )
        .await,
        1
    );

    // A note that names the subject is refused before anything changes.
    let named = db
        .erase_person(
            &admin,
            PERSON,
            &request("other", Some("asked by Marieke Zwanenburg")),
            "req-0",
        )
        .await;
    match named {
        Err(CrmError::Invalid(f)) => assert_eq!((f[0].field, f[0].code), ("note", "note.personal")),
        other => panic!("{other:?}"),
    }

    let erased = db
        .erase_person(&admin, PERSON, &request("subject_request", None), "req-1")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(!erased.already);
    let receipt = db
        .erasure_receipt(&admin, erased.receipt_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no receipt"));
    assert_eq!(
        (
            receipt.actor_user_id,
            receipt.subject_kind.as_str(),
            receipt.reason.as_str()
        ),
        (admin.user_id(), "person", "subject_request")
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
            (
                "crm_imports",
                0,
                1,
                Some("staged_import_expires_within_an_hour")
            ),
            ("deals", 0, 2, Some("business_record")),
            ("forwards", 1, 0, None),
            ("jobs", 0, 0, None),
            ("notes", 1, 0, None),
            ("page_views", 2, 0, None),
            ("persons", 1, 0, None),
            ("search_terms", 6, 0, None),
            ("tasks", 1, 0, None),
            ("visitors", 1, 0, None),
        ]
    );

    // The catalog scan: nothing left but what the receipt lists as kept.
    let after = scan(&mut owner, &needles, &receipt).await;
    assert!(after.is_empty(), "the subject is still in {after:?}");
    // The visitor id is gone from uuid columns too; the ledger's entries
    // carry the tombstone instead.
    for (table, col) in [
        ("visitors", "id"),
        ("consent_decisions", "visitor_id"),
        ("page_views", "visitor_id"),
        ("forwards", "visitor_id"),
    ] {
        let n = count(
            &mut owner,
            &format!("SELECT count(*) AS n FROM {table} WHERE {col} = '{VISITOR}'"),
        )
        .await;
        assert_eq!(n, 0, "{table}.{col}");
    }
    let tombstoned = count(
        &mut owner,
        &format!("SELECT count(*) AS n FROM consent_decisions WHERE erased_subject = '{}' AND visitor_id IS NULL", receipt.tombstone),
    )
    .await;
    assert_eq!(tombstoned, 2);
    assert_ne!(receipt.tombstone, VISITOR);
    assert_ne!(receipt.tombstone, VISITOR_KEY);
    // Deals stay, unlinked; the other contact's trail is untouched.
    assert_eq!(count(&mut owner, "SELECT count(*) AS n FROM deals WHERE person_id IS NULL AND title IN ('Zwanenburg webshop', 'Onderhoud 2027')").await, 2);
    assert_eq!(
        count(
            &mut owner,
            &format!("SELECT count(*) AS n FROM notes WHERE person_id = '{OTHER}'")
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &mut owner,
            &format!("SELECT count(*) AS n FROM visitors WHERE person_id = '{OTHER}'")
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &mut owner,
            "SELECT count(*) AS n FROM page_views WHERE visitor_id IS NULL"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &mut owner,
            "SELECT count(*) AS n FROM search_terms WHERE term = 'bert@voorbeeld.nl'"
        )
        .await,
        1
    );

    // The audit row points at the receipt, with the reason code only.
    let audited = count(
        &mut owner,
        &format!(
            "SELECT count(*) AS n FROM audit_log WHERE action = 'privacy.erased'
               AND target_type = 'erasure_receipt' AND target_id = '{}' AND reason = 'subject_request'",
            erased.receipt_id
        ),
    )
    .await;
    assert_eq!(audited, 1);

    // Again: the first receipt, no second erasure, no second audit row.
    let again = db
        .erase_person(&admin, PERSON, &request("duplicate", None), "req-2")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((again.receipt_id, again.already), (erased.receipt_id, true));
    assert_eq!(
        count(
            &mut owner,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'privacy.erased'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&mut owner, "SELECT count(*) AS n FROM erasure_receipts").await,
        1
    );

    // Another workspace: neither the erased id nor the receipt exists.
    let foreign_again = db
        .erase_person(
            &foreign,
            PERSON,
            &request("subject_request", None),
            "req-b2",
        )
        .await;
    assert!(
        matches!(foreign_again, Err(CrmError::NotFound)),
        "{foreign_again:?}"
    );
    assert!(
        db.erasure_receipt(&foreign, erased.receipt_id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
}

#[tokio::test]
async fn erasure_a_consent_decision_moves_to_a_tombstone_once_and_changes_nothing_else() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let admin = member_ctx(&tdb, &db, A, 1, "owner").await;
    subject_with_a_trail(&tdb, admin.user_id()).await;
    db.erase_person(&admin, PERSON, &request("consent_withdrawn", None), "req-1")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    let mut app = tdb.connect_as("metiva_app").await;
    let bound = format!("BEGIN; SELECT set_config('app.company_id', '{A}', true);");
    for (what, sql) in [
        (
            "a second tombstone",
            "UPDATE consent_decisions SET erased_subject = gen_random_uuid() WHERE erased_subject IS NOT NULL",
        ),
        (
            "relinking",
            "UPDATE consent_decisions SET visitor_id = (SELECT id FROM visitors LIMIT 1), erased_subject = NULL WHERE erased_subject IS NOT NULL",
        ),
        (
            "another column",
            "UPDATE consent_decisions SET text_hash = repeat('c', 64)",
        ),
    ] {
        let r = try_exec(&mut app, &format!("{bound} {sql}; COMMIT;")).await;
        assert!(r.is_err(), "{what} should be refused");
    }
    // Erasure forms: a reason is required, "other" needs a note, a note
    // is short; each failure names its field.
    let fields = |reason: Option<&str>, note: Option<&str>| {
        ErasureForm { reason, note }
            .validate()
            .err()
            .unwrap_or_default()
            .iter()
            .map(|f| (f.field, f.code))
            .collect::<Vec<_>>()
    };
    assert_eq!(fields(None, None), vec![("reason", "required")]);
    assert_eq!(fields(Some("because"), None), vec![("reason", "unknown")]);
    assert_eq!(
        fields(Some("other"), Some("  ")),
        vec![("note", "required")]
    );
    assert_eq!(
        fields(Some("duplicate"), Some(&"x".repeat(201))),
        vec![("note", "too_long")]
    );
    assert!(fields(Some("other"), Some(&"x".repeat(200))).is_empty());
}
