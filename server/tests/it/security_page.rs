//! The security page: the binding comes from the token whatever the
//! browser sends, and the self-test probes RLS for real.

use axum::http::{StatusCode, header};

use crate::world::{DE_VRIES, World, api, call, get_with};

#[tokio::test]
async fn the_binding_comes_from_the_token_and_an_injected_header_is_reported_ignored() {
    let w = World::new().await;
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    let mut req = get_with("/settings/security", &[("metiva_session", &token)]);
    req.headers_mut()
        .insert("x-tenant", header::HeaderValue::from_static("cmp_1d47b9"));
    let r = call(&w.dashboard, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains(r#"data-testid="binding-company-id" class="font-mono">cmp_8fa2c1<"#),
        "{}",
        r.body
    );
    assert!(r.body.contains("x-tenant: cmp_1d47b9"), "{}", r.body);
    assert!(r.body.contains("Fail-closed") && r.body.contains("Signed token"));
    // Both of the owner's workspaces are listed, each marked isolated.
    assert_eq!(r.body.matches(r#"data-testid="workspace-row""#).count(), 2);
    assert!(r.body.contains("Brouwer Retail"));
    // Without the header there is nothing to report.
    let r = call(
        &w.dashboard,
        get_with("/settings/security", &[("metiva_session", &token)]),
    )
    .await;
    assert!(!r.body.contains("ignored-headers"));
}

#[tokio::test]
async fn the_self_test_passes_every_step_and_is_audited() {
    let w = World::new().await;
    let token = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let r = call(&w.dashboard, api("run_self_test", Some(&token))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let steps: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let steps = steps.as_array().unwrap();
    assert_eq!(steps.len(), 3, "{}", r.body);
    for s in steps {
        assert_eq!(s["passed"], true, "{s}");
    }
    assert!(r.body.contains("row-level security"), "{}", r.body);
    let rows = w
        .tdb
        .database()
        .tenant(
            &metiva_db::CompanyId::parse(DE_VRIES).unwrap(),
            async |tc| metiva_db::repo::audit::list(tc, 50).await,
        )
        .await
        .unwrap();
    let run = rows
        .iter()
        .find(|r| r.action == "security.self_test")
        .unwrap();
    assert_eq!(run.target_id.as_deref(), Some("passed"));
    // The probe's write was refused and rolled back: no stray person.
    let n = w
        .tdb
        .database()
        .tenant(
            &metiva_db::CompanyId::parse(DE_VRIES).unwrap(),
            async |tc| metiva_db::repo::persons::list(tc, 1000).await,
        )
        .await
        .unwrap();
    assert!(n.iter().all(|p| p.name != "isolation self-test"));
}

#[tokio::test]
async fn the_audit_log_is_filtered_paginated_named_and_downloadable_with_audit_read_only() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let sales = w.user_id("sales@devries.example").await;
    let r = call(
        &w.dashboard,
        crate::world::post_form(
            &format!("/api/members/{sales}/role"),
            &[("metiva_session", &owner)],
            &[("role", "marketing")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // 55 self-test runs: more than one page.
    for _ in 0..55 {
        assert_eq!(
            call(&w.dashboard, api("run_self_test", Some(&owner)))
                .await
                .status,
            StatusCode::OK
        );
    }
    let page = |q: &str| {
        get_with(
            &format!("/settings/audit{q}"),
            &[("metiva_session", &owner)],
        )
    };
    let r = call(&w.dashboard, page("")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.matches(r#"data-testid="audit-row""#).count(), 50);
    assert!(r.body.contains("Older entries"));
    // Filter by action prefix: the role change, with names resolved.
    let r = call(&w.dashboard, page("?action=member.")).await;
    assert_eq!(
        r.body.matches(r#"data-testid="audit-row""#).count(),
        1,
        "{}",
        r.body
    );
    assert!(r.body.contains("member.role_changed"));
    assert!(
        r.body.contains("Sanne de Vries") && r.body.contains("Lars Visser"),
        "{}",
        r.body
    );
    // LIKE wildcards in the filter match literally.
    let r = call(&w.dashboard, page("?action=%25")).await;
    assert_eq!(r.body.matches(r#"data-testid="audit-row""#).count(), 0);
    // CSV, with the same filter.
    let r = call(
        &w.dashboard,
        get_with(
            "/settings/audit.csv?action=member.",
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("metiva-audit-cmp_8fa2c1.csv")
    );
    let lines: Vec<&str> = r.body.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.body);
    assert!(lines[1].contains("\"member.role_changed\"") && lines[1].contains("\"Lars Visser\""));
    // Without audit.read: refused, and the page offers no link.
    let r = call(&w.dashboard, api("audit_log", Some(&viewer))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &w.dashboard,
        get_with("/settings/audit.csv", &[("metiva_session", &viewer)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &w.dashboard,
        get_with("/settings/security", &[("metiva_session", &viewer)]),
    )
    .await;
    assert!(!r.body.contains("audit-link"));
    let r = call(
        &w.dashboard,
        get_with("/settings/security", &[("metiva_session", &owner)]),
    )
    .await;
    assert!(r.body.contains("audit-link"));
}
