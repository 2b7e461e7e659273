//! `/organisations` and `/organisations/{id}`: the list with a create
//! form, and one organisation with its contacts, edit and delete.

#![allow(
    clippy::too_many_arguments,
    reason = "a server function takes one argument per form field, as the browser posts them"
)]

use super::*;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrganisationDto {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub kvk: String,
    pub vat: String,
    pub address: String,
    pub owner: String,
    pub owner_name: String,
    pub notes: String,
    pub version: i32,
    pub contacts: i64,
    pub updated: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrganisationsDto {
    pub rows: Vec<OrganisationDto>,
    pub choices: Choices,
    pub can_write: bool,
    /// The role may import organisations from CSV (`crm.import`).
    pub can_import: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrganisationPageDto {
    pub org: OrganisationDto,
    /// (id, name, email)
    pub contacts: Vec<(String, String, String)>,
    pub choices: Choices,
    pub can_write: bool,
}

#[cfg(feature = "ssr")]
fn dto(
    o: metiva_db::crm::organisations::Organisation,
    contacts: i64,
    members: &[Choice],
) -> OrganisationDto {
    let owner = o.owner_user_id.map(|u| u.to_string()).unwrap_or_default();
    let owner_name = members
        .iter()
        .find(|(id, _)| *id == owner)
        .map(|(_, n)| n.clone())
        .unwrap_or_default();
    OrganisationDto {
        id: o.id.to_string(),
        name: o.name,
        domain: o.domain.unwrap_or_default(),
        kvk: o.kvk.unwrap_or_default(),
        vat: o.vat.unwrap_or_default(),
        address: o.address.unwrap_or_default(),
        owner,
        owner_name,
        notes: o.notes.unwrap_or_default(),
        version: o.version,
        contacts,
        updated: o.updated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

#[server(endpoint = "organisations")]
pub async fn organisations() -> Result<OrganisationsDto, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    let ctx = require(metiva_roles::Permission::PersonsRead)?;
    let choices = choices(&ctx).await?;
    let rows = database()?
        .organisation_list(&ctx)
        .await
        .map_err(db_failure)?
        .into_iter()
        .map(|s| dto(s.organisation, s.contacts, &choices.members))
        .collect();
    Ok(OrganisationsDto {
        rows,
        choices,
        can_write: ctx.can(metiva_roles::Permission::PersonsWrite),
        can_import: ctx.can(metiva_roles::Permission::CrmImport),
    })
}

#[server(endpoint = "organisation_page")]
pub async fn organisation_page(id: String) -> Result<Option<OrganisationPageDto>, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    let ctx = require(metiva_roles::Permission::PersonsRead)?;
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Ok(None);
    };
    let Some((o, contacts)) = database()?
        .organisation_record(&ctx, id)
        .await
        .map_err(db_failure)?
    else {
        return Ok(None);
    };
    let choices = choices(&ctx).await?;
    let n = i64::try_from(contacts.len()).unwrap_or(i64::MAX);
    Ok(Some(OrganisationPageDto {
        org: dto(o, n, &choices.members),
        contacts: contacts
            .into_iter()
            .map(|c| (c.id.to_string(), c.name, c.email.unwrap_or_default()))
            .collect(),
        choices,
        can_write: ctx.can(metiva_roles::Permission::PersonsWrite),
    }))
}

/// Creates (no `id`) or edits (with the `version` it was read at) an
/// organisation; returns its id.
#[server(endpoint = "save_organisation")]
pub async fn save_organisation(
    id: Option<String>,
    version: Option<i32>,
    name: String,
    domain: Option<String>,
    kvk: Option<String>,
    vat: Option<String>,
    address: Option<String>,
    owner: Option<String>,
    notes: Option<String>,
) -> Result<String, AppError> {
    use super::ssr::{done, parse_id, refuse};
    use crate::api::ssr::{database, request_id, require};
    use metiva_db::crm::CrmError;
    use metiva_db::crm::organisations::OrganisationForm;
    let ctx = require(metiva_roles::Permission::PersonsWrite)?;
    let id = id
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_id(&s))
        .transpose()?;
    let back = id.map_or_else(
        || "/organisations".to_string(),
        |i| format!("/organisations/{i}"),
    );
    let form = OrganisationForm {
        name: &name,
        domain: domain.as_deref(),
        kvk: kvk.as_deref(),
        vat: vat.as_deref(),
        address: address.as_deref(),
        owner: owner.as_deref(),
        notes: notes.as_deref(),
    };
    let fields = form
        .validate()
        .map_err(|f| refuse(CrmError::Invalid(f), &back))?;
    let db = database()?;
    let saved = match (id, version) {
        (Some(id), Some(v)) => db
            .update_organisation(&ctx, id, v, &fields)
            .await
            .map(|_| id),
        (Some(_), None) => Err(CrmError::Stale),
        (None, _) => db.create_organisation(&ctx, &fields, &request_id()).await,
    }
    .map_err(|e| refuse(e, &back))?;
    done(&format!("/organisations/{saved}?done=saved"));
    Ok(saved.to_string())
}

#[server(endpoint = "delete_organisation")]
pub async fn delete_organisation(id: String, version: i32) -> Result<(), AppError> {
    use super::ssr::{done, parse_id, refuse};
    use crate::api::ssr::{database, request_id, require};
    let ctx = require(metiva_roles::Permission::PersonsWrite)?;
    let id = parse_id(&id)?;
    database()?
        .delete_organisation(&ctx, id, version, &request_id())
        .await
        .map_err(|e| refuse(e, &format!("/organisations/{id}")))?;
    done("/organisations?done=deleted");
    Ok(())
}

/// The create/edit form. `org` is empty for a new one.
#[component]
fn OrganisationFormView(
    org: OrganisationDto,
    members: Vec<Choice>,
    outcome: Outcome,
) -> impl IntoView {
    let l = crate::i18n::current();
    let e = |f: &str| outcome.error_for(l, f);
    let editing = !org.id.is_empty();
    view! {
        <form method="post" action="/api/save_organisation" class="grid gap-4 sm:grid-cols-2" data-testid="organisation-form">
            {editing.then(|| view! {
                <input type="hidden" name="id" value=org.id.clone() />
                <input type="hidden" name="version" value=org.version.to_string() />
            })}
            <Field name="name" label="Name" value=org.name required=true error=e("name") />
            <Field name="domain" label="Website domain" value=org.domain hint="example.nl" error=e("domain") />
            <Field name="kvk" label="KvK number" value=org.kvk hint="8 digits" error=e("kvk") />
            <Field name="vat" label="VAT number" value=org.vat hint="NL123456789B01" error=e("vat") />
            <Field name="address" label="Address" value=org.address error=e("address") />
            <Select name="owner" label="Owner" choices=members selected=org.owner error=e("owner") />
            <Notes value=org.notes error=e("notes") />
            <div class="sm:col-span-2">
                <button type="submit" class=PRIMARY>{tr(l, if editing { "Save changes" } else { "Add organisation" })}</button>
            </div>
        </form>
    }
    .into_any()
}

#[component]
pub fn OrganisationsPage() -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let data = Resource::new(|| (), crate::api::boxed(|_| organisations()));
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Organisations")}</h1>
            {banner(l, &outcome)}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(d) => {
                        let open = !outcome.invalid.is_empty();
                        let import = d.can_import.then(|| view! {
                            <p class="text-sm"><a class=LINK href="/import?kind=organisations" data-testid="import-link">{tr(l, "Import organisations (CSV)")}</a></p>
                        });
                        let form = d.can_write.then(|| view! {
                            <details class=PANEL open=open>
                                <summary class="cursor-pointer font-medium">{tr(l, "New organisation")}</summary>
                                <div class="mt-4">
                                    <OrganisationFormView org=OrganisationDto::default() members=d.choices.members.clone() outcome=outcome.clone() />
                                </div>
                            </details>
                        });
                        let rows = d.rows.into_iter().map(|o| view! {
                            <tr class="border-t border-slate-100" data-testid="organisation-row">
                                <td class=TD><a class=LINK href=format!("/organisations/{}", o.id)>{o.name}</a></td>
                                <td class=format!("{TD} text-xs")>{o.domain}</td>
                                <td class=TD>{o.kvk}</td>
                                <td class=TD>{o.owner_name}</td>
                                <td class=TD>{o.contacts}</td>
                                <td class=format!("{TD} text-xs text-slate-600")>{o.updated}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            {import}
                            {form}
                            <div class=PANEL><div class="overflow-x-auto"><table class="min-w-full text-sm">
                                <thead><tr>
                                    <th class=TH>{tr(l, "Name")}</th>
                                    <th class=TH>{tr(l, "Website domain")}</th>
                                    <th class=TH>{tr(l, "KvK number")}</th>
                                    <th class=TH>{tr(l, "Owner")}</th>
                                    <th class=TH>{tr(l, "Contacts")}</th>
                                    <th class=TH>{tr(l, "Updated")}</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table></div></div>
                        }.into_any()
                    }
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn OrganisationPage() -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let id = leptos_router::hooks::use_params_map()
        .read_untracked()
        .get("id")
        .unwrap_or_default();
    let work_id = id.clone();
    let files_id = id.clone();
    let data = Resource::new(move || id.clone(), crate::api::boxed(organisation_page));
    view! {
        <section class="space-y-6">
            <a class=LINK href="/organisations">{tr(l, "← Organisations")}</a>
            {banner(l, &outcome)}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(Some(p)) => {
                        let contacts = p.contacts.into_iter().map(|(id, name, email)| view! {
                            <li><a class=LINK href=format!("/persons/{id}")>{name}</a>" "<span class="text-xs text-slate-500">{email}</span></li>
                        }).collect_view();
                        let org = p.org;
                        let edit = p.can_write.then(|| view! {
                            <div class=PANEL>
                                <h2 class="text-lg font-semibold">{tr(l, "Edit")}</h2>
                                <div class="mt-4"><OrganisationFormView org=org.clone() members=p.choices.members.clone() outcome=outcome.clone() /></div>
                                <form method="post" action="/api/delete_organisation" class="mt-6 border-t border-slate-100 pt-4">
                                    <input type="hidden" name="id" value=org.id.clone() />
                                    <input type="hidden" name="version" value=org.version.to_string() />
                                    <p class="text-sm text-slate-600">{tr(l, "Deleting keeps its contacts; they are no longer linked to it.")}</p>
                                    <button type="submit" class=format!("mt-2 {DANGER}")>{tr(l, "Delete organisation")}</button>
                                </form>
                            </div>
                        });
                        view! {
                            <div class=PANEL>
                                <h1 class="text-2xl font-semibold tracking-tight" data-testid="organisation-name">{org.name.clone()}</h1>
                                <dl class="mt-3 grid gap-2 text-sm sm:grid-cols-2">
                                    <div><dt class="text-slate-500">{tr(l, "Website domain")}</dt><dd>{org.domain.clone()}</dd></div>
                                    <div><dt class="text-slate-500">{tr(l, "KvK number")}</dt><dd data-testid="organisation-kvk">{org.kvk.clone()}</dd></div>
                                    <div><dt class="text-slate-500">{tr(l, "VAT number")}</dt><dd>{org.vat.clone()}</dd></div>
                                    <div><dt class="text-slate-500">{tr(l, "Owner")}</dt><dd>{org.owner_name.clone()}</dd></div>
                                    <div class="sm:col-span-2"><dt class="text-slate-500">{tr(l, "Address")}</dt><dd>{org.address.clone()}</dd></div>
                                    <div class="sm:col-span-2"><dt class="text-slate-500">{tr(l, "Notes")}</dt><dd class="whitespace-pre-wrap">{org.notes.clone()}</dd></div>
                                </dl>
                            </div>
                            <div class=PANEL>
                                <h2 class="text-lg font-semibold">{tr(l, "Contacts")}</h2>
                                <ul class="mt-2 space-y-1 text-sm">{contacts}</ul>
                            </div>
                            {edit}
                        }.into_any()
                    }
                    Ok(None) => view! {
                        <crate::error::ErrorView error=AppError::not_found(tr(l, "No such organisation in this workspace.")) />
                    }.into_any(),
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
            <crate::crm::FilesPanel kind="organisation" id=files_id />
            <crate::crm::RecordWork kind="organisation" id=work_id />
        </section>
    }
}
