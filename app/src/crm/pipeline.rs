//! `/settings/pipeline`: the workspace's deal stages (rename, add,
//! reorder, remove, moving a removed stage's deals along) and its lead
//! response target. Plain forms, for roles with `pipeline.configure`;
//! everyone who reads deals sees the settings.

use super::*;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageRowDto {
    pub key: String,
    pub label: String,
    pub outcome: String,
    pub deals: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineDto {
    pub stages: Vec<StageRowDto>,
    pub target_minutes: i32,
    pub day_start: String,
    pub day_end: String,
    pub can_configure: bool,
}

#[server(endpoint = "pipeline_settings")]
pub async fn pipeline_settings() -> Result<PipelineDto, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    let ctx = require(metiva_roles::Permission::DealsRead)?;
    let l = crate::i18n::current();
    let db = database()?;
    let usage = db.pipeline_usage(&ctx).await.map_err(db_failure)?;
    let sla = db.lead_sla(&ctx).await.map_err(db_failure)?;
    Ok(PipelineDto {
        stages: usage
            .into_iter()
            .map(|u| StageRowDto {
                label: crate::i18n::stage_label(l, &u.stage.key, &u.stage.label),
                key: u.stage.key,
                outcome: u.stage.outcome,
                deals: u.deals,
            })
            .collect(),
        target_minutes: sla.target_minutes,
        day_start: sla.day_start.format("%H:%M").to_string(),
        day_end: sla.day_end.format("%H:%M").to_string(),
        can_configure: ctx.can(metiva_roles::Permission::PipelineConfigure),
    })
}

/// One change to the pipeline, by `action`: `rename` (key, label), `add`
/// (label, outcome), `up` / `down` (key), `remove` (key, move_to).
#[server(endpoint = "change_stage")]
pub async fn change_stage(
    action: String,
    key: Option<String>,
    label: Option<String>,
    outcome: Option<String>,
    move_to: Option<String>,
) -> Result<(), AppError> {
    use super::ssr::{done, refuse};
    use crate::api::ssr::{database, request_id, require};
    use metiva_db::crm::pipeline::StageChange as C;
    let ctx = require(metiva_roles::Permission::PipelineConfigure)?;
    let key = key.unwrap_or_default();
    let change = match action.as_str() {
        "rename" => C::Rename {
            key,
            label: label.unwrap_or_default(),
        },
        "add" => C::Add {
            label: label.unwrap_or_default(),
            outcome: outcome.unwrap_or_else(|| "open".into()),
        },
        "up" | "down" => C::Move {
            key,
            up: action == "up",
        },
        "remove" => C::Remove { key, move_to },
        _ => {
            return Err(AppError::validation(crate::i18n::tr(
                crate::i18n::current(),
                "Unknown pipeline change.",
            )));
        }
    };
    database()?
        .change_pipeline(&ctx, &change, &request_id())
        .await
        .map_err(|e| refuse(e, "/settings/pipeline"))?;
    done("/settings/pipeline?done=saved");
    Ok(())
}

#[server(endpoint = "save_lead_sla")]
pub async fn save_lead_sla(
    target_minutes: String,
    day_start: String,
    day_end: String,
) -> Result<(), AppError> {
    use super::ssr::{done, refuse};
    use crate::api::ssr::{database, request_id, require};
    use metiva_db::crm::CrmError;
    use metiva_db::crm::sla::SlaForm;
    let ctx = require(metiva_roles::Permission::PipelineConfigure)?;
    let back = "/settings/pipeline";
    let sla = SlaForm {
        target_minutes: &target_minutes,
        day_start: &day_start,
        day_end: &day_end,
    }
    .validate()
    .map_err(|f| refuse(CrmError::Invalid(f), back))?;
    database()?
        .save_lead_sla(&ctx, &sla, &request_id())
        .await
        .map_err(|e| refuse(e, back))?;
    done(&format!("{back}?done=saved"));
    Ok(())
}

const SMALL: &str = "rounded-md border border-slate-300 px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

fn outcome_text(outcome: &str) -> &'static str {
    match outcome {
        "won" => "Won",
        "lost" => "Lost",
        _ => "Open",
    }
}

/// One stage's row: its name (a rename form for those who configure),
/// its outcome and deals, and the reorder and remove buttons.
fn stage_row(l: Lang, s: &StageRowDto, all: &[StageRowDto], i: usize, configure: bool) -> AnyView {
    let count = view! { <span class="text-xs text-slate-500">{s.deals}" "{tr(l, "deals")}</span> };
    let outcome = tr(l, outcome_text(&s.outcome));
    if !configure {
        return view! {
            <li class="flex items-center justify-between gap-3 py-2" data-testid="stage-row" data-stage=s.key.clone()>
                <span>{s.label.clone()}</span>
                <span class="text-xs text-slate-600">{outcome}" · "{count}</span>
            </li>
        }
        .into_any();
    }
    let key = s.key.clone();
    let hidden = move |action: &'static str| {
        view! {
            <input type="hidden" name="action" value=action />
            <input type="hidden" name="key" value=key.clone() />
        }
    };
    let targets = all
        .iter()
        .filter(|t| t.key != s.key && t.outcome == s.outcome)
        .map(|t| view! { <option value=t.key.clone()>{t.label.clone()}</option> })
        .collect_view();
    let label_id = format!("stage-label-{}", s.key);
    let move_id = format!("stage-move-{}", s.key);
    let has_deals = s.deals > 0;
    view! {
        <li class="flex flex-wrap items-end gap-2 py-3" data-testid="stage-row" data-stage=s.key.clone()>
            <form method="post" action="/api/change_stage" class="flex flex-1 items-end gap-2">
                {hidden("rename")}
                <div class="min-w-0 flex-1">
                    <label class="sr-only" for=label_id.clone()>{tr(l, "Stage name")}</label>
                    <input class=INPUT id=label_id name="label" value=s.label.clone() maxlength="60" required=true />
                </div>
                <button type="submit" class=SMALL>{tr(l, "Rename")}</button>
            </form>
            <span class="w-28 text-xs text-slate-600">{outcome}" · "{count}</span>
            <form method="post" action="/api/change_stage">
                {hidden("up")}
                <button type="submit" class=SMALL disabled=i == 0 aria-label=tr(l, "Move up")>"↑"</button>
            </form>
            <form method="post" action="/api/change_stage">
                {hidden("down")}
                <button type="submit" class=SMALL disabled=i + 1 == all.len() aria-label=tr(l, "Move down")>"↓"</button>
            </form>
            <form method="post" action="/api/change_stage" class="flex items-end gap-2">
                {hidden("remove")}
                {has_deals.then(|| view! {
                    <label class="sr-only" for=move_id.clone()>{tr(l, "Move its deals to")}</label>
                    <select class=INPUT id=move_id.clone() name="move_to" title=tr(l, "Move its deals to")>{targets}</select>
                })}
                <button type="submit" class=format!("{SMALL} text-red-800")>{tr(l, "Remove")}</button>
            </form>
        </li>
    }
    .into_any()
}

#[component]
fn AddStageForm(outcome: Outcome) -> impl IntoView {
    let l = crate::i18n::current();
    let e = |f: &str| outcome.error_for(l, f);
    view! {
        <form method="post" action="/api/change_stage" class="mt-4 grid gap-3 border-t border-slate-100 pt-4 sm:grid-cols-3 sm:items-end" data-testid="add-stage-form">
            <input type="hidden" name="action" value="add" />
            <Field name="label" label="New stage" value=String::new() required=true error=e("label") />
            <div>
                <label class=LABEL for="f-outcome">{tr(l, "Outcome")}</label>
                <select class=INPUT id="f-outcome" name="outcome">
                    <option value="open">{tr(l, "Open")}</option>
                    <option value="won">{tr(l, "Won")}</option>
                    <option value="lost">{tr(l, "Lost")}</option>
                </select>
            </div>
            <div><button type="submit" class=PRIMARY>{tr(l, "Add stage")}</button></div>
        </form>
    }
}

#[component]
fn SlaForm(d: PipelineDto, outcome: Outcome) -> impl IntoView {
    let l = crate::i18n::current();
    let e = |f: &str| outcome.error_for(l, f);
    let configure = d.can_configure;
    view! {
        <div class=PANEL data-testid="sla-settings">
            <h2 class="text-lg font-semibold">{tr(l, "Lead response target")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "A new lead gets a first-response task, due this long after it arrives, counted in business hours (Monday to Friday, Europe/Amsterdam).")}</p>
            {if configure {
                view! {
                    <form method="post" action="/api/save_lead_sla" class="mt-4 grid gap-4 sm:grid-cols-4 sm:items-end" data-testid="sla-form">
                        <Field name="target_minutes" label="Target (minutes)" value=d.target_minutes.to_string() kind="number" required=true error=e("target_minutes") />
                        <Field name="day_start" label="Business day starts" value=d.day_start kind="time" required=true error=e("day_start") />
                        <Field name="day_end" label="Business day ends" value=d.day_end kind="time" required=true error=e("day_end") />
                        <div><button type="submit" class=PRIMARY>{tr(l, "Save target")}</button></div>
                    </form>
                }.into_any()
            } else {
                view! {
                    <p class="mt-4 text-sm" data-testid="sla-summary">
                        {d.target_minutes}" "{tr(l, "minutes")}", "{d.day_start}"–"{d.day_end}
                    </p>
                }.into_any()
            }}
        </div>
    }
}

#[component]
pub fn PipelinePage() -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let data = Resource::new(|| (), crate::api::boxed(|_| pipeline_settings()));
    view! {
        <section class="space-y-6">
            <a class=LINK href="/deals">{tr(l, "← Deals")}</a>
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Pipeline and lead response")}</h1>
            {banner(l, &outcome)}
            {outcome.error_for(l, "key").map(|m| view! { <p role="alert" class="text-sm text-red-700" data-testid="error-key">{m}</p> })}
            {outcome.error_for(l, "move_to").map(|m| view! { <p role="alert" class="text-sm text-red-700" data-testid="error-move_to">{m}</p> })}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(d) => {
                        let configure = d.can_configure;
                        let rows = d.stages.iter().enumerate()
                            .map(|(i, s)| stage_row(l, s, &d.stages, i, configure))
                            .collect_view();
                        view! {
                            <div class=PANEL data-testid="pipeline-settings">
                                <h2 class="text-lg font-semibold">{tr(l, "Deal stages")}</h2>
                                <p class="mt-1 text-sm text-slate-600">{tr(l, "The board shows a column per stage, in this order. Won and lost stages ask for a reason. A stage with deals can be removed once you say where its deals go.")}</p>
                                <ol class="mt-4 divide-y divide-slate-100">{rows}</ol>
                                {configure.then(|| view! { <AddStageForm outcome=outcome.clone() /> })}
                            </div>
                            <SlaForm d=d outcome=outcome.clone() />
                        }.into_any()
                    }
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
