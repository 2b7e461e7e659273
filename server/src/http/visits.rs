//! `POST /api/visits/{id}/reveal`: the audited IP reveal. A plain form
//! post (works without JavaScript) or a JSON client.
//!
//! # Security
//! - Needs `ip.reveal` (checked here, from the [`TenantCtx`] the guard
//!   put on the request; the workspace is never read from the request).
//! - A reason is required, 3 to 200 characters.
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

use super::guard::{DashboardAuth, RequestId, access_changed, escape};
use super::ui;

#[derive(Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    reason: String,
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
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
    let page = |status: StatusCode, title: &str, body: String| {
        no_store(ui::page(status, lang, title, &body, None, &auth.app_url))
    };
    let back = format!(
        "<p><a href=\"/visitors\">{}</a></p>",
        lang.t("Back to visitors", "Terug naar bezoekers")
    );
    if !ctx.can(Permission::IpReveal) {
        let msg = lang.t(
            "Revealing an IP needs the ip.reveal permission. Ask an owner or admin.",
            "Een IP-adres tonen vereist de permissie ip.reveal. Vraag een eigenaar of beheerder.",
        );
        return if html {
            page(
                StatusCode::FORBIDDEN,
                lang.t("Not allowed", "Niet toegestaan"),
                format!("<p>{}</p>{back}", escape(msg)),
            )
        } else {
            (
                StatusCode::FORBIDDEN,
                Json(serde_json::json!({"error": "forbidden", "message": msg})),
            )
                .into_response()
        };
    }
    let Ok(view) = Uuid::parse_str(&id) else {
        return (StatusCode::NOT_FOUND, "no such visit").into_response();
    };
    let reason = form.reason.trim();
    let reason_len = reason.chars().count();
    if !(3..=200).contains(&reason_len) || reason.chars().any(char::is_control) {
        let msg = lang.t(
            "Give a reason of 3 to 200 characters (no personal data); it is recorded in the audit log.",
            "Geef een reden van 3 tot 200 tekens (geen persoonsgegevens); die komt in het auditlog.",
        );
        return if html {
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                lang.t("Reason required", "Reden verplicht"),
                format!("<p>{}</p>{back}", escape(msg)),
            )
        } else {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({"error": "reason_required", "message": msg})),
            )
                .into_response()
        };
    }
    match auth
        .db
        .reveal_ip(&ctx, view, reason, &rid.0, &auth.field_keys)
        .await
    {
        Ok(Reveal::NotFound) => (StatusCode::NOT_FOUND, "no such visit").into_response(),
        Ok(Reveal::Revealed { ip, audit_id }) => {
            let prefix = if ip.contains(':') { "/48" } else { "/24" };
            if html {
                page(
                    StatusCode::OK,
                    lang.t("IP revealed", "IP-adres getoond"),
                    format!(
                        "<p>{}</p><p class=\"mono\" data-testid=\"revealed-ip\">{}{prefix}</p><p>{}</p>{back}",
                        escape(lang.t(
                            "The stored, truncated address of this visit:",
                            "Het opgeslagen, ingekorte adres van dit bezoek:"
                        )),
                        escape(&ip),
                        escape(&format!(
                            "{} #{audit_id}.",
                            lang.t("Recorded in the audit log as entry", "Vastgelegd in het auditlog als regel")
                        )),
                    ),
                )
            } else {
                no_store(
                    Json(serde_json::json!({"ip": format!("{ip}{prefix}"), "audit_id": audit_id}))
                        .into_response(),
                )
            }
        }
        Ok(Reveal::Unreadable { audit_id }) => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({
                "error": "unreadable",
                "message": "The stored address does not open with the configured keys; the attempt was audited.",
                "audit_id": audit_id,
            })),
        )
            .into_response(),
        Err(metiva_db::DbError::AccessRevoked) => access_changed(),
        Err(e) => {
            tracing::error!(error = %e, "IP reveal failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The reveal could not be completed; nothing was shown or recorded.",
            )
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
    let back = format!(
        "<p><a href=\"/visitors\">{}</a></p>",
        lang.t("Back to visitors", "Terug naar bezoekers")
    );
    let fail = |status: StatusCode, msg: String| {
        if html {
            ui::page(
                status,
                lang,
                lang.t("Import refused", "Import geweigerd"),
                &format!("<p>{}</p>{back}", escape(&msg)),
                None,
                &auth.app_url,
            )
        } else {
            (
                status,
                Json(serde_json::json!({"error": "refused", "message": msg})),
            )
                .into_response()
        }
    };
    if !ctx.can(Permission::ConsentManage) {
        return fail(
            StatusCode::FORBIDDEN,
            lang.t(
                "Importing known networks needs the consent.manage permission.",
                "Bekende netwerken importeren vereist de permissie consent.manage.",
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
                lang.t(
                    "The import could not be stored; nothing changed.",
                    "De import kon niet worden opgeslagen; er is niets gewijzigd.",
                )
                .into(),
            )
        }
    }
}
