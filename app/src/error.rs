//! The one error type of every answer: JSON APIs, server functions and
//! pages. On the wire it is always the envelope
//! `{"error": {"code": "…", "message": "…"}}`, with the HTTP status set
//! explicitly from the code.
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
//! | `AppError::internal` (server only) | 500 | `internal` |
//! | [`AppError::unavailable`] | 503 | `unavailable` |
//!
//! [`AppError::with_code`] narrows the code (`reason_required`) without
//! changing the status.
//!
//! Server functions return `Result<T, AppError>`: constructing one inside
//! a server function also sets that response's status (server functions
//! otherwise answer every error 500), and the framework's own failures
//! (arguments that do not decode, an unreachable server) convert through
//! [`FromServerFnError`] into the same envelope. Pages show any of them
//! with the one [`ErrorView`].
//!
//! # Security
//! A 500 is opaque: the client gets the request id, never the cause, which
//! is logged once, with that id. Another tenant's row is `not_found`, never
//! `forbidden`: its existence is not revealed.

use std::borrow::Cow;
use std::fmt;

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::i18n::{current, tr};

/// An error answer: status, stable code, and a message safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    status: u16,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
    retry_after: Option<u64>,
}

impl AppError {
    fn new(status: u16, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        let e = Self {
            status,
            code: Cow::Borrowed(code),
            message: message.into(),
            retry_after: None,
        };
        e.set_response_status();
        e
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, "bad_request", message)
    }

    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(401, "unauthenticated", message)
    }

    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(403, "forbidden", message)
    }

    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(404, "not_found", message)
    }

    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(409, "conflict", message)
    }

    pub fn too_large(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(413, "payload_too_large", message)
    }

    pub fn validation(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(422, "validation", message)
    }

    pub fn rate_limited(message: impl Into<Cow<'static, str>>, retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(429, "rate_limited", message)
        }
    }

    pub fn unavailable(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(503, "unavailable", message)
    }

    /// A refusal whose status a domain's own table chose, under the code
    /// of that status.
    pub fn refusal(status: u16, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(status, code_for_status(status), message)
    }

    /// A narrower code for the same status (`reason_required`).
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Cow::Borrowed(code);
        self
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// Inside a server function, the response carries this error's
    /// status; anywhere else (a plain axum handler, the browser) nothing
    /// happens here.
    fn set_response_status(&self) {
        #[cfg(feature = "ssr")]
        if let (Some(opts), Ok(code)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::StatusCode::from_u16(self.status),
        ) {
            opts.set_status(code);
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// An opaque 500. The cause is logged here, once, with the request id;
    /// the client gets only the id to quote.
    pub fn internal(request_id: &str, cause: &dyn fmt::Display) -> Self {
        tracing::error!(request_id, error = %cause, "internal error");
        Self::new(
            500,
            "internal",
            format!(
                "Something went wrong on our side. Quote request {request_id} if you contact support."
            ),
        )
    }

    /// An opaque 500 inside a server function, with the request's own id.
    pub fn internal_here(cause: &dyn fmt::Display) -> Self {
        Self::internal(&crate::api::ssr::request_id(), cause)
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

/// The stable code a status is refused under.
pub fn code_for_status(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        413 => "payload_too_large",
        422 => "validation",
        429 => "rate_limited",
        500 => "internal",
        503 => "unavailable",
        _ => "refused",
    }
}

/// The status a code answers with (the inverse of [`code_for_status`];
/// narrowed codes such as `reason_required` are validation refusals).
pub fn status_for_code(code: &str) -> u16 {
    match code {
        "bad_request" => 400,
        "unauthenticated" => 401,
        "forbidden" => 403,
        "not_found" => 404,
        "conflict" => 409,
        "payload_too_large" => 413,
        "validation" | "reason_required" => 422,
        "rate_limited" => 429,
        "unavailable" => 503,
        _ => 500,
    }
}

/// The wire shape: `{"error": {"code": "…", "message": "…"}}`.
#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

#[derive(Deserialize)]
struct OwnedEnvelope {
    error: OwnedBody,
}

#[derive(Deserialize)]
struct OwnedBody {
    code: String,
    message: String,
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Envelope {
            error: Body {
                code: &self.code,
                message: &self.message,
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for AppError {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let e = OwnedEnvelope::deserialize(d)?;
        Ok(Self {
            status: status_for_code(&e.error.code),
            code: Cow::Owned(e.error.code),
            message: Cow::Owned(e.error.message),
            retry_after: None,
        })
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// The framework's own failures. Arguments that did not decode are the
    /// caller's fault (400, naming what was wrong); a server that could not
    /// be reached is unavailable (503); everything else is ours (500).
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        use ServerFnErrorErr as E;
        match value {
            E::Args(m) | E::MissingArg(m) => {
                Self::bad_request(format!("The request's arguments are malformed: {m}"))
            }
            E::Request(_) => Self::unavailable(
                "The server could not be reached. Check the connection and try again.",
            ),
            E::UnsupportedRequestMethod(_) | E::Registration(_) => {
                Self::not_found("No such server function.")
            }
            E::ServerError(_)
            | E::MiddlewareError(_)
            | E::Deserialization(_)
            | E::Serialization(_)
            | E::Response(_) => Self::new(500, "internal", "Something went wrong on our side."),
        }
    }
}

#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let mut resp = (status, axum::Json(self)).into_response();
        if let Some(secs) = retry_after
            && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        resp
    }
}

/// The one error view every page shows: a heading for the kind of
/// failure, the message, and the way on (sign in again, or back home).
#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    let l = current();
    let title = match error.status() {
        401 => tr(l, "Sign in first"),
        403 => tr(l, "Not allowed"),
        404 => tr(l, "Not found"),
        409 | 422 => tr(l, "That did not go through"),
        429 => tr(l, "Too many requests"),
        503 => tr(l, "Temporarily unavailable"),
        s if s >= 500 => tr(l, "Something went wrong"),
        _ => tr(l, "That did not go through"),
    };
    let way_on = match error.status() {
        401 | 403 => {
            view! { <a class="underline" href="/">{tr(l, "Sign in again")}</a> }.into_any()
        }
        _ => view! { <a class="underline" href="/">{tr(l, "Back to the overview")}</a> }.into_any(),
    };
    view! {
        <section class="rounded border border-rose-200 bg-rose-50 p-4" role="alert" data-error-code=error.code().to_string()>
            <h2 class="font-semibold text-rose-900">{title}</h2>
            <p class="mt-1 text-sm text-rose-800" data-testid="error-message">{error.message().to_string()}</p>
            <p class="mt-2 text-sm text-rose-900">{way_on}</p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_shape_is_the_envelope_and_round_trips() {
        let e = AppError::validation("Give a reason.").with_code("reason_required");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "reason_required", "message": "Give a reason."}})
        );
        let back: AppError = serde_json::from_value(json).unwrap();
        assert_eq!((back.status(), back.code()), (422, "reason_required"));
    }

    #[test]
    fn framework_failures_map_to_the_callers_or_our_fault() {
        let bad =
            AppError::from_server_fn_error(ServerFnErrorErr::Args("missing field `id`".into()));
        assert_eq!((bad.status(), bad.code()), (400, "bad_request"));
        assert!(bad.message().contains("missing field `id`"));
        let ours = AppError::from_server_fn_error(ServerFnErrorErr::Response("x".into()));
        assert_eq!((ours.status(), ours.code()), (500, "internal"));
        assert!(!ours.message().contains('x'));
    }

    #[test]
    fn every_status_code_pair_is_its_own_inverse() {
        for s in [400, 401, 403, 404, 409, 413, 422, 429, 500, 503] {
            assert_eq!(status_for_code(code_for_status(s)), s);
        }
    }
}
