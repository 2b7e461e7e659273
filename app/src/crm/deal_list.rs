//! `/deals?view=list`: every deal (open, won and lost) in a table,
//! filtered by stage, owner and closing month and sorted by a column. The
//! filter is a plain GET form, so the list's URL is the list: it can be
//! bookmarked, and `/deals.csv` with the same query exports exactly it.

use super::deals::StageDto;
use super::*;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListRowDto {
    pub id: String,
    pub title: String,
    pub value: String,
    pub stage: String,
    pub close: String,
    pub owner: String,
    pub person: String,
    pub organisation: String,
    pub updated: String,
}

/// The list's filter as the query string carries it (echoed back so the
/// form and the sort links keep it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DealListQuery {
    pub stage: Option<String>,
    pub owner: Option<String>,
    pub month: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub page: Option<String>,
}

impl DealListQuery {
    fn from_url() -> Self {
        let q = leptos_router::hooks::use_query_map().read_untracked();
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        Self {
            stage: get("stage"),
            owner: get("owner"),
            month: get("month"),
            sort: get("sort"),
            dir: get("dir"),
            page: get("page"),
        }
    }

    /// The query string for this filter with `sort`, `dir` and `page`
    /// replaced (for the column links and the pager).
    fn href(&self, base: &str, sort: &str, dir: &str, page: i64) -> String {
        let mut parts = vec![("view", "list".to_string())];
        for (k, v) in [
            ("stage", &self.stage),
            ("owner", &self.owner),
            ("month", &self.month),
        ] {
            if let Some(v) = v {
                parts.push((k, v.clone()));
            }
        }
        parts.push(("sort", sort.to_string()));
        parts.push(("dir", dir.to_string()));
        if page > 1 {
            parts.push(("page", page.to_string()));
        }
        let q = parts
            .iter()
            .map(|(k, v)| format!("{k}={}", crate::query_escape(v)))
            .collect::<Vec<_>>()
            .join("&");
        format!("{base}?{q}")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DealListDto {
    pub stages: Vec<StageDto>,
    pub members: Vec<Choice>,
    pub rows: Vec<ListRowDto>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    /// The effective sort and direction (defaults filled in).
    pub sort: String,
    pub dir: String,
    pub can_export: bool,
}

#[server(endpoint = "deal_list")]
pub async fn deal_list(q: DealListQuery) -> Result<DealListDto, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    use metiva_db::crm::deal_list::{DealQuery, PAGE_SIZE};
    let ctx = require(metiva_roles::Permission::DealsRead)?;
    let l = crate::i18n::current();
    let filter = DealQuery {
        stage: q.stage.as_deref(),
        owner: q.owner.as_deref(),
        month: q.month.as_deref(),
        sort: q.sort.as_deref(),
        dir: q.dir.as_deref(),
        page: q.page.as_deref(),
    }
    .validate()
    .map_err(|f| super::ssr::invalid(&f))?;
    let db = database()?;
    let (total, rows) = db.deal_list(&ctx, &filter).await.map_err(db_failure)?;
    let stages: Vec<StageDto> = db
        .pipeline_usage(&ctx)
        .await
        .map_err(db_failure)?
        .iter()
        .map(|u| super::deals::stage_dto(l, &u.stage))
        .collect();
    let label = |key: &str| {
        stages
            .iter()
            .find(|s| s.key == key)
            .map_or_else(|| key.to_string(), |s| s.label.clone())
    };
    let rows = rows
        .into_iter()
        .map(|d| ListRowDto {
            id: d.id.to_string(),
            value: crate::visitors::ssr::money(d.value_cents, &d.currency),
            stage: label(&d.stage),
            title: d.title,
            close: d.expected_close.map(|c| c.to_string()).unwrap_or_default(),
            owner: d.owner.unwrap_or_default(),
            person: d.person.unwrap_or_default(),
            organisation: d.organisation.unwrap_or_default(),
            updated: crate::visitors::ssr::when(d.updated_at),
        })
        .collect();
    Ok(DealListDto {
        members: choices(&ctx).await?.members,
        stages,
        rows,
        total,
        page: filter.page,
        pages: (total + PAGE_SIZE - 1) / PAGE_SIZE,
        sort: filter.sort.key().to_string(),
        dir: if filter.descending { "desc" } else { "asc" }.to_string(),
        can_export: ctx.can(metiva_roles::Permission::CrmExport),
    })
}

/// The filter form: a plain GET to `/deals` (works without JavaScript).
#[component]
fn FilterForm(d: DealListDto, q: DealListQuery) -> impl IntoView {
    let l = crate::i18n::current();
    let stage = q.stage.clone().unwrap_or_default();
    let owner = q.owner.clone().unwrap_or_default();
    let stage_options = d
        .stages
        .iter()
        .map(|s| {
            let sel = s.key == stage;
            view! { <option value=s.key.clone() selected=sel>{s.label.clone()}</option> }
        })
        .collect_view();
    let owner_options = d
        .members
        .iter()
        .map(|(id, name)| {
            let sel = *id == owner;
            view! { <option value=id.clone() selected=sel>{name.clone()}</option> }
        })
        .collect_view();
    let sort_options = [
        ("updated", "Last changed"),
        ("title", "Title"),
        ("value", "Value (euro)"),
        ("close", "Expected close"),
    ]
    .into_iter()
    .map(|(k, t)| view! { <option value=k selected=d.sort == k>{tr(l, t)}</option> })
    .collect_view();
    view! {
        <form method="get" action="/deals" class="grid gap-3 sm:grid-cols-5 sm:items-end" data-testid="deal-filter">
            <input type="hidden" name="view" value="list" />
            <div>
                <label class=LABEL for="flt-stage">{tr(l, "Stage")}</label>
                <select class=INPUT id="flt-stage" name="stage">
                    <option value="">{tr(l, "All stages")}</option>
                    {stage_options}
                </select>
            </div>
            <div>
                <label class=LABEL for="flt-owner">{tr(l, "Owner")}</label>
                <select class=INPUT id="flt-owner" name="owner">
                    <option value="">{tr(l, "Everyone")}</option>
                    {owner_options}
                </select>
            </div>
            <div>
                <label class=LABEL for="flt-month">{tr(l, "Closing month")}</label>
                <input class=INPUT id="flt-month" name="month" type="month" placeholder="2027-03" value=q.month.clone().unwrap_or_default() />
            </div>
            <div>
                <label class=LABEL for="flt-sort">{tr(l, "Sort by")}</label>
                <select class=INPUT id="flt-sort" name="sort">{sort_options}</select>
            </div>
            <div class="flex items-end gap-2">
                <label class="sr-only" for="flt-dir">{tr(l, "Order")}</label>
                <select class=INPUT id="flt-dir" name="dir">
                    <option value="desc" selected=d.dir == "desc">{tr(l, "Descending")}</option>
                    <option value="asc" selected=d.dir == "asc">{tr(l, "Ascending")}</option>
                </select>
                <button type="submit" class=PRIMARY>{tr(l, "Apply")}</button>
            </div>
        </form>
    }
}

/// A column heading that sorts by it (again: the other direction).
fn sort_head(
    l: Lang,
    d: &DealListDto,
    q: &DealListQuery,
    key: &str,
    text: &'static str,
) -> AnyView {
    let active = d.sort == key;
    let dir = if active && d.dir == "desc" {
        "asc"
    } else {
        "desc"
    };
    let mark = match (active, d.dir.as_str()) {
        (true, "desc") => " ↓",
        (true, _) => " ↑",
        _ => "",
    };
    let aria = active.then(|| {
        if d.dir == "desc" {
            "descending"
        } else {
            "ascending"
        }
    });
    view! {
        <th scope="col" class=TH aria-sort=aria>
            <a class=LINK href=q.href("/deals", key, dir, 1)>{tr(l, text)}{mark}</a>
        </th>
    }
    .into_any()
}

#[component]
fn DealListTable(d: DealListDto, q: DealListQuery) -> impl IntoView {
    let l = crate::i18n::current();
    let rows = d
        .rows
        .iter()
        .map(|r| {
            view! {
                <tr class="border-t border-slate-100" data-testid="deal-row">
                    <td class=TD><a class=LINK href=format!("/deals/{}", r.id)>{r.title.clone()}</a></td>
                    <td class=format!("{TD} whitespace-nowrap text-right tabular-nums")>{r.value.clone()}</td>
                    <td class=TD>{r.stage.clone()}</td>
                    <td class=format!("{TD} whitespace-nowrap")>{r.close.clone()}</td>
                    <td class=TD>{r.owner.clone()}</td>
                    <td class=TD>{r.person.clone()}" "<span class="text-slate-500">{r.organisation.clone()}</span></td>
                </tr>
            }
        })
        .collect_view();
    let prev = (d.page > 1).then(|| {
        view! { <a class=LINK rel="prev" href=q.href("/deals", &d.sort, &d.dir, d.page - 1)>{tr(l, "← Previous")}</a> }
    });
    let next = (d.page < d.pages).then(|| {
        view! { <a class=LINK rel="next" href=q.href("/deals", &d.sort, &d.dir, d.page + 1)>{tr(l, "Next →")}</a> }
    });
    let export = d.can_export.then(|| {
        let href = q.href("/deals.csv", &d.sort, &d.dir, 1);
        view! { <a class=LINK href=href download="" data-testid="deal-export">{tr(l, "Export this list (CSV)")}</a> }
    });
    let empty = d.rows.is_empty();
    view! {
        <div class="relative overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
            <table class="w-full min-w-[40rem] text-sm" data-testid="deal-list">
                <thead>
                    <tr>
                        {sort_head(l, &d, &q, "title", "Title")}
                        {sort_head(l, &d, &q, "value", "Value (euro)")}
                        <th scope="col" class=TH>{tr(l, "Stage")}</th>
                        {sort_head(l, &d, &q, "close", "Expected close")}
                        <th scope="col" class=TH>{tr(l, "Owner")}</th>
                        <th scope="col" class=TH>{tr(l, "Contact")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {empty.then(|| view! { <p class="p-4 text-sm text-slate-500">{tr(l, "No deals match this filter.")}</p> })}
        </div>
        <div class="flex flex-wrap items-center justify-between gap-3 text-sm">
            <span data-testid="deal-count">{d.total}" "{tr(l, "deals")}" · "{tr(l, "page")}" "{d.page.max(1)}" / "{d.pages.max(1)}</span>
            <span class="flex gap-4">{prev}{next}{export}</span>
        </div>
    }
}

/// The list view under the deals page's tabs.
#[component]
pub fn DealListView() -> impl IntoView {
    let q = DealListQuery::from_url();
    let fetch = q.clone();
    let data = Resource::new(move || fetch.clone(), crate::api::boxed(deal_list));
    view! {
        <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
            {move || data.get().map(|r| match r {
                Ok(d) => view! {
                    <FilterForm d=d.clone() q=q.clone() />
                    <DealListTable d=d q=q.clone() />
                }.into_any(),
                Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
            })}
        </Suspense>
    }
}
