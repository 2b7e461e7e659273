//! The consent-first ingest path, end to end through the real router and a
//! real PostgreSQL: site keys and origins, strict payloads, deny by
//! default, the ledger, capture, forwards, the sealed IP, its audited
//! reveal, and key rotation.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use server::http::dashboard_router_with;
use server::http::guard::DashboardAuth;

use crate::world::{BROUWER, DE_VRIES, ENC, Resp, SEED, World, call, post_form};

const KEY: &str = metiva_db::seed::DEMO_SITE_KEY;
const ORIGIN: &str = "http://127.0.0.1:5173";
const VISITOR: &str = "0b7d2a8e-3f7c-4c5e-9a1d-2b3c4d5e6f70";

fn from(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 40000)
}

fn public_post(path: &str, origin: Option<&str>, ip: &str, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::post(path).header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
    if let Some(o) = origin {
        b = b.header(header::ORIGIN, o);
    }
    let mut req = b.body(body.into()).unwrap();
    req.extensions_mut().insert(ConnectInfo(from(ip)));
    req
}

fn page_view(visitor: Option<&str>) -> String {
    serde_json::json!({"type":"pageview","site":KEY,"path":"/offerte-test?email=x@y.nl","referrer":"www.google.com","visitor":visitor}).to_string()
}

fn decision(visitor: Option<&str>, a: bool, i: bool, m: bool, withdraw: bool) -> String {
    serde_json::json!({
        "type":"consent","site":KEY,
        "purposes":{"analytics":a,"identification":i,"marketing":m},
        "banner_version":"2026-11.1","lang":"nl","visitor":visitor,"withdraw":withdraw
    })
    .to_string()
}

fn capture(visitor: &str, email: &str) -> String {
    serde_json::json!({"site":KEY,"visitor":visitor,"name":"Eva de Wit","email":email,"company":"De Wit BV"}).to_string()
}

async fn collect(router: &axum::Router, body: String) -> Resp {
    call(
        router,
        public_post("/collect", Some(ORIGIN), "198.51.100.77", body),
    )
    .await
}

/// Runs `sql` as the owner inside `company`'s tenant context.
async fn q(w: &World, company: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let (client, conn) = tokio_postgres::connect(&w.tdb.owner_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "BEGIN; SELECT set_config('app.company_id', '{company}', true)"
        ))
        .await
        .unwrap();
    let rows = client.query(sql, &[]).await;
    client.batch_execute("COMMIT").await.unwrap();
    rows.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn count(w: &World, company: &str, sql: &str) -> i64 {
    q(w, company, sql).await[0].get::<_, i64>(0)
}

#[tokio::test]
async fn unknown_keys_are_404_and_foreign_origins_403() {
    let w = World::new().await;
    let d = &w.dashboard;
    let unknown = page_view(None).replace(KEY, "pk_nobody_here_123");
    let r = call(
        d,
        public_post("/collect", Some(ORIGIN), "198.51.100.77", unknown),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    for origin in [
        Some("https://evil.example"),
        Some("http://127.0.0.1"),
        Some("http://127.0.0.1:99999x"),
        None,
    ] {
        let r = call(
            d,
            public_post("/collect", origin, "198.51.100.77", page_view(None)),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{origin:?}: {}", r.body);
    }
    let r = collect(d, page_view(None)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        r.headers.get("access-control-allow-origin").unwrap(),
        ORIGIN
    );
    assert!(r.headers.get("set-cookie").is_none());

    // A disabled site is refused like an unknown one (new router: the
    // cache of the first one still remembers the site for a few seconds).
    q(&w, DE_VRIES, "UPDATE sites SET enabled = false").await;
    let (_, fresh) = w.second_dashboard().await;
    let r = collect(&fresh, page_view(None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(&fresh, crate::get(&format!("/s/{KEY}/snippet.js"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_snippet_is_versioned_and_cacheable() {
    let w = World::new().await;
    let r = call(&w.dashboard, crate::get(&format!("/s/{KEY}/snippet.js"))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        r.body.contains(KEY) && r.body.contains("Alles weigeren") && r.body.contains("Reject all")
    );
    assert!(!r.body.contains("__METIVA_CONFIG__"));
    // Under 15 KB gzip, as served to a client site.
    let gz = {
        use std::io::Write as _;
        let mut child = std::process::Command::new("gzip")
            .arg("-9c")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("gzip");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(r.body.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap().stdout.len()
    };
    assert!(gz < 15 * 1024, "snippet is {gz} bytes gzip");
    assert!(
        r.headers["x-metiva-snippet-version"]
            .to_str()
            .unwrap()
            .contains("banner.2026-11.1")
    );
    let etag = r.headers[header::ETAG].to_str().unwrap().to_string();
    let again = Request::get(format!("/s/{KEY}/snippet.js"))
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let r2 = call(&w.dashboard, again).await;
    assert_eq!(r2.status, StatusCode::NOT_MODIFIED);
    assert!(r2.body.is_empty());
    // Compressed for browsers that accept gzip; HTML pages never are.
    let gz = Request::get(format!("/s/{KEY}/snippet.js"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let r3 = call(&w.dashboard, gz).await;
    assert_eq!(r3.headers[header::CONTENT_ENCODING], "gzip");
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    let mut page = crate::world::get_with("/consent", &[("metiva_session", &token)]);
    page.headers_mut().insert(
        header::ACCEPT_ENCODING,
        header::HeaderValue::from_static("gzip"),
    );
    let r4 = call(&w.dashboard, page).await;
    assert_eq!(r4.status, StatusCode::OK);
    assert!(
        r4.headers.get(header::CONTENT_ENCODING).is_none(),
        "no compression of HTML (BREACH)"
    );
    let bad = call(&w.dashboard, crate::get("/s/..%2f..%2fetc/snippet.js")).await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn malformed_or_oversized_payloads_are_4xx_never_500() {
    let w = World::new().await;
    let d = &w.dashboard;
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "/collect",
            "not json".into(),
            StatusCode::BAD_REQUEST,
            "invalid JSON",
        ),
        (
            "/collect",
            "{}".into(),
            StatusCode::BAD_REQUEST,
            "missing field `type`",
        ),
        (
            "/collect",
            r#"{"type":"pageview","site":"pk_devries_demo_site","path":"/","ip":"1.2.3.4"}"#.into(),
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            "/collect",
            r#"{"type":"pageview","site":"pk_devries_demo_site","path":42}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid type",
        ),
        (
            "/collect",
            "x".repeat(5000),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too large",
        ),
        (
            "/collect",
            "x".repeat(3_000_000),
            StatusCode::PAYLOAD_TOO_LARGE,
            "",
        ),
        (
            "/capture",
            "[]".into(),
            StatusCode::BAD_REQUEST,
            "invalid JSON",
        ),
        (
            "/capture",
            r#"{"site":"pk_devries_demo_site","visitor":"nope","name":"A","email":"a@b.nl"}"#
                .into(),
            StatusCode::BAD_REQUEST,
            "visitor",
        ),
    ];
    for (path, body, want, text) in cases {
        let r = call(
            d,
            public_post(path, Some(ORIGIN), "198.51.100.77", body.clone()),
        )
        .await;
        assert_eq!(r.status, want, "{path} {:.60}: {}", body, r.body);
        assert!(r.body.contains(text), "{:?} lacks {text:?}", r.body);
    }
    assert_eq!(
        count(
            &w,
            DE_VRIES,
            "SELECT count(*) FROM page_views WHERE path = '/offerte-test'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn before_consent_nothing_identifies_the_visitor() {
    let w = World::new().await;
    // A snippet (or a forger) sends an identifier without any consent on
    // record: the view counts, the identifier is not kept.
    let r = collect(&w.dashboard, page_view(Some(VISITOR))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let rows = q(&w, DE_VRIES, "SELECT visitor_id::text, path, referrer_domain, ip_key_id, ip_nonce, ip_ciphertext, organisation FROM page_views WHERE path = '/offerte-test'").await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.get::<_, Option<String>>(0), None);
    assert_eq!(
        row.get::<_, String>(1),
        "/offerte-test",
        "the query string is never stored"
    );
    assert_eq!(row.get::<_, String>(2), "www.google.com");
    assert_eq!(row.get::<_, Vec<u8>>(4).len(), 12);
    // Known network of the demo workspace: 198.51.100.0/24 → Rabobank.
    assert_eq!(row.get::<_, Option<String>>(6).as_deref(), Some("Rabobank"));
    // No raw or truncated address in clear anywhere in the row.
    let ct = row.get::<_, Vec<u8>>(5);
    assert!(!String::from_utf8_lossy(&ct).contains("198.51.100"));
    assert_eq!(
        count(
            &w,
            DE_VRIES,
            &format!("SELECT count(*) FROM visitors WHERE visitor_key = '{VISITOR}'")
        )
        .await,
        0
    );
    // A rejection records proof, with no identifier.
    let r = collect(
        &w.dashboard,
        decision(Some(VISITOR), false, false, false, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        count(
            &w,
            DE_VRIES,
            &format!("SELECT count(*) FROM visitors WHERE visitor_key = '{VISITOR}'")
        )
        .await,
        0
    );
    let ledger = q(
        &w,
        DE_VRIES,
        "SELECT visitor_id::text, analytics FROM consent_decisions ORDER BY id DESC LIMIT 1",
    )
    .await;
    assert_eq!(ledger[0].get::<_, Option<String>>(0), None);
    assert!(!ledger[0].get::<_, bool>(1));
}

#[tokio::test]
async fn a_decision_is_stored_with_its_version_and_text_hash() {
    let w = World::new().await;
    let r = collect(
        &w.dashboard,
        decision(Some(VISITOR), true, false, false, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let rows = q(&w, DE_VRIES, "SELECT banner_version, lang, text_hash, analytics, identification, marketing, withdrawal, visitor_id IS NOT NULL FROM consent_decisions ORDER BY id DESC LIMIT 1").await;
    let r0 = &rows[0];
    let banner = app::consent_text::banner("2026-11.1", "nl").unwrap();
    let want: String =
        metiva_security::secret::sha256(app::consent_text::canonical(banner).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    assert_eq!(r0.get::<_, String>(0), "2026-11.1");
    assert_eq!(r0.get::<_, String>(1), "nl");
    assert_eq!(r0.get::<_, String>(2), want);
    assert!(
        r0.get::<_, bool>(3)
            && !r0.get::<_, bool>(4)
            && !r0.get::<_, bool>(5)
            && !r0.get::<_, bool>(6)
    );
    assert!(r0.get::<_, bool>(7), "a grant links the visitor");
    // Now the identifier is kept on page views.
    collect(&w.dashboard, page_view(Some(VISITOR))).await;
    assert_eq!(
        count(&w, DE_VRIES, &format!("SELECT count(*) FROM page_views p JOIN visitors v ON v.id = p.visitor_id WHERE v.visitor_key = '{VISITOR}'")).await,
        1
    );
    // Withdrawal: recorded as such; later views are company-level again.
    let r = collect(
        &w.dashboard,
        decision(Some(VISITOR), false, false, false, true),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let wd = q(
        &w,
        DE_VRIES,
        "SELECT withdrawal FROM consent_decisions ORDER BY id DESC LIMIT 1",
    )
    .await;
    assert!(wd[0].get::<_, bool>(0));
    collect(&w.dashboard, page_view(Some(VISITOR))).await;
    assert_eq!(
        count(
            &w,
            DE_VRIES,
            "SELECT count(*) FROM page_views WHERE path = '/offerte-test' AND visitor_id IS NULL"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn capture_needs_identification_consent_and_links_the_chain() {
    let w = World::new().await;
    let d = &w.dashboard;
    let persons = || count(&w, DE_VRIES, "SELECT count(*) FROM persons");
    let before = persons().await;
    // No decision at all.
    let r = call(
        d,
        public_post(
            "/capture",
            Some(ORIGIN),
            "198.51.100.77",
            capture(VISITOR, "eva@dewit.example"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // Analytics only: still not enough for a person.
    collect(d, decision(Some(VISITOR), true, false, false, false)).await;
    let r = call(
        d,
        public_post(
            "/capture",
            Some(ORIGIN),
            "198.51.100.77",
            capture(VISITOR, "eva@dewit.example"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(persons().await, before, "nothing personal was stored");
    // Identification and marketing granted: person, link, pending forward.
    collect(d, decision(Some(VISITOR), true, true, true, false)).await;
    let r = call(
        d,
        public_post(
            "/capture",
            Some(ORIGIN),
            "198.51.100.77",
            capture(VISITOR, "Eva@DeWit.example"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(persons().await, before + 1);
    let chain = q(
        &w,
        DE_VRIES,
        &format!(
            "SELECT p.email, f.status FROM visitors v JOIN persons p ON p.id = v.person_id
         JOIN forwards f ON f.visitor_id = v.id WHERE v.visitor_key = '{VISITOR}'"
        ),
    )
    .await;
    assert_eq!(chain.len(), 1);
    assert_eq!(chain[0].get::<_, String>(0), "eva@dewit.example");
    assert_eq!(chain[0].get::<_, String>(1), "pending");
    // A deal for that person is on the same record.
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    let pid: String = q(
        &w,
        DE_VRIES,
        "SELECT id::text FROM persons WHERE email = 'eva@dewit.example'",
    )
    .await[0]
        .get(0);
    q(&w, DE_VRIES, &format!("INSERT INTO deals (company_id, title, person_id) VALUES ('{DE_VRIES}', 'Inbound: website', '{pid}')")).await;
    let page = call(
        d,
        crate::world::get_with(&format!("/persons/{pid}"), &[("metiva_session", &token)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Eva de Wit") && page.body.contains("Inbound: website"));
    assert!(
        page.body.contains("linked-visitor"),
        "the visitor is on the person's record"
    );
    // A second capture links again, does not duplicate, and cannot rename
    // the contact the agency has on record.
    let other = capture(VISITOR, "eva@dewit.example").replace("Eva de Wit", "Mallory");
    let r = call(
        d,
        public_post("/capture", Some(ORIGIN), "198.51.100.77", other),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(persons().await, before + 1);
    let name: String = q(
        &w,
        DE_VRIES,
        "SELECT name FROM persons WHERE email = 'eva@dewit.example'",
    )
    .await[0]
        .get(0);
    assert_eq!(name, "Eva de Wit");
    // Withdrawal cancels pending forwards and unlinks the person.
    collect(d, decision(Some(VISITOR), false, false, false, true)).await;
    let after = q(&w, DE_VRIES, &format!(
        "SELECT v.person_id IS NULL, (SELECT count(*) FROM forwards f WHERE f.visitor_id = v.id AND f.status = 'pending')
         FROM visitors v WHERE v.visitor_key = '{VISITOR}'")).await;
    assert!(after[0].get::<_, bool>(0));
    assert_eq!(after[0].get::<_, i64>(1), 0);
    let r = call(
        d,
        public_post(
            "/capture",
            Some(ORIGIN),
            "198.51.100.77",
            capture(VISITOR, "eva@dewit.example"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_database_refuses_a_forward_without_marketing_consent() {
    let w = World::new().await;
    collect(
        &w.dashboard,
        decision(Some(VISITOR), true, true, false, false),
    )
    .await;
    let (client, conn) = tokio_postgres::connect(&w.tdb.owner_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let err = client
        .batch_execute(&format!(
            "BEGIN; SELECT set_config('app.company_id', '{DE_VRIES}', true);
             INSERT INTO forwards (company_id, visitor_id, event)
             SELECT company_id, id, 'lead' FROM visitors WHERE visitor_key = '{VISITOR}'"
        ))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no marketing consent")
            || format!("{err:?}").contains("no marketing consent"),
        "{err:?}"
    );
}

async fn reveal(router: &axum::Router, token: &str, view: &str, reason: &str) -> Resp {
    call(
        router,
        post_form(
            &format!("/api/visits/{view}/reveal"),
            &[("metiva_session", token)],
            &[("reason", reason)],
        ),
    )
    .await
}

async fn reveal_audits(w: &World) -> Vec<metiva_db::repo::audit::AuditRow> {
    w.audit_rows(DE_VRIES)
        .await
        .into_iter()
        .filter(|a| a.action.starts_with("visitor.ip_reveal"))
        .collect()
}

async fn last_view(w: &World, company: &str) -> String {
    q(
        w,
        company,
        "SELECT id::text FROM page_views ORDER BY at DESC LIMIT 1",
    )
    .await[0]
        .get(0)
}

#[tokio::test]
async fn reveal_needs_the_permission_and_writes_an_audit_row() {
    let w = World::new().await;
    collect(&w.dashboard, page_view(None)).await;
    let view = last_view(&w, DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let r = reveal(&w.dashboard, &viewer, &view, "ticket 123").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let r = reveal(&w.dashboard, &owner, &view, "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reveal_audits(&w).await.is_empty(),
        "refusals reveal nothing and record no reveal"
    );
    let r = reveal(&w.dashboard, &owner, &view, "abuse report #42").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        v["ip"], "198.51.100.0/24",
        "only the truncated address exists"
    );
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let rows = reveal_audits(&w).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].action, "visitor.ip_revealed");
    assert_eq!(rows[0].target_id.as_deref(), Some(view.as_str()));
    assert_eq!(rows[0].reason.as_deref(), Some("abuse report #42"));
    assert_eq!(
        rows[0].actor_user_id,
        Some(w.user_id("owner@devries.example").await)
    );
    assert_eq!(v["audit_id"], rows[0].id);
}

#[tokio::test]
async fn a_copied_ciphertext_fails_to_decrypt() {
    let w = World::new().await;
    // Two views in De Vries, one in Brouwer (a site registered for it).
    q(&w, BROUWER, &format!("INSERT INTO sites (company_id, domain, site_key, allowed_origins) VALUES ('{BROUWER}', 'brouwer.example', 'pk_brouwer_test_site', ARRAY['https://brouwer.example'])")).await;
    collect(&w.dashboard, page_view(None)).await;
    let a = last_view(&w, DE_VRIES).await;
    let other = page_view(None).replace("/offerte-test", "/contact");
    call(
        &w.dashboard,
        public_post("/collect", Some(ORIGIN), "203.0.113.9", other),
    )
    .await;
    let b = last_view(&w, DE_VRIES).await;
    assert_ne!(a, b);
    let brouwer_view = page_view(None).replace(KEY, "pk_brouwer_test_site");
    let r = call(
        &w.dashboard,
        public_post(
            "/collect",
            Some("https://brouwer.example"),
            "192.0.2.1",
            brouwer_view,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let c = last_view(&w, BROUWER).await;

    // Copy A's sealed IP over B (same tenant) and over C (other tenant).
    let src = q(&w, DE_VRIES, &format!("SELECT encode(ip_nonce, 'hex'), encode(ip_ciphertext, 'hex'), ip_key_id FROM page_views WHERE id = '{a}'")).await;
    let (nonce, ct, kid): (String, String, String) = (src[0].get(0), src[0].get(1), src[0].get(2));
    let copy = |company: &'static str, row: String| {
        let (nonce, ct, kid) = (nonce.clone(), ct.clone(), kid.clone());
        let w = &w;
        async move {
            q(w, company, &format!("UPDATE page_views SET ip_nonce = decode('{nonce}', 'hex'), ip_ciphertext = decode('{ct}', 'hex'), ip_key_id = '{kid}' WHERE id = '{row}'")).await;
        }
    };
    copy(DE_VRIES, b.clone()).await;
    copy(BROUWER, c.clone()).await;

    let devries = w.sign_in("owner@devries.example", DE_VRIES).await;
    let brouwer = w.sign_in("owner@brouwer.example", BROUWER).await;
    let ok = reveal(&w.dashboard, &devries, &a, "original row").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    for (token, row) in [(&devries, &b), (&brouwer, &c)] {
        let r = reveal(&w.dashboard, token, row, "copied row").await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{row}: {}", r.body);
        assert!(r.body.contains("unreadable"));
    }
    // The failed attempts are audited too.
    let failed = w
        .audit_rows(BROUWER)
        .await
        .into_iter()
        .filter(|r| r.action == "visitor.ip_reveal_failed")
        .count();
    assert_eq!(failed, 1);
    // And another tenant's row is simply not found.
    let r = reveal(&w.dashboard, &brouwer, &a, "not mine").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn key_rotation_keeps_old_rows_readable() {
    let w = World::new().await;
    collect(&w.dashboard, page_view(None)).await;
    let old_row = last_view(&w, DE_VRIES).await;
    let old_kid: String = q(
        &w,
        DE_VRIES,
        &format!("SELECT ip_key_id FROM page_views WHERE id = '{old_row}'"),
    )
    .await[0]
        .get(0);

    // Rotate: a new active key, the old one retired (opens, never seals).
    let new_key = [11u8; 32];
    let rotated = server::keys::Keys::rotated(&SEED, &new_key, &[ENC]);
    let config = crate::test_config(&w.tdb.app_url());
    let auth = DashboardAuth::new(&config, w.tdb.database(), &rotated);
    let router = dashboard_router_with(&config, auth.clone());
    w.wait_for_listener(&auth).await;

    collect(&router, page_view(None).replace("/offerte-test", "/cases")).await;
    let new_row: String = q(
        &w,
        DE_VRIES,
        "SELECT id::text FROM page_views WHERE path = '/cases' ORDER BY at DESC LIMIT 1",
    )
    .await[0]
        .get(0);
    let new_kid: String = q(
        &w,
        DE_VRIES,
        &format!("SELECT ip_key_id FROM page_views WHERE id = '{new_row}'"),
    )
    .await[0]
        .get(0);
    assert_ne!(old_kid, new_kid, "new values use the new active key");
    assert_eq!(new_kid, rotated.encryption_key_id);

    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    for row in [&old_row, &new_row] {
        let r = reveal(&router, &token, row, "rotation check").await;
        assert_eq!(r.status, StatusCode::OK, "{row}: {}", r.body);
    }
    // The pre-rotation instance cannot read what the new key sealed.
    let r = reveal(&w.dashboard, &token, &new_row, "rotation check").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn consumer_isps_are_never_shown_as_a_company() {
    // A small dataset in the real format: one business, one consumer ISP.
    let dir = std::env::temp_dir().join(format!("metiva-asn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ip = |s: &str| u32::from(s.parse::<std::net::Ipv4Addr>().unwrap());
    std::fs::write(
        dir.join("asn-ipv4-num.csv"),
        format!(
            "{},{},15169,Google LLC\n{},{},1136,KPN B.V.\n",
            ip("8.8.8.0"),
            ip("8.8.8.255"),
            ip("77.160.0.0"),
            ip("77.175.255.255")
        ),
    )
    .unwrap();
    std::fs::write(dir.join("asn-ipv6-num.csv"), "").unwrap();
    let w = World::new().await;
    let config = server::config::Config {
        asn_dir: Some(dir.clone()),
        ..crate::test_config(&w.tdb.app_url())
    };
    let auth = DashboardAuth::new(&config, w.tdb.database(), &crate::world::keys());
    let router = dashboard_router_with(&config, auth);
    for (ip, path) in [("8.8.8.8", "/a"), ("77.161.2.3", "/b")] {
        let body = page_view(None).replace("/offerte-test", path);
        let r = call(&router, public_post("/collect", Some(ORIGIN), ip, body)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    let rows = q(&w, DE_VRIES, "SELECT path, organisation, org_source FROM page_views WHERE path IN ('/a', '/b') ORDER BY path").await;
    assert_eq!(
        rows[0].get::<_, Option<String>>(1).as_deref(),
        Some("Google LLC")
    );
    assert_eq!(rows[0].get::<_, Option<String>>(2).as_deref(), Some("asn"));
    assert_eq!(
        rows[1].get::<_, Option<String>>(1),
        None,
        "a household on KPN is not a company"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_dashboard_pages_show_visits_consent_and_the_chain() {
    let w = World::new().await;
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    let get = |p: &str| crate::world::get_with(p, &[("metiva_session", &token)]);
    let v = call(&w.dashboard, get("/visitors")).await;
    assert_eq!(v.status, StatusCode::OK);
    assert!(
        v.body.contains("data-testid=\"visits-chart\"") && v.body.contains("<rect"),
        "server-side SVG"
    );
    assert!(v.body.contains("Coolblue B.V.") && v.body.contains("Anouk Hendriks"));
    assert!(v.body.contains("CC BY 4.0"));
    let c = call(&w.dashboard, get("/consent")).await;
    assert!(
        c.body.contains(&format!("/s/{KEY}/snippet.js")),
        "the snippet tag, ready to paste"
    );
    assert!(c.body.contains("ledger-row") && c.body.contains("2026-11.1"));
    // Another workspace sees none of it.
    let b = w.sign_in("owner@brouwer.example", BROUWER).await;
    let bv = call(
        &w.dashboard,
        crate::world::get_with("/visitors", &[("metiva_session", &b)]),
    )
    .await;
    assert!(!bv.body.contains("Coolblue B.V.") && !bv.body.contains("Anouk"));
    // No permission, no page data: finance cannot read visitors.
    let f = w.sign_in("finance@devries.example", DE_VRIES).await;
    let fv = call(
        &w.dashboard,
        crate::world::get_with("/visitors", &[("metiva_session", &f)]),
    )
    .await;
    assert!(!fv.body.contains("Coolblue B.V."));
}

#[tokio::test]
async fn known_networks_import_is_permissioned_validated_and_audited() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let import = |token: &str, csv: &str| {
        post_form(
            "/api/known-networks",
            &[("metiva_session", token)],
            &[("csv", csv)],
        )
    };
    let r = call(
        &w.dashboard,
        import(&viewer, "cidr,organisation\n10.0.0.0/8,X\n"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &w.dashboard,
        import(
            &owner,
            "cidr,organisation\n192.0.2.0/24,Acme BV\n192.0.2.7/33,Bad\n",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("line 3"), "{}", r.body);
    // Nothing changed: the seeded list is still there.
    assert_eq!(
        count(&w, DE_VRIES, "SELECT count(*) FROM known_networks").await,
        4
    );
    let r = call(
        &w.dashboard,
        import(
            &owner,
            "cidr,organisation\n192.0.2.0/24,\"Acme, BV\"\n2001:db8:abcd::/48,Acme BV\n",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        count(&w, DE_VRIES, "SELECT count(*) FROM known_networks").await,
        2
    );
    assert!(
        w.audit_rows(DE_VRIES)
            .await
            .iter()
            .any(|a| a.action == "visitors.known_networks_imported"
                && a.target_id.as_deref() == Some("2"))
    );
    // The next view from that network is attributed to it (a fresh router:
    // the first one caches networks for up to 30 s).
    let (_, fresh) = w.second_dashboard().await;
    let body = page_view(None).replace("/offerte-test", "/acme");
    let r = call(
        &fresh,
        public_post("/collect", Some(ORIGIN), "192.0.2.200", body),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let org: Option<String> = q(
        &w,
        DE_VRIES,
        "SELECT organisation FROM page_views WHERE path = '/acme'",
    )
    .await[0]
        .get(0);
    assert_eq!(org.as_deref(), Some("Acme, BV"));
}

#[tokio::test]
async fn a_workspace_registers_sites_and_can_disable_them() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let register = |token: &str, domain: &str, origins: &str| {
        post_form(
            "/api/sites",
            &[("metiva_session", token)],
            &[("domain", domain), ("origins", origins)],
        )
    };
    let r = call(&w.dashboard, register(&sales, "shop.example.nl", "")).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "sales lacks consent.manage"
    );
    for (domain, origins) in [
        ("https://shop.example.nl", ""),
        ("shop.example.nl", "https://*.example.nl"),
        ("shop.example.nl", "ftp://shop.example.nl"),
    ] {
        let r = call(&w.dashboard, register(&owner, domain, origins)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{domain} {origins}: {}",
            r.body
        );
    }
    let r = call(
        &w.dashboard,
        register(
            &owner,
            "Shop.Example.nl",
            "https://shop.example.nl\nhttps://www.example.nl/",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let site: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let key = site["site_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("pk_") && key.len() == 27, "{key}");
    assert_eq!(
        site["allowed_origins"],
        serde_json::json!(["https://shop.example.nl", "https://www.example.nl"])
    );
    assert!(
        w.audit_rows(DE_VRIES)
            .await
            .iter()
            .any(|a| a.action == "consent.site_registered")
    );

    // The new key works from its origins only, and writes into this
    // workspace.
    let body = page_view(None)
        .replace(KEY, &key)
        .replace("/offerte-test", "/shop");
    let r = call(
        &w.dashboard,
        public_post(
            "/collect",
            Some("https://www.example.nl"),
            "203.0.113.5",
            body.clone(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = call(
        &w.dashboard,
        public_post("/collect", Some(ORIGIN), "203.0.113.5", body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        count(
            &w,
            DE_VRIES,
            "SELECT count(*) FROM page_views WHERE path = '/shop'"
        )
        .await,
        1
    );

    // Disabled: 404 (a fresh instance; others follow within their 5 s cache).
    let id = site["id"].as_str().unwrap();
    let r = call(
        &w.dashboard,
        post_form(
            &format!("/api/sites/{id}/disable"),
            &[("metiva_session", &owner)],
            &[],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (_, fresh) = w.second_dashboard().await;
    let r = call(
        &fresh,
        public_post(
            "/collect",
            Some("https://www.example.nl"),
            "203.0.113.5",
            body,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Another workspace cannot touch it.
    let brouwer = w.sign_in("owner@brouwer.example", BROUWER).await;
    let r = call(
        &w.dashboard,
        post_form(
            &format!("/api/sites/{id}/enable"),
            &[("metiva_session", &brouwer)],
            &[],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forwarded_for_counts_only_behind_a_trusted_proxy() {
    let w = World::new().await;
    let view = |path: &str| page_view(None).replace("/offerte-test", path);
    // By default the header is the client's own words, and ignored.
    let mut req = public_post("/collect", Some(ORIGIN), "198.51.100.77", view("/xff-a"));
    req.headers_mut()
        .insert("x-forwarded-for", "192.0.2.9".parse().unwrap());
    assert_eq!(call(&w.dashboard, req).await.status, StatusCode::NO_CONTENT);
    // Behind one trusted proxy: the address that proxy appended, never
    // what the client wrote before it.
    let config = server::config::Config {
        trusted_proxy_hops: 1,
        ..crate::test_config(&w.tdb.app_url())
    };
    let auth = DashboardAuth::new(&config, w.tdb.database(), &crate::world::keys());
    let router = dashboard_router_with(&config, auth);
    let mut req = public_post("/collect", Some(ORIGIN), "10.0.0.2", view("/xff-b"));
    req.headers_mut().insert(
        "x-forwarded-for",
        "198.51.100.1, 192.0.2.9".parse().unwrap(),
    );
    assert_eq!(call(&router, req).await.status, StatusCode::NO_CONTENT);
    // A request that did not come through the proxy has no client address.
    let r = call(
        &router,
        public_post("/collect", Some(ORIGIN), "10.0.0.2", view("/xff-c")),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let rows = q(
        &w,
        DE_VRIES,
        "SELECT path, organisation FROM page_views WHERE path LIKE '/xff-%' ORDER BY path",
    )
    .await;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].get::<_, Option<String>>(1).as_deref(),
        Some("Rabobank"),
        "peer 198.51.100.77"
    );
    assert_eq!(
        rows[1].get::<_, Option<String>>(1).as_deref(),
        Some("Coolblue B.V."),
        "192.0.2.9 via the proxy"
    );
}
