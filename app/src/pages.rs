//! The pages of the dashboard.

use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::api::{Fact, RunDatabaseCheck, isolation_status, system_status};

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
    let isolation = Resource::new(|| (), |_| isolation_status());

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
                            Ok(s) => view! { <FactList facts=s.facts /> }.into_any(),
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
            <div class="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
                <h2 class="font-medium">"Isolation"</h2>
                <div class="mt-4 min-h-24">
                    <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Checking the catalog…"</p> }>
                        {move || isolation.get().map(|r| match r {
                            Ok(i) => view! {
                                <p>
                                    <span
                                        data-testid="isolation-state"
                                        class=if i.isolated {
                                            "inline-flex rounded-md px-2 py-1 text-xs font-medium ring-1 ring-inset bg-emerald-50 text-emerald-800 ring-emerald-600/20"
                                        } else {
                                            "inline-flex rounded-md px-2 py-1 text-xs font-medium ring-1 ring-inset bg-red-50 text-red-800 ring-red-600/20"
                                        }
                                    >
                                        {if i.isolated { "Isolated" } else { "Not isolated" }}
                                    </span>
                                </p>
                                <FactList facts=i.facts />
                            }.into_any(),
                            Err(e) => view! {
                                <p role="alert" class="text-sm text-red-700">{e.to_string()}</p>
                            }.into_any(),
                        })}
                    </Suspense>
                </div>
            </div>
        </section>
    }
}

/// Labelled values, formatted by the server.
#[component]
fn FactList(facts: Vec<Fact>) -> impl IntoView {
    view! {
        <dl class="mt-3 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
            {facts
                .into_iter()
                .map(|f| view! {
                    <dt class="text-slate-500">{f.label}</dt>
                    <dd data-testid=f.testid>{f.value}</dd>
                })
                .collect_view()}
        </dl>
    }
}
