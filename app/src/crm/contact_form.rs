//! Creating, editing and deleting a contact, on the persons pages.

#![allow(
    clippy::too_many_arguments,
    reason = "a server function takes one argument per form field, as the browser posts them"
)]

use super::*;

/// A contact's editable fields, its version, and what to choose from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContactFormDto {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub organisation: String,
    pub owner: String,
    pub notes: String,
    pub source: String,
    pub version: i32,
    pub choices: Choices,
    pub can_write: bool,
    /// The role may import contacts from CSV (`crm.import`).
    pub can_import: bool,
    /// The role may export the contacts as CSV (`crm.export`).
    pub can_export: bool,
    /// The role may erase a contact (`privacy.erase`).
    pub can_erase: bool,
    /// The role may export one person's data (`privacy.export`).
    pub can_export_subject: bool,
}

/// The form's data: a contact's current values (with `id`) or an empty
/// form; `None` when the contact is not in this workspace.
#[server(endpoint = "contact_form_data")]
pub async fn contact_form_data(id: Option<String>) -> Result<Option<ContactFormDto>, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    let ctx = require(metiva_roles::Permission::PersonsRead)?;
    let can_write = ctx.can(metiva_roles::Permission::PersonsWrite);
    let mut dto = ContactFormDto {
        can_write,
        can_import: ctx.can(metiva_roles::Permission::CrmImport),
        can_export: ctx.can(metiva_roles::Permission::CrmExport),
        can_erase: ctx.can(metiva_roles::Permission::PrivacyErase),
        can_export_subject: ctx.can(metiva_roles::Permission::PrivacyExport),
        ..Default::default()
    };
    // The form (its pickers and the contact's current values) is shown
    // only to a role that may write, and the subject export needs the
    // contact found; a role with neither gets the flags alone and costs
    // the page no transaction (issue 15): the panels render nothing for
    // it either way, whatever the id.
    if !can_write && !dto.can_export_subject {
        return Ok(Some(dto));
    }
    if can_write {
        dto.choices = choices(&ctx).await?;
    }
    let Some(raw) = id.filter(|s| !s.is_empty()) else {
        return Ok(Some(dto));
    };
    let Ok(id) = uuid::Uuid::parse_str(&raw) else {
        return Ok(None);
    };
    let Some(c) = database()?.contact(&ctx, id).await.map_err(db_failure)? else {
        return Ok(None);
    };
    dto.id = c.id.to_string();
    dto.name = c.name;
    dto.email = c.email.unwrap_or_default();
    dto.phone = c.phone.unwrap_or_default();
    dto.organisation = c.organisation_id.map(|u| u.to_string()).unwrap_or_default();
    dto.owner = c.owner_user_id.map(|u| u.to_string()).unwrap_or_default();
    dto.notes = c.notes.unwrap_or_default();
    dto.source = c.source;
    dto.version = c.version;
    Ok(Some(dto))
}

/// Creates (no `id`) or edits (at `version`) a contact; returns its id.
#[server(endpoint = "save_contact")]
pub async fn save_contact(
    id: Option<String>,
    version: Option<i32>,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    organisation: Option<String>,
    owner: Option<String>,
    notes: Option<String>,
    source: Option<String>,
) -> Result<String, AppError> {
    use super::ssr::{done, parse_id, refuse};
    use crate::api::ssr::{database, request_id, require};
    use metiva_db::crm::CrmError;
    use metiva_db::crm::contacts::ContactForm;
    let ctx = require(metiva_roles::Permission::PersonsWrite)?;
    let id = id
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_id(&s))
        .transpose()?;
    let back = id.map_or_else(|| "/persons".to_string(), |i| format!("/persons/{i}"));
    let form = ContactForm {
        name: &name,
        email: email.as_deref(),
        phone: phone.as_deref(),
        organisation: organisation.as_deref(),
        owner: owner.as_deref(),
        notes: notes.as_deref(),
        source: source.as_deref(),
    };
    let fields = form
        .validate()
        .map_err(|f| refuse(CrmError::Invalid(f), &back))?;
    let db = database()?;
    let saved = match (id, version) {
        (Some(id), Some(v)) => db.update_contact(&ctx, id, v, &fields).await.map(|_| id),
        (Some(_), None) => Err(CrmError::Stale),
        (None, _) => db.create_contact(&ctx, &fields, &request_id()).await,
    }
    .map_err(|e| refuse(e, &back))?;
    done(&format!("/persons/{saved}?done=saved"));
    Ok(saved.to_string())
}

#[server(endpoint = "delete_contact")]
pub async fn delete_contact(id: String, version: i32) -> Result<(), AppError> {
    use super::ssr::{done, parse_id, refuse};
    use crate::api::ssr::{database, request_id, require};
    let ctx = require(metiva_roles::Permission::PersonsWrite)?;
    let id = parse_id(&id)?;
    database()?
        .delete_contact(&ctx, id, version, &request_id())
        .await
        .map_err(|e| refuse(e, &format!("/persons/{id}")))?;
    done("/persons?done=deleted");
    Ok(())
}

#[component]
fn ContactFormView(c: ContactFormDto, outcome: Outcome) -> impl IntoView {
    let l = crate::i18n::current();
    let e = |f: &str| outcome.error_for(l, f);
    let editing = !c.id.is_empty();
    let lead = c.source == "lead";
    view! {
        <form method="post" action="/api/save_contact" class="grid gap-4 sm:grid-cols-2" data-testid="contact-form">
            {editing.then(|| view! {
                <input type="hidden" name="id" value=c.id.clone() />
                <input type="hidden" name="version" value=c.version.to_string() />
            })}
            <Field name="name" label="Name" value=c.name required=true error=e("name") />
            <Field name="email" label="Email" value=c.email kind="email" error=e("email") />
            <Field name="phone" label="Phone" value=c.phone kind="tel" hint="+31 6 12345678 / 06 12345678" error=e("phone") />
            <Select name="organisation" label="Organisation" choices=c.choices.organisations selected=c.organisation error=e("organisation") />
            <Select name="owner" label="Owner" choices=c.choices.members selected=c.owner error=e("owner") />
            {(!editing).then(|| view! {
                <div>
                    <span class=LABEL>{tr(l, "Source")}</span>
                    <label class="mt-2 flex items-center gap-2 text-sm">
                        <input type="checkbox" name="source" value="lead" checked=lead />
                        {tr(l, "A new lead (gets a first-response task)")}
                    </label>
                </div>
            })}
            <Notes value=c.notes error=e("notes") />
            <div class="sm:col-span-2">
                <button type="submit" class=PRIMARY>{tr(l, if editing { "Save changes" } else { "Add contact" })}</button>
            </div>
        </form>
    }
    .into_any()
}

/// "New contact" above the persons list, for roles that may write, and
/// the CSV import and export, for roles that may use them.
#[component]
pub fn NewContactPanel() -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let data = Resource::new(|| (), crate::api::boxed(|_| contact_form_data(None)));
    view! {
        {banner(l, &outcome)}
        <Suspense fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(Some(c)) => {
                    let open = !outcome.invalid.is_empty();
                    let import = c.can_import.then(|| view! {
                        <a class=LINK href="/import?kind=contacts" data-testid="import-link">{tr(l, "Import contacts (CSV)")}</a>
                    });
                    let export = c.can_export.then(|| view! {
                        <a class=LINK href="/persons.csv" download="">{tr(l, "Export contacts (CSV)")}</a>
                    });
                    let links = (c.can_import || c.can_export)
                        .then(|| view! { <p class="flex gap-4 text-sm">{import}{export}</p> });
                    let form = c.can_write.then(|| view! {
                        <details class=PANEL open=open>
                            <summary class="cursor-pointer font-medium">{tr(l, "New contact")}</summary>
                            <div class="mt-4"><ContactFormView c=c outcome=outcome.clone() /></div>
                        </details>
                    });
                    view! { {links}{form} }.into_any()
                }
                Ok(None) => ().into_any(),
                Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
            })}
        </Suspense>
    }
}

/// Edit and delete on a contact's page, for roles that may write.
///
/// Roles with `privacy.erase` get the erasure form (a reason, a receipt)
/// instead of the delete button. The others keep the plain delete, but
/// only for a contact without a consented website trail (no linked
/// visitor or forward), such as one typed in by mistake: its notes,
/// tasks and search terms go with it and its deals stay unlinked, as an
/// erasure would leave them. A contact with a trail needs an erasure,
/// which also moves its consent decisions to a tombstone and leaves a
/// receipt; the domain refuses the plain delete (422, `contact`).
#[component]
pub fn ContactPanel(id: String) -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    // A role that may read contacts but neither write nor export one's
    // data is offered nothing here, whatever the id (see
    // `contact_form_data`): decided now, from the request's verified
    // tenant context, with no resource and no Suspense around nothing
    // (issue 15: ~37K instructions a record view). The markup is the one
    // the Suspense renders for such a role: the banner, then no panel.
    #[cfg(feature = "ssr")]
    if offered_nothing() {
        return view! { {banner(l, &outcome)} {().into_any()} }.into_any();
    }
    let subject = id.clone();
    let data = Resource::new(
        move || Some(id.clone()),
        crate::api::boxed(contact_form_data),
    );
    let body = crate::rendered::RenderedOnce::default();
    view! {
        {banner(l, &outcome)}
        <Suspense fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(Some(c)) if c.can_write || c.can_export_subject => {
                    panel_view(&body, l, c, &outcome, &subject)
                }
                Ok(_) => ().into_any(),
                Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
            })}
        </Suspense>
    }
    .into_any()
}

/// The panel for a role that may write or export, rendered once per
/// request on the server (see `crate::rendered`: its selects list every
/// member and organisation, built twice and rendered future by future
/// through the Suspense otherwise).
fn panel_view(
    body: &crate::rendered::RenderedOnce,
    l: Lang,
    c: ContactFormDto,
    outcome: &Outcome,
    subject: &str,
) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        body.render(|| panel(l, c, outcome, subject))
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = body;
        panel(l, c, outcome, subject)
    }
}

/// Edit and delete (or erase), and the export, by what `c` allows.
fn panel(l: Lang, c: ContactFormDto, outcome: &Outcome, subject: &str) -> AnyView {
    // A role that may export but not write gets the export alone.
    if !c.can_write {
        return view! {
            <div class=PANEL><super::erasure::ExportSubjectForm id=subject.to_string() /></div>
        }
        .into_any();
    }
    let export = c.can_export_subject.then(|| {
        view! {
            <super::erasure::ExportSubjectForm id=c.id.clone() />
        }
    });
    let (id, version) = (c.id.clone(), c.version.to_string());
    let removal = if c.can_erase {
        view! { <super::erasure::EraseContactForm id=id outcome=outcome.clone() /> }.into_any()
    } else {
        let refused = outcome.error_for(l, "contact");
        view! {
            <form method="post" action="/api/delete_contact" class="mt-6 border-t border-slate-100 pt-4">
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="version" value=version />
                <p class="text-sm text-slate-600">{tr(l, "Deleting is for a contact added by mistake: it goes with its notes and tasks, and its deals stay, unlinked. A contact with website visits or consent is erased by a member who may erase personal data. The deletion is audited.")}</p>
                {refused.map(|e| view! { <p class="mt-1 text-xs text-red-700" data-testid="error-contact">{e}</p> })}
                <button type="submit" class=format!("mt-2 {DANGER}")>{tr(l, "Delete contact")}</button>
            </form>
        }.into_any()
    };
    view! {
        <details class=PANEL open=!outcome.invalid.is_empty()>
            <summary class="cursor-pointer font-medium">{tr(l, "Edit contact")}</summary>
            <div class="mt-4"><ContactFormView c=c outcome=outcome.clone() /></div>
            {removal}
        </details>
        {export.map(|e| view! { <div class=format!("mt-4 {PANEL}")>{e}</div> })}
    }
    .into_any()
}

/// Whether the request's role may read contacts but neither write one nor
/// export a person's data: the roles [`contact_form_data`] answers with
/// the flags alone, for which [`ContactPanel`] renders nothing. Any other
/// case (no tenant, no read permission) takes the panel's ordinary path,
/// and its answer.
#[cfg(feature = "ssr")]
fn offered_nothing() -> bool {
    use metiva_roles::Permission;
    with_context::<http::request::Parts, _>(|p| {
        p.extensions.get::<metiva_db::TenantCtx>().is_some_and(|c| {
            c.can(Permission::PersonsRead)
                && !c.can(Permission::PersonsWrite)
                && !c.can(Permission::PrivacyExport)
        })
    })
    .unwrap_or(false)
}
