use std::time::Duration;

use axum::http::StatusCode;
use metiva_db::{Database, PoolSettings, bootstrap};
use metiva_embedded_pg::{Cluster, SUPERUSER};
use metiva_testkit::scratch_dir;

use crate::{get, send};

#[tokio::test]
async fn healthz_and_readyz_answer_on_both_listeners() {
    let w = crate::world::World::new().await;
    for router in [w.dashboard.clone(), w.login.clone()] {
        let (status, body) = send(router.clone(), get("/healthz")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = send(router, get("/readyz")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.contains("ready"), "{body}");
    }
}

/// `/readyz` says 503 while PostgreSQL is down and recovers by itself once
/// it is back, with the same router and pool: no restart of the app.
#[tokio::test]
async fn readyz_recovers_after_a_database_restart() {
    let dir = scratch_dir("readyz");
    let mut cluster = tokio::task::spawn_blocking(move || Cluster::start(&dir))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    cluster
        .stop_when_process_exits(true)
        .unwrap_or_else(|e| panic!("{e}"));
    bootstrap::bootstrap_as_superuser(&cluster.url(SUPERUSER, "postgres"), "metiva")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let settings = PoolSettings {
        max_size: 2,
        timeout: Duration::from_millis(500),
        ..PoolSettings::default()
    };
    let db = Database::connect(&cluster.url(bootstrap::APP_ROLE, "metiva"), &settings)
        .unwrap_or_else(|e| panic!("{e}"));
    let config = crate::test_config("postgres://unused@localhost/x");
    let router = server::http::dashboard_router(&config, db, &crate::world::keys());

    assert_eq!(send(router.clone(), get("/readyz")).await.0, StatusCode::OK);

    let mut cluster = tokio::task::spawn_blocking(move || cluster.stop().map(|()| cluster))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = send(router.clone(), get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // Liveness is unaffected: the process is fine, only the database is not.
    assert_eq!(
        send(router.clone(), get("/healthz")).await.0,
        StatusCode::OK
    );

    let _cluster = tokio::task::spawn_blocking(move || cluster.restart().map(|()| cluster))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut recovered = false;
    for _ in 0..20 {
        if send(router.clone(), get("/readyz")).await.0 == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        recovered,
        "readyz did not recover after the database came back"
    );
}
