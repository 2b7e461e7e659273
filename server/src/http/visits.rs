//! `POST /api/visits/{id}/reveal`: the audited IP reveal. A plain form
//! post (works without JavaScript) or a JSON client.
//!
//! # Security
//! - Needs `ip.reveal` (checked here, from the [`TenantCtx`] the guard
//!   put on the request; the workspace is never read from the request).
//! - A reason is required: a code from a fixed list, with an optional
//!   short note (required for "other"; at most 200 characters, no email
//!   address; the form says to write no personal data). An older
//!   client's free-text reason is kept as "other" with the text as the
//!   note ([`metiva_db::visitors::RevealReason::parse`]).
//! - The decryption and its audit row (who, which row, why) share one
//!   transaction (`Database::reveal_ip`): no audit row, no IP.
//! - What is revealed is the truncated address (/24 or /48), which is all
//!   that is stored. The answer is `no-store`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form, Json};
use metiva_db::TenantCtx;
use metiva_db::visitors::Reveal;
use metiva_roles::Permission;
use serde::Deserialize;
use uuid::Uuid;

use super::error::AppError;
use super::guard::{DashboardAuth, RequestId, access_changed};
use super::ui::{self, wants_html};
use app::login_pages as pages;
use leptos::view;

#[derive(Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: Option<String>,
}

/// A refused form post: a page with a way back for browsers, JSON for
/// other clients. `msg` may quote what was posted (a bad CSV line, a
/// domain); the page renders it as text.
fn refusal(
    auth: &DashboardAuth,
    lang: ui::Lang,
    html: bool,
    status: StatusCode,
    title: &'static str,
    msg: String,
    (back_href, back_label): (&'static str, &'static str),
) -> Response {
    if html {
        ui::page(status, &auth.app_url, move || {
            view! { <pages::RefusalPage lang title message=msg back_href back_label /> }
        })
    } else {
        AppError::refusal(status.as_u16(), msg).into_response()
    }
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub async fn post_reveal(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<RevealForm>,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    let html = wants_html(&headers);
    let refuse = |status: StatusCode, title: &'static str, msg: &'static str| {
        let back = ("/visitors", app::i18n::tr(lang, "Back to visitors"));
        refusal(&auth, lang, html, status, title, msg.into(), back)
    };
    if !ctx.can(Permission::IpReveal) {
        let msg = app::i18n::tr(
            lang,
            "Revealing an IP needs the ip.reveal permission. Ask an owner or admin.",
        );
        return if html {
            refuse(
                StatusCode::FORBIDDEN,
                app::i18n::tr(lang, "Not allowed"),
                msg,
            )
        } else {
            AppError::forbidden(msg).into_response()
        };
    }
    let Ok(view) = Uuid::parse_str(&id) else {
        return AppError::not_found("No such visit in this workspace.").into_response();
    };
    let reason = match metiva_db::visitors::RevealReason::parse(&form.reason, form.note.as_deref())
    {
        Ok(r) => r,
        Err(code) => {
            let msg = app::i18n::tr(
                lang,
                match code {
                    "reason_required" | "reason_unknown" => {
                        "Choose a reason from the list; it is recorded in the audit log."
                    }
                    "note_required" => "Say why in the note when the reason is \"other\".",
                    _ => {
                        "The note is at most 200 characters of plain text, with no personal data (no names, email addresses or phone numbers)."
                    }
                },
            );
            return if html {
                refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    app::i18n::tr(lang, "Reason required"),
                    msg,
                )
            } else {
                AppError::validation(msg).with_code(code).into_response()
            };
        }
    };
    match auth
        .db
        .reveal_ip(&ctx, view, &reason, &rid.0, &auth.field_keys)
        .await
    {
        Ok(Reveal::NotFound) => AppError::not_found("No such visit in this workspace.").into_response(),
        Ok(Reveal::Revealed { ip, audit_id }) => {
            let prefix = if ip.contains(':') { "/48" } else { "/24" };
            if html {
                let address = format!("{ip}{prefix}");
                ui::page(StatusCode::OK, &auth.app_url, move || {
                    view! { <pages::IpRevealedPage lang address audit_id /> }
                })
            } else {
                no_store(
                    Json(serde_json::json!({"ip": format!("{ip}{prefix}"), "audit_id": audit_id}))
                        .into_response(),
                )
            }
        }
        Ok(Reveal::Unreadable { audit_id }) => AppError::conflict(format!(
            "The stored address does not open with the configured keys; the attempt was audited (entry #{audit_id})."
        ))
        .with_code("unreadable")
        .into_response(),
        Err(metiva_db::DbError::AccessRevoked) => access_changed(),
        Err(e) => {
            tracing::error!(error = %e, "IP reveal failed");
            AppError::unavailable("The reveal could not be completed; nothing was shown or recorded.")
                .into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct NetworksForm {
    #[serde(default)]
    csv: String,
}

/// `POST /api/known-networks`: replaces the workspace's known networks
/// from CSV (`cidr,organisation`). Needs `consent.manage`; audited. A bad
/// line is refused with its line number and nothing changes.
pub async fn post_known_networks(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Form(form): Form<NetworksForm>,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    let html = wants_html(&headers);
    let fail = |status: StatusCode, msg: String| {
        let title = app::i18n::tr(lang, "Import refused");
        let back = ("/visitors", app::i18n::tr(lang, "Back to visitors"));
        refusal(&auth, lang, html, status, title, msg, back)
    };
    if !ctx.can(Permission::ConsentManage) {
        return fail(
            StatusCode::FORBIDDEN,
            app::i18n::tr(
                lang,
                "Importing known networks needs the consent.manage permission.",
            )
            .into(),
        );
    }
    let rows = match metiva_geo::KnownNetworks::parse_csv(&form.csv) {
        Ok(r) => r,
        Err(e) => return fail(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    let rows: Vec<(String, String)> = rows
        .into_iter()
        .map(|r| (r.cidr(), r.organisation))
        .collect();
    match auth.db.replace_known_networks(&ctx, &rows, &rid.0).await {
        Ok(n) if html => {
            axum::response::Redirect::to(&format!("/visitors?networks={n}")).into_response()
        }
        Ok(n) => Json(serde_json::json!({"ok": true, "networks": n})).into_response(),
        Err(metiva_db::DbError::AccessRevoked) => access_changed(),
        Err(e) => {
            tracing::error!(error = %e, "known networks import failed");
            fail(
                StatusCode::SERVICE_UNAVAILABLE,
                app::i18n::tr(lang, "The import could not be stored; nothing changed.").into(),
            )
        }
    }
}

#[derive(Deserialize)]
pub struct SiteForm {
    #[serde(default)]
    domain: String,
    /// One origin per line (or comma-separated); empty: `https://<domain>`.
    #[serde(default)]
    origins: String,
}

/// A site's domain: a bare lowercase hostname.
pub fn check_domain(raw: &str) -> Result<String, String> {
    let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = (1..=253).contains(&d.len())
        && d.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if ok {
        Ok(d)
    } else {
        Err(format!(
            "{:?} is not a domain: give the bare host name, like www.example.nl",
            raw.chars().take(60).collect::<String>()
        ))
    }
}

/// An allowed origin: `https://host[:port]`. Development also accepts
/// `http://` and, for 127.0.0.1 and localhost only, any port (`:*`).
///
/// # Security
/// Exact origins only in production: no wildcards, no plain http, so a
/// site key works only from the pages it was issued for.
pub fn check_origin(raw: &str, production: bool) -> Result<String, String> {
    let o = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let bad = || {
        Err(format!(
            "{:?} is not an allowed origin: use https://host or https://host:port{}",
            raw.chars().take(80).collect::<String>(),
            if production {
                ""
            } else {
                " (in development also http://127.0.0.1:* or http://localhost:*)"
            }
        ))
    };
    let (scheme, rest) = match o.split_once("://") {
        Some(x) => x,
        None => return bad(),
    };
    if scheme != "https" && (production || scheme != "http") {
        return bad();
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => (h, Some(p)),
        _ => (rest, None),
    };
    let port_ok = match port {
        None => true,
        Some("*") => !production && matches!(host, "127.0.0.1" | "localhost"),
        Some(p) => !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()),
    };
    if !port_ok || check_domain(host).is_err() {
        return bad();
    }
    Ok(o)
}

/// `POST /api/sites`: registers a site (domain, allowed origins) with a
/// fresh site key. Needs `consent.manage`; audited.
pub async fn post_register_site(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Form(form): Form<SiteForm>,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    let html = wants_html(&headers);
    let fail = |status: StatusCode, msg: String| {
        let title = app::i18n::tr(lang, "Site not registered");
        let back = ("/consent", app::i18n::tr(lang, "Back to consent"));
        refusal(&auth, lang, html, status, title, msg, back)
    };
    if !ctx.can(Permission::ConsentManage) {
        return fail(
            StatusCode::FORBIDDEN,
            app::i18n::tr(
                lang,
                "Registering a site needs the consent.manage permission.",
            )
            .into(),
        );
    }
    let domain = match check_domain(&form.domain) {
        Ok(d) => d,
        Err(m) => return fail(StatusCode::UNPROCESSABLE_ENTITY, m),
    };
    let production = auth.data_handling.production;
    let mut origins = Vec::new();
    for raw in form
        .origins
        .split(['\n', ','])
        .filter(|o| !o.trim().is_empty())
    {
        match check_origin(raw, production) {
            Ok(o) if !origins.contains(&o) => origins.push(o),
            Ok(_) => {}
            Err(m) => return fail(StatusCode::UNPROCESSABLE_ENTITY, m),
        }
    }
    if origins.is_empty() {
        origins.push(format!("https://{domain}"));
    }
    if origins.len() > 50 {
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "At most 50 allowed origins per site.".into(),
        );
    }
    match auth.db.register_site(&ctx, &domain, &origins, &rid.0).await {
        Ok(_) if html => axum::response::Redirect::to("/consent?site=registered").into_response(),
        Ok(site) => (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "id": site.id, "domain": site.domain, "site_key": site.site_key,
                "allowed_origins": site.allowed_origins,
            })),
        )
            .into_response(),
        Err(metiva_db::DbError::AccessRevoked) => access_changed(),
        Err(e) => {
            tracing::error!(error = %e, "site registration failed");
            fail(
                StatusCode::SERVICE_UNAVAILABLE,
                app::i18n::tr(lang, "The site could not be stored; nothing changed.").into(),
            )
        }
    }
}

/// `POST /api/sites/{id}/enable` and `/disable`. Needs `consent.manage`;
/// audited. Every instance stops accepting a disabled key within 5 s (its
/// site cache).
pub async fn post_site_state(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return AppError::not_found("Unknown action: use enable or disable.").into_response(),
    };
    if !ctx.can(Permission::ConsentManage) {
        return AppError::forbidden("Changing a site needs the consent.manage permission.")
            .into_response();
    }
    let Ok(site) = Uuid::parse_str(&id) else {
        return AppError::not_found("No such site in this workspace.").into_response();
    };
    match auth.db.set_site_enabled(&ctx, site, enabled, &rid.0).await {
        Ok(()) if wants_html(&headers) => {
            axum::response::Redirect::to("/consent?site=updated").into_response()
        }
        Ok(()) => Json(serde_json::json!({"ok": true, "enabled": enabled})).into_response(),
        Err(metiva_db::DbError::NotFound) => {
            AppError::not_found("No such site in this workspace.").into_response()
        }
        Err(metiva_db::DbError::AccessRevoked) => access_changed(),
        Err(e) => {
            tracing::error!(error = %e, "site update failed");
            AppError::unavailable("The change could not be stored; nothing changed.")
                .into_response()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_in_production() {
        assert_eq!(
            check_origin("https://www.Example.nl/", true).unwrap(),
            "https://www.example.nl"
        );
        assert!(check_origin("https://shop.example.nl:8443", true).is_ok());
        for bad in [
            "http://example.nl",
            "http://127.0.0.1:*",
            "https://*.example.nl",
            "https://example.nl/path",
            "example.nl",
            "https://",
            "https://exa mple.nl",
            "javascript:alert(1)",
        ] {
            assert!(check_origin(bad, true).is_err(), "{bad}");
        }
        assert!(check_origin("http://127.0.0.1:*", false).is_ok());
        assert!(check_origin("http://localhost:5173", false).is_ok());
        assert!(check_origin("http://example.nl:*", false).is_err());
    }

    #[test]
    fn domains_are_bare_host_names() {
        assert_eq!(check_domain(" WWW.Example.NL. ").unwrap(), "www.example.nl");
        for bad in ["https://example.nl", "example.nl/x", "", "-a.nl", "a..nl"] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
    }
}
