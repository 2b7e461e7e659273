//! The explaining sections of `/trust`: the five guarantees, tenant
//! binding, the sign-in hand-off, the AVG mechanisms and the FAQ. Where a
//! sentence depends on a fact, the fact decides the sentence.

use leptos::prelude::*;

use super::page::isolation_text;
use super::{H2, Isolation, KeyFact, P, RegionFact, SECTION, TrustFacts};
use crate::i18n::{Lang, tr};

/// A numbered list of steps, each a title and a line.
#[component]
fn Steps(lang: Lang, steps: &'static [(&'static str, &'static str)]) -> impl IntoView {
    view! {
        <ol class="mt-4 grid gap-3 sm:grid-cols-5">
            {steps.iter().enumerate().map(|(i, (title, line))| view! {
                <li class="rounded-md border border-slate-200 bg-slate-50 p-3">
                    <p class="text-xs font-semibold text-indigo-700">{format!("{}", i + 1)}</p>
                    <p class="mt-1 text-sm font-medium text-slate-900">{tr(lang, title)}</p>
                    <p class="mt-1 text-xs leading-5 text-slate-700">{tr(lang, line)}</p>
                </li>
            }).collect_view()}
        </ol>
    }
}

/// The five guarantees, each with the live fact that backs it.
#[component]
pub fn Guarantees(lang: Lang, facts: TrustFacts) -> impl IntoView {
    let (isolation, _) = isolation_text(lang, &facts.isolation);
    let region_line = match &facts.region {
        RegionFact::Eu(_) => tr(
            lang,
            "Production refuses to start unless METIVA_REGION names an EU region, and it does here.",
        ),
        RegionFact::NotEu(_) => tr(
            lang,
            "This deployment's configured region is not a known EU region, so we do not claim EU residency for it.",
        ),
        RegionFact::DevelopmentDefault => tr(
            lang,
            "This is a development deployment without METIVA_REGION; production refuses to start unless it names an EU region.",
        ),
    };
    let key_line = match &facts.key {
        KeyFact::Configured { .. } => {
            tr(lang, "An encryption key is configured on this deployment.")
        }
        KeyFact::GeneratedLocally { .. } => tr(
            lang,
            "This development deployment generated its own key; production refuses to start without one.",
        ),
        KeyFact::Missing => tr(lang, "No encryption key is configured on this deployment."),
    };
    let consent_line = if facts.consent_denied_by_default {
        tr(
            lang,
            "Checked in the running code: every consent purpose defaults to denied.",
        )
    } else {
        tr(
            lang,
            "The running code does NOT default every consent purpose to denied.",
        )
    };
    let cards: Vec<(&'static str, &'static str, String)> = vec![
        (
            tr(lang, "Isolated per client"),
            tr(lang, "Every row of client data carries its company, and PostgreSQL row-level security is enabled and forced on every tenant table. Every query runs inside one company's tenant context; there is no shared pool a forgotten filter could leak."),
            isolation,
        ),
        (
            tr(lang, "Fail-closed binding"),
            tr(lang, "Every request binds to a tenant from the verified company claim inside a signed token. Headers the browser sends are ignored, and if the claim cannot resolve, the request is refused, never guessed."),
            tr(lang, "There is no default tenant: without a claim, the database context is empty and reads see 0 rows.").to_string(),
        ),
        (
            tr(lang, "Central sign-in"),
            tr(lang, "One separate login service verifies passwords with bcrypt, doing the same work for unknown emails, and mints a signed token. The dashboard never serves a login form and never sees a password."),
            format!("{} {}", facts.roles, tr(lang, "business roles, from one registry that both enforcement and the screens read.")),
        ),
        (
            tr(lang, "Consent, deny by default"),
            tr(lang, "Before a visitor decides, nothing identifies them: no identifier, company-level counts only. A named person exists only after a consented form, and every decision is kept as proof."),
            consent_line.to_string(),
        ),
        (
            tr(lang, "EU data"),
            tr(lang, "Client data is stored and processed in the EU. IP addresses are truncated and encrypted at rest with a key the app refuses to run without in production."),
            format!("{} {key_line}", region_line),
        ),
    ];
    view! {
        <section class="space-y-4" aria-labelledby="guarantees-heading">
            <h2 id="guarantees-heading" class=H2>{tr(lang, "The guarantees")}</h2>
            <p class="text-sm text-slate-700">{tr(lang, "Five things that are true on day one, not on the roadmap. Each line under a guarantee is checked on this deployment as the page is served.")}</p>
            <ul class="grid gap-4 sm:grid-cols-2">
                {cards.into_iter().map(|(title, body, fact)| view! {
                    <li class=SECTION>
                        <h3 class="font-semibold text-slate-900">{title}</h3>
                        <p class=P>{body}</p>
                        <p class="mt-3 border-t border-slate-100 pt-3 text-xs leading-5 text-slate-600">{fact}</p>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

const BINDING_STEPS: &[(&str, &str)] = &[
    (
        "Request arrives",
        "The browser calls the dashboard with its session cookie.",
    ),
    (
        "Verify the token",
        "Signature, algorithm, expiry, issuer and audience are checked on the server.",
    ),
    (
        "Read the claim",
        "The company comes from the token's claim, never from a header or a form field.",
    ),
    (
        "Bind the tenant",
        "The membership is checked, then every query runs in one transaction scoped to that company.",
    ),
    (
        "Or fail closed",
        "No valid claim or no active membership: the request is refused or sent to sign in.",
    ),
];

/// How a request binds to a tenant.
#[component]
pub fn BindingSection(lang: Lang) -> impl IntoView {
    view! {
        <section class=SECTION aria-labelledby="binding-heading">
            <h2 id="binding-heading" class=H2>{tr(lang, "How a request binds to a tenant")}</h2>
            <p class=P>{tr(lang, "Isolation only holds if every request lands in the right client. The claim always wins: a header such as X-Tenant is ignored, and revoking a member's access takes effect on their very next request, on every instance.")}</p>
            <Steps lang steps=BINDING_STEPS />
        </section>
    }
}

const SIGN_IN_STEPS: &[(&str, &str)] = &[
    (
        "Gated app",
        "An anonymous page request is sent to the login service, with a checked return address.",
    ),
    (
        "Central login",
        "The login service shows the form and verifies the password with bcrypt.",
    ),
    (
        "Choose a workspace",
        "Someone in several client workspaces picks one; each stays isolated.",
    ),
    (
        "One-time code",
        "The login service mints a signed token and hands back a one-time code, never the token in a URL.",
    ),
    (
        "Back to the app",
        "The dashboard redeems the code on the server and keeps the token in a secure, HttpOnly cookie.",
    ),
];

/// The sign-in hand-off.
#[component]
pub fn SignInSection(lang: Lang) -> impl IntoView {
    view! {
        <section class=SECTION aria-labelledby="signin-heading">
            <h2 id="signin-heading" class=H2>{tr(lang, "The sign-in hand-off")}</h2>
            <p class=P>{tr(lang, "Sign-in lives in a separate service with its own address. Only it holds the signing key; the dashboard holds the public key and can verify tokens, never mint them. Sessions can be revoked: sign-out, sign-out everywhere, and suspension.")}</p>
            <Steps lang steps=SIGN_IN_STEPS />
        </section>
    }
}

/// The AVG mechanisms that exist today, with the live retention defaults.
#[component]
pub fn AvgSection(lang: Lang, facts: TrustFacts) -> impl IntoView {
    let r = facts.retention;
    let retention = format!(
        "{head}: {pv_l} {pv}, {v_l} {v}, {c_l} {c} ({adj} {dmin}-{dmax}); {a_l} {a} ({adj} {amin}-{amax}). {inv} {years} {years_l}.",
        head = tr(lang, "Defaults per workspace, in months"),
        pv_l = tr(lang, "page views"),
        pv = r.page_views_months,
        v_l = tr(lang, "visitors"),
        v = r.visitors_months,
        c_l = tr(lang, "contacts without activity"),
        c = r.contacts_months,
        adj = tr(lang, "each workspace may choose"),
        dmin = r.data_bounds.0,
        dmax = r.data_bounds.1,
        a_l = tr(lang, "audit log"),
        a = r.audit_months,
        amin = r.audit_bounds.0,
        amax = r.audit_bounds.1,
        inv = tr(lang, "Invoices are kept for the Dutch fiscal period of"),
        years = r.invoice_years,
        years_l = tr(lang, "years"),
    );
    let items: Vec<(&'static str, String)> = vec![
        (
            tr(lang, "Erasure with receipts"),
            tr(lang, "Erasing a contact removes the person, their visits, notes and tasks in one transaction. Deals stay, unlinked; consent proof stays under an anonymous tombstone. The receipt lists what was erased and what was kept and why, and holds no personal data. Erasing again returns the first receipt.").to_string(),
        ),
        (
            tr(lang, "Retention, swept hourly"),
            format!("{} {retention}", tr(lang, "A background sweep deletes what has outlived its period, in small batches, one workspace at a time.")),
        ),
        (
            tr(lang, "Exports"),
            tr(lang, "Each workspace can download its contacts, deals and audit log as CSV, and each erasure receipt can be downloaded on its own.").to_string(),
        ),
        (
            tr(lang, "Audit log as a hash chain"),
            tr(lang, "Sign-ins, role changes, IP reveals, exports, erasures and consent settings are audited with ids and reason codes, never personal data. Each workspace's rows form a hash chain; `metiva audit verify` names the first row that was changed.").to_string(),
        ),
        (
            tr(lang, "Consent kept as proof"),
            tr(lang, "Every decision is stored with its purposes, the banner version and a hash of the text the visitor saw, with withdrawals. Forwards to ad platforms wait for marketing consent.").to_string(),
        ),
    ];
    view! {
        <section class=SECTION aria-labelledby="avg-heading">
            <h2 id="avg-heading" class=H2>{tr(lang, "AVG by architecture")}</h2>
            <p class=P>{tr(lang, "The privacy controls live in the code, not in a disclaimer. Here is what exists today, mechanism by mechanism.")}</p>
            <dl class="mt-4 space-y-4 text-sm" data-testid="avg-mechanisms">
                {items.into_iter().map(|(title, body)| view! {
                    <div>
                        <dt class="font-medium text-slate-900">{title}</dt>
                        <dd class="mt-1 leading-6 text-slate-700">{body}</dd>
                    </div>
                }).collect_view()}
            </dl>
        </section>
    }
}

/// Questions and answers, as disclosure widgets (no script needed).
#[component]
pub fn Faq(lang: Lang, facts: TrustFacts) -> impl IntoView {
    let isolated = matches!(facts.isolation, Isolation::Holds { .. });
    let where_data = match &facts.region {
        RegionFact::Eu(name) => format!(
            "{} {name}.",
            tr(lang, "In the EU. This deployment is configured for")
        ),
        other => super::region_text(lang, other),
    };
    let qa: Vec<(&'static str, String)> = vec![
        (
            tr(lang, "How is my clients' data kept apart?"),
            if isolated {
                tr(lang, "Each client workspace is its own tenant context in PostgreSQL, enforced by forced row-level security under a restrictive policy. The catalog check above confirms it on this deployment.").to_string()
            } else {
                tr(lang, "By forced row-level security per client workspace. The catalog check on this deployment currently reports a problem (see above), so we do not claim it holds here right now.").to_string()
            },
        ),
        (
            tr(lang, "Can a header or a link switch me into another client's data?"),
            tr(lang, "No. The workspace comes only from the signed token's claim. Tenant-looking headers are ignored and reported on the security page.").to_string(),
        ),
        (tr(lang, "Where is our data stored?"), where_data),
        (
            tr(lang, "Do you identify individual visitors?"),
            tr(lang, "Only with consent. Without it, visits count at company level and no identifier is stored. A named person exists only after a consented form.").to_string(),
        ),
        (
            tr(lang, "Are you SOC 2 or ISO 27001 certified?"),
            tr(lang, "No. Metiva is pre-launch, and we show no badge we have not earned. We would rather show you the mechanisms, on your own data.").to_string(),
        ),
        (
            tr(lang, "Can we get our data out, or have it erased?"),
            tr(lang, "Yes. CSV exports per workspace, erasure of a contact with a receipt, and retention periods you set within bounds.").to_string(),
        ),
    ];
    view! {
        <section class=SECTION aria-labelledby="faq-heading">
            <h2 id="faq-heading" class=H2>{tr(lang, "Questions")}</h2>
            <div class="mt-4 divide-y divide-slate-100">
                {qa.into_iter().map(|(q, a)| view! {
                    <details class="group py-3">
                        <summary class="cursor-pointer text-sm font-medium text-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">{q}</summary>
                        <p class="mt-2 text-sm leading-6 text-slate-700">{a}</p>
                    </details>
                }).collect_view()}
            </div>
        </section>
    }
}
