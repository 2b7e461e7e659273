//! What only the server runs for the member forms: creating an
//! invitation, turning a refusal into a status and a message code (a 302
//! for a plain form post), and adding `Set-Cookie` to an answer. The
//! invitation flash cookie is in `flash`.

use std::time::Duration;

use crate::error::AppError;
use http::StatusCode;
use leptos::prelude::*;
use metiva_db::DbError;
use metiva_db::members::MemberError;

use super::error_text;
use crate::cookies::{self, Cookie};
use crate::i18n::tr;

mod flash;

pub use flash::{seal_invite_flash, take_invite_flash};

/// Invitation links stay valid this long.
const INVITE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Creates an invitation (pending membership, audited) and returns the
/// invitee's user id and the one-time link on the login service
/// (`login_url`).
///
/// # Security
/// Only the token's SHA-256 is stored; the link exists in this answer
/// alone, to be shown once.
pub async fn create_invitation(
    db: &metiva_db::Database,
    ctx: &metiva_db::TenantCtx,
    invitee: (&str, &str, metiva_roles::Role),
    login_url: &str,
    request_id: &str,
) -> Result<(uuid::Uuid, String), MemberError> {
    use metiva_security::secret;
    let (name, email, role) = invitee;
    let token = secret::random_secret();
    let user = db
        .invite_member(
            ctx,
            &metiva_db::members::Invite {
                email,
                name,
                role,
                token_hash: &secret::sha256(token.as_bytes()),
                ttl: INVITE_TTL,
            },
            request_id,
        )
        .await?;
    Ok((
        user,
        format!("{login_url}/invite/{}/{token}", ctx.company()),
    ))
}

/// The status and message code of a member-management refusal.
pub fn member_error_status(e: &MemberError) -> (StatusCode, &'static str) {
    match e {
        MemberError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
        MemberError::AboveOwnRole => (StatusCode::FORBIDDEN, "above_own_role"),
        MemberError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        MemberError::LastOwner => (StatusCode::CONFLICT, "last_owner"),
        MemberError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, invalid_code(m)),
        MemberError::Db(DbError::AccessRevoked) => (StatusCode::FORBIDDEN, "forbidden"),
        MemberError::Db(DbError::Unavailable(_)) => {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
        MemberError::Db(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

/// The code of a validation message from `metiva_db::members`, so it
/// can be shown translated; anything unforeseen is "invalid".
fn invalid_code(m: &str) -> &'static str {
    match m {
        "Enter a valid email address." => "invalid_email",
        "Enter a name (at most 200 characters)." => "invalid_name",
        "That person is already a member of this workspace." => "already_member",
        "Only a suspended member can be reactivated." => "not_suspended",
        "Choose a role." => "choose_role",
        _ => "invalid",
    }
}

/// Whether this server-function call is a plain HTML form post (no
/// JavaScript): the browser asked for a page, not for data.
pub fn plain_form() -> bool {
    use_context::<http::request::Parts>().is_some_and(|p| {
        p.headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
    })
}

/// A refused form: the status and a translated message; a plain form
/// post is sent back to `back` with the message code.
pub fn refuse(e: MemberError, back: &str) -> AppError {
    if let MemberError::Db(db) = e {
        if matches!(db, DbError::AccessRevoked) || !plain_form() {
            // The shared policy: opaque message, logged detail, and the
            // guard's re-resolve-and-retry on a changed access.
            return crate::api::ssr::db_failure(db);
        }
        tracing::error!(error = %db, "member form");
        return refuse_code(StatusCode::SERVICE_UNAVAILABLE, "internal", back);
    }
    let (status, code) = member_error_status(&e);
    refuse_code(status, code, back)
}

/// As [`refuse`], for a code.
pub fn refuse_code(status: StatusCode, code: &'static str, back: &str) -> AppError {
    // Constructing the error sets the status.
    let e = AppError::refusal(
        status.as_u16(),
        tr(crate::i18n::current(), error_text(code)),
    )
    .with_code(code);
    if plain_form() {
        // After the status: `redirect` makes a plain form post a 302.
        leptos_axum::redirect(&format!("{back}?error={code}"));
    }
    e
}

/// Adds `Set-Cookie` to the server function's answer. A cookie that
/// cannot be sent is an error (logged with its name), never a header
/// silently left out.
pub fn append_set_cookie(cookie: &Cookie<'_>) -> Result<(), AppError> {
    let value = cookies::set_cookie_header(cookie).map_err(|e| {
        tracing::error!(error = %e, "setting a cookie");
        crate::error::AppError::internal_here(&"server misconfigured")
    })?;
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
        opts.append_header(http::header::SET_COOKIE, value);
    }
    Ok(())
}
