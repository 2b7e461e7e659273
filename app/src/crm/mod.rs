//! The CRM workspace pages: organisations, and editing contacts.
//!
//! Every form is a plain HTML form posting to its server function, so it
//! works the same with and without JavaScript: success answers a redirect
//! to the record (`?done=saved`); a refusal answers the form's page with
//! the failing fields named (`?invalid=field:code,…`, codes only, never
//! what was typed) and, for scripts, a 422 envelope naming each field.

mod alerts;
mod attachments;
mod branding_page;
mod contact_form;
mod conversions;
mod deal_form;
mod deal_list;
mod deals;
mod erasure;
mod fields;
mod import;
mod integrations_page;
mod jobs_page;
mod offboarding_page;
mod organisations;
mod pipeline;
mod privacy;
mod search;
mod tasks;
mod visitor_page;

pub use alerts::{
    AlertsPage, NoticesPanel, confirm_phone_code, dismiss_notices, my_notices, my_phone,
    request_phone_code, set_sms_alerts,
};
pub use attachments::{FileDto, FilesDto, FilesPanel, record_files};
pub use branding_page::{BrandingDto, BrandingPage, branding_settings, save_branding};
pub use contact_form::{
    ContactFormDto, ContactPanel, NewContactPanel, contact_form_data, delete_contact, save_contact,
};
#[cfg(feature = "ssr")]
pub use conversions::upload_dtos;
pub use conversions::{ConversionList, ConversionPanel, UploadDto, conversion_uploads};
pub use deal_form::{DealEditPanel, deal_form_data, delete_deal, save_deal};
pub use deal_list::{DealListQuery, deal_list};
pub use deals::{DealBoardPage, DealStagePanel, create_deal, deal_board, deal_history, move_deal};
pub use erasure::erase_contact;
#[cfg(feature = "ssr")]
pub use import::ssr::refusal as import_refusal;
pub use import::{
    ImportDoneDto, ImportPage, ImportPreviewDto, ImportPreviewPage, confirm_import, import_form,
    import_preview,
};
pub use integrations_page::{
    IntegrationsPage, connect_integration, disconnect_integration, integrations_overview,
    test_integration,
};
pub use jobs_page::{JobsPage, discard_job, jobs_overview, retry_job};
pub use offboarding_page::{OffboardingDto, OffboardingPage, offboarding_info};
pub use organisations::{
    OrganisationPage, OrganisationsPage, delete_organisation, organisation_page, organisations,
    save_organisation,
};
pub use pipeline::{PipelinePage, change_stage, pipeline_settings, save_lead_sla};
pub use privacy::{PrivacyPage, privacy_settings, save_retention};
pub use search::{SearchBox, SearchPage, search};
#[cfg(feature = "ssr")]
pub(crate) use tasks::work_dto;
pub use tasks::{
    RecordWork, RecordWorkDto, RecordWorkView, TasksPage, add_note, add_task, complete_task,
    my_tasks, record_work,
};
pub use visitor_page::{VisitorPage, erase_visitor, load_visitor};

use crate::error::AppError;
use crate::i18n::{Lang, tr};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

const PANEL: &str = "rounded-lg border border-slate-200 bg-white p-6 shadow-sm";
const TH: &str = "px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
const TD: &str = "px-3 py-2 align-top";
const LINK: &str = "text-indigo-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 rounded";
const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 aria-[invalid=true]:border-red-500";
const LABEL: &str = "block text-sm font-medium text-slate-700";
const PRIMARY: &str = "rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2";
const DANGER: &str = "rounded-md border border-red-300 px-3 py-1.5 text-sm font-medium text-red-800 hover:bg-red-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-red-500";

/// A choice in a select: (value, label).
pub type Choice = (String, String);

/// What the page was sent back with: saved, refused fields, or stale.
#[derive(Debug, Clone, Default)]
struct Outcome {
    saved: bool,
    deleted: bool,
    /// A CSV import was confirmed and written.
    imported: bool,
    /// A contact was erased: its receipt's id (a uuid, checked).
    erased: Option<String>,
    stale: bool,
    invalid: Vec<(String, String)>,
}

impl Outcome {
    fn from_query() -> Self {
        // A request without a query (most views) brought no outcome: read
        // from the request line itself, not the router's query map
        // (issue 15: ~4K instructions a call, two a record view).
        #[cfg(feature = "ssr")]
        if with_context::<http::request::Parts, _>(|p| p.uri.query().is_none()).unwrap_or(false) {
            return Self::default();
        }
        let q = leptos_router::hooks::use_query_map().read_untracked();
        let invalid = q
            .get("invalid")
            .map(|v| {
                v.split(',')
                    .filter_map(|p| p.split_once(':'))
                    .map(|(f, c)| (f.to_string(), c.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            saved: q.get("done").as_deref() == Some("saved"),
            deleted: q.get("done").as_deref() == Some("deleted"),
            imported: q.get("done").as_deref() == Some("imported"),
            erased: (q.get("done").as_deref() == Some("erased"))
                .then(|| q.get("receipt"))
                .flatten()
                .filter(|r| r.len() == 36 && r.chars().all(|c| c.is_ascii_hexdigit() || c == '-')),
            stale: q.get("stale").is_some(),
            invalid,
        }
    }

    fn error_for(&self, l: Lang, field: &str) -> Option<&'static str> {
        self.invalid
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, c)| tr(l, fields::code_text(c)))
    }
}

/// The banner above a form: saved, stale, or "see the fields below".
fn banner(l: Lang, o: &Outcome) -> Option<AnyView> {
    if let Some(receipt) = &o.erased {
        return Some(erasure::erased_banner(l, receipt));
    }
    if o.saved || o.deleted || o.imported {
        let text = tr(
            l,
            if o.saved {
                "Saved."
            } else if o.imported {
                "Imported: every line of the file was saved."
            } else {
                "Deleted."
            },
        );
        return Some(
            view! { <p role="status" class="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">{text}</p> }
                .into_any(),
        );
    }
    let text = if o.stale {
        tr(
            l,
            "This record changed since you opened it. Reload to see the current version, then make your change again.",
        )
    } else if !o.invalid.is_empty() {
        tr(l, "Nothing was saved. Correct the fields marked below.")
    } else {
        return None;
    };
    Some(
        view! { <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="form-refused">{text}</p> }
            .into_any(),
    )
}

/// One labelled input with its error beside it.
#[component]
fn Field(
    name: &'static str,
    label: &'static str,
    value: String,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] required: bool,
    error: Option<&'static str>,
) -> impl IntoView {
    let l = crate::i18n::current();
    let id = format!("f-{name}");
    let err_id = format!("{id}-error");
    let described = error.map(|_| err_id.clone());
    view! {
        <div>
            <label class=LABEL for=id.clone()>{tr(l, label)}</label>
            <input class=INPUT id=id name=name type=kind.unwrap_or("text") value=value required=required
                aria-invalid=error.is_some().then_some("true") aria-describedby=described />
            {hint.map(|h| view! { <p class="mt-1 text-xs text-slate-500">{tr(l, h)}</p> })}
            {error.map(|e| view! { <p class="mt-1 text-xs text-red-700" id=err_id data-testid=format!("error-{name}")>{e}</p> })}
        </div>
    }
}

/// A select with an empty "none" choice first.
#[component]
fn Select(
    name: &'static str,
    label: &'static str,
    choices: Vec<Choice>,
    selected: String,
    error: Option<&'static str>,
) -> impl IntoView {
    let l = crate::i18n::current();
    let id = format!("f-{name}");
    let options = choices
        .into_iter()
        .map(|(v, t)| {
            let sel = v == selected;
            view! { <option value=v selected=sel>{t}</option> }
        })
        .collect_view();
    view! {
        <div>
            <label class=LABEL for=id.clone()>{tr(l, label)}</label>
            <select class=INPUT id=id name=name aria-invalid=error.is_some().then_some("true")>
                <option value="">{tr(l, "— none —")}</option>
                {options}
            </select>
            {error.map(|e| view! { <p class="mt-1 text-xs text-red-700" data-testid=format!("error-{name}")>{e}</p> })}
        </div>
    }
}

/// Notes, up to 10,000 characters.
#[component]
fn Notes(value: String, error: Option<&'static str>) -> impl IntoView {
    let l = crate::i18n::current();
    view! {
        <div class="sm:col-span-2">
            <label class=LABEL for="f-notes">{tr(l, "Notes")}</label>
            <textarea class=INPUT id="f-notes" name="notes" rows="3" maxlength="10000"
                aria-invalid=error.is_some().then_some("true")>{value}</textarea>
            {error.map(|e| view! { <p class="mt-1 text-xs text-red-700" data-testid="error-notes">{e}</p> })}
        </div>
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::fields;
    use crate::error::AppError;
    use crate::i18n::{current, tr};
    use metiva_db::crm::{CrmError, FieldError};

    /// Refuses a CRM write. A plain form post goes back to `back` with the
    /// failing fields' codes (never their values); a script gets the
    /// status and each field's message.
    pub fn refuse(e: CrmError, back: &str) -> AppError {
        let l = current();
        let (err, query) = match e {
            CrmError::Invalid(fields) => (invalid(&fields), invalid_query(&fields)),
            CrmError::NotFound => (AppError::not_found(tr(l, "Not found.")), String::new()),
            CrmError::Stale => (
                AppError::conflict(tr(
                    l,
                    "This record changed since you opened it. Reload to see the current version, then make your change again.",
                )),
                "stale=1".into(),
            ),
            CrmError::HasBilling => (
                AppError::conflict(tr(
                    l,
                    "This organisation has retainers or invoices, so it cannot be deleted: invoices are kept for seven years. End its retainers on /billing instead.",
                )),
                String::new(),
            ),
            CrmError::Db(db) => return crate::api::ssr::db_failure(db),
        };
        if crate::member_forms::ssr::plain_form() && !query.is_empty() {
            leptos_axum::redirect(&format!("{back}?{query}"));
        }
        err
    }

    /// A 422 naming each field in the user's language.
    pub fn invalid(fields: &[FieldError]) -> AppError {
        let l = current();
        let msg = fields
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    tr(l, fields::label(f.field)),
                    tr(l, fields::code_text(f.code))
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        AppError::validation(msg)
    }

    fn invalid_query(fields: &[FieldError]) -> String {
        let list = fields
            .iter()
            .map(|f| format!("{}:{}", f.field, f.code))
            .collect::<Vec<_>>()
            .join(",");
        format!("invalid={}", crate::query_escape(&list))
    }

    /// A plain form post that worked goes to `to`; a script gets the value.
    pub fn done(to: &str) {
        if crate::member_forms::ssr::plain_form() {
            leptos_axum::redirect(to);
        }
    }

    /// A uuid from a route or a hidden field; anything else is not found.
    pub fn parse_id(raw: &str) -> Result<uuid::Uuid, AppError> {
        uuid::Uuid::parse_str(raw.trim())
            .map_err(|_| AppError::not_found(tr(current(), "Not found.")))
    }
}

/// The members (for owner) and organisations (for a contact) to choose from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Choices {
    pub members: Vec<Choice>,
    pub organisations: Vec<Choice>,
}

/// The choices, read in the request's tenant.
#[cfg(feature = "ssr")]
async fn choices(ctx: &metiva_db::TenantCtx) -> Result<Choices, AppError> {
    let (members, orgs) = crate::api::ssr::database()?
        .crm_choices(ctx)
        .await
        .map_err(crate::api::ssr::db_failure)?;
    Ok(Choices {
        members: members
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
        organisations: orgs
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
    })
}
