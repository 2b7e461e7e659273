//! The public Trust Center on the dashboard listener: `GET /trust`,
//! `GET /trust/processing`, the walkthrough form's helper script, and
//! (in `trust_walkthrough`) the form's plain `POST /trust/walkthrough`.
//!
//! Every fact is read from the running system when the page is served:
//! the role registry, the database catalog (the pool's shared isolation
//! facts, [`Database::isolation_facts`]: at most a minute old), the loaded
//! keys, `METIVA_REGION`, the consent and
//! retention defaults in the code, and the `METIVA_SUBPROCESSOR_*`
//! variables.
//!
//! # Security
//! - Outside the tenant guard on purpose: these pages hold no client
//!   data. The catalog read is the runtime role's own global catalog read
//!   (`Database::lint_catalog`, `read_role_posture`), the same one the
//!   startup check runs; it returns counts, never rows.
//! - The expensive catalog read is cached (once per pool, shared with the
//!   security page) so a flood of page loads costs at most one catalog
//!   query a minute, never one per request.
//! - The page's CSP allows scripts from our own origin only (the consent
//!   snippet and the form helper) and no inline script. Inline *styles*
//!   are allowed because the consent banner styles its own shadow root
//!   with a `<style>` element; with scripts locked down that adds no
//!   script-execution path.

use std::sync::Arc;

use app::i18n::Lang;
use app::trust::{
    Isolation, KeyFact, ProcessingFacts, RegionFact, RetentionFacts, SubProcessor, TrustFacts,
    WalkthroughFields,
};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use leptos::prelude::*;
use metiva_db::Database;
use metiva_db::retention as ret;

use super::ui;

/// The operator workspace's site key that `seed-demo` registers; another
/// deployment names its own with `METIVA_TRUST_SITE_KEY`.
pub const DEFAULT_TRUST_SITE_KEY: &str = metiva_db::seed::OPERATOR_SITE_KEY;

/// What the Trust Center reads, shared by its handlers.
pub struct TrustState {
    pub(super) db: Database,
    data: app::DataHandling,
    pub(super) site_key: String,
    subprocessors: Vec<SubProcessor>,
}

impl std::fmt::Debug for TrustState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustState")
            .field("site_key", &self.site_key)
            .finish_non_exhaustive()
    }
}

impl TrustState {
    /// `data` is the dashboard's data handling (keys, region); the
    /// sub-processors and the site key come from the environment.
    pub fn new(db: Database, data: app::DataHandling) -> Arc<Self> {
        Self::with(
            db,
            data,
            std::env::var("METIVA_TRUST_SITE_KEY")
                .ok()
                .filter(|k| super::collect::is_site_key(k))
                .unwrap_or_else(|| DEFAULT_TRUST_SITE_KEY.to_string()),
            |name| std::env::var(name).ok(),
        )
    }

    /// As [`TrustState::new`], with the site key and the variables given
    /// (tests).
    pub fn with(
        db: Database,
        data: app::DataHandling,
        site_key: String,
        var: impl Fn(&str) -> Option<String>,
    ) -> Arc<Self> {
        let region = region_fact(data.region.as_deref());
        let subprocessors = subprocessors(&region, var);
        Arc::new(Self {
            db,
            data,
            site_key,
            subprocessors,
        })
    }

    /// The catalog lint's verdict: the pool's shared isolation facts
    /// ([`Database::isolation_facts`], the security page's too), computed
    /// at startup and after a migration and at most a minute old.
    async fn isolation(&self) -> Isolation {
        match self.db.isolation_facts().await {
            Ok(f) => isolation_of(&f),
            Err(e) => {
                // Fail closed: an unreadable catalog is "unknown", never an
                // old "holds" (errors are not cached; the next view retries).
                tracing::warn!(error = %e, "trust: the catalog could not be read");
                Isolation::Unknown
            }
        }
    }

    pub(super) async fn facts(&self) -> TrustFacts {
        let walkthrough_site = match self.db.site_by_key(&self.site_key).await {
            Ok(found) => found.map(|_| self.site_key.clone()),
            Err(e) => {
                tracing::warn!(error = %e, "trust: operator site lookup failed");
                None
            }
        };
        let example: std::net::IpAddr = [203, 0, 113, 77].into();
        TrustFacts {
            roles: metiva_roles::REGISTRY.len(),
            permissions: metiva_roles::Permission::ALL.len(),
            isolation: self.isolation().await,
            key: key_fact(&self.data),
            region: region_fact(self.data.region.as_deref()),
            consent_denied_by_default: metiva_db::ingest::Purposes::default()
                == metiva_db::ingest::Purposes {
                    analytics: false,
                    identification: false,
                    marketing: false,
                },
            ip_example: (
                example.to_string(),
                metiva_security::ip::truncate(example).to_string(),
            ),
            retention: retention_facts(),
            walkthrough_site,
        }
    }
}

/// The facts as the public page states them: holds only when the lint and
/// the runtime role's posture are both clean (the same rule as the startup
/// check).
fn isolation_of(f: &metiva_db::system::IsolationFacts) -> Isolation {
    let tables = f.tenant_tables;
    let checked_at = f.checked_at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    if f.isolated() {
        return Isolation::Holds { tables, checked_at };
    }
    let role_problems = usize::from(f.superuser)
        + usize::from(f.bypass_rls)
        + f.privileged_memberships
        + f.owned_tenant_tables;
    Isolation::Broken {
        tables,
        forced: tables - i64::try_from(f.unforced_tables).unwrap_or(tables),
        problems: f.findings + role_problems,
        checked_at,
    }
}

fn key_fact(d: &app::DataHandling) -> KeyFact {
    let key_id = d.encryption_key_id.clone();
    match (d.encryption_key_present, d.keys_generated_locally) {
        (false, _) => KeyFact::Missing,
        (true, true) => KeyFact::GeneratedLocally { key_id },
        (true, false) => KeyFact::Configured { key_id },
    }
}

/// `METIVA_REGION` judged against the same EU list production enforces.
fn region_fact(region: Option<&str>) -> RegionFact {
    match region {
        None => RegionFact::DevelopmentDefault,
        Some(r) if crate::checks::EU_REGIONS.contains(&r) => RegionFact::Eu(r.to_string()),
        Some(r) => RegionFact::NotEu(r.to_string()),
    }
}

fn retention_facts() -> RetentionFacts {
    let d = ret::RetentionSettings::default();
    RetentionFacts {
        page_views_months: d.page_views_months,
        visitors_months: d.visitors_months,
        contacts_months: d.contacts_months,
        audit_months: d.audit_months,
        data_bounds: (ret::PAGE_VIEWS.min, ret::PAGE_VIEWS.max),
        audit_bounds: (ret::AUDIT.min, ret::AUDIT.max),
        invoice_years: ret::INVOICE_YEARS,
    }
}

/// One kind of sub-processor and its defaults.
struct Kind {
    /// The variable that configures it (`provider|region`).
    env: &'static str,
    category: &'static str,
    purpose: &'static str,
    provider: Option<&'static str>,
    /// None: the deployment's own region.
    region: Option<&'static str>,
    /// Whether it is in use when not configured: the deployment's own
    /// hosting and database always are; third parties only once set.
    in_use: bool,
}

const SUBPROCESSORS: &[Kind] = &[
    Kind {
        env: "METIVA_SUBPROCESSOR_HOSTING",
        category: "Hosting",
        purpose: "Runs the Metiva application: dashboard, sign-in service and ingest",
        provider: None,
        region: None,
        in_use: true,
    },
    Kind {
        env: "METIVA_SUBPROCESSOR_DATABASE",
        category: "Database",
        purpose: "Stores all client data, isolated per client by row-level security",
        provider: None,
        region: None,
        in_use: true,
    },
    Kind {
        env: "METIVA_SUBPROCESSOR_OBJECT_STORE",
        category: "Object storage",
        purpose: "Stores files such as invoice and contract PDFs",
        provider: None,
        region: None,
        in_use: false,
    },
    Kind {
        env: "METIVA_SUBPROCESSOR_STRIPE",
        category: "Payments",
        purpose: "Invoices and payments for retainers",
        provider: Some("Stripe Payments Europe, Ltd."),
        region: Some("EU (Ireland)"),
        in_use: false,
    },
    Kind {
        env: "METIVA_SUBPROCESSOR_TWILIO",
        category: "Messaging",
        purpose: "Text messages and calls to contacts",
        provider: Some("Twilio Ireland Limited"),
        region: Some("EU (Ireland)"),
        in_use: false,
    },
    Kind {
        env: "METIVA_SUBPROCESSOR_AD_PLATFORMS",
        category: "Ad platforms",
        purpose: "Conversion uploads, only for visitors who granted marketing consent",
        provider: Some("Google Ads, Meta, LinkedIn"),
        region: Some("Outside the EU possible (standard contractual clauses)"),
        in_use: false,
    },
];

/// The sub-processors: `provider|region` from each variable, else the
/// default (the deployment's own region for hosting, database and
/// object storage).
fn subprocessors(region: &RegionFact, var: impl Fn(&str) -> Option<String>) -> Vec<SubProcessor> {
    let own_region = match region {
        RegionFact::Eu(r) | RegionFact::NotEu(r) => r.clone(),
        RegionFact::DevelopmentDefault => "eu (development default)".to_string(),
    };
    SUBPROCESSORS
        .iter()
        .map(|k| {
            let configured = var(k.env)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty());
            let (provider, region, in_use) = match configured {
                Some(v) => {
                    let (p, r) = v.split_once('|').unwrap_or((v.as_str(), ""));
                    let r = r.trim();
                    (
                        Some(p.trim().to_string()),
                        if r.is_empty() {
                            own_region.clone()
                        } else {
                            r.to_string()
                        },
                        true,
                    )
                }
                None => (
                    k.provider.map(str::to_string),
                    k.region.map_or_else(|| own_region.clone(), str::to_string),
                    k.in_use,
                ),
            };
            SubProcessor {
                category: k.category,
                purpose: k.purpose,
                provider,
                region,
                in_use,
                env: k.env,
            }
        })
        .collect()
}

/// The routes, outside the tenant guard (see the module docs).
pub fn trust_router(state: Arc<TrustState>) -> Router {
    // The public pages and their script go out gzip-compressed when the
    // browser asks (22 kB of HTML on every visit from a prospect).
    let pages = Router::new()
        .route("/trust", get(get_trust))
        .route("/trust/processing", get(get_processing))
        .route(app::trust::WALKTHROUGH_SCRIPT, get(get_walkthrough_script))
        .layer(compress_public_pages());
    Router::new()
        .merge(pages)
        .route(
            super::trust_walkthrough::THANKS_PATH,
            get(super::trust_walkthrough::get_thanks),
        )
        .route(
            app::trust::WALKTHROUGH_PATH,
            post(super::trust_walkthrough::post_walkthrough),
        )
        .with_state(state)
}

/// Gzip for the Trust Center's public GET pages (HTML) and its script,
/// above 256 bytes, for a client that sends `Accept-Encoding: gzip`.
///
/// # Security
/// The dashboard leaves HTML uncompressed because of BREACH: a compressed
/// response that carries a secret next to attacker-influenced text can
/// leak the secret through its length (see `dashboard::compress_assets`).
/// These pages carry no secret: they are the same public facts for every
/// visitor, with no session, token or per-visitor value in the body (the
/// walkthrough form's only hidden field is the page language, and its
/// write is guarded by the same-origin rule, not by a token). The form's
/// POST answers are not compressed.
fn compress_public_pages()
-> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::Predicate as _;
    let page_or_script =
        |_: StatusCode, _: axum::http::Version, headers: &HeaderMap, _: &axum::http::Extensions| {
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| {
                    ["text/html", "text/javascript", "application/javascript"]
                        .iter()
                        .any(|c| t.starts_with(c))
                })
        };
    tower_http::compression::CompressionLayer::new()
        .compress_when(page_or_script.and(tower_http::compression::predicate::SizeAbove::new(256)))
}

/// The language: `?lang=`, the remembered choice, `Accept-Language`.
/// `(lang, explicit)`: an explicit choice is remembered in the cookie.
pub(super) fn language(query: Option<&str>, headers: &HeaderMap) -> (Lang, Option<Lang>) {
    let explicit = query
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .and_then(Lang::parse);
    (ui::negotiate(explicit.map(Lang::code), headers), explicit)
}

/// A Trust Center page as the response (see the module docs for the
/// CSP). `no-cache`: the facts are live, so every load revalidates.
pub(super) fn page<V: IntoView + 'static>(
    status: StatusCode,
    explicit: Option<Lang>,
    view: impl FnOnce() -> V,
) -> Response {
    let mut resp = (status, Html(app::trust::render(view))).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    match explicit {
        Some(l) => super::cookies::with_cookies(resp, &[super::cookies::lang_cookie(l)]),
        None => resp,
    }
}

async fn get_trust(
    State(s): State<Arc<TrustState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (lang, explicit) = language(query.as_deref(), &headers);
    let facts = s.facts().await;
    page(StatusCode::OK, explicit, move || {
        view! { <app::trust::TrustPage lang facts form=WalkthroughFields::default() /> }
    })
}

async fn get_processing(
    State(s): State<Arc<TrustState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (lang, explicit) = language(query.as_deref(), &headers);
    let facts = ProcessingFacts {
        region: region_fact(s.data.region.as_deref()),
        subprocessors: s.subprocessors.clone(),
        retention: retention_facts(),
    };
    page(StatusCode::OK, explicit, move || {
        view! { <app::trust::ProcessingPage lang facts /> }
    })
}

/// The form helper (see `trust_walkthrough.js`).
async fn get_walkthrough_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        include_str!("trust_walkthrough.js"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subprocessors_follow_their_variables() {
        let region = region_fact(Some("eu-central-1"));
        let list = subprocessors(&region, |name| match name {
            "METIVA_SUBPROCESSOR_HOSTING" => {
                Some("Hetzner Online GmbH|eu-central (Falkenstein)".into())
            }
            "METIVA_SUBPROCESSOR_STRIPE" => Some("Stripe".into()),
            _ => None,
        });
        let hosting = &list[0];
        assert_eq!(hosting.provider.as_deref(), Some("Hetzner Online GmbH"));
        assert_eq!(hosting.region, "eu-central (Falkenstein)");
        let db = &list[1];
        assert!(db.in_use && db.provider.is_none());
        assert_eq!(db.region, "eu-central-1");
        let stripe = list.iter().find(|s| s.category == "Payments").unwrap();
        assert!(stripe.in_use);
        assert_eq!(stripe.region, "eu-central-1");
        let twilio = list.iter().find(|s| s.category == "Messaging").unwrap();
        assert!(!twilio.in_use);
    }

    #[test]
    fn only_a_known_eu_region_is_called_eu() {
        assert_eq!(region_fact(None), RegionFact::DevelopmentDefault);
        assert_eq!(
            region_fact(Some("eu-west-1")),
            RegionFact::Eu("eu-west-1".into())
        );
        assert_eq!(
            region_fact(Some("eu-west-2")),
            RegionFact::NotEu("eu-west-2".into())
        );
    }
}
