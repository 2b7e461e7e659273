//! `/settings/branding`: what the workspace's invoice PDFs show as the
//! sender (issue 17): address, KvK number, VAT number and logo. Every
//! member reads it; owners change it with two plain forms: the text
//! fields post to `save_branding` (422 naming each bad field), the logo
//! posts as a file to `POST /api/files/branding/logo` (PNG or JPEG by
//! content, at most 512 KB; back here with `?logo=`).

use super::*;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BrandingDto {
    pub address: String,
    pub kvk: String,
    pub vat: String,
    pub has_logo: bool,
    pub can_manage: bool,
}

#[server(endpoint = "branding_settings")]
pub async fn branding_settings() -> Result<BrandingDto, AppError> {
    use crate::api::ssr::{database, db_failure, tenant};
    let ctx = tenant()?;
    let b = database()?.branding(&ctx).await.map_err(db_failure)?;
    Ok(BrandingDto {
        address: b.address.unwrap_or_default(),
        kvk: b.kvk.unwrap_or_default(),
        vat: b.vat.unwrap_or_default(),
        has_logo: b.logo_file_id.is_some(),
        can_manage: ctx.role() == metiva_roles::Role::Owner,
    })
}

/// Saves the sender's address, KvK and VAT number (owners). An empty
/// field clears it.
#[server(endpoint = "save_branding")]
pub async fn save_branding(address: String, kvk: String, vat: String) -> Result<(), AppError> {
    use super::ssr::{done, refuse};
    use crate::api::ssr::{database, db_failure, request_id, tenant};
    use metiva_db::branding::BrandingError;
    use metiva_db::crm::CrmError;
    let ctx = tenant()?;
    let back = "/settings/branding";
    let forbidden = || {
        AppError::forbidden(tr(
            crate::i18n::current(),
            "Only owners change the workspace's branding.",
        ))
    };
    if ctx.role() != metiva_roles::Role::Owner {
        return Err(forbidden());
    }
    match database()?
        .save_branding(&ctx, Some(&address), Some(&kvk), Some(&vat), &request_id())
        .await
    {
        Ok(()) => {}
        Err(BrandingError::Invalid(f)) => return Err(refuse(CrmError::Invalid(f), back)),
        Err(BrandingError::Forbidden) => return Err(forbidden()),
        Err(BrandingError::Db(e)) => return Err(db_failure(e)),
        Err(e @ BrandingError::Logo(_)) => return Err(AppError::internal_here(&e)),
    }
    done(&format!("{back}?done=saved"));
    Ok(())
}

/// The `?logo=` outcome of the last logo upload, worded.
fn logo_outcome(l: Lang, code: &str) -> Option<(bool, &'static str)> {
    Some(match code {
        "saved" => (true, tr(l, "Logo saved. New invoices show it.")),
        "too_large" => (
            false,
            tr(l, "A logo is at most 512 KB. Nothing was stored."),
        ),
        "type" => (
            false,
            tr(
                l,
                "A logo is a PNG or JPEG image, recognised by its content. Nothing was stored.",
            ),
        ),
        "unsupported" => (
            false,
            tr(
                l,
                "This image cannot be used: save it as an 8-bit PNG or a grey or RGB JPEG of at most 2000 pixels a side. Nothing was stored.",
            ),
        ),
        "forbidden" => (false, tr(l, "Only owners change the workspace's branding.")),
        "file" => (false, tr(l, "Choose a file to upload.")),
        _ => return None,
    })
}

#[component]
fn BrandingForms(d: BrandingDto, outcome: Outcome) -> impl IntoView {
    let l = crate::i18n::current();
    let field = |name: &'static str, label: &'static str, value: String, hint: &'static str| {
        let err = outcome.error_for(l, name);
        let id = format!("f-{name}");
        view! {
            <div>
                <label class=LABEL for=id.clone()>{tr(l, label)}</label>
                <input class=INPUT id=id name=name value=value aria-invalid=err.is_some().then_some("true") />
                <p class="mt-1 text-xs text-slate-500">{tr(l, hint)}</p>
                {err.map(|e| view! { <p class="mt-1 text-xs text-red-700" data-testid=format!("error-{name}")>{e}</p> })}
            </div>
        }
    };
    view! {
        <form method="post" action="/api/save_branding" class="mt-4 grid gap-4 sm:grid-cols-2" data-testid="branding-form">
            <div class="sm:col-span-2">{field("address", "Address", d.address.clone(), "As it should appear on invoices, on one line.")}</div>
            {field("kvk", "KvK number", d.kvk.clone(), "Eight digits.")}
            {field("vat", "VAT number", d.vat.clone(), "NL, nine digits, B and two digits (NL123456789B01).")}
            <div><button type="submit" class=PRIMARY>{tr(l, "Save branding")}</button></div>
        </form>
        <form method="post" enctype="multipart/form-data" action="/api/files/branding/logo"
              class="mt-6 grid gap-3 border-t border-slate-100 pt-4 sm:grid-cols-3 sm:items-end" data-testid="logo-form">
            <label class="sm:col-span-2 block text-sm font-medium text-slate-700">{tr(l, "Logo (PNG or JPEG, at most 512 KB)")}
                <input type="file" name="file" required=true class=INPUT accept="image/png,image/jpeg" />
            </label>
            <div><button type="submit" class=PRIMARY>{tr(l, "Upload logo")}</button></div>
        </form>
    }
}

#[component]
pub fn BrandingPage() -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = Outcome::from_query();
    let logo = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("logo")
        .and_then(|c| logo_outcome(l, &c));
    let data = Resource::new(|| (), crate::api::boxed(|_| branding_settings()));
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Invoice branding")}</h1>
            {banner(l, &outcome)}
            {logo.map(|(ok, text)| view! {
                <p role="status" data-testid="logo-outcome"
                   class={if ok { "rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900" } else { "rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900" }}>{text}</p>
            })}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(d) => {
                        let none = || tr(l, "not set");
                        let or_none = |s: &str| if s.is_empty() { none().to_string() } else { s.to_string() };
                        view! {
                            <div class=PANEL data-testid="branding">
                                <p class="text-sm text-slate-600">{tr(l, "New invoice PDFs show the workspace's name with these details as the sender. Issued invoices keep what they were rendered with.")}</p>
                                <dl class="mt-3 grid gap-2 text-sm sm:grid-cols-2">
                                    <div class="sm:col-span-2"><dt class="text-slate-500">{tr(l, "Address")}</dt><dd data-testid="branding-address">{or_none(&d.address)}</dd></div>
                                    <div><dt class="text-slate-500">{tr(l, "KvK number")}</dt><dd data-testid="branding-kvk">{or_none(&d.kvk)}</dd></div>
                                    <div><dt class="text-slate-500">{tr(l, "VAT number")}</dt><dd data-testid="branding-vat">{or_none(&d.vat)}</dd></div>
                                    <div><dt class="text-slate-500">{tr(l, "Logo")}</dt><dd data-testid="branding-logo">{if d.has_logo { tr(l, "saved") } else { none() }}</dd></div>
                                </dl>
                                {d.can_manage.then(|| view! { <BrandingForms d=d.clone() outcome=outcome.clone() /> })}
                            </div>
                        }.into_any()
                    }
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
