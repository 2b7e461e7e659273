//! What the fake providers (Google Ads, Meta, a webhook receiver) share: a
//! small axum server that records every accepted request, counts them per
//! idempotency key, and can be switched to fail.
//!
//! - **Modes.** [`Mode::Up`] answers; [`Mode::Down`] answers 503 to
//!   everything (a provider outage); [`Mode::RateLimited`] answers 429 with
//!   `Retry-After`. [`RecordingFake::fail_next`] fails only the next `n`
//!   requests. A failed request is counted in [`RecordingFake::attempts`]
//!   and recorded nowhere else: the provider did nothing with it.
//! - **Counts.** [`RecordingFake::count`] is the number of accepted
//!   requests per key (the provider's own de-duplication id), so a test can
//!   prove a conversion arrived exactly once.
//! - **Inspection over HTTP** (for the demo and Playwright, which run the
//!   fakes in the `metiva-fakes` process): `GET /_fake/log` answers the
//!   recorded requests as JSON, `POST /_fake/mode` with `up`, `down` or
//!   `rate_limited:<secs>` switches the mode.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    /// 503 Service Unavailable.
    Down,
    /// 429 with `Retry-After: secs`.
    RateLimited {
        retry_after_secs: u64,
    },
}

/// One accepted request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The key it was counted under.
    pub key: Option<String>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What a provider's handler decides about an accepted request.
pub struct Verdict {
    pub status: StatusCode,
    pub body: Value,
    /// The de-duplication key it is counted under; `None` counts nothing.
    pub key: Option<String>,
}

/// The provider-specific part: checks one request and answers it.
pub type Check = fn(path: &str, headers: &HeaderMap, body: &[u8]) -> Verdict;

#[derive(Default)]
struct RecState {
    mode: Option<Mode>,
    faults: VecDeque<Mode>,
    attempts: usize,
    received: Vec<Recorded>,
    counts: BTreeMap<String, usize>,
}

type Shared = Arc<Mutex<RecState>>;

fn lock(s: &Mutex<RecState>) -> std::sync::MutexGuard<'_, RecState> {
    match s.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A running fake; stops when dropped.
pub struct RecordingFake {
    name: &'static str,
    addr: SocketAddr,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RecordingFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RecordingFake {
    /// Starts `check` on `addr` (`127.0.0.1:0` for an ephemeral port).
    pub async fn start_on(name: &'static str, addr: &str, check: Check) -> Self {
        let state: Shared = Arc::new(Mutex::new(RecState::default()));
        let router = Router::new()
            .route("/_fake/log", get(log))
            .route("/_fake/mode", post(set_mode))
            .fallback(
                move |st: State<Shared>, uri: Uri, headers: HeaderMap, body: Bytes| {
                    handle(st, uri, headers, body, check)
                },
            )
            .with_state(state.clone());
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => panic!("fake {name} cannot listen on {addr}: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("fake {name} has no address: {e}"),
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            name,
            addr,
            state,
            task,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, answer as `mode`.
    pub fn set_mode(&self, mode: Mode) {
        lock(&self.state).mode = Some(mode);
    }

    /// Only the next `n` requests get `mode` (then the set mode again).
    pub fn fail_next(&self, n: usize, mode: Mode) {
        lock(&self.state)
            .faults
            .extend(std::iter::repeat_n(mode, n));
    }

    /// Every request that reached the fake, failed ones included.
    pub fn attempts(&self) -> usize {
        lock(&self.state).attempts
    }

    /// The accepted requests, in order.
    pub fn received(&self) -> Vec<Recorded> {
        lock(&self.state).received.clone()
    }

    /// Accepted requests counted under `key`.
    pub fn count(&self, key: &str) -> usize {
        lock(&self.state).counts.get(key).copied().unwrap_or(0)
    }

    /// Accepted requests per key.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        lock(&self.state).counts.clone()
    }
}

fn fault_response(mode: Mode) -> Option<Response> {
    match mode {
        Mode::Up => None,
        Mode::Down => Some(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"error": "unavailable"})),
            )
                .into_response(),
        ),
        Mode::RateLimited { retry_after_secs } => {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({"error": "rate_limited"})),
            )
                .into_response();
            if let Ok(v) = retry_after_secs.to_string().parse() {
                r.headers_mut().insert("retry-after", v);
            }
            Some(r)
        }
    }
}

async fn handle(
    State(st): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    check: Check,
) -> Response {
    let mut s = lock(&st);
    s.attempts += 1;
    let mode = s.faults.pop_front().unwrap_or(s.mode.unwrap_or(Mode::Up));
    if let Some(r) = fault_response(mode) {
        return r;
    }
    let path = uri.path().to_string();
    let verdict = check(&path, &headers, &body);
    if verdict.status.is_success() {
        if let Some(k) = &verdict.key {
            *s.counts.entry(k.clone()).or_default() += 1;
        }
        s.received.push(Recorded {
            path,
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        v.to_str().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            body: body.to_vec(),
            key: verdict.key.clone(),
        });
    }
    (verdict.status, axum::Json(verdict.body)).into_response()
}

async fn log(State(st): State<Shared>) -> Response {
    let s = lock(&st);
    let items: Vec<Value> = s
        .received
        .iter()
        .map(|r| json!({"path": r.path, "key": r.key, "body": r.json()}))
        .collect();
    axum::Json(json!({"attempts": s.attempts, "counts": s.counts, "received": items}))
        .into_response()
}

async fn set_mode(State(st): State<Shared>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body).trim().to_string();
    let mode = match text.as_str() {
        "up" => Mode::Up,
        "down" => Mode::Down,
        other => match other
            .strip_prefix("rate_limited:")
            .and_then(|n| n.parse().ok())
        {
            Some(retry_after_secs) => Mode::RateLimited { retry_after_secs },
            None => {
                return (StatusCode::BAD_REQUEST, "up | down | rate_limited:<secs>")
                    .into_response();
            }
        },
    };
    lock(&st).mode = Some(mode);
    StatusCode::NO_CONTENT.into_response()
}

/// A JSON error verdict (nothing counted).
pub fn refuse(status: StatusCode, message: &str) -> Verdict {
    Verdict {
        status,
        body: json!({"error": {"message": message}}),
        key: None,
    }
}

/// A header's value as text.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
