//! Member and session management as a JSON API (scripts, tests; a plain
//! form post works too). The dashboard's own forms are `ActionForm`s over
//! the server functions in `app::member_forms`; both are thin over the
//! same rules in `metiva_db::members`, with one error mapping.
//!
//! # Security
//! Every handler takes the [`TenantCtx`] the guard put on the request; the
//! workspace is never read from the path, query or body. The permission
//! (`members.manage`) is checked again in the domain function, whatever
//! the UI showed.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use metiva_db::TenantCtx;
use metiva_db::members::{MemberAction, MemberError};
use metiva_roles::Role;
use serde::Deserialize;
use uuid::Uuid;

use super::cookies::with_cookies;
use super::csv_export::write_csv;
use super::error::AppError;
use super::guard::{DashboardAuth, RequestId, access_changed};
use super::ui::{self, wants_html};

use app::login_pages as pages;
use app::member_forms::ssr::{create_invitation, member_error_status as status_of};
use leptos::view;

fn respond(headers: &HeaderMap, result: Result<&'static str, MemberError>) -> Response {
    match result {
        Ok(done) if wants_html(headers) => {
            Redirect::to(&format!("/members?done={done}")).into_response()
        }
        Ok(done) => Json(serde_json::json!({ "ok": true, "done": done })).into_response(),
        Err(e) => {
            let (status, code) = status_of(&e);
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                tracing::error!(error = %e, "member action");
            }
            if matches!(e, MemberError::Db(metiva_db::DbError::AccessRevoked)) {
                // The guard re-resolves the actor's access and retries.
                return access_changed();
            }
            if wants_html(headers) {
                Redirect::to(&format!("/members?error={code}")).into_response()
            } else {
                let msg = match &e {
                    MemberError::Db(_) => {
                        "The change could not be saved. Please try again.".to_string()
                    }
                    other => other.to_string(),
                };
                AppError::refusal(status.as_u16(), msg)
                    .with_code(code)
                    .into_response()
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /api/members/{user_id}/{action}`; `action` is `role` (with a
/// `role` field), `suspend`, `reactivate`, `remove` or
/// `sign-out-everywhere`.
pub async fn post_member_action(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path((user, action)): Path<(String, String)>,
    Form(form): Form<RoleForm>,
) -> Response {
    let Ok(target) = Uuid::parse_str(&user) else {
        return respond(&headers, Err(MemberError::NotFound));
    };
    let (action, done) = match action.as_str() {
        "role" => {
            let role = form.role.as_str();
            match Role::parse(role) {
                Ok(r) => (MemberAction::ChangeRole(r), "role_changed"),
                Err(_) => {
                    return respond(
                        &headers,
                        Err(MemberError::Invalid(format!("unknown role {role:?}"))),
                    );
                }
            }
        }
        "suspend" => (MemberAction::Suspend, "suspended"),
        "reactivate" => (MemberAction::Reactivate, "reactivated"),
        "remove" => (MemberAction::Remove, "removed"),
        "sign-out-everywhere" => (MemberAction::SignOutEverywhere, "signed_out"),
        _ => return (StatusCode::NOT_FOUND, "unknown member action").into_response(),
    };
    let result = auth.db.member_action(&ctx, target, action, &rid.0).await;
    respond(&headers, result.map(|()| done))
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// `POST /api/members/invite`: a pending membership and a one-time link
/// to the login service, shown once.
pub async fn post_invite(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Response {
    let Ok(role) = Role::parse(&form.role) else {
        return respond(&headers, Err(MemberError::Invalid("Choose a role.".into())));
    };
    let result = create_invitation(
        &auth.db,
        &ctx,
        (&form.name, &form.email, role),
        &auth.login_url,
        &rid.0,
    )
    .await;
    match result {
        Ok((user_id, link)) => {
            if wants_html(&headers) {
                // The link is a secret: shown once, on a no-store page.
                let lang = ui::negotiate(None, &headers);
                ui::page(StatusCode::OK, &auth.app_url, move || {
                    view! { <pages::InvitationCreatedPage lang link /> }
                })
            } else {
                Json(serde_json::json!({ "ok": true, "user_id": user_id, "link": link }))
                    .into_response()
            }
        }
        Err(e) => respond(&headers, Err(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct AuditCsvQuery {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    actor: Option<String>,
}

/// The audit export's header line (unquoted, as it always was).
const AUDIT_CSV_HEADER: &str = "id,at,action,actor,actor_id,target,request_id\r\n";

/// `GET /settings/audit.csv`: the filtered audit log (up to 10,000 rows,
/// newest first); needs `audit.read`.
pub async fn get_audit_csv(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    axum::extract::Query(q): axum::extract::Query<AuditCsvQuery>,
) -> Response {
    if !ctx.can(metiva_roles::Permission::AuditRead) {
        return (
            StatusCode::FORBIDDEN,
            "Your role does not allow reading the audit log.",
        )
            .into_response();
    }
    let read = app::api::ssr::read_audit(
        &auth.db,
        &ctx,
        q.action.as_deref(),
        q.actor.as_deref(),
        None,
        10_000,
    )
    .await;
    let (rows, _) = match read {
        Ok(x) => x,
        Err(metiva_db::DbError::AccessRevoked) => return access_changed(),
        Err(e) => {
            tracing::error!(error = %e, "audit CSV");
            return (StatusCode::SERVICE_UNAVAILABLE, "Please try again.").into_response();
        }
    };
    let records = rows.into_iter().map(|r| {
        [
            r.id.to_string(),
            r.at,
            r.action,
            r.actor,
            r.actor_id,
            r.target,
            r.request_id,
        ]
    });
    let out = match write_csv(AUDIT_CSV_HEADER, records) {
        Ok(out) => out,
        Err(e) => {
            return AppError::internal(&uuid::Uuid::new_v4().to_string(), &e).into_response();
        }
    };
    let name = format!("metiva-audit-{}.csv", ctx.company());
    (
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

/// `POST /api/sessions/{id}/revoke`: ends one of the caller's own sessions.
pub async fn post_revoke_session(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return (StatusCode::NOT_FOUND, "no such session").into_response();
    };
    revoke(&auth, &ctx, &rid, &headers, Some(id)).await
}

/// `POST /api/sessions/revoke-all`: ends every session of the caller,
/// this one included.
pub async fn post_revoke_sessions(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<RequestId>,
    headers: HeaderMap,
) -> Response {
    revoke(&auth, &ctx, &rid, &headers, None).await
}

async fn revoke(
    auth: &DashboardAuth,
    ctx: &TenantCtx,
    rid: &RequestId,
    headers: &HeaderMap,
    which: Option<Uuid>,
) -> Response {
    match auth.db.revoke_own_sessions(ctx, which, &rid.0).await {
        Ok(_) => {
            let own = which.is_none_or(|id| id == ctx.session_id());
            if own {
                // This browser's own session ended: sign it out here too.
                with_cookies(
                    Redirect::to(&format!("{}/signed-out", auth.login_url)).into_response(),
                    &[auth.clear_token_cookie()],
                )
            } else if wants_html(headers) {
                Redirect::to("/settings/sessions?done=revoked").into_response()
            } else {
                Json(serde_json::json!({ "ok": true })).into_response()
            }
        }
        Err(metiva_db::DbError::NotFound) => {
            (StatusCode::NOT_FOUND, "no such session").into_response()
        }
        Err(metiva_db::DbError::AccessRevoked) => access_changed(),
        Err(e) => {
            tracing::error!(error = %e, "revoking sessions");
            (StatusCode::SERVICE_UNAVAILABLE, "Please try again.").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AUDIT_CSV_HEADER;
    use crate::http::csv_export::write_csv;

    /// One field as the export writes it (without the line end).
    fn csv_field(s: &str) -> String {
        let out = write_csv("", [[s]]).unwrap();
        String::from_utf8(out)
            .unwrap()
            .trim_end_matches("\r\n")
            .to_string()
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("plain"), "\"plain\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
        assert_eq!(csv_field("@cmd"), "\"'@cmd\"");
        assert_eq!(csv_field("-1"), "\"'-1\"");
        assert_eq!(csv_field("+31 20"), "\"'+31 20\"");
        assert_eq!(csv_field("\tx"), "\"'\tx\"");
        assert_eq!(csv_field("\rx"), "\"'\rx\"");
        assert_eq!(csv_field(""), "\"\"");
        // Only a leading sign is a formula.
        assert_eq!(csv_field("a=b"), "\"a=b\"");
    }

    /// The whole export: the unquoted header, then quoted CRLF records;
    /// a line break or comma inside a field stays inside its quotes.
    #[test]
    fn the_export_keeps_its_shape() {
        let rows = [
            [
                "1",
                "2026-01-01",
                "member.invited",
                "Ann",
                "u1",
                "=cmd|x",
                "r1",
            ],
            ["2", "t", "a,b", "say \"hi\"", "", "line\nbreak", "r2"],
        ];
        let out = String::from_utf8(write_csv(AUDIT_CSV_HEADER, rows).unwrap()).unwrap();
        assert_eq!(
            out,
            "id,at,action,actor,actor_id,target,request_id\r\n\
             \"1\",\"2026-01-01\",\"member.invited\",\"Ann\",\"u1\",\"'=cmd|x\",\"r1\"\r\n\
             \"2\",\"t\",\"a,b\",\"say \"\"hi\"\"\",\"\",\"line\nbreak\",\"r2\"\r\n"
        );
    }
}
