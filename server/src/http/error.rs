//! The one error shape of every JSON answer:
//! `{"error": {"code": "…", "message": "…"}}`, with the HTTP status set
//! explicitly.
//!
//! | constructor | status | code |
//! |---|---|---|
//! | [`AppError::bad_request`] | 400 | `bad_request` |
//! | [`AppError::unauthenticated`] | 401 | `unauthenticated` |
//! | [`AppError::forbidden`] | 403 | `forbidden` |
//! | [`AppError::not_found`] | 404 | `not_found` |
//! | [`AppError::conflict`] | 409 | `conflict` |
//! | [`AppError::too_large`] | 413 | `payload_too_large` |
//! | [`AppError::validation`] | 422 | `validation` |
//! | [`AppError::rate_limited`] | 429 | `rate_limited` (with `Retry-After`) |
//! | [`AppError::internal`] | 500 | `internal` |
//! | [`AppError::unavailable`] | 503 | `unavailable` |
//!
//! [`AppError::with_code`] narrows the code (`reason_required`) without
//! changing the status.
//!
//! # Security
//! A 500 is opaque: the client gets the request id, never the cause, which
//! is logged once, with that id. Another tenant's row is `not_found`, never
//! `forbidden`: its existence is not revealed.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    retry_after: Option<u64>,
}

impl AppError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn too_large(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub fn validation(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", message)
    }

    pub fn rate_limited(message: impl Into<Cow<'static, str>>, retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }

    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// An opaque 500. The cause is logged here, once, with the request id;
    /// the client gets only the id to quote.
    pub fn internal(request_id: &str, cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(request_id, error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!(
                "Something went wrong on our side. Quote request {request_id} if you contact support."
            ),
        )
    }

    /// A refusal whose status a domain's own table chose (a 4xx), under
    /// the code of that status.
    pub fn refusal(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        let code = match status.as_u16() {
            400 => "bad_request",
            401 => "unauthenticated",
            403 => "forbidden",
            404 => "not_found",
            409 => "conflict",
            413 => "payload_too_large",
            422 => "validation",
            429 => "rate_limited",
            503 => "unavailable",
            _ => "refused",
        };
        Self::new(status, code, message)
    }

    /// A narrower code for the same status (`reason_required`).
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        });
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: AppError) -> (StatusCode, serde_json::Value, Option<String>) {
        let resp = e.into_response();
        let status = resp.status();
        let retry = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or_default(),
            retry,
        )
    }

    /// Every status class answers the one envelope, with its code.
    #[tokio::test]
    async fn every_class_has_the_envelope() {
        let cases = [
            (AppError::bad_request("b"), 400, "bad_request"),
            (AppError::unauthenticated("u"), 401, "unauthenticated"),
            (AppError::forbidden("f"), 403, "forbidden"),
            (AppError::not_found("n"), 404, "not_found"),
            (AppError::conflict("c"), 409, "conflict"),
            (AppError::too_large("t"), 413, "payload_too_large"),
            (AppError::validation("v"), 422, "validation"),
            (AppError::rate_limited("r", 3), 429, "rate_limited"),
            (
                AppError::internal("req-1", &"secret cause"),
                500,
                "internal",
            ),
            (AppError::unavailable("d"), 503, "unavailable"),
        ];
        for (e, status, code) in cases {
            let (s, json, retry) = body(e).await;
            assert_eq!(s.as_u16(), status);
            assert_eq!(json["error"]["code"], code, "{json}");
            assert!(json["error"]["message"].is_string(), "{json}");
            assert_eq!(json.as_object().map(|o| o.len()), Some(1), "{json}");
            assert_eq!(retry.is_some(), status == 429);
        }
        let (_, json, _) = body(AppError::internal("req-1", &"secret cause")).await;
        let msg = json["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("req-1") && !msg.contains("secret"), "{msg}");
        let (s, json, _) = body(AppError::validation("x").with_code("reason_required")).await;
        assert_eq!(
            (s.as_u16(), &json["error"]["code"]),
            (422, &"reason_required".into())
        );
    }
}
