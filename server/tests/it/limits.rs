//! The abuse limits through the real routers: 429 with `Retry-After`, then
//! recovery once the bucket refills; keys are the resolved client address
//! (never a forged `X-Forwarded-For`), the site key, and the workspace.

use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use server::http::{dashboard_router_with, login_router};
use server::limits::{LimitSettings, Rate};

use crate::world::{DE_VRIES, World, call, get_with, post_form};

const KEY: &str = metiva_db::seed::DEMO_SITE_KEY;
const ORIGIN: &str = "http://127.0.0.1:5173";

/// `count` per `ms` milliseconds.
fn rate(count: u32, ms: u64) -> Option<Rate> {
    Some(Rate {
        count,
        per: Duration::from_millis(ms),
    })
}

/// Sleeps for a `Retry-After` answer plus a margin. The rates above refill
/// one token per 5 s or slower, so a loaded CI machine (a slow first
/// request) cannot refill a bucket before the test expects the 429.
async fn wait_out(retry_after_secs: u64) {
    tokio::time::sleep(Duration::from_millis(retry_after_secs * 1_000 + 150)).await;
}

fn collect_from(ip: &str, forwarded: Option<&str>) -> Request<Body> {
    let body =
        serde_json::json!({"type":"pageview","site":KEY,"path":"/","referrer":null,"visitor":null});
    let mut b = Request::post("/collect")
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .header(header::ORIGIN, ORIGIN);
    if let Some(f) = forwarded {
        b = b.header("x-forwarded-for", f);
    }
    let mut req = b.body(Body::from(body.to_string())).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(std::net::SocketAddr::new(
            ip.parse().unwrap(),
            40_000,
        )));
    req
}

fn retry_after(r: &crate::world::Resp) -> u64 {
    r.headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", r.headers))
}

#[tokio::test]
async fn ingest_per_client_then_recovery() {
    let w = World::new().await;
    let config = server::config::Config {
        limits: LimitSettings {
            ingest_per_ip: rate(3, 15_000),
            ..LimitSettings::off()
        },
        ..crate::test_config(&w.tdb.app_url())
    };
    let router = dashboard_router_with(&config, w.auth.clone());
    for i in 0..3 {
        let r = call(&router, collect_from("198.51.100.7", None)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "event {i}: {}", r.body);
    }
    let r = call(&router, collect_from("198.51.100.7", None)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let wait = retry_after(&r);
    assert!((1..=5).contains(&wait), "{wait}");
    assert!(r.body.contains("Too many events"), "{}", r.body);
    // With no trusted proxy a forged X-Forwarded-For changes nothing.
    let r = call(&router, collect_from("198.51.100.7", Some("203.0.113.1"))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Another client has its own bucket.
    let r = call(&router, collect_from("198.51.100.8", None)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    // One token back once Retry-After has passed.
    wait_out(wait).await;
    let r = call(&router, collect_from("198.51.100.7", None)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "recovered: {}", r.body);
}

#[tokio::test]
async fn behind_a_proxy_the_resolved_client_is_the_key() {
    let w = World::new().await;
    let config = server::config::Config {
        trusted_proxy_hops: 1,
        limits: LimitSettings {
            ingest_per_ip: rate(2, 60_000),
            ..LimitSettings::off()
        },
        ..crate::test_config(&w.tdb.app_url())
    };
    let router = dashboard_router_with(&config, w.auth.clone());
    // All through one proxy (the TCP peer); the clients differ.
    for client in ["192.0.2.10", "192.0.2.10"] {
        let r = call(&router, collect_from("10.0.0.1", Some(client))).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }
    let r = call(&router, collect_from("10.0.0.1", Some("192.0.2.10"))).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // A client-written entry further left is not the key.
    let r = call(
        &router,
        collect_from("10.0.0.1", Some("192.0.2.99, 192.0.2.10")),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let r = call(&router, collect_from("10.0.0.1", Some("192.0.2.11"))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
}

#[tokio::test]
async fn ingest_per_site_key_and_the_snippet() {
    let w = World::new().await;
    let config = server::config::Config {
        limits: LimitSettings {
            ingest_per_site: rate(4, 60_000),
            ..LimitSettings::off()
        },
        ..crate::test_config(&w.tdb.app_url())
    };
    let router = dashboard_router_with(&config, w.auth.clone());
    for i in 0..3 {
        let r = call(
            &router,
            collect_from(&format!("198.51.100.{}", 20 + i), None),
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }
    // The snippet counts against the same site.
    let mut snippet = get_with(&format!("/s/{KEY}/snippet.js"), &[]);
    snippet
        .extensions_mut()
        .insert(ConnectInfo(std::net::SocketAddr::from((
            [198, 51, 100, 30],
            1,
        ))));
    let r = call(&router, snippet).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = call(&router, collect_from("198.51.100.40", None)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("for this site"), "{}", r.body);
    assert!(retry_after(&r) >= 1);
}

#[tokio::test]
async fn sign_in_posts_per_client() {
    let w = World::new().await;
    let config = server::config::Config {
        limits: LimitSettings {
            login_per_ip: rate(2, 10_000),
            ..LimitSettings::off()
        },
        ..crate::test_config(&w.tdb.app_url())
    };
    let login = login_router(w.login_service.clone(), &config, w.tdb.database());
    let attempt = || {
        let mut req = post_form(
            "/login",
            &[],
            &[
                ("email", "nobody@example.com"),
                ("password", "wrong-password"),
            ],
        );
        req.extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from((
                [192, 0, 2, 50],
                1,
            ))));
        req
    };
    for _ in 0..2 {
        let r = call(&login, attempt()).await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    }
    let r = call(&login, attempt()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let wait = retry_after(&r);
    assert!((1..=5).contains(&wait), "{wait}");
    // Pages stay free: the form itself still loads.
    let mut page = get_with("/login", &[]);
    page.extensions_mut()
        .insert(ConnectInfo(std::net::SocketAddr::from((
            [192, 0, 2, 50],
            1,
        ))));
    assert_ne!(
        call(&login, page).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    wait_out(wait).await;
    let r = call(&login, attempt()).await;
    assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "recovered");
}

#[tokio::test]
async fn exports_and_the_self_test_per_workspace() {
    let w = World::new().await;
    let config = server::config::Config {
        limits: LimitSettings {
            exports_per_workspace: rate(2, 10_000),
            self_test_per_workspace: rate(1, 60_000),
            ..LimitSettings::off()
        },
        ..crate::test_config(&w.tdb.app_url())
    };
    let router = dashboard_router_with(&config, w.auth.clone());
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let admin = w.sign_in("admin@devries.example", DE_VRIES).await;
    let export = |token: &str| get_with("/persons.csv", &[("metiva_session", token)]);
    assert_eq!(call(&router, export(&owner)).await.status, StatusCode::OK);
    assert_eq!(call(&router, export(&admin)).await.status, StatusCode::OK);
    // The workspace's budget is shared by its members.
    let r = call(&router, export(&owner)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let wait = retry_after(&r);
    assert!((1..=5).contains(&wait), "{wait}");
    // Another workspace is unaffected.
    let other = w
        .sign_in("owner@brouwer.example", crate::world::BROUWER)
        .await;
    assert_eq!(call(&router, export(&other)).await.status, StatusCode::OK);
    wait_out(wait).await;
    assert_eq!(call(&router, export(&owner)).await.status, StatusCode::OK);

    // The self-test: once, then a JSON 429 naming when to retry.
    let self_test = || crate::world::api("run_self_test", Some(&owner));
    let first = call(&router, self_test()).await;
    assert_ne!(
        first.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        first.body
    );
    let r = call(&router, self_test()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.body.contains("\"error\""), "{}", r.body);
    assert!(retry_after(&r) >= 50, "{:?}", r.headers);
}

fn walkthrough_from(ip: &str, accept: &str) -> Request<Body> {
    let mut req = Request::post("/trust/walkthrough")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, accept)
        .header(header::ORIGIN, crate::world::APP_URL)
        // Missing fields: a 422 the limiter counts like any other post.
        .body(Body::from("name=&email=x"))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(std::net::SocketAddr::new(
            ip.parse().unwrap(),
            40_000,
        )));
    req
}

/// The Trust Center's public form: per client address, 429 with
/// Retry-After and a message in both languages, pages stay free, other
/// clients keep their own bucket, and the bucket refills.
#[tokio::test]
async fn trust_walkthrough_per_client_then_recovery() {
    let w = World::new().await;
    let config = server::config::Config {
        limits: LimitSettings {
            walkthrough_per_ip: rate(2, 10_000),
            ..LimitSettings::off()
        },
        ..crate::test_config(&w.tdb.app_url())
    };
    let router = dashboard_router_with(&config, w.auth.clone());
    for i in 0..2 {
        let r = call(&router, walkthrough_from("198.51.100.40", "text/html")).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "post {i}: {}",
            r.body
        );
    }
    let r = call(&router, walkthrough_from("198.51.100.40", "text/html")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    let wait = retry_after(&r);
    assert!((1..=5).contains(&wait), "{wait}");
    assert!(
        r.body.contains("Too many walkthrough requests"),
        "{}",
        r.body
    );
    assert!(r.body.contains("Te veel aanvragen"), "{}", r.body);
    // A script (JSON) gets the same refusal in the JSON envelope.
    let r = call(
        &router,
        walkthrough_from("198.51.100.40", "application/json"),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // Reading the page is never limited.
    let r = call(&router, get_with("/trust", &[])).await;
    assert_eq!(r.status, StatusCode::OK);
    // Another client has its own bucket.
    let r = call(&router, walkthrough_from("198.51.100.41", "text/html")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    wait_out(wait).await;
    let r = call(&router, walkthrough_from("198.51.100.40", "text/html")).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "recovered: {}",
        r.body
    );
}
