//! The sealed IP: its audited reveal, a copied ciphertext, key rotation.

use super::*;

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
    // An older client's free text is kept as "other" with a note.
    assert_eq!(rows[0].reason.as_deref(), Some("other"));
    assert_eq!(rows[0].note.as_deref(), Some("abuse report #42"));
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
    // Values are sealed by the workspace's data key; a master-key rotation
    // rewraps that key and never changes which key seals the values.
    assert_eq!(
        old_kid, new_kid,
        "both rows are sealed by the workspace's data key"
    );

    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    for row in [&old_row, &new_row] {
        let r = reveal(&router, &token, row, "rotation check").await;
        assert_eq!(r.status, StatusCode::OK, "{row}: {}", r.body);
    }
    // The pre-rotation instance still reads it: the data key it unwraps
    // with the old master key is the same one.
    let r = reveal(&w.dashboard, &token, &new_row, "rotation check").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
