//! `GET /persons.csv`: the workspace's contacts as CSV, for roles that may
//! edit them (an export carries personal data out of Metiva). Audited
//! with the count, in the same transaction as the read.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use metiva_db::TenantCtx;

use super::csv_export::write_csv;
use super::error::AppError;
use super::guard::DashboardAuth;

const CONTACTS_CSV_HEADER: &str = "name,email,phone,organisation,source,created_at\r\n";

pub async fn get_contacts_csv(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<app::RequestId>,
) -> Response {
    if !ctx.can(metiva_roles::Permission::CrmExport) {
        return AppError::forbidden("Your role does not allow exporting contacts.").into_response();
    }
    let rows = match auth.db.export_contacts(&ctx, &rid.0).await {
        Ok(rows) => rows,
        Err(metiva_db::DbError::AccessRevoked) => {
            return AppError::forbidden("Your access to this workspace changed. Reload the page.")
                .into_response();
        }
        Err(e) => return AppError::internal(&rid.0, &e).into_response(),
    };
    let records = rows.into_iter().map(|r| {
        [
            r.name,
            r.email.unwrap_or_default(),
            r.phone.unwrap_or_default(),
            r.organisation.unwrap_or_default(),
            r.source,
            r.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ]
    });
    let out = match write_csv(CONTACTS_CSV_HEADER, records) {
        Ok(out) => out,
        Err(e) => return AppError::internal(&rid.0, &e).into_response(),
    };
    let name = format!("metiva-contacts-{}.csv", ctx.company());
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        out,
    )
        .into_response()
}
