//! The member and session forms: `ActionForm`s over server functions.
//!
//! With JavaScript each form submits in place: an error is shown beside
//! the form, and a success reloads the page (through the server function's
//! redirect) with its message, so the list is always the server's. Without
//! JavaScript the same form posts as a plain HTML form; the server function
//! answers with a 302 back to the page, carrying a message code (never
//! data) in the query. The one exception is the invitation link, a secret:
//! without JavaScript it travels in a sealed, session-bound flash cookie
//! (see [`ssr::seal_invite_flash`]), never in a URL.
//!
//! One file per form family: `members` (role, suspend, reactivate,
//! remove, sign out everywhere), `invite`, `sessions`; what only the
//! server runs is in [`ssr`].
//!
//! # Security
//! Every server function takes its workspace from the request's
//! `TenantCtx` (the signed token) only, and the domain functions in
//! `metiva_db::members` check `members.manage` and the guard rails again,
//! whatever the page showed.

use crate::error::AppError;
use leptos::prelude::*;

mod invite;
mod members;
mod sessions;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use invite::{InviteDto, InviteForm, InviteLink, InviteMember, InviteText, invite_member};
pub use members::{ManageMember, MemberControls, MemberRowText, manage_member};
pub use sessions::{RevokeButton, RevokeSession, revoke_session};

/// The members page the forms return to.
pub const MEMBERS_PATH: &str = "/settings/members";
/// The sessions page the forms return to.
pub const SESSIONS_PATH: &str = "/settings/sessions";

/// The success message for a `?done=` code.
pub fn done_text(code: &str) -> &'static str {
    match code {
        "role_changed" => "The role was changed.",
        "suspended" => "The member was suspended and signed out of this workspace.",
        "reactivated" => "The member was reactivated.",
        "removed" => "The member was removed from this workspace.",
        "signed_out" => "The member was signed out everywhere.",
        "invited" => "The invitation was created.",
        "revoked" => "The session was signed out.",
        _ => "Done.",
    }
}

/// The error message for an `?error=` code.
pub fn error_text(code: &str) -> &'static str {
    match code {
        "forbidden" => "Your role does not allow managing members.",
        "above_own_role" => {
            "Nobody can grant a role above their own, or change a member who ranks above them."
        }
        "last_owner" => "The last owner cannot be removed, suspended or demoted.",
        "not_found" => "That member is not in this workspace.",
        "no_session" => "That session is not yours, or it has already ended.",
        "invalid" => "That change is not valid.",
        "invalid_email" => "Enter a valid email address.",
        "invalid_name" => "Enter a name (at most 200 characters).",
        "already_member" => "That person is already a member of this workspace.",
        "not_suspended" => "Only a suspended member can be reactivated.",
        "choose_role" => "Choose a role.",
        _ => "The change could not be saved. Please try again.",
    }
}

/// The text of a server-function error, without the framework's prefix.
fn message(e: &AppError) -> String {
    e.message().to_string()
}

const SMALL_BUTTON: &str = "rounded-md border border-slate-300 px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-60";
const CONFIRM_BUTTON: &str = "mt-2 rounded-md bg-slate-800 px-2 py-1 text-xs font-medium text-white hover:bg-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-60";
const DANGER_BUTTON: &str = "mt-2 rounded-md bg-red-700 px-2 py-1 text-xs font-medium text-white hover:bg-red-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-red-500 focus-visible:ring-offset-2 disabled:opacity-60";

/// An error beside a form, announced to screen readers.
fn form_error(e: &AppError) -> impl IntoView + use<> {
    view! {
        <p role="alert" class="mt-2 w-full rounded-md border border-red-200 bg-red-50 px-2 py-1 text-xs text-red-800" data-testid="form-error">
            {message(e)}
        </p>
    }
}
