//! `GET /erasures/{id}/receipt.json`, `/erasures/{id}/receipt.txt` and
//! `/erasures/{id}/receipt.pdf`: an erasure's receipt, for roles with
//! `privacy.erase` or `audit.read` (the audit row of the erasure links
//! here). The PDF is the text, laid out in the invoice's embedded font.
//!
//! # Security
//! A receipt holds ids, codes and counts, never personal data; another
//! workspace's receipt (or a malformed id) is simply not found.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use metiva_db::TenantCtx;
use metiva_db::billing::pdf::{PdfError, TextLine, render_lines};
use metiva_db::erasure::Receipt;
use metiva_roles::Permission;

use super::error::AppError;
use super::guard::DashboardAuth;

/// What a receipt never covers: named on every receipt.
const STAGED_IMPORTS: &str = "Staged CSV imports belong to the member who uploaded them and expire within an hour; one still staged that mentions the subject's email is counted under crm_imports.";

pub async fn get_receipt(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<app::RequestId>,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    if !(ctx.can(Permission::PrivacyErase) || ctx.can(Permission::AuditRead)) {
        return AppError::forbidden("Your role does not allow reading erasure receipts.")
            .into_response();
    }
    let format = match file.as_str() {
        "receipt.json" => Format::Json,
        "receipt.txt" => Format::Text,
        "receipt.pdf" => Format::Pdf,
        _ => return AppError::not_found("Not found.").into_response(),
    };
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return AppError::not_found("Not found.").into_response();
    };
    let receipt = match auth.db.erasure_receipt(&ctx, id).await {
        Ok(Some(r)) => r,
        Ok(None) => return AppError::not_found("Not found.").into_response(),
        Err(metiva_db::DbError::AccessRevoked) => {
            return AppError::forbidden("Your access to this workspace changed. Reload the page.")
                .into_response();
        }
        Err(e) => return AppError::internal(&rid.0, &e).into_response(),
    };
    let (content_type, ext, body) = match format {
        Format::Json => (
            "application/json",
            "json",
            json(&receipt).to_string().into_bytes(),
        ),
        Format::Text => (
            "text/plain; charset=utf-8",
            "txt",
            text(&receipt).into_bytes(),
        ),
        Format::Pdf => match pdf(&receipt) {
            Ok(bytes) => ("application/pdf", "pdf", bytes),
            // The embedded fonts did not load or krilla refused the
            // document: a bug, never the receipt's content.
            Err(e) => return AppError::internal(&rid.0, &e).into_response(),
        },
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"metiva-erasure-{}.{ext}\"",
                    receipt.id
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// The three downloads of one receipt.
#[derive(Clone, Copy)]
enum Format {
    Json,
    Text,
    Pdf,
}

/// The receipt as JSON: stable field names and codes.
pub fn json(r: &Receipt) -> serde_json::Value {
    let tables: Vec<serde_json::Value> = r
        .lines
        .iter()
        .map(|l| {
            serde_json::json!({
                "table": l.table,
                "erased": l.erased,
                "retained": l.retained,
                "basis": l.basis,
                "retained_ids": l.retained_ids.iter().flatten().collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "receipt_id": r.id,
        "erased_at": r.at.to_rfc3339(),
        "actor_user_id": r.actor_user_id,
        "subject_kind": r.subject_kind,
        "reason": r.reason,
        "note": r.note,
        "consent_tombstone": r.tombstone,
        "tables": tables,
        "not_covered": STAGED_IMPORTS,
    })
}

/// The receipt as plain text, one table a line.
fn text(r: &Receipt) -> String {
    let mut out = format!(
        "Metiva erasure receipt {}\nErased at: {}\nBy member: {}\nSubject: {}\nReason: {}\n",
        r.id,
        r.at.format("%Y-%m-%d %H:%M:%S UTC"),
        r.actor_user_id,
        r.subject_kind,
        r.reason,
    );
    if let Some(note) = &r.note {
        let _ = writeln!(out, "Note: {note}");
    }
    let _ = writeln!(out, "Consent decisions kept under: {}\n", r.tombstone);
    for l in &r.lines {
        let _ = write!(out, "{}: {} erased, {} kept", l.table, l.erased, l.retained);
        if let Some(b) = &l.basis {
            let _ = write!(out, " ({b})");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "\n{STAGED_IMPORTS}");
    out
}

/// The receipt as a PDF: the plain text's lines (the first as the title),
/// so both say exactly the same and neither holds personal data. Any
/// character of a note prints as written (an embedded font, not WinAnsi).
pub fn pdf(r: &Receipt) -> Result<Vec<u8>, PdfError> {
    let body = text(r);
    let lines: Vec<TextLine<'_>> = body
        .lines()
        .enumerate()
        .map(|(i, l)| TextLine {
            bold: i == 0,
            size: if i == 0 { 14 } else { 10 },
            text: l,
        })
        .collect();
    render_lines(&lines)
}
