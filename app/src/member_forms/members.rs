//! A member's controls: change role, suspend or reactivate, sign out
//! everywhere, remove; one server function, [`manage_member`], behind them.

use crate::error::AppError;
use leptos::form::ActionForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{CONFIRM_BUTTON, DANGER_BUTTON, SMALL_BUTTON, form_error};
use crate::i18n::{Lang, tr};

/// Change a member's role, suspend, reactivate, remove, or sign them out
/// everywhere (`action`); `role` is used by `role` only.
#[server(endpoint = "manage_member")]
pub async fn manage_member(user: String, action: String, role: String) -> Result<(), AppError> {
    use super::MEMBERS_PATH;
    use super::ssr::refuse;
    use metiva_db::members::{MemberAction, MemberError};
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
