//! `/settings/jobs`: this workspace's queued, running, failed and dead
//! background jobs (attempts, next run, last error) and the schedules
//! declared in code. Read with `jobs.read`; "retry now" and "discard" are
//! plain POST forms for `jobs.manage` (audited by the domain).

use super::*;

/// One job as the page shows it. Holds ids, kinds and error text only
/// (job payloads are never sent to the browser).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobDto {
    pub id: String,
    pub kind: String,
    pub key: Option<String>,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// UTC, RFC 3339.
    pub next_run: String,
    pub last_error: Option<String>,
}

/// A schedule: its name, kind, when (in words) and its next run (UTC).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CronDto {
    pub name: String,
    pub kind: String,
    pub daily: Option<(u32, u32, String)>,
    pub hourly_minute: Option<u32>,
    pub next_run: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobsDto {
    pub jobs: Vec<JobDto>,
    pub schedules: Vec<CronDto>,
    pub can_manage: bool,
}

#[cfg(feature = "ssr")]
fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[server(endpoint = "jobs_overview")]
pub async fn jobs_overview() -> Result<JobsDto, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    use metiva_db::jobs::{At, SCHEDULES};
    let ctx = require(metiva_roles::Permission::JobsRead)?;
    let rows = database()?.open_jobs(&ctx).await.map_err(db_failure)?;
    let now = chrono::Utc::now();
    Ok(JobsDto {
        jobs: rows
            .into_iter()
            .map(|r| JobDto {
                id: r.id.to_string(),
                kind: r.kind,
                key: r.job_key,
                state: r.state,
                attempts: r.attempts,
                max_attempts: r.max_attempts,
                next_run: rfc3339(r.run_at),
                last_error: r.last_error,
            })
            .collect(),
        schedules: SCHEDULES
            .iter()
            .map(|c| CronDto {
                name: c.name.into(),
                kind: c.kind.into(),
                daily: match c.at {
                    At::Daily { hour, minute, tz } => Some((hour, minute, tz.name().into())),
                    At::Hourly { .. } | At::EveryMinute => None,
                },
                hourly_minute: match c.at {
                    At::Hourly { minute } => Some(minute),
                    At::Daily { .. } | At::EveryMinute => None,
                },
                next_run: rfc3339(c.next_slot(now)),
            })
            .collect(),
        can_manage: ctx.can(metiva_roles::Permission::JobsManage),
    })
}

#[cfg(feature = "ssr")]
fn job_failure(e: metiva_db::DbError) -> AppError {
    match e {
        metiva_db::DbError::NotFound => AppError::not_found(tr(
            crate::i18n::current(),
            "That job is not here, or it is running.",
        )),
        other => crate::api::ssr::db_failure(other),
    }
}

/// "Retry now": a failed or dead job runs again at once with fresh
/// attempts. 404 for another workspace's job, or one not failed or dead.
#[server(endpoint = "retry_job")]
pub async fn retry_job(id: String) -> Result<(), AppError> {
    use super::ssr::{done, parse_id};
    use crate::api::ssr::{database, request_id, require};
    let ctx = require(metiva_roles::Permission::JobsManage)?;
    let id = parse_id(&id)?;
    database()?
        .retry_job(&ctx, id, &request_id())
        .await
        .map_err(job_failure)?;
    done("/settings/jobs?done=saved");
    Ok(())
}

/// "Discard": a queued, failed or dead job will not run (its key stays
/// taken). 404 for another workspace's job, or one running or finished.
#[server(endpoint = "discard_job")]
pub async fn discard_job(id: String) -> Result<(), AppError> {
    use super::ssr::{done, parse_id};
    use crate::api::ssr::{database, request_id, require};
    let ctx = require(metiva_roles::Permission::JobsManage)?;
    let id = parse_id(&id)?;
    database()?
        .discard_job(&ctx, id, &request_id())
        .await
        .map_err(job_failure)?;
    done("/settings/jobs?done=saved");
    Ok(())
}

fn state_label(s: &str) -> &'static str {
    match s {
        "queued" => "Queued",
        "running" => "Running",
        "failed" => "Failed, will retry",
        "dead" => "Dead",
        _ => "Unknown",
    }
}

#[component]
fn JobRowView(j: JobDto, manage: bool) -> impl IntoView {
    let l = crate::i18n::current();
    let actionable = manage && (j.state == "failed" || j.state == "dead");
    let discardable = manage && j.state != "running";
    let forms = view! {
        {actionable.then(|| view! {
            <form method="post" action="/api/retry_job" class="inline">
                <input type="hidden" name="id" value=j.id.clone() />
                <button type="submit" class=PRIMARY data-testid="retry-job">{tr(l, "Retry now")}</button>
            </form>
        })}
        {discardable.then(|| view! {
            <form method="post" action="/api/discard_job" class="ml-2 inline">
                <input type="hidden" name="id" value=j.id.clone() />
                <button type="submit" class=DANGER data-testid="discard-job">{tr(l, "Discard")}</button>
            </form>
        })}
    };
    view! {
        <tr data-testid="job-row" data-state=j.state.clone()>
            <td class=TD><code>{j.kind.clone()}</code>{j.key.clone().map(|k| view! { <div class="text-xs text-slate-500">{k}</div> })}</td>
            <td class=TD>{tr(l, state_label(&j.state))}</td>
            <td class=TD>{j.attempts}" / "{j.max_attempts}</td>
            <td class=TD><time datetime=j.next_run.clone()>{j.next_run.clone()}</time></td>
            <td class=TD><span class="text-xs text-red-800">{j.last_error.clone().unwrap_or_default()}</span></td>
            <td class=TD>{forms}</td>
        </tr>
    }
}

#[component]
fn JobsPanel(d: JobsDto) -> impl IntoView {
    let l = crate::i18n::current();
    let manage = d.can_manage;
    let table = if d.jobs.is_empty() {
        view! { <p class="mt-2 text-sm text-slate-600" data-testid="no-jobs">{tr(l, "No open jobs.")}</p> }.into_any()
    } else {
        let rows = d
            .jobs
            .iter()
            .map(|j| view! { <JobRowView j=j.clone() manage /> })
            .collect_view();
        view! {
            <table class="mt-4 w-full text-sm" data-testid="jobs-table">
                <thead><tr>
                    <th class=TH>{tr(l, "Job")}</th>
                    <th class=TH>{tr(l, "State")}</th>
                    <th class=TH>{tr(l, "Attempts")}</th>
                    <th class=TH>{tr(l, "Next run (UTC)")}</th>
                    <th class=TH>{tr(l, "Last error")}</th>
                    <th class=TH></th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    };
    let schedules = d
        .schedules
        .iter()
        .map(|c| {
            let when = match (&c.daily, c.hourly_minute) {
                (Some((h, m, tz)), _) => format!("{} {h:02}:{m:02} {tz}", tr(l, "Daily at")),
                (None, Some(m)) => format!("{} :{m:02}", tr(l, "Hourly at")),
                (None, None) => tr(l, "Every minute").to_string(),
            };
            view! {
                <li class="flex justify-between gap-3 py-2" data-testid=format!("cron-{}", c.name)>
                    <span><code>{c.name.clone()}</code>" ("<code>{c.kind.clone()}</code>")"</span>
                    <span>{when}", "{tr(l, "next:")}" "<time datetime=c.next_run.clone()>{c.next_run.clone()}</time></span>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class=PANEL data-testid="jobs">
            <h2 class="text-lg font-semibold">{tr(l, "Open jobs")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "Background work of this workspace. A job runs at least once; a failed job is retried with increasing waits, and after its last attempt it is dead until someone retries or discards it.")}</p>
            {table}
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Schedules")}</h2>
            <ul class="mt-2 divide-y divide-slate-100">{schedules}</ul>
        </div>
    }
}

#[component]
pub fn JobsPage() -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let data = Resource::new(|| (), crate::api::boxed(|_| jobs_overview()));
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Background jobs")}</h1>
            {banner(l, &outcome)}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(d) => view! { <JobsPanel d /> }.into_any(),
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
