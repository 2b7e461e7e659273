//! Editing and deleting a deal on its own page: title, value, expected
//! close, owner, organisation and contact (its stage moves with the move
//! form, which keeps the history). Optimistic concurrency as everywhere:
//! the form carries the version it was read at.

#![allow(
    clippy::too_many_arguments,
    reason = "a server function takes one argument per form field, as the browser posts them"
)]

use super::*;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DealFormDto {
    pub id: String,
    pub version: i32,
    pub title: String,
    /// Euros as the form shows them (`12500,00`).
    pub value: String,
    pub expected_close: String,
    pub owner: String,
    pub organisation: String,
    pub contact: String,
    pub choices: Choices,
    pub contacts: Vec<Choice>,
    pub can_write: bool,
}

/// Cents as a Dutch amount a person can edit and post back (`1250,50`).
#[cfg(any(feature = "ssr", test))]
pub fn euros_for_input(cents: i64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
}

#[server(endpoint = "deal_form_data")]
pub async fn deal_form_data(id: String) -> Result<Option<DealFormDto>, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    let ctx = require(metiva_roles::Permission::DealsRead)?;
    if !ctx.can(metiva_roles::Permission::DealsWrite) {
        return Ok(None);
    }
    let Ok(uid) = uuid::Uuid::parse_str(id.trim()) else {
        return Ok(None);
    };
    let db = database()?;
    let Some(d) = db.deal_edit(&ctx, uid).await.map_err(db_failure)? else {
        return Ok(None);
    };
    let (choices, contacts) = super::deals::deal_pickers(&ctx).await?;
    let s = |u: Option<uuid::Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
    Ok(Some(DealFormDto {
        id: d.id.to_string(),
        version: d.version,
        title: d.title,
        value: euros_for_input(d.value_cents),
        expected_close: d.expected_close.map(|c| c.to_string()).unwrap_or_default(),
        owner: s(d.owner_user_id),
        organisation: s(d.organisation_id),
        contact: s(d.person_id),
        choices,
        contacts,
        can_write: true,
    }))
}

#[server(endpoint = "save_deal")]
pub async fn save_deal(
    id: String,
    version: i32,
    title: String,
    value: Option<String>,
    expected_close: Option<String>,
    owner: Option<String>,
    organisation: Option<String>,
    contact: Option<String>,
) -> Result<i32, AppError> {
    use super::ssr::{done, parse_id, refuse};
    use crate::api::ssr::{database, require};
    use metiva_db::crm::CrmError;
    use metiva_db::crm::deals::DealForm;
    let ctx = require(metiva_roles::Permission::DealsWrite)?;
    let uid = parse_id(&id)?;
    let back = format!("/deals/{uid}");
    let fields = DealForm {
        title: &title,
        value: value.as_deref(),
        expected_close: expected_close.as_deref(),
        stage: None,
        owner: owner.as_deref(),
        organisation: organisation.as_deref(),
        contact: contact.as_deref(),
    }
    .validate()
    .map_err(|f| refuse(CrmError::Invalid(f), &back))?;
    let v = database()?
        .update_deal(&ctx, uid, version, &fields)
        .await
        .map_err(|e| refuse(e, &back))?;
    done(&format!("{back}?done=saved"));
    Ok(v)
}

#[server(endpoint = "delete_deal")]
pub async fn delete_deal(id: String, version: i32) -> Result<(), AppError> {
    use super::ssr::{done, parse_id, refuse};
    use crate::api::ssr::{database, request_id, require};
    let ctx = require(metiva_roles::Permission::DealsWrite)?;
    let uid = parse_id(&id)?;
    database()?
        .delete_deal(&ctx, uid, version, &request_id())
        .await
        .map_err(|e| refuse(e, &format!("/deals/{uid}")))?;
    done("/deals?done=deleted");
    Ok(())
}

/// Edit and delete on a deal's page, for roles that may write deals.
#[component]
pub fn DealEditPanel(id: String) -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let data = Resource::new(move || id.clone(), crate::api::boxed(deal_form_data));
    view! {
        <Suspense fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(Some(d)) => {
                    let e = |f: &str| outcome.error_for(l, f);
                    let (id, version) = (d.id.clone(), d.version.to_string());
                    // Open when this form's own fields were refused (not
                    // when the move form beside it was).
                    let open = ["title", "value", "expected_close", "contact", "organisation", "owner"]
                        .iter()
                        .any(|f| e(f).is_some());
                    view! {
                        <details class=PANEL open=open>
                            <summary class="cursor-pointer font-medium">{tr(l, "Edit deal")}</summary>
                            <form method="post" action="/api/save_deal" class="mt-4 grid gap-4 sm:grid-cols-2" data-testid="deal-edit-form">
                                <input type="hidden" name="id" value=id.clone() />
                                <input type="hidden" name="version" value=version.clone() />
                                <Field name="title" label="Title" value=d.title required=true error=e("title") />
                                <Field name="value" label="Value (euro)" value=d.value hint="12.500,00" error=e("value") />
                                <Field name="expected_close" label="Expected close" value=d.expected_close kind="date" error=e("expected_close") />
                                <Select name="contact" label="Contact" choices=d.contacts selected=d.contact error=e("contact") />
                                <Select name="organisation" label="Organisation" choices=d.choices.organisations selected=d.organisation error=e("organisation") />
                                <Select name="owner" label="Owner" choices=d.choices.members selected=d.owner error=e("owner") />
                                <div class="sm:col-span-2"><button type="submit" class=PRIMARY>{tr(l, "Save changes")}</button></div>
                            </form>
                            <form method="post" action="/api/delete_deal" class="mt-6 border-t border-slate-100 pt-4">
                                <input type="hidden" name="id" value=id />
                                <input type="hidden" name="version" value=version />
                                <p class="text-sm text-slate-600">{tr(l, "Deleting removes the deal and its stage history. The deletion is audited.")}</p>
                                <button type="submit" class=format!("mt-2 {DANGER}")>{tr(l, "Delete deal")}</button>
                            </form>
                        </details>
                    }.into_any()
                }
                Ok(None) => ().into_any(),
                Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cents_come_back_as_an_amount_the_form_reads_again() {
        assert_eq!(super::euros_for_input(125_050), "1250,50");
        assert_eq!(super::euros_for_input(7), "0,07");
        assert_eq!(super::euros_for_input(0), "0,00");
    }
}
