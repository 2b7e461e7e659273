//! Leptos pages, components and `#[server]` functions.
//!
//! Server functions are adapters: they fetch the request's context, call
//! one domain function, and return a DTO. Server-only code sits behind the
//! `ssr` feature so the wasm build never sees it.

pub mod api;
pub mod billing;
pub mod consent_text;
#[cfg(feature = "ssr")]
pub mod cookies;
pub mod crm;
pub mod error;
pub mod form_refusal;
pub mod i18n;
mod layout;
#[cfg(feature = "ssr")]
pub mod login_pages;
pub mod member_forms;
mod pages;
mod rendered;
pub mod security;
#[cfg(feature = "ssr")]
pub mod trust;
pub mod visitors;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, SsrMode, StaticSegment};

/// The build version shown in the footer: the crate version, plus the git
/// commit when the build was given one (`METIVA_GIT_SHA`, set by xtask).
pub const BUILD_VERSION: &str = env!("CARGO_PKG_VERSION");
pub const BUILD_COMMIT: Option<&str> = option_env!("METIVA_GIT_SHA");

/// Percent-encodes a query parameter value (RFC 3986 unreserved bytes
/// stay as they are). The one encoder, used by pages and the server.
pub fn query_escape(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, UNRESERVED_COMPLEMENT).to_string()
}

/// Everything but RFC 3986's unreserved characters is encoded.
const UNRESERVED_COMPLEMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The login service's origin, provided by the server: sign-out is a form
/// whose answer redirects there, so the CSP's `form-action` must allow it.
#[derive(Debug, Clone)]
pub struct LoginOrigin(pub String);

/// The field cipher's keys, provided by the server (decrypts stored,
/// truncated IPs for display; never sent to the browser).
#[cfg(feature = "ssr")]
#[derive(Clone)]
pub struct FieldKeys(pub std::sync::Arc<metiva_security::cipher::KeyRing>);

/// The ASN dataset the ingest path loaded (size only; for the visitors
/// page and its attribution).
#[derive(Debug, Clone, Copy, Default)]
pub struct AsnStatus {
    pub ranges: usize,
}

/// The dashboard's public URL, where client sites load the snippet from.
#[derive(Debug, Clone, Default)]
pub struct SnippetBase(pub String);

/// How this browser signs out when it ends its own session: the cookie
/// that drops the token cookie (with the attributes it was set with) and
/// the login service's signed-out page (provided by the server).
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct SignOut {
    pub clear_cookie: cookies::Cookie<'static>,
    pub signed_out_url: String,
}

/// A request's id, for audit rows and logs (set by the tenant guard).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Tenant-looking headers the browser sent with this request, which the
/// tenant guard ignored (set by the guard, shown on the security page).
#[derive(Debug, Clone, Default)]
pub struct IgnoredTenantHeaders(pub Vec<(String, String)>);

/// How this deployment handles data, read from the running configuration
/// (provided by the server; never holds a key).
#[derive(Debug, Clone)]
pub struct DataHandling {
    pub encryption_key_id: String,
    pub encryption_key_present: bool,
    pub keys_generated_locally: bool,
    pub region: Option<String>,
    pub production: bool,
}

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang=i18n::current().code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body class="bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// Sets a strict Content-Security-Policy on every rendered page.
///
/// # Security
/// Scripts run only from our origin or with this response's nonce (Leptos
/// puts it on its hydration and streaming scripts); wasm may compile
/// (`wasm-unsafe-eval`) but `eval` stays off. Nothing may frame the app,
/// and forms may post only to our origin.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let login = use_context::<LoginOrigin>()
        .map(|l| l.0)
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self' {login}; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/metiva.css" />
        <Title text="Metiva" />
        <Router>
            <div id="app" class="min-h-screen flex flex-col">
                <layout::HydrationMarker />
                <layout::Header />
                <main class="flex-1 mx-auto w-full min-w-0 max-w-5xl px-4 py-8">
                    <Routes fallback=pages::NotFound>
                        <Route path=StaticSegment("") view=pages::Overview ssr=SsrMode::Async />
                        // Async SSR: the HTML arrives with the data already in it, so the page
                        // works without JavaScript (out-of-order streaming needs JS to swap
                        // Suspense fallbacks).
                        <Route path=StaticSegment("system") view=pages::SystemPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("members") view=pages::MembersPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("settings"), StaticSegment("members")) view=pages::MembersPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("settings"), StaticSegment("security")) view=security::SecurityPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("settings"), StaticSegment("audit")) view=security::AuditPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("settings"), StaticSegment("sessions")) view=security::SessionsPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("settings"), StaticSegment("pipeline")) view=crm::PipelinePage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("settings"), StaticSegment("privacy")) view=crm::PrivacyPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("settings"), StaticSegment("offboarding")) view=crm::OffboardingPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("settings"), StaticSegment("jobs")) view=crm::JobsPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("settings"), StaticSegment("integrations")) view=crm::IntegrationsPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("settings"), StaticSegment("alerts")) view=crm::AlertsPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("settings"), StaticSegment("branding")) view=crm::BrandingPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("visitors") view=visitors::VisitorsPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("visitors"), ParamSegment("id")) view=crm::VisitorPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("consent") view=visitors::ConsentPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("persons") view=visitors::PersonsPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("persons"), ParamSegment("id")) view=visitors::PersonPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("search") view=crm::SearchPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("tasks") view=crm::TasksPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("organisations") view=crm::OrganisationsPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("organisations"), ParamSegment("id")) view=crm::OrganisationPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("import") view=crm::ImportPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("import"), ParamSegment("id")) view=crm::ImportPreviewPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("deals") view=crm::DealBoardPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("billing") view=billing::BillingPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("deals"), ParamSegment("id")) view=visitors::DealPage ssr=SsrMode::Async />
                    </Routes>
                </main>
                <layout::Footer />
            </div>
        </Router>
    }
}
