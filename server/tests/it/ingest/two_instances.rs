//! Two instances as one (issue 19): a site disabled through instance A
//! stops ingest on instance B within 1 s (LISTEN/NOTIFY on
//! `metiva_cache`), although B's cache would otherwise keep the site for
//! up to a minute; and with its listener unreachable an instance falls
//! back to the short TTL instead.

use std::time::{Duration, Instant};

use server::http::guard::DashboardAuth;

use super::*;

async fn wait_trusted(auth: &DashboardAuth, want: bool) {
    let bus = auth.db.cache_bus();
    for _ in 0..500 {
        if bus.is_trusted() == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the cache bus never became trusted={want}");
}

/// Sends events to `router` until one is refused; the time it took.
async fn until_refused(router: &axum::Router, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let r = collect(router, page_view(None)).await;
        if r.status == StatusCode::NOT_FOUND {
            return started.elapsed();
        }
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
        assert!(
            started.elapsed() < limit,
            "still accepted after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_site_disabled_on_a_stops_ingest_on_b_within_a_second() {
    let w = World::new().await;
    let (auth_b, b) = w.second_dashboard().await;
    wait_trusted(&w.auth, true).await;
    wait_trusted(&auth_b, true).await;
    // B caches the site (the first event looks it up).
    for _ in 0..3 {
        let r = collect(&b, page_view(None)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    }
    let received = auth_b.db.cache_bus().received();
    // Disabled through A's API (the trigger notifies in A's transaction).
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let site: String = q(
        &w,
        DE_VRIES,
        &format!("SELECT id::text FROM sites WHERE site_key = '{KEY}'"),
    )
    .await[0]
        .get(0);
    let r = call(
        &w.dashboard,
        post_form(
            &format!("/api/sites/{site}/disable"),
            &[("metiva_session", &owner)],
            &[],
        ),
    )
    .await;
    assert!(
        r.status.is_success() || r.status.is_redirection(),
        "{}: {}",
        r.status,
        r.body
    );
    assert_eq!(
        count(
            &w,
            DE_VRIES,
            &format!("SELECT count(*) FROM sites WHERE site_key = '{KEY}' AND NOT enabled")
        )
        .await,
        1
    );
    let took = until_refused(&b, Duration::from_secs(1)).await;
    assert!(auth_b.db.cache_bus().received() > received);
    eprintln!("site disabled on A, refused on B after {took:?}");
    // Re-enabled: B accepts again at once (the unknown-key cache is
    // dropped too).
    q(&w, DE_VRIES, "UPDATE sites SET enabled = true").await;
    let started = Instant::now();
    loop {
        let r = collect(&b, page_view(None)).await;
        if r.status == StatusCode::NO_CONTENT {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(1), "{}", r.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The listener cannot connect (as behind a transaction-mode pooler
/// without `DATABASE_LISTEN_URL`, or the server unreachable): the bus
/// stays untrusted and the site cache keeps its short TTL, so a disabled
/// site is still refused within `KNOWN_TTL` (5 s), never the minute a
/// trusted cache may keep it.
#[tokio::test]
async fn without_a_listener_the_short_ttl_is_the_fallback() {
    let w = World::new().await;
    let config = crate::test_config(&w.tdb.app_url());
    let db = metiva_db::Database::connect(&w.tdb.app_url(), &metiva_testkit::pool_settings())
        .unwrap()
        .with_listen_url("postgres://metiva_app@127.0.0.1:9/nowhere")
        .unwrap();
    let auth = DashboardAuth::new(&config, db, &crate::world::keys());
    let router = dashboard_router_with(&config, auth.clone());
    let r = collect(&router, page_view(None)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!auth.db.cache_bus().is_trusted());
    q(&w, DE_VRIES, "UPDATE sites SET enabled = false").await;
    let took = until_refused(&router, Duration::from_secs(6)).await;
    assert!(
        took > Duration::from_millis(500),
        "refused after {took:?}: the TTL, not a notification"
    );
    eprintln!("without a listener: refused after {took:?} (KNOWN_TTL 5 s)");
}

/// The security facts (catalog lint and posture, cached up to 60 s) are
/// dropped on every instance when a migration notifies 'facts'.
#[tokio::test]
async fn a_migration_elsewhere_drops_the_cached_facts() {
    let w = World::new().await;
    let b = w.tdb.database();
    b.follow_fact_changes();
    let bus = b.cache_bus();
    for _ in 0..500 {
        if bus.is_trusted() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(bus.is_trusted());
    let first = b.isolation_facts().await.unwrap().checked_at;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        b.isolation_facts().await.unwrap().checked_at,
        first,
        "cached"
    );
    // What `metiva migrate` sends after applying migrations.
    q(&w, DE_VRIES, "NOTIFY metiva_cache, 'facts'").await;
    let started = Instant::now();
    loop {
        if b.isolation_facts().await.unwrap().checked_at != first {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "facts still cached"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An instance whose listener goes through the pool's URL: trusted when
/// that is the server itself, never when it is a transaction-mode
/// PgBouncer (`METIVA_TEST_PG_MODE=pgbouncer`, as in CI), where LISTEN
/// cannot work; there the caches keep to their short TTLs.
#[tokio::test]
async fn a_listener_behind_a_transaction_pooler_is_never_trusted() {
    let w = World::new().await;
    let pooled = std::env::var("METIVA_TEST_PG_MODE").as_deref() == Ok("pgbouncer");
    // No `with_listen_url`: the listener uses the pool's URL.
    let db =
        metiva_db::Database::connect(&w.tdb.app_url(), &metiva_testkit::pool_settings()).unwrap();
    let bus = db.cache_bus();
    let mut trusted_at_some_point = false;
    for _ in 0..60 {
        trusted_at_some_point |= bus.is_trusted();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Past one full probe period (5 s) too.
    tokio::time::sleep(Duration::from_secs(3)).await;
    trusted_at_some_point |= bus.is_trusted();
    assert_eq!(trusted_at_some_point, !pooled, "pooled={pooled}");
}
