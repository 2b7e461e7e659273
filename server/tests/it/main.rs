//! Server integration tests: one binary, routers driven in process against a
//! fresh database per test, plus the real `metiva` binary for startup errors.

// Test helpers panic on purpose: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod attachments;
mod auth_flow;
mod bad_bytes;
mod billing_demo;
mod billing_page;
mod billing_process;
mod billing_webhooks;
mod binary;
mod branding;
mod conversions;
mod conversions_figure;
mod crm;
mod dashboard;
mod deal_board;
mod envelope;
mod erasure;
mod erasure_receipt_pdf;
mod export_crash;
mod exports;
mod health;
mod import;
mod ingest;
mod integrations_page;
mod jobs;
mod jobs_page;
mod jobs_process;
mod key_rotation_job;
mod keys;
mod lifecycle;
mod limits;
mod logs;
mod member_forms;
mod metrics;
mod offboarding;
mod offboarding_page;
mod page_statements;
mod pipeline;
mod privacy;
mod process;
mod revocation;
mod s3_exports;
mod s3_store;
mod security_page;
mod signing_keys;
mod sla_alerts;
mod sweep_crash;
mod token_matrix;
mod trust;
mod twilio_sms;
mod two_instances;
mod visitor_privacy;
pub mod world;

use axum::body::Body;
use axum::http::{Request, StatusCode};

/// Sends one request through a router and returns status and body text.
pub async fn send(router: axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let r = world::call(&router, req).await;
    (r.status, r.body)
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A config pointing at an external database, as the app would run in
/// production behind an operator-provided PostgreSQL.
/// No ASN dataset by default: it is large, and each test is its own
/// process (the ingest tests bring a small fixture instead).
pub fn test_config(db_url: &str) -> server::config::Config {
    server::config::Config {
        asn_dir: None,
        ..server::config::Config::local(db_url)
    }
}
