//! Erasure of one data subject (a contact, or a website visitor not linked
//! to a contact), with a receipt.
//!
//! A visitor's erasure is the visitor part of a contact's: the visitor
//! row, its page views (sealed IPs), its forwards (the lead events its
//! captures queued) and its consent decisions moved to the tombstone
//! ([`visitor_rows::erase_visitor_rows`], shared). A visitor linked to a contact is
//! refused: erasing the contact takes its visitors with it.
//!
//! One transaction removes everything that identifies the person: the
//! person row, the visitors linked to it with their page views (which hold
//! the sealed, truncated IPs) and forwards, the notes and tasks about the
//! person, and (through the persons trigger) its search terms. Two kinds
//! of record are kept, and the receipt says which and why:
//!
//! - deals, with the contact link cleared: the client's business record;
//! - consent decisions, with the visitor link replaced by the receipt's
//!   tombstone (a random uuid, never derived from the subject): proof of
//!   what was consented (GDPR art. 7(1)).
//!
//! A member's staged CSV import (`crm_imports`, at most an hour old, its
//! uploader's own) is not the subject's record and is left to expire; the
//! receipt counts the unexpired ones that mention the email, so nothing
//! kept goes unsaid.
//!
//! # Security
//! The receipt holds ids, counts and codes, never a name, an email or a
//! visitor key; its note is refused when it names the subject. The person's
//! id maps to the receipt (`erased_subjects`), so erasing again answers the
//! first receipt instead of a 404. Every query filters `company_id` beside
//! RLS, and the audit row (`privacy.erased`, target the receipt) commits in
//! the same transaction.

use chrono::{DateTime, Utc};
use diesel::dsl::{count_star, now};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::access::TenantCtx;
use crate::crm::validate::{self, Check, FieldError};
use crate::crm::{CrmError, split};
use crate::schema::{
    crm_imports, deals, erased_subjects, erasure_receipt_lines, erasure_receipts, notes, persons,
    search_terms, tasks, visitors,
};
use crate::{Database, DbError, TenantConn};

mod visitor_rows;
use visitor_rows::erase_visitor_rows;

/// Why a subject is erased: the form's fixed list, as stored codes.
pub const REASONS: [&str; 4] = ["subject_request", "consent_withdrawn", "duplicate", "other"];

/// The longest note (characters).
pub const MAX_NOTE: usize = 200;

/// Why a kept record was kept (stable codes on the receipt).
pub const BASIS_BUSINESS_RECORD: &str = "business_record";
pub const BASIS_PROOF_OF_CONSENT: &str = "proof_of_consent";
pub const BASIS_STAGED_IMPORT: &str = "staged_import_expires_within_an_hour";

/// The erasure form as posted.
#[derive(Debug, Clone, Default)]
pub struct ErasureForm<'a> {
    pub reason: Option<&'a str>,
    pub note: Option<&'a str>,
}

/// A checked reason and note.
#[derive(Debug, Clone, PartialEq)]
pub struct ErasureRequest {
    pub reason: &'static str,
    pub note: Option<String>,
}

impl ErasureForm<'_> {
    /// The reason must be one of [`REASONS`]; "other" needs a note; a note
    /// is at most [`MAX_NOTE`] characters.
    pub fn validate(&self) -> Result<ErasureRequest, Vec<FieldError>> {
        let mut c = Check::default();
        let raw = validate::optional(self.reason);
        let reason = match raw.as_deref() {
            None => {
                c.fail("reason", "required");
                "other"
            }
            Some(r) => REASONS.into_iter().find(|k| *k == r).unwrap_or_else(|| {
                c.fail("reason", "unknown");
                "other"
            }),
        };
        let note = validate::text(&mut c, "note", self.note, MAX_NOTE);
        if raw.as_deref() == Some("other") && note.is_none() {
            c.fail("note", "required");
        }
        c.finish(ErasureRequest { reason, note })
    }
}

/// One table on a receipt.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct ReceiptLine {
    pub table: String,
    pub erased: i64,
    pub retained: i64,
    /// Why rows were kept ([`BASIS_BUSINESS_RECORD`] …); `None` when none were.
    pub basis: Option<String>,
    /// The kept records' ids, where they are uuids (deals, staged imports).
    pub retained_ids: Vec<Option<Uuid>>,
}

/// An erasure receipt: ids, codes and counts only.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_user_id: Uuid,
    pub subject_kind: String,
    pub reason: String,
    pub note: Option<String>,
    /// The id the kept consent decisions now carry instead of the visitor.
    pub tombstone: Uuid,
    pub lines: Vec<ReceiptLine>,
}

/// A receipt's own row, before its lines.
#[derive(Queryable)]
struct ReceiptHead {
    id: Uuid,
    at: DateTime<Utc>,
    actor_user_id: Uuid,
    subject_kind: String,
    reason: String,
    note: Option<String>,
    tombstone: Uuid,
}

/// What an erasure answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    pub receipt_id: Uuid,
    /// The subject was erased before; this is the first erasure's receipt.
    pub already: bool,
}

/// How many contacts an erasure search by email answers at most.
pub const SEARCH_LIMIT: i64 = 20;

impl Database {
    /// The erasure's search by email (`/settings/privacy`): this
    /// workspace's contacts whose email is exactly `email` (lower-cased,
    /// as contacts store it), as ids and names, for the erasure form on
    /// each record. Needs `privacy.erase`.
    ///
    /// # Security
    /// Finds nothing without the permission (checked here, not only in the
    /// page); an exact match only (no prefix search to enumerate emails
    /// with); bounded to [`SEARCH_LIMIT`]; under the member's own tenant
    /// binding. The email is not written anywhere (no audit row holds it);
    /// the erasure itself is audited as usual.
    pub async fn find_erasure_subjects(
        &self,
        ctx: &TenantCtx,
        email: &str,
    ) -> Result<Vec<(Uuid, String)>, CrmError> {
        // The page refuses with 403 first; here, without the permission,
        // nothing is found (fail closed).
        if !ctx.can(metiva_roles::Permission::PrivacyErase) {
            return Ok(Vec::new());
        }
        let mut c = Check::default();
        let email = validate::email(&mut c, Some(email));
        let email = c.finish(email).map_err(CrmError::Invalid)?;
        let Some(email) = email else {
            return Err(CrmError::Invalid(vec![FieldError {
                field: "email",
                code: "required",
            }]));
        };
        Ok(self
            .in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
                let company = tc.company().as_str().to_string();
                Ok(persons::table
                    .filter(persons::company_id.eq(&company))
                    .filter(persons::email.eq(&email))
                    .order(persons::name.asc())
                    .limit(SEARCH_LIMIT)
                    .select((persons::id, persons::name))
                    .load(tc.conn())
                    .await?)
            })
            .await?)
    }

    /// Erases the contact `person` in one transaction and returns its
    /// receipt's id; erasing an erased contact again returns the first
    /// receipt. Another workspace's id (or an unknown one) is `NotFound`.
    pub async fn erase_person(
        &self,
        ctx: &TenantCtx,
        person: Uuid,
        req: &ErasureRequest,
        request_id: &str,
    ) -> Result<Erased, CrmError> {
        self.erase_subject(ctx, Subject::Person(person), req, request_id)
            .await
    }

    /// Erases the website visitor `visitor` (one not linked to a contact:
    /// a linked one is refused as the `visitor` field's
    /// `visitor.has_contact`, since the contact's erasure covers it) in
    /// one transaction: the visitor row, its page views with their sealed
    /// IPs, its forwards, and its consent decisions moved to the
    /// receipt's tombstone. Idempotent and 404 across workspaces like
    /// [`Self::erase_person`].
    pub async fn erase_visitor(
        &self,
        ctx: &TenantCtx,
        visitor: Uuid,
        req: &ErasureRequest,
        request_id: &str,
    ) -> Result<Erased, CrmError> {
        self.erase_subject(ctx, Subject::Visitor(visitor), req, request_id)
            .await
    }

    /// Erases `subject` and returns its receipt (the first one when the
    /// subject was erased before).
    ///
    /// # Security
    /// Needs `privacy.erase`, checked here too (fail closed): the pages
    /// check it first, but a domain call without it erases nothing.
    pub async fn erase_subject(
        &self,
        ctx: &TenantCtx,
        subject: Subject,
        req: &ErasureRequest,
        request_id: &str,
    ) -> Result<Erased, CrmError> {
        if !ctx.can(metiva_roles::Permission::PrivacyErase) {
            return Err(CrmError::NotFound);
        }
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(erase(tc, subject, req, actor, request_id).await)
        })
        .await?
    }

    /// A receipt of this workspace; `None` for another workspace's.
    pub async fn erasure_receipt(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<Receipt>, DbError> {
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let head: Option<ReceiptHead> = erasure_receipts::table
                .filter(erasure_receipts::company_id.eq(&company))
                .filter(erasure_receipts::id.eq(id))
                .select((
                    erasure_receipts::id,
                    erasure_receipts::at,
                    erasure_receipts::actor_user_id,
                    erasure_receipts::subject_kind,
                    erasure_receipts::reason,
                    erasure_receipts::note,
                    erasure_receipts::tombstone,
                ))
                .first(tc.conn())
                .await
                .optional()?;
            let Some(ReceiptHead {
                id,
                at,
                actor_user_id,
                subject_kind,
                reason,
                note,
                tombstone,
            }) = head
            else {
                return Ok(None);
            };
            let lines: Vec<ReceiptLine> = erasure_receipt_lines::table
                .filter(erasure_receipt_lines::company_id.eq(&company))
                .filter(erasure_receipt_lines::receipt_id.eq(id))
                .order(erasure_receipt_lines::table_name.asc())
                .select((
                    erasure_receipt_lines::table_name,
                    erasure_receipt_lines::erased,
                    erasure_receipt_lines::retained,
                    erasure_receipt_lines::basis,
                    erasure_receipt_lines::retained_ids,
                ))
                .load(tc.conn())
                .await?;
            Ok(Some(Receipt {
                id,
                at,
                actor_user_id,
                subject_kind,
                reason,
                note,
                tombstone,
                lines,
            }))
        })
        .await
    }
}

/// The first receipt of an erased subject, if any.
async fn earlier_receipt(tc: &mut TenantConn<'_>, subject: Uuid) -> Result<Option<Uuid>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(erased_subjects::table
        .filter(erased_subjects::company_id.eq(&company))
        .filter(erased_subjects::subject_id.eq(subject))
        .select(erased_subjects::receipt_id)
        .first(tc.conn())
        .await
        .optional()?)
}

/// Whether `note` names the subject (any of `words`, any case).
fn names_subject(note: &str, words: &[String]) -> bool {
    let note = note.to_lowercase();
    words.iter().any(|w| {
        let w = w.trim().to_lowercase();
        !w.is_empty() && note.contains(&w)
    })
}

fn line(table: &str, erased: usize, retained: usize) -> ReceiptLine {
    ReceiptLine {
        table: table.to_string(),
        erased: erased as i64,
        retained: retained as i64,
        basis: None,
        retained_ids: Vec::new(),
    }
}

/// Whom an erasure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A contact: the person row and everything about it.
    Person(Uuid),
    /// A website visitor not linked to a contact: its own rows only.
    Visitor(Uuid),
}

impl Subject {
    pub fn id(self) -> Uuid {
        match self {
            Subject::Person(id) | Subject::Visitor(id) => id,
        }
    }

    /// The receipt's `subject_kind`.
    pub fn kind(self) -> &'static str {
        match self {
            Subject::Person(_) => "person",
            Subject::Visitor(_) => "visitor",
        }
    }
}

/// What identifies the subject, read (and row-locked) before erasing.
struct Identity {
    /// Words a note must not contain (name, email, visitor id and key).
    words: Vec<String>,
    email: Option<String>,
}

/// Locks the subject's row and reads what identifies it; `Ok(None)` when
/// there is no such subject (any more) in this workspace.
///
/// The row lock makes a concurrent second erasure wait for this one, then
/// find the subject gone and answer the first receipt.
async fn lock_subject(
    tc: &mut TenantConn<'_>,
    subject: Subject,
) -> Result<Option<Identity>, CrmError> {
    let company = tc.company().as_str().to_string();
    match subject {
        Subject::Person(person) => {
            let row: Option<(String, Option<String>)> = persons::table
                .filter(persons::company_id.eq(&company))
                .filter(persons::id.eq(person))
                .select((persons::name, persons::email))
                .for_update()
                .first(tc.conn())
                .await
                .optional()?;
            Ok(row.map(|(name, email)| Identity {
                words: std::iter::once(name).chain(email.clone()).collect(),
                email,
            }))
        }
        Subject::Visitor(visitor) => {
            let row: Option<(Uuid, Option<Uuid>)> = visitors::table
                .filter(visitors::company_id.eq(&company))
                .filter(visitors::id.eq(visitor))
                .select((visitors::visitor_key, visitors::person_id))
                .for_update()
                .first(tc.conn())
                .await
                .optional()?;
            let Some((key, person)) = row else {
                return Ok(None);
            };
            // A visitor linked to a contact is the contact's: erasing the
            // visitor alone would leave the person (and what the capture
            // stored) behind while the receipt claims the subject erased.
            // Refused; the contact's erasure takes its visitors with it.
            if person.is_some() {
                return Err(CrmError::field("visitor", "visitor.has_contact"));
            }
            Ok(Some(Identity {
                words: vec![visitor.to_string(), key.to_string()],
                email: None,
            }))
        }
    }
}

/// The person-only part of a contact's erasure: deals kept without the
/// contact, notes, tasks and search terms erased with the person row, and
/// a member's staged import naming the email counted as kept.
async fn erase_person_rows(
    tc: &mut TenantConn<'_>,
    person: Uuid,
    email: Option<&str>,
) -> Result<Vec<ReceiptLine>, DbError> {
    let company = tc.company().as_str().to_string();
    // Kept: the client's business record, without the contact.
    let kept_deals: Vec<Uuid> = diesel::update(
        deals::table
            .filter(deals::company_id.eq(&company))
            .filter(deals::person_id.eq(person)),
    )
    .set((
        deals::person_id.eq(None::<Uuid>),
        deals::version.eq(deals::version + 1),
    ))
    .returning(deals::id)
    .get_results(tc.conn())
    .await?;

    // Notes, tasks and search terms go with the person row (the foreign
    // keys cascade, the trigger deletes the terms); counted first.
    let notes_n: i64 = notes::table
        .filter(notes::company_id.eq(&company))
        .filter(notes::person_id.eq(person))
        .select(count_star())
        .first(tc.conn())
        .await?;
    let tasks_n = diesel::delete(
        tasks::table
            .filter(tasks::company_id.eq(&company))
            .filter(tasks::person_id.eq(person)),
    )
    .execute(tc.conn())
    .await?;
    let terms_n: i64 = search_terms::table
        .filter(search_terms::company_id.eq(&company))
        .filter(search_terms::kind.eq("person"))
        .filter(search_terms::record_id.eq(person))
        .select(count_star())
        .first(tc.conn())
        .await?;
    diesel::delete(
        persons::table
            .filter(persons::company_id.eq(&company))
            .filter(persons::id.eq(person)),
    )
    .execute(tc.conn())
    .await?;

    // A member's staged import that mentions the email stays until it
    // expires (within the hour); the receipt says so.
    let staged: Vec<Uuid> = match email {
        Some(e) => {
            crm_imports::table
                .filter(crm_imports::company_id.eq(&company))
                .filter(crm_imports::expires_at.gt(now))
                .filter(crm_imports::body.ilike(format!("%{}%", like_escape(e))))
                .select(crm_imports::id)
                .load(tc.conn())
                .await?
        }
        None => Vec::new(),
    };
    let mut lines = vec![
        line("persons", 1, 0),
        line("notes", notes_n as usize, 0),
        line("tasks", tasks_n, 0),
        line("search_terms", terms_n as usize, 0),
        ReceiptLine {
            basis: Some(BASIS_BUSINESS_RECORD.into()),
            retained_ids: kept_deals.iter().copied().map(Some).collect(),
            ..line("deals", 0, kept_deals.len())
        },
    ];
    if !staged.is_empty() {
        lines.push(ReceiptLine {
            basis: Some(BASIS_STAGED_IMPORT.into()),
            retained_ids: staged.iter().copied().map(Some).collect(),
            ..line("crm_imports", 0, staged.len())
        });
    }
    Ok(lines)
}

async fn erase(
    tc: &mut TenantConn<'_>,
    subject: Subject,
    req: &ErasureRequest,
    actor: Uuid,
    request_id: &str,
) -> Result<Erased, CrmError> {
    let company = tc.company().as_str().to_string();
    let Some(identity) = lock_subject(tc, subject).await? else {
        return match earlier_receipt(tc, subject.id()).await? {
            Some(receipt_id) => Ok(Erased {
                receipt_id,
                already: true,
            }),
            None => Err(CrmError::NotFound),
        };
    };
    if req
        .note
        .as_deref()
        .is_some_and(|n| names_subject(n, &identity.words))
    {
        return Err(CrmError::field("note", "note.personal"));
    }

    let (receipt_id, tombstone): (Uuid, Uuid) = diesel::insert_into(erasure_receipts::table)
        .values((
            erasure_receipts::company_id.eq(&company),
            erasure_receipts::actor_user_id.eq(actor),
            erasure_receipts::subject_kind.eq(subject.kind()),
            erasure_receipts::reason.eq(req.reason),
            erasure_receipts::note.eq(&req.note),
        ))
        .returning((erasure_receipts::id, erasure_receipts::tombstone))
        .get_result(tc.conn())
        .await?;

    let (visitor_ids, person) = match subject {
        Subject::Person(person) => (
            visitors::table
                .filter(visitors::company_id.eq(&company))
                .filter(visitors::person_id.eq(person))
                .select(visitors::id)
                .for_update()
                .load(tc.conn())
                .await?,
            Some(person),
        ),
        Subject::Visitor(visitor) => (vec![visitor], None),
    };
    let v = erase_visitor_rows(tc, &visitor_ids, person, tombstone).await?;
    let mut lines = vec![
        line("visitors", v.visitors, 0),
        line("page_views", v.page_views, 0),
        line("forwards", v.forwards, 0),
        line("jobs", v.jobs_cancelled, 0),
        ReceiptLine {
            basis: Some(BASIS_PROOF_OF_CONSENT.into()),
            ..line("consent_decisions", 0, v.consent_kept)
        },
    ];
    if let Some(person) = person {
        lines.extend(erase_person_rows(tc, person, identity.email.as_deref()).await?);
    }
    let rows: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                erasure_receipt_lines::company_id.eq(&company),
                erasure_receipt_lines::receipt_id.eq(receipt_id),
                erasure_receipt_lines::table_name.eq(&l.table),
                erasure_receipt_lines::erased.eq(l.erased),
                erasure_receipt_lines::retained.eq(l.retained),
                erasure_receipt_lines::basis.eq(&l.basis),
                erasure_receipt_lines::retained_ids.eq(&l.retained_ids),
            )
        })
        .collect();
    diesel::insert_into(erasure_receipt_lines::table)
        .values(rows)
        .execute(tc.conn())
        .await?;
    diesel::insert_into(erased_subjects::table)
        .values((
            erased_subjects::company_id.eq(&company),
            erased_subjects::subject_id.eq(subject.id()),
            erased_subjects::receipt_id.eq(receipt_id),
        ))
        .execute(tc.conn())
        .await?;
    crate::repo::audit::append(
        tc,
        &crate::repo::audit::AuditEntry {
            actor_user_id: Some(actor),
            action: "privacy.erased",
            target_type: Some("erasure_receipt"),
            target_id: Some(&receipt_id.to_string()),
            request_id: Some(request_id),
            reason: Some(req.reason),
        },
    )
    .await?;
    Ok(Erased {
        receipt_id,
        already: false,
    })
}

/// `s` as a literal inside a LIKE pattern (backslash is the default escape).
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
