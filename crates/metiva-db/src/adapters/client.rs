//! [`Adapters`]: the one HTTP client stack, its in-call retries, and the
//! breaker around every call.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};

use super::breaker::{self, Admit, BreakerPolicy, Report};
use super::{CallError, Clock, Method, OutboundRequest, OutboundResponse, Provider, ProviderBases};
use crate::{CompanyId, Database};

/// A response body is read up to this size (a provider's answer is small).
const MAX_BODY: usize = 1024 * 1024;
/// A `Retry-After` is believed up to a day.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// The in-call retries (inside one job attempt, so small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (default 3).
    pub attempts: usize,
    /// Exponential backoff between them, with jitter (default 200 ms
    /// doubling, at most 2 s).
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` up to this long is slept in the call (default
    /// 5 s); a longer one ends the call with `CallError::Transient {
    /// retry_after }` so the job is rescheduled instead of holding its
    /// transaction open.
    pub max_inline_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_inline_wait: Duration::from_secs(5),
        }
    }
}

/// The adapter framework's handle: one reqwest client (connect 3 s,
/// total 10 s per attempt, rustls, no redirects), the breaker store (the
/// database), the clock, the provider bases and the policies. Cheap to
/// clone; build once per process.
#[derive(Clone)]
pub struct Adapters {
    http: reqwest::Client,
    db: Database,
    clock: Arc<dyn Clock>,
    bases: ProviderBases,
    breaker: BreakerPolicy,
    retry: RetryPolicy,
}

/// One attempt's failure.
#[derive(Debug, Clone)]
struct Failure {
    message: String,
    /// `false`: permanent (the provider refused, or a bad request).
    transient: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn transient(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        Self {
            message: message.into(),
            transient: true,
            retry_after,
        }
    }

    fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            transient: false,
            retry_after: None,
        }
    }

    fn into_call_error(self) -> CallError {
        if self.transient {
            CallError::Transient {
                message: self.message,
                retry_after: self.retry_after,
            }
        } else {
            CallError::Permanent(self.message)
        }
    }
}

impl Adapters {
    /// The client stack over `db` with the default breaker and retry
    /// policies and the system clock.
    pub fn new(db: Database, bases: ProviderBases) -> Result<Self, CallError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            // Security: no redirects. A provider never needs one, and a
            // workspace's webhook could otherwise bounce Metiva's server
            // to an internal address after the URL check.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("metiva/0.1")
            .build()
            .map_err(|e| CallError::Permanent(format!("http client: {e}")))?;
        Ok(Self {
            http,
            db,
            clock: Arc::new(super::SystemClock),
            bases,
            breaker: BreakerPolicy::default(),
            retry: RetryPolicy::default(),
        })
    }

    /// The same stack with another clock (tests: a `ManualClock`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_breaker(mut self, policy: BreakerPolicy) -> Self {
        self.breaker = policy;
        self
    }

    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    pub fn bases(&self) -> &ProviderBases {
        &self.bases
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Sends `req` to `provider` for `company`: refused with
    /// [`CallError::Open`] while the (company, provider) breaker is open
    /// (nothing sent); otherwise sent with the in-call retries (a single
    /// attempt when it is the half-open probe), and the outcome recorded
    /// in the breaker in a transaction of its own.
    pub async fn call(
        &self,
        company: &CompanyId,
        provider: Provider,
        req: OutboundRequest,
    ) -> Result<OutboundResponse, CallError> {
        self.check_url(provider, &req.url)?;
        let admit = breaker::admit(&self.db, company, provider, &self.breaker, self.now())
            .await
            .map_err(|_| CallError::Transient {
                message: "breaker_unavailable".into(),
                retry_after: None,
            })?;
        let probe = match admit {
            Admit::Go => false,
            Admit::Probe => true,
            Admit::Refused(retry_at) => return Err(CallError::Open { retry_at }),
        };
        self.send_and_record(company, provider, &req, probe).await
    }

    /// "Test connection": one attempt, whatever the breaker says (an
    /// operator's explicit check), recorded in the breaker like any call
    /// (a success closes it).
    pub async fn test(
        &self,
        company: &CompanyId,
        provider: Provider,
        req: OutboundRequest,
    ) -> Result<OutboundResponse, CallError> {
        self.check_url(provider, &req.url)?;
        self.send_and_record(company, provider, &req, true).await
    }

    async fn send_and_record(
        &self,
        company: &CompanyId,
        provider: Provider,
        req: &OutboundRequest,
        single: bool,
    ) -> Result<OutboundResponse, CallError> {
        let result = self.send(provider, req, single).await;
        let report = match &result {
            Ok(_) => Report::Success,
            Err(f) if f.transient => Report::Failed(f.message.clone(), f.retry_after),
            Err(f) => Report::Rejected(f.message.clone()),
        };
        // A failed write leaves the breaker as it was; the call's own
        // result still stands (the next call records again).
        let _ = breaker::record(
            &self.db,
            company,
            provider,
            &self.breaker,
            self.now(),
            &report,
        )
        .await;
        result.map_err(Failure::into_call_error)
    }

    /// Security: a provider's credentials go only to its configured base
    /// URL; a webhook URL must pass [`check_webhook_url`].
    fn check_url(&self, provider: Provider, url: &str) -> Result<(), CallError> {
        match self.bases.base(provider) {
            Some(base) => {
                let base = base.trim_end_matches('/');
                let ok = url
                    .strip_prefix(base)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
                if ok {
                    Ok(())
                } else {
                    Err(CallError::Permanent("url_not_provider_base".into()))
                }
            }
            None => check_webhook_url(url, self.bases.allow_private_webhooks)
                .map_err(|code| CallError::Permanent(format!("webhook_url_{code}"))),
        }
    }

    async fn send(
        &self,
        provider: Provider,
        req: &OutboundRequest,
        single: bool,
    ) -> Result<OutboundResponse, Failure> {
        let retries = if single {
            0
        } else {
            self.retry.attempts.saturating_sub(1)
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(retries)
            .with_jitter();
        let max_inline = self.retry.max_inline_wait;
        (|| self.attempt(provider, req))
            .retry(backoff)
            // A Retry-After longer than the inline cap ends the call: the
            // job is rescheduled instead of sleeping in its transaction.
            .when(|f: &Failure| f.transient && f.retry_after.is_none_or(|ra| ra <= max_inline))
            // Honour Retry-After: never sooner than the provider asked.
            .adjust(|f: &Failure, d| d.map(|d| f.retry_after.map_or(d, |ra| ra.max(d))))
            .await
    }

    async fn attempt(
        &self,
        provider: Provider,
        req: &OutboundRequest,
    ) -> Result<OutboundResponse, Failure> {
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut rb = self.http.request(method, &req.url);
        for (k, v) in &req.headers {
            rb = rb.header(k, v);
        }
        if let Some(key) = &req.idempotency_key {
            rb = rb.header(provider.idempotency_header(), key);
        }
        if let Some((ct, body)) = &req.body {
            rb = rb
                .header(reqwest::header::CONTENT_TYPE, ct)
                .body(body.clone());
        }
        let mut resp = rb.send().await.map_err(|e| {
            if e.is_builder() {
                Failure::permanent("bad_request")
            } else if e.is_timeout() {
                Failure::transient("timeout", None)
            } else if e.is_connect() {
                Failure::transient("connect_failed", None)
            } else {
                Failure::transient("network_error", None)
            }
        })?;
        let status = resp.status().as_u16();
        if status == 408 || status == 429 || (500..=599).contains(&status) {
            let ra = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, self.now()));
            return Err(Failure::transient(format!("http_{status}"), ra));
        }
        if !(200..=299).contains(&status) {
            return Err(Failure::permanent(format!("http_{status}")));
        }
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if body.len() + c.len() > MAX_BODY {
                        return Err(Failure::permanent("response_too_large"));
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(Failure::transient("timeout", None)),
                Err(_) => return Err(Failure::transient("network_error", None)),
            }
        }
        Ok(OutboundResponse {
            status,
            headers,
            body,
        })
    }
}

/// `Retry-After`: delta-seconds or an HTTP date (relative to `now`),
/// capped at a day; nonsense is ignored.
pub(crate) fn parse_retry_after(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = v.trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
        (at - now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// Checks a workspace's webhook URL; the error is a reason code.
///
/// # Security
/// The URL is chosen by the workspace, so it must not turn Metiva's
/// server into a probe of its own network (SSRF): https only, no
/// credentials in the URL, and no loopback, private, link-local or
/// otherwise special address or `localhost` name, unless
/// `allow_private` (`METIVA_WEBHOOK_ALLOW_PRIVATE=1`, the local fakes).
/// Names are not resolved here (a name pointing inward is not caught);
/// redirects are never followed.
pub fn check_webhook_url(url: &str, allow_private: bool) -> Result<(), &'static str> {
    if url.len() > 2048 {
        return Err("too_long");
    }
    let u = reqwest::Url::parse(url).map_err(|_| "invalid")?;
    match u.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err("not_https"),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("credentials_in_url");
    }
    // The parser normalises hosts (IPv4 in hex or octal forms becomes
    // dotted decimal), so the address checks see the real address.
    let host = u.host_str().ok_or("invalid")?;
    if allow_private {
        return Ok(());
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let inward = match bare.parse::<IpAddr>() {
        Ok(ip) => special_ip(ip),
        Err(_) => {
            let d = bare.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost"
                || d.ends_with(".localhost")
                || d.ends_with(".internal")
                || d.ends_with(".local")
                || !d.contains('.')
        }
    };
    if inward {
        Err("private_address")
    } else {
        Ok(())
    }
}

fn special_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 100.64.0.0/10 (carrier-grade NAT) and 0.0.0.0/8.
                || (a == 100 && (64..128).contains(&b))
                || a == 0
        }
        IpAddr::V6(v6) => {
            let seg0 = v6.segments().first().copied().unwrap_or(0);
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // fc00::/7 unique local, fe80::/10 link-local.
                || (seg0 & 0xfe00) == 0xfc00
                || (seg0 & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| special_ip(IpAddr::V4(v4)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after("Mon, 07 Dec 2026 10:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("999999999", now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn webhook_urls_refuse_inward_addresses() {
        assert_eq!(
            check_webhook_url("https://hooks.example.nl/x", false),
            Ok(())
        );
        for (u, code) in [
            ("http://hooks.example.nl/x", "not_https"),
            ("https://localhost/x", "private_address"),
            ("https://127.0.0.1:8080/x", "private_address"),
            ("https://10.1.2.3/x", "private_address"),
            ("https://169.254.169.254/latest", "private_address"),
            ("https://[::1]/x", "private_address"),
            ("https://[::ffff:192.168.1.1]/x", "private_address"),
            ("https://metadata/x", "private_address"),
            ("https://u:p@hooks.example.nl/x", "credentials_in_url"),
            ("ftp://hooks.example.nl/x", "not_https"),
            ("not a url", "invalid"),
        ] {
            assert_eq!(check_webhook_url(u, false), Err(code), "{u}");
        }
        assert_eq!(
            check_webhook_url("http://127.0.0.1:9000/hook", true),
            Ok(())
        );
    }
}
