//! `/settings/privacy`: the workspace's retention period per data class
//! and its last retention sweep. A plain form for roles with
//! `security.manage` (owner, admin); every member reads. The server holds
//! the bounds (422 naming the field); the sweep itself runs in the worker.
//! For `privacy.erase`, a search by email that leads to each matching
//! contact's erasure form (a plain GET form, no JavaScript needed).

use super::*;

/// One class's period, as the page shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionRowDto {
    /// The form field's name (`page_views_months`, …).
    pub field: String,
    pub months: i32,
    pub min: i32,
    pub max: i32,
    pub default: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrivacyDto {
    pub rows: Vec<RetentionRowDto>,
    pub invoice_years: i32,
    /// The last finished sweep: when (UTC, RFC 3339) and what it removed.
    pub last_sweep: Option<(String, Vec<(String, i64)>)>,
    pub can_manage: bool,
}

#[server(endpoint = "privacy_settings")]
pub async fn privacy_settings() -> Result<PrivacyDto, AppError> {
    use crate::api::ssr::{database, db_failure, tenant};
    use metiva_db::retention::{AUDIT, CONTACTS, INVOICE_YEARS, PAGE_VIEWS, VISITORS};
    let ctx = tenant()?;
    let (s, last) = database()?.retention(&ctx).await.map_err(db_failure)?;
    let rows = [
        (PAGE_VIEWS, s.page_views_months),
        (VISITORS, s.visitors_months),
        (CONTACTS, s.contacts_months),
        (AUDIT, s.audit_months),
    ]
    .into_iter()
    .map(|(b, months)| RetentionRowDto {
        field: b.field.into(),
        months,
        min: b.min,
        max: b.max,
        default: b.default,
    })
    .collect();
    Ok(PrivacyDto {
        rows,
        invoice_years: INVOICE_YEARS,
        last_sweep: last.map(|l| {
            let c = l.counts;
            (
                l.finished_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                vec![
                    ("page_views_months".into(), c.page_views),
                    ("visitors_months".into(), c.visitors),
                    ("consent_decisions".into(), c.consent_decisions),
                    ("contacts_months".into(), c.contacts),
                    ("audit_months".into(), c.audit_rows),
                ],
            )
        }),
        can_manage: ctx.can(metiva_roles::Permission::SecurityManage),
    })
}

/// Sets the four periods; each must be a whole number of months within
/// its bounds (422 naming each field that is not).
#[server(endpoint = "save_retention")]
pub async fn save_retention(
    page_views_months: String,
    visitors_months: String,
    contacts_months: String,
    audit_months: String,
) -> Result<(), AppError> {
    use super::ssr::{done, refuse};
    use crate::api::ssr::{database, request_id, require};
    use metiva_db::crm::CrmError;
    use metiva_db::retention::RetentionForm;
    let ctx = require(metiva_roles::Permission::SecurityManage)?;
    let back = "/settings/privacy";
    let settings = RetentionForm {
        page_views_months: &page_views_months,
        visitors_months: &visitors_months,
        contacts_months: &contacts_months,
        audit_months: &audit_months,
    }
    .validate()
    .map_err(|f| refuse(CrmError::Invalid(f), back))?;
    database()?
        .save_retention(&ctx, &settings, &request_id())
        .await
        .map_err(|e| refuse(e, back))?;
    done(&format!("{back}?done=saved"));
    Ok(())
}

/// A class's name on the page.
fn class_label(field: &str) -> &'static str {
    match field {
        "page_views_months" => "Page views",
        "visitors_months" => "Visitors without activity",
        "contacts_months" => "Contacts without a deal or activity",
        "audit_months" => "Audit log",
        "consent_decisions" => "Consent decisions of removed visitors",
        _ => "Field",
    }
}

fn bounds_text(l: Lang, r: &RetentionRowDto) -> String {
    format!(
        "{} {}–{} {}, {} {}",
        tr(l, "Allowed:"),
        r.min,
        r.max,
        tr(l, "months"),
        tr(l, "default"),
        r.default
    )
}

#[component]
fn RetentionForm(d: PrivacyDto, outcome: Outcome) -> impl IntoView {
    let l = crate::i18n::current();
    let fields = d
        .rows
        .iter()
        .map(|r| {
            let id = format!("f-{}", r.field);
            let err = outcome.error_for(l, &r.field);
            let err_id = format!("err-{}", r.field);
            view! {
                <div>
                    <label class=LABEL for=id.clone()>{tr(l, class_label(&r.field))}" ("{tr(l, "months")}")"</label>
                    <input class=INPUT id=id name=r.field.clone() type="number" value=r.months.to_string()
                        min=r.min.to_string() max=r.max.to_string() required=true
                        aria-invalid=err.is_some().then_some("true") />
                    <p class="mt-1 text-xs text-slate-500">{bounds_text(l, r)}</p>
                    {err.map(|e| view! { <p class="mt-1 text-xs text-red-700" id=err_id data-testid=format!("error-{}", r.field)>{e}</p> })}
                </div>
            }
        })
        .collect_view();
    view! {
        <form method="post" action="/api/save_retention" class="mt-4 grid gap-4 sm:grid-cols-2" data-testid="retention-form">
            {fields}
            <div><button type="submit" class=PRIMARY>{tr(l, "Save retention")}</button></div>
        </form>
    }
}

#[component]
fn RetentionPanel(d: PrivacyDto, outcome: Outcome) -> impl IntoView {
    let l = crate::i18n::current();
    let summary = d
        .rows
        .iter()
        .map(|r| {
            view! {
                <li class="flex justify-between gap-3 py-2" data-testid=format!("retention-{}", r.field)>
                    <span>{tr(l, class_label(&r.field))}</span>
                    <span>{r.months}" "{tr(l, "months")}</span>
                </li>
            }
        })
        .collect_view();
    let invoices = view! {
        <li class="flex justify-between gap-3 py-2" data-testid="retention-invoices">
            <span>{tr(l, "Invoices")}</span>
            <span>{d.invoice_years}" "{tr(l, "years, fixed by Dutch fiscal law")}</span>
        </li>
    };
    let last = match &d.last_sweep {
        Some((at, counts)) => {
            let items = counts
                .iter()
                .map(|(f, n)| view! { <li>{tr(l, class_label(f))}": "{*n}</li> })
                .collect_view();
            view! {
                <div data-testid="last-sweep">
                    <p class="text-sm">{tr(l, "Last sweep:")}" "<time datetime=at.clone()>{at.clone()}</time></p>
                    <ul class="mt-1 text-sm text-slate-600">{items}</ul>
                </div>
            }
            .into_any()
        }
        None => view! { <p class="text-sm text-slate-600" data-testid="last-sweep">{tr(l, "No sweep has run yet.")}</p> }.into_any(),
    };
    let manage = d.can_manage;
    view! {
        <div class=PANEL data-testid="privacy-settings">
            <h2 class="text-lg font-semibold">{tr(l, "Retention")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "Data older than its period is deleted by the hourly sweep, in small batches. Audit log entries past their period go too, with their notes; a signed checkpoint keeps the audit chain verifiable.")}</p>
            <ul class="mt-4 divide-y divide-slate-100">{summary}{invoices}</ul>
            {manage.then(|| view! { <RetentionForm d=d.clone() outcome=outcome.clone() /> })}
        </div>
        <div class=PANEL>{last}</div>
    }
}

/// The erasure search's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErasureSearchDto {
    /// The viewer may erase (`privacy.erase`); otherwise the panel hides.
    pub can_erase: bool,
    /// An email was given but is not an email address.
    pub invalid: bool,
    pub searched: bool,
    /// Matching contacts: id and name.
    pub found: Vec<(String, String)>,
}

/// Contacts with exactly this email, for erasure (`privacy.erase`).
#[server(endpoint = "erasure_search")]
pub async fn erasure_search(email: String) -> Result<ErasureSearchDto, AppError> {
    use crate::api::ssr::{database, db_failure, tenant};
    use metiva_db::crm::CrmError;
    let ctx = tenant()?;
    let mut dto = ErasureSearchDto {
        can_erase: ctx.can(metiva_roles::Permission::PrivacyErase),
        ..Default::default()
    };
    let email = email.trim();
    if !dto.can_erase || email.is_empty() {
        return Ok(dto);
    }
    dto.searched = true;
    match database()?.find_erasure_subjects(&ctx, email).await {
        Ok(found) => {
            dto.found = found
                .into_iter()
                .map(|(id, name)| (id.to_string(), name))
                .collect();
        }
        Err(CrmError::Invalid(_)) => dto.invalid = true,
        Err(CrmError::Db(e)) => return Err(db_failure(e)),
        Err(_) => return Err(AppError::internal_here(&"erasure search")),
    }
    Ok(dto)
}

/// "Erase a person found by email": the search form and its matches.
#[component]
fn ErasureSearch() -> impl IntoView {
    let l = crate::i18n::current();
    let q = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("erase_email")
        .unwrap_or_default();
    let shown = q.clone();
    let data = Resource::new(move || q.clone(), crate::api::boxed(erasure_search));
    view! {
        <Suspense fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(d) if d.can_erase => {
                    let results = d.searched.then(|| {
                        if d.invalid {
                            view! { <p class="mt-2 text-sm text-red-700" data-testid="erase-search-invalid">{tr(l, "Enter a whole email address.")}</p> }.into_any()
                        } else if d.found.is_empty() {
                            view! { <p class="mt-2 text-sm text-slate-600" data-testid="erase-search-none">{tr(l, "No contact in this workspace has that email address.")}</p> }.into_any()
                        } else {
                            let items = d.found.iter().map(|(id, name)| {
                                let href = format!("/persons/{id}");
                                view! { <li><a class=LINK href=href>{name.clone()}</a></li> }
                            }).collect_view();
                            view! {
                                <p class="mt-2 text-sm text-slate-600">{tr(l, "Open the contact and use its erasure form:")}</p>
                                <ul class="mt-1 list-disc pl-5 text-sm" data-testid="erase-search-found">{items}</ul>
                            }.into_any()
                        }
                    });
                    view! {
                        <div class=PANEL>
                            <h2 class="text-lg font-semibold">{tr(l, "Erase a person found by email")}</h2>
                            <form method="get" action="/settings/privacy" role="search" class="mt-3 flex gap-2">
                                <label class="sr-only" for="erase-email">{tr(l, "Email address")}</label>
                                <input id="erase-email" name="erase_email" type="email" value=shown.clone() maxlength="254" required=true class=INPUT />
                                <button type="submit" class=PRIMARY>{tr(l, "Find")}</button>
                            </form>
                            {results}
                        </div>
                    }.into_any()
                }
                Ok(_) => ().into_any(),
                Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
pub fn PrivacyPage() -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let data = Resource::new(|| (), crate::api::boxed(|_| privacy_settings()));
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Privacy and retention")}</h1>
            {banner(l, &outcome)}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(d) => view! { <RetentionPanel d outcome=outcome.clone() /> }.into_any(),
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
            <ErasureSearch />
            <p class="text-sm"><a class=LINK href="/settings/offboarding" data-testid="offboarding-link">{tr(l, "Offboard this workspace")}</a></p>
        </section>
    }
}
