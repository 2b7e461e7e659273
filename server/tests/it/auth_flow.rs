//! The login service and the dashboard's sign-in hand-off, through the
//! real routers.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::world::{
    APP_URL, BROUWER, DE_VRIES, PASSWORD, World, api, call, get_with, param, post_form,
};

#[tokio::test]
async fn anonymous_pages_redirect_to_the_login_service_and_apis_get_401() {
    let w = World::new().await;
    let (location, state) = w.start("/members?tab=1").await;
    assert!(
        location.starts_with("http://127.0.0.1:3001/login?"),
        "{location}"
    );
    assert_eq!(
        param(&location, "return_to"),
        format!("{APP_URL}/members?tab=1")
    );
    assert_eq!(param(&location, "state"), state);
    let r = call(&w.dashboard, api("session", None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    // The dashboard serves no login form, anywhere.
    for path in ["/", "/login", "/members"] {
        let r = call(&w.dashboard, get_with(path, &[])).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(!r.body.contains("password"), "{path}");
    }
}

#[tokio::test]
async fn owner_signs_in_chooses_a_workspace_and_lands_bound_to_it() {
    let w = World::new().await;
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    let r = call(&w.dashboard, get_with("/", &[("metiva_session", &token)])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(DE_VRIES), "{}", r.body);
    assert!(r.body.contains("De Vries Media"));
    // The other workspace of the same user is a separate token.
    let token_b = w.sign_in("owner@devries.example", BROUWER).await;
    let r = call(&w.dashboard, api("session", Some(&token_b))).await;
    assert!(
        r.body.contains(BROUWER) && !r.body.contains(DE_VRIES),
        "{}",
        r.body
    );
    // Sign-in is audited in the workspace, with ids only.
    let rows = w.audit_rows(DE_VRIES).await;
    let sign_in = rows
        .iter()
        .find(|r| r.action == "auth.sign_in")
        .expect("audited");
    assert!(sign_in.actor_user_id.is_some() && sign_in.request_id.is_some());
}

#[tokio::test]
async fn a_single_workspace_user_goes_straight_through_and_the_token_is_never_in_a_url() {
    let w = World::new().await;
    let (login_url, state) = w.start("/").await;
    let r = call(
        &w.login,
        post_form(
            "/login",
            &[],
            &[
                ("email", "viewer@devries.example"),
                ("password", PASSWORD),
                ("return_to", &param(&login_url, "return_to")),
                ("state", &state),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let callback = r.location();
    assert!(
        callback.starts_with(&format!("{APP_URL}/auth/callback?code=")),
        "{callback}"
    );
    // Only an opaque code travels in the URL, never the token.
    assert!(!callback.contains("eyJ"), "{callback}");
    let path = callback.strip_prefix(APP_URL).unwrap();
    // Without the state cookie (another browser), the code is useless.
    let r = call(&w.dashboard, get_with(path, &[])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = call(&w.dashboard, get_with(path, &[("metiva_state", &state)])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/");
    let cookie = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("metiva_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // Single use: the same code again fails.
    let r = call(&w.dashboard, get_with(path, &[("metiva_state", &state)])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

#[tokio::test]
async fn codes_expire() {
    let w = World::new().await;
    let (login_url, state) = w.start("/").await;
    let r = call(
        &w.login,
        post_form(
            "/login",
            &[],
            &[
                ("email", "sales@devries.example"),
                ("password", PASSWORD),
                ("return_to", &param(&login_url, "return_to")),
                ("state", &state),
            ],
        ),
    )
    .await;
    let callback = r.location();
    // Age the code past its 60 s.
    w.owner_sql("UPDATE auth_codes SET expires_at = now() - interval '1 second'")
        .await;
    let path = callback.strip_prefix(APP_URL).unwrap();
    let r = call(&w.dashboard, get_with(path, &[("metiva_state", &state)])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("expired or was already used"));
}

#[tokio::test]
async fn return_to_on_another_origin_is_refused() {
    let w = World::new().await;
    let state = "s".repeat(43);
    for evil in [
        "https://evil.example/",
        "http://127.0.0.1:3000.evil.example/",
        "http://127.0.0.1:3000@evil.example/",
        "http://127.0.0.1:3000//evil.example/",
        "//evil.example/",
        "javascript:alert(1)",
        "http://127.0.0.1:3001/",
    ] {
        let uri = format!(
            "/login?return_to={}&state={state}",
            server::http::ui::qs(evil)
        );
        let r = call(&w.login, get_with(&uri, &[])).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{evil}");
        let r = call(
            &w.login,
            post_form(
                "/login",
                &[],
                &[
                    ("email", "owner@devries.example"),
                    ("password", PASSWORD),
                    ("return_to", evil),
                    ("state", &state),
                ],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{evil}");
        assert!(
            r.set_cookie("metiva_login").is_none(),
            "no session for {evil}"
        );
    }
}

async fn attempt(w: &World, email: &str, password: &str) -> crate::world::Resp {
    let state = "t".repeat(43);
    call(
        &w.login,
        post_form(
            "/login",
            &[],
            &[
                ("email", email),
                ("password", password),
                ("return_to", &format!("{APP_URL}/")),
                ("state", &state),
            ],
        ),
    )
    .await
}

#[tokio::test]
async fn an_unknown_email_runs_the_dummy_hash_and_answers_like_a_wrong_password() {
    let w = World::new().await;
    let before = w.login_service.verifications();
    let wrong = attempt(&w, "owner@devries.example", "not-the-password").await;
    assert_eq!(w.login_service.verifications(), before + 1);
    let unknown = attempt(&w, "nobody@devries.example", "not-the-password").await;
    // The same bcrypt work for an address that does not exist...
    assert_eq!(w.login_service.verifications(), before + 2);
    // ...and the same status and message: nothing says which was which.
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let strip = |b: &str, email: &str| b.replace(email, "EMAIL");
    assert_eq!(
        strip(&wrong.body, "owner@devries.example"),
        strip(&unknown.body, "nobody@devries.example")
    );
    assert!(wrong.body.contains("Email or password is incorrect."));
}

#[tokio::test]
async fn the_throttle_escalates_and_delays_without_locking_out() {
    let w = World::new().await;
    let email = "finance@devries.example";
    for i in 1..=5 {
        let r = attempt(&w, email, "wrong").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The fifth failure earned a 1 s delay.
    let r = attempt(&w, email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.headers[header::RETRY_AFTER], "1");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = attempt(&w, email, "wrong").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // The sixth failure doubles it.
    let r = attempt(&w, email, "wrong").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers[header::RETRY_AFTER], "2");
    // A delay, not a lock: once it passes, the right password works.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = attempt(&w, email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Unknown addresses are throttled the same way (no enumeration).
    for _ in 0..5 {
        attempt(&w, "ghost@devries.example", "x").await;
    }
    let r = attempt(&w, "ghost@devries.example", "x").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn overlong_passwords_get_a_clear_400() {
    let w = World::new().await;
    let r = attempt(&w, "owner@devries.example", &"a".repeat(73)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("at most 72 bytes"), "{}", r.body);
}

#[tokio::test]
async fn bad_input_gets_4xx_never_500() {
    let w = World::new().await;
    // Garbage and giant cookies on the dashboard.
    for cookie in [
        "metiva_session=garbage".to_string(),
        format!("metiva_session={}", "A".repeat(5000)),
        "metiva_session=a.b.c".to_string(),
        "metiva_session=x; metiva_session=y".to_string(),
        "\u{7f}=\u{7f}".to_string(),
    ] {
        let mut req = api("session", None);
        if let Ok(v) = header::HeaderValue::from_str(&cookie) {
            req.headers_mut().insert(header::COOKIE, v);
        }
        let r = call(&w.dashboard, req).await;
        assert!(r.status.is_client_error(), "{cookie}: {}", r.status);
    }
    // Non-UTF-8 bytes in a cookie header.
    let mut req = api("session", None);
    req.headers_mut().insert(
        header::COOKIE,
        header::HeaderValue::from_bytes(b"metiva_session=\xff\xfe").unwrap(),
    );
    assert!(call(&w.dashboard, req).await.status.is_client_error());
    // Non-UTF-8 in credentials.
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            b"email=%FF%FE%40x&password=%C3%28&return_to=http%3A%2F%2F127.0.0.1%3A3000%2F&state=ttttttttttttttttttttttttttttttttttttttttttt".to_vec(),
        ))
        .unwrap();
    let r = call(&w.login, req).await;
    assert!(r.status.is_client_error(), "{}: {}", r.status, r.body);
    // Malformed forms.
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{"))
        .unwrap();
    assert!(call(&w.login, req).await.status.is_client_error());
    // Oversized bodies.
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(vec![b'a'; 70_000]))
        .unwrap();
    assert_eq!(
        call(&w.login, req).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // A giant header.
    let req = Request::get("/")
        .header("x-tenant", "x".repeat(60_000))
        .body(Body::empty())
        .unwrap();
    assert!(call(&w.dashboard, req).await.status.is_redirection());
}

#[tokio::test]
async fn sign_out_ends_the_session_and_every_token_naming_it() {
    let w = World::new().await;
    let (token, login_cookie) = w.sign_in_full("owner@devries.example", DE_VRIES).await;
    // The same login session enters the other workspace without a password.
    let other = w.enter(&login_cookie, BROUWER, "renew").await;
    let r = call(&w.dashboard, api("session", Some(&other))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(BROUWER), "{}", r.body);
    let r = call(
        &w.dashboard,
        post_form("/auth/logout", &[("metiva_session", &token)], &[]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "http://127.0.0.1:3001/signed-out");
    assert_eq!(r.set_cookie("metiva_session").as_deref(), Some(""));
    for t in [&token, &other] {
        let r = call(&w.dashboard, api("session", Some(t))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    // The login session is over too: the login service asks for the
    // password again instead of handing out a new token.
    let (login_url, _) = w.start("/").await;
    let path = login_url.strip_prefix("http://127.0.0.1:3001").unwrap();
    let r = call(&w.login, get_with(path, &[("metiva_login", &login_cookie)])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(r#"name="password""#));
}

#[tokio::test]
async fn switching_goes_back_through_the_login_service() {
    let w = World::new().await;
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    let r = call(
        &w.dashboard,
        get_with("/auth/switch", &[("metiva_session", &token)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let login_url = r.location();
    assert_eq!(param(&login_url, "purpose"), "switch");
    let state = r.set_cookie("metiva_state").unwrap();
    // Without a login session the login service asks for the password;
    // a fresh sign-in for the other workspace is what `sign_in` does.
    let path = login_url.strip_prefix("http://127.0.0.1:3001").unwrap();
    let r = call(&w.login, get_with(path, &[])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(r#"name="password""#));
    assert!(!state.is_empty());
    // Someone who is not a member of a workspace cannot choose it.
    let (login_url, state) = w.start("/").await;
    let r = call(
        &w.login,
        post_form(
            "/login",
            &[],
            &[
                ("email", "viewer@devries.example"),
                ("password", PASSWORD),
                ("return_to", &param(&login_url, "return_to")),
                ("state", &state),
                ("company", BROUWER),
            ],
        ),
    )
    .await;
    // The hint is ignored: the viewer lands in their only workspace.
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let login_cookie = r.set_cookie("metiva_login").unwrap();
    let r = call(
        &w.login,
        post_form(
            "/choose",
            &[("metiva_login", &login_cookie)],
            &[
                ("choice", BROUWER),
                ("return_to", &param(&login_url, "return_to")),
                ("state", &state),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}

#[tokio::test]
async fn member_management_needs_the_permission_and_keeps_its_guard_rails() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let admin = w.sign_in("admin@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let sales_id = w.user_id("sales@devries.example").await;
    let owner_id = w.user_id("owner@devries.example").await;
    let act = |token: &str, target: uuid::Uuid, action: &str, role: &str| {
        post_form(
            &format!("/api/members/{target}/{action}"),
            &[("metiva_session", token)],
            &[("role", role)],
        )
    };
    // A viewer cannot manage members.
    let r = call(&w.dashboard, act(&viewer, sales_id, "role", "viewer")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Nobody grants above their own role.
    let r = call(&w.dashboard, act(&admin, sales_id, "role", "owner")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Nobody acts on a member who ranks above them.
    let r = call(&w.dashboard, act(&admin, owner_id, "suspend", "")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The last owner can be neither demoted nor removed, even by themself.
    let r = call(&w.dashboard, act(&owner, owner_id, "role", "admin")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = call(&w.dashboard, act(&owner, owner_id, "remove", "")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // An admin may change a lower role; audited with ids only.
    let r = call(&w.dashboard, act(&admin, sales_id, "role", "marketing")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rows = w.audit_rows(DE_VRIES).await;
    let row = rows
        .iter()
        .find(|r| r.action == "member.role_changed")
        .unwrap();
    assert_eq!(
        row.target_id.as_deref(),
        Some(sales_id.to_string().as_str())
    );
    assert!(row.request_id.is_some());
    // A member of another workspace is "not found" here.
    let brouwer_owner = w.user_id("owner@brouwer.example").await;
    let r = call(&w.dashboard, act(&owner, brouwer_owner, "suspend", "")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // Malformed ids and unknown actions are 4xx.
    let r = call(
        &w.dashboard,
        post_form(
            "/api/members/not-a-uuid/suspend",
            &[("metiva_session", &owner)],
            &[],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = call(&w.dashboard, act(&owner, sales_id, "promote", "")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Server functions check their permission too: a viewer may neither
    // read the system status nor record a check (security.manage).
    let r = call(&w.dashboard, api("system_status", Some(&viewer))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(&w.dashboard, api("run_database_check", Some(&viewer))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(&w.dashboard, api("run_database_check", Some(&owner))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The viewer's members page shows no controls.
    let r = call(
        &w.dashboard,
        get_with("/members", &[("metiva_session", &viewer)]),
    )
    .await;
    assert!(r.body.contains("members-readonly"), "{}", r.body);
    // The role matrix is rendered from the registry: every role x every permission.
    assert_eq!(
        r.body.matches("data-permission=").count(),
        8 * metiva_roles::Permission::ALL.len()
    );
    assert!(!r.body.contains("invite-form") && !r.body.contains("Change role"));
}

#[tokio::test]
async fn an_invitation_creates_a_pending_member_who_sets_a_password_once() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let r = call(
        &w.dashboard,
        post_form(
            "/api/members/invite",
            &[("metiva_session", &owner)],
            &[
                ("email", "New.Person@Example.com"),
                ("name", "New Person"),
                ("role", "sales"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let link = v["link"].as_str().unwrap().to_string();
    let path = link
        .strip_prefix("http://127.0.0.1:3001")
        .unwrap()
        .to_string();
    let r = call(&w.login, get_with(&path, &[])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("new.person@example.com"));
    let r = call(
        &w.login,
        post_form(&path, &[], &[("password", "short"), ("confirm", "short")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let pw = "a-long-enough-password";
    let r = call(
        &w.login,
        post_form(&path, &[], &[("password", pw), ("confirm", pw)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The link works once.
    let r = call(
        &w.login,
        post_form(&path, &[], &[("password", pw), ("confirm", pw)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The new member signs in with the password they chose.
    let (login_url, state) = w.start("/").await;
    let r = call(
        &w.login,
        post_form(
            "/login",
            &[],
            &[
                ("email", "new.person@example.com"),
                ("password", pw),
                ("return_to", &param(&login_url, "return_to")),
                ("state", &state),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Inviting an existing member again is refused, without saying more.
    let r = call(
        &w.dashboard,
        post_form(
            "/api/members/invite",
            &[("metiva_session", &owner)],
            &[
                ("email", "sales@devries.example"),
                ("name", "X"),
                ("role", "viewer"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

#[tokio::test]
async fn hostile_input_is_rendered_as_text_on_the_sign_in_and_error_pages() {
    const HOSTILE: &str = r#""><script>alert(1)</script>&x"#;
    const AS_ATTRIBUTE: &str = "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;x";
    let inert = |r: &crate::world::Resp| {
        assert!(
            !r.body.contains("<script") && !r.body.contains(HOSTILE),
            "{}",
            r.body
        );
    };
    let w = World::new().await;
    // A return_to on the dashboard's origin passes the check, whatever
    // follows the slash, so the form echoes it.
    let return_to = format!("{APP_URL}/{HOSTILE}");
    let state = "h".repeat(43);
    let uri = format!(
        "/login?return_to={}&state={state}",
        server::http::ui::qs(&return_to)
    );
    let r = call(&w.login, get_with(&uri, &[])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    inert(&r);
    assert!(
        r.body.contains(&format!(
            r#"name="return_to" value="{APP_URL}/{AS_ATTRIBUTE}""#
        )),
        "{}",
        r.body
    );
    assert!(
        r.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'; style-src 'self';")
    );
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    // A refused sign-in keeps the typed email, as an attribute value.
    let email = format!("{HOSTILE}@example.com");
    let form = [
        ("email", email.as_str()),
        ("password", "wrong"),
        ("return_to", return_to.as_str()),
        ("state", state.as_str()),
    ];
    for _ in 0..5 {
        let r = call(&w.login, post_form("/login", &[], &form)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
        inert(&r);
        assert!(
            r.body
                .contains(&format!(r#"value="{AS_ATTRIBUTE}@example.com""#))
        );
        assert!(r.body.contains(r#"role="alert""#));
    }
    // The throttle's page links back to the form with the same flow.
    let mut req = post_form("/login", &[], &form);
    req.headers_mut().insert(
        header::ACCEPT,
        header::HeaderValue::from_static("text/html"),
    );
    let r = call(&w.login, req).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    inert(&r);
    assert!(
        r.body.contains("Too many attempts. Try again in"),
        "{}",
        r.body
    );
    assert!(r.body.contains("Back to sign-in"));
    // A state the dashboard never minted restarts the flow, echoing none
    // of it.
    let uri = format!(
        "/login?return_to={APP_URL}/&state={}",
        server::http::ui::qs(HOSTILE)
    );
    let r = call(&w.login, get_with(&uri, &[])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    inert(&r);
    assert!(!r.body.contains("alert(1)"));
    // The dashboard's refusal page quotes a bad domain as text.
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let mut req = post_form(
        "/api/sites",
        &[("metiva_session", &owner)],
        &[("domain", HOSTILE), ("origins", "")],
    );
    req.headers_mut().insert(
        header::ACCEPT,
        header::HeaderValue::from_static("text/html"),
    );
    let r = call(&w.dashboard, req).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    inert(&r);
    assert!(
        r.body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;x"),
        "{}",
        r.body
    );
    assert!(r.body.contains(r#"role="alert""#));
}
