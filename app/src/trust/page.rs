//! `/trust`: the hero, the live facts, then the explaining sections and
//! the walkthrough form.

use leptos::prelude::*;

use super::sections::{AvgSection, BindingSection, Faq, Guarantees, SignInSection};
use super::walkthrough::{WalkthroughFields, WalkthroughForm};
use super::{
    BAD, Frame, H2, Isolation, KeyFact, LINK, OK, P, RegionFact, SECTION, TrustFacts, WARN,
};
use crate::i18n::{Lang, tr};

/// The whole page. `form` holds what was typed when a post is sent back
/// with its errors.
#[component]
pub fn TrustPage(lang: Lang, facts: TrustFacts, form: WalkthroughFields) -> impl IntoView {
    let snippet_site = facts.walkthrough_site.clone();
    let form_available = snippet_site.is_some();
    view! {
        <Frame lang title=tr(lang, "Trust and Security Center") path="/trust" snippet_site>
            <section class="space-y-3">
                <p class="text-sm font-medium text-indigo-700">{tr(lang, "Trust and Security Center")}</p>
                <h1 class="text-3xl font-semibold tracking-tight text-slate-900">
                    {tr(lang, "Compliance by architecture, not a policy page.")}
                </h1>
                <p class="text-base leading-7 text-slate-700">
                    {tr(lang, "Your clients' data is some of the most sensitive a Dutch agency holds: their leads, their contracts, their revenue. Metiva is built so the safe version is the only version you can ship.")}
                </p>
                <p class="text-sm text-slate-600">
                    {tr(lang, "Pre-launch and honest about it: this page describes the architecture, not a list of certifications we have not yet earned.")}
                </p>
            </section>
            <LiveFacts lang facts=facts.clone() />
            <Guarantees lang facts=facts.clone() />
            <BindingSection lang />
            <SignInSection lang />
            <AvgSection lang facts=facts.clone() />
            <Faq lang facts=facts.clone() />
            <section class=SECTION aria-labelledby="processing-heading">
                <h2 id="processing-heading" class=H2>{tr(lang, "Want the legal and processing detail?")}</h2>
                <p class=P>
                    {tr(lang, "The processing terms list our sub-processors with their region and purpose, the retention defaults and your rights, generated from this deployment's configuration.")}
                    " "
                    <a class=LINK href="/trust/processing">{tr(lang, "Read the processing terms")}</a>
                </p>
            </section>
            <WalkthroughForm lang form available=form_available />
        </Frame>
    }
}

/// The facts, as a definition list, each with its state.
#[component]
fn LiveFacts(lang: Lang, facts: TrustFacts) -> impl IntoView {
    let (isolation, isolation_ok) = isolation_text(lang, &facts.isolation);
    let (key, key_class) = match &facts.key {
        KeyFact::Configured { key_id } => {
            (format!("{} (key id {key_id})", tr(lang, "Configured")), OK)
        }
        KeyFact::GeneratedLocally { key_id } => (
            format!(
                "{} (key id {key_id})",
                tr(
                    lang,
                    "Generated locally for development; a production deployment refuses to start without a configured key"
                )
            ),
            WARN,
        ),
        KeyFact::Missing => (tr(lang, "Not configured").to_string(), BAD),
    };
    let region_class = match facts.region {
        RegionFact::Eu(_) => OK,
        RegionFact::NotEu(_) => BAD,
        RegionFact::DevelopmentDefault => WARN,
    };
    let consent = if facts.consent_denied_by_default {
        (
            tr(
                lang,
                "Deny by default: every purpose is off until the visitor opts in",
            )
            .to_string(),
            OK,
        )
    } else {
        (
            tr(
                lang,
                "NOT deny by default: a purpose is on before the visitor decides",
            )
            .to_string(),
            BAD,
        )
    };
    let (ip_raw, ip_kept) = facts.ip_example.clone();
    let rows: Vec<(&'static str, String, &'static str, &'static str)> = vec![
        (
            tr(lang, "Business roles"),
            format!(
                "{} ({} {})",
                facts.roles,
                facts.permissions,
                tr(lang, "permissions, one registry")
            ),
            OK,
            "fact-roles",
        ),
        (
            tr(lang, "Tenant isolation"),
            isolation,
            if isolation_ok { OK } else { BAD },
            "fact-isolation",
        ),
        (tr(lang, "Encryption key"), key, key_class, "fact-key"),
        (
            tr(lang, "Region"),
            super::region_text(lang, &facts.region),
            region_class,
            "fact-region",
        ),
        (tr(lang, "Consent"), consent.0, consent.1, "fact-consent"),
        (
            tr(lang, "IP at rest"),
            format!(
                "{ip_raw} → {ip_kept}, {}",
                tr(lang, "then encrypted with AES-256-GCM")
            ),
            OK,
            "fact-ip",
        ),
    ];
    let state = |class: &'static str| match class {
        OK => tr(lang, "Holds"),
        WARN => tr(lang, "Development"),
        _ => tr(lang, "Does not hold"),
    };
    view! {
        <section class=SECTION aria-labelledby="facts-heading" data-testid="live-facts">
            <h2 id="facts-heading" class=H2>{tr(lang, "Live from this deployment")}</h2>
            <p class=P>{tr(lang, "Read from the role registry, the database catalog and the running configuration, not typed into this page.")}</p>
            <dl class="mt-4 divide-y divide-slate-100 text-sm">
                {rows.into_iter().map(|(label, value, class, testid)| view! {
                    <div class="flex flex-col gap-1 py-3 sm:flex-row sm:gap-4">
                        <dt class="font-medium text-slate-900 sm:w-44 sm:shrink-0">{label}</dt>
                        <dd class="min-w-0 break-words text-slate-700" data-testid=testid>
                            <span class=class>{state(class)}</span>
                            " "
                            <span>{value}</span>
                        </dd>
                    </div>
                }).collect_view()}
            </dl>
        </section>
    }
}

/// The isolation fact in words, and whether it holds.
pub(super) fn isolation_text(lang: Lang, i: &Isolation) -> (String, bool) {
    match i {
        Isolation::Holds { tables, checked_at } => (
            format!(
                "{tables} {} ({} {checked_at})",
                tr(
                    lang,
                    "tenant tables, every one with row-level security enabled and forced under a restrictive tenant policy; the runtime role cannot bypass it"
                ),
                tr(lang, "checked")
            ),
            true,
        ),
        Isolation::Broken {
            tables,
            forced,
            problems,
            checked_at,
        } => (
            format!(
                "{} {forced} / {tables} {} {problems} ({} {checked_at})",
                tr(
                    lang,
                    "The isolation check fails on this deployment right now:"
                ),
                tr(
                    lang,
                    "tenant tables have forced row-level security; problems found:"
                ),
                tr(lang, "checked")
            ),
            false,
        ),
        Isolation::Unknown => (
            tr(
                lang,
                "The database catalog could not be read just now, so we make no claim about it.",
            )
            .to_string(),
            false,
        ),
    }
}
