//! Logs and the per-request span.
//!
//! - Production (`METIVA_ENV=production`) logs JSON, one line per event on
//!   stderr: `timestamp`, `level`, `target`, the event's fields, and the
//!   enclosing spans (`spans`), among them the request span with its
//!   `request_id`, `route` template and, once the tenant guard has bound
//!   one, `company_id`. Development logs human-readable lines.
//! - Every request gets one line when it ends (method, route template,
//!   status, latency) and its metrics (see `metrics`).
//!
//! # Security
//! Logs never carry personal data or secrets: the request line names the
//! route *template* (`/api/visits/{id}/reveal`), never the path, query,
//! headers, cookies or client address; the company id is a pseudonymous
//! workspace id. Code that logs must follow the same rule (ids and counts
//! only); the integration test `logs` greps a production run for the demo
//! emails and IPs.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

/// The default filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info,tower_http=warn,diesel_async=warn";

/// Whether this process runs in production, read the way `Config` reads it
/// (logging starts before the configuration is parsed, so a bad
/// configuration is reported in the right format too).
fn production_from_env() -> bool {
    std::env::var("METIVA_ENV").is_ok_and(|v| v.trim() == "production")
}

/// Installs the global subscriber: JSON in production, human-readable
/// otherwise. Safe to call twice (the second call does nothing).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if production_from_env() {
        builder
            .json()
            .flatten_event(true)
            .with_target(true)
            .with_current_span(false)
            .with_span_list(true)
            .try_init()
    } else {
        builder.with_target(false).try_init()
    };
}

/// Routes of the public ingest path: logged at debug (they are the bulk
/// of the traffic) and counted as accepted or refused events.
fn ingest_endpoint(route: &str) -> Option<&'static str> {
    match route {
        "/collect" => Some("collect"),
        "/capture" => Some("capture"),
        "/s/{key}/snippet.js" => Some("snippet"),
        _ => None,
    }
}

/// The outermost middleware of every router: a `request` span carrying a
/// fresh request id and the route template, one log line at the end, and
/// the request metrics.
pub async fn observe(req: Request, next: Next) -> Response {
    // Requests no route matched (static files through the fallback,
    // unknown paths) share one label: paths never become labels.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("fallback", |m| m.as_str())
        .to_owned();
    let method = req.method().clone();
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        company_id = tracing::field::Empty,
    );
    let started = Instant::now();
    let res = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    let latency_ms = elapsed.as_secs_f64() * 1e3;
    let ingest = ingest_endpoint(&route);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, latency_ms, "request failed");
        } else if ingest.is_some() {
            tracing::debug!(status, latency_ms, "request");
        } else {
            tracing::info!(status, latency_ms, "request");
        }
    });
    crate::metrics::http_request(&route, method.as_str(), status, elapsed);
    if let Some(endpoint) = ingest
        && method == axum::http::Method::POST
    {
        crate::metrics::ingest_event(endpoint, status);
    }
    if route == "/login" && status == 429 {
        crate::metrics::login_throttled("database");
    }
    res
}

/// Runs after the tenant guard: puts the bound company and the guard's
/// request id (the reference error answers quote) on the request span.
pub async fn bind_company(req: Request, next: Next) -> Response {
    let span = tracing::Span::current();
    if let Some(ctx) = req.extensions().get::<metiva_db::TenantCtx>() {
        span.record("company_id", ctx.company().as_str());
    }
    if let Some(rid) = req.extensions().get::<app::RequestId>() {
        span.record("request_id", rid.0.as_str());
    }
    next.run(req).await
}
