//! The public Trust Center: no sign-in, English and Dutch, facts that
//! follow the running system (a catalog broken on the test database, the
//! encryption key), and the walkthrough form as a plain post.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use diesel_async::SimpleAsyncConnection;
use server::http::trust::{TrustState, trust_router};

use crate::world::{APP_URL, PASSWORD, World, call};

const OPERATOR: &str = metiva_db::seed::OPERATOR_COMPANY;

async fn with_operator(w: &World) {
    let hash = tokio::task::spawn_blocking(|| {
        let pw = metiva_security::password::Password::new(PASSWORD).unwrap();
        metiva_security::password::hash(&pw, 4).unwrap()
    })
    .await
    .unwrap();
    assert!(
        w.owner_db
            .seed_operator(&hash, &[APP_URL.to_string()])
            .await
            .unwrap()
    );
}

fn page(uri: &str, accept_language: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri).header(header::ACCEPT, "text/html");
    if let Some(l) = accept_language {
        b = b.header(header::ACCEPT_LANGUAGE, l);
    }
    b.body(Body::empty()).unwrap()
}

fn walkthrough(fields: &[(&str, &str)], accept: &str) -> Request<Body> {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", server::http::ui::qs(v)))
        .collect();
    Request::post("/trust/walkthrough")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, accept)
        .header(header::ORIGIN, APP_URL)
        .body(Body::from(body.join("&")))
        .unwrap()
}

fn data_handling(present: bool, generated: bool, region: Option<&str>) -> app::DataHandling {
    app::DataHandling {
        encryption_key_id: "k-test".into(),
        encryption_key_present: present,
        keys_generated_locally: generated,
        region: region.map(str::to_string),
        production: false,
    }
}

#[tokio::test]
async fn trust_is_public_in_english_and_dutch_with_live_facts() {
    let w = World::new().await;
    with_operator(&w).await;
    let r = call(&w.dashboard, page("/trust", None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(r#"<html lang="en""#));
    assert!(r.body.contains("Trust and Security Center"));
    // The registry's role count, and the catalog's table count.
    let roles = metiva_roles::REGISTRY.len();
    assert!(
        r.body
            .contains(&format!("{roles} business roles, from one registry")),
        "{}",
        r.body
    );
    let tables = w.tdb.database().lint_catalog().await.unwrap().1;
    assert!(
        r.body.contains(&format!(
            "{tables} tenant tables, every one with row-level security"
        )),
        "{}",
        r.body
    );
    assert!(r.body.contains("203.0.113.77 → 203.0.113.0"));
    assert!(r.body.contains("/s/pk_metiva_trust_center/snippet.js"));
    assert!(r.body.contains(r#"action="/trust/walkthrough""#));
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"));
    // Dutch from Accept-Language; an explicit ?lang= wins and is remembered.
    let nl = call(
        &w.dashboard,
        page("/trust", Some("nl-NL,nl;q=0.9,en;q=0.5")),
    )
    .await;
    assert!(nl.body.contains(r#"<html lang="nl""#));
    assert!(
        nl.body.contains("Compliance door architectuur"),
        "{}",
        nl.body
    );
    assert!(nl.body.contains("bedrijfsrollen, uit één register"));
    assert!(!nl.body.contains("Book a walkthrough"));
    let en = call(&w.dashboard, page("/trust?lang=en", Some("nl"))).await;
    assert!(en.body.contains("Book a walkthrough"));
    assert_eq!(en.set_cookie("metiva_lang").as_deref(), Some("en"));
    // The processing terms: sub-processors and the retention defaults.
    let p = call(&w.dashboard, page("/trust/processing?lang=nl", None)).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("Subverwerkers"));
    assert_eq!(p.body.matches(r#"data-testid="subprocessor""#).count(), 6);
    let pv = metiva_db::retention::PAGE_VIEWS.default;
    assert!(p.body.contains(&format!("{pv} maanden")), "{}", p.body);
}

#[tokio::test]
async fn the_page_follows_the_catalog_and_the_key() {
    let w = World::new().await;
    // One pool for these routers: they share its isolation facts, as the
    // security page and /trust do in the server.
    let db = w.tdb.database();
    let router = |dh| {
        trust_router(TrustState::with(
            db.clone(),
            dh,
            "pk_metiva_trust_center".into(),
            |_| None,
        ))
    };
    let configured = router(data_handling(true, false, Some("eu-central-1")));
    // The dashboard's /trust (60 s cache) reads the catalog once now.
    let before = call(&w.dashboard, page("/trust", None)).await;
    assert!(before.body.contains("every one with row-level security"));
    let r = call(&configured, page("/trust", None)).await;
    assert!(
        r.body.contains("every one with row-level security"),
        "{}",
        r.body
    );
    assert!(r.body.contains("Configured (key id k-test)"));
    assert!(r.body.contains("EU (eu-central-1)"));
    // No operator site on this database: the form is not offered.
    assert!(r.body.contains("walkthrough-unavailable"));

    // Break the isolation lint on this test database.
    let mut su = w.tdb.connect_as("postgres").await;
    su.batch_execute("ALTER TABLE notes NO FORCE ROW LEVEL SECURITY")
        .await
        .unwrap();
    let tables = w.tdb.database().lint_catalog().await.unwrap().1;
    // Within the minute the page still states the facts it last read...
    let r = call(&configured, page("/trust", None)).await;
    assert!(r.body.contains("every one with row-level security"));
    // ...and once they are computed again (as after `metiva migrate`, or
    // when the minute is over) it follows the catalog.
    let facts = db.refresh_isolation_facts().await.unwrap();
    assert_eq!((facts.unforced_tables, facts.isolated()), (1, false));
    let r = call(&configured, page("/trust", None)).await;
    assert!(
        !r.body.contains("every one with row-level security"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(&format!(
            "The isolation check fails on this deployment right now: {} / {tables}",
            tables - 1
        )),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("so we do not claim it holds here right now")
    );
    // A cached reading lasts its minute: the dashboard's own /trust read
    // the catalog before the break and still says what it read then.
    let cached = call(&w.dashboard, page("/trust", None)).await;
    assert!(cached.body.contains("every one with row-level security"));
    // Repaired, the page says so again.
    su.batch_execute("ALTER TABLE notes FORCE ROW LEVEL SECURITY")
        .await
        .unwrap();
    db.refresh_isolation_facts().await.unwrap();
    let r = call(&configured, page("/trust", None)).await;
    assert!(r.body.contains("every one with row-level security"));

    let generated = router(data_handling(true, true, None));
    let r = call(&generated, page("/trust", None)).await;
    assert!(
        r.body.contains("Generated locally for development"),
        "{}",
        r.body
    );
    assert!(r.body.contains("METIVA_REGION is not set"));
    let missing = router(data_handling(false, false, Some("us-east-1")));
    let r = call(&missing, page("/trust", None)).await;
    assert!(
        r.body
            .contains("No encryption key is configured on this deployment.")
    );
    assert!(r.body.contains("us-east-1: not a known EU region"));
}

async fn operator_persons(w: &World) -> Vec<metiva_db::repo::persons::Person> {
    w.owner_db
        .tenant(
            &metiva_db::CompanyId::parse(OPERATOR).unwrap(),
            async |tc| metiva_db::repo::persons::list(tc, 100).await,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn the_walkthrough_form_works_as_a_plain_post_and_keeps_no_visitor_link() {
    let w = World::new().await;
    // Before the operator workspace exists the request is refused, not lost.
    let r = call(
        &w.dashboard,
        walkthrough(
            &[("name", "Eva"), ("email", "eva@agency.example")],
            "application/json",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    with_operator(&w).await;
    let r = call(
        &w.dashboard,
        walkthrough(
            &[
                ("name", "Eva Jansen"),
                ("email", "Eva@Agency.example"),
                ("company", "Jansen Digital"),
                ("message", "Isolation, please.\nAnd consent."),
                ("lang", "nl"),
            ],
            "text/html",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/trust/thanks?lang=nl");
    let thanks = call(&w.dashboard, page(&r.location(), None)).await;
    assert!(
        thanks.body.contains("Rondleiding aangevraagd"),
        "{}",
        thanks.body
    );
    let persons = operator_persons(&w).await;
    assert_eq!(persons.len(), 1);
    assert_eq!(persons[0].email.as_deref(), Some("eva@agency.example"));
    assert_eq!(persons[0].organisation.as_deref(), Some("Jansen Digital"));
    // The plain post makes no visitor link: the contact has no visits.
    let visits = w
        .owner_db
        .tenant(
            &metiva_db::CompanyId::parse(OPERATOR).unwrap(),
            async |tc| metiva_db::repo::persons::get(tc, persons[0].id).await,
        )
        .await
        .unwrap();
    assert_eq!(visits.name, "Eva Jansen");
    // A second request by the same email adds to the contact, never renames it.
    let r = call(
        &w.dashboard,
        walkthrough(
            &[("name", "Someone Else"), ("email", "eva@agency.example")],
            "application/json",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let persons = operator_persons(&w).await;
    assert_eq!(persons.len(), 1);
    assert_eq!(persons[0].name, "Eva Jansen");
}

#[tokio::test]
async fn bad_walkthrough_input_is_a_4xx_naming_each_field() {
    let w = World::new().await;
    with_operator(&w).await;
    let r = call(
        &w.dashboard,
        walkthrough(
            &[("name", ""), ("email", "not-an-email"), ("lang", "nl")],
            "text/html",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Vul je naam in."), "{}", r.body);
    assert!(r.body.contains("Vul een e-mailadres in"));
    assert!(r.body.contains(r#"value="not-an-email""#));
    assert_eq!(r.body.matches(r#"aria-invalid="true""#).count(), 2);
    let long = "x".repeat(2001);
    let r = call(
        &w.dashboard,
        walkthrough(
            &[
                ("name", "Eva"),
                ("email", "eva@a.example"),
                ("message", &long),
            ],
            "application/json",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(v["errors"]["message"].is_string(), "{v}");
    assert!(v["errors"].get("name").is_none());
    // Not a form at all: every field is missing, still a 422, never a 500.
    let r = call(
        &w.dashboard,
        Request::post("/trust/walkthrough")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Another site cannot post it from a visitor's browser.
    let mut req = walkthrough(&[("name", "Eva"), ("email", "eva@a.example")], "text/html");
    req.headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    let r = call(&w.dashboard, req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(operator_persons(&w).await.is_empty());
}

/// Issue 15: the public Trust Center page goes out gzipped to a client
/// that asks (it carries no secret, so BREACH does not apply), and plain
/// to one that does not.
#[tokio::test]
async fn trust_is_gzipped_for_a_client_that_asks() {
    let w = World::new().await;
    with_operator(&w).await;
    let mut req = page("/trust", None);
    req.headers_mut()
        .insert(header::ACCEPT_ENCODING, "gzip".parse().unwrap());
    let r = call(&w.dashboard, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers[header::CONTENT_ENCODING], "gzip");
    // The gzip magic number, not HTML.
    assert!(r.body.starts_with('\u{1f}'), "not gzip: {:.80}", r.body);
    let plain = call(&w.dashboard, page("/trust", None)).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
    assert!(plain.body.contains("Trust and Security Center"));
}
