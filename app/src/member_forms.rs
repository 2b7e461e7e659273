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
//! # Security
//! Every server function takes its workspace from the request's
//! `TenantCtx` (the signed token) only, and the domain functions in
//! `metiva_db::members` check `members.manage` and the guard rails again,
//! whatever the page showed.

use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::{Lang, tr};

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
fn message(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::time::Duration;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use http::StatusCode;
    use leptos::prelude::*;
    use metiva_db::DbError;
    use metiva_db::members::MemberError;
    use metiva_security::cipher::{FieldContext, KeyRing, Sealed};

    use super::error_text;
    use crate::cookies::{self, Cookie, SameSite};
    use crate::i18n::tr;

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

    /// A flash lives at most this long (seconds): long enough for one
    /// redirect, short enough that a forgotten one is gone.
    const FLASH_MAX_AGE: i64 = 300;

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
    pub fn refuse(e: MemberError, back: &str) -> ServerFnError {
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
    pub fn refuse_code(status: StatusCode, code: &'static str, back: &str) -> ServerFnError {
        if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
            opts.set_status(status);
        }
        if plain_form() {
            // After the status: `redirect` makes a plain form post a 302.
            leptos_axum::redirect(&format!("{back}?error={code}"));
        }
        ServerFnError::new(tr(crate::i18n::current(), error_text(code)))
    }

    /// Where the cookie's value came from and whom it is for: the
    /// workspace, and the session that created the invitation.
    fn flash_context<'a>(company: &'a str, session: &'a str) -> FieldContext<'a> {
        FieldContext {
            company_id: company,
            table: "flash",
            column: "invite_link",
            row_id: session,
        }
    }

    /// The flash cookie's name: `__Host-` over https, like the token
    /// cookie (the documented development exception drops it on http).
    fn flash_cookie(secure: bool) -> &'static str {
        if secure {
            "__Host-metiva_flash"
        } else {
            "metiva_flash"
        }
    }

    fn secure() -> bool {
        use_context::<crate::SnippetBase>().is_some_and(|b| b.0.starts_with("https://"))
    }

    /// Sets the flash cookie (an empty value and `max_age` 0 remove it).
    fn set_flash_cookie(value: String, max_age: i64) -> Result<(), ServerFnError> {
        let secure = secure();
        let flash = cookies::server_only(
            flash_cookie(secure),
            value,
            SameSite::Strict,
            max_age,
            secure,
        );
        append_set_cookie(&flash)
    }

    /// Adds `Set-Cookie` to the server function's answer. A cookie that
    /// cannot be sent is an error (logged with its name), never a header
    /// silently left out.
    pub fn append_set_cookie(cookie: &Cookie<'_>) -> Result<(), ServerFnError> {
        let value = cookies::set_cookie_header(cookie).map_err(|e| {
            tracing::error!(error = %e, "setting a cookie");
            ServerFnError::new("server misconfigured")
        })?;
        if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
            opts.append_header(http::header::SET_COOKIE, value);
        }
        Ok(())
    }

    /// Puts a one-time invitation link in a flash cookie for the page the
    /// plain form returns to.
    ///
    /// # Security
    /// The link is a secret, so it never goes into a URL (history, logs,
    /// Referer). The cookie is AES-256-GCM sealed with the field keys and
    /// bound to this workspace and session (associated data), HttpOnly,
    /// SameSite=Strict, and lives five minutes; the page clears it when it
    /// shows the link.
    pub fn seal_invite_flash(
        keys: &KeyRing,
        ctx: &metiva_db::TenantCtx,
        link: &str,
    ) -> Result<(), ServerFnError> {
        let session = ctx.session_id().to_string();
        let sealed = keys
            .seal(
                link.as_bytes(),
                &flash_context(ctx.company().as_str(), &session),
            )
            .map_err(|_| ServerFnError::new("server misconfigured"))?;
        let value = format!(
            "{}.{}.{}",
            B64.encode(sealed.key_id.as_bytes()),
            B64.encode(sealed.nonce),
            B64.encode(&sealed.ciphertext)
        );
        set_flash_cookie(value, FLASH_MAX_AGE)
    }

    /// Takes the invitation link out of the request's flash cookie, if it
    /// opens for this workspace and session, and clears the cookie.
    pub fn take_invite_flash(keys: &KeyRing, ctx: &metiva_db::TenantCtx) -> Option<String> {
        let parts = use_context::<http::request::Parts>()?;
        let raw = cookies::read(&parts.headers, flash_cookie(secure()))?;
        // Whatever it held, it is used up; a link that cannot be cleared
        // is not shown.
        set_flash_cookie(String::new(), 0).ok()?;
        let mut it = raw.split('.');
        let (Some(kid), Some(nonce), Some(ct), None) = (it.next(), it.next(), it.next(), it.next())
        else {
            return None;
        };
        let sealed = Sealed {
            key_id: String::from_utf8(B64.decode(kid).ok()?).ok()?,
            nonce: B64.decode(nonce).ok()?.try_into().ok()?,
            ciphertext: B64.decode(ct).ok()?,
        };
        let session = ctx.session_id().to_string();
        let plain = keys
            .open(&sealed, &flash_context(ctx.company().as_str(), &session))
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

/// Change a member's role, suspend, reactivate, remove, or sign them out
/// everywhere (`action`); `role` is used by `role` only.
#[server(endpoint = "manage_member")]
pub async fn manage_member(
    user: String,
    action: String,
    role: String,
) -> Result<(), ServerFnError> {
    use metiva_db::members::{MemberAction, MemberError};
    use ssr::refuse;
    let ctx = crate::api::ssr::tenant()?;
    let db = crate::api::ssr::database()?;
    let Ok(target) = uuid::Uuid::parse_str(&user) else {
        return Err(refuse(MemberError::NotFound, MEMBERS_PATH));
    };
    let (act, done) = match action.as_str() {
        "role" => match metiva_roles::Role::parse(&role) {
            Ok(r) => (MemberAction::ChangeRole(r), "role_changed"),
            Err(_) => {
                return Err(refuse(
                    MemberError::Invalid("Choose a role.".into()),
                    MEMBERS_PATH,
                ));
            }
        },
        "suspend" => (MemberAction::Suspend, "suspended"),
        "reactivate" => (MemberAction::Reactivate, "reactivated"),
        "remove" => (MemberAction::Remove, "removed"),
        "sign_out_everywhere" => (MemberAction::SignOutEverywhere, "signed_out"),
        _ => {
            return Err(refuse(
                MemberError::Invalid(format!("unknown action {action:?}")),
                MEMBERS_PATH,
            ));
        }
    };
    db.member_action(&ctx, target, act, &crate::api::ssr::request_id())
        .await
        .map_err(|e| refuse(e, MEMBERS_PATH))?;
    // With or without JavaScript: back to the page, fresh, with the message.
    leptos_axum::redirect(&format!("{MEMBERS_PATH}?done={done}"));
    Ok(())
}

/// What an invitation answers a script: the one-time link. A plain form
/// post gets `None` and finds the link on the page (flash cookie).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteDto {
    pub link: Option<String>,
}

/// Invites a member: a pending membership and a one-time link to set a
/// password on the login service, shown once.
#[server(endpoint = "invite_member")]
pub async fn invite_member(
    name: String,
    email: String,
    role: String,
) -> Result<InviteDto, ServerFnError> {
    use metiva_db::members::MemberError;
    use ssr::refuse;
    let ctx = crate::api::ssr::tenant()?;
    let db = crate::api::ssr::database()?;
    let Ok(role) = metiva_roles::Role::parse(&role) else {
        return Err(refuse(
            MemberError::Invalid("Choose a role.".into()),
            MEMBERS_PATH,
        ));
    };
    let keys = use_context::<crate::FieldKeys>()
        .ok_or_else(|| ServerFnError::new("server misconfigured"))?;
    let login = use_context::<crate::LoginOrigin>()
        .ok_or_else(|| ServerFnError::new("server misconfigured"))?;
    let (_, link) = ssr::create_invitation(
        &db,
        &ctx,
        (&name, &email, role),
        &login.0,
        &crate::api::ssr::request_id(),
    )
    .await
    .map_err(|e| refuse(e, MEMBERS_PATH))?;
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
        opts.insert_header(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
    }
    if ssr::plain_form() {
        ssr::seal_invite_flash(&keys.0, &ctx, &link)?;
        leptos_axum::redirect(&format!("{MEMBERS_PATH}?done=invited"));
        return Ok(InviteDto { link: None });
    }
    Ok(InviteDto { link: Some(link) })
}

/// Ends one of the caller's own sessions (`id`), or all of them (`all`).
/// Ending this browser's own session signs it out here too.
#[server(endpoint = "revoke_session")]
pub async fn revoke_session(id: String) -> Result<(), ServerFnError> {
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
            .ok_or_else(|| ServerFnError::new("server misconfigured"))?;
        ssr::append_set_cookie(&sign_out.clear_cookie)?;
        leptos_axum::redirect(&sign_out.signed_out_url);
    } else {
        leptos_axum::redirect(&format!("{SESSIONS_PATH}?done=revoked"));
    }
    Ok(())
}

const SMALL_BUTTON: &str = "rounded-md border border-slate-300 px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-60";
const CONFIRM_BUTTON: &str = "mt-2 rounded-md bg-slate-800 px-2 py-1 text-xs font-medium text-white hover:bg-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-60";
const DANGER_BUTTON: &str = "mt-2 rounded-md bg-red-700 px-2 py-1 text-xs font-medium text-white hover:bg-red-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-red-500 focus-visible:ring-offset-2 disabled:opacity-60";

/// An error beside a form, announced to screen readers.
fn form_error(e: &ServerFnError) -> impl IntoView + use<> {
    view! {
        <p role="alert" class="mt-2 w-full rounded-md border border-red-200 bg-red-50 px-2 py-1 text-xs text-red-800" data-testid="form-error">
            {message(e)}
        </p>
    }
}

/// The fields that say which member and which action (`role` is unused
/// by these actions, but every form sends the same three fields).
#[component]
fn HiddenFields(user: String, action: &'static str) -> impl IntoView {
    view! {
        <input type="hidden" name="user" value=user />
        <input type="hidden" name="action" value=action />
        <input type="hidden" name="role" value="" />
    }
}

/// A consequential member action behind a second, explicit step.
#[component]
fn Confirm(
    act: ServerAction<ManageMember>,
    user: String,
    action: &'static str,
    label: String,
    question: String,
    yes: String,
    danger: bool,
) -> impl IntoView {
    let pending = act.pending();
    let (summary, panel, button) = if danger {
        (
            "cursor-pointer list-none rounded-md border border-red-300 px-2 py-1 text-xs font-medium text-red-700 hover:bg-red-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-red-500",
            "mt-2 rounded-md border border-red-200 bg-red-50 p-2",
            DANGER_BUTTON,
        )
    } else {
        (
            "cursor-pointer list-none rounded-md border border-slate-300 px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500",
            "mt-2 rounded-md border border-amber-200 bg-amber-50 p-2",
            CONFIRM_BUTTON,
        )
    };
    view! {
        <details class="relative">
            <summary class=summary>{label}</summary>
            <ActionForm action=act attr:class=panel>
                <HiddenFields user action />
                <p class="text-xs text-slate-900">{question}</p>
                <button type="submit" class=button disabled=move || pending.get()>{yes}</button>
            </ActionForm>
        </details>
    }
}

/// The words of one member row's controls, translated on the server
/// (islands carry their text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRowText {
    pub role: String,
    pub change_role: String,
    pub reactivate: String,
    pub suspend: String,
    pub suspend_question: String,
    pub suspend_yes: String,
    pub sign_out: String,
    pub sign_out_question: String,
    pub sign_out_yes: String,
    pub remove: String,
    pub remove_question: String,
    pub remove_yes: String,
}

impl MemberRowText {
    pub fn new(l: Lang, name: &str) -> Self {
        Self {
            role: tr(l, "Role").into(),
            change_role: tr(l, "Change role").into(),
            reactivate: tr(l, "Reactivate").into(),
            suspend: format!("{}…", tr(l, "Suspend")),
            suspend_question: format!("{} {name}?", tr(l, "Suspend")),
            suspend_yes: tr(l, "Yes, suspend").into(),
            sign_out: format!("{}…", tr(l, "Sign out everywhere")),
            sign_out_question: format!("{}: {name}?", tr(l, "Sign out everywhere")),
            sign_out_yes: tr(l, "Yes, sign out everywhere").into(),
            remove: tr(l, "Remove…").into(),
            remove_question: format!(
                "{} {name} {}",
                tr(l, "Remove"),
                tr(l, "from this workspace? Their access ends at once.")
            ),
            remove_yes: tr(l, "Yes, remove").into(),
        }
    }
}

/// One member's controls: change role, suspend or reactivate, sign out
/// everywhere, remove. Consequential actions sit behind a second,
/// explicit step (a disclosure, which works without JavaScript).
#[island]
pub fn MemberControls(
    user_id: String,
    role: String,
    suspended: bool,
    /// (role key, label) the viewer may grant.
    roles: Vec<(String, String)>,
    text: MemberRowText,
) -> impl IntoView {
    let act = ServerAction::<ManageMember>::new();
    let pending = act.pending();
    let value = act.value();
    let select_id = format!("role-{user_id}");
    let options = roles
        .into_iter()
        .map(|(key, label)| {
            let selected = key == role;
            view! { <option value=key selected=selected>{label}</option> }
        })
        .collect_view();
    let MemberRowText {
        role: role_label,
        change_role,
        reactivate,
        suspend,
        suspend_question,
        suspend_yes,
        sign_out,
        sign_out_question,
        sign_out_yes,
        remove,
        remove_question,
        remove_yes,
    } = text;
    let (u_role, u_state, u_out) = (user_id.clone(), user_id.clone(), user_id.clone());
    view! {
        <div class="flex flex-wrap items-center gap-2">
            <ActionForm action=act attr:class="flex items-center gap-1">
                <input type="hidden" name="user" value=u_role />
                <input type="hidden" name="action" value="role" />
                <label class="sr-only" for=select_id.clone()>{role_label}</label>
                <select id=select_id name="role" class="rounded-md border border-slate-300 px-2 py-1 text-xs">{options}</select>
                <button type="submit" class=SMALL_BUTTON disabled=move || pending.get()>{change_role}</button>
            </ActionForm>
            {if suspended {
                view! {
                    <ActionForm action=act>
                        <HiddenFields user=u_state.clone() action="reactivate" />
                        <button type="submit" class=SMALL_BUTTON disabled=move || pending.get()>{reactivate}</button>
                    </ActionForm>
                }.into_any()
            } else {
                view! { <Confirm act user=u_state.clone() action="suspend" label=suspend question=suspend_question yes=suspend_yes danger=false /> }.into_any()
            }}
            <Confirm act user=u_out action="sign_out_everywhere" label=sign_out question=sign_out_question yes=sign_out_yes danger=false />
            <Confirm act user=user_id action="remove" label=remove question=remove_question yes=remove_yes danger=true />
            {move || value.get().and_then(|r| r.err()).map(|e| form_error(&e))}
        </div>
    }
}

/// The invitation form's words, translated on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteText {
    pub title: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub create: String,
    pub creating: String,
    pub created: String,
    pub send_once: String,
}

impl InviteText {
    pub fn new(l: Lang) -> Self {
        Self {
            title: tr(l, "Invite a member").into(),
            name: tr(l, "Name").into(),
            email: tr(l, "Email").into(),
            role: tr(l, "Role").into(),
            create: tr(l, "Create invitation").into(),
            creating: tr(l, "Creating…").into(),
            created: tr(l, "The invitation was created.").into(),
            send_once: tr(
                l,
                "Send this one-time link to the new member. It is shown only now and works for 7 days.",
            )
            .into(),
        }
    }
}

/// The one-time link, shown once. `created` is left out where the page's
/// own message already says so (after a plain form post).
#[component]
pub fn InviteLink(link: String, created: Option<String>, send_once: String) -> impl IntoView {
    view! {
        <div role="status" class="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900 sm:col-span-4">
            {created.map(|c| view! { <p class="font-medium">{c}</p> })}
            <p class="mt-1">{send_once}</p>
            <p class="mt-2 break-all rounded-md border border-slate-200 bg-white p-2 font-mono text-xs text-slate-900" data-testid="invite-link">{link}</p>
        </div>
    }
}

/// Invite a member. With JavaScript the link appears under the form;
/// without, the page shows it after the post (flash cookie).
#[island]
pub fn InviteForm(
    /// (role key, label, selected) the viewer may grant.
    roles: Vec<(String, String, bool)>,
    text: InviteText,
) -> impl IntoView {
    let invite = ServerAction::<InviteMember>::new();
    let pending = invite.pending();
    let value = invite.value();
    let options = roles
        .into_iter()
        .map(
            |(key, label, selected)| view! { <option value=key selected=selected>{label}</option> },
        )
        .collect_view();
    let InviteText {
        title,
        name,
        email,
        role,
        create,
        creating,
        created,
        send_once,
    } = text;
    view! {
        <ActionForm action=invite attr:class="grid gap-3 rounded-lg border border-slate-200 bg-white p-6 shadow-sm sm:grid-cols-4" attr:data-testid="invite-form">
            <h2 class="font-medium sm:col-span-4">{title}</h2>
            <div>
                <label for="invite-name" class="block text-sm text-slate-700">{name}</label>
                <input id="invite-name" name="name" required maxlength="200" class="mt-1 w-full rounded-md border border-slate-300 px-2 py-1 text-sm" />
            </div>
            <div>
                <label for="invite-email" class="block text-sm text-slate-700">{email}</label>
                <input id="invite-email" name="email" type="email" required maxlength="254" class="mt-1 w-full rounded-md border border-slate-300 px-2 py-1 text-sm" />
            </div>
            <div>
                <label for="invite-role" class="block text-sm text-slate-700">{role}</label>
                <select id="invite-role" name="role" class="mt-1 w-full rounded-md border border-slate-300 px-2 py-1 text-sm">{options}</select>
            </div>
            <div class="flex items-end">
                <button type="submit" disabled=move || pending.get() class="w-full rounded-md bg-indigo-600 px-3 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-60">
                    {move || if pending.get() { creating.clone() } else { create.clone() }}
                </button>
            </div>
            {move || value.get().map(|r| match r {
                Ok(InviteDto { link: Some(link) }) => view! {
                    <InviteLink link created=Some(created.clone()) send_once=send_once.clone() />
                }.into_any(),
                Ok(InviteDto { link: None }) => ().into_any(),
                Err(e) => view! { <div class="sm:col-span-4">{form_error(&e)}</div> }.into_any(),
            })}
        </ActionForm>
    }
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
