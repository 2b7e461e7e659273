//! The security page: the binding comes from the token whatever the
//! browser sends, and the self-test probes RLS for real.

use axum::http::{StatusCode, header};

use crate::world::{BROUWER, DE_VRIES, World, api, call, get_with};

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
    let rows = w.audit_rows(DE_VRIES).await;
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

/// The page's live reads run in one transaction bound to the viewed
/// workspace (issue 15: the workspaces, the upkeep and the signing keys
/// in one read). A self-test shows on the next view of its own workspace
/// and never on another workspace of the same user; the user's workspace
/// list is the same from either, with the viewed one marked current.
#[tokio::test]
async fn the_last_self_test_shows_live_in_its_own_workspace_only() {
    let w = World::new().await;
    let devries = w.sign_in("owner@devries.example", DE_VRIES).await;
    let brouwer = w.sign_in("owner@devries.example", BROUWER).await;
    let page = async |token: &str| {
        let r = call(
            &w.dashboard,
            get_with("/settings/security", &[("metiva_session", token)]),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    };
    for token in [&devries, &brouwer] {
        let body = page(token).await;
        assert!(body.contains("Last run: never"), "{body}");
    }
    let r = call(&w.dashboard, api("run_self_test", Some(&devries))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let body = page(&devries).await;
    assert!(body.contains("Last run: passed at"), "{body}");
    assert!(!body.contains("Last run: never"), "{body}");
    let other = page(&brouwer).await;
    assert!(other.contains("Last run: never"), "{other}");
    assert!(!other.contains("Last run: passed at"), "{other}");
    for (body, current) in [(&body, "De Vries Media"), (&other, "Brouwer Retail")] {
        let rows: Vec<&str> = body
            .split(r#"data-testid="workspace-row""#)
            .skip(1)
            .collect();
        assert_eq!(rows.len(), 2, "{body}");
        // By name, as the directory function orders them.
        assert!(rows[0].contains("Brouwer Retail"), "{body}");
        assert!(rows[1].contains("De Vries Media"), "{body}");
        let marked: Vec<&&str> = rows
            .iter()
            .filter(|r| {
                r.split("</li>")
                    .next()
                    .is_some_and(|li| li.contains("(current)"))
            })
            .collect();
        assert_eq!(marked.len(), 1, "{body}");
        assert!(marked[0].contains(current), "{body}");
    }
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
    // A row's reason code and its short note are shown (an IP reveal's
    // reason, an integration's result).
    {
        use diesel_async::SimpleAsyncConnection;
        let mut conn = w.tdb.connect_as("metiva_owner").await;
        conn.batch_execute(&format!(
            "BEGIN; SELECT set_config('app.company_id', '{DE_VRIES}', true);
             INSERT INTO audit_log (company_id, action, target_type, target_id, reason, note)
             VALUES ('{DE_VRIES}', 'session.ip_revealed', 'session', 's-1', 'abuse_report', 'ticket 4711 from the host');
             COMMIT;"
        ))
        .await
        .unwrap();
    }
    let r = call(&w.dashboard, page("?action=session.ip_revealed")).await;
    assert_eq!(r.body.matches(r#"data-testid="audit-row""#).count(), 1);
    assert!(
        r.body.contains("abuse_report")
            && r.body.contains(r#"data-testid="audit-note""#)
            && r.body.contains(">ticket 4711 from the host</p>"),
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

#[tokio::test]
async fn own_sessions_show_the_truncated_ip_encrypted_at_rest_and_can_be_revoked() {
    use diesel_async::SimpleAsyncConnection;
    let w = World::new().await;
    let first = w.sign_in("sales@devries.example", DE_VRIES).await;
    let second = w.sign_in("sales@devries.example", DE_VRIES).await;
    let page = |t: &str| get_with("/settings/sessions", &[("metiva_session", t)]);
    let r = call(&w.dashboard, page(&second)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body.matches(r#"data-testid="session-row""#).count(),
        2,
        "{}",
        r.body
    );
    assert_eq!(r.body.matches("192.0.2.0").count(), 2, "{}", r.body);
    assert!(!r.body.contains("192.0.2.77"));
    assert_eq!(r.body.matches("this-device").count(), 1);
    // At rest: a key id, a nonce and ciphertext; no address in the clear.
    let mut owner = w.tdb.connect_as("metiva_owner").await;
    owner
        .batch_execute(
            "DO $$ BEGIN
               IF EXISTS (SELECT 1 FROM sessions WHERE ip_ciphertext IS NULL OR ip_key_id IS NULL
                            OR position('192.0.2' IN encode(ip_ciphertext, 'escape')) > 0) THEN
                 RAISE EXCEPTION 'an IP is missing or stored in the clear';
               END IF;
             END $$;",
        )
        .await
        .unwrap();
    // A ciphertext copied to another row no longer opens.
    owner
        .batch_execute(
            "UPDATE sessions s SET ip_nonce = o.ip_nonce, ip_ciphertext = o.ip_ciphertext
             FROM (SELECT id, ip_nonce, ip_ciphertext FROM sessions ORDER BY created_at LIMIT 1) o
             WHERE s.id <> o.id",
        )
        .await
        .unwrap();
    let r = call(&w.dashboard, page(&second)).await;
    assert_eq!(r.body.matches("192.0.2.0").count(), 1, "{}", r.body);
    assert!(r.body.contains("unknown"));
    // Revoke the other session (the row without "this device"): its
    // token stops working at once.
    let other_id = crate::world::other_session_id(&r.body);
    let (keep, gone) = (&second, &first);
    let r = call(
        &w.dashboard,
        crate::world::post_form(
            &format!("/api/sessions/{other_id}/revoke"),
            &[("metiva_session", keep)],
            &[],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        call(&w.dashboard, api("session", Some(gone))).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&w.dashboard, api("session", Some(keep))).await.status,
        StatusCode::OK
    );
    // Nobody revokes another user's session through this endpoint.
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let r = call(
        &w.dashboard,
        crate::world::post_form(
            "/api/sessions/revoke-all",
            &[("metiva_session", &viewer)],
            &[],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        call(&w.dashboard, api("session", Some(keep))).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&w.dashboard, api("session", Some(&viewer)))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

/// The HTML without `<blockquote lang="…">` quotations in that language.
fn without_quotes_in(html: &str, lang: &str) -> String {
    let open = format!("<blockquote lang=\"{lang}\"");
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find(&open) {
        out.push_str(&rest[..i]);
        match rest[i..].find("</blockquote>") {
            Some(j) => rest = &rest[i + j + "</blockquote>".len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// The pages' visible text, without tags, scripts and styles.
pub(crate) fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        out.push(' ');
        let tail = &rest[i..];
        let skip_to = if tail.starts_with("<script") {
            tail.find("</script>").map(|j| j + "</script>".len())
        } else {
            tail.find('>').map(|j| j + 1)
        };
        match skip_to {
            Some(j) => rest = &tail[j..],
            None => return out,
        }
    }
    out.push_str(rest);
    out.replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
}

pub(crate) fn has_word(text: &str, phrase: &str) -> bool {
    let mut from = 0;
    while let Some(i) = text[from..].find(phrase) {
        let start = from + i;
        let end = start + phrase.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let boundary =
            |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '-' && c != '_');
        if boundary(before) && boundary(after) {
            return true;
        }
        from = start + 1;
    }
    false
}

#[tokio::test]
async fn every_settings_page_renders_in_dutch_without_english_from_the_catalog() {
    let w = World::new().await;
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    // Something in the audit log and a finished self-test, so those
    // parts render too.
    call(&w.dashboard, api("run_self_test", Some(&token))).await;
    // One organisation's page (the demo data links its contacts).
    let orgs = call(&w.dashboard, api("organisations", Some(&token))).await;
    let orgs: serde_json::Value =
        serde_json::from_str(&orgs.body).unwrap_or_else(|e| panic!("{e}: {}", orgs.body));
    let org_id = orgs["rows"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        !org_id.is_empty(),
        "the demo data has organisations: {orgs}"
    );
    let org_page = format!("/organisations/{org_id}");
    // One deal's page (its edit form and stage history).
    let board = call(&w.dashboard, api("deal_board", Some(&token))).await;
    let board: serde_json::Value =
        serde_json::from_str(&board.body).unwrap_or_else(|e| panic!("{e}: {}", board.body));
    let deal_page = format!(
        "/deals/{}",
        board["cards"][0]["id"].as_str().unwrap_or_default()
    );
    for path in [
        org_page.as_str(),
        deal_page.as_str(),
        "/deals?view=list",
        "/deals?view=list&month=2027-03&sort=value",
        "/settings/pipeline",
        "/settings/pipeline?invalid=label%3Astage.taken%2Ctarget_minutes%3Asla.minutes%2Cday_end%3Asla.day_order",
        "/",
        "/members",
        "/settings/security",
        "/settings/sessions",
        "/settings/audit",
        "/visitors",
        "/consent",
        "/persons",
        "/deals",
        "/organisations",
        // The refused form, its messages and the stale-edit banner.
        "/organisations?invalid=kvk%3Akvk.format%2Cvat%3Avat.format%2Cname%3Arequired",
        "/organisations?done=deleted",
        "/search?q=zzzz",
        "/tasks",
    ] {
        let mut req = get_with(path, &[("metiva_session", &token)]);
        req.headers_mut().insert(
            header::ACCEPT_LANGUAGE,
            header::HeaderValue::from_static("nl-NL,nl;q=0.9"),
        );
        let r = call(&w.dashboard, req).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.body.contains(r#"<html lang="nl""#), "{path}");
        // The consent page quotes the English banner on purpose.
        let text = visible_text(&without_quotes_in(&r.body, "en"));
        for (en, nl) in app::i18n::CATALOG.iter().chain(app::i18n::CRM_CATALOG) {
            if en == nl {
                continue;
            }
            assert!(
                !has_word(&text, en),
                "{path}: English {en:?} on the Dutch page:\n{text}"
            );
        }
    }
    // The self-test's findings are worded in Dutch (PostgreSQL's own
    // message stays as it came).
    let mut req = api("run_self_test", Some(&token));
    req.headers_mut().insert(
        header::ACCEPT_LANGUAGE,
        header::HeaderValue::from_static("nl"),
    );
    let r = call(&w.dashboard, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for nl in [
        "0 rijen zichtbaar",
        "0 rijen van andere werkruimtes teruggegeven",
        "geweigerd door PostgreSQL: ",
    ] {
        assert!(r.body.contains(nl), "{nl:?} in {}", r.body);
    }
    // The self-test's outcome is translated too.
    let mut req = get_with("/settings/security", &[("metiva_session", &token)]);
    req.headers_mut().insert(
        header::ACCEPT_LANGUAGE,
        header::HeaderValue::from_static("nl"),
    );
    let r = call(&w.dashboard, req).await;
    assert!(
        visible_text(&r.body).contains("Laatste run: geslaagd op 2"),
        "{}",
        visible_text(&r.body)
    );
    // And the English pages are English.
    let r = call(
        &w.dashboard,
        get_with("/settings/security", &[("metiva_session", &token)]),
    )
    .await;
    assert!(visible_text(&r.body).contains("Security and isolation"));
    // `?lang=nl` switches and is remembered in a cookie.
    let r = call(
        &w.dashboard,
        get_with("/settings/security?lang=nl", &[("metiva_session", &token)]),
    )
    .await;
    assert!(visible_text(&r.body).contains("Beveiliging en afscherming"));
    assert_eq!(r.set_cookie("metiva_lang").as_deref(), Some("nl"));
}
