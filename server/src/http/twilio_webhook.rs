//! `POST /webhooks/twilio/{endpoint}`: Twilio's SMS delivery-status
//! callbacks, one endpoint id per workspace (the `StatusCallback` the
//! `notify.sms` job gives Twilio). Public, outside the tenant guard and
//! the same-origin rule (Twilio posts server to server).
//!
//! # Security
//! - The body is read raw, at most [`MAX_CALLBACK_BODY`] bytes (413
//!   beyond), and parsed as form fields only to check the signature.
//! - The company comes only from the endpoint id (directory function,
//!   active companies only): unknown or malformed is a 404.
//! - The signature is checked against the public URL rebuilt from
//!   `METIVA_APP_URL` and this route's path, never from `Host`,
//!   `X-Forwarded-*` or the request's scheme: what a proxy does to the
//!   request cannot change what is verified, and a request cannot pick
//!   the URL it is checked against. Constant-time, with that workspace's
//!   own auth token (`metiva_db::alerts::twilio`).
//! - A bad or missing signature is a 403 with one message for every
//!   cause, and nothing is recorded.
//! - Logs name the company and the outcome, never the body (it holds
//!   phone numbers).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use metiva_db::alerts::twilio::{StatusOutcome, callback_url, parse_form};
use metiva_db::{Database, DbError};
use metiva_security::cipher::KeyRing;

use super::error::AppError;

/// The largest callback body accepted (Twilio's are about 1 KB).
pub const MAX_CALLBACK_BODY: usize = 64 * 1024;

struct TwilioCallbacks {
    db: Database,
    keys: Arc<KeyRing>,
    /// `METIVA_APP_URL`, the public origin Twilio was given.
    app_url: String,
}

/// The Twilio status-callback route.
pub fn twilio_router(db: Database, keys: Arc<KeyRing>, app_url: &str) -> Router {
    Router::new()
        .route("/webhooks/twilio/{endpoint}", post(post_status))
        .with_state(Arc::new(TwilioCallbacks {
            db,
            keys,
            app_url: app_url.to_string(),
        }))
}

async fn post_status(
    State(w): State<Arc<TwilioCallbacks>>,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let too_large = || {
        AppError::too_large(format!(
            "Payload too large: the limit is {MAX_CALLBACK_BODY} bytes."
        ))
        .into_response()
    };
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_CALLBACK_BODY as u64) {
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_CALLBACK_BODY).await else {
        return too_large();
    };
    let company = match w.db.twilio_endpoint_company(&endpoint).await {
        Ok(Some(c)) => c,
        Ok(None) => return AppError::not_found("No such webhook endpoint.").into_response(),
        Err(e) => return db_failure(&e),
    };
    let params = parse_form(&bytes);
    // A header that is not visible ASCII is as good as missing.
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok());
    // The endpoint id was checked for shape by the lookup (twe_ + hex),
    // so it is safe to place in the URL as it is.
    let url = callback_url(&w.app_url, &endpoint);
    match w
        .db
        .receive_twilio_status(&company, &w.keys, &url, &params, signature)
        .await
    {
        Ok(StatusOutcome::Recorded | StatusOutcome::UnknownMessage) => {
            tracing::info!(company = company.as_str(), "twilio status received");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(StatusOutcome::Refused) => {
            tracing::info!(company = company.as_str(), "twilio signature refused");
            AppError::forbidden("The request signature is missing or not valid.")
                .with_code("bad_signature")
                .into_response()
        }
        Ok(StatusOutcome::BadPayload(why)) => AppError::bad_request(why).into_response(),
        Err(e) => db_failure(&e),
    }
}

/// 503 when the database is away (Twilio retries), else an opaque 500.
fn db_failure(e: &DbError) -> Response {
    match e {
        DbError::Unavailable(_) => {
            AppError::unavailable("The status could not be stored now; retry later.")
                .into_response()
        }
        other => AppError::internal("-", other).into_response(),
    }
}
