//! The login service (127.0.0.1:3001): sign-in, workspace choice,
//! sign-out, invitations and the JWKS, on its own router and state.
//!
//! # Security
//! - Passwords are checked with bcrypt off the async runtime, on a bounded
//!   pool of lowest-priority threads (so a flood of sign-ins cannot starve
//!   other requests), and
//!   an unknown email runs the very same verification against a dummy
//!   hash: same work, same response, same status.
//! - Throttling delays (429 + Retry-After) per account and per client IP,
//!   stored in PostgreSQL so it holds across instances. The account delay
//!   is capped at a minute, so an attacker can slow a real user down but
//!   never lock them out.
//! - The token leaves this service only sealed inside a one-time code (at
//!   most 60 s, bound to `return_to` and `state`); it is never in a URL.
//! - `return_to` must be on `METIVA_APP_URL`; anything else is refused.
//! - The login session is a random secret in an HttpOnly cookie; the
//!   database holds only its SHA-256. Its id is every token's `sid`.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::cookies::{self, Cookie, SameSite};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use metiva_db::login::{LoginDb, NewCode, NewSession, SealedIp, ThrottlePolicy, Workspace};
use metiva_db::{CompanyId, Database};
use metiva_security::password::{self, Password, PasswordError};
use metiva_security::secret;
use metiva_security::token::{AccessClaims, now_secs};
use serde::Deserialize;
use uuid::Uuid;

use super::cookies::{lang_cookie, with_cookies};
use super::dashboard::common_layers;
use super::ui::{self, Lang, qs};
use crate::config::Config;
use crate::keys::Keys;
use app::login_pages::{self as pages, FlowFields};
use leptos::view;

mod invite;
mod sign_in;
mod workspace;

use invite::{get_invite, post_invite};
use sign_in::{current_session, get_login, post_login};
use workspace::{choose_page, issue, post_choose};

/// Access tokens live ten minutes; the login session renews them silently.
pub use metiva_security::token::ACCESS_TOKEN_TTL_SECS;
/// A one-time code must be redeemed within this.
pub const CODE_TTL: Duration = Duration::from_secs(60);
/// A login session lasts at most this long without signing in again.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Per account: 5 free failures, then 1 s, 2 s, … capped at 60 s.
pub const ACCOUNT_POLICY: ThrottlePolicy = ThrottlePolicy {
    free: 5,
    cap: Duration::from_secs(60),
};
/// Per client IP: 20 free failures, then doubling up to 15 minutes.
pub const IP_POLICY: ThrottlePolicy = ThrottlePolicy {
    free: 20,
    cap: Duration::from_secs(900),
};

/// Everything the login service's handlers share.
pub struct LoginService {
    db: LoginDb,
    /// The signing key in use and the published ones, from
    /// `token_signing_keys` (`crate::signing_keys`).
    signing: Arc<crate::signing_keys::SigningKeys>,
    app_url: String,
    login_url: String,
    secure: bool,
    bcrypt_cost: u32,
    hash_key: [u8; 32],
    bcrypt: super::bcrypt_pool::BcryptPool,
    field_keys: Arc<metiva_security::cipher::KeyRing>,
    dummy_hash: String,
    /// bcrypt verifications run, real or dummy (tests prove the unknown
    /// email path does the same work).
    verifications: std::sync::atomic::AtomicU64,
}

type St = State<Arc<LoginService>>;

/// The login session cookie. `__Host-` (Secure, no Domain, Path=/) over
/// https; the documented development exception drops the prefix and
/// Secure for plain http on 127.0.0.1.
pub fn login_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-metiva_login"
    } else {
        "metiva_login"
    }
}

impl LoginService {
    /// Builds the service; hashes the dummy password at the configured cost
    /// (so unknown emails cost what real ones do).
    pub async fn new(config: &Config, db: LoginDb, keys: &Keys) -> anyhow::Result<Arc<Self>> {
        // Without the environment's key the table must hold one (after a
        // rotation); that is checked at signing time, fail closed.
        let signing = crate::signing_keys::SigningKeys::signer(
            db.database().clone(),
            keys,
            &config.login_url,
        );
        let cost = config.bcrypt_cost;
        let dummy_hash = tokio::task::spawn_blocking(move || {
            let pw = Password::new(secret::random_secret())?;
            password::hash(&pw, cost)
        })
        .await??;
        // Low-priority bcrypt threads for half the cores (at least one):
        // sign-in floods queue there and run in the gaps, and the other
        // half stays free for requests and the database.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Arc::new(Self {
            db,
            signing,
            app_url: config.app_url.clone(),
            login_url: config.login_url.clone(),
            secure: config.login_url.starts_with("https://"),
            bcrypt_cost: cost,
            hash_key: keys.hash_key,
            bcrypt: super::bcrypt_pool::BcryptPool::new((cores / 2).max(1))?,
            field_keys: keys.field_keys.clone(),
            dummy_hash,
            verifications: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    fn cookie_name(&self) -> &'static str {
        login_cookie_name(self.secure)
    }

    /// The login session cookie for `value`, kept for `ttl` (zero
    /// removes it, with the attributes it was set with).
    fn session_cookie(
        &self,
        value: impl Into<Cow<'static, str>>,
        ttl: Duration,
    ) -> Cookie<'static> {
        let max_age = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        cookies::server_only(
            self.cookie_name(),
            value,
            SameSite::Lax,
            max_age,
            self.secure,
        )
    }

    /// How many bcrypt verifications ran.
    pub fn verifications(&self) -> u64 {
        self.verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs bcrypt off the runtime, on the low-priority pool.
    async fn verify(&self, pw: Password, hash: String) -> bool {
        self.verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.bcrypt
            .run(move || password::verify(&pw, &hash))
            .await
            .unwrap_or(false)
    }

    async fn hash(&self, pw: Password) -> Result<String, PasswordError> {
        let cost = self.bcrypt_cost;
        self.bcrypt
            .run(move || password::hash(&pw, cost))
            .await
            .unwrap_or(Err(PasswordError::Hashing))
    }
}

pub fn login_router(service: Arc<LoginService>, config: &Config, health_db: Database) -> Router {
    // Rotations reach the signer through the app pool's listener too
    // (`DATABASE_LISTEN_URL`), whatever the login pool's URL is.
    service.signing.follow(&health_db.cache_bus());
    let site = std::path::Path::new(&config.site_root);
    let static_files = Router::new()
        .route_service(
            "/pkg/metiva.css",
            tower_http::services::ServeFile::new(site.join("pkg/metiva.css")),
        )
        .route_service(
            "/favicon.svg",
            tower_http::services::ServeFile::new(site.join("favicon.svg")),
        )
        .layer(super::dashboard::compress_assets());
    let routes = Router::new()
        .route(
            "/",
            get(|State(s): St| async move { Redirect::to(&format!("{}/", s.app_url)) }),
        )
        .route("/login", get(get_login).post(post_login))
        .route("/choose", axum::routing::post(post_choose))
        .route("/logout", axum::routing::post(post_logout))
        .route("/signed-out", get(get_signed_out))
        .route(
            "/invite/{company}/{token}",
            get(get_invite).post(post_invite),
        )
        .route("/.well-known/jwks.json", get(get_jwks))
        .with_state(service);
    common_layers(
        routes
            .merge(static_files)
            .merge(super::health::routes(health_db)),
        &config.login_url,
    )
    .layer(axum::middleware::from_fn_with_state(
        crate::limits::Limits::new(&config.limits),
        crate::limits::login,
    ))
    .layer(axum::Extension(ProxyHops(config.trusted_proxy_hops)))
    .layer(axum::middleware::from_fn(crate::observability::observe))
}

/// Where a sign-in started and must return to.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Flow {
    #[serde(default)]
    return_to: String,
    #[serde(default)]
    state: String,
    /// A workspace hint (switching, renewal); membership is still checked.
    #[serde(default)]
    company: Option<String>,
    /// `sign_in`, `switch` or `renew`: labels the audit row and whether to
    /// ask even when one workspace would do.
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    SignIn,
    Switch,
    Renew,
}

impl Flow {
    /// The flow's parameters, checked: `return_to` on the dashboard's
    /// origin, `state` of the shape the dashboard mints.
    fn checked(&self, app_url: &str) -> Option<(String, String)> {
        let rt = self.return_to.as_str();
        let ok_rt = rt == app_url
            || rt
                .strip_prefix(app_url)
                .is_some_and(|rest| rest.starts_with('/') && !rest.starts_with("//"));
        let ok_rt = ok_rt && rt.len() <= 2048 && !rt.chars().any(|c| c.is_control() || c == '\\');
        let ok_state = (16..=128).contains(&self.state.len())
            && self
                .state
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (ok_rt && ok_state).then(|| (rt.to_string(), self.state.clone()))
    }

    fn purpose(&self) -> Purpose {
        match self.purpose.as_deref() {
            Some("switch") => Purpose::Switch,
            Some("renew") => Purpose::Renew,
            _ => Purpose::SignIn,
        }
    }

    fn company(&self) -> Option<CompanyId> {
        self.company
            .as_deref()
            .and_then(|c| CompanyId::parse(c).ok())
    }

    /// The flow as the page's hidden form fields carry it on (checked
    /// again on every post).
    fn fields(&self) -> FlowFields {
        FlowFields {
            return_to: self.return_to.clone(),
            state: self.state.clone(),
            company: self.company().map(|c| c.to_string()),
            purpose: self.purpose.clone(),
        }
    }

    /// This page's URL with the flow, for the language links.
    fn self_url(&self, path: &str) -> String {
        let mut url = format!(
            "{path}?return_to={}&state={}",
            qs(&self.return_to),
            qs(&self.state)
        );
        if let Some(c) = self.company() {
            url.push_str(&format!("&company={c}"));
        }
        if let Some(p) = &self.purpose {
            url.push_str(&format!("&purpose={}", qs(p)));
        }
        url
    }
}

fn request_id() -> String {
    Uuid::new_v4().to_string()
}

fn with_lang_cookie(resp: Response, flow_lang: Option<&str>) -> Response {
    match flow_lang.and_then(Lang::parse) {
        Some(l) => with_cookies(resp, &[lang_cookie(l)]),
        None => resp,
    }
}

/// A flow that did not come from the dashboard: start again there.
fn restart(s: &LoginService, lang: Lang) -> Response {
    let app_url = s.app_url.clone();
    ui::page(StatusCode::BAD_REQUEST, &s.app_url, move || {
        view! { <pages::RestartPage lang app_url /> }
    })
}

/// A database failure on the sign-in path, by kind: only an unreachable
/// database is "temporarily unavailable" (503); anything else is an
/// opaque 500 whose cause is logged once under a reference the user can
/// quote.
fn database_failure(e: &metiva_db::DbError) -> Response {
    use metiva_db::DbError as E;
    match e {
        E::Unavailable(_) => {
            tracing::warn!(error = %e, "login service: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The sign-in service is temporarily unavailable. Please try again.",
            )
                .into_response()
        }
        E::AccessRevoked => (
            StatusCode::FORBIDDEN,
            "Your access to this workspace changed. Sign in again.",
        )
            .into_response(),
        E::NotFound => (StatusCode::NOT_FOUND, "Not found.").into_response(),
        E::Conflict { .. } => (
            StatusCode::CONFLICT,
            "That conflicts with existing data. Please start again.",
        )
            .into_response(),
        E::Rejected(_) | E::ReadOnly | E::Internal(_) => {
            let reference = request_id();
            tracing::error!(reference, error = %e, "login service: database");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("Something went wrong on our side. Quote reference {reference} if you contact support."),
            )
                .into_response()
        }
    }
}

/// How many trusted reverse proxies append to `X-Forwarded-For`; set on
/// every request by the routers (`METIVA_TRUSTED_PROXY_HOPS`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProxyHops(pub usize);

/// The client's address.
///
/// # Security
/// With no trusted proxy (the default) it is the TCP peer and
/// `X-Forwarded-For` is ignored: anyone can write that header. With `n`
/// trusted proxies it is the `n`-th address from the right of
/// `X-Forwarded-For`: the one the outermost trusted proxy saw. Entries
/// further left were written by the client and are never used. A missing
/// or short header gives no address (fail closed: ingest refuses, the
/// login throttle counts it under one shared "unknown" key).
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl ClientIp {
    pub fn from_parts(parts: &axum::http::request::Parts) -> Self {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let hops = parts.extensions.get::<ProxyHops>().map_or(0, |h| h.0);
        if hops == 0 {
            return Self(peer);
        }
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let ip = forwarded
            .len()
            .checked_sub(hops)
            .and_then(|i| forwarded.get(i))
            .and_then(|s| s.parse().ok());
        Self(ip)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

fn client_ip(peer: &ClientIp) -> String {
    peer.0.map_or_else(|| "unknown".into(), |ip| ip.to_string())
}

async fn post_logout(State(s): St, headers: HeaderMap) -> Response {
    if let Ok(Some(session)) = current_session(&s, &headers).await
        && let Err(e) = s.db.revoke_session(session.id).await
    {
        return database_failure(&e);
    }
    signed_out(&s, &headers)
}

/// The page the dashboard sends a signed-out user to. The session was
/// already revoked there; this clears the (now useless) login cookie.
async fn get_signed_out(State(s): St, headers: HeaderMap) -> Response {
    signed_out(&s, &headers)
}

fn signed_out(s: &LoginService, headers: &HeaderMap) -> Response {
    let lang = ui::negotiate(None, headers);
    let app_url = s.app_url.clone();
    let resp = ui::page(StatusCode::OK, &s.app_url, move || {
        view! { <pages::SignedOutPage lang app_url /> }
    });
    with_cookies(resp, &[s.session_cookie("", Duration::ZERO)])
}

/// The next, current and still-verifying retired keys, by `kid`.
async fn get_jwks(State(s): St) -> Response {
    use base64::Engine as _;
    let Ok(published) = s.signing.published().await else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the signing keys are unavailable",
        )
            .into_response();
    };
    let keys: Vec<serde_json::Value> = published
        .iter()
        .map(|pk| {
            serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": pk.kid,
                "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pk.bytes),
            })
        })
        .collect();
    Json(serde_json::json!({ "keys": keys })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only an unreachable database is a 503; other failures keep their
    /// class, and a 500 names a reference, never the cause.
    #[tokio::test]
    async fn database_failures_keep_their_class() {
        use metiva_db::DbError as E;
        let cases = [
            (E::Unavailable("down".into()), 503),
            (E::AccessRevoked, 403),
            (E::NotFound, 404),
            (
                E::Conflict {
                    constraint: "k".into(),
                },
                409,
            ),
            (E::Internal("secret detail".into()), 500),
            (E::ReadOnly, 500),
        ];
        for (e, status) in cases {
            let r = database_failure(&e);
            assert_eq!(r.status().as_u16(), status, "{e:?}");
            let body = axum::body::to_bytes(r.into_body(), 4096)
                .await
                .unwrap_or_default();
            assert!(!String::from_utf8_lossy(&body).contains("secret"));
        }
    }
}
