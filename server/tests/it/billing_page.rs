//! `/billing` through the real router: finance and owner read and manage,
//! other roles are refused; the retainer form saves (plain form and
//! script) and names each bad field; the Stripe form stores the secrets
//! and the page shows only the key's hint afterwards; Dutch too.

use axum::http::StatusCode;

use crate::crm::{code, plain, script};
use crate::world::{DE_VRIES, World, call, get_with};

async fn page(w: &World, token: &str, uri: &str) -> crate::world::Resp {
    call(&w.dashboard, get_with(uri, &[("metiva_session", token)])).await
}

#[tokio::test]
async fn billing_is_for_finance_and_owner_and_its_forms_save_or_name_bad_fields() {
    let w = World::new().await;
    let finance = w.sign_in("finance@devries.example", DE_VRIES).await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let p = page(&w, &finance, "/billing").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("retainer-form"), "{}", p.body);
    assert!(p.body.contains("stripe-form"), "{}", p.body);
    let p = page(&w, &sales, "/billing").await;
    assert!(!p.body.contains("retainer-form"), "{}", p.body);
    let r = call(&w.dashboard, script("/api/billing_overview", &sales, &[])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // An organisation to bill.
    w.owner_sql(&format!(
        "SELECT set_config('app.company_id', '{DE_VRIES}', true);
         INSERT INTO organisations (company_id, id, name) VALUES ('{DE_VRIES}', '00000000-0000-4000-8000-0000000000c1', 'Retainer Klant BV')"
    ))
    .await;
    let good = [
        ("organisation", "00000000-0000-4000-8000-0000000000c1"),
        ("description", "SEO retainer"),
        ("amount", "1.250,00"),
        ("vat", "21"),
        ("customer_vat", ""),
        ("starts_on", "2026-12-01"),
        ("ends_on", ""),
        ("billing_day", "1"),
    ];
    let r = call(&w.dashboard, script("/api/create_retainer", &sales, &good)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(&w.dashboard, plain("/api/create_retainer", &finance, &good)).await;
    assert!(r.status.is_redirection(), "{} {}", r.status, r.body);
    assert_eq!(r.location(), "/billing?done=saved");
    let p = page(&w, &finance, "/billing").await;
    assert!(
        p.body.contains("Retainer Klant BV") && p.body.contains("€1,250.00"),
        "{}",
        p.body
    );

    // Reverse charge with a Dutch number, a bad amount: 422 naming both.
    let mut bad = good;
    bad[2] = ("amount", "twelve");
    bad[3] = ("vat", "reverse_charge");
    bad[4] = ("customer_vat", "NL123456789B01");
    let r = call(&w.dashboard, script("/api/create_retainer", &finance, &bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("amount") && r.body.contains("customer_vat"),
        "{}",
        r.body
    );
    let r = call(&w.dashboard, plain("/api/create_retainer", &finance, &bad)).await;
    assert!(
        r.location().starts_with("/billing?invalid="),
        "{}",
        r.location()
    );

    // Stripe: a full secret key is refused; a restricted key is stored
    // and never shown again, only its hint.
    let sk = [
        ("api_key", "sk_live_abcdefgh1234"),
        ("webhook_secret", "whsec_abcdefgh1234"),
    ];
    let r = call(&w.dashboard, script("/api/connect_stripe", &finance, &sk)).await;
    assert_eq!(code(&r.body), "validation", "{}", r.body);
    let rk = [
        ("api_key", "rk_test_abcdefgh1234"),
        ("webhook_secret", "whsec_abcdefgh5678"),
    ];
    let r = call(&w.dashboard, plain("/api/connect_stripe", &finance, &rk)).await;
    assert_eq!(r.location(), "/billing?done=connected", "{}", r.body);
    let p = page(&w, &finance, "/billing").await;
    assert!(p.body.contains("rk_test_…1234"), "{}", p.body);
    assert!(
        !p.body.contains("abcdefgh1234") && !p.body.contains("whsec_abcdefgh5678"),
        "secrets never shown"
    );
    assert!(p.body.contains("/webhooks/stripe/whe_"), "{}", p.body);
    // Dutch.
    let p = page(&w, &finance, "/billing?lang=nl").await;
    assert!(
        p.body.contains("Facturatie") && p.body.contains("Gekoppeld met sleutel"),
        "{}",
        p.body
    );
}
