//! `POST /api/import`: a CSV file of contacts or organisations, uploaded
//! for its preview (`multipart/form-data`: `kind`, and the `file`, or its
//! text pasted as `text`). The file is checked (5 MB, UTF-8, 20,000
//! lines) and staged; the CRM is not touched until the preview is
//! confirmed (`app::crm::confirm_import`).
//!
//! A browser's form post is answered with a redirect: to the preview, or
//! back to `/import` with the refusal's code. A script gets the staged
//! import's id as JSON, or the refusal's status (403, 413, 422) with a
//! message naming the field in the user's language.
//!
//! # Security
//! The workspace comes from the guard's [`TenantCtx`]; the role must hold
//! `crm.import` (checked before the body is read, and again in the
//! domain). The body limit of this one route is larger than the
//! dashboard's ([`MAX_UPLOAD_BODY`], see `dashboard::body_limit`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use metiva_db::TenantCtx;
use metiva_db::crm::FieldError;
use metiva_db::crm::import::{ImportError, ImportKind, file};

use super::error::AppError;
use super::guard::{DashboardAuth, RequestId, access_changed};
use super::ui::{Lang, wants_html};

/// Where the upload form posts.
pub const UPLOAD_PATH: &str = "/api/import";

/// The largest upload body: a file of up to 5 MB, the other form fields
/// and the multipart framing. A file between 5 MB and this is refused here
/// in the user's words; a larger body by the body limit itself.
pub const MAX_UPLOAD_BODY: usize = file::MAX_FILE_BYTES + 1024 * 1024;

/// The form as posted.
#[derive(Default)]
struct Upload {
    kind: String,
    file: Vec<u8>,
    text: String,
}

/// Reads the form; `Err` is the refusal (a body over the limit, or one
/// that is not a multipart form).
async fn read_upload(mut form: Multipart) -> Result<Upload, ImportError> {
    let mut upload = Upload::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(upload),
            Err(e) => return Err(unreadable(e.status())),
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| unreadable(e.status()))?;
        match name.as_str() {
            "kind" => upload.kind = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => upload.file = bytes.to_vec(),
            "text" => upload.text = String::from_utf8_lossy(&bytes).into_owned(),
            _ => {}
        }
    }
}

fn unreadable(status: StatusCode) -> ImportError {
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "file.too_large"
    } else {
        "file.format"
    };
    ImportError::Invalid(vec![FieldError {
        field: "file",
        code,
    }])
}

/// Stages the upload; returns the import's id.
async fn stage(
    auth: &DashboardAuth,
    ctx: &TenantCtx,
    form: Multipart,
) -> Result<String, ImportError> {
    let upload = read_upload(form).await?;
    let Some(kind) = ImportKind::parse(&upload.kind) else {
        return Err(ImportError::Invalid(vec![FieldError {
            field: "kind",
            code: "unknown",
        }]));
    };
    // The file, or else the pasted text.
    let bytes = if upload.file.is_empty() {
        upload.text.as_bytes()
    } else {
        upload.file.as_slice()
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Invalid(vec![FieldError {
            field: "file",
            code: "file.required",
        }]));
    }
    let text = file::decode(bytes).map_err(|e| ImportError::Invalid(vec![e]))?;
    let id = auth.db.stage_import(ctx, kind, text).await?;
    Ok(id.to_string())
}

/// `POST /api/import` (see the module docs).
pub async fn post_import(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    Extension(lang): Extension<Lang>,
    headers: HeaderMap,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let html = wants_html(&headers);
    let result = if !ctx.can(metiva_roles::Permission::CrmImport) {
        Err(ImportError::Forbidden)
    } else {
        match form {
            Ok(form) => stage(&auth, &ctx, form).await,
            Err(_) => Err(unreadable(StatusCode::BAD_REQUEST)),
        }
    };
    match result {
        Ok(id) if html => Redirect::to(&format!("/import/{id}")).into_response(),
        Ok(id) => Json(serde_json::json!({ "id": id })).into_response(),
        Err(ImportError::Db(metiva_db::DbError::AccessRevoked)) => access_changed(),
        Err(ImportError::Db(e)) => AppError::internal(&rid.0, &e).into_response(),
        Err(ImportError::Invalid(fields)) if html && !fields.is_empty() => {
            // The page words the refusal from its code.
            let code = fields.first().map_or("file.format", |f| f.code);
            Redirect::to(&format!("/import?refused={}", app::query_escape(code))).into_response()
        }
        Err(e) => app::crm::import_refusal(lang, e).into_response(),
    }
}
