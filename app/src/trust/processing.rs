//! `/trust/processing`: the processing terms, generated from this
//! deployment's configuration: who processes what where, how long data
//! is kept by default, and the rights of the people in it.

use leptos::prelude::*;

use super::{BAD, Frame, H2, OK, P, ProcessingFacts, SECTION, WARN, region_text};
use crate::i18n::{Lang, tr};

const RIGHTS: &[(&str, &str)] = &[
    (
        "Access and portability",
        "A workspace exports its contacts, deals and audit log as CSV; we answer a person's access request from those records.",
    ),
    (
        "Erasure",
        "A contact is erased in one transaction with a receipt that lists what was erased and what a legal duty keeps, such as invoices.",
    ),
    (
        "Rectification",
        "Members with the right role edit a contact's details; the change is theirs, not a public form's.",
    ),
    (
        "Withdrawing consent",
        "A visitor can withdraw consent from the banner at any time; the visitor link is removed and forwards stop.",
    ),
    (
        "Objection and restriction",
        "Without consent there is no person-level processing at all; retention periods limit how long anything is kept.",
    ),
];

/// The whole page.
#[component]
pub fn ProcessingPage(lang: Lang, facts: ProcessingFacts) -> impl IntoView {
    let r = facts.retention;
    let retention: Vec<(&'static str, String)> = vec![
        (
            tr(lang, "Page views"),
            months(lang, r.page_views_months, r.data_bounds),
        ),
        (
            tr(lang, "Visitors"),
            months(lang, r.visitors_months, r.data_bounds),
        ),
        (
            tr(lang, "Contacts without activity"),
            months(lang, r.contacts_months, r.data_bounds),
        ),
        (
            tr(lang, "Audit log"),
            months(lang, r.audit_months, r.audit_bounds),
        ),
        (
            tr(lang, "Invoices"),
            format!(
                "{} {} ({})",
                r.invoice_years,
                tr(lang, "years"),
                tr(lang, "Dutch fiscal duty; not configurable")
            ),
        ),
    ];
    let subprocessors = facts
        .subprocessors
        .into_iter()
        .map(|s| {
            let provider = s.provider.unwrap_or_else(|| {
                format!("{} ({})", tr(lang, "Not configured"), s.env)
            });
            let (state, class) = if s.in_use {
                (tr(lang, "In use"), OK)
            } else {
                (tr(lang, "Not connected on this deployment"), WARN)
            };
            view! {
                <li class="rounded-md border border-slate-200 p-4" data-testid="subprocessor">
                    <p class="flex flex-wrap items-center justify-between gap-2">
                        <span class="font-medium text-slate-900">{tr(lang, s.category)}</span>
                        <span class=class>{state}</span>
                    </p>
                    <dl class="mt-2 grid grid-cols-1 gap-1 text-sm sm:grid-cols-[8rem_1fr]">
                        <dt class="text-slate-600">{tr(lang, "Provider")}</dt>
                        <dd class="min-w-0 break-words">{provider}</dd>
                        <dt class="text-slate-600">{tr(lang, "Region")}</dt>
                        <dd class="min-w-0 break-words" data-testid="subprocessor-region">{s.region}</dd>
                        <dt class="text-slate-600">{tr(lang, "Purpose")}</dt>
                        <dd class="min-w-0 break-words">{tr(lang, s.purpose)}</dd>
                    </dl>
                </li>
            }
        })
        .collect_view();
    let region_class = match facts.region {
        super::RegionFact::Eu(_) => OK,
        super::RegionFact::NotEu(_) => BAD,
        super::RegionFact::DevelopmentDefault => WARN,
    };
    view! {
        <Frame lang title=tr(lang, "Processing terms") path="/trust/processing" snippet_site=None>
            <section class="space-y-2">
                <h1 class="text-3xl font-semibold tracking-tight">{tr(lang, "Processing terms")}</h1>
                <p class="text-sm leading-6 text-slate-700">
                    {tr(lang, "Metiva processes your clients' data on your behalf: you are the controller, we are the processor. This page is generated from this deployment's configuration when it is served.")}
                </p>
                <p class="text-sm">
                    <span class="text-slate-600">{tr(lang, "Data region")} ": "</span>
                    <span class=region_class data-testid="processing-region">{region_text(lang, &facts.region)}</span>
                </p>
            </section>
            <section class=SECTION aria-labelledby="subprocessors-heading">
                <h2 id="subprocessors-heading" class=H2>{tr(lang, "Sub-processors")}</h2>
                <p class=P>{tr(lang, "Each is configured by the operator with a METIVA_SUBPROCESSOR_* variable (provider|region). Third parties that receive personal data are called from background jobs only, and only after consent is checked again at the moment of sending.")}</p>
                <ul class="mt-4 space-y-3">{subprocessors}</ul>
            </section>
            <section class=SECTION aria-labelledby="retention-heading">
                <h2 id="retention-heading" class=H2>{tr(lang, "Retention defaults")}</h2>
                <dl class="mt-4 divide-y divide-slate-100 text-sm" data-testid="retention-defaults">
                    {retention.into_iter().map(|(label, value)| view! {
                        <div class="flex flex-col gap-1 py-2 sm:flex-row sm:gap-4">
                            <dt class="font-medium text-slate-900 sm:w-56 sm:shrink-0">{label}</dt>
                            <dd class="min-w-0 break-words text-slate-700">{value}</dd>
                        </div>
                    }).collect_view()}
                </dl>
            </section>
            <section class=SECTION aria-labelledby="rights-heading">
                <h2 id="rights-heading" class=H2>{tr(lang, "Data-subject rights")}</h2>
                <dl class="mt-4 space-y-3 text-sm">
                    {RIGHTS.iter().map(|(right, how)| view! {
                        <div>
                            <dt class="font-medium text-slate-900">{tr(lang, right)}</dt>
                            <dd class="mt-1 leading-6 text-slate-700">{tr(lang, how)}</dd>
                        </div>
                    }).collect_view()}
                </dl>
            </section>
        </Frame>
    }
}

/// "13 months (each workspace may choose 1-60)".
fn months(lang: Lang, default: i32, (min, max): (i32, i32)) -> String {
    format!(
        "{default} {} ({} {min}-{max})",
        tr(lang, "months"),
        tr(lang, "each workspace may choose")
    )
}
