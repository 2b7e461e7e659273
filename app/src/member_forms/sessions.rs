//! Ending the caller's own sessions: [`revoke_session`] and its button.

use crate::error::AppError;
use leptos::form::ActionForm;
use leptos::prelude::*;

use super::{DANGER_BUTTON, SMALL_BUTTON, form_error};

/// Ends one of the caller's own sessions (`id`), or all of them (`all`).
/// Ending this browser's own session signs it out here too.
#[server(endpoint = "revoke_session")]
pub async fn revoke_session(id: String) -> Result<(), AppError> {
    use super::{SESSIONS_PATH, ssr};
    use http::StatusCode;
    let ctx = crate::api::ssr::tenant()?;
    let db = crate::api::ssr::database()?;
    let which = if id == "all" {
        None
    } else {
        match uuid::Uuid::parse_str(&id) {
            Ok(u) => Some(u),
            Err(_) => {
                return Err(ssr::refuse_code(
                    StatusCode::NOT_FOUND,
                    "no_session",
                    SESSIONS_PATH,
                ));
            }
        }
    };
    match db
        .revoke_own_sessions(&ctx, which, &crate::api::ssr::request_id())
        .await
    {
        Ok(_) => {}
        Err(metiva_db::DbError::NotFound) => {
            return Err(ssr::refuse_code(
                StatusCode::NOT_FOUND,
                "no_session",
                SESSIONS_PATH,
            ));
        }
        Err(e) => return Err(crate::api::ssr::db_failure(e)),
    }
    if which.is_none_or(|s| s == ctx.session_id()) {
        // This browser's session ended: drop its token and leave through
        // the login service.
        let sign_out = use_context::<crate::SignOut>()
            .ok_or_else(|| crate::error::AppError::internal_here(&"server misconfigured"))?;
        ssr::append_set_cookie(&sign_out.clear_cookie)?;
        leptos_axum::redirect(&sign_out.signed_out_url);
    } else {
        leptos_axum::redirect(&format!("{SESSIONS_PATH}?done=revoked"));
    }
    Ok(())
}

/// Ends one session (`id`) or all (`"all"`), behind the given button.
#[island]
pub fn RevokeButton(
    id: String,
    label: String,
    /// A confirmation line shown above the button (for "all").
    question: Option<String>,
) -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let pending = revoke.pending();
    let value = revoke.value();
    let all = question.is_some();
    view! {
        <ActionForm action=revoke attr:class=if all { "mt-2 rounded-md border border-red-200 bg-red-50 p-3" } else { "" }>
            <input type="hidden" name="id" value=id />
            {question.map(|q| view! { <p class="text-xs text-red-900">{q}</p> })}
            <button type="submit" disabled=move || pending.get() class=if all { DANGER_BUTTON } else { SMALL_BUTTON }>{label}</button>
            {move || value.get().and_then(|r| r.err()).map(|e| form_error(&e))}
        </ActionForm>
    }
}
