//! The CRM server functions through the real router: permission per role,
//! validation naming each field (422, nothing stored), 404 across
//! workspaces, 409 on a stale version, and plain forms that work without
//! JavaScript.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::world::{BROUWER, DE_VRIES, World, call, get_with, post_form};

pub fn plain(uri: &str, token: &str, form: &[(&str, &str)]) -> Request<Body> {
    let mut req = post_form(uri, &[("metiva_session", token)], form);
    req.headers_mut().insert(
        header::ACCEPT,
        header::HeaderValue::from_static("text/html,application/xhtml+xml"),
    );
    req
}

pub fn script(uri: &str, token: &str, form: &[(&str, &str)]) -> Request<Body> {
    post_form(uri, &[("metiva_session", token)], form)
}

pub fn code(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|j| j["error"]["code"].as_str().map(String::from))
        .unwrap_or_default()
}

const ORG: [(&str, &str); 4] = [
    ("name", "Bloemenhuis Jansen"),
    ("domain", "https://www.bloemenhuis-jansen.example/"),
    ("kvk", "6912 3456"),
    ("vat", "NL823456789B01"),
];

#[tokio::test]
async fn roles_write_or_read_as_the_registry_says() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;

    // The viewer reads but may not write; nothing is stored.
    let r = call(
        &w.dashboard,
        script("/api/save_organisation", &viewer, &ORG),
    )
    .await;
    assert_eq!(
        (r.status, code(&r.body)),
        (StatusCode::FORBIDDEN, "forbidden".into()),
        "{}",
        r.body
    );
    let r = call(&w.dashboard, script("/api/organisations", &viewer, &[])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("Bloemenhuis Jansen"), "{}", r.body);
    assert!(r.body.contains("\"can_write\":false"), "{}", r.body);
    // The list page offers no form to a viewer.
    let page = call(
        &w.dashboard,
        get_with("/organisations", &[("metiva_session", &viewer)]),
    )
    .await;
    assert!(
        !page.body.contains("organisation-form"),
        "a viewer was offered the form"
    );

    // Sales writes: the id comes back and the values are normalised.
    let r = call(&w.dashboard, script("/api/save_organisation", &sales, &ORG)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id: String = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
    let page = call(
        &w.dashboard,
        get_with(
            &format!("/organisations/{id}"),
            &[("metiva_session", &sales)],
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("bloemenhuis-jansen.example"),
        "{}",
        page.body
    );
    assert!(page.body.contains("69123456"), "{}", page.body);
    assert!(
        page.body.contains("organisation-form"),
        "sales should get the edit form"
    );
}

#[tokio::test]
async fn bad_fields_are_named_and_nothing_is_stored() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let bad = [
        ("name", "Kapot BV"),
        ("kvk", "1234"),
        ("vat", "BE0123456789"),
        ("domain", "not a domain"),
    ];
    // A script gets 422 naming each field, in the user's language.
    let r = call(&w.dashboard, script("/api/save_organisation", &sales, &bad)).await;
    assert_eq!(
        (r.status, code(&r.body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation".into()),
        "{}",
        r.body
    );
    for field in ["KvK number", "VAT number", "Website domain"] {
        assert!(r.body.contains(field), "{field} not named: {}", r.body);
    }
    // A plain form comes back to the list with the fields' codes (never
    // what was typed), and the page shows each message beside its field.
    let r = call(&w.dashboard, plain("/api/save_organisation", &sales, &bad)).await;
    assert!(r.status.is_redirection(), "{:?} {}", r.status, r.body);
    let back = r.location();
    assert!(back.starts_with("/organisations?invalid="), "{back}");
    assert!(
        !back.contains("1234") && !back.contains("Kapot"),
        "typed values leaked into the URL: {back}"
    );
    let page = call(&w.dashboard, get_with(&back, &[("metiva_session", &sales)])).await;
    for id in ["error-kvk", "error-vat", "error-domain", "form-refused"] {
        assert!(page.body.contains(id), "{id} missing on the page");
    }
    assert!(
        !page.body.contains("Kapot BV"),
        "the refused organisation was stored"
    );
    // Oversized notes are refused the same way.
    let long = "n".repeat(10_001);
    let r = call(
        &w.dashboard,
        script(
            "/api/save_contact",
            &sales,
            &[("name", "Lang"), ("notes", &long)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Notes"), "{}", r.body);
}

#[tokio::test]
async fn foreign_ids_are_not_found_and_stale_versions_conflict() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let r = call(
        &w.dashboard,
        script(
            "/api/save_contact",
            &sales,
            &[("name", "Anouk Jansen"), ("phone", "06 1234 5678")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id: String = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));

    // Another workspace: 404 for the page, an edit and a delete alike.
    let page = call(
        &w.dashboard,
        get_with(&format!("/persons/{id}"), &[("metiva_session", &other)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let edit = [
        ("id", id.as_str()),
        ("version", "1"),
        ("name", "Overgenomen"),
    ];
    let r = call(&w.dashboard, script("/api/save_contact", &other, &edit)).await;
    assert_eq!(
        (r.status, code(&r.body)),
        (StatusCode::NOT_FOUND, "not_found".into()),
        "{}",
        r.body
    );
    let r = call(
        &w.dashboard,
        script(
            "/api/delete_contact",
            &other,
            &[("id", &id), ("version", "1")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Two edits of version 1: the first wins, the second is a 409, and a
    // plain form is sent back with the reload message.
    let first = [
        ("id", id.as_str()),
        ("version", "1"),
        ("name", "Anouk de Vries"),
        // A form posts every field: the edit keeps the phone it shows.
        ("phone", "+31612345678"),
    ];
    let r = call(&w.dashboard, script("/api/save_contact", &sales, &first)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second = [
        ("id", id.as_str()),
        ("version", "1"),
        ("name", "Anouk Stale"),
    ];
    let r = call(&w.dashboard, script("/api/save_contact", &sales, &second)).await;
    assert_eq!(
        (r.status, code(&r.body)),
        (StatusCode::CONFLICT, "conflict".into()),
        "{}",
        r.body
    );
    let r = call(&w.dashboard, plain("/api/save_contact", &sales, &second)).await;
    assert_eq!(r.location(), format!("/persons/{id}?stale=1"));
    let page = call(
        &w.dashboard,
        get_with(&format!("/persons/{id}"), &[("metiva_session", &sales)]),
    )
    .await;
    assert!(page.body.contains("Anouk de Vries") && !page.body.contains("Anouk Stale"));
    assert!(page.body.contains("+31612345678"), "phone not normalised");

    // A plain delete at the current version goes back to the list, and
    // is audited with ids only.
    let r = call(
        &w.dashboard,
        plain(
            "/api/delete_contact",
            &sales,
            &[("id", &id), ("version", "2")],
        ),
    )
    .await;
    assert_eq!(r.location(), "/persons?done=deleted");
    let audit = w.audit_rows(DE_VRIES).await;
    assert!(
        audit
            .iter()
            .any(|a| a.action == "crm.contact_deleted"
                && a.target_id.as_deref() == Some(id.as_str())),
        "no audit row for the delete"
    );
    let page = call(
        &w.dashboard,
        get_with(&format!("/persons/{id}"), &[("metiva_session", &sales)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deals_move_on_the_board_with_a_reason_for_won_and_lost() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let new = [
        ("title", "Nieuwe website"),
        ("value", "12.500,00"),
        ("expected_close", "2027-03-31"),
    ];
    let r = call(&w.dashboard, script("/api/create_deal", &viewer, &new)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(&w.dashboard, script("/api/create_deal", &sales, &new)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id: String = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));

    // The board shows it in the first stage with its value.
    let board = call(
        &w.dashboard,
        get_with("/deals", &[("metiva_session", &sales)]),
    )
    .await;
    assert_eq!(board.status, StatusCode::OK);
    assert!(board.body.contains("Nieuwe website") && board.body.contains("€ 12.500"));

    // Won without a reason: refused, the field named; a plain form goes
    // back to the board.
    let won = [
        ("id", id.as_str()),
        ("version", "1"),
        ("stage", "won"),
        ("back", "board"),
    ];
    let r = call(&w.dashboard, script("/api/move_deal", &sales, &won)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Reason"), "{}", r.body);
    let r = call(&w.dashboard, plain("/api/move_deal", &sales, &won)).await;
    assert!(
        r.location().starts_with("/deals?invalid=reason"),
        "{}",
        r.location()
    );
    // An outside `back` never redirects elsewhere.
    let evil = [
        ("id", id.as_str()),
        ("version", "1"),
        ("stage", "qualified"),
        ("back", "https://evil.example/"),
    ];
    let r = call(&w.dashboard, plain("/api/move_deal", &sales, &evil)).await;
    assert_eq!(r.location(), "/deals?done=saved");
    // Then won with a reason, from the deal's page.
    let won = [
        ("id", id.as_str()),
        ("version", "2"),
        ("stage", "won"),
        ("reason", "Getekend na de pitch"),
        ("back", "record"),
    ];
    let r = call(&w.dashboard, plain("/api/move_deal", &sales, &won)).await;
    assert_eq!(r.location(), format!("/deals/{id}?done=saved"));
    let page = call(
        &w.dashboard,
        get_with(&format!("/deals/{id}"), &[("metiva_session", &sales)]),
    )
    .await;
    assert_eq!(
        page.body.matches("stage-history-row").count(),
        3,
        "lead, qualified, won"
    );
    assert!(page.body.contains("Getekend na de pitch"));
}

#[tokio::test]
async fn search_finds_records_of_this_workspace_only() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let r = call(&w.dashboard, script("/api/save_organisation", &sales, &ORG)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let page = call(
        &w.dashboard,
        get_with("/search?q=bloemenhuis", &[("metiva_session", &sales)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Bloemenhuis Jansen"),
        "not found by name"
    );
    let page = call(
        &w.dashboard,
        get_with(
            "/search?q=bloemenhuis-jansen.example",
            &[("metiva_session", &sales)],
        ),
    )
    .await;
    assert!(
        page.body.contains("Bloemenhuis Jansen"),
        "not found by domain"
    );
    let page = call(
        &w.dashboard,
        get_with("/search?q=bloemenhuis", &[("metiva_session", &other)]),
    )
    .await;
    assert!(
        !page.body.contains("Bloemenhuis Jansen"),
        "found across workspaces"
    );
    assert!(page.body.contains("search-empty"));
}

#[tokio::test]
async fn a_lead_lands_in_my_tasks_and_records_take_notes() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let r = call(
        &w.dashboard,
        script(
            "/api/save_contact",
            &sales,
            &[("name", "Lead van de website"), ("source", "lead")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id: String = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
    let tasks = call(
        &w.dashboard,
        get_with("/tasks", &[("metiva_session", &sales)]),
    )
    .await;
    assert!(
        tasks.body.contains("First response to the new lead"),
        "no first-response task"
    );
    assert!(tasks.body.contains(&format!("/persons/{id}")));
    // Before any note: the panel says the notes are empty, and each form
    // sits under its own list (the task form before the Notes heading).
    let page = call(
        &w.dashboard,
        get_with(&format!("/persons/{id}"), &[("metiva_session", &sales)]),
    )
    .await;
    assert!(
        page.body.contains("data-testid=\"no-notes\""),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("data-testid=\"no-tasks\""),
        "the lead has a task"
    );
    let at = |needle: &str| {
        page.body
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"))
    };
    assert!(at("data-testid=\"task-form\"") < at("data-testid=\"no-notes\""));
    assert!(at("data-testid=\"no-notes\"") < at("data-testid=\"note-form\""));

    // A note by plain form; the viewer may not add one; oversized refused.
    let r = call(
        &w.dashboard,
        plain(
            "/api/add_note",
            &sales,
            &[
                ("kind", "person"),
                ("id", &id),
                ("body", "Belt maandag terug."),
            ],
        ),
    )
    .await;
    assert_eq!(r.location(), format!("/persons/{id}?done=saved"));
    let r = call(
        &w.dashboard,
        script(
            "/api/add_note",
            &viewer,
            &[("kind", "person"), ("id", &id), ("body", "x")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let long = "n".repeat(10_001);
    let r = call(
        &w.dashboard,
        script(
            "/api/add_note",
            &sales,
            &[("kind", "person"), ("id", &id), ("body", &long)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let page = call(
        &w.dashboard,
        get_with(&format!("/persons/{id}"), &[("metiva_session", &sales)]),
    )
    .await;
    assert!(page.body.contains("Belt maandag terug."));
    assert_eq!(page.body.matches("data-testid=\"note-row\"").count(), 1);
    assert!(!page.body.contains("data-testid=\"no-notes\""));
}

#[tokio::test]
async fn a_visiting_company_becomes_an_organisation_in_one_click() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let page = call(
        &w.dashboard,
        get_with("/visitors", &[("metiva_session", &sales)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    // The first company offered, taken from its form's hidden name.
    let marker = "name=\"name\" value=\"";
    let start = page
        .body
        .find(marker)
        .unwrap_or_else(|| panic!("no visiting company offered: {}", page.body.len()))
        + marker.len();
    let name: String = page.body[start..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    assert!(!name.is_empty());
    // A viewer is not offered the button.
    let seen = call(
        &w.dashboard,
        get_with("/visitors", &[("metiva_session", &viewer)]),
    )
    .await;
    assert!(!seen.body.contains("add-organisation"));
    // One click: the organisation exists, and the visitors page links it.
    let r = call(
        &w.dashboard,
        plain("/api/save_organisation", &sales, &[("name", &name)]),
    )
    .await;
    assert!(
        r.location().starts_with("/organisations/"),
        "{}",
        r.location()
    );
    let org_path = r
        .location()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    let page = call(
        &w.dashboard,
        get_with("/visitors", &[("metiva_session", &sales)]),
    )
    .await;
    assert!(
        page.body.contains(&org_path),
        "the visitors page does not link {org_path}"
    );
}

#[tokio::test]
async fn contacts_export_as_csv_guarded_and_audited() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let r = call(
        &w.dashboard,
        script(
            "/api/save_contact",
            &sales,
            &[("name", "=HYPERLINK(\"x\")")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = call(
        &w.dashboard,
        get_with("/persons.csv", &[("metiva_session", &viewer)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &w.dashboard,
        get_with("/persons.csv", &[("metiva_session", &sales)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .starts_with("name,email,phone,organisation,source,created_at\r\n")
    );
    assert!(
        r.body.contains("\"'=HYPERLINK(\"\"x\"\")\""),
        "formula not neutralised"
    );
    let lines = r.body.lines().count() - 1;
    let audit = w.audit_rows(DE_VRIES).await;
    let row = audit
        .iter()
        .find(|a| a.action == "crm.contacts_exported")
        .unwrap_or_else(|| panic!("the export was not audited"));
    assert_eq!(row.target_id.as_deref(), Some(lines.to_string().as_str()));
}
