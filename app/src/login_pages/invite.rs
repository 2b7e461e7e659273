//! Accepting an invitation: the link a member follows once to set a
//! password (or, with an account already, to prove it with their own).

use leptos::prelude::*;

use super::{BUTTON, Field, Frame, INTRO, MessagePage, Notice, Tone};
use crate::i18n::{Lang, tr};

/// The invitation form. An existing account gives its current password;
/// a new one chooses a password, twice.
#[component]
pub fn InvitePage(
    lang: Lang,
    email: String,
    has_password: bool,
    /// Why the last post was refused.
    error: Option<&'static str>,
) -> impl IntoView {
    let fields = if has_password {
        view! {
            <Field name="password" label=tr(lang, "Your current password") kind="password"
                autocomplete="current-password" />
        }
        .into_any()
    } else {
        view! {
            <Field name="password" label=tr(lang, "Choose a password (12 to 72 characters)")
                kind="password" autocomplete="new-password" minlength="12" maxlength="72" />
            <Field name="confirm" label=tr(lang, "Repeat the password") kind="password"
                autocomplete="new-password" />
        }
        .into_any()
    };
    view! {
        <Frame lang title=tr(lang, "Join a workspace")>
            <p class=INTRO>{tr(lang, "Invitation for")} " " <strong>{email}</strong></p>
            {error.map(|text| view! { <Notice tone=Tone::Refusal text /> })}
            <form method="post" class="mt-6 space-y-4">
                {fields}
                <input type="hidden" name="lang" value=lang.code() />
                <button type="submit" class=BUTTON>{tr(lang, "Accept the invitation")}</button>
            </form>
        </Frame>
    }
}

/// An invitation link that is unknown, used or expired (the same page for
/// each: it says nothing about which).
#[component]
pub fn InviteGonePage(lang: Lang) -> impl IntoView {
    view! {
        <MessagePage lang title=tr(lang, "Join a workspace") tone=Tone::Refusal
            text=tr(lang, "This invitation link is not valid, was already used, or has expired.") />
    }
}

/// The invitation was accepted.
#[component]
pub fn InviteAcceptedPage(lang: Lang, app_url: String) -> impl IntoView {
    view! {
        <MessagePage lang title=tr(lang, "Welcome") tone=Tone::Info
            text=tr(lang, "Invitation accepted. You can now sign in.")
            onward=(format!("{app_url}/"), tr(lang, "Sign in")) />
    }
}
