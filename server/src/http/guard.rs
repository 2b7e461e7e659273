//! The tenant guard: the one place a dashboard request gets its tenant,
//! plus the dashboard's side of the sign-in hand-off (callback, sign-out,
//! switching workspace).
//!
//! # Security
//! - Every request except health, static assets and the callback passes
//!   [`tenant_guard`]: token from the one cookie we set (any other cookie
//!   or header is ignored, a duplicated cookie is refused), EdDSA
//!   signature with a known `kid`, `exp`/`nbf` with small leeway, `iss`,
//!   `aud`, every claim typed; then the claims must resolve to an active
//!   membership of an active company through a live session. Only then is
//!   a [`TenantCtx`] put on the request. There is no default tenant.
//! - The claim always wins: `X-Tenant`, `X-Company-Id` and any query or
//!   body company field are never read for tenancy; the guard records
//!   which ones were sent so the security page can say they were ignored.
//! - Anonymous page requests are redirected to the login service with a
//!   fresh `state` bound to a cookie; anonymous API calls get 401; a bad
//!   token or claim gets 403 (APIs) or a sign-in redirect (pages).

use std::borrow::Cow;
use std::sync::Arc;

use app::cookies::{self, Cookie, SameSite};

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use metiva_db::access::{AccessCache, ListenerHandle, spawn_access_listener};
use metiva_db::{CompanyId, Database, TenantCtx};
use metiva_security::secret;
use metiva_security::token::TokenError;
use serde::Deserialize;
use uuid::Uuid;

use super::cookies::{lang_cookie, with_cookies};
use super::error::AppError;
use super::ui::{self, qs};
use crate::config::Config;
use crate::keys::Keys;
use app::login_pages as pages;
use leptos::view;

pub use app::RequestId;

pub use app::IgnoredTenantHeaders;

/// Headers that look like they choose a tenant. Never read for tenancy.
pub const TENANT_LOOKING_HEADERS: &[&str] =
    &["x-tenant", "x-company-id", "x-tenant-id", "x-workspace"];

/// The dashboard's sign-in state.
pub struct DashboardAuth {
    pub db: Database,
    /// Public keys only, from `token_signing_keys` and the environment,
    /// kept current across instances (`crate::signing_keys`).
    pub signing: Arc<crate::signing_keys::SigningKeys>,
    pub cache: Arc<AccessCache>,
    _listener: ListenerHandle,
    pub app_url: String,
    pub login_url: String,
    secure: bool,
    /// What the security page shows about data handling.
    pub data_handling: app::DataHandling,
    /// The field cipher (sessions page: stored IPs are decrypted to show).
    pub field_keys: Arc<metiva_security::cipher::KeyRing>,
}

impl std::fmt::Debug for DashboardAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardAuth")
            .field("app_url", &self.app_url)
            .finish_non_exhaustive()
    }
}

impl DashboardAuth {
    /// Holds only public keys. Starts the access-change listener.
    pub fn new(config: &Config, db: Database, keys: &Keys) -> Arc<Self> {
        let cache = AccessCache::new(std::time::Duration::from_secs(30));
        let listener = spawn_access_listener(&db, cache.clone());
        Arc::new(Self {
            signing: crate::signing_keys::SigningKeys::verifier(
                db.clone(),
                keys,
                &config.login_url,
                &config.app_url,
            ),
            db,
            cache,
            _listener: listener,
            app_url: config.app_url.clone(),
            login_url: config.login_url.clone(),
            secure: config.app_url.starts_with("https://"),
            data_handling: app::DataHandling {
                encryption_key_id: keys.encryption_key_id.clone(),
                // Serving at all means the key loaded (fail-closed startup).
                encryption_key_present: true,
                keys_generated_locally: keys.generated,
                region: config.region.clone(),
                production: config.mode == crate::config::Mode::Production,
            },
            field_keys: keys.field_keys.clone(),
        })
    }

    /// The token cookie: `__Host-` over https; the documented development
    /// exception (plain http on 127.0.0.1) drops the prefix and Secure.
    pub fn token_cookie(&self) -> &'static str {
        if self.secure {
            "__Host-metiva_session"
        } else {
            "metiva_session"
        }
    }

    /// The cookie that removes the token cookie (with the same
    /// attributes it was set with: a `__Host-` cookie is only cleared by a
    /// Secure one).
    pub fn clear_token_cookie(&self) -> Cookie<'static> {
        self.cookie(self.token_cookie(), "", 0)
    }

    fn state_cookie(&self) -> &'static str {
        if self.secure {
            "__Host-metiva_state"
        } else {
            "metiva_state"
        }
    }

    /// The token and state cookies: HttpOnly, SameSite=Lax (the callback
    /// is a top-level navigation from the login service), Path=/, and
    /// Secure over https.
    fn cookie(
        &self,
        name: &'static str,
        value: impl Into<Cow<'static, str>>,
        max_age: i64,
    ) -> Cookie<'static> {
        cookies::server_only(name, value, SameSite::Lax, max_age, self.secure)
    }

    /// A 303 to the login service, binding a fresh `state` to this browser.
    pub fn to_login(&self, return_path: &str, extra: &str) -> Response {
        let state = secret::random_secret();
        let location = format!(
            "{}/login?return_to={}&state={state}{extra}",
            self.login_url,
            qs(&format!("{}{return_path}", self.app_url))
        );
        with_cookies(
            Redirect::to(&location).into_response(),
            &[self.cookie(self.state_cookie(), state, 600)],
        )
    }

    /// Verifies a token and resolves it (through the cache).
    pub async fn authenticate(&self, token: &str) -> Result<TenantCtx, Refusal> {
        use crate::signing_keys::VerifyError;
        let claims = self.signing.verify(token).await.map_err(|e| match e {
            VerifyError::Token(TokenError::Expired) => Refusal::Expired,
            // Fail closed, as a 503: no keys, no verification.
            VerifyError::Unavailable => Refusal::Unavailable,
            VerifyError::Token(_) => Refusal::BadToken,
        })?;
        let company = CompanyId::parse(&claims.company_id).map_err(|_| Refusal::BadToken)?;
        let user = Uuid::parse_str(&claims.sub).map_err(|_| Refusal::BadToken)?;
        let sid = Uuid::parse_str(&claims.sid).map_err(|_| Refusal::BadToken)?;
        match self.cache.resolve(&self.db, &company, user, sid).await {
            Ok(Some(ctx)) => Ok(ctx),
            Ok(None) => Err(Refusal::NoAccess),
            Err(e) => {
                tracing::error!(error = %e, "tenant guard: resolving membership");
                Err(Refusal::Unavailable)
            }
        }
    }
}

/// Why the guard refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Anonymous,
    Expired,
    BadToken,
    NoAccess,
    Unavailable,
}

fn is_exempt(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/auth/callback" | "/favicon.svg"
    ) || path.starts_with("/pkg/")
}

fn is_api(req: &Request) -> bool {
    req.uri().path().starts_with("/api/")
}

/// The company id in an (unverified) token payload, used only as a hint
/// for the login service, which checks membership itself.
fn company_hint(token: &str) -> Option<CompanyId> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    CompanyId::parse(v.get("company_id")?.as_str()?).ok()
}

/// The middleware: see the module docs.
pub async fn tenant_guard(
    State(auth): State<Arc<DashboardAuth>>,
    req: Request,
    next: Next,
) -> Response {
    if is_exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let token = ui::cookie(req.headers(), auth.token_cookie());
    let result = match &token {
        None => Err(Refusal::Anonymous),
        Some(t) if t.len() > 4096 => Err(Refusal::BadToken),
        Some(t) => auth.authenticate(t).await,
    };
    let ctx = match result {
        Ok(ctx) => ctx,
        Err(refusal) => return refuse(&auth, &req, refusal, token.as_deref()),
    };
    // The body is already buffered (and limited) by the outer layer; keep
    // a copy so the request can be run again after a re-resolution.
    // The page language: `?lang=` (remembered in a cookie), the cookie,
    // then `Accept-Language`.
    let lang_query = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .and_then(ui::Lang::parse);
    let lang = ui::negotiate(lang_query.map(|l| l.code()), req.headers());
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(lang);
    let limit = super::dashboard::body_limit(parts.uri.path());
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let first = next
        .clone()
        .run(with_ctx(&parts, bytes.clone(), ctx.clone()))
        .await;
    if !first.headers().contains_key(ACCESS_CHANGED_HEADER) {
        return match lang_query {
            Some(l) => with_cookies(first, &[lang_cookie(l)]),
            None => first,
        };
    }
    // The request's transaction found its access changed since the cache
    // answered (a change another instance made a moment ago): nothing ran.
    // Resolve again from the database, bypassing the cache, and run the
    // request once more under the fresh answer, or refuse it.
    auth.cache.forget(ctx.company(), ctx.user_id());
    let fresh = auth
        .db
        .resolve_access(ctx.company(), ctx.user_id(), ctx.session_id())
        .await;
    let retry_req = Request::from_parts(parts, axum::body::Body::empty());
    match fresh {
        Ok(Some(fresh)) => {
            let (parts, _) = retry_req.into_parts();
            let mut second = next.run(with_ctx(&parts, bytes, fresh)).await;
            second.headers_mut().remove(ACCESS_CHANGED_HEADER);
            second
        }
        Ok(None) => refuse(&auth, &retry_req, Refusal::NoAccess, token.as_deref()),
        Err(_) => refuse(&auth, &retry_req, Refusal::Unavailable, token.as_deref()),
    }
}

/// The header a handler sets when its transaction refused to start
/// because the request's access changed.
pub use app::api::ssr::ACCESS_CHANGED_HEADER;

/// A handler's answer when its transaction found the request's access
/// changed: the guard sees the header, re-resolves and retries once.
pub fn access_changed() -> Response {
    let mut r = AppError::forbidden("Your access to this workspace changed. Reload the page.")
        .with_code("access_changed")
        .into_response();
    r.headers_mut()
        .insert(ACCESS_CHANGED_HEADER, HeaderValue::from_static("1"));
    r
}

/// The request again, with the tenant context and what the guard noticed.
fn with_ctx(
    parts: &axum::http::request::Parts,
    body: axum::body::Bytes,
    ctx: TenantCtx,
) -> Request {
    let mut req = Request::from_parts(parts.clone(), axum::body::Body::from(body));
    let ignored = IgnoredTenantHeaders(
        TENANT_LOOKING_HEADERS
            .iter()
            .filter_map(|h| {
                req.headers().get(*h).map(|v| {
                    (
                        h.to_string(),
                        String::from_utf8_lossy(v.as_bytes())
                            .chars()
                            .take(64)
                            .collect(),
                    )
                })
            })
            .collect(),
    );
    let ext = req.extensions_mut();
    ext.insert(ctx);
    ext.insert(ignored);
    ext.insert(RequestId(Uuid::new_v4().to_string()));
    req
}

/// The refusal: 503, or 401/403 for APIs and writes, or a sign-in
/// redirect for pages.
fn refuse(auth: &DashboardAuth, req: &Request, refusal: Refusal, token: Option<&str>) -> Response {
    match refusal {
        Refusal::Unavailable => {
            AppError::unavailable("The workspace is temporarily unavailable. Please try again.")
                .into_response()
        }
        refusal if is_api(req) || req.method() != Method::GET => {
            let status = if refusal == Refusal::Anonymous {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            let msg = match refusal {
                Refusal::Anonymous => "Sign in first: this request carries no session.",
                Refusal::Expired => "Your session token has expired. Reload the page to renew it.",
                _ => "This session does not grant access to a workspace.",
            };
            AppError::refusal(status.as_u16(), msg).into_response()
        }
        refusal => {
            let path = req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            let extra = match (refusal, token.and_then(company_hint)) {
                (Refusal::Expired, Some(c)) => format!("&company={c}&purpose=renew"),
                _ => String::new(),
            };
            let resp = auth.to_login(&path, &extra);
            // A refused token is dropped so it is not tried again.
            match token {
                Some(_) => with_cookies(resp, &[auth.clear_token_cookie()]),
                None => resp,
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
}

fn callback_failed(auth: &DashboardAuth, headers: &HeaderMap, status: StatusCode) -> Response {
    let lang = ui::negotiate(None, headers);
    ui::page(status, &auth.app_url, move || {
        view! { <pages::CallbackFailedPage lang /> }
    })
}

/// `GET /auth/callback?code&state`: redeems the one-time code server-side
/// and sets the token cookie. The token never appears in a URL.
pub async fn get_callback(
    State(auth): State<Arc<DashboardAuth>>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    // The state must be the one this browser was sent off with.
    let bound = ui::cookie(&headers, auth.state_cookie())
        .is_some_and(|c| !q.state.is_empty() && secret::ct_eq(c.as_bytes(), q.state.as_bytes()));
    if !bound || q.code.len() != 43 {
        return callback_failed(&auth, &headers, StatusCode::BAD_REQUEST);
    }
    let redeemed = match auth
        .db
        .redeem_auth_code(&secret::sha256(q.code.as_bytes()), &q.state)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "redeeming a sign-in code");
            return (StatusCode::SERVICE_UNAVAILABLE, "Please try again.").into_response();
        }
    };
    let Some((sealed, return_to)) = redeemed else {
        return callback_failed(&auth, &headers, StatusCode::BAD_REQUEST);
    };
    let Some(token) =
        secret::open_with_code(&q.code, &sealed).and_then(|t| String::from_utf8(t).ok())
    else {
        return callback_failed(&auth, &headers, StatusCode::BAD_REQUEST);
    };
    if auth.authenticate(&token).await.is_err() {
        return callback_failed(&auth, &headers, StatusCode::FORBIDDEN);
    }
    // Only a path on our own origin; never an open redirect.
    let path = return_to
        .strip_prefix(&auth.app_url)
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or("/");
    let mut resp = with_cookies(
        Redirect::to(path).into_response(),
        &[
            auth.cookie(
                auth.token_cookie(),
                token,
                crate::http::login::ACCESS_TOKEN_TTL_SECS,
            ),
            auth.cookie(auth.state_cookie(), "", 0),
        ],
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `POST /auth/logout`: ends the session (login session and every token
/// naming it), clears the cookie, and lands on the login service.
pub async fn post_logout(
    State(auth): State<Arc<DashboardAuth>>,
    axum::Extension(ctx): axum::Extension<TenantCtx>,
    axum::Extension(rid): axum::Extension<RequestId>,
) -> Response {
    match auth.db.sign_out(&ctx, &rid.0).await {
        // Already revoked or suspended: signing out still clears the cookie.
        Ok(()) | Err(metiva_db::DbError::AccessRevoked) => {}
        Err(e) => {
            tracing::error!(error = %e, "sign-out");
            return (StatusCode::SERVICE_UNAVAILABLE, "Please try again.").into_response();
        }
    }
    with_cookies(
        Redirect::to(&format!("{}/signed-out", auth.login_url)).into_response(),
        &[auth.clear_token_cookie()],
    )
}

/// `GET /auth/switch`: back through the login service, which asks which
/// workspace and mints a token for it (active membership required).
pub async fn get_switch(State(auth): State<Arc<DashboardAuth>>) -> Response {
    auth.to_login("/", "&purpose=switch")
}
