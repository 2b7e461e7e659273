//! The public Trust Center (`/trust`, `/trust/processing`): our own
//! marketing page about isolation, sign-in and the AVG, rendered on the
//! server to a string (like `login_pages`), no sign-in, no hydration.
//!
//! Every fact on these pages arrives in a DTO the server filled from the
//! running system (the role registry, the database catalog, the
//! configuration, the retention module's defaults). The components only
//! word them; a fact that does not hold is said not to hold.
//!
//! # Security
//! - Every value reaches the HTML through `view!`, which escapes text and
//!   attribute values. `class` values are only constants.
//! - The pages carry no user data, so they may be shown to anyone.
//! - The only scripts are Metiva's own consent snippet (for the operator
//!   workspace's site) and the walkthrough form's small helper, both
//!   served from our origin; the form works without either.

use leptos::prelude::*;

use crate::i18n::{Lang, tr};

mod page;
mod processing;
mod sections;
mod walkthrough;

pub use page::TrustPage;
pub use processing::ProcessingPage;
pub use walkthrough::{WalkthroughFields, WalkthroughRefusedPage, WalkthroughThanksPage};

/// The path the walkthrough form posts to (no JavaScript needed).
pub const WALKTHROUGH_PATH: &str = "/trust/walkthrough";
/// The form's helper script (hands the form to the consent snippet's
/// `/capture` when the visitor consented to identification).
pub const WALKTHROUGH_SCRIPT: &str = "/trust/walkthrough.js";

/// Renders a page to an HTML document (under its own reactive owner).
pub fn render<V: IntoView + 'static>(page: impl FnOnce() -> V) -> String {
    Owner::new().with(|| page().to_html())
}

/// Whether tenant isolation holds, as the catalog lint found it just now
/// (or at most a minute ago).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// Every tenant table has RLS enabled and forced with a restrictive
    /// tenant policy, and the runtime role cannot bypass it.
    Holds { tables: i64, checked_at: String },
    /// The lint found problems: say so, with the counts.
    Broken {
        tables: i64,
        /// Tenant tables whose RLS is enabled and forced.
        forced: i64,
        problems: usize,
        checked_at: String,
    },
    /// The catalog could not be read.
    Unknown,
}

/// The field-encryption key, as this process loaded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFact {
    Configured {
        key_id: String,
    },
    /// Development: generated locally, never for production.
    GeneratedLocally {
        key_id: String,
    },
    Missing,
}

/// The data region, from `METIVA_REGION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionFact {
    Eu(String),
    /// Set, but not a region we know to be in the EU.
    NotEu(String),
    /// Not set: the development default, labelled as such.
    DevelopmentDefault,
}

/// Retention defaults (months) from the retention module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionFacts {
    pub page_views_months: i32,
    pub visitors_months: i32,
    pub contacts_months: i32,
    pub audit_months: i32,
    /// Per-workspace bounds for the first three, and for the audit log.
    pub data_bounds: (i32, i32),
    pub audit_bounds: (i32, i32),
    pub invoice_years: i32,
}

/// Everything `/trust` states, read from the running system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustFacts {
    /// Business roles in the role registry.
    pub roles: usize,
    /// Permissions in the registry.
    pub permissions: usize,
    pub isolation: Isolation,
    pub key: KeyFact,
    pub region: RegionFact,
    /// True when the consent purposes default to all denied.
    pub consent_denied_by_default: bool,
    /// An example address and what is kept of it (the real truncation).
    pub ip_example: (String, String),
    pub retention: RetentionFacts,
    /// The operator workspace's site key, when `seed-demo` (or the
    /// operator) registered it: the consent snippet loads for it.
    pub walkthrough_site: Option<String>,
}

/// One sub-processor line of the processing terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubProcessor {
    /// English category, translated when shown.
    pub category: &'static str,
    /// English purpose, translated when shown.
    pub purpose: &'static str,
    /// The provider as configured; None: not configured.
    pub provider: Option<String>,
    /// The region as configured (or the deployment's region).
    pub region: String,
    /// Whether this deployment uses it.
    pub in_use: bool,
    /// The variable that configures it.
    pub env: &'static str,
}

/// Everything `/trust/processing` states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessingFacts {
    pub region: RegionFact,
    pub subprocessors: Vec<SubProcessor>,
    pub retention: RetentionFacts,
}

const SECTION: &str = "rounded-lg border border-slate-200 bg-white p-5 shadow-sm sm:p-6";
const H2: &str = "text-xl font-semibold tracking-tight text-slate-900";
const P: &str = "mt-2 text-sm leading-6 text-slate-700";
const LINK: &str = "text-indigo-700 underline underline-offset-2 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
const OK: &str = "inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset bg-emerald-50 text-emerald-800 ring-emerald-600/20";
const BAD: &str = "inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset bg-red-50 text-red-800 ring-red-600/20";
const WARN: &str = "inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset bg-amber-50 text-amber-900 ring-amber-600/20";

/// The region in words.
pub fn region_text(lang: Lang, r: &RegionFact) -> String {
    match r {
        RegionFact::Eu(name) => format!("EU ({name})"),
        RegionFact::NotEu(name) => format!("{name}: {}", tr(lang, "not a known EU region")),
        RegionFact::DevelopmentDefault => tr(
            lang,
            "eu (development default: METIVA_REGION is not set on this deployment)",
        )
        .to_string(),
    }
}

/// The document around a Trust Center page: head, header with the
/// language switch, the content, a footer.
#[component]
fn Frame(
    lang: Lang,
    /// Translated; also the document's title.
    title: &'static str,
    /// This page's path, for the language links.
    path: &'static str,
    /// The operator site whose consent snippet this page loads.
    snippet_site: Option<String>,
    children: Children,
) -> impl IntoView {
    let scripts = snippet_site.map(|key| {
        view! {
            <script src=format!("/s/{key}/snippet.js") defer></script>
            <script src=WALKTHROUGH_SCRIPT defer></script>
        }
    });
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <title>{format!("{title} · Metiva")}</title>
                <meta name="description" content=tr(lang, "Compliance by architecture, not a policy page.") />
                <link rel="stylesheet" href="/pkg/metiva.css" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                {scripts}
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-white focus:px-3 focus:py-2">
                    {tr(lang, "Skip to content")}
                </a>
                <header class="border-b border-slate-200 bg-white">
                    <div class="mx-auto flex max-w-4xl flex-wrap items-center justify-between gap-3 px-4 py-3">
                        <a href="/trust" class="flex items-center gap-2 font-semibold text-slate-900">
                            <span class="inline-block h-6 w-6 rounded bg-indigo-600" aria-hidden="true"></span>
                            "Metiva"
                        </a>
                        <nav aria-label=tr(lang, "Trust Center") class="flex flex-wrap gap-3 text-sm">
                            <a class=LINK href="/trust">{tr(lang, "Trust Center")}</a>
                            <a class=LINK href="/trust/processing">{tr(lang, "Processing terms")}</a>
                        </nav>
                        <crate::layout::LanguageLinks lang base=path.to_string() />
                    </div>
                </header>
                <main id="main" class="mx-auto w-full max-w-4xl min-w-0 space-y-6 px-4 py-8">
                    {children()}
                </main>
                <footer class="border-t border-slate-200 bg-white">
                    <p class="mx-auto max-w-4xl px-4 py-4 text-xs text-slate-600">
                        {tr(lang, "Every figure on this page is read from the running system when the page is served. Metiva is pre-launch; we show no certification badges.")}
                    </p>
                </footer>
            </body>
        </html>
    }
}

#[cfg(test)]
mod tests;
