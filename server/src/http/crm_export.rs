//! `GET /persons.csv` and `GET /deals.csv`: the workspace's contacts, and
//! the deal list exactly as filtered on screen, as CSV, for roles with
//! `crm.export` (an export carries personal data out of Metiva). Audited
//! with the count, in the same transaction as the read.

use std::sync::Arc;

use axum::extract::{Extension, Query, State};
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
    let name = format!("metiva-contacts-{}.csv", ctx.company());
    attachment(&rid.0, &name, CONTACTS_CSV_HEADER, records)
}

/// The records as a CSV download that no cache keeps; a write failure is
/// an opaque 500 logged under the request id.
fn attachment<R, F>(request_id: &str, name: &str, header_line: &str, records: R) -> Response
where
    R: IntoIterator,
    R::Item: IntoIterator<Item = F>,
    F: AsRef<str>,
{
    let out = match write_csv(header_line, records) {
        Ok(out) => out,
        Err(e) => return AppError::internal(request_id, &e).into_response(),
    };
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

const DEALS_CSV_HEADER: &str =
    "title,value_eur,stage,expected_close,owner,contact,organisation,updated_at\r\n";

/// The deal list's filter, as `/deals?view=list&…` carries it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DealsCsvQuery {
    stage: Option<String>,
    owner: Option<String>,
    month: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

pub async fn get_deals_csv(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<app::RequestId>,
    Query(q): Query<DealsCsvQuery>,
) -> Response {
    use metiva_db::crm::deal_list::DealQuery;
    if !ctx.can(metiva_roles::Permission::CrmExport) {
        return AppError::forbidden("Your role does not allow exporting deals.").into_response();
    }
    // The filter is checked before any SQL; a malformed one is a 422
    // naming the parameter, never an unfiltered export.
    let filter = match (DealQuery {
        stage: q.stage.as_deref(),
        owner: q.owner.as_deref(),
        month: q.month.as_deref(),
        sort: q.sort.as_deref(),
        dir: q.dir.as_deref(),
        page: None,
    })
    .validate()
    {
        Ok(f) => f,
        Err(fields) => {
            let names: Vec<&str> = fields.iter().map(|f| f.field).collect();
            return AppError::validation(format!(
                "This filter is not valid: {}.",
                names.join(", ")
            ))
            .into_response();
        }
    };
    let rows = match auth.db.export_deals(&ctx, &filter, &rid.0).await {
        Ok(rows) => rows,
        Err(metiva_db::DbError::AccessRevoked) => {
            return AppError::forbidden("Your access to this workspace changed. Reload the page.")
                .into_response();
        }
        Err(e) => return AppError::internal(&rid.0, &e).into_response(),
    };
    let records = rows.into_iter().map(|d| {
        [
            d.title,
            format!("{}.{:02}", d.value_cents / 100, d.value_cents % 100),
            d.stage,
            d.expected_close.map(|c| c.to_string()).unwrap_or_default(),
            d.owner.unwrap_or_default(),
            d.person.unwrap_or_default(),
            d.organisation.unwrap_or_default(),
            d.updated_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ]
    });
    let name = format!("metiva-deals-{}.csv", ctx.company());
    attachment(&rid.0, &name, DEALS_CSV_HEADER, records)
}
