//! A fake Stripe for tests and the demo: the endpoints issuing an invoice
//! uses, with Stripe's `Idempotency-Key` semantics, faults on demand, a
//! count of what it created, and webhooks signed exactly as Stripe signs
//! them.
//!
//! - **Idempotency.** A creating request with a key seen before answers
//!   the first answer again (same status, same body) and creates nothing;
//!   the same key with other parameters is a 400 `idempotency_error`, as
//!   at Stripe.
//! - **Faults.** [`FakeStripe::fail_next`] queues faults for the next
//!   requests: a 500 (nothing created), a 429 with `Retry-After`
//!   (nothing created), or a timeout (the request *is* processed, its
//!   answer comes too late: the case idempotency keys exist for).
//! - **Counts.** [`FakeStripe::created`] counts objects created per kind,
//!   so a test can prove a retry duplicated nothing.
//! - **Webhooks.** [`sign_webhook`] makes the `Stripe-Signature` header:
//!   `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// A fault the fake answers a request with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500, nothing created.
    ServerError,
    /// 429 with `Retry-After: secs`, nothing created.
    RateLimited { retry_after_secs: u64 },
    /// Processed (created, remembered under its key), but answered only
    /// after this delay: longer than the client's timeout, it looks lost.
    Timeout(Duration),
}

#[derive(Default)]
struct FakeState {
    faults: VecDeque<Fault>,
    /// key -> (fingerprint, status, body)
    idempotency: HashMap<String, (String, u16, Value)>,
    objects: HashMap<String, Value>,
    created: HashMap<&'static str, usize>,
    next_id: u64,
    requests: usize,
    api_versions: Vec<String>,
}

/// A running fake; stops when dropped.
pub struct FakeStripe {
    addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeStripe {
    /// Starts on an ephemeral loopback port.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// Starts on `addr` (the demo uses a fixed port).
    pub async fn start_on(addr: &str) -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let router = router(state.clone());
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => panic!("fake Stripe cannot listen on {addr}: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("fake Stripe has no address: {e}"),
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, state, task }
    }

    /// The base URL to put in `METIVA_STRIPE_API_BASE`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` requests get `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut s = lock(&self.state);
        s.faults.extend(std::iter::repeat_n(fault, n));
    }

    /// Objects created of `kind` (`customer`, `invoice`, `invoiceitem`).
    pub fn created(&self, kind: &str) -> usize {
        lock(&self.state).created.get(kind).copied().unwrap_or(0)
    }

    /// Requests received, faults included.
    pub fn requests(&self) -> usize {
        lock(&self.state).requests
    }

    /// The `Stripe-Version` of every request, in order.
    pub fn api_versions(&self) -> Vec<String> {
        lock(&self.state).api_versions.clone()
    }

    /// A stored object by id (`in_…`, `cus_…`).
    pub fn object(&self, id: &str) -> Option<Value> {
        lock(&self.state).objects.get(id).cloned()
    }

    /// Every invoice, in creation order.
    pub fn invoices(&self) -> Vec<Value> {
        let s = lock(&self.state);
        let mut v: Vec<Value> = s
            .objects
            .values()
            .filter(|o| o["object"] == "invoice")
            .cloned()
            .collect();
        v.sort_by_key(|o| o["created"].as_u64());
        v
    }
}

fn lock(state: &Mutex<FakeState>) -> std::sync::MutexGuard<'_, FakeState> {
    match state.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// The `Stripe-Signature` header for `body` signed with `secret` at `t`.
pub fn sign_webhook(secret: &str, body: &[u8], t: i64) -> String {
    let v1 = metiva_db::billing::signature::sign(body, secret.as_bytes(), t);
    format!("t={t},v1={v1}")
}

/// A Stripe event body about an invoice object.
pub fn invoice_event(event_id: &str, kind: &str, stripe_invoice_id: &str) -> Vec<u8> {
    json!({
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "type": kind,
        "data": {"object": {"id": stripe_invoice_id, "object": "invoice"}},
    })
    .to_string()
    .into_bytes()
}

type Shared = Arc<Mutex<FakeState>>;

fn router(state: Shared) -> Router {
    Router::new()
        .route("/v1/customers", post(create_customer))
        .route("/v1/invoices", post(create_invoice))
        .route("/v1/invoiceitems", post(create_item))
        .route("/v1/invoices/{id}", get(get_invoice))
        .route("/v1/invoices/{id}/{action}", post(invoice_action))
        .with_state(state)
}

fn error(status: StatusCode, kind: &str, code: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"type": kind, "code": code}})),
    )
        .into_response()
}

fn form(body: &Bytes) -> Vec<(String, String)> {
    url_pairs(body)
}

/// `a=b&c=d`, percent-decoded.
fn url_pairs(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let dec = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (dec(k), dec(v))
        })
        .collect()
}

fn param<'a>(f: &'a [(String, String)], k: &str) -> Option<&'a str> {
    f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// The shared path of every POST: auth, faults, idempotency replay; then
/// `make` creates and answers; the answer is remembered under the key.
async fn handle(
    state: Shared,
    headers: HeaderMap,
    fingerprint: String,
    make: impl FnOnce(&mut FakeState) -> (u16, Value),
) -> Response {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (fault, reply) = {
        let mut s = lock(&state);
        s.requests += 1;
        s.api_versions
            .push(header("stripe-version").unwrap_or_default());
        let authed = header("authorization").is_some_and(|a| a.starts_with("Bearer rk_"));
        if !authed {
            return error(
                StatusCode::UNAUTHORIZED,
                "invalid_request_error",
                "api_key_invalid",
            );
        }
        let fault = s.faults.pop_front();
        match fault {
            Some(Fault::ServerError) => {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", "internal");
            }
            Some(Fault::RateLimited { retry_after_secs }) => {
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limit_error",
                    "rate_limit",
                );
                if let Ok(v) = retry_after_secs.to_string().parse() {
                    r.headers_mut().insert("retry-after", v);
                }
                return r;
            }
            _ => {}
        }
        let key = header("idempotency-key");
        let reply = match key.as_ref().and_then(|k| s.idempotency.get(k)).cloned() {
            Some((fp, status, body)) if fp == fingerprint => (status, body),
            Some(_) => (
                400,
                json!({"error": {"type": "idempotency_error", "code": "idempotency_key_in_use"}}),
            ),
            None => {
                let (status, body) = make(&mut s);
                if let Some(k) = key {
                    s.idempotency.insert(k, (fingerprint, status, body.clone()));
                }
                (status, body)
            }
        };
        (fault, reply)
    };
    if let Some(Fault::Timeout(d)) = fault {
        tokio::time::sleep(d).await;
    }
    let status = StatusCode::from_u16(reply.0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(reply.1)).into_response()
}

fn new_id(s: &mut FakeState, prefix: &str) -> (String, u64) {
    s.next_id += 1;
    (format!("{prefix}_fake{:06}", s.next_id), s.next_id)
}

fn count(s: &mut FakeState, kind: &'static str) {
    *s.created.entry(kind).or_default() += 1;
}

fn fingerprint(path: &str, body: &Bytes) -> String {
    format!("{path}?{}", String::from_utf8_lossy(body))
}

async fn create_customer(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let f = form(&body);
    handle(st, headers, fingerprint("/v1/customers", &body), move |s| {
        let (id, _) = new_id(s, "cus");
        let obj = json!({"id": id, "object": "customer", "name": param(&f, "name")});
        s.objects.insert(id, obj.clone());
        count(s, "customer");
        (200, obj)
    })
    .await
}

async fn create_invoice(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let f = form(&body);
    handle(st, headers, fingerprint("/v1/invoices", &body), move |s| {
        let Some(customer) = param(&f, "customer").filter(|c| s.objects.contains_key(*c)) else {
            return (
                400,
                json!({"error": {"type": "invalid_request_error", "code": "resource_missing"}}),
            );
        };
        let (id, n) = new_id(s, "in");
        let obj = json!({
            "id": id, "object": "invoice", "customer": customer, "status": "draft",
            "number": param(&f, "number"), "total": 0, "created": n,
            "metadata": {"metiva_invoice": param(&f, "metadata[metiva_invoice]")},
        });
        s.objects.insert(id, obj.clone());
        count(s, "invoice");
        (200, obj)
    })
    .await
}

async fn create_item(State(st): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let f = form(&body);
    handle(st, headers, fingerprint("/v1/invoiceitems", &body), move |s| {
        let amount: i64 = param(&f, "amount").and_then(|a| a.parse().ok()).unwrap_or(0);
        let invoice = param(&f, "invoice").unwrap_or_default().to_string();
        match s.objects.get_mut(&invoice) {
            Some(inv) if inv["status"] == "draft" => {
                let total = inv["total"].as_i64().unwrap_or(0) + amount;
                inv["total"] = json!(total);
            }
            _ => {
                return (400, json!({"error": {"type": "invalid_request_error", "code": "invoice_not_editable"}}));
            }
        }
        let (id, _) = new_id(s, "ii");
        let obj = json!({"id": id, "object": "invoiceitem", "invoice": invoice, "amount": amount,
                         "description": param(&f, "description")});
        s.objects.insert(id, obj.clone());
        count(s, "invoiceitem");
        (200, obj)
    })
    .await
}

async fn get_invoice(State(st): State<Shared>, Path(id): Path<String>) -> Response {
    match lock(&st).objects.get(&id) {
        Some(o) => axum::Json(o.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "resource_missing",
        ),
    }
}

async fn invoice_action(
    State(st): State<Shared>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/v1/invoices/{id}/{action}");
    handle(st, headers, fingerprint(&path, &body), move |s| {
        let Some(inv) = s.objects.get_mut(&id) else {
            return (404, json!({"error": {"type": "invalid_request_error", "code": "resource_missing"}}));
        };
        let from = inv["status"].as_str().unwrap_or_default().to_string();
        let to = match (action.as_str(), from.as_str()) {
            ("finalize", "draft") => "open",
            ("send", "open") => "open",
            ("pay", "open") => "paid",
            ("void", "open") => "void",
            _ => {
                return (400, json!({"error": {"type": "invalid_request_error", "code": "invoice_unexpected_state"}}));
            }
        };
        inv["status"] = json!(to);
        if action == "send" {
            inv["sent"] = json!(true);
        }
        (200, inv.clone())
    })
    .await
}
