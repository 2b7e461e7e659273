//! `/persons`: the list; a person's and a deal's record with its chain
//! (visitor → person → deal).

use super::*;

/// Rows on one page of `/persons` (the server reads one more to know of a next page).
#[cfg(feature = "ssr")]
pub const PERSONS_PER_PAGE: i64 = 50;

#[server(endpoint = "person_list")]
pub async fn person_list(after: Option<String>) -> Result<PersonPageDto, AppError> {
    use crate::api::ssr::{database, require};
    use ssr::*;
    let ctx = require(metiva_roles::Permission::PersonsRead)?;
    let after = match after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => Some(parse_cursor(a).ok_or_else(|| {
            AppError::bad_request(tr(crate::i18n::current(), "That page link is not valid."))
        })?),
    };
    // One row more than shown: whether a next page exists, without a count.
    let mut rows = database()?
        .person_list(&ctx, after, PERSONS_PER_PAGE + 1)
        .await
        .map_err(failure)?;
    let more = rows.len() > usize::try_from(PERSONS_PER_PAGE).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(PERSONS_PER_PAGE).unwrap_or(usize::MAX));
    let next = more
        .then(|| {
            rows.last()
                .map(|p| format!("{}_{}", p.updated_at.timestamp_micros(), p.id))
        })
        .flatten();
    Ok(PersonPageDto {
        rows: rows
            .into_iter()
            .map(|p| PersonRow {
                id: p.id.to_string(),
                name: p.name,
                email: p.email.unwrap_or_default(),
                organisation: p.organisation.unwrap_or_default(),
                deals: p.deals,
                visitors: p.visitors,
                updated: when(p.updated_at),
            })
            .collect(),
        next,
        paged: after.is_some(),
    })
}

/// `<microseconds since the epoch>_<uuid>`, as `person_list` writes it.
#[cfg(feature = "ssr")]
fn parse_cursor(s: &str) -> Option<metiva_db::visitors::PersonCursor> {
    let (micros, id) = s.split_once('_')?;
    Some(metiva_db::visitors::PersonCursor {
        updated_at: chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        id: uuid::Uuid::parse_str(id).ok()?,
    })
}

#[server(endpoint = "person_record")]
pub async fn person_record(id: String) -> Result<Option<PersonDto>, AppError> {
    use crate::api::ssr::{database, require};
    use ssr::*;
    let ctx = require(metiva_roles::Permission::PersonsRead)?;
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Ok(None);
    };
    let l = crate::i18n::current();
    let Some(r) = database()?.person_record(&ctx, id).await.map_err(failure)? else {
        return Ok(None);
    };
    let me = Some((r.person.id.to_string(), r.person.name.clone()));
    Ok(Some(PersonDto {
        name: r.person.name.clone(),
        email: r.person.email.clone().unwrap_or_default(),
        organisation: r.person.organisation.clone().unwrap_or_default(),
        created: when(r.person.created_at),
        visitors: r.visitors.into_iter().map(|v| linked(l, v)).collect(),
        deals: r.deals.iter().map(|d| deal_row(l, d, me.clone())).collect(),
        work: crate::crm::work_dto(&ctx, r.tasks, r.notes, r.members),
        uploads: crate::crm::upload_dtos(l, r.uploads),
    }))
}

#[server(endpoint = "deal_record")]
pub async fn deal_record(id: String) -> Result<Option<DealDto>, AppError> {
    use crate::api::ssr::{database, require};
    use ssr::*;
    let ctx = require(metiva_roles::Permission::DealsRead)?;
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Ok(None);
    };
    let l = crate::i18n::current();
    let Some(r) = database()?.deal_record(&ctx, id).await.map_err(failure)? else {
        return Ok(None);
    };
    let person = r
        .person
        .as_ref()
        .map(|p| (p.id.to_string(), p.name.clone()));
    Ok(Some(DealDto {
        deal: deal_row(l, &r.deal, person),
        email: r.person.and_then(|p| p.email).unwrap_or_default(),
        visitors: r.visitors.into_iter().map(|v| linked(l, v)).collect(),
    }))
}

#[component]
pub fn PersonsPage() -> impl IntoView {
    let l = crate::i18n::current();
    let after = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("after")
        .filter(|a| !a.is_empty());
    let data = Resource::new(move || after.clone(), crate::api::boxed(person_list));
    let body = crate::rendered::RenderedOnce::default();
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Persons")}</h1>
            <crate::crm::NewContactPanel />
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.with(|r| r.as_ref().map(|r| match r {
                    Ok(page) => persons_view(&body, page),
                    Err(e) => error_view(e.clone()),
                }))}
            </Suspense>
        </section>
    }
}

/// The list's body, rendered once per request (see `crate::rendered`).
/// In the browser, where this page is never rendered (it is no island,
/// and islands hydrate only themselves), there is no body at all.
fn persons_view(body: &crate::rendered::RenderedOnce, page: &PersonPageDto) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        body.render(|| view! { <PersonsBody page=page.clone() /> })
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (body, page);
        ().into_any()
    }
}

/// One page of persons, and the links to the first and the next page.
#[cfg(feature = "ssr")]
#[component]
fn PersonsBody(page: PersonPageDto) -> impl IntoView {
    let l = crate::i18n::current();
    let pager = (page.next.is_some() || page.paged).then(|| view! {
        <p class="flex gap-4 text-sm">
            {page.paged.then(|| view! { <a class=LINK href="/persons">{tr(l, "First page")}</a> })}
            {page.next.clone().map(|n| view! { <a class=LINK href=format!("/persons?after={n}") data-testid="persons-next">{tr(l, "Next page")}</a> })}
        </p>
    });
    let rows = page
        .rows
        .into_iter()
        .map(|p| {
            view! {
                <tr class="border-t border-slate-100" data-testid="person-row">
                    <td class=TD><a class=LINK href=format!("/persons/{}", p.id)>{p.name}</a></td>
                    <td class=format!("{TD} text-xs")>{p.email}</td>
                    <td class=TD>{p.organisation}</td>
                    <td class=TD>{p.deals}</td>
                    <td class=TD>{p.visitors}</td>
                    <td class=format!("{TD} text-xs text-slate-600")>{p.updated}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class=PANEL><div class="overflow-x-auto"><table class="min-w-full text-sm">
            <thead><tr>
                <th class=TH>{tr(l, "Name")}</th>
                <th class=TH>{tr(l, "Email")}</th>
                <th class=TH>{tr(l, "Organisation")}</th>
                <th class=TH>{tr(l, "Deals")}</th>
                <th class=TH>{tr(l, "Visitors")}</th>
                <th class=TH>{tr(l, "Updated")}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table></div></div>
        {pager}
    }
}

#[cfg(feature = "ssr")]
#[component]
fn VisitorChain(visitors: Vec<LinkedVisitorDto>) -> impl IntoView {
    let l = crate::i18n::current();
    if visitors.is_empty() {
        return view! { <p class="text-sm text-slate-500">{tr(l, "No consented website visitor is linked.")}</p> }.into_any();
    }
    let rows = visitors
        .into_iter()
        .map(|v| view! {
            <li class="py-2" data-testid="linked-visitor">
                <span class="font-mono text-xs">{v.visitor}</span>
                " · "{v.domain}" · "{v.views}" "{tr(l, "page views")}" · "{tr(l, "last seen")}" "{v.last_seen}
                {(v.pending_forwards > 0).then(|| view! { <span class="ml-2 text-xs text-slate-500">{v.pending_forwards}" "{tr(l, "pending forwards")}</span> })}
            </li>
        })
        .collect_view();
    view! { <ul class="divide-y divide-slate-100 text-sm">{rows}</ul> }.into_any()
}

#[cfg(feature = "ssr")]
#[component]
fn DealTable(deals: Vec<DealRow>) -> impl IntoView {
    let l = crate::i18n::current();
    let rows = deals
        .into_iter()
        .map(|d| {
            let person = d
                .person
                .map(|(id, name)| {
                    view! { <a class=LINK href=format!("/persons/{id}")>{name}</a> }.into_any()
                })
                .unwrap_or_else(|| view! { <span class="text-slate-400">"—"</span> }.into_any());
            view! {
                <tr class="border-t border-slate-100" data-testid="deal-row">
                    <td class=TD><a class=LINK href=format!("/deals/{}", d.id)>{d.title}</a></td>
                    <td class=TD>{d.value}</td>
                    <td class=TD><span class=BADGE>{d.stage}</span></td>
                    <td class=TD>{person}</td>
                    <td class=format!("{TD} text-xs text-slate-600")>{d.updated}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="overflow-x-auto"><table class="min-w-full text-sm">
            <thead><tr>
                <th class=TH>{tr(l, "Deal")}</th>
                <th class=TH>{tr(l, "Value")}</th>
                <th class=TH>{tr(l, "Stage")}</th>
                <th class=TH>{tr(l, "Person")}</th>
                <th class=TH>{tr(l, "Updated")}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table></div>
    }
}

fn route_id() -> String {
    leptos_router::hooks::use_params_map()
        .read_untracked()
        .get("id")
        .unwrap_or_default()
}

#[component]
pub fn PersonPage() -> impl IntoView {
    let l = crate::i18n::current();
    let id = route_id();
    let panel_id = id.clone();
    let work_id = id.clone();
    let data = Resource::new(move || id.clone(), crate::api::boxed(person_record));
    let body = crate::rendered::RenderedOnce::default();
    view! {
        <section class="space-y-6">
            <a class=LINK href="/persons">{tr(l, "← Persons")}</a>
            <crate::crm::ContactPanel id=panel_id />
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.with(|r| r.as_ref().map(|r| match r {
                    Ok(Some(p)) => person_view(&body, p, &work_id),
                    Ok(None) => {
                        // A missing and another workspace's person answer
                        // alike: a real 404, never a hint it exists.
                        error_view(AppError::not_found(tr(l, "No such person in this workspace.")))
                    }
                    Err(e) => error_view(e.clone()),
                }))}
            </Suspense>
        </section>
    }
}

/// The record's body, rendered once per request (see `crate::rendered`);
/// none in the browser (see [`persons_view`]).
fn person_view(body: &crate::rendered::RenderedOnce, p: &PersonDto, id: &str) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        body.render(|| view! { <PersonBody p=p.clone() id=id.to_string() /> })
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (body, p, id);
        ().into_any()
    }
}

/// A person's record: uploads, name, the visitor → person → deal chain,
/// tasks and notes.
#[cfg(feature = "ssr")]
#[component]
fn PersonBody(p: PersonDto, id: String) -> impl IntoView {
    let l = crate::i18n::current();
    view! {
        // The conversion uploads come with the record, in
        // its one transaction (issue 15).
        <crate::crm::ConversionList kind="person" list=p.uploads />
        <div class=PANEL>
            <h1 class="text-2xl font-semibold tracking-tight" data-testid="person-name">{p.name}</h1>
            <p class="mt-1 text-slate-600">{p.email}" · "{p.organisation}</p>
            <p class="text-xs text-slate-500">{tr(l, "Created")}" "{p.created}</p>
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Website visitor → person → deal")}</h2>
            <div class="mt-2"><VisitorChain visitors=p.visitors /></div>
            <h3 class="mt-4 font-medium">{tr(l, "Deals")}</h3>
            <DealTable deals=p.deals />
        </div>
        <crate::crm::RecordWorkView kind="person" id=id w=p.work />
    }
}

#[component]
pub fn DealPage() -> impl IntoView {
    let l = crate::i18n::current();
    let id = route_id();
    let panel_id = id.clone();
    let data = Resource::new(move || id.clone(), crate::api::boxed(deal_record));
    let body = crate::rendered::RenderedOnce::default();
    view! {
        <section class="space-y-6">
            <a class=LINK href="/deals">{tr(l, "← Deals")}</a>
            <crate::crm::DealStagePanel id=panel_id.clone() />
            <crate::crm::ConversionPanel kind="deal" id=panel_id.clone() />
            <crate::crm::DealEditPanel id=panel_id.clone() />
            <crate::crm::FilesPanel kind="deal" id=panel_id.clone() />
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.with(|r| r.as_ref().map(|r| match r {
                    Ok(Some(d)) => deal_view(&body, d),
                    Ok(None) => {
                        // A missing and another workspace's deal answer
                        // alike: a real 404, never a hint it exists.
                        error_view(AppError::not_found(tr(l, "No such deal in this workspace.")))
                    }
                    Err(e) => error_view(e.clone()),
                }))}
            </Suspense>
            <crate::crm::RecordWork kind="deal" id=panel_id />
        </section>
    }
}

/// The deal's body, rendered once per request (see `crate::rendered`);
/// none in the browser (see [`persons_view`]).
fn deal_view(body: &crate::rendered::RenderedOnce, d: &DealDto) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        body.render(|| view! { <DealBody d=d.clone() /> })
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (body, d);
        ().into_any()
    }
}

/// A deal's title, value, stage and its chain to a person and visitors.
#[cfg(feature = "ssr")]
#[component]
fn DealBody(d: DealDto) -> impl IntoView {
    let l = crate::i18n::current();
    let person = d.deal.person.map(|(id, name)| view! { <a class=LINK href=format!("/persons/{id}") data-testid="deal-person">{name}</a>" "<span class="text-xs text-slate-500">{d.email}</span> }.into_any())
        .unwrap_or_else(|| view! { <span class="text-slate-400">{tr(l, "No person linked.")}</span> }.into_any());
    view! {
        <div class=PANEL>
            <h1 class="text-2xl font-semibold tracking-tight">{d.deal.title}</h1>
            <p class="mt-1 text-slate-600">{d.deal.value}" · "<span class=BADGE>{d.deal.stage}</span></p>
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Website visitor → person → deal")}</h2>
            <p class="mt-2 text-sm">{tr(l, "Person")}": "{person}</p>
            <div class="mt-2"><VisitorChain visitors=d.visitors /></div>
        </div>
    }
}
