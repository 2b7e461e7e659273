//! "Book a walkthrough": the form on `/trust` and the pages its plain
//! post answers with.
//!
//! The form is a plain `<form method="post">` to [`WALKTHROUGH_PATH`]: it
//! works with JavaScript off and without consent (the request is stored
//! with no visitor link). When the consent snippet runs and the visitor
//! granted identification, the helper script first hands the same fields
//! to the snippet's `/capture` (which links the visitor), then posts.

use leptos::prelude::*;

use super::{Frame, H2, LINK, P, SECTION, WALKTHROUGH_PATH};
use crate::i18n::{Lang, tr};

/// What was typed, and what was wrong with it (field name, translated
/// message).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WalkthroughFields {
    pub name: String,
    pub email: String,
    pub company: String,
    pub message: String,
    pub errors: Vec<(&'static str, &'static str)>,
}

impl WalkthroughFields {
    fn error(&self, field: &str) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| *m)
    }
}

const LABEL: &str = "block text-sm font-medium text-slate-800";
const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-400 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 aria-[invalid=true]:border-red-600";
const BUTTON: &str = "inline-flex justify-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2";

/// One labelled input with its error (if any) announced with it.
#[component]
fn Input(
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    value: String,
    required: bool,
    maxlength: &'static str,
    error: Option<&'static str>,
) -> impl IntoView {
    let id = format!("wt-{name}");
    let err_id = format!("wt-{name}-error");
    view! {
        <div>
            <label for=id.clone() class=LABEL>{label}</label>
            <input id=id name=name type=kind autocomplete=autocomplete required=required
                maxlength=maxlength value=value class=INPUT
                aria-invalid=error.is_some().then_some("true")
                aria-describedby=error.is_some().then(|| err_id.clone()) />
            {error.map(|e| view! { <p id=err_id class="mt-1 text-sm text-red-700">{e}</p> })}
        </div>
    }
}

/// The form section on `/trust`. `available` is false when the operator
/// workspace is not set up on this deployment (the form is not offered).
#[component]
pub fn WalkthroughForm(lang: Lang, form: WalkthroughFields, available: bool) -> impl IntoView {
    let errors = (!form.errors.is_empty()).then(|| {
        view! {
            <p role="alert" class="mt-4 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
                {tr(lang, "Please check the fields marked below.")}
            </p>
        }
    });
    let body = if available {
        view! {
            {errors}
            <form id="walkthrough-form" method="post" action=WALKTHROUGH_PATH class="mt-4 space-y-4" data-testid="walkthrough-form" novalidate=!form.errors.is_empty()>
                <input type="hidden" name="lang" value=lang.code() />
                <Input name="name" label=tr(lang, "Your name") kind="text" autocomplete="name"
                    value=form.name.clone() required=true maxlength="120" error=form.error("name") />
                <Input name="email" label=tr(lang, "Work email") kind="email" autocomplete="email"
                    value=form.email.clone() required=true maxlength="254" error=form.error("email") />
                <Input name="company" label=tr(lang, "Agency (optional)") kind="text" autocomplete="organization"
                    value=form.company.clone() required=false maxlength="120" error=form.error("company") />
                <div>
                    <label for="wt-message" class=LABEL>{tr(lang, "What would you like to see? (optional)")}</label>
                    <textarea id="wt-message" name="message" rows="3" maxlength="2000" class=INPUT
                        aria-invalid=form.error("message").is_some().then_some("true")>{form.message.clone()}</textarea>
                    {form.error("message").map(|e| view! { <p class="mt-1 text-sm text-red-700">{e}</p> })}
                </div>
                <p class="text-xs leading-5 text-slate-600">
                    {tr(lang, "We store your request as a contact in Metiva's own workspace to answer it. If you accepted identification in our consent banner, it is linked to this visit; otherwise it is not.")}
                </p>
                <button type="submit" class=BUTTON>{tr(lang, "Book a walkthrough")}</button>
            </form>
        }
        .into_any()
    } else {
        view! {
            <p role="status" class="mt-4 text-sm text-slate-700" data-testid="walkthrough-unavailable">
                {tr(lang, "Booking is not set up on this deployment yet: its operator workspace has no site.")}
            </p>
        }
        .into_any()
    };
    view! {
        <section class=SECTION aria-labelledby="walkthrough-heading" id="walkthrough">
            <h2 id="walkthrough-heading" class=H2>{tr(lang, "See it on your own data")}</h2>
            <p class=P>{tr(lang, "In 30 minutes we walk the isolation model, the fail-closed tenant binding and the consent flow, with the product open, no slides. Dutch or English.")}</p>
            {body}
        </section>
    }
}

/// The answer to a stored request.
#[component]
pub fn WalkthroughThanksPage(lang: Lang) -> impl IntoView {
    view! {
        <Frame lang title=tr(lang, "Walkthrough requested") path="/trust" snippet_site=None>
            <section class=SECTION>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(lang, "Walkthrough requested")}</h1>
                <p role="status" class=P data-testid="walkthrough-thanks">
                    {tr(lang, "Thank you. We will email you within two working days to pick a time.")}
                </p>
                <p class="mt-4 text-sm"><a class=LINK href="/trust">{tr(lang, "Back to the Trust Center")}</a></p>
            </section>
        </Frame>
    }
}

/// A request that could not be taken (the operator workspace is missing
/// or the database is unavailable): says so, stores nothing.
#[component]
pub fn WalkthroughRefusedPage(lang: Lang, #[prop(into)] text: String) -> impl IntoView {
    view! {
        <Frame lang title=tr(lang, "Book a walkthrough") path="/trust" snippet_site=None>
            <section class=SECTION>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(lang, "Book a walkthrough")}</h1>
                <p role="alert" class=P>{text}</p>
                <p class="mt-4 text-sm"><a class=LINK href="/trust#walkthrough">{tr(lang, "Back to the form")}</a></p>
            </section>
        </Frame>
    }
}
