//! `/deals`: the pipeline board (a column per stage, a move form on every
//! card) with a new-deal form; and the stage history with a move form on
//! a deal's own page.

#![allow(
    clippy::too_many_arguments,
    reason = "a server function takes one argument per form field, as the browser posts them"
)]

use super::*;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageDto {
    pub key: String,
    pub label: String,
    /// `open`, `won` or `lost`.
    pub outcome: String,
    /// How many deals the stage holds (the board shows the latest).
    pub deals: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CardDto {
    pub id: String,
    pub title: String,
    pub value: String,
    pub stage: String,
    pub person: String,
    pub organisation: String,
    pub close: String,
    pub version: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BoardDto {
    pub stages: Vec<StageDto>,
    pub cards: Vec<CardDto>,
    pub choices: Choices,
    /// Contacts to link a new deal to: (id, name).
    pub contacts: Vec<Choice>,
    pub can_write: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryDto {
    pub from: String,
    pub to: String,
    pub reason: String,
    pub actor: String,
    pub at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DealHistoryDto {
    pub id: String,
    pub version: i32,
    pub stage: String,
    pub stages: Vec<StageDto>,
    pub history: Vec<HistoryDto>,
    pub can_write: bool,
}

/// A stage's name in the user's language: the defaults are translated, a
/// workspace's own stages keep the label it gave them.
#[cfg(feature = "ssr")]
pub(super) fn stage_dto(l: Lang, s: &metiva_db::crm::deals::Stage) -> StageDto {
    StageDto {
        key: s.key.clone(),
        label: crate::i18n::stage_label(l, &s.key, &s.label),
        outcome: s.outcome.clone(),
        deals: 0,
    }
}

#[server(endpoint = "deal_board")]
pub async fn deal_board() -> Result<BoardDto, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    let ctx = require(metiva_roles::Permission::DealsRead)?;
    let l = crate::i18n::current();
    let db = database()?;
    let board = db.deal_board(&ctx).await.map_err(db_failure)?;
    let can_write = ctx.can(metiva_roles::Permission::DealsWrite);
    // The pickers feed only the new-deal form, which a read-only role
    // never sees: loaded for writers alone (issue 15).
    let (choices, contacts) = if can_write {
        deal_pickers(&ctx).await?
    } else {
        (Choices::default(), Vec::new())
    };
    Ok(BoardDto {
        stages: board
            .stages
            .iter()
            .map(|s| StageDto {
                deals: board
                    .counts
                    .iter()
                    .find(|(k, _)| *k == s.key)
                    .map_or(0, |(_, n)| *n),
                ..stage_dto(l, s)
            })
            .collect(),
        cards: board
            .cards
            .into_iter()
            .map(|d| CardDto {
                id: d.id.to_string(),
                value: crate::visitors::ssr::money(d.value_cents, &d.currency),
                title: d.title,
                stage: d.stage,
                person: d.person.unwrap_or_default(),
                organisation: d.organisation.unwrap_or_default(),
                close: d.expected_close.map(|c| c.to_string()).unwrap_or_default(),
                version: d.version,
            })
            .collect(),
        choices,
        contacts,
        can_write,
    })
}

/// The deal forms' pickers (members, organisations, contacts), in one
/// snapshot.
#[cfg(feature = "ssr")]
pub(super) async fn deal_pickers(
    ctx: &metiva_db::TenantCtx,
) -> Result<(Choices, Vec<Choice>), AppError> {
    let p = crate::api::ssr::database()?
        .deal_pickers(ctx)
        .await
        .map_err(crate::api::ssr::db_failure)?;
    let list = |v: Vec<(uuid::Uuid, String)>| -> Vec<Choice> {
        v.into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect()
    };
    Ok((
        Choices {
            members: list(p.members),
            organisations: list(p.organisations),
        },
        list(p.contacts),
    ))
}

#[server(endpoint = "deal_history")]
pub async fn deal_history(id: String) -> Result<Option<DealHistoryDto>, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    let ctx = require(metiva_roles::Permission::DealsRead)?;
    let Ok(uid) = uuid::Uuid::parse_str(&id) else {
        return Ok(None);
    };
    let l = crate::i18n::current();
    let db = database()?;
    let Some((version, stages, rows)) = db.deal_history(&ctx, uid).await.map_err(db_failure)?
    else {
        return Ok(None);
    };
    let (members, _) = db.crm_choices(&ctx).await.map_err(db_failure)?;
    let stage_dtos: Vec<StageDto> = stages.iter().map(|s| stage_dto(l, s)).collect();
    let label = |key: &str| {
        stage_dtos
            .iter()
            .find(|s| s.key == key)
            .map_or_else(|| key.to_string(), |s| s.label.clone())
    };
    let current = rows.last().map(|r| r.to_stage.clone()).unwrap_or_default();
    Ok(Some(DealHistoryDto {
        id,
        version,
        stage: current,
        history: rows
            .iter()
            .map(|r| HistoryDto {
                from: r.from_stage.as_deref().map(label).unwrap_or_default(),
                to: label(&r.to_stage),
                reason: r.reason.clone().unwrap_or_default(),
                actor: r
                    .actor_user_id
                    .and_then(|a| members.iter().find(|(id, _)| *id == a))
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default(),
                at: r.at.format("%Y-%m-%d %H:%M UTC").to_string(),
            })
            .collect(),
        stages: stage_dtos,
        can_write: ctx.can(metiva_roles::Permission::DealsWrite),
    }))
}

#[server(endpoint = "create_deal")]
pub async fn create_deal(
    title: String,
    value: Option<String>,
    expected_close: Option<String>,
    stage: Option<String>,
    owner: Option<String>,
    organisation: Option<String>,
    contact: Option<String>,
) -> Result<String, AppError> {
    use super::ssr::{done, refuse};
    use crate::api::ssr::{database, request_id, require};
    use metiva_db::crm::CrmError;
    use metiva_db::crm::deals::DealForm;
    let ctx = require(metiva_roles::Permission::DealsWrite)?;
    let form = DealForm {
        title: &title,
        value: value.as_deref(),
        expected_close: expected_close.as_deref(),
        stage: stage.as_deref(),
        owner: owner.as_deref(),
        organisation: organisation.as_deref(),
        contact: contact.as_deref(),
    };
    let fields = form
        .validate()
        .map_err(|f| refuse(CrmError::Invalid(f), "/deals"))?;
    let id = database()?
        .create_deal(&ctx, &fields, &request_id())
        .await
        .map_err(|e| refuse(e, "/deals"))?;
    done(&format!("/deals/{id}?done=saved"));
    Ok(id.to_string())
}

/// Moves a deal. `back` says where a plain form returns: the board or the
/// deal's own page (never a URL from the form: no open redirect).
#[server(endpoint = "move_deal")]
pub async fn move_deal(
    id: String,
    version: i32,
    stage: String,
    reason: Option<String>,
    back: Option<String>,
) -> Result<i32, AppError> {
    use super::ssr::{done, parse_id, refuse};
    use crate::api::ssr::{database, require};
    let ctx = require(metiva_roles::Permission::DealsWrite)?;
    let uid = parse_id(&id)?;
    let to = match back.as_deref() {
        Some("record") => format!("/deals/{uid}"),
        _ => "/deals".to_string(),
    };
    let v = database()?
        .move_deal(&ctx, uid, version, &stage, reason.as_deref())
        .await
        .map_err(|e| refuse(e, &to))?;
    done(&format!("{to}?done=saved"));
    Ok(v)
}

/// The move form: a stage, a reason (needed for won and lost), a button.
/// A plain function over borrowed values: the board calls it once per
/// card, and a component's owned props cost a copy of every stage per
/// card.
fn move_form(
    id: &str,
    version: i32,
    current: &str,
    stages: &[StageDto],
    back: &'static str,
    reason_error: Option<&'static str>,
) -> AnyView {
    let l = crate::i18n::current();
    let options = stages
        .iter()
        .map(|s| {
            let sel = s.key == current;
            view! { <option value=s.key.clone() selected=sel>{s.label.clone()}</option> }
        })
        .collect_view();
    let reason_id = format!("reason-{id}");
    view! {
        <form method="post" action="/api/move_deal" class="mt-2 space-y-1" data-testid="move-form">
            <input type="hidden" name="id" value=id.to_string() />
            <input type="hidden" name="version" value=version.to_string() />
            <input type="hidden" name="back" value=back />
            <label class="sr-only" for=format!("{reason_id}-stage")>{tr(l, "Stage")}</label>
            <select class=INPUT id=format!("{reason_id}-stage") name="stage">{options}</select>
            <label class="sr-only" for=reason_id.clone()>{tr(l, "Reason (needed for won or lost)")}</label>
            <input class=INPUT id=reason_id name="reason" maxlength="500" placeholder=tr(l, "Reason (needed for won or lost)") />
            {reason_error.map(|e| view! { <p class="text-xs text-red-700" data-testid="error-reason">{e}</p> })}
            <button type="submit" class="rounded-md border border-slate-300 px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50">{tr(l, "Move")}</button>
        </form>
    }
    .into_any()
}

/// The new-deal form, for writers: the open stages and the pickers.
#[cfg(feature = "ssr")]
fn new_deal_form(d: &BoardDto, outcome: &Outcome) -> AnyView {
    let l = crate::i18n::current();
    let e = |f: &str| outcome.error_for(l, f);
    let open_stages: Vec<Choice> = d
        .stages
        .iter()
        .filter(|s| s.outcome == "open")
        .map(|s| (s.key.clone(), s.label.clone()))
        .collect();
    view! {
        <details class=PANEL open=!outcome.invalid.is_empty()>
            <summary class="cursor-pointer font-medium">{tr(l, "New deal")}</summary>
            <form method="post" action="/api/create_deal" class="mt-4 grid gap-4 sm:grid-cols-2" data-testid="deal-form">
                <Field name="title" label="Title" value=String::new() required=true error=e("title") />
                <Field name="value" label="Value (euro)" value=String::new() hint="12.500,00" error=e("value") />
                <Field name="expected_close" label="Expected close" value=String::new() kind="date" error=e("expected_close") />
                <Select name="stage" label="Stage" choices=open_stages selected=String::new() error=e("stage") />
                <Select name="contact" label="Contact" choices=d.contacts.clone() selected=String::new() error=e("contact") />
                <Select name="organisation" label="Organisation" choices=d.choices.organisations.clone() selected=String::new() error=e("organisation") />
                <Select name="owner" label="Owner" choices=d.choices.members.clone() selected=String::new() error=e("owner") />
                <div class="sm:col-span-2"><button type="submit" class=PRIMARY>{tr(l, "Add deal")}</button></div>
            </form>
        </details>
    }
    .into_any()
}

#[component]
pub fn DealBoardPage() -> AnyView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let list = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("view")
        .as_deref()
        == Some("list");
    let tab = |href: &'static str, text: &'static str, current: bool| {
        view! {
            <a href=href aria-current=current.then_some("page")
                class="rounded-md px-3 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100 aria-[current=page]:bg-indigo-50 aria-[current=page]:text-indigo-700">
                {tr(l, text)}
            </a>
        }
    };
    let header = view! {
        <div class="flex flex-wrap items-center justify-between gap-3">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Deals")}</h1>
            <nav aria-label=tr(l, "Deal views") class="flex items-center gap-1">
                {tab("/deals", "Board", !list)}
                {tab("/deals?view=list", "List", list)}
                <a class=format!("ml-3 text-sm {LINK}") href="/settings/pipeline">{tr(l, "Pipeline settings")}</a>
            </nav>
        </div>
    };
    if list {
        return view! {
            <section class="space-y-6">
                {header}
                {banner(l, &outcome)}
                <super::deal_list::DealListView />
            </section>
        }
        .into_any();
    }
    let data = Resource::new(|| (), crate::api::boxed(|_| deal_board()));
    let body = crate::rendered::RenderedOnce::default();
    view! {
        <section class="space-y-6">
            {header}
            {banner(l, &outcome)}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                // Read in place (`with`): the board is rendered from the
                // resource's own value, never from a copy of it.
                {move || data.with(|r| r.as_ref().map(|r| match r {
                    Ok(d) => board_view(&body, d, &outcome),
                    Err(e) => view! { <crate::error::ErrorView error=e.clone() /> }.into_any(),
                }))}
            </Suspense>
        </section>
    }
    .into_any()
}

/// The board's body, rendered once per request (see `crate::rendered`).
/// In the browser, where this page is never rendered (it is no island,
/// and islands hydrate only themselves), there is no body at all.
fn board_view(body: &crate::rendered::RenderedOnce, d: &BoardDto, outcome: &Outcome) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        body.render(|| board_body(d, outcome))
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (body, d, outcome);
        ().into_any()
    }
}

/// The new-deal form (writers) and the columns, each with its latest cards
/// and an "N more in the list" link past the column's cap. Built from
/// borrowed text (the DTO outlives the render), and each card's lines are
/// one text each: the markup has no empty paragraph and no separator
/// comments between adjacent texts.
#[cfg(feature = "ssr")]
fn board_body<'a>(d: &'a BoardDto, outcome: &Outcome) -> impl IntoView + 'a {
    use std::borrow::Cow;
    let l = crate::i18n::current();
    let reason_error = outcome.error_for(l, "reason");
    let form = d.can_write.then(|| new_deal_form(d, outcome));
    let columns = d.stages.iter().map(|s| {
        let mut shown = 0_usize;
        let cards = d.cards.iter().filter(|c| c.stage == s.key).map(|c| {
            shown += 1;
            let mover = d.can_write.then(|| {
                move_form(&c.id, c.version, &c.stage, &d.stages, "board", reason_error)
            });
            // Who the deal is with: the contact and the organisation, or
            // either, or no line at all.
            let with: Option<Cow<'a, str>> = match (c.person.as_str(), c.organisation.as_str()) {
                ("", "") => None,
                (n, "") | ("", n) => Some(Cow::Borrowed(n)),
                (p, o) => Some(Cow::Owned(format!("{p} · {o}"))),
            };
            view! {
                <li class="rounded-md border border-slate-200 bg-white p-3 shadow-sm" data-testid="deal-card">
                    <a class=LINK href=format!("/deals/{}", c.id)>{c.title.as_str()}</a>
                    <p class="text-sm font-medium">{c.value.as_str()}</p>
                    {with.map(|w| view! { <p class="text-xs text-slate-600">{w}</p> })}
                    {(!c.close.is_empty()).then(|| view! {
                        <p class="text-xs text-slate-500">{format!("{}: {}", tr(l, "Expected close"), c.close)}</p>
                    })}
                    {mover}
                </li>
            }
        }).collect_view();
        let hidden = usize::try_from(s.deals).unwrap_or(0).saturating_sub(shown);
        let more = (hidden > 0).then(|| view! {
            <a class=format!("mt-2 block text-xs {LINK}") href=format!("/deals?view=list&stage={}", s.key) data-testid="column-more">
                {format!("{hidden} {}", tr(l, "more in the list"))}
            </a>
        });
        view! {
            <div class="w-64 shrink-0 rounded-lg bg-slate-100 p-3" data-testid="stage-column" data-stage=s.key.as_str()>
                <h2 class="mb-2 flex justify-between text-sm font-semibold text-slate-700">
                    <span>{s.label.as_str()}</span>
                    <span class="font-normal text-slate-500" data-testid="column-count">{s.deals}</span>
                </h2>
                <ul class="space-y-2">{cards}</ul>
                {more}
            </div>
        }
    }).collect_view();
    view! {
        {form}
        // `relative`: the board is the containing block of the cards'
        // visually hidden labels (absolutely positioned), so its
        // own scrolling clips them instead of the page widening.
        <div class="relative flex gap-3 overflow-x-auto pb-2" data-testid="deal-board">{columns}</div>
    }
}

/// The stage history and a move form, on a deal's page.
#[component]
pub fn DealStagePanel(id: String) -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let data = Resource::new(move || id.clone(), crate::api::boxed(deal_history));
    view! {
        {banner(l, &outcome)}
        <Suspense fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(Some(h)) => {
                    let rows = h.history.iter().map(|r| view! {
                        <li class="text-sm" data-testid="stage-history-row">
                            <span class="text-xs text-slate-500">{r.at.clone()}" "</span>
                            {if r.from.is_empty() { r.to.clone() } else { format!("{} → {}", r.from, r.to) }}
                            {(!r.reason.is_empty()).then(|| view! { <span class="text-slate-600">" — "{r.reason.clone()}</span> })}
                            <span class="text-xs text-slate-500">" ("{r.actor.clone()}")"</span>
                        </li>
                    }).collect_view();
                    let mover = h.can_write.then(|| {
                        move_form(&h.id, h.version, &h.stage, &h.stages, "record", outcome.error_for(l, "reason"))
                    });
                    view! {
                        <div class=PANEL>
                            <h2 class="text-lg font-semibold">{tr(l, "Stage history")}</h2>
                            <ol class="mt-2 space-y-1">{rows}</ol>
                            {mover}
                        </div>
                    }.into_any()
                }
                Ok(None) => ().into_any(),
                Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
            })}
        </Suspense>
    }
}
