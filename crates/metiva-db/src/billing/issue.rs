//! Issuing one invoice through Stripe: customer, invoice, items,
//! finalise, send; then the local invoice becomes `open`.
//!
//! Runs inside the issuing job's transaction (`TenantConn`). Every
//! creating call carries an idempotency key derived from (company,
//! invoice id, step), so at-least-once delivery never duplicates at
//! Stripe: when the job is retried after Stripe was down, or after a
//! crash between "created at Stripe" and "stored locally" (its
//! transaction rolled back), the same keys return the objects created
//! the first time, and the retry adopts them.
//!
//! VAT is sent as its own item per rate, in the amounts Metiva computed
//! (rounded per line), so Stripe's total equals the local invoice's.
//!
//! Limit: Stripe keeps idempotency keys for 24 hours; a retry after that
//! would create anew. The job's backoff is capped at one hour, and the
//! job goes dead well within a day.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use metiva_security::cipher::KeyRing;
use uuid::Uuid;

use super::invoices::{InvoiceStatus, invoice_with_lines};
use super::stripe_client::{StripeClient, StripeError, object_id};
use crate::schema::{invoice_stripe, invoices, organisations as orgs};
use crate::{DbError, TenantConn};

/// Why issuing failed.
#[derive(Debug)]
pub enum IssueError {
    Stripe(StripeError),
    /// No Stripe connection in this workspace.
    NotConnected,
    Db(DbError),
}

impl From<DbError> for IssueError {
    fn from(e: DbError) -> Self {
        IssueError::Db(e)
    }
}

impl From<diesel::result::Error> for IssueError {
    fn from(e: diesel::result::Error) -> Self {
        IssueError::Db(DbError::from(e))
    }
}

impl From<StripeError> for IssueError {
    fn from(e: StripeError) -> Self {
        IssueError::Stripe(e)
    }
}

impl std::fmt::Display for IssueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssueError::Stripe(e) => write!(f, "{e}"),
            IssueError::NotConnected => f.write_str("stripe_not_connected"),
            IssueError::Db(e) => write!(f, "{e}"),
        }
    }
}

/// What issuing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    /// Sent; the Stripe invoice id.
    Sent(String),
    /// Not a draft any more (issued before, or voided): nothing to do.
    AlreadyDone,
    NotFound,
}

/// The idempotency key of one step of issuing one invoice.
pub fn idempotency_key(company: &str, invoice: Uuid, step: &str) -> String {
    format!("metiva:{company}:invoice:{invoice}:{step}")
}

/// Issues draft invoice `id` of the bound workspace through Stripe, in
/// the caller's transaction. Idempotent (see the module docs).
pub async fn issue_invoice(
    tc: &mut TenantConn<'_>,
    stripe: &StripeClient,
    keys: &KeyRing,
    id: Uuid,
) -> Result<Issued, IssueError> {
    let company = tc.company().as_str().to_string();
    let Some((inv, lines)) = invoice_with_lines(tc, id).await? else {
        return Ok(Issued::NotFound);
    };
    if inv.status != InvoiceStatus::Draft.key() {
        return Ok(Issued::AlreadyDone);
    }
    let Some(secrets) = super::connection::secrets(tc, keys).await? else {
        return Err(IssueError::NotConnected);
    };
    let key = secrets.api_key.as_str();
    let idem = |step: &str| idempotency_key(&company, id, step);
    let org_name: String = orgs::table
        .filter(orgs::company_id.eq(&company))
        .filter(orgs::id.eq(inv.organisation_id))
        .select(orgs::name)
        .first(tc.conn())
        .await?;
    // One Stripe customer per organisation: reuse the one an earlier
    // invoice of this organisation got.
    let known_customer: Option<String> = invoice_stripe::table
        .filter(invoice_stripe::company_id.eq(&company))
        .filter(invoice_stripe::organisation_id.eq(inv.organisation_id))
        .select(invoice_stripe::stripe_customer_id)
        .first(tc.conn())
        .await
        .optional()?;
    let customer = match known_customer {
        Some(c) => c,
        None => {
            let mut form = vec![
                ("name", org_name),
                ("metadata[metiva_company]", company.clone()),
                (
                    "metadata[metiva_organisation]",
                    inv.organisation_id.to_string(),
                ),
            ];
            if let Some(vat) = &inv.customer_vat {
                form.push(("tax_id_data[0][type]", "eu_vat".into()));
                form.push(("tax_id_data[0][value]", vat.clone()));
            }
            object_id(
                &stripe
                    .post(key, "/v1/customers", &form, &idem("customer"))
                    .await?,
            )?
        }
    };
    let mut form = vec![
        ("customer", customer.clone()),
        ("collection_method", "send_invoice".into()),
        (
            "days_until_due",
            super::invoices::PAYMENT_TERM_DAYS.to_string(),
        ),
        ("auto_advance", "false".into()),
        ("pending_invoice_items_behavior", "exclude".into()),
        ("currency", "eur".into()),
        // Stripe's number is Metiva's gapless one.
        ("number", inv.number()),
        ("metadata[metiva_company]", company.clone()),
        ("metadata[metiva_invoice]", id.to_string()),
    ];
    if inv.reverse_charge {
        form.push(("footer", super::invoices::REVERSE_CHARGE_NOTE_EN.into()));
    }
    let stripe_invoice = object_id(
        &stripe
            .post(key, "/v1/invoices", &form, &idem("invoice"))
            .await?,
    )?;
    for l in &lines {
        let item = [
            ("customer", customer.clone()),
            ("invoice", stripe_invoice.clone()),
            ("currency", "eur".into()),
            ("amount", l.net_cents.to_string()),
            ("description", l.description.clone()),
        ];
        stripe
            .post(
                key,
                "/v1/invoiceitems",
                &item,
                &idem(&format!("item-{}", l.line_no)),
            )
            .await?;
        if l.vat_cents != 0 {
            let vat = [
                ("customer", customer.clone()),
                ("invoice", stripe_invoice.clone()),
                ("currency", "eur".into()),
                ("amount", l.vat_cents.to_string()),
                ("description", format!("BTW / VAT {}%", l.vat_rate)),
            ];
            stripe
                .post(
                    key,
                    "/v1/invoiceitems",
                    &vat,
                    &idem(&format!("vat-{}", l.line_no)),
                )
                .await?;
        }
    }
    let path = format!("/v1/invoices/{stripe_invoice}/finalize");
    stripe.post(key, &path, &[], &idem("finalize")).await?;
    let path = format!("/v1/invoices/{stripe_invoice}/send");
    stripe.post(key, &path, &[], &idem("send")).await?;
    diesel::update(invoices::table)
        .filter(invoices::company_id.eq(&company))
        .filter(invoices::id.eq(id))
        .filter(invoices::status.eq(InvoiceStatus::Draft.key()))
        .set((
            invoices::status.eq(InvoiceStatus::Open.key()),
            invoices::updated_at.eq(diesel::dsl::now),
        ))
        .execute(tc.conn())
        .await?;
    diesel::insert_into(invoice_stripe::table)
        .values((
            invoice_stripe::company_id.eq(&company),
            invoice_stripe::invoice_id.eq(id),
            invoice_stripe::stripe_customer_id.eq(&customer),
            invoice_stripe::stripe_invoice_id.eq(&stripe_invoice),
            invoice_stripe::organisation_id.eq(inv.organisation_id),
        ))
        .execute(tc.conn())
        .await?;
    Ok(Issued::Sent(stripe_invoice))
}
