//! Abuse limits: in-process GCRA rate limiters (`governor`) in front of the
//! public ingest endpoints, the login service's form posts, exports and
//! the isolation self-test.
//!
//! | limit | key | default | variable |
//! |---|---|---|---|
//! | ingest per client | client address (IPv6: its /64) | 600/m | `METIVA_LIMIT_INGEST_PER_IP` |
//! | ingest per site | site key | 60000/m | `METIVA_LIMIT_INGEST_PER_SITE` |
//! | sign-in posts per client | client address | 60/m | `METIVA_LIMIT_LOGIN_PER_IP` |
//! | exports per workspace | company | 10/m | `METIVA_LIMIT_EXPORTS_PER_WORKSPACE` |
//! | self-tests per workspace | company | 5/m | `METIVA_LIMIT_SELF_TEST_PER_WORKSPACE` |
//! | Trust Center walkthrough requests per client | client address | 10/h | `METIVA_LIMIT_WALKTHROUGH_PER_IP` |
//!
//! `N/s`, `N/m` or `N/h`: a burst of N, refilled evenly over the period;
//! `off` disables a limit. Refusals are 429 with `Retry-After`.
//!
//! # Security
//! - The client is the address `METIVA_TRUSTED_PROXY_HOPS` resolves
//!   ([`ClientIp`]), never the raw `X-Forwarded-For`: a client cannot pick
//!   its own bucket. IPv6 clients are keyed by their /64, which one
//!   subscriber usually holds whole. An unknown address (a short
//!   forwarded header) shares one bucket: fail closed.
//! - Memory is bounded: every 10 s the keys whose bucket is full again are
//!   dropped (`retain_recent`), so a key lives at most one refill period
//!   after its last request; should a flood of distinct keys still pass
//!   [`MAX_KEYS`] the limiter is cleared (those clients start full again)
//!   rather than let memory grow.
//! - These limits are per instance, on top of the database throttle on
//!   sign-in failures, which holds across instances.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::http::login::ClientIp;

/// Keys a limiter may hold before it is cleared (see the module docs).
pub const MAX_KEYS: usize = 200_000;

/// A limit: a burst of `count`, refilled evenly over `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    pub const fn per_minute(count: u32) -> Self {
        Self {
            count,
            per: Duration::from_secs(60),
        }
    }

    /// `N/s`, `N/m`, `N/h` (N from 1 to 1,000,000), or `off` (None).
    pub fn parse(s: &str) -> Result<Option<Self>, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let bad = || format!("{s:?} must be like 600/m (per s, m or h) or off");
        let (n, unit) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|c| (1..=1_000_000).contains(c))
            .ok_or_else(bad)?;
        let per = match unit.trim() {
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Some(Self { count, per }))
    }

    fn quota(self) -> Option<Quota> {
        let burst = NonZeroU32::new(self.count)?;
        let period = self.per.checked_div(self.count)?;
        Some(Quota::with_period(period)?.allow_burst(burst))
    }
}

/// The limits a process applies; `None` is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    pub ingest_per_ip: Option<Rate>,
    pub ingest_per_site: Option<Rate>,
    pub login_per_ip: Option<Rate>,
    pub exports_per_workspace: Option<Rate>,
    pub self_test_per_workspace: Option<Rate>,
    /// `POST /trust/walkthrough`: public, unauthenticated, and every
    /// accepted post is a stored row in the operator's workspace.
    pub walkthrough_per_ip: Option<Rate>,
}

impl Default for LimitSettings {
    /// Sane production defaults: a real visitor sends an event per page
    /// view (an office behind one address: hundreds a minute); a site of
    /// a busy client well under 1,000 a second; a person signs in a few
    /// times a minute at most.
    fn default() -> Self {
        Self {
            ingest_per_ip: Some(Rate::per_minute(600)),
            ingest_per_site: Some(Rate::per_minute(60_000)),
            login_per_ip: Some(Rate::per_minute(60)),
            exports_per_workspace: Some(Rate::per_minute(10)),
            self_test_per_workspace: Some(Rate::per_minute(5)),
            // A prospect books once; ten an hour leaves room for typos
            // and a shared office address, not for a script.
            walkthrough_per_ip: Some(Rate {
                count: 10,
                per: Duration::from_secs(3600),
            }),
        }
    }
}

impl LimitSettings {
    /// Every limit off (in-process tests and benchmarks, which send many
    /// events from one address; the `limits` tests turn them on).
    pub const fn off() -> Self {
        Self {
            ingest_per_ip: None,
            ingest_per_site: None,
            login_per_ip: None,
            exports_per_workspace: None,
            self_test_per_workspace: None,
            walkthrough_per_ip: None,
        }
    }

    /// The defaults, each overridden by its variable when set.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let d = Self::default();
        let get = |name: &str, default: Option<Rate>| -> anyhow::Result<Option<Rate>> {
            match var(name) {
                None => Ok(default),
                Some(v) => Rate::parse(&v).map_err(|e| anyhow::anyhow!("{name}={e}")),
            }
        };
        Ok(Self {
            ingest_per_ip: get("METIVA_LIMIT_INGEST_PER_IP", d.ingest_per_ip)?,
            ingest_per_site: get("METIVA_LIMIT_INGEST_PER_SITE", d.ingest_per_site)?,
            login_per_ip: get("METIVA_LIMIT_LOGIN_PER_IP", d.login_per_ip)?,
            exports_per_workspace: get(
                "METIVA_LIMIT_EXPORTS_PER_WORKSPACE",
                d.exports_per_workspace,
            )?,
            self_test_per_workspace: get(
                "METIVA_LIMIT_SELF_TEST_PER_WORKSPACE",
                d.self_test_per_workspace,
            )?,
            walkthrough_per_ip: get("METIVA_LIMIT_WALKTHROUGH_PER_IP", d.walkthrough_per_ip)?,
        })
    }
}

/// One keyed limiter, or none when the limit is off. The lock is taken
/// for writing only to replace a limiter past [`MAX_KEYS`].
struct Keyed<K: Hash + Eq + Clone>(Option<(Quota, std::sync::RwLock<DefaultKeyedRateLimiter<K>>)>);

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(rate: Option<Rate>) -> Self {
        Self(
            rate.and_then(Rate::quota)
                .map(|q| (q, std::sync::RwLock::new(RateLimiter::keyed(q)))),
        )
    }

    /// `Err(wait)` when `key` is over its limit.
    fn check(&self, key: &K) -> Result<(), Duration> {
        let Some((_, lock)) = &self.0 else {
            return Ok(());
        };
        // A poisoned lock still holds a usable limiter.
        let l = lock
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        l.check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |(_, lock)| {
            lock.read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .len()
        })
    }

    fn sweep(&self) {
        let Some((quota, lock)) = &self.0 else {
            return;
        };
        let keys = {
            let l = lock
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            l.retain_recent();
            l.shrink_to_fit();
            l.len()
        };
        if keys > MAX_KEYS {
            tracing::warn!(keys, "rate limiter over its key bound; cleared");
            *lock
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = RateLimiter::keyed(*quota);
        }
    }
}

/// The limiters of one process.
pub struct Limits {
    ingest_ip: Keyed<Option<IpAddr>>,
    ingest_site: Keyed<String>,
    login_ip: Keyed<Option<IpAddr>>,
    exports: Keyed<String>,
    self_test: Keyed<String>,
    walkthrough_ip: Keyed<Option<IpAddr>>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits").finish_non_exhaustive()
    }
}

impl Limits {
    /// The limiters, and a sweeper that bounds their memory (it stops
    /// when the limiters are dropped). Needs a Tokio runtime.
    pub fn new(settings: &LimitSettings) -> Arc<Self> {
        let limits = Arc::new(Self {
            ingest_ip: Keyed::new(settings.ingest_per_ip),
            ingest_site: Keyed::new(settings.ingest_per_site),
            login_ip: Keyed::new(settings.login_per_ip),
            exports: Keyed::new(settings.exports_per_workspace),
            self_test: Keyed::new(settings.self_test_per_workspace),
            walkthrough_ip: Keyed::new(settings.walkthrough_per_ip),
        });
        let weak: Weak<Self> = Arc::downgrade(&limits);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                let Some(l) = weak.upgrade() else { return };
                l.ingest_ip.sweep();
                l.ingest_site.sweep();
                l.login_ip.sweep();
                l.exports.sweep();
                l.self_test.sweep();
                l.walkthrough_ip.sweep();
            }
        });
        limits
    }
}

/// The key for a client address: IPv4 whole, IPv6 by its /64.
fn client_key(ip: Option<IpAddr>) -> Option<IpAddr> {
    ip.map(|ip| match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    })
}

/// 429 with `Retry-After` (whole seconds, at least 1).
fn too_many(limit: &'static str, wait: Duration, message: &'static str, json: bool) -> Response {
    crate::metrics::rate_limited(limit);
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut r = if json {
        crate::http::error::AppError::refusal(429, message).into_response()
    } else {
        (StatusCode::TOO_MANY_REQUESTS, message).into_response()
    };
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The site key a `/collect` or `/capture` body names, without parsing
/// the rest (the handler parses it strictly).
fn body_site_key(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Site {
        site: Option<String>,
    }
    serde_json::from_slice::<Site>(body)
        .ok()
        .and_then(|s| s.site)
        // Longer than any real key: the handler refuses it; no bucket.
        .filter(|k| k.len() <= 64)
}

/// In front of the ingest routes: per client, then per site key.
pub async fn ingest(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let ip = client_key(ClientIp::from_parts(&parts).0);
    const MSG_IP: &str = "Too many events from this address. Retry after the time in Retry-After.";
    const MSG_SITE: &str = "Too many events for this site. Retry after the time in Retry-After.";
    if let Err(wait) = limits.ingest_ip.check(&ip) {
        return too_many("ingest_per_ip", wait, MSG_IP, false);
    }
    let path = parts.uri.path();
    let (site, body) = if parts.method == Method::POST {
        // The handler's own limit is 4 KiB; anything larger goes through
        // untouched for it to refuse (413) as it always has.
        let limit = crate::http::collect::MAX_PAYLOAD_BYTES;
        match axum::body::to_bytes(body, limit + 1).await {
            Ok(bytes) => (body_site_key(&bytes), Body::from(bytes)),
            Err(_) => {
                return (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("Payload too large: the limit is {limit} bytes."),
                )
                    .into_response();
            }
        }
    } else {
        let key = path
            .strip_prefix("/s/")
            .and_then(|r| r.strip_suffix("/snippet.js"))
            .filter(|k| k.len() <= 64)
            .map(str::to_owned);
        (key, body)
    };
    if let Some(site) = site
        && let Err(wait) = limits.ingest_site.check(&site)
    {
        return too_many("ingest_per_site", wait, MSG_SITE, false);
    }
    next.run(Request::from_parts(parts, body)).await
}

/// In front of the login service: its form posts (sign-in, workspace
/// choice, invitations) per client address. Pages and the JWKS are free.
pub async fn login(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST {
        let (parts, body) = req.into_parts();
        let ip = client_key(ClientIp::from_parts(&parts).0);
        if let Err(wait) = limits.login_ip.check(&ip) {
            crate::metrics::login_throttled("ip_limit");
            return too_many(
                "login_per_ip",
                wait,
                "Too many sign-in attempts from this address. Wait a moment and try again.",
                false,
            );
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    next.run(req).await
}

/// In front of the Trust Center: `POST /trust/walkthrough` per client
/// address (pages are free). The answer names the wait in both languages
/// the page speaks, since the limiter runs before the form's language is
/// read.
pub async fn walkthrough(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST && req.uri().path() == WALKTHROUGH_PATH {
        let (parts, body) = req.into_parts();
        let ip = client_key(ClientIp::from_parts(&parts).0);
        if let Err(wait) = limits.walkthrough_ip.check(&ip) {
            let json = !crate::http::ui::wants_html(&parts.headers);
            return too_many(
                "walkthrough_per_ip",
                wait,
                "Too many walkthrough requests from this address. Please try again later (see Retry-After, in seconds). / Te veel aanvragen vanaf dit adres. Probeer het later opnieuw.",
                json,
            );
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    next.run(req).await
}

/// The Trust Center form's post.
pub const WALKTHROUGH_PATH: &str = "/trust/walkthrough";

/// The isolation self-test's server function.
pub const SELF_TEST_PATH: &str = "/api/run_self_test";

/// After the tenant guard: exports (the CSV downloads) and the isolation
/// self-test per workspace. Both are heavy reads; a script must not turn
/// them into a way to load the database.
pub async fn workspace(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    let Some(company) = req
        .extensions()
        .get::<metiva_db::TenantCtx>()
        .map(|c| c.company().as_str().to_owned())
    else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    if req.method() == Method::GET && path.ends_with(".csv") {
        if let Err(wait) = limits.exports.check(&company) {
            return too_many(
                "exports_per_workspace",
                wait,
                "Too many exports from this workspace in a short time. Try again in a minute.",
                false,
            );
        }
    } else if path == SELF_TEST_PATH
        && let Err(wait) = limits.self_test.check(&company)
    {
        return too_many(
            "self_test_per_workspace",
            wait,
            "The self-test ran several times just now. Try again in a minute.",
            true,
        );
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(Rate::parse("600/m"), Ok(Some(Rate::per_minute(600))));
        assert_eq!(
            Rate::parse(" 5/s "),
            Ok(Some(Rate {
                count: 5,
                per: Duration::from_secs(1)
            }))
        );
        assert_eq!(Rate::parse("off"), Ok(None));
        for bad in ["", "5", "0/m", "5/d", "x/m", "-1/s", "2000000/s"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:bbbb::2"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(client_key(Some(a)), client_key(Some(b)));
        assert_ne!(client_key(Some(a)), client_key(Some(c)));
        let v4: IpAddr = "192.0.2.7".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(client_key(Some(v4)), Some(v4));
    }

    #[tokio::test]
    async fn a_burst_then_refusal_then_recovery() {
        let l = Keyed::new(Some(Rate {
            count: 3,
            per: Duration::from_millis(300),
        }));
        for _ in 0..3 {
            assert!(l.check(&"a").is_ok());
        }
        let wait = l.check(&"a").err();
        assert!(
            wait.is_some_and(|w| w <= Duration::from_millis(100)),
            "{wait:?}"
        );
        assert!(l.check(&"b").is_ok(), "another key has its own bucket");
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(l.check(&"a").is_ok(), "one token refilled");
        // Idle keys go at the sweep.
        tokio::time::sleep(Duration::from_millis(400)).await;
        l.sweep();
        assert_eq!(l.len(), 0);
    }

    #[test]
    fn the_site_key_is_read_from_the_body() {
        assert_eq!(
            body_site_key(br#"{"site":"k_abc","path":"/"}"#),
            Some("k_abc".into())
        );
        assert_eq!(body_site_key(b"not json"), None);
        assert_eq!(body_site_key(br#"{"path":"/"}"#), None);
        let long = format!(r#"{{"site":"{}"}}"#, "x".repeat(65));
        assert_eq!(body_site_key(long.as_bytes()), None);
    }
}
