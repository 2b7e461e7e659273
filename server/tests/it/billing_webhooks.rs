//! `POST /webhooks/stripe/{endpoint}` through the real dashboard router:
//! the signature matrix (missing, malformed, ±301 s, future, wrong
//! secret, several v1 with one valid, v0 only, one byte changed), unknown
//! endpoints, the body limit, and a replay answered 2xx and processed
//! once.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use metiva_db::CompanyId;
use metiva_db::billing::connection;
use metiva_db::billing::signature::sign;
use metiva_testkit::fake_stripe::{invoice_event, sign_webhook};

use crate::world::{DE_VRIES, Resp, World, call};

const SECRET: &str = "whsec_webhooktest0001";
const STRIPE_INVOICE: &str = "in_fake000042";

/// Connects Stripe for De Vries Media, and gives it one open invoice
/// known at Stripe as [`STRIPE_INVOICE`]. Answers the endpoint id.
async fn connected(w: &World) -> String {
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let keys = w.auth.field_keys.clone();
    let db = w.tdb.database();
    connection::load_key(&db, &keys, &company).await.unwrap();
    let secrets = connection::ConnectForm {
        api_key: "rk_test_webhooktest01",
        webhook_secret: SECRET,
    }
    .validate()
    .unwrap();
    let endpoint = db
        .for_provisioning(&company, async |tc| {
            connection::store(tc, &keys, &secrets, None).await
        })
        .await
        .unwrap();
    w.owner_sql(&format!(
        "SELECT set_config('app.company_id', '{DE_VRIES}', true);
         INSERT INTO organisations (company_id, id, name) VALUES ('{DE_VRIES}', '00000000-0000-4000-8000-0000000000b1', 'Webhook BV');
         INSERT INTO invoices (company_id, id, organisation_id, year, seq, status, issued_on, due_on, subtotal_cents, vat_cents, total_cents)
             VALUES ('{DE_VRIES}', '00000000-0000-4000-8000-0000000000b2', '00000000-0000-4000-8000-0000000000b1', 2026, 1, 'open', '2026-12-01', '2026-12-15', 100, 21, 121);
         INSERT INTO invoice_stripe (company_id, invoice_id, stripe_customer_id, stripe_invoice_id, organisation_id)
             VALUES ('{DE_VRIES}', '00000000-0000-4000-8000-0000000000b2', 'cus_x', '{STRIPE_INVOICE}', '00000000-0000-4000-8000-0000000000b1')"
    ))
    .await;
    endpoint
}

async fn deliver(w: &World, endpoint: &str, header: Option<&str>, body: &[u8]) -> Resp {
    let mut b = Request::post(format!("/webhooks/stripe/{endpoint}"))
        .header("content-type", "application/json");
    if let Some(h) = header {
        b = b.header("stripe-signature", h);
    }
    call(&w.dashboard, b.body(Body::from(body.to_vec())).unwrap()).await
}

async fn status_and_events(w: &World) -> (String, i64) {
    use diesel::QueryableByName;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        status: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        events: i64,
    }
    let r = w
        .tdb
        .database()
        .tenant(&CompanyId::parse(DE_VRIES).unwrap(), async |tc| {
            #[expect(
                clippy::disallowed_methods,
                reason = "a test reads the stored outcome under the tenant binding"
            )]
            Ok(diesel::sql_query(
                "SELECT (SELECT status FROM invoices WHERE seq = 1 AND year = 2026) AS status,
                        (SELECT count(*) FROM stripe_events) AS events",
            )
            .get_result::<Row>(tc.conn())
            .await?)
        })
        .await
        .unwrap();
    (r.status, r.events)
}

#[tokio::test]
async fn the_signature_matrix_refuses_every_bad_delivery_with_400() {
    let w = World::new().await;
    let endpoint = connected(&w).await;
    let body = invoice_event("evt_matrix1", "invoice.paid", STRIPE_INVOICE);
    let now = chrono::Utc::now().timestamp();
    let good = sign(&body, SECRET.as_bytes(), now);
    let mut changed = body.clone();
    let last = changed.len() - 2;
    changed[last] ^= 0x01;
    let cases: Vec<(&str, Option<String>, Vec<u8>)> = vec![
        ("missing header", None, body.clone()),
        ("malformed", Some("garbage".into()), body.clone()),
        (
            "malformed timestamp",
            Some(format!("t=abc,v1={good}")),
            body.clone(),
        ),
        (
            "301 s old",
            Some(sign_webhook(SECRET, &body, now - 301)),
            body.clone(),
        ),
        (
            "an hour in the future",
            Some(sign_webhook(SECRET, &body, now + 3600)),
            body.clone(),
        ),
        (
            "wrong secret",
            Some(sign_webhook("whsec_someoneelse01", &body, now)),
            body.clone(),
        ),
        ("v0 only", Some(format!("t={now},v0={good}")), body.clone()),
        (
            "body changed by one byte",
            Some(format!("t={now},v1={good}")),
            changed,
        ),
    ];
    for (name, header, payload) in cases {
        let r = deliver(&w, &endpoint, header.as_deref(), &payload).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name}: {}", r.body);
    }
    // Just past the tolerance in the future, signed right before delivery:
    // the matrix above takes seconds under load, and a timestamp counts in
    // whole seconds, so 301 s can read as 300 s once the clock has ticked.
    let soon = chrono::Utc::now().timestamp() + 302;
    let header = sign_webhook(SECRET, &body, soon);
    let r = deliver(&w, &endpoint, Some(&header), &body).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "301 s in the future: {}",
        r.body
    );
    assert_eq!(
        status_and_events(&w).await,
        ("open".to_string(), 0),
        "nothing stored"
    );
    // Several v1, one of them valid (a secret being rolled): accepted.
    let several = format!("t={now},v1={},v1={good},v0={good}", "00".repeat(32));
    let r = deliver(&w, &endpoint, Some(&several), &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(status_and_events(&w).await, ("paid".to_string(), 1));
}

#[tokio::test]
async fn a_replay_is_acknowledged_and_processed_once() {
    let w = World::new().await;
    let endpoint = connected(&w).await;
    let now = chrono::Utc::now().timestamp();
    let failed = invoice_event("evt_fail01", "invoice.payment_failed", STRIPE_INVOICE);
    let h = sign_webhook(SECRET, &failed, now);
    let r = deliver(&w, &endpoint, Some(&h), &failed).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(status_and_events(&w).await, ("failed".to_string(), 1));
    let paid = invoice_event("evt_paid01", "invoice.paid", STRIPE_INVOICE);
    let hp = sign_webhook(SECRET, &paid, now);
    assert_eq!(
        deliver(&w, &endpoint, Some(&hp), &paid).await.status,
        StatusCode::OK
    );
    // The failure replayed (same event id): 2xx, no effect (it would
    // otherwise turn the paid invoice back to failed).
    let r = deliver(&w, &endpoint, Some(&h), &failed).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("duplicate"), "{}", r.body);
    assert_eq!(status_and_events(&w).await, ("paid".to_string(), 2));
}

#[tokio::test]
async fn unknown_endpoints_are_404_and_big_bodies_413() {
    let w = World::new().await;
    let endpoint = connected(&w).await;
    let body = invoice_event("evt_x1", "invoice.paid", STRIPE_INVOICE);
    let h = sign_webhook(SECRET, &body, chrono::Utc::now().timestamp());
    for unknown in [
        format!("whe_{}", "0".repeat(32)),
        "whe_short".to_string(),
        "cmp_8fa2c1".to_string(),
    ] {
        let r = deliver(&w, &unknown, Some(&h), &body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{unknown}: {}", r.body);
    }
    let big = vec![b' '; 256 * 1024 + 1];
    let r = deliver(&w, &endpoint, Some(&h), &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    // A suspended workspace's endpoint no longer resolves.
    w.owner_sql(&format!(
        "UPDATE companies SET status = 'suspended' WHERE id = '{DE_VRIES}'"
    ))
    .await;
    let r = deliver(&w, &endpoint, Some(&h), &body).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}
