//! `/visitors/{id}`: one website visitor's record, with the privacy
//! actions on it (issue 16): erase the visitor (`privacy.erase`, a reason
//! from the fixed list, a receipt) and export its data for an access
//! request (`privacy.export`, a ZIP from `POST /visitors/{id}/export`).
//!
//! # Security
//! Reading needs `visitors.read`; another workspace's id answers 404 like
//! an unknown one. The page shows ids, consent flags, dates and counts:
//! no visitor key (the cookie value) and no IP. A visitor linked to a
//! contact is erased with the contact (the domain refuses it alone), so
//! the page points there instead of offering the form.

use super::erasure::{EraseForm, ExportForm};
use super::*;

/// What the visitor page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitorPageDto {
    pub id: String,
    pub domain: String,
    pub purposes: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub views: i64,
    pub consent_decisions: i64,
    pub forwards: i64,
    /// The linked contact's id, when a consented capture linked one.
    pub person: Option<String>,
    pub can_erase: bool,
    pub can_export: bool,
}

/// The visitor `id` of this workspace; `None` when there is none.
#[server(endpoint = "visitor_page")]
pub async fn load_visitor(id: String) -> Result<Option<VisitorPageDto>, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    use crate::visitors::ssr::{purposes, when};
    use metiva_roles::Permission;
    let ctx = require(Permission::VisitorsRead)?;
    let Ok(id) = uuid::Uuid::parse_str(id.trim()) else {
        return Ok(None);
    };
    let Some(v) = database()?
        .visitor_record(&ctx, id)
        .await
        .map_err(db_failure)?
    else {
        return Ok(None);
    };
    let l = crate::i18n::current();
    Ok(Some(VisitorPageDto {
        id: v.id.to_string(),
        domain: v.domain,
        purposes: purposes(l, v.analytics, v.identification, v.marketing),
        first_seen: when(v.first_seen),
        last_seen: when(v.last_seen),
        views: v.views,
        consent_decisions: v.consent_decisions,
        forwards: v.forwards,
        person: v.person_id.map(|p| p.to_string()),
        can_erase: ctx.can(Permission::PrivacyErase),
        can_export: ctx.can(Permission::PrivacyExport),
    }))
}

/// Erases visitor `id` with a reason; returns the receipt's id (the first
/// receipt when the visitor was erased before).
#[server(endpoint = "erase_visitor")]
pub async fn erase_visitor(
    id: String,
    reason: Option<String>,
    note: Option<String>,
) -> Result<String, AppError> {
    use super::erasure::ssr::{Erasable, erase};
    erase(Erasable::Visitor, &id, reason, note).await
}

#[component]
pub fn VisitorPage() -> impl IntoView {
    let l = crate::i18n::current();
    let id = leptos_router::hooks::use_params_map()
        .read_untracked()
        .get("id")
        .unwrap_or_default();
    let outcome = Outcome::from_query();
    // After an erasure the record is gone: the receipt's banner alone.
    if outcome.erased.is_some() {
        return view! {
            <section class="space-y-6">
                <a class=LINK href="/visitors">{tr(l, "← Visitors")}</a>
                {banner(l, &outcome)}
            </section>
        }
        .into_any();
    }
    let data = Resource::new(move || id.clone(), crate::api::boxed(load_visitor));
    view! {
        <section class="space-y-6">
            <a class=LINK href="/visitors">{tr(l, "← Visitors")}</a>
            {banner(l, &outcome)}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(Some(v)) => view! { <VisitorBody v=v outcome=outcome.clone() /> }.into_any(),
                    // A missing and another workspace's visitor answer
                    // alike: a real 404, never a hint it exists.
                    Ok(None) => view! {
                        <crate::error::ErrorView error=AppError::not_found(tr(l, "No such visitor in this workspace.")) />
                    }.into_any(),
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

#[component]
fn VisitorBody(v: VisitorPageDto, outcome: Outcome) -> impl IntoView {
    let l = crate::i18n::current();
    let purposes = if v.purposes.is_empty() {
        tr(l, "none").to_string()
    } else {
        v.purposes.join(", ")
    };
    let erase = match (&v.person, v.can_erase) {
        (Some(p), true) => Some(view! {
            <p class="mt-6 border-t border-slate-100 pt-4 text-sm text-slate-600" data-testid="erase-via-contact">
                {tr(l, "This visitor is linked to a contact. Erase the contact: that erases this visitor too.")}" "
                <a class=LINK href=format!("/persons/{p}")>{tr(l, "Open the contact")}</a>
            </p>
        }.into_any()),
        (None, true) => Some(view! {
            <EraseForm id=v.id.clone() outcome=outcome action="/api/erase_visitor" button="Erase visitor"
                intro="Erasing removes this visitor and everything that identifies it: the visitor record, its page views with their encrypted IP addresses, and its forwarded conversions. Consent decisions stay as proof under an anonymous id. A receipt without personal data is kept and the erasure is audited." />
        }.into_any()),
        (_, false) => None,
    };
    let export = v.can_export.then(|| view! {
        <div class=PANEL>
            <ExportForm action=format!("/visitors/{}/export", v.id) button="Export this visitor's data"
                intro="For an access request: a ZIP with every row about this visitor (JSON and CSV) and a README. The export is audited." />
        </div>
    });
    let person = v.person.clone().map(|p| view! {
        <p class="text-sm">{tr(l, "Person")}": "<a class=LINK href=format!("/persons/{p}") data-testid="visitor-person">{p.chars().take(8).collect::<String>()}</a></p>
    });
    view! {
        <div class=PANEL data-testid="visitor-record">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Visitor")}" "<span class="font-mono text-base">{v.id.clone()}</span></h1>
            <dl class="mt-3 grid grid-cols-2 gap-x-6 gap-y-1 text-sm sm:grid-cols-4">
                <dt class="text-slate-500">{tr(l, "Site")}</dt><dd>{v.domain.clone()}</dd>
                <dt class="text-slate-500">{tr(l, "Consent")}</dt><dd>{purposes}</dd>
                <dt class="text-slate-500">{tr(l, "First seen")}</dt><dd>{v.first_seen.clone()}</dd>
                <dt class="text-slate-500">{tr(l, "Last seen")}</dt><dd>{v.last_seen.clone()}</dd>
                <dt class="text-slate-500">{tr(l, "Page views")}</dt><dd>{v.views}</dd>
                <dt class="text-slate-500">{tr(l, "Consent decisions")}</dt><dd>{v.consent_decisions}</dd>
                <dt class="text-slate-500">{tr(l, "Forwarded conversions")}</dt><dd>{v.forwards}</dd>
            </dl>
            <div class="mt-2">{person}</div>
            {erase}
        </div>
        {export}
    }
}
