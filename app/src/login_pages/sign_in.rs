//! Signing in: the form, choosing a workspace, and the pages a flow can
//! end on (refused, throttled, no workspace, signed out).

use leptos::prelude::*;
use metiva_db::login::Workspace;

use super::{BUTTON, Field, Frame, INTRO, MessagePage, Notice, Tone};
use crate::i18n::{Lang, role, tr};

/// The flow a form carries on, as the browser sent it: where the sign-in
/// returns to and its `state`.
///
/// # Security
/// These are echoed as typed; every post checks them again (a
/// `return_to` on the dashboard's origin, a `state` of the shape the
/// dashboard mints), so a tampered field only restarts the flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowFields {
    pub return_to: String,
    pub state: String,
    /// A workspace hint (switching, renewal).
    pub company: Option<String>,
    /// `sign_in`, `switch` or `renew`.
    pub purpose: Option<String>,
}

/// The flow and the page's language as hidden fields.
#[component]
fn HiddenFlow(flow: FlowFields, lang: Lang) -> impl IntoView {
    let FlowFields {
        return_to,
        state,
        company,
        purpose,
    } = flow;
    view! {
        <input type="hidden" name="return_to" value=return_to />
        <input type="hidden" name="state" value=state />
        {company.map(|c| view! { <input type="hidden" name="company" value=c /> })}
        {purpose.map(|p| view! { <input type="hidden" name="purpose" value=p /> })}
        <input type="hidden" name="lang" value=lang.code() />
    }
}

/// The sign-in form. `email` is what was typed (kept after a refusal,
/// never the password).
#[component]
pub fn SignInPage(
    lang: Lang,
    flow: FlowFields,
    /// This page with the flow, for the language links.
    self_url: String,
    email: String,
    /// Why the last post was refused.
    error: Option<&'static str>,
) -> impl IntoView {
    view! {
        <Frame lang title=tr(lang, "Sign in to Metiva") switch_base=self_url>
            <p class=INTRO>{tr(lang, "One front door for every workspace you work in.")}</p>
            {error.map(|text| view! { <Notice tone=Tone::Refusal text /> })}
            <form method="post" action="/login" class="mt-6 space-y-4" data-testid="login-form">
                <HiddenFlow flow lang />
                <Field name="email" label=tr(lang, "Email") kind="email" autocomplete="username"
                    maxlength="254" value=email />
                <Field name="password" label=tr(lang, "Password") kind="password"
                    autocomplete="current-password" />
                <button type="submit" class=BUTTON>{tr(lang, "Sign in")}</button>
            </form>
        </Frame>
    }
}

/// One button per workspace the user is an active member of.
#[component]
pub fn ChooseWorkspacePage(
    lang: Lang,
    flow: FlowFields,
    self_url: String,
    workspaces: Vec<Workspace>,
) -> impl IntoView {
    let items = workspaces
        .into_iter()
        .map(|w| {
            let flow = flow.clone();
            let company = w.company.to_string();
            view! {
                <li>
                    <form method="post" action="/choose">
                        <HiddenFlow flow lang />
                        <input type="hidden" name="choice" value=company.clone() />
                        <button type="submit" data-company=company class="flex w-full items-center justify-between rounded-md border border-slate-200 px-4 py-3 text-left hover:border-indigo-300 hover:bg-indigo-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                            <span class="font-medium">{w.name}</span>
                            <span class="text-xs text-slate-500">{role(lang, &w.role)}</span>
                        </button>
                    </form>
                </li>
            }
        })
        .collect_view();
    view! {
        <Frame lang title=tr(lang, "Choose a workspace") switch_base=self_url>
            <p class=INTRO>
                {tr(lang, "You belong to more than one client workspace. Each is isolated from the others.")}
            </p>
            <ul class="mt-6 space-y-3" data-testid="workspaces">{items}</ul>
        </Frame>
    }
}

/// Signed in, but no active membership anywhere: only signing out.
#[component]
pub fn NoWorkspacePage(lang: Lang) -> impl IntoView {
    view! {
        <Frame lang title=tr(lang, "No workspace")>
            <Notice tone=Tone::Info text=tr(lang, "Your account has no active workspace. Ask an owner of your agency's workspace to invite you.") />
            <form method="post" action="/logout" class="mt-6">
                <button type="submit" class=BUTTON>{tr(lang, "Sign out")}</button>
            </form>
        </Frame>
    }
}

/// A workspace was chosen that the user is not an active member of.
#[component]
pub fn NotMemberPage(lang: Lang) -> impl IntoView {
    view! {
        <MessagePage lang title=tr(lang, "Choose a workspace") tone=Tone::Refusal
            text=tr(lang, "You are not an active member of that workspace.") />
    }
}

/// A flow that did not come from the dashboard: start again there. Says
/// nothing about what was wrong with it, and echoes none of it.
#[component]
pub fn RestartPage(lang: Lang, app_url: String) -> impl IntoView {
    view! {
        <MessagePage lang title=tr(lang, "Sign in") tone=Tone::Refusal
            text=tr(lang, "This sign-in link is not valid or has expired.")
            onward=(format!("{app_url}/"), tr(lang, "Open the dashboard to sign in")) />
    }
}

/// Throttled: `message` says how long to wait; the link goes back to the
/// form with the same flow.
#[component]
pub fn TooManyPage(lang: Lang, message: String, back_url: String) -> impl IntoView {
    view! {
        <MessagePage lang title=tr(lang, "Sign in to Metiva") tone=Tone::Refusal text=message
            onward=(back_url, tr(lang, "Back to sign-in")) />
    }
}

/// Where a signed-out browser lands.
#[component]
pub fn SignedOutPage(lang: Lang, app_url: String) -> impl IntoView {
    view! {
        <MessagePage lang title=tr(lang, "Signed out") tone=Tone::Info
            text=tr(lang, "You are signed out of Metiva on this device.")
            onward=(format!("{app_url}/"), tr(lang, "Sign in again")) />
    }
}
