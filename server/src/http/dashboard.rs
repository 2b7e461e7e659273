//! The dashboard router: Leptos pages and server functions, static assets,
//! health, and the security middleware in front of them.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use metiva_db::Database;
use tower_http::set_header::SetResponseHeaderLayer;

use std::sync::Arc;

use axum::routing::{get, post};

use super::error::AppError;
use super::guard::{self, DashboardAuth};
use super::members;
use super::text_input;
use crate::config::Config;
use crate::keys::Keys;

/// Largest request body any endpoint accepts. Forms and JSON calls are
/// small; anything bigger is refused with 413 before it is buffered.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The largest body a request to `path` may carry: [`MAX_BODY_BYTES`],
/// except the CSV import's upload, which carries a file of up to 5 MB
/// (see `crm_import`).
pub(crate) fn body_limit(path: &str) -> usize {
    if path == super::crm_import::UPLOAD_PATH {
        super::crm_import::MAX_UPLOAD_BODY
    } else if path.starts_with(super::attachments::UPLOAD_PREFIX) {
        super::attachments::MAX_UPLOAD_BODY
    } else {
        MAX_BODY_BYTES
    }
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("metiva")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.app_addr)
        .build()
}

/// The dashboard: every route behind the tenant guard except health,
/// static assets and the sign-in callback. Holds only public token keys.
pub fn dashboard_router(config: &Config, db: Database, keys: &Keys) -> Router {
    dashboard_router_with(config, DashboardAuth::new(config, db, keys))
}

/// As [`dashboard_router`], with the guard state supplied (tests use it to
/// look at the membership cache).
pub fn dashboard_router_with(config: &Config, auth: Arc<DashboardAuth>) -> Router {
    let db = auth.db.clone();
    // Files (issue 17): one store for the invoice PDFs and attachments, as
    // configured; if it did not build (serving checked it at startup)
    // every use is refused rather than kept elsewhere.
    let files = crate::file_store::router_store(config);
    // Stripe's webhooks: public, outside the guard and the common layers
    // (their own 256 KB limit, no same-origin rule); see `webhooks`.
    let webhooks = super::webhooks::webhooks_router(db.clone(), auth.field_keys.clone());
    // Twilio's SMS status callbacks (issue 18): the same, verified against
    // the public URL from METIVA_APP_URL; see `twilio_webhook`.
    let twilio =
        super::twilio_webhook::twilio_router(db.clone(), auth.field_keys.clone(), &config.app_url);
    let options = leptos_options(config);
    let routes = generate_route_list(app::App);
    let context_db = db.clone();
    let login_origin = app::LoginOrigin(auth.login_url.clone());
    let data_handling = auth.data_handling.clone();
    let trust = super::trust::TrustState::new(db.clone(), data_handling.clone());
    let field_keys = app::FieldKeys(auth.field_keys.clone());
    let ingest = super::ingest::Ingest::new(
        db.clone(),
        auth.field_keys.clone(),
        super::ingest::shared_asn(config.asn_dir.as_deref()),
        &config.app_url,
        config.mode == crate::config::Mode::Development,
    );
    let asn_status = app::AsnStatus {
        ranges: ingest.asn().ranges(),
    };
    let snippet_base = app::SnippetBase(config.app_url.clone());
    let sign_out = app::SignOut {
        clear_cookie: auth.clear_token_cookie(),
        signed_out_url: format!("{}/signed-out", auth.login_url),
    };
    // The pages' contexts sit behind one Arc: axum clones a route's whole
    // handler (this closure with it) once per layer on every request, a
    // dozen times a page, and each clone of the values themselves copied
    // their strings (issue 15: ~11K instructions a view).
    let page_context = Arc::new(PageContext {
        db: context_db,
        login_origin,
        data_handling,
        field_keys,
        asn_status,
        snippet_base,
        sign_out,
    });
    let pages = Router::new()
        .leptos_routes_with_context(&options, routes, move || page_context.provide(), {
            let options = options.clone();
            move || app::shell(options.clone())
        })
        // Static files (the site's /pkg code and styles) come through the
        // fallback: the one place the asset compression applies, so pages
        // and APIs do not pass through a compression layer at all (it
        // showed as ~9% of a page's CPU under wrk, which sends no
        // Accept-Encoding; issue 15).
        .fallback(axum::handler::Handler::layer(
            leptos_axum::file_and_error_handler(app::shell),
            compress_assets(),
        ))
        .with_state(options);
    let auth_routes = Router::new()
        .route("/auth/callback", get(guard::get_callback))
        .route("/auth/logout", post(guard::post_logout))
        .route("/auth/switch", get(guard::get_switch))
        .route("/api/members/invite", post(members::post_invite))
        .route("/settings/audit.csv", get(members::get_audit_csv))
        .route("/persons.csv", get(super::crm_export::get_contacts_csv))
        .route(
            super::crm_import::UPLOAD_PATH,
            post(super::crm_import::post_import).layer(axum::extract::DefaultBodyLimit::max(
                super::crm_import::MAX_UPLOAD_BODY,
            )),
        )
        .route("/deals.csv", get(super::crm_export::get_deals_csv))
        .route(
            "/erasures/{id}/{file}",
            get(super::erasure_receipt::get_receipt),
        )
        .route(
            "/settings/offboarding/confirm",
            post(super::offboarding::post_confirm),
        )
        .route("/api/visits/{id}/reveal", post(super::visits::post_reveal))
        .route(
            "/api/known-networks",
            post(super::visits::post_known_networks),
        )
        .route("/api/sites", post(super::visits::post_register_site))
        .route(
            "/api/sites/{id}/{action}",
            post(super::visits::post_site_state),
        )
        .route(
            "/api/sessions/revoke-all",
            post(members::post_revoke_sessions),
        )
        .route(
            "/api/sessions/{id}/revoke",
            post(members::post_revoke_session),
        )
        .route(
            "/api/members/{user}/{action}",
            post(members::post_member_action),
        )
        .merge(super::exports::routes(
            metiva_db::exports::ExportStore::new(config.data_dir.clone(), files.clone()),
        ))
        .merge(super::invoice_files::routes(files.clone()))
        .merge(super::attachments::routes(files))
        .with_state(auth.clone());
    let limits = crate::limits::Limits::new(&config.limits);
    // Outermost first: the tenant guard, then the company on the span,
    // the workspace's limits, and the argument errors innermost. One
    // stack, one layer: axum boxes each `Router::layer` around every
    // route and clones the boxes below it on every request (a dozen
    // layers made ~110 boxed clones a page view; issue 15).
    let guarded = pages.merge(auth_routes).layer(
        tower::ServiceBuilder::new()
            .layer(middleware::from_fn_with_state(auth, guard::tenant_guard))
            .layer(middleware::from_fn(crate::observability::bind_company))
            .layer(middleware::from_fn_with_state(
                limits.clone(),
                crate::limits::workspace,
            ))
            .layer(middleware::from_fn(bad_arguments_are_client_errors)),
    );
    // The public ingest routes sit outside the guard and the same-origin
    // write rule (client websites call them cross-site); see `ingest`.
    // The public Trust Center: outside the guard, inside the common
    // layers (its form is a same-origin write); see `trust`.
    let trust = super::trust::trust_router(trust).layer(middleware::from_fn_with_state(
        limits.clone(),
        crate::limits::walkthrough,
    ));
    common_layers(
        guarded.merge(super::health::routes(db)).merge(trust),
        &config.app_url,
    )
    .merge(
        super::ingest::ingest_router(ingest).layer(middleware::from_fn_with_state(
            limits,
            crate::limits::ingest,
        )),
    )
    .merge(webhooks)
    .merge(twilio)
    .layer(
        tower::ServiceBuilder::new()
            .layer(middleware::from_fn(crate::observability::observe))
            .layer(axum::Extension(super::login::ProxyHops(
                config.trusted_proxy_hops,
            ))),
    )
}

/// What every page render is given, each request its own copy of each
/// value (see `dashboard_router_with`).
struct PageContext {
    db: Database,
    login_origin: app::LoginOrigin,
    data_handling: app::DataHandling,
    field_keys: app::FieldKeys,
    asn_status: app::AsnStatus,
    snippet_base: app::SnippetBase,
    sign_out: app::SignOut,
}

impl PageContext {
    fn provide(&self) {
        provide_context(self.db.clone());
        provide_context(self.login_origin.clone());
        provide_context(self.data_handling.clone());
        provide_context(self.field_keys.clone());
        provide_context(self.asn_status);
        provide_context(self.snippet_base.clone());
        provide_context(self.sign_out.clone());
    }
}

/// Security headers, the body limit and the same-origin rule for writes,
/// shared by every router; `public_origin` is the service's own public
/// base URL (`METIVA_APP_URL` or `METIVA_LOGIN_URL`).
pub fn common_layers(router: Router, public_origin: &str) -> Router {
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    // No compression layer here: only static assets are compressed, by
    // the routes that serve them (see `compress_assets`). Outermost first,
    // as one layer (see the guard's stack in `dashboard_router_with`):
    // the headers (the innermost is set first, so a response lists them
    // from nosniff to the opener policy, as before), the same-origin
    // rule, the body limit.
    router.layer(
        tower::ServiceBuilder::new()
            .layer(header("cross-origin-opener-policy", "same-origin"))
            .layer(header("referrer-policy", "strict-origin-when-cross-origin"))
            .layer(header("x-frame-options", "DENY"))
            .layer(header("x-content-type-options", "nosniff"))
            .layer(middleware::from_fn_with_state(
                Origin::parse(public_origin).map(Arc::new),
                refuse_cross_site_writes,
            ))
            .layer(middleware::from_fn(limit_body)),
    )
}

/// Gzip for static code and styles (wasm, JavaScript, CSS): the bulk of
/// the bytes. Applied only to the routes that serve them (the dashboard's
/// file fallback, the login service's stylesheet, the ingest snippet);
/// the Trust Center's public pages have their own (`trust`).
///
/// # Security
/// HTML and API answers are left uncompressed on purpose: compressing a
/// response that carries a secret next to attacker-influenced text can
/// leak the secret through the compressed length (BREACH); assets carry
/// none.
pub fn compress_assets()
-> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::Predicate as _;
    let code_or_style =
        |_: StatusCode, _: http::Version, headers: &http::HeaderMap, _: &http::Extensions| {
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| {
                    [
                        "application/wasm",
                        "text/javascript",
                        "application/javascript",
                        "text/css",
                    ]
                    .iter()
                    .any(|c| t.starts_with(c))
                })
        };
    tower_http::compression::CompressionLayer::new()
        .compress_when(code_or_style.and(tower_http::compression::predicate::SizeAbove::new(256)))
}

/// Server functions answer every error 500 unless the function set a
/// status; the framework's own refusals (arguments that did not decode, a
/// missing field) never run the function. Their body is the same
/// `AppError` envelope, whose code carries the real status: a bad
/// request is the caller's 400, not our 500. The body is kept as is.
async fn bad_arguments_are_client_errors(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    if !is_api || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        let rid = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        return AppError::internal(rid, &"an unreadable server-function error body")
            .into_response();
    };
    if let Ok(e) = serde_json::from_slice::<AppError>(&bytes)
        && let Ok(status) = StatusCode::from_u16(e.status())
    {
        parts.status = status;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Refuses input that cannot be text with 400 (see `text_input`), and
/// bodies over the path's [`body_limit`] with 413, whether announced by
/// `Content-Length` or discovered while reading a chunked body. The body is
/// buffered here (it is small by then), so handlers such as server
/// functions never see a truncated body and never turn it into a 500.
async fn limit_body(req: Request, next: Next) -> Response {
    let limit = body_limit(req.uri().path());
    let too_large = || {
        AppError::too_large(format!(
            "Request body too large: the limit is {limit} bytes."
        ))
        .into_response()
    };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let bad_request = |why: &'static str| AppError::bad_request(why).into_response();
    if let Some(why) = req
        .uri()
        .query()
        .and_then(|q| text_input::urlencoded_problem(q.as_bytes()))
    {
        return bad_request(why);
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return too_large();
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let problem = if content_type.starts_with("application/x-www-form-urlencoded") {
        text_input::urlencoded_problem(&bytes)
    } else if content_type.starts_with("application/json") {
        text_input::json_problem(&bytes)
    } else {
        None
    };
    if let Some(why) = problem {
        return bad_request(why);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// CSRF defence for every state-changing request: a browser's POST (or
/// PUT, PATCH, DELETE) must come from our own origin.
///
/// # Security
/// `Sec-Fetch-Site: cross-site` is refused, and so is an `Origin` that is
/// not exactly this service's public origin: scheme, host and port all
/// compared (`https://127.0.0.1:3000` is another origin than
/// `http://127.0.0.1:3000`). Requests that carry neither (curl,
/// server-to-server) are not browser CSRF and pass; SameSite cookies are
/// the second layer.
async fn refuse_cross_site_writes(
    axum::extract::State(own): axum::extract::State<Option<Arc<Origin>>>,
    req: Request,
    next: Next,
) -> Response {
    use axum::http::Method;
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let cross_site = text("sec-fetch-site") == Some("cross-site");
    let foreign_origin = match text("origin") {
        // Fail closed: an unparsable own origin accepts no Origin at all.
        Some(origin) => own.is_none() || Origin::parse(origin) != own.as_deref().cloned(),
        None => false,
    };
    if cross_site || foreign_origin {
        return AppError::forbidden("Cross-site requests may not change anything here.")
            .with_code("cross_site")
            .into_response();
    }
    next.run(req).await
}

/// A web origin: scheme, host and port (the default port filled in), as a
/// browser's `Origin` header states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: &'static str,
    host: String,
    port: u16,
}

impl Origin {
    /// `http://127.0.0.1:3000`, `https://app.metiva.example`; `null`,
    /// paths and garbage → None.
    pub fn parse(s: &str) -> Option<Self> {
        let (scheme, rest, default) = if let Some(r) = s.strip_prefix("https://") {
            ("https", r, 443)
        } else if let Some(r) = s.strip_prefix("http://") {
            ("http", r, 80)
        } else {
            return None;
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return None;
        }
        // `[::1]:3000`, `host:3000` or `host`.
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && (!h.contains(':') || h.ends_with(']')) => {
                (h, p.parse().ok()?)
            }
            _ => (rest, default),
        };
        Some(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Origin;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let own = Origin::parse("http://127.0.0.1:3000");
        assert!(own.is_some());
        assert_eq!(Origin::parse("http://127.0.0.1:3000"), own);
        assert_ne!(Origin::parse("https://127.0.0.1:3000"), own);
        assert_ne!(Origin::parse("http://127.0.0.1:3001"), own);
        assert_ne!(Origin::parse("http://localhost:3000"), own);
        assert_eq!(
            Origin::parse("https://App.Metiva.example"),
            Origin::parse("https://app.metiva.example:443")
        );
        assert_ne!(
            Origin::parse("http://app.metiva.example"),
            Origin::parse("https://app.metiva.example")
        );
        assert_eq!(Origin::parse("null"), None);
        assert_eq!(Origin::parse("http://a/b"), None);
        assert_eq!(Origin::parse("http://"), None);
        assert_eq!(Origin::parse("http://a:notaport"), None);
        assert!(Origin::parse("http://[::1]:3000").is_some());
    }
}
