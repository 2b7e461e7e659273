//! `/settings/integrations` through the real router (issue 18): owners
//! connect, test and disconnect providers; the secrets never come back;
//! members without `integrations.manage` are refused; bad input is a 422
//! naming each field (a plain form goes back to the page with the codes);
//! cross-site posts are refused; every change is audited; Dutch renders.

use axum::http::{StatusCode, header};

use crate::crm::{plain, script};
use crate::world::{BROUWER, DE_VRIES, World, call, get_with};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const SID: &str = "AC0123456789abcdef0123456789abcdef";

fn twilio(token: &str) -> Vec<(&str, &str)> {
    vec![
        ("provider", "twilio"),
        ("account_sid", SID),
        ("auth_token", token),
        ("from_number", "+31612345678"),
    ]
}

#[tokio::test]
async fn owners_connect_test_and_disconnect_and_secrets_never_come_back() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let page = async |token: &str, uri: &str| {
        call(&w.dashboard, get_with(uri, &[("metiva_session", token)])).await
    };

    let p = page(&owner, "/settings/integrations").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    for key in ["twilio", "google_ads", "meta", "webhook"] {
        assert!(
            p.body.contains(&format!("integration-{key}")),
            "{key}: {}",
            p.body
        );
    }
    assert!(
        p.body.contains("href=\"/settings/integrations\""),
        "nav link"
    );

    // A member without integrations.manage: no page content, no forms.
    let p = page(&sales, "/settings/integrations").await;
    assert!(!p.body.contains("integration-twilio"), "{}", p.body);
    assert!(!p.body.contains("href=\"/settings/integrations\""));
    let r = call(
        &w.dashboard,
        script("/api/connect_integration", &sales, &twilio(TOKEN)),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Bad input: 422 naming each field, for scripts; a plain form goes
    // back to the page with the codes (never the values).
    let mut bad = twilio("short");
    bad.retain(|(k, _)| *k != "from_number");
    let r = call(
        &w.dashboard,
        script("/api/connect_integration", &owner, &bad),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("auth_token"), "{}", r.body);
    assert!(r.body.contains("from_number"), "{}", r.body);
    assert!(r.body.contains("This field is required."), "{}", r.body);
    let r = call(
        &w.dashboard,
        plain("/api/connect_integration", &owner, &bad),
    )
    .await;
    assert_eq!(
        r.location(),
        "/settings/integrations?invalid=auth_token%3Ainvalid%2Cfrom_number%3Arequired"
    );
    let p = page(
        &owner,
        "/settings/integrations?invalid=auth_token:invalid,from_number:required",
    )
    .await;
    assert!(p.body.contains("integrations-refused"), "{}", p.body);
    assert!(
        p.body.contains("Auth token: This value is not valid."),
        "{}",
        p.body
    );
    let r = call(
        &w.dashboard,
        script(
            "/api/connect_integration",
            &owner,
            &[("provider", "stripe"), ("url", "x")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("Unknown provider."), "{}", r.body);
    let r = call(
        &w.dashboard,
        script(
            "/api/connect_integration",
            &owner,
            &[
                ("provider", "webhook"),
                ("url", "https://169.254.169.254/latest"),
                ("secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body
            .contains("This address is on a private or local network."),
        "{}",
        r.body
    );

    // A cross-site post is refused before anything happens.
    let mut req = plain("/api/connect_integration", &owner, &twilio(TOKEN));
    req.headers_mut().insert(
        "sec-fetch-site",
        header::HeaderValue::from_static("cross-site"),
    );
    let r = call(&w.dashboard, req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Connect: the page shows the hint, never the token.
    let r = call(
        &w.dashboard,
        plain("/api/connect_integration", &owner, &twilio(TOKEN)),
    )
    .await;
    assert_eq!(r.location(), "/settings/integrations?done=connected");
    let p = page(&owner, "/settings/integrations?done=connected").await;
    assert!(p.body.contains("AC…cdef, +31612345678"), "{}", p.body);
    assert!(!p.body.contains(TOKEN), "the token never comes back");
    assert!(!p.body.contains(SID), "nor the full SID");
    assert!(p.body.contains("integrations-done"), "{}", p.body);
    // Another workspace sees nothing of it.
    let p = page(&other, "/settings/integrations").await;
    assert!(!p.body.contains("AC…cdef"), "{}", p.body);
    assert!(!p.body.contains("integration-connected"), "{}", p.body);

    // A webhook destination; "test connection" checks its URL (no
    // network for webhooks).
    let r = call(
        &w.dashboard,
        script(
            "/api/connect_integration",
            &owner,
            &[
                ("provider", "webhook"),
                ("url", "https://hooks.example.nl/in?token=abc"),
                ("secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("https://hooks.example.nl/…"), "{}", r.body);
    let r = call(
        &w.dashboard,
        script("/api/test_integration", &owner, &[("provider", "webhook")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("ok"), "{}", r.body);
    let r = call(
        &w.dashboard,
        plain("/api/test_integration", &owner, &[("provider", "webhook")]),
    )
    .await;
    assert_eq!(
        r.location(),
        "/settings/integrations?done=tested&provider=webhook&result=ok"
    );
    let p = page(&owner, "/settings/integrations").await;
    assert!(
        !p.body.contains("token=abc"),
        "the URL's query is not shown"
    );
    assert!(!p.body.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    // Testing a provider that is not connected: 404.
    let r = call(
        &w.dashboard,
        script("/api/test_integration", &owner, &[("provider", "meta")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Disconnect; a second time is 404.
    let r = call(
        &w.dashboard,
        plain(
            "/api/disconnect_integration",
            &owner,
            &[("provider", "twilio")],
        ),
    )
    .await;
    assert_eq!(r.location(), "/settings/integrations?done=disconnected");
    let r = call(
        &w.dashboard,
        script(
            "/api/disconnect_integration",
            &owner,
            &[("provider", "twilio")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    let p = page(&owner, "/settings/integrations?lang=nl").await;
    assert!(p.body.contains("Koppelingen"), "{}", p.body);
    assert!(p.body.contains("Stroomonderbreker"), "{}", p.body);

    let actions: Vec<String> = w
        .audit_rows(DE_VRIES)
        .await
        .into_iter()
        .map(|a| a.action)
        .filter(|a| a.starts_with("integrations."))
        .collect();
    assert_eq!(
        actions,
        // Newest first.
        [
            "integrations.disconnected",
            "integrations.tested",
            "integrations.tested",
            "integrations.connected",
            "integrations.connected",
        ]
    );
}
