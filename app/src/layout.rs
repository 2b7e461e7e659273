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
    let settings_here = is_settings_path(&path);
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
                    <SettingsMenu
                        lang=l
                        here=settings_here
                        billing=show_billing
                        jobs=show_jobs
                        integrations=show_integrations
                        system=show_system
                    />
                </nav>
                // Search and language stay together at the right (on a
                // row of their own when the links leave no room).
                <div class="ml-auto flex flex-wrap items-center gap-4">
                    <crate::crm::SearchBox />
                    <LanguageLinks lang=l base=path />
                </div>
            </div>
        </header>
    }
}

/// The workspace's settings pages, each a path the Settings menu links.
const SETTINGS_PATHS: [&str; 4] = ["/members", "/settings", "/billing", "/system"];

/// Whether `path` is one of the pages the Settings menu holds (so its
/// summary is marked current).
fn is_settings_path(path: &str) -> bool {
    SETTINGS_PATHS.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The settings pages in one disclosure: a `<details>`/`<summary>` opens
/// and closes without JavaScript, by mouse, touch or keyboard (the
/// summary is focusable; Enter or Space toggles it), and the browser
/// tells assistive technology whether it is expanded. Below `sm` the list
/// opens in the header's flow (no panel off the edge of a phone's
/// screen); from `sm` up it is a panel under the summary. A link is
/// offered only to the roles that may open its page.
#[component]
fn SettingsMenu(
    lang: Lang,
    here: bool,
    billing: bool,
    jobs: bool,
    integrations: bool,
    system: bool,
) -> impl IntoView {
    let l = lang;
    let link = "block rounded-md px-3 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700";
    view! {
        <details class="group relative open:basis-full sm:open:basis-auto" data-testid="settings-menu">
            <summary
                class="flex cursor-pointer list-none items-center gap-1 rounded-md px-3 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 data-[current=true]:bg-indigo-50 data-[current=true]:text-indigo-700 [&::-webkit-details-marker]:hidden"
                data-current=here.then_some("true")
            >
                {tr(l, "Settings")}
                <span aria-hidden="true" class="text-xs transition-transform group-open:rotate-180">"▾"</span>
            </summary>
            <div class="mt-1 flex flex-col gap-0.5 rounded-md border border-slate-200 bg-white p-1 sm:absolute sm:left-0 sm:z-20 sm:w-52 sm:shadow-lg">
                <A href="/members" attr:class=link>
                    {tr(l, "Members")}
                </A>
                <A href="/settings/security" attr:class=link>
                    {tr(l, "Security")}
                </A>
                // Every member may read the retention periods (only
                // `security.manage` changes them); offboarding is linked
                // from that page.
                <A href="/settings/privacy" attr:class=link>
                    {tr(l, "Privacy and retention")}
                </A>
                {billing.then(|| view! {
                    <A href="/billing" attr:class=link>
                        {tr(l, "Billing")}
                    </A>
                    <A href="/settings/branding" attr:class=link>
                        {tr(l, "Invoice branding")}
                    </A>
                })}
                {jobs.then(|| view! {
                    <A href="/settings/jobs" attr:class=link>
                        {tr(l, "Jobs")}
                    </A>
                })}
                {integrations.then(|| view! {
                    <A href="/settings/integrations" attr:class=link>
                        {tr(l, "Integrations")}
                    </A>
                })}
                {system.then(|| view! {
                    <A href="/system" attr:class=link>
                        {tr(l, "System")}
                    </A>
                })}
            </div>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::is_settings_path;

    #[test]
    fn the_settings_menu_is_current_on_its_pages_only() {
        for p in [
            "/members",
            "/settings/security",
            "/settings/jobs",
            "/billing",
            "/billing/invoices/x/pdf",
            "/system",
        ] {
            assert!(is_settings_path(p), "{p}");
        }
        for p in ["/", "/persons", "/membership", "/systems", "/deals"] {
            assert!(!is_settings_path(p), "{p}");
        }
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
