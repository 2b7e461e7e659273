//! Billing: gapless invoice numbers under concurrent runs, at most one
//! invoice per retainer period (in the run and in the table), the
//! reverse-charge rule in the table, Stripe events stored once, and
//! issuing through the fake Stripe with faults, retries and a crash
//! between "created at Stripe" and "stored locally".

use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Integer};
use diesel_async::RunQueryDsl;
use metiva_db::billing::events::WebhookOutcome;
use metiva_db::billing::invoices::bill_due_retainers;
use metiva_db::billing::issue::{Issued, issue_invoice};
use metiva_db::billing::stripe_client::StripeClient;
use metiva_db::billing::{BillingError, connection};
use metiva_db::{DbError, TenantConn};
use metiva_security::cipher::KeyRing;
use metiva_testkit::TestDb;
use metiva_testkit::fake_stripe::{FakeStripe, Fault, invoice_event, sign_webhook};

use crate::fixtures::{A, B, cid, exec, three_companies, try_exec};

const ORG: &str = "00000000-0000-4000-8000-0000000000a1";
const SECRET: &str = "whsec_testsecret0001";

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = Integer)]
    seq: i32,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{e}"))
}

fn db_err(e: BillingError) -> DbError {
    match e {
        BillingError::Db(d) => d,
        other => DbError::Internal(other.to_string()),
    }
}

/// An organisation and `n` retainers in `company`, as the owner; the
/// first half started in October (two periods due in December), the rest
/// in December (one).
async fn retainers(tdb: &TestDb, company: &str, n: usize) {
    let mut owner = tdb.connect_as("metiva_owner").await;
    let mut sql = format!(
        "BEGIN; SELECT set_config('app.company_id', '{company}', true);
         INSERT INTO organisations (company_id, id, name) VALUES ('{company}', '{ORG}', 'Klant BV');"
    );
    for i in 0..n {
        let start = if i < n / 2 {
            "2026-10-01"
        } else {
            "2026-12-01"
        };
        sql.push_str(&format!(
            "INSERT INTO retainers (company_id, organisation_id, description, monthly_cents, vat_rate, starts_on, billing_day)
             VALUES ('{company}', '{ORG}', 'Retainer {i}', {}, 21, '{start}', 1);",
            100_000 + i
        ));
    }
    sql.push_str("COMMIT;");
    exec(&mut owner, &sql).await;
}

async fn seqs(db: &metiva_db::Database, company: &str) -> Vec<i32> {
    db.tenant(&cid(company), async |tc: &mut TenantConn<'_>| {
        Ok(diesel::sql_query("SELECT seq FROM invoices ORDER BY seq")
            .load::<Seq>(tc.conn())
            .await?
            .into_iter()
            .map(|s| s.seq)
            .collect())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn eight_concurrent_runs_number_gaplessly_and_bill_each_period_once() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    retainers(&tdb, A, 10).await;
    retainers(&tdb, B, 2).await;
    let db = tdb.database();
    let today = day("2026-12-06");
    let runs = (0..8).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            db.tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
                bill_due_retainers(tc, today).await.map_err(db_err)
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .len()
        })
    });
    let created: usize = futures::future::join_all(runs)
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .sum();
    // 5 retainers x (November, December) + 5 x December.
    assert_eq!(created, 15, "all runs together created each period once");
    assert_eq!(
        seqs(&db, A).await,
        (1..=15).collect::<Vec<_>>(),
        "gapless, no duplicates"
    );
    // Another run the same day creates nothing; the other workspace
    // starts its own sequence.
    let again = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            bill_due_retainers(tc, today).await.map_err(db_err)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(again.is_empty());
    db.tenant(&cid(B), async |tc: &mut TenantConn<'_>| {
        bill_due_retainers(tc, today).await.map_err(db_err)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seqs(&db, B).await, [1, 2, 3]);
    // The numbers read 2026-0001 …
    let first = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            Ok(diesel::sql_query("SELECT count(*) AS n FROM invoices WHERE year = 2026 AND seq = 1 AND total_cents = subtotal_cents + vat_cents")
                .get_result::<Count>(tc.conn())
                .await?
                .n)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, 1);
}

#[tokio::test]
async fn a_rolled_back_invoice_gives_its_number_back() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    retainers(&tdb, A, 1).await;
    let db = tdb.database();
    let today = day("2026-12-06");
    let r = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            let made = bill_due_retainers(tc, today).await.map_err(db_err)?;
            assert_eq!(made.len(), 1);
            Err::<(), _>(DbError::Internal("the caller failed after".into()))
        })
        .await;
    assert!(r.is_err());
    assert!(seqs(&db, A).await.is_empty());
    db.tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
        bill_due_retainers(tc, today).await.map_err(db_err)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seqs(&db, A).await, [1]);
}

#[tokio::test]
async fn the_table_refuses_a_second_invoice_for_a_period_and_a_domestic_reverse_charge() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    retainers(&tdb, A, 1).await;
    let db = tdb.database();
    db.tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
        bill_due_retainers(tc, day("2026-12-06"))
            .await
            .map_err(db_err)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut owner = tdb.connect_as("metiva_owner").await;
    let dup = try_exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO invoices (company_id, organisation_id, retainer_id, period, year, seq, issued_on, due_on, subtotal_cents, vat_cents, total_cents)
             SELECT company_id, organisation_id, retainer_id, period, year, 99, issued_on, due_on, 1, 0, 1 FROM invoices;
             COMMIT;"
        ),
    )
    .await;
    let e = dup.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("invoices_retainer_period_key"), "{e}");
    let rc = try_exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO retainers (company_id, organisation_id, description, monthly_cents, vat_rate, reverse_charge, customer_vat, starts_on, billing_day)
             VALUES ('{A}', '{ORG}', 'x', 100, 0, true, 'NL123456789B01', '2026-12-01', 1);
             COMMIT;"
        ),
    )
    .await;
    let e = rc.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("retainers_reverse_charge"), "{e}");
}

fn ring() -> KeyRing {
    let mut k = KeyRing::new();
    k.rotate_in_key("k1", &[3u8; 32]);
    k
}

async fn connect(db: &metiva_db::Database, keys: &KeyRing, company: &str) -> String {
    let secrets = connection::ConnectForm {
        api_key: "rk_test_fakekey0001",
        webhook_secret: SECRET,
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    connection::load_key(db, keys, &cid(company))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.tenant(&cid(company), async |tc: &mut TenantConn<'_>| {
        connection::store(tc, keys, &secrets, None).await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn secrets_are_sealed_per_workspace_and_the_endpoint_resolves_its_company() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let keys = ring();
    let endpoint = connect(&db, &keys, A).await;
    // Reconnecting keeps the endpoint.
    assert_eq!(connect(&db, &keys, A).await, endpoint);
    assert_eq!(
        db.stripe_endpoint_company(&endpoint).await.ok().flatten(),
        Some(cid(A))
    );
    assert_eq!(
        db.stripe_endpoint_company("whe_0000").await.ok().flatten(),
        None
    );
    assert_eq!(
        db.stripe_endpoint_company(&format!("whe_{}", "0".repeat(32)))
            .await
            .ok()
            .flatten(),
        None
    );
    // Not stored in the clear; a copy in another workspace does not open.
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             CREATE TEMP TABLE leak ON COMMIT DROP AS SELECT * FROM stripe_connections;
             SELECT set_config('app.company_id', '{B}', true);
             INSERT INTO stripe_connections SELECT '{B}', 'whe_{}', api_key_hint, api_key_key_id, api_key_nonce, api_key_ciphertext,
                 webhook_secret_key_id, webhook_secret_nonce, webhook_secret_ciphertext, api_version, connected_by, connected_at FROM leak;
             COMMIT;",
            "b".repeat(32)
        ),
    )
    .await;
    connection::load_key(&db, &keys, &cid(B))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let opened = db
        .tenant(&cid(B), async |tc: &mut TenantConn<'_>| {
            connection::secrets(tc, &keys).await
        })
        .await;
    assert!(
        opened.is_err(),
        "a copied ciphertext must not open elsewhere"
    );
    let mine = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            connection::secrets(tc, &keys).await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("connected"));
    assert_eq!(mine.webhook_secret, SECRET);
}

/// Bills one retainer and issues its invoice through `stripe`; answers
/// the local invoice id.
async fn billed(tdb: &TestDb, db: &metiva_db::Database, keys: &KeyRing) -> uuid::Uuid {
    three_companies(tdb).await;
    retainers(tdb, A, 1).await;
    connect(db, keys, A).await;
    let made = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            bill_due_retainers(tc, day("2026-12-06"))
                .await
                .map_err(db_err)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    *<[uuid::Uuid]>::first(&made).unwrap_or_else(|| panic!("one invoice"))
}

async fn issue(
    db: &metiva_db::Database,
    stripe: &StripeClient,
    keys: &KeyRing,
    id: uuid::Uuid,
) -> Result<Issued, String> {
    db.tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
        Ok(issue_invoice(tc, stripe, keys, id)
            .await
            .map_err(|e| e.to_string()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn stripe_down_is_retried_and_never_duplicates() {
    let tdb = TestDb::new().await;
    let db = tdb.database();
    let keys = ring();
    let id = billed(&tdb, &db, &keys).await;
    let fake = FakeStripe::start().await;
    let stripe = StripeClient::new(&fake.base_url(), std::time::Duration::from_millis(500))
        .unwrap_or_else(|e| panic!("{e}"));
    // 500 on the customer, then a 429, then a timeout after the invoice
    // was created (the answer is lost): three failed attempts.
    fake.fail_next(1, Fault::ServerError);
    assert!(issue(&db, &stripe, &keys, id).await.is_err());
    fake.fail_next(
        1,
        Fault::RateLimited {
            retry_after_secs: 7,
        },
    );
    let e = issue(&db, &stripe, &keys, id)
        .await
        .err()
        .unwrap_or_default();
    assert!(e.contains("429"), "{e}");
    let sent = issue(&db, &stripe, &keys, id).await;
    assert!(matches!(sent, Ok(Issued::Sent(_))), "{sent:?}");
    // A later run finds nothing to do.
    assert_eq!(
        issue(&db, &stripe, &keys, id).await,
        Ok(Issued::AlreadyDone)
    );
    assert_eq!(fake.created("customer"), 1);
    assert_eq!(fake.created("invoice"), 1);
    // One net line and one VAT line.
    assert_eq!(fake.created("invoiceitem"), 2);
    let inv = fake.invoices();
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0]["total"], 121_000);
    assert_eq!(inv[0]["number"], "2026-0001");
    assert_eq!(inv[0]["status"], "open");
    assert!(
        fake.api_versions()
            .iter()
            .all(|v| v == connection::STRIPE_API_VERSION)
    );
}

#[tokio::test]
async fn a_crash_after_stripe_created_the_invoice_is_adopted_on_retry() {
    let tdb = TestDb::new().await;
    let db = tdb.database();
    let keys = ring();
    let id = billed(&tdb, &db, &keys).await;
    let fake = FakeStripe::start().await;
    let stripe = StripeClient::new(&fake.base_url(), std::time::Duration::from_millis(500))
        .unwrap_or_else(|e| panic!("{e}"));
    // Everything at Stripe succeeds, then the process dies before its
    // transaction commits: nothing is stored locally.
    let crashed = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            let r = issue_invoice(tc, &stripe, &keys, id).await;
            assert!(matches!(r, Ok(Issued::Sent(_))));
            Err::<(), _>(DbError::Internal("killed before commit".into()))
        })
        .await;
    assert!(crashed.is_err());
    let first = fake.invoices();
    assert_eq!(first.len(), 1);
    // A timeout on the retry's first call too (processed, answer lost).
    fake.fail_next(1, Fault::Timeout(std::time::Duration::from_secs(2)));
    assert!(issue(&db, &stripe, &keys, id).await.is_err());
    let sent = issue(&db, &stripe, &keys, id).await;
    assert_eq!(
        sent,
        Ok(Issued::Sent(
            first[0]["id"].as_str().unwrap_or_default().to_string()
        ))
    );
    assert_eq!(fake.created("invoice"), 1, "adopted, not created again");
    assert_eq!(fake.created("customer"), 1);
    assert_eq!(fake.created("invoiceitem"), 2);
}

#[tokio::test]
async fn a_paid_event_is_stored_once_and_applied_once() {
    let tdb = TestDb::new().await;
    let db = tdb.database();
    let keys = ring();
    let id = billed(&tdb, &db, &keys).await;
    let fake = FakeStripe::start().await;
    let stripe = StripeClient::new(&fake.base_url(), std::time::Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{e}"));
    let Ok(Issued::Sent(stripe_id)) = issue(&db, &stripe, &keys, id).await else {
        panic!("issued");
    };
    let now = chrono::Utc::now().timestamp();
    let body = invoice_event("evt_paid1", "invoice.paid", &stripe_id);
    let header = sign_webhook(SECRET, &body, now);
    let first = db
        .receive_stripe_webhook(&cid(A), &keys, Some(&header), &body, now)
        .await;
    assert_eq!(first.ok(), Some(WebhookOutcome::Stored));
    let replay = db
        .receive_stripe_webhook(&cid(A), &keys, Some(&header), &body, now)
        .await;
    assert_eq!(replay.ok(), Some(WebhookOutcome::Duplicate));
    // A late failure does not reopen a paid invoice.
    let late = invoice_event("evt_fail1", "invoice.payment_failed", &stripe_id);
    let h = sign_webhook(SECRET, &late, now);
    assert_eq!(
        db.receive_stripe_webhook(&cid(A), &keys, Some(&h), &late, now)
            .await
            .ok(),
        Some(WebhookOutcome::Stored)
    );
    let status: Vec<String> = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            #[derive(QueryableByName)]
            struct S {
                #[diesel(sql_type = diesel::sql_types::Text)]
                status: String,
            }
            Ok(diesel::sql_query("SELECT status FROM invoices")
                .load::<S>(tc.conn())
                .await?
                .into_iter()
                .map(|s| s.status)
                .collect())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, ["paid"]);
    // Workspace B's binding cannot see A's events.
    let other = db
        .tenant(&cid(B), async |tc: &mut TenantConn<'_>| {
            Ok(diesel::sql_query("SELECT count(*) AS n FROM stripe_events")
                .get_result::<Count>(tc.conn())
                .await?
                .n)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other, 0);
}
