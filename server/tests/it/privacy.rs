//! `/settings/privacy` through the real router: retention periods are set
//! by roles with `security.manage` and read by the rest, bounds are held
//! by the server (422 naming each field), and a saved value is shown.

use axum::http::StatusCode;

use crate::crm::{plain, script};
use crate::world::{BROUWER, DE_VRIES, World, call, get_with};

async fn page(w: &World, token: &str, uri: &str) -> crate::world::Resp {
    call(&w.dashboard, get_with(uri, &[("metiva_session", token)])).await
}

fn form<'a>(page_views: &'a str, audit: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("page_views_months", page_views),
        ("visitors_months", "13"),
        ("contacts_months", "24"),
        ("audit_months", audit),
    ]
}

#[tokio::test]
async fn retention_on_the_privacy_page_is_set_by_security_managers_within_bounds() {
    let w = World::new().await;
    let admin = w.sign_in("admin@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;

    // Everyone reads the defaults; only managers get the form.
    let p = page(&w, &viewer, "/settings/privacy").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("privacy-settings"), "{}", p.body);
    assert!(!p.body.contains("retention-form"), "{}", p.body);
    assert!(p.body.contains("No sweep has run yet."), "{}", p.body);
    assert!(p.body.contains("retention-invoices"), "{}", p.body);
    let p = page(&w, &admin, "/settings/privacy").await;
    assert!(p.body.contains("retention-form"), "{}", p.body);
    assert!(p.body.contains("value=\"13\""), "{}", p.body);

    // The security page says when the sweep last ran.
    let p = page(&w, &viewer, "/settings/security").await;
    assert!(p.body.contains("fact-retention-sweep"), "{}", p.body);
    assert!(p.body.contains("No sweep has run yet."), "{}", p.body);

    // A viewer may not change them.
    let r = call(
        &w.dashboard,
        script("/api/save_retention", &viewer, &form("6", "24")),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Out of bounds: 422 naming each field, for a script and a plain form.
    let r = call(
        &w.dashboard,
        script("/api/save_retention", &admin, &form("61", "11")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("Page views") && r.body.contains("Audit log"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("Visitors without activity"), "{}", r.body);
    let r = call(
        &w.dashboard,
        plain("/api/save_retention", &admin, &form("0", "24")),
    )
    .await;
    assert!(
        r.location().starts_with("/settings/privacy?invalid="),
        "{}",
        r.location()
    );
    let r = call(
        &w.dashboard,
        script("/api/save_retention", &admin, &form("x", "24")),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // Within bounds: saved and shown, in Dutch too; other workspaces keep
    // their defaults.
    let r = call(
        &w.dashboard,
        plain("/api/save_retention", &admin, &form("6", "12")),
    )
    .await;
    assert_eq!(r.location(), "/settings/privacy?done=saved");
    let p = page(&w, &admin, "/settings/privacy").await;
    assert!(p.body.contains("value=\"6\""), "{}", p.body);
    assert!(p.body.contains("value=\"12\""), "{}", p.body);
    let p = page(&w, &viewer, "/settings/privacy?lang=nl").await;
    assert!(p.body.contains("Paginaweergaven"), "{}", p.body);
    assert!(
        p.body.contains("retention-page_views_months\" class=\"flex justify-between gap-3 py-2\"><span>Paginaweergaven</span><span>6<!> <!>maanden</span>"),
        "{}",
        p.body
    );
    let p = page(&w, &other, "/settings/privacy").await;
    assert!(
        p.body.contains("<span>13<!> <!>months</span>"),
        "{}",
        p.body
    );
    assert!(
        !p.body.contains("<span>6<!> <!>months</span>"),
        "{}",
        p.body
    );
}

#[tokio::test]
async fn erasure_is_found_by_email_for_privacy_erase_only_and_only_in_this_workspace() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let search = |email: &str| format!("/settings/privacy?erase_email={email}");

    // Exact match, any case: the contact, linked to its record (where the
    // erasure form is).
    let p = page(&w, &owner, &search("Ruben%40KokFietsen.example")).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("erase-search-found"), "{}", p.body);
    assert!(p.body.contains("Ruben Kok"), "{}", p.body);
    assert!(p.body.contains("href=\"/persons/"), "{}", p.body);
    // No prefix search; another workspace's contact is not found.
    for miss in ["ruben%40kokfietsen", "tim%40bosbouw.example"] {
        let p = page(&w, &owner, &search(miss)).await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(!p.body.contains("erase-search-found"), "{miss}: {}", p.body);
        assert!(
            p.body.contains("erase-search-none") || p.body.contains("erase-search-invalid"),
            "{miss}: {}",
            p.body
        );
    }
    // Without privacy.erase: no panel, nothing found.
    let p = page(&w, &viewer, &search("ruben%40kokfietsen.example")).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(!p.body.contains("erase-email"), "{}", p.body);
    assert!(!p.body.contains("Ruben Kok"), "{}", p.body);
    // Dutch.
    let mut req = get_with(
        &search("ruben%40kokfietsen.example"),
        &[("metiva_session", &owner)],
    );
    req.headers_mut().insert(
        axum::http::header::ACCEPT_LANGUAGE,
        axum::http::HeaderValue::from_static("nl-NL,nl;q=0.9"),
    );
    let p = call(&w.dashboard, req).await;
    assert!(
        p.body.contains("Iemand wissen die u op e-mailadres zoekt"),
        "{}",
        p.body
    );
    assert!(p.body.contains("Ruben Kok"), "{}", p.body);
}
