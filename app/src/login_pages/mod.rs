//! The login service's pages, and the few plain pages the dashboard
//! answers a form post with, as components rendered to a string on the
//! server ([`render`]). They work without JavaScript and ship none: no
//! island, no hydration script.
//!
//! One file per family: `sign_in` (the form, choosing a workspace, the
//! refusals on the way), `invite` (accepting an invitation), `dashboard`
//! (the dashboard's callback failure and its plain form answers).
//!
//! # Security
//! - Every value reaches the HTML through `view!`, which escapes text
//!   (`&`, `<`, `>`) and attribute values (also `"`). Nothing here glues
//!   markup together from strings; `class` values, which Leptos does not
//!   escape, are only the constants below.
//! - The login service's CSP (`default-src 'none'`) allows no script at
//!   all, so nothing rendered here may need one.

use leptos::prelude::*;

use crate::i18n::{Lang, tr};

mod dashboard;
mod invite;
mod sign_in;

pub use dashboard::{CallbackFailedPage, InvitationCreatedPage, IpRevealedPage, RefusalPage};
pub use invite::{InviteAcceptedPage, InviteGonePage, InvitePage};
pub use sign_in::{
    ChooseWorkspacePage, FlowFields, NoWorkspacePage, NotMemberPage, RestartPage, SignInPage,
    SignedOutPage, TooManyPage,
};

/// Renders a page to an HTML document (under its own reactive owner,
/// dropped with it).
pub fn render<V: IntoView + 'static>(page: impl FnOnce() -> V) -> String {
    Owner::new().with(|| page().to_html())
}

/// The card around a page's content: the dashboard's panel.
const CARD: &str = "rounded-lg border border-slate-200 bg-white p-6 shadow-sm";
const LABEL: &str = "block text-sm font-medium text-slate-700";
const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
const BUTTON: &str = "inline-flex w-full justify-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2";
const LINK: &str = "text-indigo-700 underline underline-offset-2 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
/// The line under a page's heading.
const INTRO: &str = "mt-1 text-sm text-slate-600";

/// The whole document: head, header (with the language links where the
/// page can be reloaded in the other language), the card, the footer.
#[component]
fn Frame(
    lang: Lang,
    /// Translated; also the document's title.
    title: &'static str,
    /// This page's URL for the language links; left out where reloading
    /// would lose what was posted.
    #[prop(optional)]
    switch_base: Option<String>,
    children: Children,
) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                // One text node: a marker comment inside <title> would show.
                <title>{format!("{title} · Metiva")}</title>
                <link rel="stylesheet" href="/pkg/metiva.css" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <div class="mx-auto flex min-h-screen max-w-md flex-col px-4 py-10">
                    <header class="mb-8 flex items-center justify-between gap-4">
                        <span class="flex items-center gap-2 font-semibold">
                            <span class="inline-block h-6 w-6 rounded bg-indigo-600" aria-hidden="true"></span>
                            "Metiva"
                        </span>
                        {switch_base.map(|base| view! { <crate::layout::LanguageLinks lang base /> })}
                    </header>
                    <main class=CARD>
                        <h1 class="text-xl font-semibold tracking-tight">{title}</h1>
                        {children()}
                    </main>
                    <p class="mt-6 text-xs text-slate-500">
                        {tr(lang, "Metiva sign-in service. The dashboard never sees your password.")}
                    </p>
                </div>
            </body>
        </html>
    }
}

/// How a notice is announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    /// Something was refused: `role="alert"`, read out at once.
    Refusal,
    /// Information: `role="status"`, read out politely.
    Info,
}

/// A notice box.
#[component]
fn Notice(tone: Tone, #[prop(into)] text: String) -> impl IntoView {
    let (role, class) = match tone {
        Tone::Refusal => (
            "alert",
            "mt-4 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800",
        ),
        Tone::Info => (
            "status",
            "mt-4 rounded-md border border-indigo-200 bg-indigo-50 px-3 py-2 text-sm text-indigo-900",
        ),
    };
    view! { <p role=role class=class>{text}</p> }
}

/// A line with one link on.
#[component]
fn OnwardLink(href: String, label: &'static str) -> impl IntoView {
    view! {
        <p class="mt-4 text-sm">
            <a class=LINK href=href>{label}</a>
        </p>
    }
}

/// A page that says one thing, with at most one link on.
#[component]
fn MessagePage(
    lang: Lang,
    title: &'static str,
    tone: Tone,
    #[prop(into)] text: String,
    /// (href, translated label).
    #[prop(optional)]
    onward: Option<(String, &'static str)>,
) -> impl IntoView {
    view! {
        <Frame lang title>
            <Notice tone text />
            {onward.map(|(href, label)| view! { <OnwardLink href label /> })}
        </Frame>
    }
}

/// A required input with its label (the label text already translated).
#[component]
fn Field(
    /// The field's name and id.
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    #[prop(optional)] value: Option<String>,
    #[prop(optional)] minlength: Option<&'static str>,
    #[prop(optional)] maxlength: Option<&'static str>,
) -> impl IntoView {
    view! {
        <div>
            <label for=name class=LABEL>{label}</label>
            <input id=name name=name type=kind autocomplete=autocomplete required
                minlength=minlength maxlength=maxlength value=value class=INPUT />
        </div>
    }
}

#[cfg(test)]
mod tests;
