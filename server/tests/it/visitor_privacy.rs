//! A website visitor's erasure and access-request export through the real
//! router (issue 16): the visitor page (`/visitors/{id}`) offers each
//! action only to the role that holds it; 403 without the permission, 404
//! for another workspace's visitor; the plain erasure form redirects to
//! the receipt, which says `visitor` and holds neither the visitor's id
//! nor its key; erasing again answers the first receipt; the export's ZIP
//! holds the visitor's rows, nobody else's, and a bilingual README.

use axum::http::StatusCode;

use crate::crm::{code, plain, script};
use crate::exports::{assert_download_headers, file, raw, unzip};
use crate::world::{BROUWER, DE_VRIES, World, call, get_with, post_form};

const SITE: &str = "00000000-0000-4000-8000-0000000051e0";
const VISITOR: &str = "00000000-0000-4000-8000-0000000051e1";
const KEY: &str = "00000000-0000-4000-8000-0000000051e2";
const NEIGHBOUR: &str = "00000000-0000-4000-8000-0000000051e3";
const LINKED: &str = "00000000-0000-4000-8000-0000000051e4";

/// De Vries: a visitor with two page views, a consent decision and a lead
/// forward; a neighbour visitor; a visitor linked to a contact.
async fn visitors(w: &World) {
    let ip = "'k1', decode('000000000000000000000000', 'hex'), decode(repeat('ab', 24), 'hex')";
    w.owner_sql(&format!(
        "SELECT set_config('app.company_id', '{DE_VRIES}', true);
         INSERT INTO sites (company_id, id, domain, site_key)
             VALUES ('{DE_VRIES}', '{SITE}', 'bezoeker.nl', 'pk_visitor_privacy');
         INSERT INTO persons (company_id, id, name, email, source)
             VALUES ('{DE_VRIES}', '00000000-0000-4000-8000-0000000051e5', 'Gekoppeld Contact', 'gekoppeld@bezoeker.nl', 'capture');
         INSERT INTO visitors (company_id, id, site_id, visitor_key, analytics, identification, marketing, person_id)
             VALUES ('{DE_VRIES}', '{VISITOR}', '{SITE}', '{KEY}', true, false, true, NULL),
                    ('{DE_VRIES}', '{NEIGHBOUR}', '{SITE}', gen_random_uuid(), true, false, false, NULL),
                    ('{DE_VRIES}', '{LINKED}', '{SITE}', gen_random_uuid(), true, true, false, '00000000-0000-4000-8000-0000000051e5');
         INSERT INTO consent_decisions (company_id, site_id, visitor_id, analytics, identification, marketing, banner_version, lang, text_hash)
             VALUES ('{DE_VRIES}', '{SITE}', '{VISITOR}', true, false, true, '2026-11.1', 'nl', repeat('a', 64));
         INSERT INTO page_views (company_id, id, site_id, visitor_id, path, ip_key_id, ip_nonce, ip_ciphertext)
             VALUES ('{DE_VRIES}', gen_random_uuid(), '{SITE}', '{VISITOR}', '/offerte', {ip}),
                    ('{DE_VRIES}', gen_random_uuid(), '{SITE}', '{VISITOR}', '/contact', {ip}),
                    ('{DE_VRIES}', gen_random_uuid(), '{SITE}', '{NEIGHBOUR}', '/buurman', {ip});
         INSERT INTO forwards (company_id, visitor_id, event) VALUES ('{DE_VRIES}', '{VISITOR}', 'lead')"
    ))
    .await;
}

#[tokio::test]
async fn a_visitor_export_holds_the_visitors_rows_and_nobody_elses() {
    let w = World::new().await;
    visitors(&w).await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let uri = format!("/visitors/{VISITOR}/export");

    let r = call(&w.dashboard, script(&uri, &sales, &[])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(&w.dashboard, script(&uri, &other, &[])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = call(&w.dashboard, script("/visitors/nope/export", &owner, &[])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    let (status, headers, body) =
        raw(&w, post_form(&uri, &[("metiva_session", &owner)], &[])).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_download_headers(&headers);
    let files = unzip(&body);
    for stem in ["visitor", "page_views", "consent_decisions", "forwards"] {
        file(&files, &format!("{stem}.json"));
        file(&files, &format!("{stem}.csv"));
    }
    assert!(!files.iter().any(|(n, _)| n.starts_with("person")));
    let readme = file(&files, "README.txt");
    assert!(readme.contains("NEDERLANDS") && readme.contains("ENGLISH"));
    assert!(readme.contains("visitor.json"), "{readme}");
    let visitor: serde_json::Value = serde_json::from_str(file(&files, "visitor.json")).unwrap();
    assert_eq!(visitor[0]["id"], VISITOR);
    let views: serde_json::Value = serde_json::from_str(file(&files, "page_views.json")).unwrap();
    let paths: Vec<&str> = views
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths.contains(&"/offerte") && paths.contains(&"/contact"));
    // The sealed IP columns never leave; the opened (or "unreadable") one does.
    assert!(views[0].get("ip_ciphertext").is_none());
    assert!(views[0].get("ip_truncated").is_some());
    for (name, b) in &files {
        let s = String::from_utf8_lossy(b);
        assert!(!s.contains(NEIGHBOUR) && !s.contains("/buurman"), "{name}");
        assert!(!s.contains(BROUWER), "{name}");
    }
    let audit = w.audit_rows(DE_VRIES).await;
    assert!(audit.iter().any(|a| a.action == "privacy.subject_exported"
        && a.target_type.as_deref() == Some("visitor")
        && a.target_id.as_deref() == Some(VISITOR)));
}

#[tokio::test]
async fn a_visitor_erasure_needs_the_permission_and_leaves_one_receipt() {
    let w = World::new().await;
    visitors(&w).await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let good = [("id", VISITOR), ("reason", "subject_request")];

    // The page: the visitors list links it; the owner gets both forms,
    // sales (visitors.read only) neither; another workspace a 404.
    let list = call(
        &w.dashboard,
        get_with("/visitors", &[("metiva_session", &owner)]),
    )
    .await;
    assert!(
        list.body.contains(&format!("/visitors/{VISITOR}")),
        "no link on /visitors"
    );
    let page = call(
        &w.dashboard,
        get_with(
            &format!("/visitors/{VISITOR}"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-testid=\"erase-form\""));
    assert!(page.body.contains(&format!("/visitors/{VISITOR}/export")));
    assert!(!page.body.contains(KEY), "the page shows the cookie key");
    let page = call(
        &w.dashboard,
        get_with(
            &format!("/visitors/{VISITOR}"),
            &[("metiva_session", &sales)],
        ),
    )
    .await;
    assert!(
        !page.body.contains("erase-form")
            && !page.body.contains(&format!("/visitors/{VISITOR}/export"))
    );
    let page = call(
        &w.dashboard,
        get_with(
            &format!("/visitors/{VISITOR}"),
            &[("metiva_session", &other)],
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    // A visitor linked to a contact points at the contact's erasure.
    let page = call(
        &w.dashboard,
        get_with(
            &format!("/visitors/{LINKED}"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert!(page.body.contains("erase-via-contact"), "{}", page.body);
    let r = call(
        &w.dashboard,
        script(
            "/api/erase_visitor",
            &owner,
            &[("id", LINKED), ("reason", "duplicate")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    let r = call(&w.dashboard, script("/api/erase_visitor", &sales, &good)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(&w.dashboard, script("/api/erase_visitor", &other, &good)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = call(
        &w.dashboard,
        script("/api/erase_visitor", &owner, &[("id", VISITOR)]),
    )
    .await;
    assert_eq!(
        (r.status, code(&r.body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation".into()),
        "{}",
        r.body
    );

    // The plain form erases and shows the receipt's links.
    let r = call(&w.dashboard, plain("/api/erase_visitor", &owner, &good)).await;
    let location = r.location();
    let receipt = location
        .strip_prefix(&format!("/visitors/{VISITOR}?done=erased&receipt="))
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
        get_with(
            &format!("/visitors/{VISITOR}"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let r = call(
        &w.dashboard,
        script(&format!("/visitors/{VISITOR}/export"), &owner, &[]),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

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
    assert_eq!(v["subject_kind"], "visitor");
    let line = |t: &str| {
        v["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["table"] == t)
            .cloned()
            .unwrap_or_else(|| panic!("{t}: {}", json.body))
    };
    assert_eq!(line("page_views")["erased"], 2);
    assert_eq!(line("visitors")["erased"], 1);
    assert_eq!(line("forwards")["erased"], 1);
    assert_eq!(line("consent_decisions")["retained"], 1);
    assert!(!json.body.contains(VISITOR) && !json.body.contains(KEY));

    // Erasing again answers the first receipt.
    let r = call(&w.dashboard, script("/api/erase_visitor", &owner, &good)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, format!("\"{receipt}\""));
    // The neighbour is untouched.
    let page = call(
        &w.dashboard,
        get_with(
            &format!("/visitors/{NEIGHBOUR}"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
}
