//! The pages of the dashboard.

use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::api::{RunDatabaseCheck, SystemStatusDto, system_status};

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="rounded-lg border border-slate-200 bg-white p-6">
            <h1 class="text-xl font-semibold">"Page not found"</h1>
            <p class="mt-2 text-slate-600">
                "There is nothing at this address. " <a class="text-indigo-700 underline" href="/">"Go to the overview"</a>
            </p>
        </section>
    }
}

#[component]
pub fn Overview() -> impl IntoView {
    view! {
        <section class="space-y-6">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">"Overview"</h1>
                <p class="mt-1 text-slate-600">
                    "Your agency's workspace for client leads, contacts, deals and website visitors, isolated per client by the database itself."
                </p>
            </div>
            <div class="grid gap-4 sm:grid-cols-3">
                <Promise title="Isolated per client" body="Every query runs inside one company's own tenant context, enforced by PostgreSQL row-level security." />
                <Promise title="Consent, deny by default" body="Nothing identifies a website visitor before they agree." />
                <Promise title="IP truncated and encrypted" body="Stored addresses are cut to /24 or /48 and encrypted with AES-256-GCM." />
            </div>
            <p class="text-sm text-slate-600">
                "See the live state of the database on the " <a class="text-indigo-700 underline" href="/system">"System page"</a> "."
            </p>
        </section>
    }
}

#[component]
fn Promise(title: &'static str, body: &'static str) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
            <h2 class="font-medium text-slate-900">{title}</h2>
            <p class="mt-1 text-sm text-slate-600">{body}</p>
        </div>
    }
}

/// Database status, plus a button that records a check through a server
/// function. With JavaScript the card updates in place; without it the
/// form posts, the server redirects back, and the fresh render shows it.
#[component]
pub fn SystemPage() -> impl IntoView {
    let check = ServerAction::<RunDatabaseCheck>::new();
    let status = Resource::new(move || check.version().get(), |_| system_status());
    let pending = check.pending();

    view! {
        <section class="space-y-6">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">"System"</h1>
                <p class="mt-1 text-slate-600">"Live facts read from the running database."</p>
            </div>
            <div class="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
                <h2 class="font-medium">"Database"</h2>
                // Fixed min-height so the card does not jump while loading.
                <div class="mt-4 min-h-24">
                    <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                        {move || status.get().map(|r| match r {
                            Ok(s) => view! { <StatusTable s /> }.into_any(),
                            Err(e) => view! {
                                <p role="alert" class="text-sm text-red-700">{e.to_string()}</p>
                            }.into_any(),
                        })}
                    </Transition>
                </div>
                <ActionForm action=check attr:class="mt-4">
                    <button
                        type="submit"
                        data-testid="run-check"
                        class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-60"
                        disabled=move || pending.get()
                    >
                        "Run database check"
                    </button>
                </ActionForm>
            </div>
        </section>
    }
}

#[component]
fn StatusTable(s: SystemStatusDto) -> impl IntoView {
    let last = match (s.last_check_at, s.last_round_trip_us) {
        (Some(at), Some(us)) => format!("{at}, {us} µs round trip"),
        _ => "never".to_string(),
    };
    view! {
        <dl class="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
            <dt class="text-slate-500">"PostgreSQL"</dt>
            <dd data-testid="server-version">{s.server_version}</dd>
            <dt class="text-slate-500">"Runtime role"</dt>
            <dd data-testid="runtime-role" class="font-mono">{s.runtime_role}</dd>
            <dt class="text-slate-500">"Checks recorded"</dt>
            <dd data-testid="checks-recorded">{s.checks_recorded}</dd>
            <dt class="text-slate-500">"Last check"</dt>
            <dd data-testid="last-check">{last}</dd>
        </dl>
    }
}
