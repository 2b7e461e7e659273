//! Files attached to a deal or an organisation (issue 17): contracts and
//! signature images.
//!
//! - `POST /api/files/{deal|organisation}/{id}`: `multipart/form-data`
//!   with `kind` (`contract` or `signature`) and `file`. A browser's form
//!   post is answered with a redirect back to the record's page
//!   (`?files=uploaded`, or `?files=<refusal>`); a script gets
//!   `201 {"id": …}` or the refusal's status: 413 (over 10 MB), 415 (not
//!   a PDF, PNG or JPEG by content), 422 (a missing file or kind), 403,
//!   404, with a message in the user's language.
//! - `GET /files/{id}`: the download.
//! - `POST /files/{id}/delete`: deletes an attached file (the record's
//!   write permission, as for an upload). A browser's form post goes back
//!   to the record's page (`?files=deleted`); a script gets 204, or 403 or
//!   404 in the user's words.
//!
//! # Security
//! - Both sit behind the tenant guard; the workspace is the guard's
//!   [`TenantCtx`], never the request. Another workspace's record or file
//!   id, or a malformed id, is 404 (the same answer as a missing one, so
//!   ids of other workspaces cannot be probed).
//! - The type is checked by content in the domain
//!   (`metiva_db::attachments`), before anything is written: a refused
//!   upload stores nothing. The body limit of these routes is 10 MB plus
//!   1 MB of form framing ([`MAX_UPLOAD_BODY`]); a bigger body is refused
//!   with 413 while it is read, before it reaches this handler.
//! - Downloads carry `Content-Disposition: attachment` (never rendered in
//!   our origin), `X-Content-Type-Options: nosniff`, the checked type and
//!   `Cache-Control: no-store`, and are audited before the bytes leave.
//! - Every post (upload, delete) passes the dashboard's same-origin check
//!   (`refuse_cross_site_writes`), the CSRF defence of every form here;
//!   the delete is a POST, never a GET a link or image could trigger.
//! - A delete removes the row in its transaction and the object after the
//!   commit; an object the store fails to delete then is logged (file id
//!   only) and left as unreadable garbage that no row refers to (see
//!   `metiva_db::attachments`).

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use metiva_db::TenantCtx;
use metiva_db::attachments::{AttachError, Kind, Record};
use metiva_db::files::{FileStore, MAX_FILE_BYTES};
use uuid::Uuid;

use super::error::AppError;
use super::guard::{DashboardAuth, RequestId, access_changed};
use super::ui::{Lang, wants_html};

/// Uploads post under this prefix (`{prefix}{deal|organisation}/{id}`).
pub const UPLOAD_PREFIX: &str = "/api/files/";

/// The workspace logo's upload (`/settings/branding`, owners): static,
/// so it wins over `{record}/{id}`, and under [`UPLOAD_PREFIX`]'s body
/// limit; the logo's own 512 KB limit is the domain's.
pub const LOGO_PATH: &str = "/api/files/branding/logo";

/// The largest upload body: a 10 MB file and the form's framing. A file
/// between 10 MB and this is refused by the domain in the user's words;
/// a larger body by the body limit while it is read.
pub const MAX_UPLOAD_BODY: usize = MAX_FILE_BYTES + 1024 * 1024;

/// The routes, with the configured object store (`crate::file_store`).
pub fn routes(files: FileStore) -> Router<Arc<DashboardAuth>> {
    Router::new()
        .route(
            "/api/files/{record}/{id}",
            post(post_upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BODY)),
        )
        .route(
            LOGO_PATH,
            post(post_logo).layer(DefaultBodyLimit::max(MAX_UPLOAD_BODY)),
        )
        .route("/files/{id}", get(get_file))
        .route("/files/{id}/delete", post(post_delete))
        .layer(Extension(files))
}

/// The object store is unreachable or refuses our credentials (an
/// outage or a misconfiguration, never the user's doing): 503 in the
/// user's words, the detail only in the log under the request id.
/// Security: fails closed (nothing is served or half-stored), and the
/// answer names no bucket, endpoint or credential.
pub fn store_unavailable(lang: Lang, request_id: &str, cause: &dyn std::fmt::Display) -> Response {
    tracing::error!(request_id, error = %cause, "the object store is unavailable");
    AppError::unavailable(if lang == Lang::Nl {
        "De bestandsopslag is nu niet bereikbaar. Probeer het over een paar minuten opnieuw."
    } else {
        "File storage is unavailable right now. Try again in a few minutes."
    })
    .into_response()
}

/// The page a file's record is shown on (where a form goes back to).
fn record_page(record: Record) -> String {
    match record {
        Record::Deal(id) => format!("/deals/{id}"),
        Record::Organisation(id) => format!("/organisations/{id}"),
    }
}

/// A database or object-store failure behind a files route: revoked
/// access is the guard's answer, an unreachable store a 503 in the
/// user's words, anything else internal (detail to the log only).
fn db_failure(lang: Lang, request_id: &str, e: metiva_db::DbError) -> Response {
    match e {
        metiva_db::DbError::AccessRevoked => access_changed(),
        e @ metiva_db::DbError::Unavailable(_) => store_unavailable(lang, request_id, &e),
        e => AppError::internal(request_id, &e).into_response(),
    }
}

/// The refusal in the user's words.
fn refusal(lang: Lang, e: &AttachError) -> AppError {
    let nl = lang == Lang::Nl;
    match e {
        AttachError::Forbidden => AppError::forbidden(if nl {
            "Bestanden toevoegen of openen vraagt schrijf- of leesrecht op dit record. Vraag het een eigenaar."
        } else {
            "Adding or opening files needs write or read permission on this record. Ask an owner."
        }),
        AttachError::NotFound => AppError::not_found(if nl {
            "Dit record of bestand bestaat niet in deze werkruimte."
        } else {
            "No such record or file in this workspace."
        }),
        AttachError::TooLarge => AppError::too_large(if nl {
            "Het bestand is groter dan 10 MB. Er is niets opgeslagen."
        } else {
            "The file is larger than 10 MB. Nothing was stored."
        }),
        AttachError::UnsupportedType => AppError::refusal(
            415,
            if nl {
                "Alleen PDF, PNG en JPEG (een handtekening: PNG of JPEG), herkend aan de inhoud. Er is niets opgeslagen."
            } else {
                "Only PDF, PNG and JPEG files (a signature: PNG or JPEG), recognised by their content. Nothing was stored."
            },
        ),
        AttachError::Invalid("kind") => AppError::validation(if nl {
            "Kies het soort bestand: contract of handtekening."
        } else {
            "Choose the kind of file: contract or signature."
        }),
        AttachError::Invalid(_) => AppError::validation(if nl {
            "Kies een bestand om te uploaden."
        } else {
            "Choose a file to upload."
        }),
        AttachError::Db(e) => AppError::internal_here(e),
    }
}

/// The refusal's short code for the page's banner (`?files=`).
fn code(e: &AttachError) -> &'static str {
    match e {
        AttachError::Forbidden => "forbidden",
        AttachError::NotFound => "not_found",
        AttachError::TooLarge => "too_large",
        AttachError::UnsupportedType => "type",
        AttachError::Invalid("kind") => "kind",
        AttachError::Invalid(_) => "file",
        AttachError::Db(_) => "error",
    }
}

/// The form as posted.
#[derive(Default)]
struct Upload {
    kind: String,
    name: String,
    file: Vec<u8>,
}

async fn read_upload(mut form: Multipart) -> Result<Upload, AttachError> {
    let mut upload = Upload::default();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(upload),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AttachError::TooLarge);
            }
            Err(_) => return Err(AttachError::Invalid("file")),
        };
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().unwrap_or_default().to_string();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AttachError::TooLarge);
            }
            Err(_) => return Err(AttachError::Invalid("file")),
        };
        match name.as_str() {
            "kind" => upload.kind = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => {
                upload.name = file_name;
                upload.file = bytes.to_vec();
            }
            _ => {}
        }
    }
}

async fn upload(
    auth: &DashboardAuth,
    ctx: &TenantCtx,
    files: &FileStore,
    record: Record,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
    request_id: &str,
) -> Result<Uuid, AttachError> {
    let form = form.map_err(|_| AttachError::Invalid("file"))?;
    let upload = read_upload(form).await?;
    let kind = Kind::parse(upload.kind.trim()).ok_or(AttachError::Invalid("kind"))?;
    auth.db
        .attach_file(
            ctx,
            &auth.field_keys,
            files,
            record,
            kind,
            &upload.name,
            &upload.file,
            request_id,
        )
        .await
}

/// `POST /api/files/{deal|organisation}/{id}` (see the module docs).
// One argument per axum extractor; grouping them would hide what the
// handler reads from the request.
#[allow(clippy::too_many_arguments)]
async fn post_upload(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    Extension(lang): Extension<Lang>,
    Extension(files): Extension<FileStore>,
    headers: HeaderMap,
    Path((record, id)): Path<(String, String)>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let html = wants_html(&headers);
    let Some(record) = Record::parse(&record, &id) else {
        return refusal(lang, &AttachError::NotFound).into_response();
    };
    let back = record_page(record);
    match upload(&auth, &ctx, &files, record, form, &rid.0).await {
        Ok(_) if html => Redirect::to(&format!("{back}?files=uploaded")).into_response(),
        Ok(id) => (
            StatusCode::CREATED,
            Json(serde_json::json!({ "id": id.to_string() })),
        )
            .into_response(),
        Err(AttachError::Db(e)) => db_failure(lang, &rid.0, e),
        // A missing record has no page to go back to.
        Err(e) if html && !matches!(e, AttachError::NotFound) => {
            Redirect::to(&format!("{back}?files={}", code(&e))).into_response()
        }
        Err(e) => refusal(lang, &e).into_response(),
    }
}

/// `GET /files/{id}`.
async fn get_file(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    Extension(lang): Extension<Lang>,
    Extension(files): Extension<FileStore>,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return refusal(lang, &AttachError::NotFound).into_response();
    };
    match auth
        .db
        .attachment_download(&ctx, &auth.field_keys, &files, id, &rid.0)
        .await
    {
        Ok(d) => {
            let mut r = Response::new(axum::body::Body::from(d.bytes));
            let h = r.headers_mut();
            let mut set = |k: header::HeaderName, v: String| {
                if let Ok(v) = header::HeaderValue::from_str(&v) {
                    h.insert(k, v);
                }
            };
            set(header::CONTENT_TYPE, d.content_type);
            // The stored name is plain ASCII without quotes (see
            // `attachments::clean_name`): safe inside the quotes.
            set(
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", d.name),
            );
            set(header::X_CONTENT_TYPE_OPTIONS, "nosniff".into());
            set(header::CACHE_CONTROL, "no-store".into());
            r
        }
        Err(AttachError::Db(e)) => db_failure(lang, &rid.0, e),
        Err(e) => refusal(lang, &e).into_response(),
    }
}

/// `POST /files/{id}/delete` (see the module docs).
async fn post_delete(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    Extension(lang): Extension<Lang>,
    Extension(files): Extension<FileStore>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return refusal(lang, &AttachError::NotFound).into_response();
    };
    match auth.db.delete_attachment(&ctx, &files, id, &rid.0).await {
        Ok(deleted) => {
            if let Some(e) = deleted.object_left {
                // The row is gone and the deletion audited; the object is
                // unreadable garbage now (see the module docs).
                tracing::warn!(request_id = %rid.0, file_id = %id, error = %e,
                    "a deleted file's object could not be deleted; it is left in the store, unreferenced");
            }
            if wants_html(&headers) {
                let back = record_page(deleted.record);
                Redirect::to(&format!("{back}?files=deleted")).into_response()
            } else {
                StatusCode::NO_CONTENT.into_response()
            }
        }
        Err(AttachError::Db(e)) => db_failure(lang, &rid.0, e),
        Err(AttachError::Forbidden) => AppError::forbidden(if lang == Lang::Nl {
            "Bestanden verwijderen vraagt schrijfrecht op dit record. Vraag het een eigenaar."
        } else {
            "Deleting files needs write permission on this record. Ask an owner."
        })
        .into_response(),
        Err(e) => refusal(lang, &e).into_response(),
    }
}

/// `POST /api/files/branding/logo`: the workspace logo (owners). A form
/// post goes back to `/settings/branding?logo=<outcome>`; a script gets
/// 201, or 403, 413 (over 512 KB), 415 (not PNG or JPEG by content) or
/// 422 (an image this writer does not take, or no file).
async fn post_logo(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    Extension(lang): Extension<Lang>,
    Extension(files): Extension<FileStore>,
    headers: HeaderMap,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    use metiva_db::billing::logo::LogoError;
    use metiva_db::branding::BrandingError;
    let html = wants_html(&headers);
    let nl = lang == Lang::Nl;
    let result = async {
        // Owners only: checked before the body is read (and again in the
        // domain).
        if ctx.role() != metiva_roles::Role::Owner {
            return Err(BrandingError::Forbidden);
        }
        let upload = match form {
            Ok(form) => read_upload(form).await,
            Err(_) => Err(AttachError::Invalid("file")),
        };
        let upload = match upload {
            Ok(u) if !u.file.is_empty() => u,
            Err(AttachError::TooLarge) => return Err(BrandingError::Logo(LogoError::TooLarge)),
            _ => return Err(BrandingError::Logo(LogoError::Unsupported("no file"))),
        };
        auth.db
            .save_logo(&ctx, &auth.field_keys, &files, &upload.file, &rid.0)
            .await
    }
    .await;
    let (code, err) = match result {
        Ok(_) if html => {
            return Redirect::to("/settings/branding?logo=saved").into_response();
        }
        Ok(id) => {
            return (
                StatusCode::CREATED,
                Json(serde_json::json!({ "id": id.to_string() })),
            )
                .into_response();
        }
        Err(BrandingError::Db(e)) => return db_failure(lang, &rid.0, e),
        Err(BrandingError::Forbidden) => (
            "forbidden",
            AppError::forbidden(if nl {
                "Alleen eigenaren wijzigen de huisstijl van de werkruimte."
            } else {
                "Only owners change the workspace's branding."
            }),
        ),
        Err(BrandingError::Logo(LogoError::TooLarge)) => (
            "too_large",
            AppError::too_large(if nl {
                "Een logo is hoogstens 512 KB. Er is niets opgeslagen."
            } else {
                "A logo is at most 512 KB. Nothing was stored."
            }),
        ),
        Err(BrandingError::Logo(LogoError::Type)) => (
            "type",
            AppError::refusal(
                415,
                if nl {
                    "Een logo is een PNG- of JPEG-afbeelding, herkend aan de inhoud. Er is niets opgeslagen."
                } else {
                    "A logo is a PNG or JPEG image, recognised by its content. Nothing was stored."
                },
            ),
        ),
        Err(BrandingError::Logo(LogoError::Unsupported("no file"))) => {
            ("file", refusal(lang, &AttachError::Invalid("file")))
        }
        Err(BrandingError::Logo(LogoError::Unsupported(_)) | BrandingError::Invalid(_)) => (
            "unsupported",
            AppError::validation(if nl {
                "Deze afbeelding is niet bruikbaar: sla haar op als 8-bits PNG of als grijze of RGB-JPEG van hoogstens 2000 pixels per zijde. Er is niets opgeslagen."
            } else {
                "This image cannot be used: save it as an 8-bit PNG or a grey or RGB JPEG of at most 2000 pixels a side. Nothing was stored."
            }),
        ),
    };
    if html {
        Redirect::to(&format!("/settings/branding?logo={code}")).into_response()
    } else {
        err.into_response()
    }
}
