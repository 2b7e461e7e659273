//! Prometheus metrics on a listener of their own (`METIVA_METRICS_ADDR`).
//!
//! The `metrics` facade records; `metrics-exporter-prometheus` renders the
//! text format on `GET /metrics`. With no listener configured no recorder
//! is installed and every call here is a no-op.
//!
//! What is measured:
//! - `metiva_http_requests_total{route,method,status}` and
//!   `metiva_http_request_duration_seconds{route,method}` by route
//!   template (never the raw path);
//! - `metiva_db_pool_connections_in_use`, `…_waiting`, `…_max`
//!   `{pool}` (read at scrape time);
//! - `metiva_ingest_events_total{endpoint,outcome}` (accepted, or the
//!   refusal's status);
//! - `metiva_login_throttled_total{by}` (the database throttle's 429s,
//!   and the per-IP limiter's);
//! - `metiva_rate_limited_total{limit}` (the abuse limits);
//! - hooks for other parts: [`job_queue_depth`], [`job_failed`],
//!   [`breaker_state`].
//!
//! # Security
//! The endpoint has no authentication, so it listens on loopback unless
//! the operator opts in (`METIVA_METRICS_PUBLIC=1`, see `config`), and
//! labels carry no personal data: route templates, status codes, fixed
//! names, never a path, company, user or address.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Latency buckets, in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once and returns its handle. The
/// first caller wins; later calls (a second router in tests) share it.
pub fn install() -> anyhow::Result<&'static PrometheusHandle> {
    if let Some(h) = HANDLE.get() {
        return Ok(h);
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)
        .context("metrics buckets")?
        .build_recorder();
    let handle = recorder.handle();
    // A recorder installed by someone else (tests) leaves ours unused;
    // the endpoint then renders only what ours saw, which is nothing.
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!("a metrics recorder was already installed");
    }
    describe();
    Ok(HANDLE.get_or_init(|| handle))
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "metiva_http_requests_total",
        "HTTP requests by route template and status"
    );
    describe_histogram!(
        "metiva_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by route template"
    );
    describe_gauge!(
        "metiva_db_pool_connections_in_use",
        "Pooled connections checked out"
    );
    describe_gauge!(
        "metiva_db_pool_connections_waiting",
        "Requests waiting for a pooled connection"
    );
    describe_gauge!("metiva_db_pool_connections_max", "The pool's maximum size");
    describe_counter!(
        "metiva_ingest_events_total",
        "Ingest requests accepted or refused"
    );
    describe_counter!("metiva_login_throttled_total", "Sign-in attempts throttled");
    describe_counter!(
        "metiva_rate_limited_total",
        "Requests refused by an abuse limit"
    );
    describe_gauge!("metiva_job_queue_depth", "Jobs waiting, per kind");
    describe_counter!("metiva_job_failures_total", "Jobs failed, per kind");
    describe_gauge!(
        "metiva_breaker_state",
        "Circuit breaker state: 0 closed, 1 half-open, 2 open"
    );
}

/// One HTTP request finished (called by `observability::observe`).
pub fn http_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    // No endpoint, no recorder: skip building the labels.
    if HANDLE.get().is_none() {
        return;
    }
    let labels = [("route", route.to_owned()), ("method", method.to_owned())];
    metrics::histogram!("metiva_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    let labels = [
        ("route", route.to_owned()),
        ("method", method.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("metiva_http_requests_total", &labels).increment(1);
}

/// One ingest request (`collect`, `capture`): accepted when 2xx, else
/// refused with its status.
pub fn ingest_event(endpoint: &'static str, status: u16) {
    let outcome = if (200..300).contains(&status) {
        "accepted".to_owned()
    } else {
        format!("refused_{status}")
    };
    metrics::counter!("metiva_ingest_events_total", "endpoint" => endpoint, "outcome" => outcome)
        .increment(1);
}

/// A sign-in throttled: `by` is `database` (the per-account/per-IP delay
/// kept in PostgreSQL) or `ip_limit` (this process's per-IP limiter).
pub fn login_throttled(by: &'static str) {
    metrics::counter!("metiva_login_throttled_total", "by" => by).increment(1);
}

/// A request refused by one of the abuse limits (see `limits`).
pub fn rate_limited(limit: &'static str) {
    metrics::counter!("metiva_rate_limited_total", "limit" => limit).increment(1);
}

/// Hook for the job runner: how many jobs of `kind` wait to run. Call it
/// whenever the runner polls its queue.
pub fn job_queue_depth(kind: &'static str, depth: u64) {
    #[allow(clippy::cast_precision_loss)] // a queue depth is far below 2^52
    metrics::gauge!("metiva_job_queue_depth", "kind" => kind).set(depth as f64);
}

/// Hook for the job runner: one job of `kind` failed (each attempt).
pub fn job_failed(kind: &'static str) {
    metrics::counter!("metiva_job_failures_total", "kind" => kind).increment(1);
}

/// A circuit breaker's state, for [`breaker_state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

/// Hook for circuit breakers (outbound calls: Stripe, Twilio, ad
/// platforms): call it on every state change of the breaker `name`.
pub fn breaker_state(name: &'static str, state: BreakerState) {
    let v = match state {
        BreakerState::Closed => 0.0,
        BreakerState::HalfOpen => 1.0,
        BreakerState::Open => 2.0,
    };
    metrics::gauge!("metiva_breaker_state", "breaker" => name).set(v);
}

/// The pools read at scrape time, by label.
#[derive(Clone, Default)]
pub struct Pools(pub Vec<(&'static str, metiva_db::Database)>);

fn record_pools(pools: &Pools) {
    #[allow(clippy::cast_precision_loss)] // pool sizes are tiny
    for (name, db) in &pools.0 {
        let (in_use, waiting, max) = db.pool_status();
        let pool = *name;
        metrics::gauge!("metiva_db_pool_connections_in_use", "pool" => pool).set(in_use as f64);
        metrics::gauge!("metiva_db_pool_connections_waiting", "pool" => pool).set(waiting as f64);
        metrics::gauge!("metiva_db_pool_connections_max", "pool" => pool).set(max as f64);
    }
}

async fn get_metrics(
    State((handle, pools)): State<(&'static PrometheusHandle, Pools)>,
) -> impl IntoResponse {
    record_pools(&pools);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}

/// The metrics listener's router: `GET /metrics` only.
pub fn router(handle: &'static PrometheusHandle, pools: Pools) -> Router {
    Router::new()
        .route("/metrics", get(get_metrics))
        .with_state((handle, pools))
}

/// Serves `/metrics` on `addr` until `stop`, and drains the histograms
/// every few seconds so an unscraped endpoint holds bounded memory.
pub async fn serve(
    listener: tokio::net::TcpListener,
    pools: Pools,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let handle = install()?;
    let upkeep = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    });
    let res = axum::serve(listener, router(handle, pools))
        .with_graceful_shutdown(stop)
        .await
        .context("serving metrics");
    upkeep.abort();
    res
}

/// Where metrics listen, and whether that is exposed beyond this host
/// (for `metiva check`).
pub fn exposure(addr: Option<SocketAddr>) -> String {
    match addr {
        None => "metrics: off (set METIVA_METRICS_ADDR to serve /metrics)".into(),
        Some(a) if a.ip().is_loopback() => format!("metrics: http://{a}/metrics (loopback only)"),
        Some(a) => format!(
            "metrics: http://{a}/metrics, reachable beyond this host (METIVA_METRICS_PUBLIC=1); keep it off the public internet"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposure_says_where_and_how_far() {
        assert!(exposure(None).contains("off"));
        let local = exposure(Some(SocketAddr::from(([127, 0, 0, 1], 9464))));
        assert!(local.contains("loopback only"), "{local}");
        let public = exposure(Some(SocketAddr::from(([0, 0, 0, 0], 9464))));
        assert!(public.contains("beyond this host"), "{public}");
    }
}
