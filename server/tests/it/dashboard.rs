use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::send;
use crate::world::{BROUWER, DE_VRIES, World};

/// A dashboard and the owner's token cookie.
async fn signed_in() -> (World, String) {
    let w = World::new().await;
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    (w, token)
}

fn get(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, format!("metiva_session={token}"))
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn post(uri: &str, token: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header(header::COOKIE, format!("metiva_session={token}"))
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT, "application/json")
        .body(body.into())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Calls a server function by its stable endpoint name, with an empty form.
async fn call(router: axum::Router, token: &str, endpoint: &str) -> (StatusCode, String) {
    let uri = format!("/api/{endpoint}");
    send(
        router,
        post(&uri, token, "application/x-www-form-urlencoded", ""),
    )
    .await
}

#[tokio::test]
async fn the_database_check_server_function_writes_and_reads_postgres() {
    let (w, token) = signed_in().await;
    let router = w.dashboard.clone();

    let (status, body) = call(router.clone(), &token, "system_status").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""checks_recorded":0"#), "{body}");
    // The app runs as the runtime role, never the owner or a superuser.
    assert!(body.contains(r#""runtime_role":"metiva_app""#), "{body}");
    // The major version alone, never the build string.
    assert!(
        body.contains(r#""server_version":"15""#)
            || body.contains(r#""server_version":"16""#)
            || body.contains(r#""server_version":"17""#),
        "{body}"
    );
    assert!(
        !body.contains("Debian") && !body.contains("deb12"),
        "{body}"
    );
    // A viewer (no security permission) sees none of it.
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let (status, body) = call(router.clone(), &viewer, "system_status").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(!body.contains("metiva_app"), "{body}");

    for expected in 1..=2 {
        let (status, body) = call(router.clone(), &token, "run_database_check").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(
            body.contains(&format!(r#""checks_recorded":{expected}"#)),
            "{body}"
        );
    }
}

#[tokio::test]
async fn pages_render_on_the_server_with_live_data() {
    let (w, token) = signed_in().await;
    let router = w.dashboard.clone();
    let (status, html) = send(router.clone(), get("/system", &token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("metiva_app"),
        "SSR should include the resource's data"
    );
    assert!(
        html.contains(app::BUILD_VERSION),
        "footer shows the build version"
    );
    let (status, _) = send(router, get("/no/such/page", &token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversized_bodies_get_413_and_unknown_server_functions_404() {
    let (w, token) = signed_in().await;
    let router = w.dashboard.clone();
    let big = vec![b'a'; server::http::MAX_BODY_BYTES + 1];
    let (status, _) = send(
        router.clone(),
        post(
            "/api/run_database_check",
            &token,
            "application/x-www-form-urlencoded",
            big,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = send(
        router,
        post("/api/does_not_exist", &token, "application/json", "{}"),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
}

#[tokio::test]
async fn security_headers_are_set() {
    let (w, token) = signed_in().await;
    let router = w.dashboard.clone();
    let resp = tower::ServiceExt::oneshot(router, get("/", &token))
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn cross_site_writes_are_refused_and_same_origin_ones_pass() {
    let (w, token) = signed_in().await;
    let router = w.dashboard.clone();
    let with = |headers: &[(&'static str, &'static str)]| {
        let mut req = post(
            "/api/run_database_check",
            &token,
            "application/x-www-form-urlencoded",
            "",
        );
        let h = req.headers_mut();
        h.insert(
            header::HOST,
            header::HeaderValue::from_static("127.0.0.1:3000"),
        );
        for (k, v) in headers {
            h.insert(*k, header::HeaderValue::from_static(v));
        }
        req
    };
    let (status, _) = send(router.clone(), with(&[("origin", "http://evil.example")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(router.clone(), with(&[("sec-fetch-site", "cross-site")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(router.clone(), with(&[("origin", "null")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Same host and port, another scheme: another origin.
    let (status, _) = send(
        router.clone(),
        with(&[("origin", "https://127.0.0.1:3000")]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(router.clone(), with(&[("origin", "http://127.0.0.1:3001")])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = send(
        router.clone(),
        with(&[
            ("origin", "http://127.0.0.1:3000"),
            ("sec-fetch-site", "same-origin"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Nothing was written by the refused requests.
    assert!(body.contains(r#""checks_recorded":1"#), "{body}");
}

#[tokio::test]
async fn the_isolation_status_is_read_live_from_the_catalog() {
    use diesel_async::SimpleAsyncConnection;
    let (w, token) = signed_in().await;
    let router = w.dashboard.clone();
    let (status, body) = call(router.clone(), &token, "isolation_status").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""isolated":true"#), "{body}");
    assert!(
        body.contains("metiva_app: not a superuser, cannot bypass RLS"),
        "{body}"
    );
    // Break a rule behind the app's back: the very next read says so.
    let mut owner = w.tdb.connect_as("metiva_owner").await;
    owner
        .batch_execute("ALTER TABLE deals NO FORCE ROW LEVEL SECURITY")
        .await
        .unwrap();
    let (_, body) = call(router, &token, "isolation_status").await;
    assert!(
        body.contains("public.deals: row-level security is not forced"),
        "{body}"
    );
}

/// A record page for a missing id and for another workspace's record
/// answer the same real 404: the page never hints that the other exists.
#[tokio::test]
async fn missing_and_foreign_records_are_the_same_404() {
    use metiva_db::repo::{deals, persons};
    let w = World::new().await;
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    let brouwer = metiva_db::CompanyId::parse(BROUWER).unwrap();
    let devries = metiva_db::CompanyId::parse(DE_VRIES).unwrap();
    let (fp, fd) = w
        .owner_db
        .tenant_read(&brouwer, async |tc| {
            Ok((persons::list(tc, 1).await?, deals::list(tc, 1).await?))
        })
        .await
        .unwrap();
    let (op, od) = w
        .owner_db
        .tenant_read(&devries, async |tc| {
            Ok((persons::list(tc, 1).await?, deals::list(tc, 1).await?))
        })
        .await
        .unwrap();
    let get = |p: String| crate::world::get_with(&p, &[("metiva_session", &token)]);
    for (kind, foreign, own, message) in [
        (
            "persons",
            fp[0].id,
            op[0].id,
            "No such person in this workspace.",
        ),
        (
            "deals",
            fd[0].id,
            od[0].id,
            "No such deal in this workspace.",
        ),
    ] {
        let missing = crate::world::call(
            &w.dashboard,
            get(format!("/{kind}/{}", uuid::Uuid::new_v4())),
        )
        .await;
        let other = crate::world::call(&w.dashboard, get(format!("/{kind}/{foreign}"))).await;
        let mine = crate::world::call(&w.dashboard, get(format!("/{kind}/{own}"))).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{kind}");
        assert_eq!(other.status, StatusCode::NOT_FOUND, "{kind}");
        assert_eq!(mine.status, StatusCode::OK, "{kind}");
        assert!(missing.body.contains(message) && other.body.contains(message));
        assert_eq!(
            missing.body.len(),
            other.body.len(),
            "{kind}: the bodies differ"
        );
        // Not an id at all: the same answer, never a 500.
        let junk = crate::world::call(&w.dashboard, get(format!("/{kind}/not-an-id"))).await;
        assert_eq!(junk.status, StatusCode::NOT_FOUND, "{kind}: {}", junk.body);
    }
}

/// The System page needs `security.manage`: only roles that hold it are
/// offered the link.
#[tokio::test]
async fn the_system_link_is_offered_only_with_security_manage() {
    let w = World::new().await;
    for (email, offered) in [
        ("owner@devries.example", true),
        ("viewer@devries.example", false),
        ("sales@devries.example", false),
    ] {
        let token = w.sign_in(email, DE_VRIES).await;
        let r = crate::world::call(
            &w.dashboard,
            crate::world::get_with("/persons", &[("metiva_session", &token)]),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{email}");
        assert_eq!(r.body.contains("href=\"/system\""), offered, "{email}");
    }
}
