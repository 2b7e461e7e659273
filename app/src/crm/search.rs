//! `/search?q=`: one search box over contacts, organisations and deals,
//! inside the workspace. A GET form, so it works without JavaScript and
//! the result is a link to share inside the workspace.

use super::*;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HitDto {
    /// `contact`, `organisation` or `deal`.
    pub kind: String,
    pub href: String,
    pub label: String,
    pub detail: String,
}

#[server(endpoint = "search")]
pub async fn search(q: String) -> Result<Vec<HitDto>, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    use metiva_db::crm::search::HitKind;
    let ctx = require(metiva_roles::Permission::PersonsRead)?;
    let may_deals = ctx.can(metiva_roles::Permission::DealsRead);
    let hits = database()?.search(&ctx, &q).await.map_err(db_failure)?;
    Ok(hits
        .into_iter()
        // A role without deals.read sees no deals here either.
        .filter(|h| may_deals || h.kind != HitKind::Deal)
        .map(|h| {
            let (kind, base) = match h.kind {
                HitKind::Contact => ("contact", "/persons"),
                HitKind::Organisation => ("organisation", "/organisations"),
                HitKind::Deal => ("deal", "/deals"),
            };
            HitDto {
                kind: kind.into(),
                href: format!("{base}/{}", h.id),
                label: h.label,
                detail: h.detail,
            }
        })
        .collect())
}

/// The search box (in the header): a plain GET form, in `l`. Catalog text
/// and constants only, so the header keeps it per language.
#[component]
pub fn SearchBox(l: Lang) -> impl IntoView {
    view! {
        <form method="get" action="/search" role="search" class="ml-auto">
            <label class="sr-only" for="header-search">{tr(l, "Search contacts, organisations and deals")}</label>
            <input id="header-search" name="q" type="search" minlength="2" maxlength="100"
                placeholder=tr(l, "Search…")
                class="w-40 rounded-md border border-slate-300 px-2 py-1 text-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 sm:w-56" />
        </form>
    }
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let l = crate::i18n::current();
    let q = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("q")
        .unwrap_or_default();
    let shown = q.clone();
    let data = Resource::new(move || q.clone(), crate::api::boxed(search));
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Search")}</h1>
            <form method="get" action="/search" role="search" class="flex gap-2">
                <label class="sr-only" for="search-q">{tr(l, "Search contacts, organisations and deals")}</label>
                <input id="search-q" name="q" type="search" value=shown minlength="2" maxlength="100" class=INPUT />
                <button type="submit" class=PRIMARY>{tr(l, "Search")}</button>
            </form>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 6rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(hits) if hits.is_empty() => view! {
                        <p class="text-sm text-slate-600" data-testid="search-empty">{tr(l, "Nothing found. Search by name, email, website domain or deal title (at least two characters).")}</p>
                    }.into_any(),
                    Ok(hits) => {
                        let rows = hits.into_iter().map(|h| {
                            let kind = tr(l, match h.kind.as_str() {
                                "contact" => "Contact",
                                "organisation" => "Organisation",
                                _ => "Deal",
                            });
                            view! {
                                <li class="flex items-baseline gap-3 border-t border-slate-100 py-2" data-testid="search-hit">
                                    <span class="w-28 shrink-0 text-xs uppercase tracking-wide text-slate-500">{kind}</span>
                                    <a class=LINK href=h.href>{h.label}</a>
                                    <span class="text-xs text-slate-500">{h.detail}</span>
                                </li>
                            }
                        }).collect_view();
                        view! { <ul class=PANEL>{rows}</ul> }.into_any()
                    }
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
