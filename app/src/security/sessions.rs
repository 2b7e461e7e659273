//! `/settings/sessions`: the signed-in user's own sessions, revocable.

use super::*;

#[cfg(feature = "ssr")]
mod device;

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
pub async fn my_sessions() -> Result<Vec<SessionRowDto>, AppError> {
    use crate::api::ssr;
    let ctx = ssr::tenant()?;
    let db = ssr::database()?;
    let keys = use_context::<crate::FieldKeys>()
        .ok_or_else(|| crate::error::AppError::internal_here(&"server misconfigured"))?;
    let rows = db.own_sessions(&ctx).await.map_err(ssr::db_failure)?;
    let fmt = "%Y-%m-%d %H:%M UTC";
    Ok(rows
        .into_iter()
        .map(|s| SessionRowDto {
            ip: s
                .ip(&keys.0)
                .unwrap_or_else(|| tr(crate::i18n::current(), "unknown").into()),
            device: device::describe(s.user_agent.as_deref(), crate::i18n::current()),
            created: s.created_at.format(fmt).to_string(),
            last_seen: s.last_seen_at.format(fmt).to_string(),
            current: s.id == ctx.session_id(),
            id: s.id.to_string(),
        })
        .collect())
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    let l = crate::i18n::current();
    let sessions = Resource::new(|| (), crate::api::boxed(|_| my_sessions()));
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
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
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
