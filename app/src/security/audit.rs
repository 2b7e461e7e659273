//! `/settings/audit`: the workspace's audit log, filtered and paged.

use super::*;

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
    /// Why, as a fixed code (an IP reveal's reason, an integration
    /// result); empty when the action has none.
    #[serde(default)]
    pub reason: String,
    /// The reason's optional short note (no personal data, by the form's
    /// instruction); swept with the row.
    #[serde(default)]
    pub note: String,
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
) -> Result<AuditPageDto, AppError> {
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
        crate::api::boxed(|(action, actor, before)| audit_page(action, actor, before)),
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
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
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
            // An erasure's row links its receipt (ids and counts only).
            let receipt = (r.action == "privacy.erased")
                .then(|| r.target.strip_prefix("erasure_receipt "))
                .flatten()
                .filter(|id| id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
                .map(|id| format!("/erasures/{id}/receipt.json"));
            let target = match receipt {
                Some(href) => view! { <a class="text-indigo-700 hover:underline" href=href download="">{r.target}</a> }.into_any(),
                None => r.target.into_any(),
            };
            view! {
                <tr class="border-t border-slate-100 align-top" data-testid="audit-row">
                    <td class="py-2 pr-4 whitespace-nowrap text-slate-500">{r.at}</td>
                    <td class="py-2 pr-4 font-mono text-xs">{r.action}</td>
                    <td class="py-2 pr-4" title=r.actor_id>{r.actor}</td>
                    <td class="py-2 pr-4 break-all">{target}</td>
                    <td class="py-2 pr-4" data-testid="audit-reason">
                        <span class="font-mono text-xs">{r.reason}</span>
                        {(!r.note.is_empty()).then(|| view! { <p class="text-xs text-slate-600 break-words" data-testid="audit-note">{r.note}</p> })}
                    </td>
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
                        <th scope="col" class="pb-2 pr-4 font-medium">{tr(l, "Reason")}</th>
                        <th scope="col" class="pb-2 font-medium">{tr(l, "Request")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {next.map(|n| view! { <p class="mt-4 text-sm"><a class="text-indigo-700 underline" href=n>{tr(l, "Older entries")}</a></p> })}
        </div>
    }
}
