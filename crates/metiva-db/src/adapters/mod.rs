//! The adapter framework (issue 18): the one way every outbound provider
//! call leaves Metiva (Twilio, Google Ads, Meta, a workspace's webhook).
//!
//! - One HTTP client ([`Adapters`]): connect timeout 3 s, total 10 s per
//!   attempt, rustls.
//! - Short in-call retries (`backon`, exponential with jitter, a small
//!   cap) on timeouts, connection errors, 408, 429 and 5xx, honouring
//!   `Retry-After`; a `Retry-After` longer than
//!   [`RetryPolicy::max_inline_wait`] is not slept inside the job's
//!   transaction but returned as [`CallError::Transient`] so the JOB is
//!   rescheduled not before it.
//! - A per-call idempotency key header where the provider has one
//!   ([`Provider::idempotency_header`]).
//! - A circuit breaker per (workspace, provider) in PostgreSQL
//!   ([`breaker`]), so every instance agrees; while it is open a call
//!   returns [`CallError::Open`] without touching the network, and the
//!   job is deferred (no attempt counted).
//! - The workspace's connected providers and their sealed credentials
//!   ([`integrations`]).
//!
//! # Usage in a job handler
//! ```ignore
//! let creds = adapters::credentials_loaded(&self.db, tc, &self.keys, Provider::Twilio).await?
//!     .ok_or_else(|| JobError::retry("twilio_not_connected"))?;
//! let req = OutboundRequest::post_form(url, &[("To", to), ("Body", body)])
//!     .basic_auth(sid, token)
//!     .idempotency_key(format!("sms:{task_id}"));
//! let resp = self.adapters.call(&job.company, Provider::Twilio, req).await?; // CallError -> JobError
//! ```

pub mod breaker;
mod client;
pub mod integrations;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::jobs::JobError;

pub use breaker::{BreakerPhase, BreakerPolicy, BreakerStatus};
pub use client::{Adapters, RetryPolicy};
pub use integrations::{IntegrationSummary, credentials, credentials_loaded};

/// An outbound provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    Twilio,
    GoogleAds,
    Meta,
    Webhook,
}

impl Provider {
    pub const ALL: [Provider; 4] = [
        Provider::Twilio,
        Provider::GoogleAds,
        Provider::Meta,
        Provider::Webhook,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::Twilio => "twilio",
            Provider::GoogleAds => "google_ads",
            Provider::Meta => "meta",
            Provider::Webhook => "webhook",
        }
    }

    /// The credential fields the connect form asks for, in order.
    pub const fn fields(self) -> &'static [&'static str] {
        match self {
            Provider::Twilio => &["account_sid", "auth_token", "from_number"],
            Provider::GoogleAds => &[
                "customer_id",
                "conversion_action",
                "developer_token",
                "access_token",
            ],
            Provider::Meta => &["pixel_id", "access_token"],
            Provider::Webhook => &["url", "secret"],
        }
    }

    /// Which of [`Self::fields`] are secrets (never shown again).
    pub const fn secret_fields(self) -> &'static [&'static str] {
        match self {
            Provider::Twilio => &["auth_token"],
            Provider::GoogleAds => &["developer_token", "access_token"],
            Provider::Meta => &["access_token"],
            Provider::Webhook => &["secret"],
        }
    }

    /// The header that carries [`OutboundRequest::idempotency_key`]:
    /// Twilio's `I-Twilio-Idempotency-Token`; `Idempotency-Key` for the
    /// others (Google Ads and Meta de-duplicate by the payload's order /
    /// event id and ignore it; the fakes count by it). For `webhook` the
    /// caller's Standard Webhooks `webhook-id` is the receiver's key; the
    /// header is sent as well.
    pub const fn idempotency_header(self) -> &'static str {
        match self {
            Provider::Twilio => "I-Twilio-Idempotency-Token",
            _ => "Idempotency-Key",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown provider name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider")]
pub struct UnknownProvider;

impl FromStr for Provider {
    type Err = UnknownProvider;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or(UnknownProvider)
    }
}

/// A provider's credential fields by name (see [`Provider::fields`]).
/// `Debug` shows the names only, never a value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials(pub BTreeMap<String, String>);

impl Credentials {
    /// A field's value.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

/// The providers' API base URLs (the fakes in tests and `cargo xtask
/// run`). Webhook URLs come from the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderBases {
    pub twilio: String,
    pub google_ads: String,
    pub meta: String,
    /// Allow webhook URLs on loopback / private addresses and plain http
    /// (`METIVA_WEBHOOK_ALLOW_PRIVATE=1`: the fakes, development). Off in
    /// production: a workspace could otherwise aim Metiva's server at
    /// internal services (SSRF).
    pub allow_private_webhooks: bool,
}

impl Default for ProviderBases {
    fn default() -> Self {
        Self {
            twilio: "https://api.twilio.com".into(),
            google_ads: "https://googleads.googleapis.com".into(),
            meta: "https://graph.facebook.com".into(),
            allow_private_webhooks: false,
        }
    }
}

impl ProviderBases {
    /// `METIVA_TWILIO_API_BASE`, `METIVA_GOOGLE_ADS_API_BASE`,
    /// `METIVA_META_API_BASE` (trailing `/` trimmed), defaults as
    /// [`Default`]; `METIVA_WEBHOOK_ALLOW_PRIVATE=1`.
    pub fn from_env() -> Self {
        let d = Self::default();
        let var = |name: &str, default: String| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().trim_end_matches('/').to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or(default)
        };
        Self {
            twilio: var("METIVA_TWILIO_API_BASE", d.twilio),
            google_ads: var("METIVA_GOOGLE_ADS_API_BASE", d.google_ads),
            meta: var("METIVA_META_API_BASE", d.meta),
            allow_private_webhooks: std::env::var("METIVA_WEBHOOK_ALLOW_PRIVATE")
                .is_ok_and(|v| v == "1"),
        }
    }

    /// The base URL of `provider` (`None` for `webhook`).
    pub fn base(&self, provider: Provider) -> Option<&str> {
        match provider {
            Provider::Twilio => Some(&self.twilio),
            Provider::GoogleAds => Some(&self.google_ads),
            Provider::Meta => Some(&self.meta),
            Provider::Webhook => None,
        }
    }
}

/// The time the breaker and `Retry-After` dates are computed with.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests set and step (shared by clones).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut t) = self.0.lock() {
            *t = at;
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX);
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|e| *e.into_inner())
    }
}

/// HTTP methods the adapters send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

/// One provider request.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: Method,
    pub url: String,
    /// Extra headers (authorization, signatures, ...).
    pub headers: Vec<(String, String)>,
    /// `(content type, bytes)`.
    pub body: Option<(String, Vec<u8>)>,
    /// Sent as [`Provider::idempotency_header`]; the same on every retry.
    pub idempotency_key: Option<String>,
}

impl OutboundRequest {
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            idempotency_key: None,
        }
    }

    pub fn post_json(url: impl Into<String>, json: Vec<u8>) -> Self {
        Self {
            method: Method::Post,
            body: Some(("application/json".into(), json)),
            ..Self::get(url)
        }
    }

    /// `application/x-www-form-urlencoded` (Twilio's Messages API).
    pub fn post_form(url: impl Into<String>, fields: &[(&str, &str)]) -> Self {
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        Self {
            method: Method::Post,
            body: Some((
                "application/x-www-form-urlencoded".into(),
                body.into_bytes(),
            )),
            ..Self::get(url)
        }
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        let v = base64_std(format!("{user}:{password}").as_bytes());
        self.header("Authorization", format!("Basic {v}"))
    }

    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// Standard base64 with padding (Basic auth), without a dependency.
fn base64_std(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                let idx = usize::try_from((n >> shift) & 63).unwrap_or(0);
                out.push(char::from(T.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A provider's 2xx answer.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    /// At most 1 MiB.
    pub body: Vec<u8>,
}

impl OutboundResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a call did not succeed. Messages are reason codes and HTTP
/// statuses only (they end up in `jobs.last_error` and on pages), never a
/// response body or credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The breaker for (workspace, provider) is open: nothing was sent.
    #[error("circuit_open until {retry_at}")]
    Open { retry_at: DateTime<Utc> },
    /// Worth retrying later (timeouts, 429, 5xx), not before
    /// `retry_after` when the provider said so.
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// No retry can help (4xx other than 408/429, a bad URL).
    #[error("{0}")]
    Permanent(String),
}

/// Open -> deferred (no attempt counted: an open breaker never kills a
/// job); Transient -> retried, not before its `Retry-After`; Permanent ->
/// dead at once.
impl From<CallError> for JobError {
    fn from(e: CallError) -> Self {
        let message = e.to_string();
        match e {
            CallError::Open { retry_at } => JobError::defer(message, retry_at),
            CallError::Transient {
                retry_after: Some(d),
                ..
            } => JobError::retry_after(message, d),
            CallError::Transient {
                retry_after: None, ..
            } => JobError::retry(message),
            CallError::Permanent(_) => JobError::permanent(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_round_trip_and_credentials_redact() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>(), Ok(p));
        }
        assert!("stripe".parse::<Provider>().is_err());
        let c = Credentials(BTreeMap::from([("auth_token".into(), "s3cret".into())]));
        assert_eq!(format!("{c:?}"), r#"{"auth_token": "<redacted>"}"#);
    }

    #[test]
    fn basic_auth_is_standard_base64() {
        assert_eq!(base64_std(b"AC1:tok"), "QUMxOnRvaw==");
        assert_eq!(base64_std(b"ab"), "YWI=");
        assert_eq!(base64_std(b"abc"), "YWJj");
        assert_eq!(base64_std(b""), "");
    }

    #[test]
    fn call_errors_map_to_job_errors() {
        let at = Utc::now();
        let j: JobError = CallError::Open { retry_at: at }.into();
        assert_eq!(j.defer_until, Some(at));
        let j: JobError = CallError::Transient {
            message: "http_429".into(),
            retry_after: Some(Duration::from_secs(30)),
        }
        .into();
        assert!(j.retry && j.defer_until.is_none());
        assert_eq!(j.retry_after, Some(Duration::from_secs(30)));
        let j: JobError = CallError::Permanent("http_400".into()).into();
        assert!(!j.retry);
    }
}
