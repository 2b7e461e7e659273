//! A small client for the part of Stripe's REST API that issuing an
//! invoice uses: customers, invoices, invoice items, finalise, send.
//!
//! Every request pins the API version ([`STRIPE_API_VERSION`]), has a
//! timeout, and every creating request carries an `Idempotency-Key`
//! derived from (company, invoice id, step): retried with the same key,
//! Stripe answers the object it created the first time instead of making
//! another, so a retry after a crash adopts what exists.
//!
//! The base URL comes from `METIVA_STRIPE_API_BASE` (default
//! `https://api.stripe.com`); tests and the demo point it at the fake in
//! `metiva-testkit`.
//!
//! # Security
//! The API key is sent only as a bearer token to the configured base
//! and never logged; errors carry Stripe's status and error code, never
//! the request body.

use std::time::Duration;

use super::connection::STRIPE_API_VERSION;

/// The environment variable naming Stripe's base URL.
pub const API_BASE_ENV: &str = "METIVA_STRIPE_API_BASE";
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";

/// Why a Stripe call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripeError {
    /// Worth retrying: a timeout, a connection failure, 429 or a 5xx.
    /// `retry_after` is Stripe's `Retry-After`, when given.
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// A 4xx other than 429: the same request will fail again.
    Permanent(String),
}

impl std::fmt::Display for StripeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StripeError::Transient { message, .. } => write!(f, "stripe transient: {message}"),
            StripeError::Permanent(m) => write!(f, "stripe refused: {m}"),
        }
    }
}

/// The client: one connection pool, shared by every workspace (each call
/// names its own key).
#[derive(Clone, Debug)]
pub struct StripeClient {
    http: reqwest::Client,
    base: String,
}

impl StripeClient {
    /// A client for `base` (no trailing slash needed) with a per-request
    /// timeout.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, StripeError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent("metiva/0.1")
            .build()
            .map_err(|e| StripeError::Permanent(format!("http client: {e}")))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    /// From `METIVA_STRIPE_API_BASE` (or Stripe itself), 20 s timeout.
    pub fn from_env() -> Result<Self, StripeError> {
        let base = std::env::var(API_BASE_ENV).unwrap_or_else(|_| DEFAULT_API_BASE.to_string());
        Self::new(&base, Duration::from_secs(20))
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST {base}{path}` with a form body and an idempotency key;
    /// answers the JSON object.
    pub async fn post(
        &self,
        api_key: &str,
        path: &str,
        form: &[(&str, String)],
        idempotency_key: &str,
    ) -> Result<serde_json::Value, StripeError> {
        let body = encode_form(form);
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(api_key)
            .header("Stripe-Version", STRIPE_API_VERSION)
            .header("Idempotency-Key", idempotency_key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        let res = req.send().await.map_err(|e| StripeError::Transient {
            message: if e.is_timeout() {
                "timeout".into()
            } else {
                "connection failed".into()
            },
            retry_after: None,
        })?;
        let status = res.status();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = res.bytes().await.map_err(|_| StripeError::Transient {
            message: "reading the answer failed".into(),
            retry_after: None,
        })?;
        let json: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        if status.is_success() {
            return json.ok_or_else(|| StripeError::Transient {
                message: "the answer is not JSON".into(),
                retry_after: None,
            });
        }
        let code = json
            .as_ref()
            .and_then(|j| {
                j.pointer("/error/code")
                    .or_else(|| j.pointer("/error/type"))
            })
            .and_then(|c| c.as_str())
            .unwrap_or("-")
            .to_string();
        let message = format!("{} {code} on {path}", status.as_u16());
        if status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 409 {
            // 409: another request with this key is still in flight.
            Err(StripeError::Transient {
                message,
                retry_after,
            })
        } else {
            Err(StripeError::Permanent(message))
        }
    }
}

/// `application/x-www-form-urlencoded`, as Stripe takes it (`a[b]=c`).
pub fn encode_form(form: &[(&str, String)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    form.iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The `id` of a Stripe object in an answer.
pub fn object_id(v: &serde_json::Value) -> Result<String, StripeError> {
    v.get("id")
        .and_then(|i| i.as_str())
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .map(str::to_string)
        .ok_or_else(|| StripeError::Permanent("an answer without an id".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_encode_brackets_and_spaces() {
        let f = encode_form(&[
            ("metadata[invoice]", "a b".into()),
            ("amount", "100".into()),
        ]);
        assert_eq!(f, "metadata%5Binvoice%5D=a%20b&amount=100");
    }
}
