//! The member and session forms are `ActionForm`s over server functions:
//! a script gets data or a status with a translated message; a plain form
//! post (no JavaScript) gets a 302 back to the page with a message code,
//! and an invitation link only through a sealed, session-bound flash
//! cookie, never a URL.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::world::{DE_VRIES, World, call, get_with, post_form};

/// A form post the way a browser without JavaScript sends it.
fn plain(uri: &str, cookies: &[(&str, &str)], form: &[(&str, &str)]) -> Request<Body> {
    let mut req = post_form(uri, cookies, form);
    req.headers_mut().insert(
        header::ACCEPT,
        header::HeaderValue::from_static("text/html,application/xhtml+xml"),
    );
    req
}

#[tokio::test]
async fn a_plain_form_changes_a_role_and_comes_back_with_the_message() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let member = w.user_id("member@devries.example").await.to_string();
    let r = call(
        &w.dashboard,
        plain(
            "/api/manage_member",
            &[("metiva_session", &owner)],
            &[("user", &member), ("action", "role"), ("role", "viewer")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    assert_eq!(r.location(), "/settings/members?done=role_changed");
    let page = call(
        &w.dashboard,
        get_with(&r.location(), &[("metiva_session", &owner)]),
    )
    .await;
    assert!(page.body.contains("The role was changed."), "{}", page.body);
    let row = page
        .body
        .split(r#"data-testid="member-row""#)
        .find(|row| row.contains("member@devries.example"))
        .unwrap();
    let role = row.split(r#"data-testid="member-role""#).nth(1).unwrap();
    assert!(
        role.split("</td>").next().unwrap().ends_with(">Viewer"),
        "{row}"
    );
    // The form is an island with an ActionForm posting to the server
    // function, not to a hand-written endpoint.
    assert!(page.body.contains(r#"action="/api/manage_member""#));
    assert!(page.body.contains("<leptos-island"));
    // Audited like every member change.
    let rows = w.audit_rows(DE_VRIES).await;
    assert!(
        rows.iter().any(|a| a.action == "member.role_changed"
            && a.target_id.as_deref() == Some(member.as_str()))
    );
}

#[tokio::test]
async fn a_refusal_is_a_translated_message_for_scripts_and_a_code_for_plain_forms() {
    let w = World::new().await;
    let admin = w.sign_in("admin@devries.example", DE_VRIES).await;
    let owner = w.user_id("owner@devries.example").await.to_string();
    let demote = [
        ("user", owner.as_str()),
        ("action", "role"),
        ("role", "viewer"),
    ];
    // A script (ActionForm with JavaScript): the status and the message.
    let r = call(
        &w.dashboard,
        post_form("/api/manage_member", &[("metiva_session", &admin)], &demote),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body.contains("Nobody can grant a role above their own"),
        "{}",
        r.body
    );
    assert!(r.headers.get(header::LOCATION).is_none());
    // A plain form: back to the page, which says why.
    let r = call(
        &w.dashboard,
        plain("/api/manage_member", &[("metiva_session", &admin)], &demote),
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    assert_eq!(r.location(), "/settings/members?error=above_own_role");
    let mut req = get_with(&r.location(), &[("metiva_session", &admin)]);
    req.headers_mut().insert(
        header::ACCEPT_LANGUAGE,
        header::HeaderValue::from_static("nl-NL,nl;q=0.9"),
    );
    let page = call(&w.dashboard, req).await;
    assert!(
        page.body
            .contains("Niemand kan een hogere rol toekennen dan de eigen rol"),
        "{}",
        page.body
    );
    // The owner is unchanged.
    let rows = w.audit_rows(DE_VRIES).await;
    assert!(!rows.iter().any(|a| a.action == "member.role_changed"));
    // Malformed input: 4xx with a message, never a 500.
    for (form, status) in [
        (
            vec![("user", "not-a-uuid"), ("action", "suspend"), ("role", "")],
            StatusCode::NOT_FOUND,
        ),
        (
            vec![
                ("user", owner.as_str()),
                ("action", "explode"),
                ("role", ""),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            vec![
                ("user", owner.as_str()),
                ("action", "role"),
                ("role", "emperor"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = call(
            &w.dashboard,
            post_form("/api/manage_member", &[("metiva_session", &admin)], &form),
        )
        .await;
        assert_eq!(r.status, status, "{form:?}: {}", r.body);
    }
    let r = call(
        &w.dashboard,
        post_form(
            "/api/manage_member",
            &[("metiva_session", &admin)],
            &[("user", "x")],
        ),
    )
    .await;
    assert!(r.status.is_client_error(), "{}: {}", r.status, r.body);
    // A viewer never gets the controls, and the server refuses anyway.
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let page = call(
        &w.dashboard,
        get_with("/settings/members", &[("metiva_session", &viewer)]),
    )
    .await;
    assert!(!page.body.contains("/api/manage_member"));
    let member = w.user_id("member@devries.example").await.to_string();
    let r = call(
        &w.dashboard,
        post_form(
            "/api/manage_member",
            &[("metiva_session", &viewer)],
            &[("user", &member), ("action", "suspend"), ("role", "")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

#[tokio::test]
async fn a_plain_form_invitation_shows_its_link_once_from_a_sealed_session_bound_cookie() {
    let w = World::new().await;
    let admin = w.sign_in("admin@devries.example", DE_VRIES).await;
    let form = [
        ("name", "Nieuwe Collega"),
        ("email", "nieuw@devries.example"),
        ("role", "sales"),
    ];
    let r = call(
        &w.dashboard,
        plain("/api/invite_member", &[("metiva_session", &admin)], &form),
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    assert_eq!(r.location(), "/settings/members?done=invited");
    // The secret is neither in the URL nor readable in the cookie.
    let flash = r.set_cookie("metiva_flash").expect("flash cookie");
    assert!(!flash.is_empty() && !flash.contains("invite") && !flash.contains("cmp_"));
    let attrs = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("metiva_flash="))
        .unwrap()
        .to_string();
    assert!(
        attrs.contains("HttpOnly") && attrs.contains("SameSite=Strict"),
        "{attrs}"
    );
    // Another session of the same user cannot open it.
    let other = w.sign_in("admin@devries.example", DE_VRIES).await;
    let page = call(
        &w.dashboard,
        get_with(
            "/settings/members?done=invited",
            &[("metiva_session", &other), ("metiva_flash", &flash)],
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains(r#"data-testid="invite-link""#));
    // A tampered cookie opens for nobody, and is no error.
    let mut bad = flash.clone();
    bad.pop();
    bad.push(if flash.ends_with('A') { 'B' } else { 'A' });
    let page = call(
        &w.dashboard,
        get_with(
            "/settings/members",
            &[("metiva_session", &admin), ("metiva_flash", &bad)],
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains(r#"data-testid="invite-link""#));
    // The session that invited sees the link, and the cookie is cleared.
    let page = call(
        &w.dashboard,
        get_with(
            "/settings/members?done=invited",
            &[("metiva_session", &admin), ("metiva_flash", &flash)],
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("The invitation was created."));
    let link = page
        .body
        .split(r#"data-testid="invite-link""#)
        .nth(1)
        .and_then(|s| s.split_once('>'))
        .and_then(|(_, s)| s.split('<').next())
        .unwrap()
        .to_string();
    assert!(
        link.starts_with("http://127.0.0.1:3001/invite/cmp_8fa2c1/"),
        "{link}"
    );
    assert_eq!(page.set_cookie("metiva_flash").as_deref(), Some(""));
    // The link works on the login service (it is the real one).
    let path = link.strip_prefix("http://127.0.0.1:3001").unwrap();
    let r = call(&w.login, get_with(path, &[])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // With JavaScript the link comes back as data, and no cookie is set.
    let r = call(
        &w.dashboard,
        post_form(
            "/api/invite_member",
            &[("metiva_session", &admin)],
            &[
                ("name", "Tweede"),
                ("email", "tweede@devries.example"),
                ("role", "viewer"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert!(v["link"].as_str().unwrap().contains("/invite/cmp_8fa2c1/"));
    assert!(r.set_cookie("metiva_flash").is_none());
    assert_eq!(
        r.headers
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    // A bad email is refused with its reason, and nothing is created.
    let r = call(
        &w.dashboard,
        post_form(
            "/api/invite_member",
            &[("metiva_session", &admin)],
            &[("name", "X"), ("email", "not-an-email"), ("role", "viewer")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("Enter a valid email address."),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn session_forms_revoke_another_session_or_sign_this_browser_out() {
    let w = World::new().await;
    let first = w.sign_in("sales@devries.example", DE_VRIES).await;
    let second = w.sign_in("sales@devries.example", DE_VRIES).await;
    let page = call(
        &w.dashboard,
        get_with("/settings/sessions", &[("metiva_session", &second)]),
    )
    .await;
    assert!(page.body.contains(r#"action="/api/revoke_session""#));
    let other_id = crate::world::other_session_id(&page.body);
    let r = call(
        &w.dashboard,
        plain(
            "/api/revoke_session",
            &[("metiva_session", &second)],
            &[("id", &other_id)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    assert_eq!(r.location(), "/settings/sessions?done=revoked");
    assert_eq!(
        call(&w.dashboard, crate::world::api("session", Some(&first)))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // The same id again, or garbage: a message, not a 500.
    for id in [other_id.as_str(), "garbage"] {
        let r = call(
            &w.dashboard,
            plain(
                "/api/revoke_session",
                &[("metiva_session", &second)],
                &[("id", id)],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
        assert_eq!(r.location(), "/settings/sessions?error=no_session");
    }
    // "all" ends this browser's session too: the token is dropped and the
    // browser leaves through the login service.
    let r = call(
        &w.dashboard,
        plain(
            "/api/revoke_session",
            &[("metiva_session", &second)],
            &[("id", "all")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    assert_eq!(r.location(), "http://127.0.0.1:3001/signed-out");
    assert_eq!(r.set_cookie("metiva_session").as_deref(), Some(""));
    assert_eq!(
        call(&w.dashboard, crate::world::api("session", Some(&second)))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
