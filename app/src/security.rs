//! `/settings/security`: the live trust center for the current workspace.
//! Every value is read from the running system: the request's verified
//! token, the database catalog, the configuration.

use leptos::prelude::*;

use crate::i18n::tr;
use crate::member_forms::RevokeButton;
use serde::{Deserialize, Serialize};

use crate::api::Fact;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceDto {
    pub company_id: String,
    pub name: String,
    pub role: String,
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityDto {
    pub company_id: String,
    pub company_name: String,
    /// Tenant-looking headers this request carried, which were ignored.
    pub ignored: Vec<(String, String)>,
    pub workspaces: Vec<WorkspaceDto>,
    /// True when every tenant table has FORCE RLS and a restrictive
    /// policy, and the runtime role cannot bypass them (checked now).
    pub isolated: bool,
    pub isolation_line: String,
    pub data_handling: Vec<Fact>,
    pub dev_keys_warning: bool,
    pub last_self_test: Option<String>,
    /// Whether the viewer may open the audit log (the server checks too).
    pub can_read_audit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfTestStepDto {
    pub label: String,
    pub passed: bool,
    pub detail: String,
}

/// Everything the security page shows, read live.
#[server(endpoint = "security_overview")]
pub async fn security_overview() -> Result<SecurityDto, ServerFnError> {
    use crate::api::ssr;
    let ctx = ssr::tenant()?;
    let db = ssr::database()?;
    let l = crate::i18n::current();
    let ignored = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<crate::IgnoredTenantHeaders>().cloned())
        .map(|i| i.0)
        .unwrap_or_default();
    let workspaces = db.session_workspaces(&ctx).await.map_err(ssr::db_failure)?;
    let posture = db.read_role_posture().await.map_err(ssr::db_failure)?;
    let (findings, tables) = db.lint_catalog().await.map_err(ssr::db_failure)?;
    let isolated = findings.is_empty()
        && !posture.superuser
        && !posture.bypass_rls
        && posture.privileged_memberships.is_empty()
        && posture.owned_tenant_tables.is_empty();
    let checked = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC");
    let isolation_line = if isolated {
        format!(
            "{} {checked}: {tables} {}",
            tr(l, "Checked"),
            tr(
                l,
                "tenant tables, each with row-level security enabled and forced and a restrictive tenant policy; the runtime role cannot bypass them."
            )
        )
    } else {
        format!(
            "{} {checked}: {tables} {} {}",
            tr(l, "Checked"),
            tr(l, "tenant tables, problems found:"),
            findings.len()
        )
    };
    let dh = use_context::<crate::DataHandling>()
        .ok_or_else(|| ServerFnError::new("server misconfigured"))?;
    let key = if dh.keys_generated_locally {
        format!(
            "{}, {} (key id {})",
            tr(l, "Present"),
            tr(
                l,
                "GENERATED LOCALLY FOR DEVELOPMENT; never use these keys in production"
            ),
            dh.encryption_key_id
        )
    } else if dh.encryption_key_present {
        format!("{} (key id {})", tr(l, "Present"), dh.encryption_key_id)
    } else {
        tr(l, "Missing").to_string()
    };
    let data_handling = vec![
        Fact::new(tr(l, "Consent"), tr(l, "Deny by default"), "fact-consent"),
        Fact::new(
            tr(l, "IP at rest"),
            format!(
                "{} (IPv4 /24, IPv6 /48; AES-256-GCM, key id {})",
                tr(l, "Truncated + encrypted"),
                dh.encryption_key_id
            ),
            "fact-ip",
        ),
        Fact::new(
            tr(l, "Region"),
            dh.region
                .clone()
                .unwrap_or_else(|| tr(l, "not set (development)").into()),
            "fact-region",
        ),
        Fact::new(tr(l, "Encryption key"), key, "fact-key"),
    ];
    let last_self_test =
        db.last_self_test(&ctx)
            .await
            .map_err(ssr::db_failure)?
            .map(|(at, outcome)| {
                let at = at.format("%Y-%m-%d %H:%M:%S UTC");
                let word = if outcome == "passed" {
                    tr(l, "passed at")
                } else {
                    tr(l, "failed at")
                };
                format!("{word} {at}")
            });
    Ok(SecurityDto {
        company_id: ctx.company().to_string(),
        company_name: ctx.company_name().to_string(),
        ignored,
        workspaces: workspaces
            .into_iter()
            .map(|(c, name, role)| WorkspaceDto {
                current: c == *ctx.company(),
                company_id: c.to_string(),
                name,
                role,
            })
            .collect(),
        isolated,
        isolation_line,
        data_handling,
        dev_keys_warning: dh.keys_generated_locally,
        last_self_test,
        can_read_audit: ctx.can(metiva_roles::Permission::AuditRead),
    })
}

/// Runs the isolation self-test inside the caller's own workspace; each
/// run is audited. Any member may run it: it reads and writes nothing of
/// the workspace's data (its probe write is refused and rolled back).
#[server(endpoint = "run_self_test")]
pub async fn run_self_test() -> Result<Vec<SelfTestStepDto>, ServerFnError> {
    use crate::api::ssr;
    let ctx = ssr::tenant()?;
    let db = ssr::database()?;
    let rid = crate::api::ssr::request_id();
    let l = crate::i18n::current();
    let steps = db
        .isolation_self_test(&ctx, &rid)
        .await
        .map_err(ssr::db_failure)?;
    Ok(steps
        .into_iter()
        .map(|s| SelfTestStepDto {
            label: tr(
                l,
                match s.key {
                    "no_context" => "With the tenant context removed, reads see 0 rows",
                    "foreign_read" => "Reading rows of a workspace you do not own returns nothing",
                    "foreign_write" => "A write with a foreign company_id is rejected",
                    _ => "Fail",
                },
            )
            .to_string(),
            passed: s.passed,
            detail: self_test_detail(l, s.detail),
        })
        .collect())
}

/// A self-test step's finding in the user's language. PostgreSQL's own
/// message is quoted as it came.
#[cfg(feature = "ssr")]
fn self_test_detail(l: crate::i18n::Lang, d: metiva_db::self_test::SelfTestDetail) -> String {
    use metiva_db::self_test::SelfTestDetail as D;
    match d {
        D::NoContext { setting, visible } => {
            format!(
                "app.company_id = {setting:?}; {visible} {}",
                tr(l, "rows visible")
            )
        }
        D::ForeignRead { foreign, own } => format!(
            "{foreign} {}; {own} {}",
            tr(l, "rows of other workspaces returned"),
            tr(l, "of your own persons visible")
        ),
        D::WriteRefused(e) => format!("{}: {e}", tr(l, "refused by PostgreSQL")),
        D::WriteRefusedOtherwise(e) => {
            format!("{}: {e}", tr(l, "refused, but not by row-level security"))
        }
        D::Written(n) => format!("{n} {}", tr(l, "row(s) written (rolled back)")),
    }
}

const PANEL: &str = "rounded-lg border border-slate-200 bg-white p-6 shadow-sm";
const OK_BADGE: &str = "inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset bg-emerald-50 text-emerald-800 ring-emerald-600/20";
const BAD_BADGE: &str = "inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset bg-red-50 text-red-800 ring-red-600/20";

#[component]
pub fn SecurityPage() -> impl IntoView {
    let l = crate::i18n::current();
    let overview = Resource::new(|| (), |_| security_overview());
    view! {
        <section class="space-y-6">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Security and isolation")}</h1>
                <p class="mt-1 text-slate-600">{tr(l, "Read live from this workspace's token, the database catalog and the running configuration.")}</p>
            </div>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || overview.get().map(|r| match r {
                    Ok(s) => view! { <Panels s /> }.into_any(),
                    Err(e) => view! { <p role="alert" class="text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Panels(s: SecurityDto) -> impl IntoView {
    let l = crate::i18n::current();
    let ignored = (!s.ignored.is_empty()).then(|| {
        let list = s
            .ignored
            .iter()
            .map(|(h, v)| format!("{h}: {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        view! {
            <p role="status" data-testid="ignored-headers" class="mt-4 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
                {format!("{} {list}. {}", tr(l, "This request carried a tenant-looking header, which was ignored:"), tr(l, "The workspace above comes from the signed token."))}
            </p>
        }
    });
    let workspaces = s
        .workspaces
        .into_iter()
        .map(|w| {
            let isolated = s.isolated;
            view! {
                <li class="flex flex-wrap items-center justify-between gap-2 py-2" data-testid="workspace-row">
                    <span>
                        <span class="font-medium">{w.name}</span>
                        " "
                        <span class="font-mono text-xs text-slate-500">{w.company_id}</span>
                        {w.current.then(|| view! { <span class="ml-2 text-xs text-indigo-700">{tr(l, "(current)")}</span> })}
                    </span>
                    <span class=if isolated { OK_BADGE } else { BAD_BADGE }>{tr(l, if isolated { "Isolated" } else { "Not isolated" })}</span>
                </li>
            }
        })
        .collect_view();
    let dev_warning = s.dev_keys_warning.then(|| view! {
        <p role="alert" data-testid="dev-keys" class="mt-4 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm font-semibold text-red-900">
            {tr(l, "DEVELOPMENT: the encryption and token keys were generated locally. Never use them in production.")}
        </p>
    });
    let link = "text-indigo-700 underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
    let audit_link = s.can_read_audit.then(|| {
        view! {
            <a class=link href="/settings/audit" data-testid="audit-link">{tr(l, "Audit log")}</a>
        }
    });
    let audit_link = view! {
        <p class="flex flex-wrap gap-4 text-sm">
            <a class=link href="/settings/sessions">{tr(l, "Your sessions")}</a>
            <a class=link href="/members">{tr(l, "Members and roles")}</a>
            {audit_link}
        </p>
    };
    view! {
        {audit_link}
        <div class=PANEL>
            <h2 class="font-medium">{tr(l, "Tenant binding")}</h2>
            <dl class="mt-3 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
                <dt class="text-slate-500">{tr(l, "Workspace")}</dt>
                <dd data-testid="binding-company-name">{s.company_name}</dd>
                <dt class="text-slate-500">"company_id"</dt>
                <dd class="font-mono" data-testid="binding-company-id">{s.company_id}</dd>
                <dt class="text-slate-500">{tr(l, "Source")}</dt>
                <dd data-testid="binding-source">{tr(l, "Signed token")}</dd>
                <dt class="text-slate-500">{tr(l, "Binding")}</dt>
                <dd data-testid="binding-state">{tr(l, "Fail-closed")}</dd>
            </dl>
            <p class="mt-3 text-sm text-slate-700">{tr(l, "Browser-sent headers ignored. The claim always wins.")}</p>
            {ignored}
        </div>
        <div class=PANEL>
            <h2 class="font-medium">{tr(l, "Your client workspaces")}</h2>
            <ul class="mt-2 divide-y divide-slate-100 text-sm">{workspaces}</ul>
            <p class="mt-3 text-xs text-slate-500" data-testid="isolation-check">{s.isolation_line}</p>
        </div>
        <div class=PANEL>
            <h2 class="font-medium">{tr(l, "Isolation self-test")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "Probes PostgreSQL's row-level security inside your own workspace, as the app's own database role. Each run is audited.")}</p>
            <SelfTest text=SelfTestText {
                last_run: format!("{} {}", tr(l, "Last run:"), s.last_self_test.unwrap_or_else(|| tr(l, "never").into())),
                passed_now: tr(l, "Last run: passed just now").into(),
                failed_now: tr(l, "Last run: failed just now").into(),
                run: tr(l, "Run the self-test").into(),
                running: tr(l, "Running…").into(),
                pass: tr(l, "Pass").into(),
                fail: tr(l, "Fail").into(),
            } />
        </div>
        <div class=PANEL>
            <h2 class="font-medium">{tr(l, "Data handling")}</h2>
            <dl class="mt-3 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
                {s.data_handling.into_iter().map(|f| view! {
                    <dt class="text-slate-500">{f.label}</dt>
                    <dd class="break-words" data-testid=f.testid>{f.value}</dd>
                }).collect_view()}
            </dl>
            {dev_warning}
        </div>
    }
}

/// The self-test island's words, translated on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfTestText {
    /// "Last run: passed at …" as rendered, until the island runs it.
    pub last_run: String,
    pub passed_now: String,
    pub failed_now: String,
    pub run: String,
    pub running: String,
    pub pass: String,
    pub fail: String,
}

/// The self-test button and its steps: an island. Without JavaScript the
/// form posts, the server runs the test, redirects back, and the page
/// shows the audited outcome ("Last run").
#[island]
fn SelfTest(text: SelfTestText) -> impl IntoView {
    let SelfTestText {
        last_run,
        passed_now,
        failed_now,
        run: run_label,
        running,
        pass,
        fail,
    } = text;
    let run = ServerAction::<RunSelfTest>::new();
    let pending = run.pending();
    let result = run.value();
    // The audited outcome as rendered, replaced by this run's once it is
    // back (the server audited it too).
    let last = move || match result.get() {
        Some(Ok(steps)) if steps.iter().all(|s| s.passed) => passed_now.clone(),
        Some(Ok(_)) => failed_now.clone(),
        _ => last_run.clone(),
    };
    view! {
        <p class="mt-2 text-xs text-slate-500" data-testid="last-self-test">{last}</p>
        <ActionForm action=run attr:class="mt-4">
            <button
                type="submit"
                data-testid="run-self-test"
                class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-60"
                disabled=move || pending.get()
            >
                {move || if pending.get() { running.clone() } else { run_label.clone() }}
            </button>
        </ActionForm>
        <ol class="mt-4 space-y-2 text-sm" data-testid="self-test-steps" aria-live="polite">
            {move || result.get().map(|r| match r {
                Ok(steps) => steps.into_iter().map(|s| view! {
                    <li class="flex flex-col gap-1 rounded-md border border-slate-200 p-3" data-testid="self-test-step" data-passed=if s.passed { "true" } else { "false" }>
                        <span class="flex items-center gap-2">
                            <span class=if s.passed { OK_BADGE } else { BAD_BADGE }>{if s.passed { pass.clone() } else { fail.clone() }}</span>
                            <span class="font-medium">{s.label}</span>
                        </span>
                        <span class="break-words text-xs text-slate-500">{s.detail}</span>
                    </li>
                }).collect_view().into_any(),
                Err(e) => view! { <li role="alert" class="text-red-700">{e.to_string()}</li> }.into_any(),
            })}
        </ol>
    }
}

/// One audit row, with names resolved at display time (ids stay the
/// record: a removed member shows as their id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRowDto {
    pub id: i64,
    pub at: String,
    pub action: String,
    pub actor: String,
    pub actor_id: String,
    pub target: String,
    pub request_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPageDto {
    pub rows: Vec<AuditRowDto>,
    /// The id to continue from, when there are more rows.
    pub next_before: Option<i64>,
    /// (user id, name) of the workspace's members, for the actor filter.
    pub actors: Vec<(String, String)>,
}

pub const AUDIT_PAGE_SIZE: i64 = 50;

/// The workspace's audit log, newest first; needs `audit.read`.
#[server(endpoint = "audit_log")]
pub async fn audit_page(
    action: Option<String>,
    actor: Option<String>,
    before: Option<i64>,
) -> Result<AuditPageDto, ServerFnError> {
    use crate::api::ssr;
    let ctx = ssr::require(metiva_roles::Permission::AuditRead)?;
    let db = ssr::database()?;
    let (rows, members) = ssr::read_audit(
        &db,
        &ctx,
        action.as_deref(),
        actor.as_deref(),
        before,
        AUDIT_PAGE_SIZE + 1,
    )
    .await
    .map_err(ssr::db_failure)?;
    let more = rows.len() as i64 > AUDIT_PAGE_SIZE;
    let rows: Vec<AuditRowDto> = rows.into_iter().take(AUDIT_PAGE_SIZE as usize).collect();
    Ok(AuditPageDto {
        next_before: if more {
            rows.last().map(|r| r.id)
        } else {
            None
        },
        rows,
        actors: members,
    })
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let l = crate::i18n::current();
    let query = leptos_router::hooks::use_query_map();
    let page = Resource::new(
        move || {
            let q = query.read();
            (
                q.get("action"),
                q.get("actor"),
                q.get("before").and_then(|b| b.parse::<i64>().ok()),
            )
        },
        |(action, actor, before)| audit_page(action, actor, before),
    );
    let current = move || {
        let q = query.read();
        (
            q.get("action").unwrap_or_default(),
            q.get("actor").unwrap_or_default(),
        )
    };
    view! {
        <section class="space-y-6">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Audit log")}</h1>
                <p class="mt-1 text-slate-600">{tr(l, "Every sensitive action in this workspace. Rows hold ids; names are looked up as you read.")}</p>
            </div>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || page.get().map(|r| match r {
                    Ok(p) => {
                        let (action, actor) = current();
                        view! { <AuditTable p action actor /> }.into_any()
                    }
                    Err(e) => view! { <p role="alert" class="text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn AuditTable(p: AuditPageDto, action: String, actor: String) -> impl IntoView {
    let l = crate::i18n::current();
    let actors = p
        .actors
        .iter()
        .map(|(id, name)| {
            let selected = *id == actor;
            view! { <option value=id.clone() selected=selected>{name.clone()}</option> }
        })
        .collect_view();
    let csv = format!(
        "/settings/audit.csv?action={}&actor={}",
        crate::query_escape(&action),
        crate::query_escape(&actor)
    );
    let next = p.next_before.map(|b| {
        format!(
            "/settings/audit?action={}&actor={}&before={b}",
            crate::query_escape(&action),
            crate::query_escape(&actor)
        )
    });
    let rows = p
        .rows
        .into_iter()
        .map(|r| {
            view! {
                <tr class="border-t border-slate-100 align-top" data-testid="audit-row">
                    <td class="py-2 pr-4 whitespace-nowrap text-slate-500">{r.at}</td>
                    <td class="py-2 pr-4 font-mono text-xs">{r.action}</td>
                    <td class="py-2 pr-4" title=r.actor_id>{r.actor}</td>
                    <td class="py-2 pr-4 break-all">{r.target}</td>
                    <td class="py-2 font-mono text-xs text-slate-500 break-all">{r.request_id}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <form method="get" action="/settings/audit" class="flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
            <div>
                <label for="audit-action" class="block text-sm text-slate-700">{tr(l, "Action")}</label>
                <input id="audit-action" name="action" value=action placeholder="member." class="mt-1 rounded-md border border-slate-300 px-2 py-1 text-sm" />
            </div>
            <div>
                <label for="audit-actor" class="block text-sm text-slate-700">{tr(l, "Actor")}</label>
                <select id="audit-actor" name="actor" class="mt-1 rounded-md border border-slate-300 px-2 py-1 text-sm">
                    <option value="">{tr(l, "Anyone")}</option>
                    {actors}
                </select>
            </div>
            <button type="submit" class="rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2">{tr(l, "Filter")}</button>
            <a href=csv class="rounded-md border border-slate-300 px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500" data-testid="audit-csv">{tr(l, "Download CSV")}</a>
        </form>
        <div class="overflow-x-auto rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
            <table class="w-full text-left text-sm">
                <thead class="text-slate-500">
                    <tr>
                        <th scope="col" class="pb-2 pr-4 font-medium">{tr(l, "When")}</th>
                        <th scope="col" class="pb-2 pr-4 font-medium">{tr(l, "Action")}</th>
                        <th scope="col" class="pb-2 pr-4 font-medium">{tr(l, "Actor")}</th>
                        <th scope="col" class="pb-2 pr-4 font-medium">{tr(l, "Target")}</th>
                        <th scope="col" class="pb-2 font-medium">{tr(l, "Request")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {next.map(|n| view! { <p class="mt-4 text-sm"><a class="text-indigo-700 underline" href=n>{tr(l, "Older entries")}</a></p> })}
        </div>
    }
}

/// One of the signed-in user's sessions, formatted for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRowDto {
    pub id: String,
    pub device: String,
    /// Truncated (/24 or /48), decrypted for display only.
    pub ip: String,
    pub created: String,
    pub last_seen: String,
    pub current: bool,
}

/// The signed-in user's own live sessions.
#[server(endpoint = "my_sessions")]
pub async fn my_sessions() -> Result<Vec<SessionRowDto>, ServerFnError> {
    use crate::api::ssr;
    let ctx = ssr::tenant()?;
    let db = ssr::database()?;
    let keys = use_context::<crate::FieldKeys>()
        .ok_or_else(|| ServerFnError::new("server misconfigured"))?;
    let rows = db.own_sessions(&ctx).await.map_err(ssr::db_failure)?;
    let fmt = "%Y-%m-%d %H:%M UTC";
    Ok(rows
        .into_iter()
        .map(|s| SessionRowDto {
            ip: s
                .ip(&keys.0)
                .unwrap_or_else(|| tr(crate::i18n::current(), "unknown").into()),
            device: device(s.user_agent.as_deref()),
            created: s.created_at.format(fmt).to_string(),
            last_seen: s.last_seen_at.format(fmt).to_string(),
            current: s.id == ctx.session_id(),
            id: s.id.to_string(),
        })
        .collect())
}

/// "Chrome on Linux" from a user agent, or a short prefix of it.
#[cfg(feature = "ssr")]
fn device(ua: Option<&str>) -> String {
    let Some(ua) = ua else {
        return tr(crate::i18n::current(), "Unknown device").into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, n)| *n);
    let os = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, n)| *n);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} {} {o}", crate::i18n::current().t("on", "op")),
        (Some(b), None) => b.to_string(),
        (None, Some(o)) => o.to_string(),
        (None, None) => ua.chars().take(60).collect(),
    }
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    let l = crate::i18n::current();
    let sessions = Resource::new(|| (), |_| my_sessions());
    let query = leptos_router::hooks::use_query_map();
    let done = move || crate::pages::notice(l, &query.read());
    view! {
        <section class="space-y-6">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Your sessions")}</h1>
                <p class="mt-1 text-slate-600">{tr(l, "Where you are signed in. Addresses are stored only truncated and encrypted.")}</p>
            </div>
            {done}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 8rem"></div> }>
                {move || sessions.get().map(|r| match r {
                    Ok(rows) => view! { <SessionList rows /> }.into_any(),
                    Err(e) => view! { <p role="alert" class="text-sm text-red-700">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn SessionList(rows: Vec<SessionRowDto>) -> impl IntoView {
    let l = crate::i18n::current();
    let items = rows
        .into_iter()
        .map(|s| {
            let label = tr(l, if s.current { "Sign out" } else { "Revoke" }).to_string();
            view! {
                <li class="flex flex-wrap items-center justify-between gap-3 py-3" data-testid="session-row">
                    <div>
                        <div class="font-medium">
                            {s.device}
                            {s.current.then(|| view! { <span class="ml-2 text-xs text-indigo-700" data-testid="this-device">{tr(l, "(this device)")}</span> })}
                        </div>
                        <div class="text-xs text-slate-500">
                            <span data-testid="session-ip">{s.ip}</span>
                            {format!(" · {} {} · {} {}", tr(l, "signed in"), s.created, tr(l, "last seen"), s.last_seen)}
                        </div>
                    </div>
                    <RevokeButton id=s.id label question=None />
                </li>
            }
        })
        .collect_view();
    view! {
        <div class=PANEL>
            <ul class="divide-y divide-slate-100 text-sm">{items}</ul>
            <details class="mt-4">
                <summary class="cursor-pointer text-sm font-medium text-red-700">{tr(l, "Sign out everywhere…")}</summary>
                <RevokeButton
                    id="all".to_string()
                    label=tr(l, "Yes, sign out everywhere").to_string()
                    question=Some(tr(l, "Every session ends, this one included. You will need your password again.").to_string())
                />
            </details>
        </div>
    }
}
