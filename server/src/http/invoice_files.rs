//! `GET /billing/invoices/{id}/pdf`: an invoice's PDF (issue 17), behind
//! the tenant guard and `billing.read`.
//!
//! # Security
//! - The workspace is the guard's [`TenantCtx`], never the request; an
//!   invoice of another workspace, a malformed id, or an invoice without
//!   a PDF yet is 404; without `billing.read` it is 403.
//! - No public URLs: the bytes come from the object store through this
//!   handler only, opened with the workspace's data key (a file that does
//!   not open, or whose SHA-256 differs, is a 500, never served).
//! - Each download is audited before its bytes are sent. The answer
//!   carries `Content-Disposition: attachment`,
//!   `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use metiva_db::TenantCtx;
use metiva_db::billing::BillingError;
use metiva_db::files::FileStore;
use uuid::Uuid;

use super::error::AppError;
use super::guard::{DashboardAuth, RequestId, access_changed};
use super::ui::{self, Lang};

/// The route, reading from the configured object store (see
/// `crate::file_store`).
pub fn routes(files: FileStore) -> Router<Arc<DashboardAuth>> {
    Router::new()
        .route("/billing/invoices/{id}/pdf", get(get_pdf))
        .layer(Extension(files))
}

fn not_found(lang: Lang) -> Response {
    AppError::not_found(if lang == Lang::Nl {
        "Deze factuur of haar pdf bestaat niet in deze werkruimte."
    } else {
        "No such invoice PDF in this workspace."
    })
    .into_response()
}

/// `GET /billing/invoices/{id}/pdf`.
async fn get_pdf(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    Extension(files): Extension<FileStore>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found(lang);
    };
    match auth
        .db
        .invoice_pdf_download(&ctx, &auth.field_keys, &files, id, &rid.0)
        .await
    {
        Ok(pdf) => {
            let mut r = Response::new(axum::body::Body::from(pdf.bytes));
            let h = r.headers_mut();
            let mut set = |k: header::HeaderName, v: String| {
                if let Ok(v) = header::HeaderValue::from_str(&v) {
                    h.insert(k, v);
                }
            };
            set(header::CONTENT_TYPE, "application/pdf".into());
            // The name is ours (`invoice-2026-0001.pdf`): no quoting issue.
            set(
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", pdf.name),
            );
            set(header::X_CONTENT_TYPE_OPTIONS, "nosniff".into());
            set(header::CACHE_CONTROL, "no-store".into());
            r
        }
        Err(BillingError::Forbidden) => AppError::forbidden(if lang == Lang::Nl {
            "Facturen vragen het recht billing.read. Vraag het een eigenaar."
        } else {
            "Invoices need the billing.read permission. Ask an owner."
        })
        .into_response(),
        Err(BillingError::NotFound) => not_found(lang),
        Err(BillingError::Db(metiva_db::DbError::AccessRevoked)) => access_changed(),
        Err(BillingError::Db(e @ metiva_db::DbError::Unavailable(_))) => {
            super::attachments::store_unavailable(lang, &rid.0, &e)
        }
        Err(e) => AppError::internal(&rid.0, &e).into_response(),
    }
}
