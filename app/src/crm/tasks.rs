//! `/tasks` (my open tasks, overdue first) and the tasks-and-notes panel
//! on contacts, deals and organisations. Times are shown in
//! Europe/Amsterdam and stored in UTC.

use super::*;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskDto {
    pub id: String,
    pub title: String,
    /// Europe/Amsterdam, `YYYY-MM-DD HH:MM`; empty when none.
    pub due: String,
    pub overdue: bool,
    pub done: bool,
    pub first_response: bool,
    /// The SLA sweep marked this first-response task breached.
    pub breached: bool,
    /// Where the task's record is, and its kind.
    pub href: String,
    pub version: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoteDto {
    pub body: String,
    pub author: String,
    pub at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordWorkDto {
    pub tasks: Vec<TaskDto>,
    pub notes: Vec<NoteDto>,
    pub members: Vec<Choice>,
    pub can_write: bool,
}

#[cfg(feature = "ssr")]
fn amsterdam(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Amsterdam)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

#[cfg(feature = "ssr")]
fn task_dto(t: metiva_db::crm::tasks::Task) -> TaskDto {
    let href = match (t.person_id, t.deal_id, t.organisation_id) {
        (Some(p), _, _) => format!("/persons/{p}"),
        (_, Some(d), _) => format!("/deals/{d}"),
        (_, _, Some(o)) => format!("/organisations/{o}"),
        _ => String::new(),
    };
    TaskDto {
        id: t.id.to_string(),
        title: t.title,
        due: t.due_at.map(amsterdam).unwrap_or_default(),
        overdue: t.done_at.is_none() && t.due_at.is_some_and(|d| d < chrono::Utc::now()),
        done: t.done_at.is_some(),
        first_response: t.purpose == "first_response",
        breached: t.breached_at.is_some(),
        href,
        version: t.version,
    }
}

#[cfg(feature = "ssr")]
fn link(kind: &str, id: &str) -> Result<metiva_db::crm::tasks::Link, AppError> {
    metiva_db::crm::tasks::Link::parse(kind, id)
        .ok_or_else(|| AppError::not_found(tr(crate::i18n::current(), "Not found.")))
}

/// Where a record's page is (the plain forms return there).
fn record_path(kind: &str, id: &str) -> String {
    match kind {
        "deal" => format!("/deals/{id}"),
        "organisation" => format!("/organisations/{id}"),
        _ => format!("/persons/{id}"),
    }
}

#[server(endpoint = "my_tasks")]
pub async fn my_tasks() -> Result<Vec<TaskDto>, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    let ctx = require(metiva_roles::Permission::PersonsRead)?;
    Ok(database()?
        .my_tasks(&ctx)
        .await
        .map_err(db_failure)?
        .into_iter()
        .map(task_dto)
        .collect())
}

#[server(endpoint = "record_work")]
pub async fn record_work(kind: String, id: String) -> Result<Option<RecordWorkDto>, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    let ctx = require(metiva_roles::Permission::PersonsRead)?;
    let Ok(link) = link(&kind, &id) else {
        return Ok(None);
    };
    let db = database()?;
    let (tasks, notes, members) = db.tasks_and_notes(&ctx, link).await.map_err(db_failure)?;
    Ok(Some(work_dto(&ctx, tasks, notes, members)))
}

/// The work panel's data, from what the record's transaction read.
#[cfg(feature = "ssr")]
pub(crate) fn work_dto(
    ctx: &metiva_db::TenantCtx,
    tasks: Vec<metiva_db::crm::tasks::Task>,
    notes: Vec<metiva_db::crm::tasks::Note>,
    members: Vec<(uuid::Uuid, String)>,
) -> RecordWorkDto {
    let name = |u: Option<uuid::Uuid>| {
        u.and_then(|u| members.iter().find(|(id, _)| *id == u))
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let notes = notes
        .into_iter()
        .map(|n| NoteDto {
            author: name(n.author_user_id),
            body: n.body,
            at: amsterdam(n.at),
        })
        .collect();
    RecordWorkDto {
        tasks: tasks.into_iter().map(task_dto).collect(),
        notes,
        members: members
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
        can_write: ctx.can(metiva_roles::Permission::PersonsWrite),
    }
}

#[server(endpoint = "add_task")]
pub async fn add_task(
    kind: String,
    id: String,
    title: String,
    due: Option<String>,
    assignee: Option<String>,
) -> Result<String, AppError> {
    use super::ssr::{done, refuse};
    use crate::api::ssr::{database, require};
    use metiva_db::crm::CrmError;
    use metiva_db::crm::tasks::TaskForm;
    let ctx = require(metiva_roles::Permission::PersonsWrite)?;
    let target = link(&kind, &id)?;
    let back = record_path(&kind, &id);
    let fields = TaskForm {
        title: &title,
        due: due.as_deref(),
        assignee: assignee.as_deref(),
    }
    .validate()
    .map_err(|f| refuse(CrmError::Invalid(f), &back))?;
    let task = database()?
        .add_task(&ctx, target, &fields)
        .await
        .map_err(|e| refuse(e, &back))?;
    done(&format!("{back}?done=saved"));
    Ok(task.to_string())
}

#[server(endpoint = "add_note")]
pub async fn add_note(kind: String, id: String, body: String) -> Result<String, AppError> {
    use super::ssr::{done, refuse};
    use crate::api::ssr::{database, require};
    let ctx = require(metiva_roles::Permission::PersonsWrite)?;
    let target = link(&kind, &id)?;
    let back = record_path(&kind, &id);
    let note = database()?
        .add_note(&ctx, target, &body)
        .await
        .map_err(|e| refuse(e, &back))?;
    done(&format!("{back}?done=saved"));
    Ok(note.to_string())
}

/// Marks a task done; a plain form returns to `/tasks` or the record.
#[server(endpoint = "complete_task")]
pub async fn complete_task(id: String, version: i32, back: Option<String>) -> Result<(), AppError> {
    use super::ssr::{done, parse_id, refuse};
    use crate::api::ssr::{database, require};
    let ctx = require(metiva_roles::Permission::PersonsWrite)?;
    let uid = parse_id(&id)?;
    // Only our own paths (no open redirect).
    let back = back
        .filter(|b| {
            ["/tasks", "/persons/", "/deals/", "/organisations/"]
                .iter()
                .any(|p| b.starts_with(p))
                && !b.contains("//")
                && b.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/-".contains(c))
        })
        .unwrap_or_else(|| "/tasks".into());
    database()?
        .complete_task(&ctx, uid, version)
        .await
        .map_err(|e| refuse(e, &back))?;
    done(&format!("{back}?done=saved"));
    Ok(())
}

#[component]
fn DoneButton(t: TaskDto, back: String) -> impl IntoView {
    let l = crate::i18n::current();
    view! {
        <form method="post" action="/api/complete_task" class="inline">
            <input type="hidden" name="id" value=t.id />
            <input type="hidden" name="version" value=t.version.to_string() />
            <input type="hidden" name="back" value=back />
            <button type="submit" class="rounded-md border border-slate-300 px-2 py-0.5 text-xs font-medium text-slate-700 hover:bg-slate-50">{tr(l, "Done")}</button>
        </form>
    }
}

#[component]
fn TaskLine(t: TaskDto, back: String, can_write: bool) -> impl IntoView {
    let l = crate::i18n::current();
    let due_class = if t.overdue {
        "text-xs font-semibold text-red-700"
    } else {
        "text-xs text-slate-500"
    };
    let label = if t.first_response {
        tr(l, "First response to the new lead")
    } else {
        ""
    };
    view! {
        <li class="flex flex-wrap items-center gap-2 border-t border-slate-100 py-2" data-testid="task-row">
            <span class=if t.done { "line-through text-slate-400" } else { "" }>{if t.first_response { label.to_string() } else { t.title.clone() }}</span>
            {t.breached.then(|| view! { <span class="rounded bg-red-100 px-1.5 py-0.5 text-xs font-semibold text-red-800" data-testid="sla-breached">{tr(l, "SLA breached")}</span> })}
            {(!t.due.is_empty()).then(|| view! { <span class=due_class>{tr(l, "Due")}" "{t.due.clone()}{t.overdue.then(|| format!(" · {}", tr(l, "overdue")))}</span> })}
            {(!t.href.is_empty()).then(|| view! { <a class=LINK href=t.href.clone()>{tr(l, "Open record")}</a> })}
            {(can_write && !t.done).then(|| view! { <DoneButton t=t.clone() back=back.clone() /> })}
        </li>
    }
    .into_any()
}

#[component]
pub fn TasksPage() -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let data = Resource::new(|| (), crate::api::boxed(|_| my_tasks()));
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "My tasks")}</h1>
            {banner(l, &outcome)}
            <super::NoticesPanel />
            <p class="text-sm"><a class=LINK href="/settings/alerts">{tr(l, "SMS alerts")}</a></p>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 6rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! { <p class="text-sm text-slate-600">{tr(l, "No open tasks.")}</p> }.into_any(),
                    Ok(list) => {
                        let rows = list.into_iter().map(|t| view! { <TaskLine t=t back="/tasks".to_string() can_write=true /> }).collect_view();
                        view! { <ul class=PANEL>{rows}</ul> }.into_any()
                    }
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// Tasks and notes on a record's page, with forms to add either.
#[component]
pub fn RecordWork(kind: &'static str, id: String) -> impl IntoView {
    let rid = id.clone();
    let data = Resource::new(
        move || (kind.to_string(), rid.clone()),
        crate::api::boxed(|(k, i)| record_work(k, i)),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(Some(w)) => view! { <RecordWorkView kind=kind id=id.clone() w=w /> }.into_any(),
                Ok(None) => ().into_any(),
                Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
            })}
        </Suspense>
    }
}

/// The tasks-and-notes panel from data already read (the person page
/// reads it in its record's transaction).
#[component]
pub fn RecordWorkView(kind: &'static str, id: String, w: RecordWorkDto) -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let back = record_path(kind, &id);
    let e = |f: &str| outcome.error_for(l, f);
    let (no_tasks, no_notes) = (w.tasks.is_empty(), w.notes.is_empty());
    let tasks = w
        .tasks
        .iter()
        .cloned()
        .map(|t| view! { <TaskLine t=t back=back.clone() can_write=w.can_write /> })
        .collect_view();
    let notes = w
        .notes
        .iter()
        .map(|n| {
            view! {
                <li class="border-t border-slate-100 py-2 text-sm" data-testid="note-row">
                    <p class="whitespace-pre-wrap">{n.body.clone()}</p>
                    <p class="text-xs text-slate-500">{n.author.clone()}" · "{n.at.clone()}</p>
                </li>
            }
        })
        .collect_view();
    let task_form = w.can_write.then(|| view! {
        <form method="post" action="/api/add_task" class="mt-3 grid gap-2 sm:grid-cols-3" data-testid="task-form">
            <input type="hidden" name="kind" value=kind />
            <input type="hidden" name="id" value=id.clone() />
            <Field name="title" label="Task" value=String::new() required=true error=e("title") />
            <Field name="due" label="Due (Amsterdam time)" value=String::new() kind="datetime-local" error=e("due") />
            <Select name="assignee" label="Assignee" choices=w.members.clone() selected=String::new() error=e("assignee") />
            <div class="sm:col-span-3"><button type="submit" class=PRIMARY>{tr(l, "Add task")}</button></div>
        </form>
    });
    let note_form = w.can_write.then(|| view! {
        <form method="post" action="/api/add_note" class="mt-3" data-testid="note-form">
            <input type="hidden" name="kind" value=kind />
            <input type="hidden" name="id" value=id.clone() />
            <label class=LABEL for="f-body">{tr(l, "Note")}</label>
            <textarea class=INPUT id="f-body" name="body" rows="2" maxlength="10000" required=true></textarea>
            {e("body").map(|m| view! { <p class="mt-1 text-xs text-red-700" data-testid="error-body">{m}</p> })}
            <button type="submit" class=format!("mt-2 {PRIMARY}")>{tr(l, "Add note")}</button>
        </form>
    });
    view! {
        <div class=PANEL>
            // Each list with its own form under it, and a line saying so
            // when it is empty (not a bare heading over the next form).
            <h2 class="text-lg font-semibold">{tr(l, "Tasks")}</h2>
            {no_tasks.then(|| view! { <p class="mt-1 text-sm text-slate-500" data-testid="no-tasks">{tr(l, "No tasks yet.")}</p> })}
            <ul>{tasks}</ul>
            {task_form}
            <h2 class="mt-6 text-lg font-semibold">{tr(l, "Notes")}</h2>
            {no_notes.then(|| view! { <p class="mt-1 text-sm text-slate-500" data-testid="no-notes">{tr(l, "No notes yet.")}</p> })}
            <ul>{notes}</ul>
            {note_form}
        </div>
    }
}
