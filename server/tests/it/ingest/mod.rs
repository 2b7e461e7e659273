//! The consent-first ingest path, end to end through the real router and a
//! real PostgreSQL: site keys and origins, strict payloads, deny by
//! default, the ledger, capture, forwards, the sealed IP, its audited
//! reveal, and key rotation.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use server::http::dashboard_router_with;
use server::http::guard::DashboardAuth;

use crate::world::{BROUWER, DE_VRIES, ENC, Resp, SEED, World, call, post_form};

mod collect;
mod pages;
mod reveal;
mod two_instances;

const KEY: &str = metiva_db::seed::DEMO_SITE_KEY;
const ORIGIN: &str = "http://127.0.0.1:5173";
const VISITOR: &str = "0b7d2a8e-3f7c-4c5e-9a1d-2b3c4d5e6f70";

fn from(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 40000)
}

fn public_post(path: &str, origin: Option<&str>, ip: &str, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::post(path).header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
    if let Some(o) = origin {
        b = b.header(header::ORIGIN, o);
    }
    let mut req = b.body(body.into()).unwrap();
    req.extensions_mut().insert(ConnectInfo(from(ip)));
    req
}

fn page_view(visitor: Option<&str>) -> String {
    serde_json::json!({"type":"pageview","site":KEY,"path":"/offerte-test?email=x@y.nl","referrer":"www.google.com","visitor":visitor}).to_string()
}

fn decision(visitor: Option<&str>, a: bool, i: bool, m: bool, withdraw: bool) -> String {
    serde_json::json!({
        "type":"consent","site":KEY,
        "purposes":{"analytics":a,"identification":i,"marketing":m},
        "banner_version":"2026-11.1","lang":"nl","visitor":visitor,"withdraw":withdraw
    })
    .to_string()
}

fn capture(visitor: &str, email: &str) -> String {
    serde_json::json!({"site":KEY,"visitor":visitor,"name":"Eva de Wit","email":email,"company":"De Wit BV"}).to_string()
}

async fn collect(router: &axum::Router, body: String) -> Resp {
    call(
        router,
        public_post("/collect", Some(ORIGIN), "198.51.100.77", body),
    )
    .await
}

/// Runs `sql` as the owner inside `company`'s tenant context.
async fn q(w: &World, company: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let (client, conn) = tokio_postgres::connect(&w.tdb.owner_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "BEGIN; SELECT set_config('app.company_id', '{company}', true)"
        ))
        .await
        .unwrap();
    let rows = client.query(sql, &[]).await;
    client.batch_execute("COMMIT").await.unwrap();
    rows.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn count(w: &World, company: &str, sql: &str) -> i64 {
    q(w, company, sql).await[0].get::<_, i64>(0)
}
