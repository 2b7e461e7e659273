//! The frame around every page: header with navigation, and the footer.
//!
//! Both are rendered on the server only (islands: neither is an island, so
//! the browser never renders or hydrates them), synchronously, each into
//! one string (issue 15): through the page's async render every element
//! became a future moved by value several times, and the router's `<A>`
//! links each built memos to mark the current page, which a plain `<a>`
//! with `aria-current` decided here marks alike (there is no client-side
//! router to enhance the links).
//!
//! # Security
//! The header offers links by the request's verified tenant context (its
//! role's permissions) and marks the current one by the request's path.
//! Its links are kept per key (language, offered links, current links:
//! never a tenant, a name or the path's text; see [`nav_html`]); the
//! language links back to the path are rendered per request, never
//! shared. The footer and the search box hold only catalog text and
//! build constants, so each is rendered once per language and kept. Every string is escaped by
//! Leptos's own render, as anywhere else.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::i18n::{Lang, tr};

/// Which header links the request's role is offered (see [`Header`]).
#[cfg(feature = "ssr")]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
struct Offered {
    billing: bool,
    jobs: bool,
    integrations: bool,
    system: bool,
}

/// Everything the header's links depend on: the language, the links the
/// role is offered, and which links mark the current page (one bit per
/// entry of [`LINKS`], and [`SETTINGS_HERE`]). No tenant, no name, no
/// path: the links' markup is a function of this key alone, so one
/// rendering serves every request with the same key (see [`nav_html`]).
#[cfg(feature = "ssr")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct NavKey {
    lang: Lang,
    offered: Offered,
    current: u32,
}

/// The header's links, in order: the brand, the overview (current on `/`
/// only), the six main pages, then the settings menu's eight.
#[cfg(feature = "ssr")]
const LINKS: [&str; 16] = [
    "/",
    "/",
    "/persons",
    "/tasks",
    "/organisations",
    "/deals",
    "/visitors",
    "/consent",
    "/members",
    "/settings/security",
    "/settings/privacy",
    "/billing",
    "/settings/branding",
    "/settings/jobs",
    "/settings/integrations",
    "/system",
];

/// Entry `i` of [`LINKS`] (the views ask for the sixteen only).
#[cfg(feature = "ssr")]
fn href(i: usize) -> &'static str {
    LINKS.get(i).copied().unwrap_or_default()
}

/// The bit of [`NavKey::current`] that marks the settings menu current.
#[cfg(feature = "ssr")]
const SETTINGS_HERE: u32 = 1 << LINKS.len();

#[cfg(feature = "ssr")]
impl NavKey {
    fn new(lang: Lang, offered: Offered, path: &str) -> Self {
        let mut current = 0;
        for (i, href) in LINKS.iter().enumerate() {
            // The overview (entry 1) is exact; the others are current on
            // their page and below it.
            let on = if i == 1 {
                path == "/"
            } else {
                current_page(href, path).is_some()
            };
            if on {
                current |= 1 << i;
            }
        }
        if is_settings_path(path) {
            current |= SETTINGS_HERE;
        }
        Self {
            lang,
            offered,
            current,
        }
    }

    /// `aria-current="page"` for entry `i` of [`LINKS`] when it is current.
    fn on(self, i: usize) -> Option<&'static str> {
        (self.current & (1 << i) != 0).then_some("page")
    }
}

#[component]
pub fn Header() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        crate::rendered::now(header_view())
    }
    #[cfg(not(feature = "ssr"))]
    {
        ().into_any()
    }
}

/// The header's view (rendered to a string by [`Header`]): the links,
/// kept by [`nav_html`], the search box, kept per language, and per
/// request the language links back to this path.
#[cfg(feature = "ssr")]
fn header_view() -> impl IntoView {
    let l = crate::i18n::current();
    let path = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    // A link is offered only to the roles that may open its page (the
    // System page needs `security.manage`, billing `billing.read`, jobs
    // `jobs.read`, integrations `integrations.manage`); other roles are
    // not offered a link that would only answer 403. The request's
    // verified tenant context decides, read in place (one lookup, no
    // clone of the request head).
    let offered = with_context::<http::request::Parts, _>(|p| {
        p.extensions.get::<metiva_db::TenantCtx>().map(|c| Offered {
            billing: c.can(metiva_roles::Permission::BillingRead),
            jobs: c.can(metiva_roles::Permission::JobsRead),
            integrations: c.can(metiva_roles::Permission::IntegrationsManage),
            system: c.can(metiva_roles::Permission::SecurityManage),
        })
    })
    .flatten()
    .unwrap_or_default();
    let nav = nav_html(NavKey::new(l, offered, &path));
    // The search box: catalog text only, kept per language.
    static SEARCH: crate::rendered::PerLanguage = crate::rendered::PerLanguage::new();
    view! {
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex max-w-5xl flex-wrap items-center gap-4 px-4 py-3">
                {leptos::tachys::html::InertElement::new(nav)}
                // Search and language stay together at the right (on a
                // row of their own when the links leave no room).
                <div class="ml-auto flex flex-wrap items-center gap-4">
                    {SEARCH.render(l, |l| view! { <crate::crm::SearchBox l /> })}
                    <LanguageLinks lang=l base=path />
                </div>
            </div>
        </header>
    }
}

/// The markup of the brand link and the navigation for `key`, rendered
/// once per key and kept for the process.
///
/// # Security
/// The view is built from `key` alone (language, which links the role is
/// offered, which are current), never from a tenant, a name or the path's
/// text, so a kept string shows a request exactly what its own rendering
/// would: nothing of another workspace. The keys are few (two languages,
/// sixteen offers, and one current link or two), so the map stays small.
#[cfg(feature = "ssr")]
fn nav_html(key: NavKey) -> String {
    use std::collections::HashMap;
    use std::sync::{LazyLock, RwLock};
    static KEPT: LazyLock<RwLock<HashMap<NavKey, String>>> = LazyLock::new(Default::default);
    // A poisoned lock only means a render panicked: the map holds whole
    // renders only (inserted after rendering), so it is still sound.
    if let Some(html) = KEPT
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
    {
        return html.clone();
    }
    let html = nav_view(key).to_html();
    KEPT.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, html.clone());
    html
}

/// The brand link and the navigation, from `key` alone.
#[cfg(feature = "ssr")]
fn nav_view(key: NavKey) -> impl IntoView {
    let l = key.lang;
    let link = "rounded-md px-3 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700";
    let nav = |i: usize, text: &'static str| {
        view! { <a href=href(i) aria-current=key.on(i) class=link>{tr(l, text)}</a> }
    };
    view! {
        <a href="/" aria-current=key.on(0) class="flex items-center gap-2 font-semibold text-slate-900">
            <span aria-hidden="true" class="inline-block h-6 w-6 rounded bg-indigo-600"></span>
            "Metiva"
        </a>
        <nav aria-label="Main" class="flex flex-wrap gap-1">
            {nav(1, "Overview")}
            {nav(2, "Persons")}
            {nav(3, "Tasks")}
            {nav(4, "Organisations")}
            {nav(5, "Deals")}
            {nav(6, "Visitors")}
            {nav(7, "Consent")}
            <SettingsMenu key />
        </nav>
    }
}

/// `aria-current="page"` when `path` is `href` or a page under it, as the
/// router's `<A>` marks a link that is not `exact` (its `is_active_for`,
/// segment by segment, without a trailing-slash rule: no link here ends
/// in one). For the links here (no empty segment but the first) that is
/// a prefix test, without splitting the path sixteen times a request
/// (issue 15); a test holds it to the segment rule.
#[cfg(feature = "ssr")]
fn current_page(href: &str, path: &str) -> Option<&'static str> {
    let active = if href == "/" {
        // Segments "" and "": the path's first two are empty, or it has one.
        path.is_empty() || path == "/" || path.starts_with("//")
    } else {
        path.strip_prefix(href)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    active.then_some("page")
}

/// The workspace's settings pages, each a path the Settings menu links.
#[cfg(feature = "ssr")]
const SETTINGS_PATHS: [&str; 4] = ["/members", "/settings", "/billing", "/system"];

/// Whether `path` is one of the pages the Settings menu holds (so its
/// summary is marked current).
#[cfg(feature = "ssr")]
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
#[cfg(feature = "ssr")]
#[component]
fn SettingsMenu(key: NavKey) -> impl IntoView {
    let l = key.lang;
    let link = "block rounded-md px-3 py-2 text-sm font-medium text-slate-600 hover:bg-slate-100 hover:text-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700";
    let item = move |i: usize, text: &'static str| {
        view! { <a href=href(i) aria-current=key.on(i) class=link>{tr(l, text)}</a> }
    };
    let here = key.current & SETTINGS_HERE != 0;
    let Offered {
        billing,
        jobs,
        integrations,
        system,
    } = key.offered;
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
                {item(8, "Members")}
                {item(9, "Security")}
                // Every member may read the retention periods (only
                // `security.manage` changes them); offboarding is linked
                // from that page.
                {item(10, "Privacy and retention")}
                {billing.then(|| view! {
                    {item(11, "Billing")}
                    {item(12, "Invoice branding")}
                })}
                {jobs.then(|| item(13, "Jobs"))}
                {integrations.then(|| item(14, "Integrations"))}
                {system.then(|| item(15, "System"))}
            </div>
        </details>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::{LINKS, NavKey, Offered, SETTINGS_HERE, current_page, is_settings_path};
    use crate::i18n::Lang;

    #[test]
    fn the_kept_links_key_marks_the_current_links_only() {
        let key = |path: &str| NavKey::new(Lang::En, Offered::default(), path).current;
        // The brand and the overview on `/`; the overview nowhere else.
        assert_eq!(key("/"), 0b11);
        assert_eq!(key("/persons/6f043dc6"), 1 << 2);
        assert_eq!(key("/persons"), 1 << 2);
        assert_eq!(key("/settings/security"), 1 << 9 | SETTINGS_HERE);
        assert_eq!(key("/billing/invoices/x"), 1 << 11 | SETTINGS_HERE);
        assert_eq!(key("/nothing"), 0);
        assert_eq!(LINKS.len(), 16);
    }

    #[test]
    fn a_link_is_current_on_its_page_and_below_it_as_the_router_marks_it() {
        for (href, path) in [
            ("/", "/"),
            ("/persons", "/persons"),
            ("/persons", "/persons/"),
            ("/persons", "/persons/6f043dc6"),
            ("/settings/security", "/settings/security"),
            ("/settings/jobs", "/settings/jobs/x"),
        ] {
            assert_eq!(current_page(href, path), Some("page"), "{href} {path}");
        }
        for (href, path) in [
            ("/", "/persons"),
            ("/persons", "/"),
            ("/persons", "/personsx"),
            ("/persons", "/person"),
            ("/deals", "/persons/deals"),
            ("/settings/security", "/settings"),
            ("/settings/security", "/settings/privacy"),
        ] {
            assert_eq!(current_page(href, path), None, "{href} {path}");
        }
    }

    /// The router's rule, segment by segment (`is_active_for`), which
    /// [`current_page`] answers by prefix for the links here.
    fn by_segments(href: &str, path: &str) -> bool {
        let mut href_parts = href.split('/');
        let matches = path
            .split('/')
            .zip(href_parts.by_ref())
            .enumerate()
            .all(|(i, (p, h))| p == h || (h.is_empty() && i > 1));
        matches && matches!(href_parts.next(), None | Some(""))
    }

    #[test]
    fn the_prefix_test_answers_as_the_segment_rule_for_every_link() {
        let paths = [
            "",
            "/",
            "//",
            "//x",
            "/x",
            "x",
            "/persons",
            "/persons/",
            "/persons//",
            "/persons/x",
            "/personsx",
            "/person",
            "/persons/x/y",
            "/settings",
            "/settings/",
            "/settings/security",
            "/settings/securityx",
            "/settings/security/x",
            "/settings//security",
            "/billing",
            "/billing/invoices",
            "/system",
            "/systems",
            "/deals/persons",
            "persons",
        ];
        for href in LINKS {
            for path in paths {
                assert_eq!(
                    current_page(href, path).is_some(),
                    by_segments(href, path),
                    "{href} {path}"
                );
            }
        }
    }

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
/// (the dashboard's header and the login service's frame; server only).
#[cfg(feature = "ssr")]
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
    #[cfg(feature = "ssr")]
    {
        // Kept per language for the process: catalog text and build
        // constants only, nothing of a request or a workspace.
        static FOOTER: crate::rendered::PerLanguage = crate::rendered::PerLanguage::new();
        FOOTER.render(crate::i18n::current(), footer_view)
    }
    #[cfg(not(feature = "ssr"))]
    {
        ().into_any()
    }
}

/// The footer's view (rendered once per language by [`Footer`]).
#[cfg(feature = "ssr")]
fn footer_view(l: Lang) -> impl IntoView {
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
