//! The pages the dashboard answers outside its app, in the login
//! service's frame: a failed sign-in callback, and the answers to its
//! plain (JavaScript-free) form posts.

use leptos::prelude::*;

use super::{Frame, MessagePage, OnwardLink, Tone};
use crate::i18n::{Lang, tr};
use crate::member_forms::InviteLink;

/// The one-time code could not be redeemed: start again.
#[component]
pub fn CallbackFailedPage(lang: Lang) -> impl IntoView {
    view! {
        <MessagePage lang title=tr(lang, "Sign in") tone=Tone::Refusal
            text=tr(lang, "This sign-in link has expired or was already used.")
            onward=("/".to_string(), tr(lang, "Sign in again")) />
    }
}

/// A refused form post, with the way back to the form's page.
#[component]
pub fn RefusalPage(
    lang: Lang,
    title: &'static str,
    #[prop(into)] message: String,
    back_href: &'static str,
    back_label: &'static str,
) -> impl IntoView {
    view! {
        <MessagePage lang title tone=Tone::Refusal text=message
            onward=(back_href.to_string(), back_label) />
    }
}

/// The revealed (stored, truncated) address of a visit, and the audit
/// entry that records the reveal.
#[component]
pub fn IpRevealedPage(lang: Lang, address: String, audit_id: i64) -> impl IntoView {
    let recorded = format!(
        "{} #{audit_id}.",
        tr(lang, "Recorded in the audit log as entry")
    );
    view! {
        <Frame lang title=tr(lang, "IP revealed")>
            <p class="mt-4 text-sm">{tr(lang, "The stored, truncated address of this visit:")}</p>
            <p class="mt-2 font-mono text-sm" data-testid="revealed-ip">{address}</p>
            <p class="mt-2 text-sm text-slate-600">{recorded}</p>
            <OnwardLink href="/visitors".to_string() label=tr(lang, "Back to visitors") />
        </Frame>
    }
}

/// A new member's one-time invitation link, shown once.
#[component]
pub fn InvitationCreatedPage(lang: Lang, link: String) -> impl IntoView {
    view! {
        <Frame lang title=tr(lang, "Invitation created")>
            <div class="mt-4">
                <InviteLink link created=None send_once=tr(lang, "Send this one-time link to the new member. It is shown only now and works for 7 days.").to_string() />
            </div>
            <OnwardLink href="/members".to_string() label=tr(lang, "Back to members") />
        </Frame>
    }
}
