//! `POST /settings/offboarding/confirm`: an owner offboards the workspace,
//! confirming with its name typed out (the page is `/settings/offboarding`,
//! which first offers the full workspace export).
//!
//! Answers: a browser form gets a redirect (back to the page with
//! `?invalid=name` / `?invalid=owner`, or, once requested, to the login
//! service's signed-out page with the workspace's token cookie cleared);
//! other clients get 204, or the JSON error envelope (403 for a member who
//! is not an owner, 422 naming the name field).
//!
//! # Security
//! The owner check and the name comparison run in the domain and again in
//! the database (`Database::request_offboarding`). The token cookie is
//! cleared on success: the workspace is no longer active, so the token
//! would be refused anyway, and the browser should not keep it.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use metiva_db::TenantCtx;
use metiva_db::offboarding_request::OffboardRequestError;
use serde::Deserialize;

use super::cookies::with_cookies;
use super::error::AppError;
use super::guard::DashboardAuth;
use super::ui::wants_html;

/// The page that posts here.
pub const PAGE: &str = "/settings/offboarding";

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    name: String,
}

pub async fn post_confirm(
    State(auth): State<Arc<DashboardAuth>>,
    Extension(ctx): Extension<TenantCtx>,
    Extension(rid): Extension<app::RequestId>,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let html = wants_html(&headers);
    let refused = |field: &str, e: AppError| {
        if html {
            Redirect::to(&format!("{PAGE}?invalid={field}")).into_response()
        } else {
            e.into_response()
        }
    };
    match auth.db.request_offboarding(&ctx, &form.name).await {
        Ok(()) => {
            tracing::info!(company = ctx.company().as_str(), user = %ctx.user_id(), "offboarding requested by an owner");
            let resp = if html {
                Redirect::to(&format!("{}/signed-out", auth.login_url)).into_response()
            } else {
                StatusCode::NO_CONTENT.into_response()
            };
            with_cookies(resp, &[auth.clear_token_cookie()])
        }
        Err(OffboardRequestError::Forbidden) => refused(
            "owner",
            AppError::forbidden("Only an owner can offboard this workspace."),
        ),
        Err(OffboardRequestError::NameMissing) => refused(
            "name",
            AppError::validation("Type the workspace's name to confirm.")
                .with_code("name_required"),
        ),
        Err(OffboardRequestError::NameMismatch) => refused(
            "name",
            AppError::validation(
                "The name you typed is not this workspace's name. Nothing was changed.",
            )
            .with_code("name_mismatch"),
        ),
        Err(OffboardRequestError::Db(metiva_db::DbError::AccessRevoked)) => refused(
            "owner",
            AppError::forbidden("Your access to this workspace changed. Reload the page."),
        ),
        Err(OffboardRequestError::Db(e)) => AppError::internal(&rid.0, &e).into_response(),
    }
}
