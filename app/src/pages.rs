//! The pages of the dashboard.

use leptos::form::ActionForm;
use leptos::prelude::*;

use crate::i18n::tr;

use leptos_router::hooks::use_query_map;

use crate::member_forms::{
    InviteForm, InviteLink, InviteText, MemberControls, MemberRowText, done_text, error_text,
};

use crate::api::{
    Fact, MembersDto, RunDatabaseCheck, SessionDto, current_session, isolation_status,
    list_members, system_status,
};

/// The page being rendered answers 404 (server-side; the pages render in
/// `SsrMode::Async`, so the status is set before anything is sent).
pub fn set_not_found() {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    let l = crate::i18n::current();
    set_not_found();
    view! {
        <section class="rounded-lg border border-slate-200 bg-white p-6">
            <h1 class="text-xl font-semibold">{tr(l, "Page not found")}</h1>
            <p class="mt-2 text-slate-600">
                {tr(l, "There is nothing at this address.")} " " <a class="text-indigo-700 underline" href="/">{tr(l, "Go to the overview")}</a>
            </p>
        </section>
    }
}

#[component]
pub fn Overview() -> impl IntoView {
    let l = crate::i18n::current();
    let session = Resource::new(|| (), crate::api::boxed(|_| current_session()));
    let card = crate::rendered::RenderedOnce::default();
    view! {
        <section class="space-y-6">
            {overview_intro(l)}
            <Suspense fallback=move || view! { <div class="h-32 rounded-lg border border-slate-200 bg-white"></div> }>
                {move || session.with(|r| r.as_ref().map(|r| match r {
                    Ok(s) => workspace_card(&card, s),
                    Err(e) => view! { <crate::error::ErrorView error=e.clone() /> }.into_any(),
                }))}
            </Suspense>
            {overview_promises(l)}
        </section>
    }
}

/// The overview's heading and introduction: the same for every request
/// in a language, so rendered once per language (catalog text only).
fn overview_intro(l: crate::i18n::Lang) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        static INTRO: crate::rendered::PerLanguage = crate::rendered::PerLanguage::new();
        INTRO.render(l, |l| view! {
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Overview")}</h1>
                <p class="mt-1 text-slate-600">
                    {tr(l, "Your agency's workspace for client leads, contacts, deals and website visitors, isolated per client by the database itself.")}
                </p>
            </div>
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = l;
        ().into_any()
    }
}

/// The three promises and the link to the System page: catalog text only,
/// rendered once per language (see [`overview_intro`]).
fn overview_promises(l: crate::i18n::Lang) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        static PROMISES: crate::rendered::PerLanguage = crate::rendered::PerLanguage::new();
        PROMISES.render(l, |l| view! {
            <div class="grid gap-4 sm:grid-cols-3">
                <Promise title=tr(l, "Isolated per client") body=tr(l, "Every query runs inside one company's own tenant context, enforced by PostgreSQL row-level security.") />
                <Promise title=tr(l, "Consent, deny by default") body=tr(l, "Nothing identifies a website visitor before they agree.") />
                <Promise title=tr(l, "IP truncated and encrypted") body=tr(l, "Stored addresses are cut to /24 or /48 and encrypted with AES-256-GCM.") />
            </div>
            <p class="text-sm text-slate-600">
                {tr(l, "See the live state of the database on the")} " " <a class="text-indigo-700 underline" href="/system">{tr(l, "System page")}</a> "."
            </p>
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = l;
        ().into_any()
    }
}

/// The workspace card, rendered once per request (see `crate::rendered`);
/// none in the browser, where this page is never rendered (no island).
fn workspace_card(card: &crate::rendered::RenderedOnce, s: &SessionDto) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        card.render(|| view! { <WorkspaceCard s=s.clone() /> })
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (card, s);
        ().into_any()
    }
}

/// The workspace this session is bound to, straight from the signed token.
#[cfg(feature = "ssr")]
#[component]
fn WorkspaceCard(s: SessionDto) -> impl IntoView {
    let l = crate::i18n::current();
    let role = crate::i18n::role(l, &s.role);
    view! {
        <div class="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
            <div class="flex flex-wrap items-start justify-between gap-4">
                <div>
                    <p class="text-sm text-slate-500">{tr(l, "Workspace")}</p>
                    <h2 class="text-lg font-semibold" data-testid="company-name">{s.company_name}</h2>
                    <p class="mt-1 font-mono text-sm text-slate-700" data-testid="company-id">{s.company_id}</p>
                </div>
                <div class="flex flex-wrap gap-2">
                    <a
                        href="/auth/switch"
                        class="rounded-md border border-slate-300 px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                    >
                        {tr(l, "Switch workspace")}
                    </a>
                    <form method="post" action="/auth/logout">
                        <button
                            type="submit"
                            class="rounded-md bg-slate-800 px-3 py-2 text-sm font-medium text-white hover:bg-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2"
                        >
                            {tr(l, "Sign out")}
                        </button>
                    </form>
                </div>
            </div>
            <dl class="mt-4 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
                <dt class="text-slate-500">{tr(l, "Signed in as")}</dt>
                <dd data-testid="user-email">{s.user_email}</dd>
                <dt class="text-slate-500">{tr(l, "Role")}</dt>
                <dd data-testid="user-role" class="capitalize">{role}</dd>
                <dt class="text-slate-500">{tr(l, "Tenant binding")}</dt>
                <dd>{tr(l, "Signed token, fail-closed. Browser-sent headers are ignored: the claim always wins.")}</dd>
            </dl>
        </div>
    }
}

#[cfg(feature = "ssr")]
#[component]
fn Promise(title: &'static str, body: &'static str) -> impl IntoView {
    view! {
        <div class="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
            <h2 class="font-medium text-slate-900">{title}</h2>
            <p class="mt-1 text-sm text-slate-600">{body}</p>
        </div>
    }
}

#[component]
pub fn SystemPage() -> impl IntoView {
    let l = crate::i18n::current();
    let isolation = Resource::new(|| (), crate::api::boxed(|_| isolation_status()));
    view! {
        <section class="space-y-6">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "System")}</h1>
                <p class="mt-1 text-slate-600">{tr(l, "Live facts read from the running database.")}</p>
            </div>
            <DatabaseCard text=CardText {
                title: tr(l, "Database").into(),
                loading: tr(l, "Loading…").into(),
                run: tr(l, "Run database check").into(),
            } />
            <div class="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
                <h2 class="font-medium">{tr(l, "Isolation")}</h2>
                <div class="mt-4 min-h-24">
                    <Suspense fallback=move || view! { <p class="text-sm text-slate-500">{tr(l, "Checking the catalog…")}</p> }>
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
                                        {tr(l, if i.isolated { "Isolated" } else { "Not isolated" })}
                                    </span>
                                </p>
                                <FactList facts=i.facts />
                            }.into_any(),
                            Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                        })}
                    </Suspense>
                </div>
            </div>
        </section>
    }
}

/// Database status, plus a button that records a check through a server
/// function: an island, the only part of the page that ships code. With
/// JavaScript the card updates in place; without it the form posts, the
/// server redirects back, and the fresh render shows it.
#[island]
fn DatabaseCard(text: CardText) -> impl IntoView {
    let CardText {
        title,
        loading,
        run,
    } = text;
    let check = ServerAction::<RunDatabaseCheck>::new();
    let status = Resource::new(
        move || check.version().get(),
        crate::api::boxed(|_| system_status()),
    );
    let pending = check.pending();
    view! {
            <div class="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
                <h2 class="font-medium">{title}</h2>
                // Fixed min-height so the card does not jump while loading.
                <div class="mt-4 min-h-24">
                    <Transition fallback=move || view! { <p class="text-sm text-slate-500">{loading.clone()}</p> }>
                        {move || status.get().map(|r| match r {
                            Ok(s) => view! { <FactList facts=s.facts /> }.into_any(),
                            Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
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
                        {run}
                    </button>
                </ActionForm>
            </div>
    }
}

/// The database card's words, translated on the server: islands carry
/// their strings as props, so the i18n catalog stays out of the wasm.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CardText {
    pub title: String,
    pub loading: String,
    pub run: String,
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

/// Member management. Everyone in the workspace sees who is in it; only a
/// role with `members.manage` gets the controls, and the server checks
/// the permission again on every action.
#[component]
pub fn MembersPage() -> impl IntoView {
    let l = crate::i18n::current();
    let members = Resource::new(|| (), crate::api::boxed(|_| list_members()));
    let query = use_query_map();
    let notice = move || notice(l, &query.read());
    view! {
        <section class="space-y-6">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Members")}</h1>
                <p class="mt-1 text-slate-600">{tr(l, "Who can enter this workspace, and with which role.")}</p>
            </div>
            {notice}
            <Suspense fallback=move || view! { <div class="h-40 rounded-lg border border-slate-200 bg-white"></div> }>
                {move || members.get().map(|r| match r {
                    Ok(m) => view! { <MemberList m /> }.into_any(),
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
            <RoleMatrix />
        </section>
    }
}

/// The message a form left in the query (`?done=` or `?error=`): a code,
/// never data, translated here.
pub fn notice(l: crate::i18n::Lang, q: &leptos_router::params::ParamsMap) -> Option<AnyView> {
    if let Some(done) = q.get("done") {
        let text = tr(l, done_text(&done));
        Some(view! { <p role="status" class="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">{text}</p> }.into_any())
    } else {
        q.get("error").map(|e| {
            let text = tr(l, error_text(&e));
            view! { <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{text}</p> }.into_any()
        })
    }
}

/// Roles × permissions, rendered from the one registry the server
/// enforces (`metiva-roles`).
#[component]
fn RoleMatrix() -> impl IntoView {
    let l = crate::i18n::current();
    use metiva_roles::{Permission, Role};
    let head = Role::ALL
        .iter()
        .map(|r| view! { <th scope="col" class="px-2 pb-2 text-center font-medium capitalize">{crate::i18n::role(l, r.key())}</th> })
        .collect_view();
    let rows = Permission::ALL
        .iter()
        .map(|p| {
            let cells = Role::ALL
                .iter()
                .map(|r| {
                    let yes = r.can(*p);
                    view! {
                        <td class="px-2 py-1 text-center" data-role=r.key() data-permission=p.key()>
                            {if yes { "✓" } else { "—" }}
                            <span class="sr-only">" " {tr(l, if yes { "allowed" } else { "not allowed" })}</span>
                        </td>
                    }
                })
                .collect_view();
            view! {
                <tr class="border-t border-slate-100">
                    <th scope="row" class="py-1 pr-4 text-left font-mono text-xs font-normal">{p.key()}</th>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white p-6 shadow-sm" data-testid="role-matrix">
            <h2 class="font-medium">{tr(l, "Roles and permissions")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "From the one registry the server enforces.")}</p>
            <table class="mt-4 w-full text-sm">
                <thead class="text-slate-500">
                    <tr><th scope="col" class="pb-2 pr-4 text-left font-medium">{tr(l, "Permission")}</th>{head}</tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn MemberList(m: MembersDto) -> impl IntoView {
    let l = crate::i18n::current();
    let can_manage = m.can_manage;
    let grantable = m.grantable.clone();
    let self_id = m.self_id.clone();
    let rows = m
        .members
        .into_iter()
        .map(|row| {
            let controls = (can_manage && row.user_id != self_id).then(|| {
                let roles = grantable
                    .iter()
                    .map(|r| (r.clone(), crate::i18n::role(l, r).to_string()))
                    .collect::<Vec<_>>();
                let text = MemberRowText::new(l, &row.name);
                view! {
                    <MemberControls
                        user_id=row.user_id.clone()
                        role=row.role.clone()
                        suspended=row.status == "suspended"
                        roles
                        text
                    />
                }
            });
            view! {
                <tr class="border-t border-slate-100 align-top" data-testid="member-row">
                    <td class="py-3 pr-4">
                        <div class="font-medium">{row.name}</div>
                        <div class="text-slate-500">{row.email}</div>
                    </td>
                    <td class="py-3 pr-4" data-testid="member-role">{crate::i18n::role(l, &row.role)}</td>
                    <td class="py-3 pr-4">{crate::i18n::status(l, &row.status)}</td>
                    <td class="py-3 pr-4 text-slate-500">{if row.last_sign_in == "never" { tr(l, "never").to_string() } else { row.last_sign_in.clone() }}</td>
                    <td class="py-3">{controls}</td>
                </tr>
            }
        })
        .collect_view();
    let invite = can_manage.then(|| {
        let roles = grantable
            .iter()
            // The least powerful role is the default.
            .map(|r| {
                (
                    r.clone(),
                    crate::i18n::role(l, r).to_string(),
                    r == "member",
                )
            })
            .collect::<Vec<_>>();
        view! { <InviteForm roles text=InviteText::new(l) /> }
    });
    // A link created by a plain form post (no JavaScript), shown once.
    let flash = m.invite_link.map(|link| {
        let t = InviteText::new(l);
        view! { <InviteLink link created=None send_once=t.send_once /> }
    });
    view! {
        {(!can_manage).then(|| view! {
            <p role="status" data-testid="members-readonly" class="rounded-md border border-slate-200 bg-white px-3 py-2 text-sm text-slate-700">
                {tr(l, "Member management is not available for your role. Ask an owner or admin to make changes.")}
            </p>
        })}
        {flash}
        {invite}
        <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
            <table class="w-full text-left text-sm">
                <thead class="text-slate-500">
                    <tr>
                        <th scope="col" class="pb-2 pr-4 font-medium">{tr(l, "Member")}</th>
                        <th scope="col" class="pb-2 pr-4 font-medium">{tr(l, "Role")}</th>
                        <th scope="col" class="pb-2 pr-4 font-medium">{tr(l, "Status")}</th>
                        <th scope="col" class="pb-2 pr-4 font-medium">{tr(l, "Last sign-in")}</th>
                        <th scope="col" class="pb-2 font-medium"><span class="sr-only">{tr(l, "Actions")}</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
