//! Erasing a contact from its record page (`privacy.erase`): a reason from
//! a fixed list, a short note without personal data, and a receipt. And
//! exporting one contact's data for an access request (`privacy.export`).

use super::*;

/// Erases contact `id` with a reason; returns the receipt's id (the first
/// receipt when the contact was erased before).
#[server(endpoint = "erase_contact")]
pub async fn erase_contact(
    id: String,
    reason: Option<String>,
    note: Option<String>,
) -> Result<String, AppError> {
    ssr::erase(ssr::Erasable::Contact, &id, reason, note).await
}

#[cfg(feature = "ssr")]
pub(super) mod ssr {
    use super::super::ssr::{done, parse_id, refuse};
    use crate::api::ssr::{database, request_id, require};
    use crate::error::AppError;
    use metiva_db::crm::CrmError;
    use metiva_db::erasure::ErasureForm;

    /// What can be erased from its record page.
    #[derive(Clone, Copy)]
    pub enum Erasable {
        Contact,
        Visitor,
    }

    /// One erasure, contact or visitor: `privacy.erase`, the reason form
    /// validated, refusals sent back to the record's page, and after it
    /// the receipt's banner (the record itself is gone).
    pub async fn erase(
        what: Erasable,
        id: &str,
        reason: Option<String>,
        note: Option<String>,
    ) -> Result<String, AppError> {
        let ctx = require(metiva_roles::Permission::PrivacyErase)?;
        let id = parse_id(id)?;
        let back = match what {
            Erasable::Contact => format!("/persons/{id}"),
            Erasable::Visitor => format!("/visitors/{id}"),
        };
        let form = ErasureForm {
            reason: reason.as_deref(),
            note: note.as_deref(),
        };
        let req = form
            .validate()
            .map_err(|f| refuse(CrmError::Invalid(f), &back))?;
        let (db, rid) = (database()?, request_id());
        let erased = match what {
            Erasable::Contact => db.erase_person(&ctx, id, &req, &rid).await,
            Erasable::Visitor => db.erase_visitor(&ctx, id, &req, &rid).await,
        }
        .map_err(|e| refuse(e, &back))?;
        let receipt = erased.receipt_id;
        done(&match what {
            Erasable::Contact => format!("/persons?done=erased&receipt={receipt}"),
            Erasable::Visitor => format!("/visitors/{id}?done=erased&receipt={receipt}"),
        });
        Ok(receipt.to_string())
    }
}

/// The reasons, as stored codes and their labels.
const REASONS: [(&str, &str); 4] = [
    ("subject_request", "The person asked to be erased"),
    ("consent_withdrawn", "Consent was withdrawn"),
    ("duplicate", "Duplicate record"),
    ("other", "Other (say why in the note)"),
];

/// The erasure form under a contact's edit form.
#[component]
pub(super) fn EraseContactForm(id: String, outcome: Outcome) -> impl IntoView {
    view! {
        <EraseForm id=id outcome=outcome action="/api/erase_contact" button="Erase contact"
            intro="Erasing removes this contact and everything that identifies them: their visitors and page views, notes, tasks and search terms. Deals stay without the contact; consent decisions stay as proof under an anonymous id. A receipt without personal data is kept and the erasure is audited." />
    }
}

/// An erasure form (contact or visitor): a reason from the fixed list, a
/// short note without personal data, posted to `action` with `id`.
#[component]
pub(super) fn EraseForm(
    id: String,
    outcome: Outcome,
    action: &'static str,
    intro: &'static str,
    button: &'static str,
) -> impl IntoView {
    let l = crate::i18n::current();
    let reason_error = outcome.error_for(l, "reason");
    let note_error = outcome.error_for(l, "note");
    let options = REASONS
        .into_iter()
        .map(|(code, label)| view! { <option value=code>{tr(l, label)}</option> })
        .collect_view();
    view! {
        <form method="post" action=action class="mt-6 space-y-3 border-t border-slate-100 pt-4" data-testid="erase-form">
            <input type="hidden" name="id" value=id />
            <p class="text-sm text-slate-600">{tr(l, intro)}</p>
            <div>
                <label class=LABEL for="f-reason">{tr(l, "Reason")}</label>
                <select class=INPUT id="f-reason" name="reason" required=true aria-invalid=reason_error.is_some().then_some("true")>
                    <option value="">{tr(l, "— choose —")}</option>
                    {options}
                </select>
                {reason_error.map(|e| view! { <p class="mt-1 text-xs text-red-700" data-testid="error-reason">{e}</p> })}
            </div>
            <div>
                <label class=LABEL for="f-note">{tr(l, "Note (no personal data)")}</label>
                <input class=INPUT id="f-note" name="note" type="text" maxlength="200" aria-invalid=note_error.is_some().then_some("true") />
                {note_error.map(|e| view! { <p class="mt-1 text-xs text-red-700" data-testid="error-note">{e}</p> })}
            </div>
            <button type="submit" class=DANGER>{tr(l, button)}</button>
        </form>
    }
}

/// "Erased" with the receipt's links, after an erasure.
pub(super) fn erased_banner(l: Lang, receipt: &str) -> AnyView {
    let json = format!("/erasures/{receipt}/receipt.json");
    let txt = format!("/erasures/{receipt}/receipt.txt");
    let pdf = format!("/erasures/{receipt}/receipt.pdf");
    view! {
        <p role="status" class="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900" data-testid="erased">
            {tr(l, "Erased. The receipt holds no personal data:")}" "
            <a class=LINK href=json download="">{tr(l, "receipt (JSON)")}</a>" · "
            <a class=LINK href=txt download="">{tr(l, "receipt (text)")}</a>" · "
            <a class=LINK href=pdf download="">{tr(l, "receipt (PDF)")}</a>
        </p>
    }
    .into_any()
}

/// "Export this person's data": a plain POST to `/persons/{id}/export`
/// (works without JavaScript), answered with the access-request ZIP. The
/// server checks `privacy.export` again and audits the export.
#[component]
pub(super) fn ExportSubjectForm(id: String) -> impl IntoView {
    view! {
        <ExportForm action=format!("/persons/{id}/export") button="Export this person's data"
            intro="For an access request: a ZIP with every row about this contact (JSON and CSV) and a README. The export is audited." />
    }
}

/// An access-request export form posting to `action`.
#[component]
pub(super) fn ExportForm(
    action: String,
    intro: &'static str,
    button: &'static str,
) -> impl IntoView {
    let l = crate::i18n::current();
    view! {
        <form method="post" action=action class="space-y-2" data-testid="export-subject-form">
            <p class="text-sm text-slate-600">{tr(l, intro)}</p>
            <button type="submit" class=PRIMARY data-testid="export-subject">{tr(l, button)}</button>
        </form>
    }
}
