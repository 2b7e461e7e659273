//! Persons and deals with their chain: visitor → person → deal.

use crate::access::TenantCtx;
use crate::repo::cached::{self, BindCached as _};
use crate::{Database, DbError, TenantConn};
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::Uuid as SqlUuid;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Record, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

/// A person with the chain: visitors that led to them, and their deals.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRecord {
    pub person: crate::repo::persons::Person,
    pub visitors: Vec<LinkedVisitor>,
    pub deals: Vec<crate::repo::deals::Deal>,
    /// The record's tasks and notes and the active members (assignees,
    /// note authors): the page's work panel, read in the same transaction.
    /// `members` holds every active member, by name, when the caller may
    /// write (the task form's assignee choice); otherwise only the active
    /// members who wrote the shown notes, in note order, since a reader's
    /// page shows no more of them (see `PERSON_RECORD_READER`).
    pub tasks: Vec<crate::crm::tasks::Task>,
    pub notes: Vec<crate::crm::tasks::Note>,
    pub members: Vec<(Uuid, String)>,
    /// The person's conversion uploads (issue 18's panel), read in the
    /// same transaction rather than one of its own (issue 15).
    pub uploads: Vec<crate::conversions::UploadStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct LinkedVisitor {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub domain: String,
    #[diesel(sql_type = Timestamptz)]
    pub first_seen: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_seen: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub views: i64,
    #[diesel(sql_type = Bool)]
    pub marketing: bool,
    #[diesel(sql_type = Integer)]
    pub pending_forwards: i32,
}

/// A deal with its person and that person's visitors.
#[derive(Debug, Clone, PartialEq)]
pub struct DealRecord {
    pub deal: crate::repo::deals::Deal,
    pub person: Option<crate::repo::persons::Person>,
    pub visitors: Vec<LinkedVisitor>,
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PersonSummary {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub organisation: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub deals: i64,
    #[diesel(sql_type = BigInt)]
    pub visitors: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DealSummary {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = BigInt)]
    pub value_cents: i64,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = Text)]
    pub stage: String,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub person_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub person_name: Option<String>,
}

impl Database {
    /// One page of the workspace's persons, most recently updated first,
    /// with how many deals and visitors each has: at most `limit` rows
    /// after `after` (the last row of the previous page; keyset, so a deep
    /// page costs what the first does).
    pub async fn person_list(
        &self,
        ctx: &TenantCtx,
        after: Option<PersonCursor>,
        limit: i64,
    ) -> Result<Vec<PersonSummary>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            person_page(tc, after, limit).await
        })
        .await
    }

    /// One person with the chain (the visitors that led to them and their
    /// deals), the work panel (tasks, notes, members) and the conversion
    /// uploads: the whole person page in one statement of one transaction
    /// (issue 15, see `PERSON_RECORD`). `None` when not found (another
    /// tenant's person is not found).
    pub async fn person_record(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<PersonRecord>, DbError> {
        // Permission decides only how much of the member directory is
        // read (see `PERSON_RECORD_READER`), never which record.
        let writer = ctx.can(metiva_roles::Permission::PersonsWrite);
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            person_record(tc, id, writer).await
        })
        .await
    }

    /// One deal with its person and that person's visitors (the same
    /// record as the person's).
    pub async fn deal_record(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<DealRecord>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let Some(deal) = found(crate::repo::deals::get(tc, id).await)? else {
                return Ok(None);
            };
            let (person, visitors) = match deal.person_id {
                Some(pid) => (
                    Some(crate::repo::persons::get(tc, pid).await?),
                    linked_visitors(tc, pid).await?,
                ),
                None => (None, Vec::new()),
            };
            Ok(Some(DealRecord {
                deal,
                person,
                visitors,
            }))
        })
        .await
    }
}

/// Where a page of the person list starts: the previous page's last row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonCursor {
    pub updated_at: DateTime<Utc>,
    pub id: Uuid,
}

/// The most rows one call reads: a page of 50 and one more, which tells
/// whether another page follows. A literal in the statements below, so
/// their generic plan is as good as a custom one and each is planned once
/// per connection (a bound LIMIT made PostgreSQL plan it on every call).
pub const PERSON_PAGE_MAX: i64 = 51;

// Raw SQL below: row-value keyset comparisons, which Diesel's DSL does
// not express. The page is one index range scan on
// `persons_updated_id_idx` (company_id, updated_at DESC, id DESC), so the
// RLS predicate and the sort key are one index (migration `page_shapes`).
// Each row's deal and visitor counts are columns of the person row itself
// (`deals_count`, `visitors_count`, migration 000060), kept exact by
// statement triggers on deals and visitors in every writer's
// transaction. They were two grouped index probes per row into deals and
// visitors (EXPLAIN ANALYZE on 10,000 contacts: 257 buffers and 0.23 ms
// for the first page, now 56 buffers and 0.03–0.06 ms).
//
// # Security
// `company_id = $1` beside RLS; the counts are the person row's own
// columns, written only by triggers running under the writer's binding.
const PERSON_PAGE_FIRST: &str = "SELECT id, name, email, organisation, updated_at,
            deals_count AS deals, visitors_count AS visitors
     FROM persons
     WHERE company_id = $1
     ORDER BY updated_at DESC, id DESC LIMIT 51";

const PERSON_PAGE_AFTER: &str = "SELECT id, name, email, organisation, updated_at,
            deals_count AS deals, visitors_count AS visitors
     FROM persons
     WHERE company_id = $1 AND (updated_at, id) < ($2, $3)
     ORDER BY updated_at DESC, id DESC LIMIT 51";

/// One page of the person list, in the caller's transaction.
pub(crate) async fn person_page(
    tc: &mut TenantConn<'_>,
    after: Option<PersonCursor>,
    limit: i64,
) -> Result<Vec<PersonSummary>, DbError> {
    let company = tc.company().as_str().to_string();
    let limit = usize::try_from(limit.clamp(1, PERSON_PAGE_MAX)).unwrap_or(1);
    let mut rows: Vec<PersonSummary> = match after {
        None => {
            cached::sql(PERSON_PAGE_FIRST)
                .bind::<Text, _>(company)
                .load(tc.conn())
                .await?
        }
        Some(c) => {
            cached::sql(PERSON_PAGE_AFTER)
                .bind::<Text, _>(company)
                .bind::<Timestamptz, _>(c.updated_at)
                .bind::<SqlUuid, _>(c.id)
                .load(tc.conn())
                .await?
        }
    };
    rows.truncate(limit);
    Ok(rows)
}

// The person page in one statement (issue 15). It was seven reads
// pipelined behind BEGIN and the binding, each a statement of its own
// for the driver to send and decode and for PostgreSQL to bind and run.
// Now the person row carries its lists as arrays of row values
// (`ARRAY(SELECT ROW(…) …)`), which keep each list's ORDER BY and LIMIT
// exactly as the separate reads had them and decode in binary (diesel's
// `Array<Record<…>>`), with no JSON to print and parse. A missing person
// is no row at all, and the lists of a row that is not there are never
// evaluated. Measured (pages bench, 1M views): 10 statements per view to
// 4 and less Metiva CPU per view; PostgreSQL's CPU per view stayed the
// same, since the statement executes what the seven reads did (the
// members' join under the `users` policy is the largest part).
//
// Each visitor's page-view count is the visitor row's own `views_count`
// (migration 000061), kept exact by statement triggers on page_views in
// every writer's transaction. It was a correlated `count(*)` over
// page_views: an aggregate SubPlan the executor set up on every view,
// linked visitors or not, and page_views and its index among the
// relations each view locks (two of the locks past the 16 fast-path
// slots).
//
// # Security
// Nothing is widened: the statement runs in the request's bound read
// transaction, so forced RLS filters every table it touches, and every
// subquery also filters `company_id = $1` itself (the company-leading
// indexes; one shard under Citus). Each list is selected by `$1` and `$2`
// (the company and the id asked for), never by a column of the outer
// row. `users` carries no `company_id`: its rows are reached only
// through this company's active memberships, as in `crm::active_members`,
// and under its own policy. A constant text, so a cached prepared
// statement (`repo::cached`), planned once per connection.
/// [`PERSON_RECORD`] and [`PERSON_RECORD_READER`] differ only in the
/// notes and members lists; the rest is one text, so they cannot drift.
macro_rules! person_record_sql {
    ($notes_and_members:literal) => {
        concat!(
            "SELECT p.company_id, p.id, p.name, p.email, p.phone, p.organisation,
        p.created_at, p.updated_at,
        ARRAY(SELECT ROW(v.id, s.domain, v.first_seen, v.last_seen, v.views_count,
                         v.marketing,
                         (SELECT count(*)::int FROM forwards f
                           WHERE f.company_id = $1 AND f.visitor_id = v.id
                             AND f.status = 'pending'))
              FROM visitors v JOIN sites s ON s.company_id = v.company_id AND s.id = v.site_id
              WHERE v.company_id = $1 AND v.person_id = $2
              ORDER BY v.last_seen DESC) AS visitors,
        ARRAY(SELECT ROW(d.company_id, d.id, d.title, d.value_cents, d.currency, d.stage,
                         d.owner_user_id, d.person_id, d.created_at, d.updated_at)
              FROM deals d
              WHERE d.company_id = $1 AND d.person_id = $2
              ORDER BY d.created_at DESC) AS deals,
        ARRAY(SELECT ROW(t.id, t.title, t.due_at, t.assignee_user_id, t.person_id, t.deal_id,
                         t.organisation_id, t.purpose, t.done_at, t.version, t.breached_at)
              FROM tasks t
              WHERE t.company_id = $1 AND t.person_id = $2
              ORDER BY t.done_at IS NOT NULL, t.due_at ASC NULLS LAST
              LIMIT 200) AS tasks,
",
            $notes_and_members,
            "        ARRAY(SELECT ROW(c.deal_id, c.platform, c.state, c.reason, c.sent_at, c.updated_at)
              FROM conversion_uploads c
              WHERE c.company_id = $1 AND c.person_id = $2
              ORDER BY c.created_at DESC, c.platform ASC
              LIMIT 100) AS uploads
 FROM persons p
 WHERE p.company_id = $1 AND p.id = $2"
        )
    };
}

const PERSON_RECORD: &str = person_record_sql!(
    "        ARRAY(SELECT ROW(n.id, n.body, n.author_user_id, n.at, NULL::text)
              FROM notes n
              WHERE n.company_id = $1 AND n.person_id = $2
              ORDER BY n.at DESC
              LIMIT 200) AS notes,
        ARRAY(SELECT ROW(m.user_id, u.name)
              FROM memberships m JOIN users u ON u.id = m.user_id
              WHERE m.company_id = $1 AND m.status = 'active'
              ORDER BY u.name ASC) AS members,
"
);

// The same record for a caller who may not write (viewer, finance…): the
// page shows no task form, so it needs no assignee choice, only the names
// of the shown notes' authors. Each note row carries its author's name
// (an active member of this company, else NULL, as the member list gave
// it), looked up by primary key per shown note, and the member list is
// not read at all. The member list was the largest part of the statement
// (callgrind, one backend, BEGIN + binding + record + COMMIT on the bench
// data: 946,000 instructions per view with the list, 770,000 without).
//
// # Security
// As `PERSON_RECORD`: the same bound read transaction, forced RLS on
// every table and `company_id = $1` beside it. A name is read only
// through this company's active membership of the note's author and
// under the `users` policy, so a reader sees no more of the member
// directory than before (less: only the authors of what is shown).
const PERSON_RECORD_READER: &str = person_record_sql!(
    "        ARRAY(SELECT ROW(n.id, n.body, n.author_user_id, n.at,
                         (SELECT u.name FROM memberships m JOIN users u ON u.id = m.user_id
                           WHERE m.company_id = $1 AND m.user_id = n.author_user_id
                             AND m.status = 'active'))
              FROM notes n
              WHERE n.company_id = $1 AND n.person_id = $2
              ORDER BY n.at DESC
              LIMIT 200) AS notes,
        ARRAY(SELECT ROW(NULL::uuid, NULL::text) WHERE false) AS members,
"
);

type VisitorRow = (Uuid, String, DateTime<Utc>, DateTime<Utc>, i64, bool, i32);
type DealRow = (
    String,
    Uuid,
    String,
    i64,
    String,
    String,
    Option<Uuid>,
    Option<Uuid>,
    DateTime<Utc>,
    DateTime<Utc>,
);
type TaskRow = (
    Uuid,
    String,
    Option<DateTime<Utc>>,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    String,
    Option<DateTime<Utc>>,
    i32,
    Option<DateTime<Utc>>,
);
type NoteRow = (Uuid, String, Option<Uuid>, DateTime<Utc>, Option<String>);
type UploadRow = (
    Uuid,
    String,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
);

/// [`PERSON_RECORD`]'s one row, as it comes off the wire.
#[derive(QueryableByName)]
struct PersonRecordRow {
    #[diesel(sql_type = Text)]
    company_id: String,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    phone: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    organisation: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
    #[diesel(sql_type = Array<Record<(SqlUuid, Text, Timestamptz, Timestamptz, BigInt, Bool, Integer)>>)]
    visitors: Vec<VisitorRow>,
    #[diesel(sql_type = Array<Record<(
        Text,
        SqlUuid,
        Text,
        BigInt,
        Text,
        Text,
        Nullable<SqlUuid>,
        Nullable<SqlUuid>,
        Timestamptz,
        Timestamptz,
    )>>)]
    deals: Vec<DealRow>,
    #[diesel(sql_type = Array<Record<(
        SqlUuid,
        Text,
        Nullable<Timestamptz>,
        Nullable<SqlUuid>,
        Nullable<SqlUuid>,
        Nullable<SqlUuid>,
        Nullable<SqlUuid>,
        Text,
        Nullable<Timestamptz>,
        Integer,
        Nullable<Timestamptz>,
    )>>)]
    tasks: Vec<TaskRow>,
    #[diesel(sql_type = Array<Record<(
        SqlUuid,
        Text,
        Nullable<SqlUuid>,
        Timestamptz,
        Nullable<Text>,
    )>>)]
    notes: Vec<NoteRow>,
    #[diesel(sql_type = Array<Record<(SqlUuid, Text)>>)]
    members: Vec<(Uuid, String)>,
    #[diesel(sql_type = Array<Record<(
        SqlUuid,
        Text,
        Text,
        Nullable<Text>,
        Nullable<Timestamptz>,
        Timestamptz,
    )>>)]
    uploads: Vec<UploadRow>,
}

impl From<PersonRecordRow> for PersonRecord {
    fn from(r: PersonRecordRow) -> Self {
        use crate::conversions::UploadStatus;
        use crate::crm::tasks::{Note, Task};
        use crate::repo::{deals::Deal, persons::Person};
        // A reader's statement names each shown note's author on the note
        // row instead of reading the member list (`PERSON_RECORD_READER`);
        // the writer's gives NULL there and the full list.
        let mut members = r.members;
        for (_, _, author, _, name) in &r.notes {
            if let (Some(id), Some(name)) = (author, name)
                && !members.iter().any(|(m, _)| m == id)
            {
                members.push((*id, name.clone()));
            }
        }
        PersonRecord {
            person: Person {
                company_id: r.company_id,
                id: r.id,
                name: r.name,
                email: r.email,
                phone: r.phone,
                organisation: r.organisation,
                created_at: r.created_at,
                updated_at: r.updated_at,
            },
            visitors: r
                .visitors
                .into_iter()
                .map(
                    |(id, domain, first_seen, last_seen, views, marketing, pending_forwards)| {
                        LinkedVisitor {
                            id,
                            domain,
                            first_seen,
                            last_seen,
                            views,
                            marketing,
                            pending_forwards,
                        }
                    },
                )
                .collect(),
            deals: r
                .deals
                .into_iter()
                .map(
                    |(
                        company_id,
                        id,
                        title,
                        value_cents,
                        currency,
                        stage,
                        owner_user_id,
                        person_id,
                        created_at,
                        updated_at,
                    )| Deal {
                        company_id,
                        id,
                        title,
                        value_cents,
                        currency,
                        stage,
                        owner_user_id,
                        person_id,
                        created_at,
                        updated_at,
                    },
                )
                .collect(),
            tasks: r
                .tasks
                .into_iter()
                .map(
                    |(
                        id,
                        title,
                        due_at,
                        assignee_user_id,
                        person_id,
                        deal_id,
                        organisation_id,
                        purpose,
                        done_at,
                        version,
                        breached_at,
                    )| Task {
                        id,
                        title,
                        due_at,
                        assignee_user_id,
                        person_id,
                        deal_id,
                        organisation_id,
                        purpose,
                        done_at,
                        version,
                        breached_at,
                    },
                )
                .collect(),
            notes: r
                .notes
                .into_iter()
                .map(|(id, body, author_user_id, at, _)| Note {
                    id,
                    body,
                    author_user_id,
                    at,
                })
                .collect(),
            members,
            uploads: r
                .uploads
                .into_iter()
                .map(
                    |(deal_id, platform, state, reason, sent_at, updated_at)| UploadStatus {
                        deal_id,
                        platform,
                        state,
                        reason,
                        sent_at,
                        updated_at,
                    },
                )
                .collect(),
        }
    }
}

/// The person page's record, in the caller's transaction: one statement
/// (`writer`: with the whole member list, for the task form).
async fn person_record(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    writer: bool,
) -> Result<Option<PersonRecord>, DbError> {
    let statement = if writer {
        PERSON_RECORD
    } else {
        PERSON_RECORD_READER
    };
    let rows: Vec<PersonRecordRow> = cached::sql(statement)
        .bind::<Text, _>(tc.company().as_str().to_string())
        .bind::<SqlUuid, _>(id)
        .load(tc.conn())
        .await?;
    Ok(rows.into_iter().next().map(PersonRecord::from))
}

/// `NotFound` as `None` (another tenant's row is simply not found).
fn found<T>(r: Result<T, DbError>) -> Result<Option<T>, DbError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(DbError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn linked_visitors(
    tc: &mut TenantConn<'_>,
    person: Uuid,
) -> Result<Vec<LinkedVisitor>, DbError> {
    // Raw SQL: correlated count subqueries in the select list, which Diesel's DSL does not
    // express.
    Ok(cached::sql(
        "SELECT v.id, s.domain, v.first_seen, v.last_seen, v.marketing,
                v.views_count AS views,
                (SELECT count(*)::int FROM forwards f
                  WHERE f.company_id = v.company_id AND f.visitor_id = v.id AND f.status = 'pending') AS pending_forwards
         FROM visitors v JOIN sites s ON s.company_id = v.company_id AND s.id = v.site_id
         WHERE v.company_id = $1 AND v.person_id = $2
         ORDER BY v.last_seen DESC",
    )
    .bind::<Text, _>(tc.company().as_str().to_string())
    .bind::<SqlUuid, _>(person)
    .load(tc.conn())
    .await?)
}
