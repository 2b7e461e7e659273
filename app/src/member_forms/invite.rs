//! Inviting a member: [`invite_member`] and its form. The one-time link is
//! shown once: under the form with JavaScript, on the page after a plain
//! post (through the flash cookie).

use crate::error::AppError;
use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::form_error;
use crate::i18n::{Lang, tr};

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
) -> Result<InviteDto, AppError> {
    use super::MEMBERS_PATH;
    use super::ssr::{self, refuse};
    use metiva_db::members::MemberError;
    let ctx = crate::api::ssr::tenant()?;
    let db = crate::api::ssr::database()?;
    let Ok(role) = metiva_roles::Role::parse(&role) else {
        return Err(refuse(
            MemberError::Invalid("Choose a role.".into()),
            MEMBERS_PATH,
        ));
    };
    let keys = use_context::<crate::FieldKeys>()
        .ok_or_else(|| crate::error::AppError::internal_here(&"server misconfigured"))?;
    let login = use_context::<crate::LoginOrigin>()
        .ok_or_else(|| crate::error::AppError::internal_here(&"server misconfigured"))?;
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
