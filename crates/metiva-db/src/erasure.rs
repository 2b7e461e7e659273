//! Erasure of one data subject (a contact), with a receipt.
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
    consent_decisions, crm_imports, deals, erased_subjects, erasure_receipt_lines,
    erasure_receipts, forwards, notes, page_views, persons, search_terms, tasks, visitors,
};
use crate::{Database, DbError, TenantConn};

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
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(erase(tc, person, req, actor, request_id).await)
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

/// Whether `note` names the subject (its email or full name, any case).
fn names_subject(note: &str, name: &str, email: Option<&str>) -> bool {
    let note = note.to_lowercase();
    let name = name.trim().to_lowercase();
    (!name.is_empty() && note.contains(&name))
        || email.is_some_and(|e| note.contains(&e.to_lowercase()))
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

async fn erase(
    tc: &mut TenantConn<'_>,
    person: Uuid,
    req: &ErasureRequest,
    actor: Uuid,
    request_id: &str,
) -> Result<Erased, CrmError> {
    let company = tc.company().as_str().to_string();
    // The row lock makes a concurrent second erasure wait for this one,
    // then find the person gone and answer the first receipt.
    let subject: Option<(String, Option<String>)> = persons::table
        .filter(persons::company_id.eq(&company))
        .filter(persons::id.eq(person))
        .select((persons::name, persons::email))
        .for_update()
        .first(tc.conn())
        .await
        .optional()?;
    let Some((name, email)) = subject else {
        return match earlier_receipt(tc, person).await? {
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
        .is_some_and(|n| names_subject(n, &name, email.as_deref()))
    {
        return Err(CrmError::field("note", "note.personal"));
    }

    let (receipt_id, tombstone): (Uuid, Uuid) = diesel::insert_into(erasure_receipts::table)
        .values((
            erasure_receipts::company_id.eq(&company),
            erasure_receipts::actor_user_id.eq(actor),
            erasure_receipts::subject_kind.eq("person"),
            erasure_receipts::reason.eq(req.reason),
            erasure_receipts::note.eq(&req.note),
        ))
        .returning((erasure_receipts::id, erasure_receipts::tombstone))
        .get_result(tc.conn())
        .await?;

    let visitor_ids: Vec<Uuid> = visitors::table
        .filter(visitors::company_id.eq(&company))
        .filter(visitors::person_id.eq(person))
        .select(visitors::id)
        .for_update()
        .load(tc.conn())
        .await?;

    // Kept as proof, under the tombstone instead of the visitor.
    let consent = diesel::update(
        consent_decisions::table
            .filter(consent_decisions::company_id.eq(&company))
            .filter(consent_decisions::visitor_id.eq_any(&visitor_ids)),
    )
    .set((
        consent_decisions::visitor_id.eq(None::<Uuid>),
        consent_decisions::erased_subject.eq(Some(tombstone)),
    ))
    .execute(tc.conn())
    .await?;
    let forwards_erased = diesel::delete(
        forwards::table
            .filter(forwards::company_id.eq(&company))
            .filter(
                forwards::visitor_id
                    .eq_any(&visitor_ids)
                    .or(forwards::person_id.eq(person)),
            ),
    )
    .execute(tc.conn())
    .await?;
    let views = diesel::delete(
        page_views::table
            .filter(page_views::company_id.eq(&company))
            .filter(page_views::visitor_id.eq_any(&visitor_ids)),
    )
    .execute(tc.conn())
    .await?;
    let visitors_erased = diesel::delete(
        visitors::table
            .filter(visitors::company_id.eq(&company))
            .filter(visitors::id.eq_any(&visitor_ids)),
    )
    .execute(tc.conn())
    .await?;

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
    let staged: Vec<Uuid> = match email.as_deref() {
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
        line("visitors", visitors_erased, 0),
        line("page_views", views, 0),
        line("forwards", forwards_erased, 0),
        line("notes", notes_n as usize, 0),
        line("tasks", tasks_n, 0),
        line("search_terms", terms_n as usize, 0),
        ReceiptLine {
            basis: Some(BASIS_PROOF_OF_CONSENT.into()),
            ..line("consent_decisions", 0, consent)
        },
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
            erased_subjects::subject_id.eq(person),
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
