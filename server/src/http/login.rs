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

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use metiva_db::login::{LoginDb, NewCode, NewSession, SealedIp, ThrottlePolicy, Workspace};
use metiva_db::{CompanyId, Database};
use metiva_security::password::{self, Password, PasswordError};
use metiva_security::secret;
use metiva_security::token::{AccessClaims, TokenSigner, now_secs};
use serde::Deserialize;
use uuid::Uuid;

use super::dashboard::common_layers;
use super::ui::{self, BUTTON, INPUT, LANG_COOKIE, LINK, Lang, esc, notice, page, qs};
use crate::config::Config;
use crate::keys::Keys;

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
    signer: Arc<TokenSigner>,
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
        let signer = keys
            .signer
            .clone()
            .ok_or_else(|| anyhow::anyhow!("the login service needs METIVA_TOKEN_SIGNING_KEY"))?;
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
            signer,
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

    fn session_cookie(&self, value: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let v = format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            self.cookie_name()
        );
        HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
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
    let site = std::path::Path::new(&config.site_root);
    let static_files = Router::new()
        .route_service(
            "/pkg/metiva.css",
            tower_http::services::ServeFile::new(site.join("pkg/metiva.css")),
        )
        .route_service(
            "/favicon.svg",
            tower_http::services::ServeFile::new(site.join("favicon.svg")),
        );
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
    .layer(axum::Extension(ProxyHops(config.trusted_proxy_hops)))
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

    /// The flow as hidden form fields.
    fn hidden(&self) -> String {
        let mut out = format!(
            r#"<input type="hidden" name="return_to" value="{}"><input type="hidden" name="state" value="{}">"#,
            esc(&self.return_to),
            esc(&self.state)
        );
        if let Some(c) = self.company() {
            out.push_str(&format!(
                r#"<input type="hidden" name="company" value="{c}">"#
            ));
        }
        if let Some(p) = &self.purpose {
            out.push_str(&format!(
                r#"<input type="hidden" name="purpose" value="{}">"#,
                esc(p)
            ));
        }
        out
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

fn with_lang_cookie(mut resp: Response, flow_lang: Option<&str>) -> Response {
    if let Some(l) = flow_lang.and_then(Lang::parse) {
        let v = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            l.code()
        );
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// A flow that did not come from the dashboard: start again there.
fn restart(s: &LoginService, lang: Lang) -> Response {
    let body = format!(
        r#"{}<p class="mt-4 text-sm"><a class="{LINK}" href="{}/">{}</a></p>"#,
        notice(
            "error",
            lang.t(
                "This sign-in link is not valid or has expired.",
                "Deze inloglink is ongeldig of verlopen."
            )
        ),
        esc(&s.app_url),
        lang.t(
            "Open the dashboard to sign in",
            "Open het dashboard om in te loggen"
        ),
    );
    page(
        StatusCode::BAD_REQUEST,
        lang,
        lang.t("Sign in", "Inloggen"),
        &body,
        None,
        &s.app_url,
    )
}

fn login_form(
    s: &LoginService,
    lang: Lang,
    flow: &Flow,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let err = error.map(|e| notice("error", e)).unwrap_or_default();
    let body = format!(
        r#"<p class="mt-1 text-sm text-slate-600">{intro}</p>{err}
<form method="post" action="/login" class="mt-6 space-y-4" data-testid="login-form">
  {hidden}
  <div><label for="email" class="block text-sm font-medium text-slate-700">{email_label}</label>
    <input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="{email}" class="{INPUT}"></div>
  <div><label for="password" class="block text-sm font-medium text-slate-700">{pw_label}</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required class="{INPUT}"></div>
  <input type="hidden" name="lang" value="{code}">
  <button type="submit" class="{BUTTON}">{submit}</button>
</form>"#,
        intro = lang.t(
            "One front door for every workspace you work in.",
            "Eén voordeur voor al uw werkruimtes."
        ),
        hidden = flow.hidden(),
        email_label = lang.t("Email", "E-mailadres"),
        pw_label = lang.t("Password", "Wachtwoord"),
        email = esc(email),
        code = lang.code(),
        submit = lang.t("Sign in", "Inloggen"),
    );
    page(
        status,
        lang,
        lang.t("Sign in to Metiva", "Inloggen bij Metiva"),
        &body,
        Some(&flow.self_url("/login")),
        &s.app_url,
    )
}

async fn current_session(
    s: &LoginService,
    headers: &HeaderMap,
) -> Result<Option<metiva_db::login::LoginSession>, Response> {
    let Some(raw) = ui::cookie(headers, s.cookie_name()) else {
        return Ok(None);
    };
    if raw.len() != 43 {
        return Ok(None);
    }
    s.db.session_by_secret(&secret::sha256(raw.as_bytes()))
        .await
        .map_err(|e| unavailable(&e))
}

fn unavailable(e: &metiva_db::DbError) -> Response {
    tracing::error!(error = %e, "login service: database");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The sign-in service is temporarily unavailable. Please try again.",
    )
        .into_response()
}

async fn get_login(State(s): St, headers: HeaderMap, Query(flow): Query<Flow>) -> Response {
    let lang = ui::negotiate(flow.lang.as_deref(), &headers);
    if flow.return_to.is_empty() && flow.state.is_empty() {
        // Opened directly: the dashboard starts (and binds) every flow.
        return Redirect::to(&format!("{}/", s.app_url)).into_response();
    }
    if flow.checked(&s.app_url).is_none() {
        return restart(&s, lang);
    }
    let resp = match current_session(&s, &headers).await {
        Err(r) => r,
        Ok(Some(session)) => {
            proceed(&s, lang, &flow, session.id, session.user_id, flow.purpose()).await
        }
        Ok(None) => login_form(&s, lang, &flow, "", None, StatusCode::OK),
    };
    with_lang_cookie(resp, flow.lang.as_deref())
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(flatten)]
    flow: Flow,
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

#[tracing::instrument(skip_all)]
async fn post_login(
    State(s): St,
    headers: HeaderMap,
    peer: ClientIp,
    Form(form): Form<LoginForm>,
) -> Response {
    let flow = form.flow;
    let lang = ui::negotiate(flow.lang.as_deref(), &headers);
    if flow.checked(&s.app_url).is_none() {
        return restart(&s, lang);
    }
    let email = form.email.trim().to_lowercase();
    let bad_credentials = lang.t(
        "Email or password is incorrect.",
        "E-mailadres of wachtwoord is onjuist.",
    );
    if email.is_empty() || email.len() > 254 {
        return login_form(
            &s,
            lang,
            &flow,
            "",
            Some(bad_credentials),
            StatusCode::UNAUTHORIZED,
        );
    }
    let pw = match Password::new(form.password) {
        Ok(p) => p,
        Err(PasswordError::TooLong) => {
            return login_form(
                &s,
                lang,
                &flow,
                &email,
                Some(lang.t(
                    "Passwords can be at most 72 bytes long.",
                    "Wachtwoorden zijn maximaal 72 bytes lang.",
                )),
                StatusCode::BAD_REQUEST,
            );
        }
        Err(_) => {
            return login_form(
                &s,
                lang,
                &flow,
                &email,
                Some(bad_credentials),
                StatusCode::UNAUTHORIZED,
            );
        }
    };
    let keys = [
        secret::keyed_hash(&s.hash_key, "throttle:account", email.as_bytes()),
        secret::keyed_hash(&s.hash_key, "throttle:ip", client_ip(&peer).as_bytes()),
    ];
    match s.db.throttle_wait(&keys).await {
        Err(e) => return unavailable(&e),
        Ok(Some(wait)) => return too_many(&s, lang, &flow, wait, ui::wants_html(&headers)),
        Ok(None) => {}
    }
    let creds = match s.db.credentials(&email).await {
        Ok(c) => c,
        Err(e) => return unavailable(&e),
    };
    // The same bcrypt work whether or not the email exists (or has a
    // password yet): the dummy hash has the configured cost.
    let (user, hash) = match &creds {
        Some(c) => (Some(c.user_id), c.password_hash.clone()),
        None => (None, None),
    };
    let has_hash = hash.is_some();
    let ok = s
        .verify(pw, hash.unwrap_or_else(|| s.dummy_hash.clone()))
        .await
        && has_hash;
    let rid = request_id();
    let Some(user_id) = user.filter(|_| ok) else {
        for (key, policy) in keys.iter().zip([ACCOUNT_POLICY, IP_POLICY]) {
            if let Err(e) = s.db.throttle_failure(key, policy).await {
                return unavailable(&e);
            }
        }
        if let Some(uid) = user {
            // Audited in the background, so a known email does not answer
            // measurably slower than an unknown one.
            let db = s.db.clone();
            tokio::spawn(async move {
                if let Err(e) = db.record_failed_sign_in(uid, &rid).await {
                    tracing::warn!(error = %e, "auditing a failed sign-in");
                }
            });
        }
        return login_form(
            &s,
            lang,
            &flow,
            &email,
            Some(bad_credentials),
            StatusCode::UNAUTHORIZED,
        );
    };
    if let Err(e) = s.db.throttle_reset(&keys).await {
        return unavailable(&e);
    }
    let raw = secret::random_secret();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let sid = Uuid::new_v4();
    // Security: only the truncated address is kept, and only encrypted,
    // bound to this row (a ciphertext copied elsewhere fails to open).
    let ip = peer.0.and_then(|ip| {
        let truncated = metiva_security::ip::truncate(ip).to_string();
        let row = sid.to_string();
        s.field_keys
            .seal(truncated.as_bytes(), &metiva_db::sessions::ip_context(&row))
            .ok()
            .map(|sealed| SealedIp {
                key_id: sealed.key_id,
                nonce: sealed.nonce,
                ciphertext: sealed.ciphertext,
            })
    });
    let created =
        s.db.create_session(&NewSession {
            id: sid,
            user_id,
            secret_hash: &secret::sha256(raw.as_bytes()),
            user_agent: ua,
            ttl: SESSION_TTL,
            ip: ip.as_ref(),
        })
        .await;
    if let Err(e) = created {
        return unavailable(&e);
    }
    let mut resp = proceed(&s, lang, &flow, sid, user_id, Purpose::SignIn).await;
    resp.headers_mut().append(
        header::SET_COOKIE,
        s.session_cookie(&raw, SESSION_TTL.as_secs()),
    );
    with_lang_cookie(resp, flow.lang.as_deref())
}

fn too_many(s: &LoginService, lang: Lang, flow: &Flow, wait: Duration, html: bool) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let msg = match lang {
        Lang::En => format!("Too many attempts. Try again in {secs} seconds."),
        Lang::Nl => format!("Te veel pogingen. Probeer het over {secs} seconden opnieuw."),
    };
    if !html {
        return super::error::AppError::rate_limited(msg, secs).into_response();
    }
    let mut resp = page(
        StatusCode::TOO_MANY_REQUESTS,
        lang,
        lang.t("Sign in to Metiva", "Inloggen bij Metiva"),
        &format!(
            r#"{}<p class="mt-4 text-sm"><a class="{LINK}" href="{}">{}</a></p>"#,
            notice("error", &msg),
            esc(&flow.self_url("/login")),
            lang.t("Back to sign-in", "Terug naar inloggen")
        ),
        None,
        &s.app_url,
    );
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// After authentication: pick the workspace (or ask), then hand off.
async fn proceed(
    s: &LoginService,
    lang: Lang,
    flow: &Flow,
    sid: Uuid,
    user_id: Uuid,
    purpose: Purpose,
) -> Response {
    let workspaces = match s.db.workspaces(user_id).await {
        Ok(w) => w,
        Err(e) => return unavailable(&e),
    };
    if workspaces.is_empty() {
        let body = format!(
            r#"{}<form method="post" action="/logout" class="mt-6"><button type="submit" class="{BUTTON}">{}</button></form>"#,
            notice(
                "info",
                lang.t(
                    "Your account has no active workspace. Ask an owner of your agency's workspace to invite you.",
                    "Uw account heeft geen actieve werkruimte. Vraag een eigenaar van de werkruimte van uw bureau om u uit te nodigen."
                )
            ),
            lang.t("Sign out", "Uitloggen")
        );
        return page(
            StatusCode::FORBIDDEN,
            lang,
            lang.t("No workspace", "Geen werkruimte"),
            &body,
            None,
            &s.app_url,
        );
    }
    let hinted = flow
        .company()
        .and_then(|c| workspaces.iter().find(|w| w.company == c));
    let chosen = match (hinted, purpose) {
        (Some(w), Purpose::SignIn | Purpose::Renew) => Some(w),
        (_, Purpose::Switch) => None,
        (None, _) if workspaces.len() == 1 => workspaces.first(),
        (None, _) => None,
    };
    match chosen {
        Some(w) => issue(s, lang, flow, sid, user_id, w, purpose).await,
        None => choose_page(s, lang, flow, &workspaces),
    }
}

fn choose_page(s: &LoginService, lang: Lang, flow: &Flow, workspaces: &[Workspace]) -> Response {
    let mut items = String::new();
    for w in workspaces {
        items.push_str(&format!(
            r#"<li><form method="post" action="/choose">{hidden}<input type="hidden" name="choice" value="{id}"><input type="hidden" name="lang" value="{code}">
  <button type="submit" class="flex w-full items-center justify-between rounded-md border border-slate-200 px-4 py-3 text-left hover:border-indigo-300 hover:bg-indigo-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500" data-company="{id}">
    <span class="font-medium">{name}</span><span class="text-xs text-slate-500">{role}</span>
  </button></form></li>"#,
            hidden = flow.hidden(),
            id = w.company,
            code = lang.code(),
            name = esc(&w.name),
            role = esc(&w.role.replace('_', " ")),
        ));
    }
    let body = format!(
        r#"<p class="mt-1 text-sm text-slate-600">{}</p><ul class="mt-6 space-y-3" data-testid="workspaces">{items}</ul>"#,
        lang.t(
            "You belong to more than one client workspace. Each is isolated from the others.",
            "U hoort bij meer dan één klantwerkruimte. Elke werkruimte is afgeschermd van de andere."
        )
    );
    page(
        StatusCode::OK,
        lang,
        lang.t("Choose a workspace", "Kies een werkruimte"),
        &body,
        Some(&flow.self_url("/login")),
        &s.app_url,
    )
}

#[derive(Debug, Deserialize)]
struct ChooseForm {
    #[serde(default)]
    choice: String,
    #[serde(flatten)]
    flow: Flow,
}

async fn post_choose(State(s): St, headers: HeaderMap, Form(form): Form<ChooseForm>) -> Response {
    let flow = form.flow;
    let lang = ui::negotiate(flow.lang.as_deref(), &headers);
    if flow.checked(&s.app_url).is_none() {
        return restart(&s, lang);
    }
    let session = match current_session(&s, &headers).await {
        Err(r) => return r,
        Ok(Some(x)) => x,
        Ok(None) => return Redirect::to(&flow.self_url("/login")).into_response(),
    };
    let workspaces = match s.db.workspaces(session.user_id).await {
        Ok(w) => w,
        Err(e) => return unavailable(&e),
    };
    // Security: only a workspace the user holds an active membership in.
    let Some(w) = CompanyId::parse(&form.choice)
        .ok()
        .and_then(|c| workspaces.into_iter().find(|w| w.company == c))
    else {
        return page(
            StatusCode::FORBIDDEN,
            lang,
            lang.t("Choose a workspace", "Kies een werkruimte"),
            &notice(
                "error",
                lang.t(
                    "You are not an active member of that workspace.",
                    "U bent geen actief lid van die werkruimte.",
                ),
            ),
            None,
            &s.app_url,
        );
    };
    let purpose = match flow.purpose() {
        Purpose::Switch => Purpose::Switch,
        _ => Purpose::SignIn,
    };
    issue(&s, lang, &flow, session.id, session.user_id, &w, purpose).await
}

/// Mints the token, seals it under a fresh one-time code and redirects to
/// the dashboard's callback with the code and the state.
async fn issue(
    s: &LoginService,
    lang: Lang,
    flow: &Flow,
    sid: Uuid,
    user_id: Uuid,
    w: &Workspace,
    purpose: Purpose,
) -> Response {
    let Some((return_to, state)) = flow.checked(&s.app_url) else {
        return restart(s, lang);
    };
    let now = now_secs();
    let claims = AccessClaims {
        iss: s.login_url.clone(),
        aud: s.app_url.clone(),
        sub: user_id.to_string(),
        company_id: w.company.to_string(),
        sid: sid.to_string(),
        iat: now,
        nbf: now,
        exp: now + ACCESS_TOKEN_TTL_SECS,
    };
    let Ok(token) = s.signer.mint(&claims) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "token signing failed").into_response();
    };
    let code = secret::random_secret();
    let Some(sealed) = secret::seal_with_code(&code, token.as_bytes()) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "sealing failed").into_response();
    };
    let rid = request_id();
    let action = match purpose {
        Purpose::SignIn => Some("auth.sign_in"),
        Purpose::Switch => Some("auth.switch_workspace"),
        Purpose::Renew => None,
    };
    let entered =
        s.db.enter(
            &w.company,
            user_id,
            sid,
            action,
            &NewCode {
                code_hash: &secret::sha256(code.as_bytes()),
                sealed_token: &sealed,
                return_to: &return_to,
                state: &state,
                ttl: CODE_TTL,
            },
            &rid,
        )
        .await;
    if let Err(e) = entered {
        return unavailable(&e);
    }
    Redirect::to(&format!(
        "{}/auth/callback?code={}&state={}",
        s.app_url,
        qs(&code),
        qs(&state)
    ))
    .into_response()
}

async fn post_logout(State(s): St, headers: HeaderMap) -> Response {
    if let Ok(Some(session)) = current_session(&s, &headers).await
        && let Err(e) = s.db.revoke_session(session.id).await
    {
        return unavailable(&e);
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
    let body = format!(
        r#"{}<p class="mt-4 text-sm"><a class="{LINK}" href="{}/">{}</a></p>"#,
        notice(
            "info",
            lang.t(
                "You are signed out of Metiva on this device.",
                "U bent op dit apparaat uitgelogd bij Metiva."
            )
        ),
        esc(&s.app_url),
        lang.t("Sign in again", "Opnieuw inloggen")
    );
    let mut resp = page(
        StatusCode::OK,
        lang,
        lang.t("Signed out", "Uitgelogd"),
        &body,
        None,
        &s.app_url,
    );
    resp.headers_mut()
        .append(header::SET_COOKIE, s.session_cookie("", 0));
    resp
}

async fn get_jwks(State(s): St) -> Json<serde_json::Value> {
    use base64::Engine as _;
    let pk = s.signer.public_key();
    Json(serde_json::json!({
        "keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": pk.kid,
            "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pk.bytes),
        }]
    }))
}

// Invitations --------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct InviteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    lang: Option<String>,
}

async fn load_invite(
    s: &LoginService,
    company: &str,
    token: &str,
) -> Result<(CompanyId, [u8; 32], metiva_db::login::Invitation), Option<Response>> {
    let company = CompanyId::parse(company).map_err(|_| None)?;
    if token.len() != 43 {
        return Err(None);
    }
    let hash = secret::sha256(token.as_bytes());
    match s.db.invitation(&company, &hash).await {
        Ok(Some(inv)) if inv.usable => Ok((company, hash, inv)),
        Ok(_) => Err(None),
        Err(e) => Err(Some(unavailable(&e))),
    }
}

fn invite_page(
    s: &LoginService,
    lang: Lang,
    inv: &metiva_db::login::Invitation,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let err = error.map(|e| notice("error", e)).unwrap_or_default();
    let fields = if inv.has_password {
        format!(
            r#"<div><label for="password" class="block text-sm font-medium text-slate-700">{}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required class="{INPUT}"></div>"#,
            lang.t("Your current password", "Uw huidige wachtwoord")
        )
    } else {
        format!(
            r#"<div><label for="password" class="block text-sm font-medium text-slate-700">{}</label>
  <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" maxlength="72" class="{INPUT}"></div>
<div><label for="confirm" class="block text-sm font-medium text-slate-700">{}</label>
  <input id="confirm" name="confirm" type="password" autocomplete="new-password" required class="{INPUT}"></div>"#,
            lang.t(
                "Choose a password (12 to 72 characters)",
                "Kies een wachtwoord (12 tot 72 tekens)"
            ),
            lang.t("Repeat the password", "Herhaal het wachtwoord")
        )
    };
    let body = format!(
        r#"<p class="mt-1 text-sm text-slate-600">{intro} <strong>{email}</strong></p>{err}
<form method="post" class="mt-6 space-y-4">{fields}<input type="hidden" name="lang" value="{code}">
<button type="submit" class="{BUTTON}">{submit}</button></form>"#,
        intro = lang.t("Invitation for", "Uitnodiging voor"),
        email = esc(&inv.email),
        code = lang.code(),
        submit = lang.t("Accept the invitation", "Uitnodiging accepteren"),
    );
    page(
        status,
        lang,
        lang.t("Join a workspace", "Word lid van een werkruimte"),
        &body,
        None,
        &s.app_url,
    )
}

fn invite_gone(s: &LoginService, lang: Lang) -> Response {
    page(
        StatusCode::NOT_FOUND,
        lang,
        lang.t("Join a workspace", "Word lid van een werkruimte"),
        &notice(
            "error",
            lang.t(
                "This invitation link is not valid, was already used, or has expired.",
                "Deze uitnodigingslink is ongeldig, al gebruikt of verlopen.",
            ),
        ),
        None,
        &s.app_url,
    )
}

async fn get_invite(
    State(s): St,
    headers: HeaderMap,
    Path((company, token)): Path<(String, String)>,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    match load_invite(&s, &company, &token).await {
        Ok((_, _, inv)) => invite_page(&s, lang, &inv, None, StatusCode::OK),
        Err(Some(r)) => r,
        Err(None) => invite_gone(&s, lang),
    }
}

async fn post_invite(
    State(s): St,
    headers: HeaderMap,
    Path((company, token)): Path<(String, String)>,
    Form(form): Form<InviteForm>,
) -> Response {
    let lang = ui::negotiate(form.lang.as_deref(), &headers);
    let (company, hash, inv) = match load_invite(&s, &company, &token).await {
        Ok(x) => x,
        Err(Some(r)) => return r,
        Err(None) => return invite_gone(&s, lang),
    };
    let new_hash = if inv.has_password {
        // An existing account proves itself with its own password; an
        // invitation link never resets anyone's password.
        let stored = match s.db.credentials(&inv.email).await {
            Ok(Some(c)) => c.password_hash,
            Ok(None) => None,
            Err(e) => return unavailable(&e),
        };
        let ok = match (Password::new(form.password), stored) {
            (Ok(pw), Some(h)) => s.verify(pw, h).await,
            _ => false,
        };
        if !ok {
            return invite_page(
                &s,
                lang,
                &inv,
                Some(lang.t("That password is incorrect.", "Dat wachtwoord is onjuist.")),
                StatusCode::UNAUTHORIZED,
            );
        }
        None
    } else {
        let problem = if form.password.chars().count() < 12 {
            Some(lang.t(
                "Choose a password of at least 12 characters.",
                "Kies een wachtwoord van minstens 12 tekens.",
            ))
        } else if form.password.len() > password::MAX_PASSWORD_BYTES {
            Some(lang.t(
                "Passwords can be at most 72 bytes long.",
                "Wachtwoorden zijn maximaal 72 bytes lang.",
            ))
        } else if !secret::ct_eq(form.password.as_bytes(), form.confirm.as_bytes()) {
            Some(lang.t(
                "The passwords do not match.",
                "De wachtwoorden komen niet overeen.",
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            return invite_page(&s, lang, &inv, Some(p), StatusCode::UNPROCESSABLE_ENTITY);
        }
        let Ok(pw) = Password::new(form.password) else {
            return invite_gone(&s, lang);
        };
        match s.hash(pw).await {
            Ok(h) => Some(h),
            Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "hashing failed").into_response(),
        }
    };
    match s
        .db
        .accept_invitation(&company, &hash, inv.user_id, new_hash.as_deref())
        .await
    {
        Ok(true) => page(
            StatusCode::OK,
            lang,
            lang.t("Welcome", "Welkom"),
            &format!(
                r#"{}<p class="mt-4 text-sm"><a class="{LINK}" href="{}/">{}</a></p>"#,
                notice(
                    "info",
                    lang.t(
                        "Invitation accepted. You can now sign in.",
                        "Uitnodiging geaccepteerd. U kunt nu inloggen."
                    )
                ),
                esc(&s.app_url),
                lang.t("Sign in", "Inloggen")
            ),
            None,
            &s.app_url,
        ),
        Ok(false) => invite_gone(&s, lang),
        Err(e) => unavailable(&e),
    }
}
