//! Liveness and readiness, served by every listener.
//!
//! `/healthz` answers as long as the process can serve. `/readyz` asks the
//! database, with a short timeout, so a load balancer stops sending traffic
//! while PostgreSQL is down; it recovers by itself because the pool opens
//! fresh connections once the server is back.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use metiva_db::Database;
use serde_json::{Value, json};

pub fn routes(db: Database) -> Router {
    Router::new()
        .route("/healthz", get(get_healthz))
        .route("/readyz", get(get_readyz))
        .with_state(db)
}

async fn get_healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn get_readyz(State(db): State<Database>) -> (StatusCode, Json<Value>) {
    match tokio::time::timeout(Duration::from_secs(2), db.ping()).await {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": "ok" })),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "database": "timeout" })),
        ),
    }
}
