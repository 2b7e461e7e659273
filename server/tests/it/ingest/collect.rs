//! `/collect`, `/capture` and the snippet: keys, origins, payloads, deny
//! by default, the ledger, capture and forwards.

use super::*;

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
    let want = app::consent_text::text_hash(banner);
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
