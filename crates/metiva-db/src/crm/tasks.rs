//! Tasks and notes on records, and the first-response task a new lead
//! gets (due at the workspace's SLA deadline, see [`super::sla`]).

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::validate::{self, Check, MAX_NOTES};
use super::{CrmError, check_member, parse_ref, split, stale_or_missing};
use crate::access::TenantCtx;
use crate::schema::{deals, notes, organisations, persons, tasks};
use crate::{Database, DbError, TenantConn};

/// What a task or note is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Person(Uuid),
    Deal(Uuid),
    Organisation(Uuid),
}

impl Link {
    fn ids(self) -> (Option<Uuid>, Option<Uuid>, Option<Uuid>) {
        match self {
            Link::Person(p) => (Some(p), None, None),
            Link::Deal(d) => (None, Some(d), None),
            Link::Organisation(o) => (None, None, Some(o)),
        }
    }

    /// `person`, `deal` or `organisation` and an id, as a form posts them.
    pub fn parse(kind: &str, id: &str) -> Option<Self> {
        let id = Uuid::parse_str(id.trim()).ok()?;
        match kind {
            "person" => Some(Link::Person(id)),
            "deal" => Some(Link::Deal(id)),
            "organisation" => Some(Link::Organisation(id)),
            _ => None,
        }
    }
}

/// A task as lists show it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
pub struct Task {
    pub id: Uuid,
    pub title: String,
    pub due_at: Option<DateTime<Utc>>,
    pub assignee_user_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
    pub deal_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub purpose: String,
    pub done_at: Option<DateTime<Utc>>,
    pub version: i32,
    /// When the SLA sweep found this first-response task past its
    /// deadline (set once, see `alerts::sweep`).
    pub breached_at: Option<DateTime<Utc>>,
}

/// A note on a record.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Note {
    pub id: Uuid,
    pub body: String,
    pub author_user_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// A task form as typed.
#[derive(Debug, Clone, Default)]
pub struct TaskForm<'a> {
    pub title: &'a str,
    /// A local Europe/Amsterdam time, as a `datetime-local` input posts it
    /// (`2027-01-15T14:30`).
    pub due: Option<&'a str>,
    pub assignee: Option<&'a str>,
}

/// Validated task fields.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFields {
    pub title: String,
    pub due_at: Option<DateTime<Utc>>,
    pub assignee_user_id: Option<Uuid>,
}

impl TaskForm<'_> {
    pub fn validate(&self) -> Result<TaskFields, Vec<super::FieldError>> {
        let mut c = Check::default();
        let due_at = match validate::optional(self.due) {
            None => None,
            Some(d) => {
                let local = chrono::NaiveDateTime::parse_from_str(&d, "%Y-%m-%dT%H:%M")
                    .ok()
                    .and_then(|t| Amsterdam.from_local_datetime(&t).earliest());
                match local {
                    Some(t) => Some(t.with_timezone(&Utc)),
                    None => {
                        c.fail("due", "date.format");
                        None
                    }
                }
            }
        };
        let fields = TaskFields {
            title: validate::name(&mut c, "title", self.title),
            due_at,
            assignee_user_id: parse_ref(&mut c, "assignee", self.assignee),
        };
        c.finish(fields)
    }
}

/// The linked record must be in this workspace.
async fn check_link(tc: &mut TenantConn<'_>, link: Link) -> Result<(), CrmError> {
    let company = tc.company().as_str().to_string();
    let found: Option<Uuid> = match link {
        Link::Person(id) => persons::table
            .filter(persons::company_id.eq(&company))
            .filter(persons::id.eq(id))
            .select(persons::id)
            .first(tc.conn())
            .await
            .optional()?,
        Link::Deal(id) => deals::table
            .filter(deals::company_id.eq(&company))
            .filter(deals::id.eq(id))
            .select(deals::id)
            .first(tc.conn())
            .await
            .optional()?,
        Link::Organisation(id) => organisations::table
            .filter(organisations::company_id.eq(&company))
            .filter(organisations::id.eq(id))
            .select(organisations::id)
            .first(tc.conn())
            .await
            .optional()?,
    };
    found.map(|_| ()).ok_or(CrmError::NotFound)
}

/// The first-response task a new lead gets: due at the SLA deadline,
/// assigned to the contact's owner.
pub(crate) async fn first_response_task(
    tc: &mut TenantConn<'_>,
    person: Uuid,
    owner: Option<Uuid>,
) -> Result<(), DbError> {
    let sla = super::sla::lead_sla_of(tc).await?;
    let due = super::sla::deadline(Utc::now(), &sla);
    let company = tc.company().as_str().to_string();
    diesel::insert_into(tasks::table)
        .values((
            tasks::company_id.eq(&company),
            tasks::title.eq("First response to the new lead"),
            tasks::due_at.eq(Some(due)),
            tasks::assignee_user_id.eq(owner),
            tasks::person_id.eq(Some(person)),
            tasks::purpose.eq("first_response"),
        ))
        .execute(tc.conn())
        .await?;
    Ok(())
}

impl Database {
    /// The caller's open tasks, overdue first, then by due time.
    pub async fn my_tasks(&self, ctx: &TenantCtx) -> Result<Vec<Task>, DbError> {
        let me = ctx.user_id();
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            Ok(tasks::table
                .filter(tasks::company_id.eq(&company))
                .filter(tasks::assignee_user_id.eq(me))
                .filter(tasks::done_at.is_null())
                .order((tasks::due_at.asc().nulls_last(), tasks::created_at.asc()))
                .limit(500)
                .select(Task::as_select())
                .load(tc.conn())
                .await?)
        })
        .await
    }

    /// A record's tasks (open first) and notes (newest first), and the
    /// workspace's active members (assignees, note authors), in one
    /// snapshot: one transaction for the record's work panel (issue 15).
    #[allow(clippy::type_complexity)]
    pub async fn tasks_and_notes(
        &self,
        ctx: &TenantCtx,
        link: Link,
    ) -> Result<(Vec<Task>, Vec<Note>, Vec<(Uuid, String)>), DbError> {
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            let (t, n) = record_work(tc, link).await?;
            let members = super::active_members(tc).await?;
            Ok((t, n, members))
        })
        .await
    }

    /// Adds a task to a record.
    pub async fn add_task(
        &self,
        ctx: &TenantCtx,
        link: Link,
        f: &TaskFields,
    ) -> Result<Uuid, CrmError> {
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(add_task(tc, link, f).await)
        })
        .await?
    }

    /// Marks a task read at `version` done.
    pub async fn complete_task(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        version: i32,
    ) -> Result<(), CrmError> {
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(complete(tc, id, version).await)
        })
        .await?
    }

    /// Adds a note (at most 10,000 characters) to a record.
    pub async fn add_note(
        &self,
        ctx: &TenantCtx,
        link: Link,
        body: &str,
    ) -> Result<Uuid, CrmError> {
        let mut c = Check::default();
        let body = validate::text(&mut c, "body", Some(body), MAX_NOTES);
        if body.is_none() {
            c.fail("body", "required");
        }
        let body = c
            .finish(body.unwrap_or_default())
            .map_err(CrmError::Invalid)?;
        let author = ctx.user_id();
        let (p, d, o) = link.ids();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(
                async {
                    check_link(tc, link).await?;
                    let company = tc.company().as_str().to_string();
                    Ok(diesel::insert_into(notes::table)
                        .values((
                            notes::company_id.eq(&company),
                            notes::body.eq(&body),
                            notes::author_user_id.eq(Some(author)),
                            notes::person_id.eq(p),
                            notes::deal_id.eq(d),
                            notes::organisation_id.eq(o),
                        ))
                        .returning(notes::id)
                        .get_result(tc.conn())
                        .await?)
                }
                .await,
            )
        })
        .await?
    }
}

async fn add_task(tc: &mut TenantConn<'_>, link: Link, f: &TaskFields) -> Result<Uuid, CrmError> {
    check_link(tc, link).await?;
    check_member(tc, "assignee", f.assignee_user_id).await?;
    let (p, d, o) = link.ids();
    let company = tc.company().as_str().to_string();
    Ok(diesel::insert_into(tasks::table)
        .values((
            tasks::company_id.eq(&company),
            tasks::title.eq(&f.title),
            tasks::due_at.eq(f.due_at),
            tasks::assignee_user_id.eq(f.assignee_user_id),
            tasks::person_id.eq(p),
            tasks::deal_id.eq(d),
            tasks::organisation_id.eq(o),
        ))
        .returning(tasks::id)
        .get_result(tc.conn())
        .await?)
}

async fn complete(tc: &mut TenantConn<'_>, id: Uuid, version: i32) -> Result<(), CrmError> {
    let company = tc.company().as_str().to_string();
    let n = diesel::update(
        tasks::table
            .filter(tasks::company_id.eq(&company))
            .filter(tasks::id.eq(id))
            .filter(tasks::version.eq(version)),
    )
    .set((
        tasks::done_at.eq(now.into_sql::<Timestamptz>().nullable()),
        tasks::version.eq(tasks::version + 1),
    ))
    .execute(tc.conn())
    .await?;
    if n == 1 {
        return Ok(());
    }
    let there: Option<Uuid> = tasks::table
        .filter(tasks::company_id.eq(&company))
        .filter(tasks::id.eq(id))
        .select(tasks::id)
        .first(tc.conn())
        .await
        .optional()?;
    Err(stale_or_missing(there.is_some()))
}

/// A record's tasks (open first) and notes (newest first), at most 200
/// each, in the caller's transaction (a record page reads them in its own
/// one). One fixed statement per link kind, so each is a cached prepared
/// statement (a boxed query would be planned on every call).
pub(crate) async fn record_work(
    tc: &mut TenantConn<'_>,
    link: Link,
) -> Result<(Vec<Task>, Vec<Note>), DbError> {
    let company = tc.company().as_str().to_string();
    macro_rules! work {
        ($task_col:expr, $note_col:expr, $id:expr) => {{
            let t = tasks::table
                .filter(tasks::company_id.eq(&company))
                .filter($task_col.eq($id))
                .order((
                    tasks::done_at.is_not_null(),
                    tasks::due_at.asc().nulls_last(),
                ))
                .limit(200)
                .select(Task::as_select())
                .load(tc.conn())
                .await?;
            let n = notes::table
                .filter(notes::company_id.eq(&company))
                .filter($note_col.eq($id))
                .order(notes::at.desc())
                .limit(200)
                .select((notes::id, notes::body, notes::author_user_id, notes::at))
                .load(tc.conn())
                .await?;
            Ok((t, n))
        }};
    }
    match link {
        Link::Person(p) => work!(tasks::person_id, notes::person_id, p),
        Link::Deal(d) => work!(tasks::deal_id, notes::deal_id, d),
        Link::Organisation(o) => work!(tasks::organisation_id, notes::organisation_id, o),
    }
}
