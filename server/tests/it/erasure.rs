//! Erasing a contact through the real router: 403 without `privacy.erase`,
//! 404 for another workspace's contact or receipt, 422 naming the reason
//! or the note, a plain form that erases and links its receipt, the
//! receipt as JSON and text without personal data, idempotency, and the
//! plain delete refused for a contact with a website trail.

use axum::http::StatusCode;

use crate::crm::{code, plain, script};
use crate::world::{BROUWER, DE_VRIES, World, call, get_with};

const NAME: &str = "Marieke Zwanenburg";
const EMAIL: &str = "marieke.zwanenburg@voorbeeld.nl";

async fn new_contact(w: &World, token: &str, name: &str, email: &str) -> String {
    let r = call(
        &w.dashboard,
        script(
            "/api/save_contact",
            token,
            &[("name", name), ("email", email)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

#[tokio::test]
async fn erasure_needs_the_permission_a_reason_and_leaves_a_receipt() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let id = new_contact(&w, &sales, NAME, EMAIL).await;
    let good = [("id", id.as_str()), ("reason", "subject_request")];

    // The contact page: the erasure form for the owner, the plain delete
    // (and no erasure) for sales.
    let page = call(
        &w.dashboard,
        get_with(&format!("/persons/{id}"), &[("metiva_session", &owner)]),
    )
    .await;
    assert!(page.body.contains("data-testid=\"erase-form\""));
    assert!(!page.body.contains("/api/delete_contact"));
    let page = call(
        &w.dashboard,
        get_with(&format!("/persons/{id}"), &[("metiva_session", &sales)]),
    )
    .await;
    assert!(!page.body.contains("erase-form"));
    assert!(page.body.contains("/api/delete_contact"));

    // Without privacy.erase: 403. Another workspace: 404.
    let r = call(&w.dashboard, script("/api/erase_contact", &sales, &good)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(&w.dashboard, script("/api/erase_contact", &other, &good)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // A missing reason, an overlong note, "other" without a note and a
    // note naming the person: 422 naming the field, nothing erased.
    let long = "x".repeat(201);
    for (form, field) in [
        (vec![("id", id.as_str())], "Reason"),
        (vec![("id", id.as_str()), ("reason", "forgotten")], "Reason"),
        (
            vec![
                ("id", id.as_str()),
                ("reason", "duplicate"),
                ("note", long.as_str()),
            ],
            "Note",
        ),
        (vec![("id", id.as_str()), ("reason", "other")], "Note"),
        (
            vec![
                ("id", id.as_str()),
                ("reason", "other"),
                ("note", "Marieke Zwanenburg belde"),
            ],
            "Note",
        ),
    ] {
        let r = call(&w.dashboard, script("/api/erase_contact", &owner, &form)).await;
        assert_eq!(
            (r.status, code(&r.body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation".into()),
            "{form:?}: {}",
            r.body
        );
        assert!(r.body.contains(field), "{form:?}: {}", r.body);
    }
    let r = call(
        &w.dashboard,
        plain("/api/erase_contact", &owner, &[("id", id.as_str())]),
    )
    .await;
    assert_eq!(
        r.location(),
        format!("/persons/{id}?invalid=reason%3Arequired")
    );

    // The plain form erases and links the receipt.
    let r = call(&w.dashboard, plain("/api/erase_contact", &owner, &good)).await;
    let location = r.location();
    let receipt = location
        .strip_prefix("/persons?done=erased&receipt=")
        .unwrap_or_else(|| panic!("{location}"))
        .to_string();
    let page = call(
        &w.dashboard,
        get_with(&location, &[("metiva_session", &owner)]),
    )
    .await;
    assert!(
        page.body
            .contains(&format!("/erasures/{receipt}/receipt.json")),
        "no receipt link on {location}"
    );
    let page = call(
        &w.dashboard,
        get_with(&format!("/persons/{id}"), &[("metiva_session", &owner)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    // The receipt: JSON and text, no personal data, the audit row names it.
    let json = call(
        &w.dashboard,
        get_with(
            &format!("/erasures/{receipt}/receipt.json"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.body);
    let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert_eq!(v["receipt_id"], receipt.as_str());
    assert_eq!(v["reason"], "subject_request");
    assert_eq!(v["subject_kind"], "person");
    let persons = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "persons")
        .unwrap_or_else(|| panic!("{}", json.body));
    assert_eq!(persons["erased"], 1);
    let text = call(
        &w.dashboard,
        get_with(
            &format!("/erasures/{receipt}/receipt.txt"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert_eq!(text.status, StatusCode::OK);
    assert!(text.body.contains("persons: 1 erased"), "{}", text.body);
    for body in [&json.body, &text.body] {
        let lower = body.to_lowercase();
        assert!(
            !lower.contains("zwanenburg") && !lower.contains("marieke"),
            "{body}"
        );
    }
    let audit = w.audit_rows(DE_VRIES).await;
    assert!(audit.iter().any(|a| a.action == "privacy.erased"
        && a.target_type.as_deref() == Some("erasure_receipt")
        && a.target_id.as_deref() == Some(receipt.as_str())));
    let audit_page = call(
        &w.dashboard,
        get_with("/settings/audit", &[("metiva_session", &owner)]),
    )
    .await;
    assert!(
        audit_page
            .body
            .contains(&format!("/erasures/{receipt}/receipt.json")),
        "the audit row does not link the receipt"
    );

    // Another workspace and a role without either permission: no receipt.
    let r = call(
        &w.dashboard,
        get_with(
            &format!("/erasures/{receipt}/receipt.json"),
            &[("metiva_session", &other)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(
        &w.dashboard,
        get_with(
            &format!("/erasures/{receipt}/receipt.json"),
            &[("metiva_session", &sales)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Erasing again answers the first receipt.
    let r = call(&w.dashboard, script("/api/erase_contact", &owner, &good)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, format!("\"{receipt}\""));
}

#[tokio::test]
async fn erasure_not_the_plain_delete_for_a_contact_with_a_website_trail() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let id = new_contact(&w, &sales, "Bezoeker Met Spoor", "spoor@voorbeeld.nl").await;
    w.owner_sql(&format!(
        "SELECT set_config('app.company_id', '{DE_VRIES}', true);
         INSERT INTO sites (company_id, id, domain, site_key)
             VALUES ('{DE_VRIES}', '00000000-0000-4000-8000-00000000e1a5', 'voorbeeld.nl', 'pk_erasure_trail');
         INSERT INTO visitors (company_id, site_id, visitor_key, analytics, identification, person_id)
             VALUES ('{DE_VRIES}', '00000000-0000-4000-8000-00000000e1a5', gen_random_uuid(), true, true, '{id}')"
    ))
    .await;
    let form = [("id", id.as_str()), ("version", "1")];
    let r = call(&w.dashboard, script("/api/delete_contact", &sales, &form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("erase it instead"), "{}", r.body);
    let r = call(&w.dashboard, plain("/api/delete_contact", &sales, &form)).await;
    assert_eq!(
        r.location(),
        format!("/persons/{id}?invalid=contact%3Acontact.has_trail")
    );
    let page = call(
        &w.dashboard,
        get_with(&r.location(), &[("metiva_session", &sales)]),
    )
    .await;
    assert!(page.body.contains("data-testid=\"error-contact\""));
}
