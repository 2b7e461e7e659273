//! The frame around every page: header with navigation, and the footer.

use leptos::prelude::*;

use crate::i18n::{Lang, tr};
use leptos_router::components::A;

#[component]
pub fn Header() -> impl IntoView {
    let l = crate::i18n::current();
    let path = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    // The System page needs `security.manage`; other roles are not offered
    // a link that would only answer 403. Rendered on the server only
    // (islands): the request's verified tenant context decides.
    #[cfg(feature = "ssr")]
    let show_system = use_context::<http::request::Parts>()
        .and_then(|p| {
            p.extensions
                .get::<metiva_db::TenantCtx>()
                .map(|c| c.can(metiva_roles::Permission::SecurityManage))
        })
        .unwrap_or(false);
    #[cfg(not(feature = "ssr"))]
    let show_system = false;
    // Billing and background jobs, likewise only for the roles that may
    // read them (`billing.read`, `jobs.read`).
    #[cfg(feature = "ssr")]
    let (show_billing, show_jobs) = use_context::<http::request::Parts>()
        .and_then(|p| {
            p.extensions.get::<metiva_db::TenantCtx>().map(|c| {
                (
                    c.can(metiva_roles::Permission::BillingRead),
                    c.can(metiva_roles::Permission::JobsRead),
                )
            })
        })
        .unwrap_or((false, false));
    #[cfg(not(feature = "ssr"))]
    let (show_billing, show_jobs) = (false, false);
    // Integrations (issue 18): only for `integrations.manage`.
    #[cfg(feature = "ssr")]
    let show_integrations = use_context::<http::request::Parts>()
        .and_then(|p| {
            p.extensions
                .get::<metiva_db::TenantCtx>()
                .map(|c| c.can(metiva_roles::Permission::IntegrationsManage))
        })
        .unwrap_or(false);
    #[cfg(not(feature = "ssr"))]
    let show_integrations = false;
    let link = "rounded-md px-3 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700";
    view! {
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex max-w-5xl flex-wrap items-center gap-4 px-4 py-3">
                <A href="/" attr:class="flex items-center gap-2 font-semibold text-slate-900">
                    <span class="inline-block h-6 w-6 rounded bg-indigo-600" aria-hidden="true"></span>
                    "Metiva"
                </A>
                <nav aria-label="Main" class="flex flex-wrap gap-1">
                    <A href="/" exact=true attr:class=link>
                        {tr(l, "Overview")}
                    </A>
                    <A href="/persons" attr:class=link>
                        {tr(l, "Persons")}
                    </A>
                    <A href="/tasks" attr:class=link>
                        {tr(l, "Tasks")}
                    </A>
                    <A href="/organisations" attr:class=link>
                        {tr(l, "Organisations")}
                    </A>
                    <A href="/deals" attr:class=link>
                        {tr(l, "Deals")}
                    </A>
                    <A href="/visitors" attr:class=link>
                        {tr(l, "Visitors")}
                    </A>
                    <A href="/consent" attr:class=link>
                        {tr(l, "Consent")}
                    </A>
                    <A href="/members" attr:class=link>
                        {tr(l, "Members")}
                    </A>
                    <A href="/settings/security" attr:class=link>
                        {tr(l, "Security")}
                    </A>
                    {show_billing.then(|| view! {
                        <A href="/billing" attr:class=link>
                            {tr(l, "Billing")}
                        </A>
                    })}
                    {show_jobs.then(|| view! {
                        <A href="/settings/jobs" attr:class=link>
                            {tr(l, "Jobs")}
                        </A>
                    })}
                    {show_integrations.then(|| view! {
                        <A href="/settings/integrations" attr:class=link>
                            {tr(l, "Integrations")}
                        </A>
                    })}
                    {show_system.then(|| view! {
                        <A href="/system" attr:class=link>
                            {tr(l, "System")}
                        </A>
                    })}
                </nav>
                <crate::crm::SearchBox />
                <LanguageLinks lang=l base=path />
            </div>
        </header>
    }
}

/// "English" and "Nederlands", each a link back to `base` with `lang=`
/// (the dashboard's header and the login service's frame).
#[component]
pub fn LanguageLinks(lang: Lang, base: String) -> impl IntoView {
    let sep = if base.contains('?') { '&' } else { '?' };
    let link = "rounded text-indigo-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
    view! {
        <nav aria-label=tr(lang, "Language") class="flex gap-3 text-sm">
            <a class=link href=format!("{base}{sep}lang=en") lang="en" hreflang="en" aria-current=(lang == Lang::En).then_some("true")>"English"</a>
            <a class=link href=format!("{base}{sep}lang=nl") lang="nl" hreflang="nl" aria-current=(lang == Lang::Nl).then_some("true")>"Nederlands"</a>
        </nav>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    let l = crate::i18n::current();
    let commit = crate::BUILD_COMMIT
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    view! {
        <footer class="border-t border-slate-200 bg-white">
            <div class="mx-auto flex max-w-5xl flex-wrap justify-between gap-2 px-4 py-4 text-xs text-slate-500">
                <span>{tr(l, "Metiva: compliance by architecture, for Dutch agencies.")}</span>
                <span data-testid="build-version">
                    {tr(l, "Version")} " " {crate::BUILD_VERSION} {commit}
                </span>
            </div>
        </footer>
    }
}

/// Set only in the browser, once the islands have hydrated: Effects never
/// run during SSR. End-to-end tests wait for it before they click.
#[island]
pub fn HydrationMarker() -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <span
            id="hydration"
            hidden
            data-hydrated=move || if hydrated.get() { "true" } else { "false" }
        ></span>
    }
}
