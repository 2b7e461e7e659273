//! `POST /webhooks/stripe/{endpoint}`: Stripe's webhook deliveries, one
//! endpoint id per workspace connection. Public, outside the tenant guard
//! and the same-origin rule (Stripe posts server to server).
//!
//! # Security
//! - The body is read raw, at most [`MAX_WEBHOOK_BODY`] bytes (413
//!   beyond), and the signature is checked over exactly those bytes
//!   before anything parses them (`metiva_db::billing::events`).
//! - The company comes only from the endpoint id, through the directory
//!   function behind `Database::stripe_endpoint_company`: an unknown,
//!   malformed or suspended endpoint is a 404 and nothing else happens.
//! - A bad signature is a 400 with a reason (missing, malformed, stale,
//!   no v1, mismatch) that says nothing about the secret.
//! - 2xx only after the event is committed (stored and applied); a
//!   database that cannot take it answers 503, so Stripe retries.
//! - Logs name the endpoint's company and the outcome, never the body.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use metiva_db::billing::events::WebhookOutcome;
use metiva_db::{Database, DbError};
use metiva_security::cipher::KeyRing;

use super::error::AppError;

/// The largest webhook body accepted (Stripe's events are far smaller).
pub const MAX_WEBHOOK_BODY: usize = 256 * 1024;

/// What the webhook route needs.
pub struct Webhooks {
    db: Database,
    keys: Arc<KeyRing>,
}

/// The public webhook routes.
pub fn webhooks_router(db: Database, keys: Arc<KeyRing>) -> Router {
    Router::new()
        .route("/webhooks/stripe/{endpoint}", post(post_stripe))
        .with_state(Arc::new(Webhooks { db, keys }))
}

async fn post_stripe(
    State(w): State<Arc<Webhooks>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        AppError::too_large(format!(
            "Payload too large: the limit is {MAX_WEBHOOK_BODY} bytes."
        ))
        .into_response()
    };
    if announced.is_some_and(|n| n > MAX_WEBHOOK_BODY as u64) {
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_WEBHOOK_BODY).await else {
        return too_large();
    };
    let company = match w.db.stripe_endpoint_company(&endpoint).await {
        Ok(Some(c)) => c,
        Ok(None) => return AppError::not_found("No such webhook endpoint.").into_response(),
        Err(e) => return db_failure(&e),
    };
    // A header that is not visible ASCII is as good as malformed: the
    // verifier sees an empty (malformed) value, never a guess.
    let signature = headers
        .get("stripe-signature")
        .map(|v| v.to_str().unwrap_or(""));
    let now = chrono::Utc::now().timestamp();
    let outcome =
        w.db.receive_stripe_webhook(&company, &w.keys, signature, &bytes, now)
            .await;
    match outcome {
        Ok(WebhookOutcome::Stored) => {
            tracing::info!(company = company.as_str(), "stripe event stored");
            (
                StatusCode::OK,
                axum::Json(serde_json::json!({"received": true})),
            )
                .into_response()
        }
        Ok(WebhookOutcome::Duplicate) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"received": true, "duplicate": true})),
        )
            .into_response(),
        Ok(WebhookOutcome::BadSignature(e)) => {
            tracing::info!(company = company.as_str(), reason = ?e, "stripe signature refused");
            AppError::bad_request(e.message())
                .with_code("bad_signature")
                .into_response()
        }
        Ok(WebhookOutcome::BadPayload(why)) => AppError::bad_request(why).into_response(),
        Ok(WebhookOutcome::NotConnected) => {
            AppError::not_found("No such webhook endpoint.").into_response()
        }
        Err(e) => db_failure(&e),
    }
}

/// 503 when the database is away (Stripe retries), else an opaque 500.
fn db_failure(e: &DbError) -> Response {
    match e {
        DbError::Unavailable(_) => {
            AppError::unavailable("The event could not be stored now; retry later.").into_response()
        }
        other => AppError::internal("-", other).into_response(),
    }
}
