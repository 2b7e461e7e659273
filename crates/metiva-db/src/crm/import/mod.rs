//! CSV import of contacts and organisations: upload, preview, confirm.
//!
//! 1. [`Database::stage_import`] keeps the uploaded file (checked for its
//!    size, encoding and line count) in `crm_imports` for its uploader,
//!    for at most an hour; the CRM tables are not touched.
//! 2. [`Database::import_preview`] reads it with a column mapping (the
//!    header's guess, or the user's), checks every line as the forms
//!    would and against the workspace, and lists each problem with its
//!    line. It writes nothing.
//! 3. [`Database::confirm_import`] does all of that again and, only if
//!    no line fails, writes every row in one transaction (organisations a
//!    contact names that do not exist yet included), audits the counts and
//!    deletes the staged file. One failing line and nothing is written.
//!
//! # Security
//! The staged file holds personal data: only its uploader reads it, it
//! expires after an hour, and the migration `crm_import` says how it is
//! removed. Audit rows carry counts, never a name. Every query filters
//! `company_id` beside RLS; permission (`crm.import`) is checked here too,
//! whatever the caller checked.

pub mod file;
pub mod mapping;
mod rows;

use std::collections::{HashMap, HashSet};

use diesel::dsl::now;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::validate::FieldError;
use crate::access::TenantCtx;
use crate::schema::{crm_imports, organisations as orgs, persons};
use crate::{Database, DbError, TenantConn};
pub use mapping::Mapping;
use rows::Checked;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Contacts,
    Organisations,
}

impl ImportKind {
    pub const ALL: [ImportKind; 2] = [ImportKind::Contacts, ImportKind::Organisations];

    /// The stable key (`contacts`, `organisations`).
    pub fn key(self) -> &'static str {
        match self {
            ImportKind::Contacts => "contacts",
            ImportKind::Organisations => "organisations",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == s.trim())
    }

    /// The fields a column may go to, as the forms name them.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            ImportKind::Contacts => &["name", "email", "phone", "organisation", "notes"],
            ImportKind::Organisations => &["name", "domain", "kvk", "vat", "address", "notes"],
        }
    }
}

/// A problem with one line of the file (the header is line 1): the field
/// and a stable code, as the forms report them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub field: &'static str,
    pub code: &'static str,
}

/// Why an import step was refused. Nothing was written in any case.
#[derive(Debug)]
pub enum ImportError {
    /// The role may not import (403).
    Forbidden,
    /// The file (field `file`: too large → 413, otherwise 422) or the
    /// mapping (field `mapping`, 422) is refused as a whole.
    Invalid(Vec<FieldError>),
    /// Lines failed (422), each named with its line.
    Lines(Vec<LineError>),
    /// No such staged import for this member in this workspace, or it
    /// expired, or it was already imported (404).
    NotFound,
    Db(DbError),
}

impl From<DbError> for ImportError {
    fn from(e: DbError) -> Self {
        ImportError::Db(e)
    }
}

impl From<diesel::result::Error> for ImportError {
    fn from(e: diesel::result::Error) -> Self {
        ImportError::Db(DbError::from(e))
    }
}

/// Hands a refusal out of a bound transaction as a value and a database
/// failure as the closure's error (so the transaction rolls back).
fn split<T>(r: Result<T, ImportError>) -> Result<Result<T, ImportError>, DbError> {
    match r {
        Err(ImportError::Db(e)) => Err(e),
        other => Ok(other),
    }
}

/// How many lines a preview shows as they will be stored.
pub const SAMPLE_LINES: usize = 10;

/// One line as it will be stored (`ok`), or as the file has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleLine {
    pub line: u64,
    /// In the order of [`ImportKind::fields`].
    pub values: Vec<String>,
    pub ok: bool,
}

/// What confirming would do, and every reason it would be refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub kind: ImportKind,
    /// The separator read from the header: `,`, `;` or a tab.
    pub delimiter: char,
    pub header: Vec<String>,
    pub mapping: Mapping,
    /// Problems of the mapping itself (no name column, a field twice);
    /// lines are checked only once it is usable.
    pub mapping_errors: Vec<FieldError>,
    /// Data lines in the file.
    pub lines: usize,
    pub sample: Vec<SampleLine>,
    /// Every problem, by line.
    pub errors: Vec<LineError>,
    /// Organisations the contacts name that the import would create.
    pub new_organisations: usize,
}

/// What a confirmed import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub contacts: usize,
    pub organisations: usize,
}

/// Rows per INSERT statement (PostgreSQL takes at most 65,535 bind
/// parameters in one; a contact has eight).
const INSERT_CHUNK: usize = 1_000;

impl Database {
    /// Keeps an uploaded file (already decoded, see [`file::decode`]) for
    /// preview, replacing this member's previous one and deleting the
    /// workspace's expired ones; returns its id. Refused when the file
    /// holds no data line, too many lines or too many columns.
    pub async fn stage_import(
        &self,
        ctx: &TenantCtx,
        kind: ImportKind,
        text: &str,
    ) -> Result<Uuid, ImportError> {
        if !ctx.can(metiva_roles::Permission::CrmImport) {
            return Err(ImportError::Forbidden);
        }
        if text.len() > file::MAX_FILE_BYTES {
            return Err(ImportError::Invalid(vec![FieldError {
                field: "file",
                code: "file.too_large",
            }]));
        }
        file::parse(text).map_err(|e| ImportError::Invalid(vec![e]))?;
        let user = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            diesel::delete(
                crm_imports::table
                    .filter(crm_imports::company_id.eq(&company))
                    .filter(
                        crm_imports::user_id
                            .eq(user)
                            .or(crm_imports::expires_at.le(now)),
                    ),
            )
            .execute(tc.conn())
            .await?;
            Ok(diesel::insert_into(crm_imports::table)
                .values((
                    crm_imports::company_id.eq(&company),
                    crm_imports::user_id.eq(user),
                    crm_imports::kind.eq(kind.key()),
                    crm_imports::body.eq(text),
                ))
                .returning(crm_imports::id)
                .get_result(tc.conn())
                .await?)
        })
        .await
        .map_err(ImportError::from)
    }

    /// The preview of this member's staged import `id` under `mapping`
    /// (as posted, see [`mapping::parse`]; `None` takes the header's
    /// guess). Writes nothing.
    pub async fn import_preview(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        mapping: Option<&str>,
    ) -> Result<Preview, ImportError> {
        if !ctx.can(metiva_roles::Permission::CrmImport) {
            return Err(ImportError::Forbidden);
        }
        let user = ctx.user_id();
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            split(preview(tc, id, user, mapping).await)
        })
        .await?
    }

    /// Writes every line of this member's staged import `id` under
    /// `mapping`, all in this one transaction, after checking them all
    /// again (the workspace may have changed since the preview); audits
    /// the counts and deletes the staged file. Any failing line and
    /// nothing is written ([`ImportError::Lines`]).
    pub async fn confirm_import(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
        mapping: &str,
        request_id: &str,
    ) -> Result<Imported, ImportError> {
        if !ctx.can(metiva_roles::Permission::CrmImport) {
            return Err(ImportError::Forbidden);
        }
        let user = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(confirm(tc, id, user, mapping, request_id).await)
        })
        .await?
    }
}

/// The staged file, if it is this member's and has not expired;
/// `lock` takes the row lock a confirmation holds until it commits.
async fn staged(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    user: Uuid,
    lock: bool,
) -> Result<(ImportKind, String), ImportError> {
    let company = tc.company().as_str().to_string();
    let q = crm_imports::table
        .filter(crm_imports::company_id.eq(&company))
        .filter(crm_imports::id.eq(id))
        .filter(crm_imports::user_id.eq(user))
        .filter(crm_imports::expires_at.gt(now))
        .select((crm_imports::kind, crm_imports::body));
    let row: Option<(String, String)> = if lock {
        q.for_update().first(tc.conn()).await.optional()?
    } else {
        q.first(tc.conn()).await.optional()?
    };
    let (kind, body) = row.ok_or(ImportError::NotFound)?;
    let kind = ImportKind::parse(&kind)
        .ok_or_else(|| DbError::Internal(format!("unknown import kind {kind:?}")))?;
    Ok((kind, body))
}

/// A file read with its mapping, every line checked, the workspace
/// consulted.
struct Checking {
    kind: ImportKind,
    table: file::Table,
    mapping: Mapping,
    mapping_errors: Vec<FieldError>,
    outcome: Option<rows::Outcome>,
    /// Contacts' organisations by lower-cased name: the existing one's id
    /// (`None` where the import creates it) and the name it goes by (the
    /// stored one, or as first written in the file).
    organisations: HashMap<String, (Option<Uuid>, String)>,
}

async fn check_all(
    tc: &mut TenantConn<'_>,
    kind: ImportKind,
    body: &str,
    raw_mapping: Option<&str>,
) -> Result<Checking, ImportError> {
    let table = file::parse(body).map_err(|e| ImportError::Invalid(vec![e]))?;
    let mapping = match raw_mapping {
        Some(raw) => mapping::parse(kind, raw, table.header.len())
            .map_err(|e| ImportError::Invalid(vec![e]))?,
        None => mapping::guess(kind, &table.header),
    };
    let mapping_errors = mapping::check(&mapping);
    let mut c = Checking {
        kind,
        table,
        mapping,
        mapping_errors,
        outcome: None,
        organisations: HashMap::new(),
    };
    if c.mapping_errors.is_empty() {
        let mut outcome = rows::check(kind, &c.table, &c.mapping);
        c.organisations = against_workspace(tc, &mut outcome).await?;
        outcome.errors.sort_by_key(|e| e.line);
        c.outcome = Some(outcome);
    }
    Ok(c)
}

/// Checks the lines that passed against what the workspace holds: an
/// email (contacts), domain or name (organisations) already taken, and a
/// contact's organisation named by more than one organisation. Failing
/// lines are dropped from `outcome` and their errors added. Returns the
/// contacts' organisations (see [`Checking::organisations`]).
async fn against_workspace(
    tc: &mut TenantConn<'_>,
    outcome: &mut rows::Outcome,
) -> Result<HashMap<String, (Option<Uuid>, String)>, ImportError> {
    let company = tc.company().as_str().to_string();
    let passed = || outcome.lines.iter().filter_map(|(_, c)| c.as_ref());
    let emails: Vec<&str> = passed()
        .filter_map(|c| match c {
            Checked::Contact(f, _) => f.email.as_deref(),
            Checked::Organisation(_) => None,
        })
        .collect();
    let domains: Vec<&str> = passed()
        .filter_map(|c| match c {
            Checked::Organisation(f) => f.domain.as_deref(),
            Checked::Contact(..) => None,
        })
        .collect();
    // Organisation names, lower-cased: the contacts' and the new
    // organisations' alike.
    let names: HashSet<String> = passed()
        .filter_map(|c| match c {
            Checked::Contact(_, org) => org.as_deref(),
            Checked::Organisation(f) => Some(f.name.as_str()),
        })
        .map(str::to_lowercase)
        .collect();
    let taken_emails: HashSet<String> = if emails.is_empty() {
        HashSet::new()
    } else {
        persons::table
            .filter(persons::company_id.eq(&company))
            .filter(persons::email.eq_any(&emails))
            .select(persons::email.assume_not_null())
            .load::<String>(tc.conn())
            .await?
            .into_iter()
            .collect()
    };
    let taken_domains: HashSet<String> = if domains.is_empty() {
        HashSet::new()
    } else {
        orgs::table
            .filter(orgs::company_id.eq(&company))
            .filter(orgs::domain.eq_any(&domains))
            .select(orgs::domain.assume_not_null())
            .load::<String>(tc.conn())
            .await?
            .into_iter()
            .collect()
    };
    let mut existing: HashMap<String, Vec<(Uuid, String)>> = HashMap::new();
    if !names.is_empty() {
        let lowered: Vec<&String> = names.iter().collect();
        let found: Vec<(Uuid, String)> = orgs::table
            .filter(orgs::company_id.eq(&company))
            .filter(lower(orgs::name).eq_any(&lowered))
            .order(orgs::created_at.asc())
            .select((orgs::id, orgs::name))
            .load(tc.conn())
            .await?;
        for (id, name) in found {
            existing
                .entry(name.to_lowercase())
                .or_default()
                .push((id, name));
        }
    }
    let mut organisations = HashMap::new();
    for (line, checked) in &mut outcome.lines {
        let Some(c) = checked else { continue };
        let mut fail = |field, code| {
            outcome.errors.push(LineError {
                line: *line,
                field,
                code,
            })
        };
        let ok = match c {
            Checked::Contact(f, org) => {
                let mut ok = true;
                if f.email.as_ref().is_some_and(|e| taken_emails.contains(e)) {
                    fail("email", "email.taken");
                    ok = false;
                }
                if let Some(org) = org {
                    let key = org.to_lowercase();
                    match existing.get(&key).map(Vec::as_slice) {
                        Some([(id, name)]) => {
                            organisations.insert(key, (Some(*id), name.clone()));
                        }
                        Some(_) => {
                            fail("organisation", "organisation.ambiguous");
                            ok = false;
                        }
                        None => {
                            organisations.entry(key).or_insert((None, org.clone()));
                        }
                    }
                }
                ok
            }
            Checked::Organisation(f) => {
                let mut ok = true;
                if existing.contains_key(&f.name.to_lowercase()) {
                    fail("name", "name.taken");
                    ok = false;
                }
                if f.domain.as_ref().is_some_and(|d| taken_domains.contains(d)) {
                    fail("domain", "domain.taken");
                    ok = false;
                }
                ok
            }
        };
        if !ok {
            *checked = None;
        }
    }
    Ok(organisations)
}

diesel::define_sql_function! {
    /// PostgreSQL's `lower(text)` (organisation names compare without case).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

async fn preview(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    user: Uuid,
    raw_mapping: Option<&str>,
) -> Result<Preview, ImportError> {
    let (kind, body) = staged(tc, id, user, false).await?;
    let c = check_all(tc, kind, &body, raw_mapping).await?;
    let (sample, errors) = match &c.outcome {
        Some(o) => (
            o.lines
                .iter()
                .take(SAMPLE_LINES)
                .map(|(line, checked)| match checked {
                    Some(ch) => SampleLine {
                        line: *line,
                        values: stored_values(ch, &c.organisations),
                        ok: true,
                    },
                    None => raw_line(&c, *line),
                })
                .collect(),
            o.errors.clone(),
        ),
        None => (
            c.table
                .rows
                .iter()
                .take(SAMPLE_LINES)
                .map(|r| raw_line(&c, r.line))
                .collect(),
            Vec::new(),
        ),
    };
    Ok(Preview {
        kind,
        delimiter: char::from(c.table.delimiter),
        header: c.table.header.clone(),
        mapping: c.mapping.clone(),
        mapping_errors: c.mapping_errors.clone(),
        lines: c.table.rows.len(),
        sample,
        errors,
        new_organisations: c
            .organisations
            .values()
            .filter(|(id, _)| id.is_none())
            .count(),
    })
}

/// A line's values as they will be stored: a contact's organisation by
/// the name of the organisation it is linked to.
fn stored_values(
    c: &Checked,
    organisations: &HashMap<String, (Option<Uuid>, String)>,
) -> Vec<String> {
    let mut values = c.values();
    if let (Checked::Contact(_, Some(org)), Some(v)) = (c, values.get_mut(3))
        && let Some((_, name)) = organisations.get(&org.to_lowercase())
    {
        v.clone_from(name);
    }
    values
}

/// A line as the file has it, under the mapping, for a line that failed.
fn raw_line(c: &Checking, line: u64) -> SampleLine {
    let row = c.table.rows.iter().find(|r| r.line == line);
    let values = c
        .kind
        .fields()
        .iter()
        .map(|f| {
            c.mapping
                .iter()
                .position(|m| *m == Some(*f))
                .and_then(|i| row.and_then(|r| r.cell(i)))
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    SampleLine {
        line,
        values,
        ok: false,
    }
}

async fn confirm(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    user: Uuid,
    raw_mapping: &str,
    request_id: &str,
) -> Result<Imported, ImportError> {
    let (kind, body) = staged(tc, id, user, true).await?;
    let c = check_all(tc, kind, &body, Some(raw_mapping)).await?;
    // Lines are checked only under a usable mapping.
    let Some(outcome) = c.outcome else {
        return Err(ImportError::Invalid(c.mapping_errors));
    };
    if !outcome.errors.is_empty() {
        return Err(ImportError::Lines(outcome.errors));
    }
    let checked: Vec<Checked> = outcome.lines.into_iter().filter_map(|(_, c)| c).collect();
    let imported = match kind {
        ImportKind::Contacts => write_contacts(tc, &checked, c.organisations).await?,
        ImportKind::Organisations => Imported {
            contacts: 0,
            organisations: write_organisations(tc, &checked).await?,
        },
    };
    let company = tc.company().as_str().to_string();
    diesel::delete(
        crm_imports::table
            .filter(crm_imports::company_id.eq(&company))
            .filter(crm_imports::id.eq(id)),
    )
    .execute(tc.conn())
    .await?;
    for (action, target, n) in [
        ("crm.contacts_imported", "contacts", imported.contacts),
        (
            "crm.organisations_imported",
            "organisations",
            imported.organisations,
        ),
    ] {
        if n > 0 {
            crate::repo::audit::append(
                tc,
                &crate::repo::audit::AuditEntry {
                    actor_user_id: Some(user),
                    action,
                    target_type: Some(target),
                    target_id: Some(&n.to_string()),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await?;
        }
    }
    Ok(imported)
}

/// Inserts organisations in batches; returns (id, name) of each.
async fn insert_organisations(
    tc: &mut TenantConn<'_>,
    list: &[super::organisations::OrganisationFields],
) -> Result<Vec<(Uuid, String)>, ImportError> {
    let company = tc.company().as_str().to_string();
    let mut out = Vec::with_capacity(list.len());
    for chunk in list.chunks(INSERT_CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|f| {
                (
                    orgs::company_id.eq(&company),
                    orgs::name.eq(&f.name),
                    orgs::domain.eq(&f.domain),
                    orgs::kvk.eq(&f.kvk),
                    orgs::vat.eq(&f.vat),
                    orgs::address.eq(&f.address),
                    orgs::notes.eq(&f.notes),
                )
            })
            .collect();
        let ids: Vec<(Uuid, String)> = diesel::insert_into(orgs::table)
            .values(&values)
            .returning((orgs::id, orgs::name))
            .get_results(tc.conn())
            .await?;
        out.extend(ids);
    }
    Ok(out)
}

async fn write_organisations(
    tc: &mut TenantConn<'_>,
    checked: &[Checked],
) -> Result<usize, ImportError> {
    let list: Vec<_> = checked
        .iter()
        .filter_map(|c| match c {
            Checked::Organisation(f) => Some(f.clone()),
            Checked::Contact(..) => None,
        })
        .collect();
    Ok(insert_organisations(tc, &list).await?.len())
}

async fn write_contacts(
    tc: &mut TenantConn<'_>,
    checked: &[Checked],
    mut organisations: HashMap<String, (Option<Uuid>, String)>,
) -> Result<Imported, ImportError> {
    // First the organisations the contacts name that do not exist yet,
    // each once, under the name as first written in the file.
    let mut new: Vec<super::organisations::OrganisationFields> = Vec::new();
    let mut planned: HashSet<String> = HashSet::new();
    for c in checked {
        if let Checked::Contact(_, Some(org)) = c {
            let key = org.to_lowercase();
            if let Some((None, name)) = organisations.get(&key)
                && planned.insert(key)
            {
                new.push(super::organisations::OrganisationFields {
                    name: name.clone(),
                    domain: None,
                    kvk: None,
                    vat: None,
                    address: None,
                    owner_user_id: None,
                    notes: None,
                });
            }
        }
    }
    for (id, name) in insert_organisations(tc, &new).await? {
        organisations.insert(name.to_lowercase(), (Some(id), name));
    }
    let company = tc.company().as_str().to_string();
    let mut contacts = 0;
    let list: Vec<_> = checked
        .iter()
        .filter_map(|c| match c {
            Checked::Contact(f, org) => Some((f, org)),
            Checked::Organisation(_) => None,
        })
        .collect();
    for chunk in list.chunks(INSERT_CHUNK) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(f, org)| {
                // The free-text organisation stays in step with the
                // linked one's stored name, as the contact form keeps it.
                let linked = org
                    .as_ref()
                    .and_then(|o| organisations.get(&o.to_lowercase()))
                    .and_then(|(id, name)| Some(((*id)?, name.clone())));
                (
                    persons::company_id.eq(&company),
                    persons::name.eq(&f.name),
                    persons::email.eq(&f.email),
                    persons::phone.eq(&f.phone),
                    persons::organisation.eq(linked.as_ref().map(|(_, n)| n.clone())),
                    persons::organisation_id.eq(linked.map(|(id, _)| id)),
                    persons::notes.eq(&f.notes),
                    persons::source.eq(f.source),
                )
            })
            .collect();
        contacts += diesel::insert_into(persons::table)
            .values(&values)
            .execute(tc.conn())
            .await?;
    }
    Ok(Imported {
        contacts,
        organisations: new.len(),
    })
}
