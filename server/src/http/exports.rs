//! Exports over HTTP (issue 16), all behind the tenant guard and
//! `privacy.export`:
//!
//! - `POST /persons/{id}/export`: a contact's access-request ZIP;
//! - `POST /visitors/{id}/export`: a website visitor's access-request ZIP;
//! - `GET /privacy/exports`: the workspace exports page (request form,
//!   the latest exports); `POST /privacy/exports` requests one;
//! - `GET /privacy/exports/{id}`: one export's status page, with a
//!   progress bar a small script updates from
//!   `GET /privacy/exports/{id}/status.json`, and without JavaScript a
//!   `<meta http-equiv="refresh">` inside `<noscript>`;
//! - `POST /privacy/exports/{id}/download`: issues a single-use token and
//!   redirects to `GET /privacy/exports/download/{token}`, which streams
//!   the ZIP once.
//!
//! # Security
//! - The workspace is the guard's [`TenantCtx`], never the request; an id
//!   of another workspace is not found (404); without `privacy.export`
//!   every route answers 403 (checked here and again in the domain).
//! - Downloads: the token is 256 random bits, stored hashed, bound to the
//!   member, used once, and dead after the export's 24 hours; redeeming it
//!   is audited. Answers carry `Content-Disposition: attachment`,
//!   `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`.
//! - The page's script is a same-origin file (`script-src 'self'`, no
//!   inline code), and the page sets its own strict CSP.
//! - Pages print ids, numbers and fixed strings only: no personal data.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use metiva_db::TenantCtx;
use metiva_db::exports::{ExportError, ExportRow, ExportStore};
use metiva_roles::Permission;
use uuid::Uuid;

use super::error::AppError;
use super::guard::{DashboardAuth, RequestId, access_changed};
use super::ui::{self, Lang};

/// The routes, with the export store they read files from.
pub fn routes(store: ExportStore) -> Router<Arc<DashboardAuth>> {
    Router::new()
        .route("/persons/{id}/export", post(post_subject_export))
        .route("/visitors/{id}/export", post(post_visitor_export))
        .route("/privacy/exports", get(get_page).post(post_request))
        .route("/privacy/exports.js", get(get_script))
        .route("/privacy/exports/{id}", get(get_status_page))
        .route("/privacy/exports/{id}/status.json", get(get_status_json))
        .route("/privacy/exports/{id}/download", post(post_download))
        .route("/privacy/exports/download/{token}", get(get_download))
        .layer(Extension(store))
}

fn t(lang: Lang, en: &'static str, nl: &'static str) -> &'static str {
    if lang == Lang::Nl { nl } else { en }
}

fn forbidden(lang: Lang) -> Response {
    AppError::forbidden(t(
        lang,
        "Exports need the privacy.export permission. Ask an owner or admin.",
        "Exporteren vraagt het recht privacy.export. Vraag het een eigenaar of beheerder.",
    ))
    .into_response()
}

fn not_found() -> Response {
    AppError::not_found("No such export in this workspace.").into_response()
}

fn db_error(rid: &RequestId, e: &metiva_db::DbError) -> Response {
    if matches!(e, metiva_db::DbError::AccessRevoked) {
        return access_changed();
    }
    AppError::internal(&rid.0, e).into_response()
}

fn export_error(rid: &RequestId, lang: Lang, e: ExportError) -> Response {
    match e {
        ExportError::Forbidden => forbidden(lang),
        ExportError::NotFound => not_found(),
        ExportError::Gone(code) => AppError::refusal(
            410,
            t(
                lang,
                "This download link was used, has expired, or the export is not ready. Request a new link on the exports page.",
                "Deze downloadlink is al gebruikt, verlopen, of de export is nog niet klaar. Vraag een nieuwe link aan op de exportpagina.",
            ),
        )
        .with_code(code)
        .into_response(),
        ExportError::Db(e) => db_error(rid, &e),
    }
}

/// `POST /persons/{id}/export`: the contact's access-request ZIP.
pub async fn post_subject_export(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    subject_export(&auth, &ctx, &rid, &headers, &id, false).await
}

/// `POST /visitors/{id}/export`: the website visitor's access-request ZIP.
pub async fn post_visitor_export(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    subject_export(&auth, &ctx, &rid, &headers, &id, true).await
}

/// One subject's ZIP: 403 without `privacy.export`, 404 for an id that
/// is not a subject of this workspace (a malformed one too).
async fn subject_export(
    auth: &DashboardAuth,
    ctx: &TenantCtx,
    rid: &RequestId,
    headers: &HeaderMap,
    id: &str,
    visitor: bool,
) -> Response {
    use metiva_db::erasure::Subject;
    let lang = ui::negotiate(None, headers);
    if !ctx.can(Permission::PrivacyExport) {
        return forbidden(lang);
    }
    let missing = || {
        AppError::not_found(if visitor {
            t(
                lang,
                "No such visitor in this workspace.",
                "Deze bezoeker bestaat niet in deze werkruimte.",
            )
        } else {
            t(
                lang,
                "No such contact in this workspace.",
                "Dit contact bestaat niet in deze werkruimte.",
            )
        })
        .into_response()
    };
    let Ok(id) = Uuid::parse_str(id) else {
        return missing();
    };
    let subject = if visitor {
        Subject::Visitor(id)
    } else {
        Subject::Person(id)
    };
    match auth
        .db
        .export_data_subject(ctx, subject, &rid.0, &auth.field_keys)
        .await
    {
        Ok(zip) => attachment(
            "application/zip",
            &zip.file_name,
            Some(zip.bytes.len() as u64),
            Body::from(zip.bytes),
        ),
        Err(ExportError::NotFound) => missing(),
        Err(e) => export_error(rid, lang, e),
    }
}

/// A download answer with the headers every export carries.
fn attachment(content_type: &str, file_name: &str, len: Option<u64>, body: Body) -> Response {
    let mut r = Response::new(body);
    let h = r.headers_mut();
    let mut set = |k: header::HeaderName, v: String| {
        if let Ok(v) = header::HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set(header::CONTENT_TYPE, content_type.to_string());
    set(
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{file_name}\""),
    );
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff".into());
    set(header::CACHE_CONTROL, "no-store".into());
    if let Some(n) = len {
        set(header::CONTENT_LENGTH, n.to_string());
    }
    r
}

/// `POST /privacy/exports`: requests a workspace export, then shows it.
pub async fn post_request(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    if !ctx.can(Permission::PrivacyExport) {
        return forbidden(lang);
    }
    match auth.db.request_workspace_export(&ctx, &rid.0).await {
        Ok(id) => {
            if ui::wants_html(&headers) {
                Redirect::to(&format!("/privacy/exports/{id}")).into_response()
            } else {
                (StatusCode::ACCEPTED, Json(serde_json::json!({ "id": id }))).into_response()
            }
        }
        Err(e) => export_error(&rid, lang, e),
    }
}

fn status_json(r: &ExportRow) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "status": r.status,
        "rows_done": r.rows_done,
        "rows_total": r.rows_total,
        "tables_done": r.tables_done,
        "tables_total": r.tables_total,
        "percent": r.percent(),
        "bytes": r.bytes,
        "sha256": r.sha256,
        "downloadable": r.downloadable(chrono::Utc::now()),
    })
}

async fn one(
    auth: &DashboardAuth,
    ctx: &TenantCtx,
    rid: &RequestId,
    lang: Lang,
    id: &str,
) -> Result<ExportRow, Response> {
    if !ctx.can(Permission::PrivacyExport) {
        return Err(forbidden(lang));
    }
    let Ok(id) = Uuid::parse_str(id) else {
        return Err(not_found());
    };
    match auth.db.export_status(ctx, id).await {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(not_found()),
        Err(e) => Err(db_error(rid, &e)),
    }
}

/// `GET /privacy/exports/{id}/status.json`: the progress the script polls.
pub async fn get_status_json(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    match one(&auth, &ctx, &rid, lang, &id).await {
        Ok(r) => ([(header::CACHE_CONTROL, "no-store")], Json(status_json(&r))).into_response(),
        Err(resp) => resp,
    }
}

/// `POST /privacy/exports/{id}/download`: a fresh single-use link.
pub async fn post_download(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    if !ctx.can(Permission::PrivacyExport) {
        return forbidden(lang);
    }
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found();
    };
    match auth.db.issue_export_download(&ctx, id).await {
        Ok(token) => Redirect::to(&format!("/privacy/exports/download/{token}")).into_response(),
        Err(e) => export_error(&rid, lang, e),
    }
}

/// `GET /privacy/exports/download/{token}`: the ZIP, once.
pub async fn get_download(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    Extension(store): Extension<ExportStore>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    if !ctx.can(Permission::PrivacyExport) {
        return forbidden(lang);
    }
    // A token is 64 lowercase hex digits; anything else is not one.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return export_error(&rid, lang, ExportError::Gone("export.token_invalid"));
    }
    let redeemed = match auth.db.redeem_export_download(&ctx, &token, &rid.0).await {
        Ok(r) => r,
        Err(e) => return export_error(&rid, lang, e),
    };
    let id = redeemed.id;
    // The ZIP's size, for Content-Length: a download cut short (a chunk
    // that does not open ends the stream) is then visibly incomplete to
    // the browser, never a shorter valid-looking file.
    let len = redeemed.bytes.and_then(|b| u64::try_from(b).ok());
    let stream = match store
        .open(&auth.db, auth.field_keys.clone(), ctx.company(), id)
        .await
    {
        Ok(s) => s,
        // The token is spent; a new one is a click away once the store
        // answers again.
        Err(e @ metiva_db::DbError::Unavailable(_)) => {
            return super::attachments::store_unavailable(lang, &rid.0, &e);
        }
        Err(e) => return db_error(&rid, &e),
    };
    // Streamed a 1 MiB chunk at a time, each authenticated before it is
    // sent: the export is never held in memory.
    let stream = futures::StreamExt::map(stream, |r| r.map(axum::body::Bytes::from));
    attachment(
        "application/zip",
        &format!("metiva-workspace-{}-{id}.zip", ctx.company().as_str()),
        len,
        Body::from_stream(stream),
    )
}

/// `GET /privacy/exports.js`: the progress script.
pub async fn get_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("exports_progress.js"),
    )
        .into_response()
}

/// A page around `body`, with its own strict CSP.
fn page(lang: Lang, title: &str, head_extra: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"{l}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · Metiva</title><link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\"><link rel=\"stylesheet\" href=\"/pkg/metiva.css\">{head_extra}</head>\
<body class=\"p-6 max-w-3xl mx-auto\"><p><a href=\"/settings/privacy\">{back}</a></p><h1 class=\"text-2xl font-semibold my-4\">{title}</h1>{body}</body></html>",
        l = if lang == Lang::Nl { "nl" } else { "en" },
        back = t(lang, "← Privacy settings", "← Privacyinstellingen"),
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ],
        html,
    )
        .into_response()
}

fn status_label(lang: Lang, s: &str) -> &'static str {
    match s {
        "queued" => t(lang, "Waiting to start", "Wacht op start"),
        "running" => t(lang, "Running", "Bezig"),
        "done" => t(lang, "Ready", "Klaar"),
        _ => t(lang, "Failed", "Mislukt"),
    }
}

/// `GET /privacy/exports`: the request form and the latest exports.
pub async fn get_page(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    if !ctx.can(Permission::PrivacyExport) {
        return forbidden(lang);
    }
    let rows = match auth.db.list_exports(&ctx).await {
        Ok(r) => r,
        Err(e) => return db_error(&rid, &e),
    };
    let mut body = format!(
        "<p>{intro}</p><form method=\"post\" action=\"/privacy/exports\" class=\"my-4\"><button type=\"submit\" data-testid=\"request-export\" class=\"px-4 py-2 rounded bg-blue-700 text-white\">{btn}</button></form><ul>",
        intro = t(
            lang,
            "A workspace export holds every table of this workspace as CSV, with a manifest of row counts and SHA-256 checksums. It runs in the background; a finished export can be downloaded for 24 hours, each link once.",
            "Een export van de werkruimte bevat elke tabel van deze werkruimte als CSV, met een manifest van aantallen rijen en SHA-256-controlesommen. Hij loopt op de achtergrond; een klare export is 24 uur te downloaden, elke link één keer.",
        ),
        btn = t(
            lang,
            "Request workspace export",
            "Export van de werkruimte aanvragen"
        ),
    );
    for r in &rows {
        body.push_str(&format!(
            "<li><a href=\"/privacy/exports/{id}\">{at}</a>: {st} ({p}%)</li>",
            id = r.id,
            at = r.created_at.format("%Y-%m-%d %H:%M UTC"),
            st = status_label(lang, &r.status),
            p = r.percent(),
        ));
    }
    body.push_str("</ul>");
    page(
        lang,
        t(lang, "Workspace exports", "Exports van de werkruimte"),
        "",
        &body,
    )
}

/// `GET /privacy/exports/{id}`: one export's status and download.
pub async fn get_status_page(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    let r = match one(&auth, &ctx, &rid, lang, &id).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let open = r.status == "queued" || r.status == "running";
    // Without JavaScript the page reloads itself while the export runs;
    // with it, the script polls status.json and this never fires.
    let head = if open {
        "<noscript><meta http-equiv=\"refresh\" content=\"3\"></noscript><script src=\"/privacy/exports.js\" defer></script>".to_string()
    } else {
        String::new()
    };
    let download = if r.downloadable(chrono::Utc::now()) {
        format!(
            "<form method=\"post\" action=\"/privacy/exports/{id}/download\"><button type=\"submit\" data-testid=\"download-export\" class=\"px-4 py-2 rounded bg-blue-700 text-white\">{btn}</button></form><p class=\"text-sm\">SHA-256: <code data-testid=\"export-sha\">{sha}</code></p>",
            id = r.id,
            btn = t(
                lang,
                "Download ZIP (single-use link)",
                "ZIP downloaden (link werkt één keer)"
            ),
            sha = r.sha256.as_deref().unwrap_or(""),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<div id=\"export\" data-status-url=\"/privacy/exports/{id}/status.json\" data-ready=\"{ready}\">\
<p><span data-testid=\"export-status\" id=\"export-status\">{st}</span> · <span id=\"export-rows\">{done}</span> / <span id=\"export-total\">{total}</span> {rows}</p>\
<progress data-testid=\"export-progress\" id=\"export-progress\" max=\"100\" value=\"{p}\" class=\"w-full\">{p}%</progress>\
<div id=\"export-download\">{download}</div></div>",
        id = r.id,
        ready = t(
            lang,
            "Ready: reload to download",
            "Klaar: herlaad om te downloaden"
        ),
        st = status_label(lang, &r.status),
        done = r.rows_done,
        total = r.rows_total,
        rows = t(lang, "rows", "rijen"),
        p = r.percent(),
    );
    page(
        lang,
        t(lang, "Workspace export", "Export van de werkruimte"),
        &head,
        &body,
    )
}
