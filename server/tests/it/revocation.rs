//! Revocation is immediate, across instances: a change made through
//! dashboard A is seen by the member's very next request on dashboard B,
//! each with its own membership cache, kept honest by LISTEN/NOTIFY.

use std::time::Duration;

use axum::http::StatusCode;
use diesel_async::SimpleAsyncConnection;

use crate::world::{DE_VRIES, World, api, call, post_form};

#[tokio::test]
async fn changes_through_instance_a_reach_instance_b_on_the_next_request() {
    let w = World::new().await;
    let (auth_b, b) = w.second_dashboard().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let member = w.sign_in("sales@devries.example", DE_VRIES).await;
    let sales = w.user_id("sales@devries.example").await;
    let act = |action: &str, role: &str| {
        post_form(
            &format!("/api/members/{sales}/{action}"),
            &[("metiva_session", &owner)],
            &[("role", role)],
        )
    };
    let session_on_b = async || call(&b, api("session", Some(&member))).await;

    // Warm B's cache until a request is a hit (a notification of the
    // sign-ins above may still arrive and clear it once, under load).
    for _ in 0..40 {
        let r = session_on_b().await;
        assert!(r.body.contains(r#""role":"sales""#), "{}", r.body);
        if auth_b.cache.stats().hits >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(auth_b.cache.stats().hits >= 1);

    // Role change through A; B's very next request reflects it.
    let r = call(&w.dashboard, act("role", "viewer")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = session_on_b().await;
    assert!(r.body.contains(r#""role":"viewer""#), "{}", r.body);

    // Suspension, reactivation, sign-out everywhere, removal.
    assert_eq!(
        call(&w.dashboard, act("suspend", "")).await.status,
        StatusCode::OK
    );
    assert_eq!(session_on_b().await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        call(&w.dashboard, act("reactivate", "")).await.status,
        StatusCode::OK
    );
    assert_eq!(session_on_b().await.status, StatusCode::OK);
    assert_eq!(session_on_b().await.status, StatusCode::OK);
    assert_eq!(
        call(&w.dashboard, act("sign-out-everywhere", ""))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(session_on_b().await.status, StatusCode::FORBIDDEN);
    let member = w.sign_in("sales@devries.example", DE_VRIES).await;
    assert_eq!(
        call(&b, api("session", Some(&member))).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&b, api("session", Some(&member))).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&w.dashboard, act("remove", "")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&b, api("session", Some(&member))).await.status,
        StatusCode::FORBIDDEN
    );
    assert!(auth_b.cache.stats().invalidations >= 5);
}

#[tokio::test]
async fn with_the_listener_down_the_cache_is_bypassed() {
    let w = World::new().await;
    let (auth_b, b) = w.second_dashboard().await;
    let member = w.sign_in("marketing@devries.example", DE_VRIES).await;
    assert_eq!(
        call(&b, api("session", Some(&member))).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&b, api("session", Some(&member))).await.status,
        StatusCode::OK
    );
    // Kill every listener connection.
    let mut su = w.tdb.connect_as("postgres").await;
    su.batch_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'metiva-access-listener'",
    )
    .await
    .unwrap();
    let mut down = false;
    for _ in 0..200 {
        if !auth_b.cache.is_trusted() {
            down = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(down, "the cache noticed its listener is gone");
    // Untrusted: every request goes to the database.
    let misses = auth_b.cache.stats().misses;
    assert_eq!(
        call(&b, api("session", Some(&member))).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(&b, api("session", Some(&member))).await.status,
        StatusCode::OK
    );
    if !auth_b.cache.is_trusted() {
        assert!(auth_b.cache.stats().misses >= misses + 2);
    }
    // It reconnects by itself and starts empty.
    w.wait_for_listener(&auth_b).await;
    assert_eq!(
        call(&b, api("session", Some(&member))).await.status,
        StatusCode::OK
    );
}

/// A listener that answers queries but hears nothing (its URL names
/// another database, and notifications are per database; a transaction
/// pooler is the other way to get there) is never trusted: its probe
/// never comes back, so the membership cache is bypassed and no
/// revocation can be missed.
#[tokio::test]
async fn a_deaf_listener_is_never_trusted() {
    let w = World::new().await;
    let elsewhere = metiva_testkit::TestDb::new().await;
    let config = crate::test_config(&w.tdb.app_url());
    let db = metiva_db::Database::connect(&w.tdb.app_url(), &metiva_testkit::pool_settings())
        .unwrap()
        .with_listen_url(&elsewhere.listen_url())
        .unwrap();
    let auth = server::http::guard::DashboardAuth::new(&config, db, &crate::world::keys());
    let b = server::http::dashboard_router_with(&config, auth.clone());
    let member = w.sign_in("marketing@devries.example", DE_VRIES).await;
    // Past the probe's 2 s deadline.
    for _ in 0..30 {
        let r = call(&b, api("session", Some(&member))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!auth.cache.is_trusted());
    assert_eq!(auth.cache.stats().hits, 0);
}
