//! `/billing`: the workspace's retainers (with a create form), its
//! invoices with their status (draft, open, paid, failed, void), and the
//! Stripe connection (connect form; the secrets are never shown again).
//!
//! Reading needs `billing.read`, changing `billing.manage` (owner and
//! finance); the domain checks both again. Forms are plain HTML forms
//! posting to their server function, so they work without JavaScript: a
//! refusal comes back to `/billing?invalid=field:code,…` (codes only).

#![allow(
    clippy::too_many_arguments,
    reason = "a server function takes one argument per form field, as the browser posts them"
)]

use crate::error::AppError;
use crate::i18n::{Lang, tr};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

const PANEL: &str = "rounded-lg border border-slate-200 bg-white p-6 shadow-sm";
const TH: &str = "px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
const TD: &str = "px-3 py-2 align-top";
const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500";
const LABEL: &str = "block text-sm font-medium text-slate-700";
const PRIMARY: &str = "rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetainerDto {
    pub organisation: String,
    pub description: String,
    /// Formatted for the reader's language.
    pub amount: String,
    /// `21%`, `9%`, `0%` or the reverse-charge note.
    pub vat: String,
    pub reverse_charge: bool,
    pub starts_on: String,
    pub ends_on: String,
    pub billing_day: i16,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InvoiceDto {
    pub number: String,
    pub organisation: String,
    pub period: String,
    pub issued_on: String,
    pub total: String,
    /// draft, open, paid, failed or void.
    pub status: String,
    pub reverse_charge: bool,
    /// The PDF's download path, once rendered; empty before.
    pub pdf: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BillingDto {
    pub retainers: Vec<RetainerDto>,
    pub invoices: Vec<InvoiceDto>,
    /// (id, name) of the workspace's organisations, for the form.
    pub organisations: Vec<(String, String)>,
    /// `rk_test_…abcd`, the webhook path and the pinned API version, when
    /// connected; never the secrets.
    pub stripe: Option<(String, String, String)>,
    pub can_manage: bool,
}

#[cfg(feature = "ssr")]
fn billing_refusal(e: metiva_db::billing::BillingError) -> AppError {
    use metiva_db::billing::BillingError as E;
    let l = crate::i18n::current();
    match e {
        E::Forbidden => AppError::forbidden(tr(l, "Your role may not change billing.")),
        E::NotFound => AppError::not_found(tr(l, "Not found.")),
        E::NotConnected => AppError::conflict(tr(l, "Connect Stripe first.")),
        E::Db(db) => crate::api::ssr::db_failure(db),
        E::Invalid(fields) => crate::form_refusal::ssr::refused(&fields, "/billing", code_text),
    }
}

/// The message for a refused field's code.
pub fn code_text(code: &str) -> &'static str {
    match code {
        "required" => "This field is required.",
        "unknown" => "Choose one from the list.",
        "invalid" => "This value is not valid.",
        "domestic" => {
            "Reverse charge is for a business in another EU country, not a Dutch VAT number."
        }
        "before_start" => "The end lies before the start.",
        "too_long" => "This is too long.",
        "not_restricted" => "Use a restricted key (rk_…), not a secret key.",
        _ => "This value is not valid.",
    }
}

#[server(endpoint = "billing_overview")]
pub async fn billing_overview() -> Result<BillingDto, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    use metiva_db::billing::money::cents_display;
    let ctx = require(metiva_roles::Permission::BillingRead)?;
    let l = crate::i18n::current();
    let nl = l == Lang::Nl;
    let db = database()?;
    let retainers = db
        .retainer_list(&ctx)
        .await
        .map_err(billing_refusal)?
        .into_iter()
        .map(|r| RetainerDto {
            organisation: r.organisation,
            description: r.retainer.description,
            amount: cents_display(r.retainer.monthly_cents, nl),
            vat: if r.retainer.reverse_charge {
                tr(l, "VAT reverse-charged").to_string()
            } else {
                format!("{}%", r.retainer.vat_rate)
            },
            reverse_charge: r.retainer.reverse_charge,
            starts_on: r.retainer.starts_on.to_string(),
            ends_on: r
                .retainer
                .ends_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            billing_day: r.retainer.billing_day,
        })
        .collect();
    let invoices = db
        .invoice_list(&ctx)
        .await
        .map_err(billing_refusal)?
        .into_iter()
        .map(|r| InvoiceDto {
            number: r.invoice.number(),
            organisation: r.organisation,
            period: r.invoice.period.clone().unwrap_or_default(),
            issued_on: r.invoice.issued_on.to_string(),
            total: cents_display(r.invoice.total_cents, nl),
            status: r.invoice.status,
            reverse_charge: r.invoice.reverse_charge,
            pdf: if r.has_pdf {
                format!("/billing/invoices/{}/pdf", r.invoice.id)
            } else {
                String::new()
            },
        })
        .collect();
    let (_, orgs) = db.crm_choices(&ctx).await.map_err(db_failure)?;
    let stripe = db
        .stripe_connection(&ctx)
        .await
        .map_err(billing_refusal)?
        .map(|c| {
            (
                c.api_key_hint,
                format!("/webhooks/stripe/{}", c.endpoint_id),
                c.api_version,
            )
        });
    Ok(BillingDto {
        retainers,
        invoices,
        organisations: orgs
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect(),
        stripe,
        can_manage: ctx.can(metiva_roles::Permission::BillingManage),
    })
}

#[server(endpoint = "create_retainer")]
pub async fn create_retainer(
    organisation: String,
    description: String,
    amount: String,
    vat: String,
    customer_vat: Option<String>,
    starts_on: String,
    ends_on: Option<String>,
    billing_day: String,
) -> Result<String, AppError> {
    use crate::api::ssr::{database, request_id, require};
    use metiva_db::billing::retainers::RetainerForm;
    let ctx = require(metiva_roles::Permission::BillingManage)?;
    let form = RetainerForm {
        organisation: &organisation,
        description: &description,
        amount: &amount,
        vat: &vat,
        customer_vat: customer_vat.as_deref(),
        starts_on: &starts_on,
        ends_on: ends_on.as_deref(),
        billing_day: &billing_day,
    };
    let id = database()?
        .create_retainer(&ctx, &form, &request_id())
        .await
        .map_err(billing_refusal)?;
    if crate::member_forms::ssr::plain_form() {
        leptos_axum::redirect("/billing?done=saved");
    }
    Ok(id.to_string())
}

#[server(endpoint = "connect_stripe")]
pub async fn connect_stripe(api_key: String, webhook_secret: String) -> Result<String, AppError> {
    use crate::api::ssr::{database, request_id, require};
    use metiva_db::billing::connection::ConnectForm;
    let ctx = require(metiva_roles::Permission::BillingManage)?;
    let keys = use_context::<crate::FieldKeys>()
        .ok_or_else(|| AppError::internal_here(&"the field keys are not in context"))?;
    let form = ConnectForm {
        api_key: &api_key,
        webhook_secret: &webhook_secret,
    };
    let summary = database()?
        .connect_stripe(&ctx, &keys.0, &form, &request_id())
        .await
        .map_err(billing_refusal)?;
    if crate::member_forms::ssr::plain_form() {
        leptos_axum::redirect("/billing?done=connected");
    }
    Ok(summary.api_key_hint)
}

fn status_text(l: Lang, s: &str) -> &'static str {
    match s {
        "draft" => tr(l, "Draft"),
        "open" => tr(l, "Open"),
        "paid" => tr(l, "Paid"),
        "failed" => tr(l, "Payment failed"),
        "void" => tr(l, "Void"),
        _ => "—",
    }
}

#[component]
fn Input(
    name: &'static str,
    label: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] kind: &'static str,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let l = crate::i18n::current();
    let id = format!("b-{name}");
    let kind = if kind.is_empty() { "text" } else { kind };
    view! {
        <div>
            <label class=LABEL for=id.clone()>{tr(l, label)}</label>
            <input class=INPUT id=id name=name type=kind required=required placeholder=hint autocomplete="off" />
        </div>
    }
}

#[component]
fn RetainerForm(organisations: Vec<(String, String)>) -> impl IntoView {
    let l = crate::i18n::current();
    let orgs = organisations
        .into_iter()
        .map(|(id, name)| view! { <option value=id>{name}</option> })
        .collect_view();
    view! {
        <form method="post" action="/api/create_retainer" class="grid gap-4 sm:grid-cols-2" data-testid="retainer-form">
            <div>
                <label class=LABEL for="b-organisation">{tr(l, "Organisation")}</label>
                <select class=INPUT id="b-organisation" name="organisation" required=true>{orgs}</select>
            </div>
            <Input name="description" label="Description" required=true />
            <Input name="amount" label="Monthly amount (euro, excl. VAT)" hint="1.250,00" required=true />
            <div>
                <label class=LABEL for="b-vat">{tr(l, "VAT")}</label>
                <select class=INPUT id="b-vat" name="vat">
                    <option value="21">"21%"</option>
                    <option value="9">"9%"</option>
                    <option value="0">"0%"</option>
                    <option value="reverse_charge">{tr(l, "0%, reverse-charged (EU business)")}</option>
                </select>
            </div>
            <Input name="customer_vat" label="Customer's EU VAT number" hint="DE123456789" />
            <Input name="starts_on" label="Start" kind="date" required=true />
            <Input name="ends_on" label="End (optional)" kind="date" />
            <Input name="billing_day" label="Billing day (1–28)" kind="number" required=true />
            <div class="sm:col-span-2"><button type="submit" class=PRIMARY>{tr(l, "Add retainer")}</button></div>
        </form>
    }
}

#[component]
pub fn BillingPage() -> impl IntoView {
    let l = crate::i18n::current();
    let q = leptos_router::hooks::use_query_map().read_untracked();
    let done = q.get("done");
    let invalid = q
        .get("invalid")
        .map(|v| crate::form_refusal::parse_invalid(&v))
        .unwrap_or_default();
    let data = Resource::new(|| (), crate::api::boxed(|_| billing_overview()));
    let banner = match (done.as_deref(), invalid.is_empty()) {
        (Some("saved"), _) => Some(view! { <p role="status" class="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">{tr(l, "Saved.")}</p> }.into_any()),
        (Some("connected"), _) => Some(view! { <p role="status" class="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">{tr(l, "Stripe is connected. The key and the signing secret are stored encrypted and are not shown again.")}</p> }.into_any()),
        (_, false) => {
            let items = invalid.into_iter().map(|(f, c)| view! { <li>{f}": "{tr(l, code_text(&c))}</li> }).collect_view();
            Some(view! { <div role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="form-refused"><p>{tr(l, "Nothing was saved. Correct the fields marked below.")}</p><ul>{items}</ul></div> }.into_any())
        }
        _ => None,
    };
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Billing")}</h1>
            {banner}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(d) => billing_view(l, d).into_any(),
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

fn billing_view(l: Lang, d: BillingDto) -> impl IntoView {
    let retainers = d
        .retainers
        .into_iter()
        .map(|r| {
            view! {
                <tr class="border-t border-slate-100" data-testid="retainer-row">
                    <td class=TD>{r.organisation}</td>
                    <td class=TD>{r.description}</td>
                    <td class=TD>{r.amount}</td>
                    <td class=TD>{r.vat}</td>
                    <td class=TD>{r.starts_on}" – "{r.ends_on}</td>
                    <td class=TD>{r.billing_day}</td>
                </tr>
            }
        })
        .collect_view();
    let invoices = d.invoices.into_iter().map(|i| {
        let status = i.status.clone();
        view! {
            <tr class="border-t border-slate-100" data-testid="invoice-row" data-status=status>
                <td class=format!("{TD} font-mono")>{i.number}</td>
                <td class=TD>{i.organisation}</td>
                <td class=TD>{i.period}</td>
                <td class=TD>{i.issued_on}</td>
                <td class=TD>{i.total}{i.reverse_charge.then(|| view! { <span class="block text-xs text-slate-500">{tr(l, "VAT reverse-charged")}</span> })}</td>
                <td class=TD>{status_text(l, &i.status)}</td>
                <td class=TD>{(!i.pdf.is_empty()).then(|| view! {
                    <a href=i.pdf.clone() download="" class="text-indigo-700 hover:underline" data-testid="invoice-pdf">{tr(l, "PDF")}</a>
                })}</td>
            </tr>
        }
    }).collect_view();
    let stripe = match d.stripe {
        Some((hint, path, version)) => view! {
            <p class="text-sm" data-testid="stripe-connected">{tr(l, "Connected with key")}" "<span class="font-mono">{hint}</span>" · "{tr(l, "API version")}" "<span class="font-mono">{version}</span></p>
            <p class="mt-1 text-sm">{tr(l, "Webhook endpoint")}": "<span class="font-mono">{path}</span></p>
        }.into_any(),
        None => view! { <p class="text-sm">{tr(l, "Stripe is not connected.")}</p> }.into_any(),
    };
    let manage = d.can_manage;
    let connect = manage.then(|| view! {
        <form method="post" action="/api/connect_stripe" class="mt-4 grid gap-4 sm:grid-cols-2" data-testid="stripe-form">
            <Input name="api_key" label="Restricted API key" hint="rk_live_…" kind="password" required=true />
            <Input name="webhook_secret" label="Webhook signing secret" hint="whsec_…" kind="password" required=true />
            <div class="sm:col-span-2"><button type="submit" class=PRIMARY>{tr(l, "Connect Stripe")}</button></div>
        </form>
    });
    let form = manage.then(|| {
        view! {
            <details class=PANEL>
                <summary class="cursor-pointer font-medium">{tr(l, "New retainer")}</summary>
                <div class="mt-4"><RetainerForm organisations=d.organisations.clone() /></div>
            </details>
        }
    });
    view! {
        {form}
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Retainers")}</h2>
            <div class="overflow-x-auto"><table class="min-w-full text-sm">
                <thead><tr>
                    <th class=TH>{tr(l, "Organisation")}</th>
                    <th class=TH>{tr(l, "Description")}</th>
                    <th class=TH>{tr(l, "Per month")}</th>
                    <th class=TH>{tr(l, "VAT")}</th>
                    <th class=TH>{tr(l, "Period")}</th>
                    <th class=TH>{tr(l, "Billing day")}</th>
                </tr></thead>
                <tbody>{retainers}</tbody>
            </table></div>
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Invoices")}</h2>
            <div class="overflow-x-auto"><table class="min-w-full text-sm">
                <thead><tr>
                    <th class=TH>{tr(l, "Number")}</th>
                    <th class=TH>{tr(l, "Organisation")}</th>
                    <th class=TH>{tr(l, "Month")}</th>
                    <th class=TH>{tr(l, "Issued")}</th>
                    <th class=TH>{tr(l, "Total")}</th>
                    <th class=TH>{tr(l, "Status")}</th>
                    <th class=TH>{tr(l, "Invoice PDF")}</th>
                </tr></thead>
                <tbody>{invoices}</tbody>
            </table></div>
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{"Stripe"}</h2>
            {stripe}
            {connect}
        </div>
    }
}
