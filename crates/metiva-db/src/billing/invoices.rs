//! Invoices: gapless numbers per workspace and year, the daily retainer
//! run, and status changes from Stripe.
//!
//! # Numbering
//! Dutch invoicing rules want one unbroken sequence. The number is taken
//! in the invoice's own transaction from `invoice_counters`, whose row
//! for (company, year) is locked `FOR UPDATE` first: concurrent runs of
//! the same workspace queue on that lock, and a transaction that rolls
//! back gives its number back with everything else. So numbers are
//! gapless and unique (UNIQUE (company_id, year, seq) is the backstop).
//!
//! # At most once per period
//! Under the counter lock the run checks whether the retainer's period is
//! already invoiced (a fresh statement snapshot, so it sees the run that
//! held the lock before it); UNIQUE (company_id, retainer_id, period)
//! enforces the same in the database.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::BillingError;
use super::money::{InvoiceNumber, VatRate, totals};
use super::retainers::Retainer;
use crate::access::TenantCtx;
use crate::schema::{
    invoice_counters, invoice_lines, invoice_stripe, invoices, organisations as orgs, retainers,
};
use crate::{Database, DbError, TenantConn};

/// Days between issue and due date.
pub const PAYMENT_TERM_DAYS: u64 = 14;

/// The reverse-charge note printed on an invoice to an EU business.
pub const REVERSE_CHARGE_NOTE_EN: &str =
    "VAT reverse-charged: Article 196 of Council Directive 2006/112/EC.";
pub const REVERSE_CHARGE_NOTE_NL: &str = "Btw verlegd: artikel 196 van Richtlijn 2006/112/EG.";

/// An invoice's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    Draft,
    Open,
    Paid,
    Failed,
    Void,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 5] = [
        InvoiceStatus::Draft,
        InvoiceStatus::Open,
        InvoiceStatus::Paid,
        InvoiceStatus::Failed,
        InvoiceStatus::Void,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Open => "open",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Failed => "failed",
            InvoiceStatus::Void => "void",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        InvoiceStatus::ALL.into_iter().find(|v| v.key() == s)
    }
}

/// A retainer month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub year: i32,
    pub month: u32,
}

impl Period {
    pub fn of(d: NaiveDate) -> Self {
        Self {
            year: d.year(),
            month: d.month(),
        }
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// The day in this month the retainer bills (1..=28 always exists).
    pub fn billing_date(self, day: i16) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, u32::try_from(day).ok()?)
    }
}

/// The periods of `r` that are due on `today` and may be billed: this
/// month and the previous one (so a run missed across a month boundary
/// catches up), each only once its billing day has come, and only within
/// the retainer's start and end months. Older months are never billed
/// automatically.
pub fn due_periods(r: &Retainer, today: NaiveDate) -> Vec<Period> {
    let this = Period::of(today);
    let first = Period::of(r.starts_on);
    let last = r.ends_on.map(Period::of);
    [this.previous(), this]
        .into_iter()
        .filter(|p| *p >= first && last.is_none_or(|l| *p <= l))
        .filter(|p| p.billing_date(r.billing_day).is_some_and(|d| d <= today))
        .collect()
}

/// One invoice as listed.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = invoices, check_for_backend(diesel::pg::Pg))]
pub struct Invoice {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub retainer_id: Option<Uuid>,
    pub period: Option<String>,
    pub year: i32,
    pub seq: i32,
    pub status: String,
    pub issued_on: NaiveDate,
    pub due_on: NaiveDate,
    pub subtotal_cents: i64,
    pub vat_cents: i64,
    pub total_cents: i64,
    pub reverse_charge: bool,
    pub customer_vat: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Invoice {
    /// `2026-0001`.
    pub fn number(&self) -> String {
        InvoiceNumber {
            year: self.year,
            seq: self.seq,
        }
        .to_string()
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = invoice_lines, check_for_backend(diesel::pg::Pg))]
pub struct InvoiceLine {
    pub line_no: i16,
    pub description: String,
    pub quantity: i32,
    pub unit_cents: i64,
    pub vat_rate: i16,
    pub net_cents: i64,
    pub vat_cents: i64,
}

/// An invoice with its organisation's name, for the list.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceRow {
    pub invoice: Invoice,
    pub organisation: String,
    /// Whether its PDF has been rendered and stored.
    pub has_pdf: bool,
}

/// Locks this workspace's counter for `year` (creating it at 0) and
/// answers the last number used. Held until the transaction ends.
async fn lock_counter(tc: &mut TenantConn<'_>, year: i32) -> Result<i32, DbError> {
    let company = tc.company().as_str().to_string();
    diesel::insert_into(invoice_counters::table)
        .values((
            invoice_counters::company_id.eq(&company),
            invoice_counters::year.eq(year),
            invoice_counters::last_number.eq(0),
        ))
        .on_conflict_do_nothing()
        .execute(tc.conn())
        .await?;
    let last: i32 = invoice_counters::table
        .filter(invoice_counters::company_id.eq(&company))
        .filter(invoice_counters::year.eq(year))
        .select(invoice_counters::last_number)
        .for_update()
        .first(tc.conn())
        .await?;
    Ok(last)
}

/// Creates the invoice for one retainer period in the caller's
/// transaction, unless that period is invoiced already. Answers the new
/// invoice's id, or None when it existed.
pub async fn invoice_retainer_period(
    tc: &mut TenantConn<'_>,
    r: &Retainer,
    period: Period,
    today: NaiveDate,
) -> Result<Option<Uuid>, BillingError> {
    let company = tc.company().as_str().to_string();
    let year = today.year();
    let last = lock_counter(tc, year).await?;
    // Under the counter lock: a run that invoiced this period before us
    // has committed by now, and this fresh statement sees it.
    let exists: Option<Uuid> = invoices::table
        .filter(invoices::company_id.eq(&company))
        .filter(invoices::retainer_id.eq(r.id))
        .filter(invoices::period.eq(period.key()))
        .select(invoices::id)
        .first(tc.conn())
        .await
        .optional()?;
    if exists.is_some() {
        return Ok(None);
    }
    let seq = last + 1;
    if seq > 9999 {
        return Err(BillingError::Db(DbError::Internal(format!(
            "invoice numbers for {year} are exhausted"
        ))));
    }
    let rate = VatRate::from_percent(r.vat_rate)
        .ok_or_else(|| DbError::Internal(format!("retainer with VAT {}%", r.vat_rate)))?;
    let description = format!("{} ({})", r.description, period.key());
    let (lines, t) = totals(&[(1, r.monthly_cents, rate)])
        .ok_or_else(|| DbError::Internal("invoice amounts overflow".into()))?;
    let due_on = today
        .checked_add_days(Days::new(PAYMENT_TERM_DAYS))
        .ok_or_else(|| DbError::Internal("due date out of range".into()))?;
    let id: Uuid = diesel::insert_into(invoices::table)
        .values((
            invoices::company_id.eq(&company),
            invoices::organisation_id.eq(r.organisation_id),
            invoices::retainer_id.eq(r.id),
            invoices::period.eq(period.key()),
            invoices::year.eq(year),
            invoices::seq.eq(seq),
            invoices::issued_on.eq(today),
            invoices::due_on.eq(due_on),
            invoices::subtotal_cents.eq(t.subtotal_cents),
            invoices::vat_cents.eq(t.vat_cents),
            invoices::total_cents.eq(t.total_cents),
            invoices::reverse_charge.eq(r.reverse_charge),
            invoices::customer_vat.eq(&r.customer_vat),
        ))
        .returning(invoices::id)
        .get_result(tc.conn())
        .await?;
    for (i, l) in lines.iter().enumerate() {
        diesel::insert_into(invoice_lines::table)
            .values((
                invoice_lines::company_id.eq(&company),
                invoice_lines::invoice_id.eq(id),
                invoice_lines::line_no.eq(i16::try_from(i + 1).unwrap_or(i16::MAX)),
                invoice_lines::description.eq(&description),
                invoice_lines::quantity.eq(1),
                invoice_lines::unit_cents.eq(r.monthly_cents),
                invoice_lines::vat_rate.eq(rate.percent()),
                invoice_lines::net_cents.eq(l.net_cents),
                invoice_lines::vat_cents.eq(l.vat_cents),
            ))
            .execute(tc.conn())
            .await?;
    }
    diesel::update(invoice_counters::table)
        .filter(invoice_counters::company_id.eq(&company))
        .filter(invoice_counters::year.eq(year))
        .set(invoice_counters::last_number.eq(seq))
        .execute(tc.conn())
        .await?;
    Ok(Some(id))
}

/// The daily run for the bound workspace: one invoice per due retainer
/// period not yet invoiced, all in the caller's transaction. Answers the
/// new invoices' ids (the caller enqueues their issuing in the same
/// transaction).
pub async fn bill_due_retainers(
    tc: &mut TenantConn<'_>,
    today: NaiveDate,
) -> Result<Vec<Uuid>, BillingError> {
    let company = tc.company().as_str().to_string();
    let list: Vec<Retainer> = retainers::table
        .filter(retainers::company_id.eq(&company))
        .filter(retainers::starts_on.le(today))
        .order(retainers::id.asc())
        .select(Retainer::as_select())
        .load(tc.conn())
        .await?;
    let mut created = Vec::new();
    for r in &list {
        for p in due_periods(r, today) {
            if let Some(id) = invoice_retainer_period(tc, r, p, today).await? {
                created.push(id);
            }
        }
    }
    Ok(created)
}

/// Sets an invoice's status from a Stripe event, by its Stripe id, in
/// the caller's transaction. A paid or void invoice is final (a late
/// `payment_failed` does not reopen it). Answers whether it changed.
pub async fn set_status_from_stripe(
    tc: &mut TenantConn<'_>,
    stripe_invoice_id: &str,
    to: InvoiceStatus,
) -> Result<bool, DbError> {
    let company = tc.company().as_str().to_string();
    let local: Option<Uuid> = invoice_stripe::table
        .filter(invoice_stripe::company_id.eq(&company))
        .filter(invoice_stripe::stripe_invoice_id.eq(stripe_invoice_id))
        .select(invoice_stripe::invoice_id)
        .first(tc.conn())
        .await
        .optional()?;
    let Some(local) = local else { return Ok(false) };
    let final_states = [InvoiceStatus::Paid.key(), InvoiceStatus::Void.key()];
    let n = diesel::update(invoices::table)
        .filter(invoices::company_id.eq(&company))
        .filter(invoices::id.eq(local))
        .filter(invoices::status.ne_all(final_states))
        .set((
            invoices::status.eq(to.key()),
            invoices::updated_at.eq(diesel::dsl::now),
        ))
        .execute(tc.conn())
        .await?;
    Ok(n > 0)
}

/// One invoice and its lines, read in the caller's transaction.
pub async fn invoice_with_lines(
    tc: &mut TenantConn<'_>,
    id: Uuid,
) -> Result<Option<(Invoice, Vec<InvoiceLine>)>, DbError> {
    let company = tc.company().as_str().to_string();
    let Some(inv) = invoices::table
        .filter(invoices::company_id.eq(&company))
        .filter(invoices::id.eq(id))
        .select(Invoice::as_select())
        .first(tc.conn())
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let lines = invoice_lines::table
        .filter(invoice_lines::company_id.eq(&company))
        .filter(invoice_lines::invoice_id.eq(id))
        .order(invoice_lines::line_no.asc())
        .select(InvoiceLine::as_select())
        .load(tc.conn())
        .await?;
    Ok(Some((inv, lines)))
}

impl Database {
    /// The workspace's invoices, newest number first (needs
    /// `billing.read`).
    pub async fn invoice_list(&self, ctx: &TenantCtx) -> Result<Vec<InvoiceRow>, BillingError> {
        if !ctx.can(metiva_roles::Permission::BillingRead) {
            return Err(BillingError::Forbidden);
        }
        Ok(self
            .in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
                let company = tc.company().as_str().to_string();
                let rows: Vec<(Invoice, String)> = invoices::table
                    .inner_join(
                        orgs::table.on(orgs::company_id
                            .eq(invoices::company_id)
                            .and(orgs::id.eq(invoices::organisation_id))),
                    )
                    .filter(invoices::company_id.eq(&company))
                    .order((invoices::year.desc(), invoices::seq.desc()))
                    .limit(500)
                    .select((Invoice::as_select(), orgs::name))
                    .load(tc.conn())
                    .await?;
                let ids: Vec<Uuid> = rows.iter().map(|(i, _)| i.id).collect();
                let with_pdf: std::collections::HashSet<Uuid> = crate::schema::stored_files::table
                    .filter(crate::schema::stored_files::company_id.eq(&company))
                    .filter(crate::schema::stored_files::purpose.eq("invoice_pdf"))
                    .filter(crate::schema::stored_files::invoice_id.eq_any(&ids))
                    .select(crate::schema::stored_files::invoice_id)
                    .load::<Option<Uuid>>(tc.conn())
                    .await?
                    .into_iter()
                    .flatten()
                    .collect();
                Ok(rows
                    .into_iter()
                    .map(|(invoice, organisation)| InvoiceRow {
                        has_pdf: with_pdf.contains(&invoice.id),
                        invoice,
                        organisation,
                    })
                    .collect())
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retainer(start: &str, end: Option<&str>, day: i16) -> Retainer {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        Retainer {
            id: Uuid::nil(),
            organisation_id: Uuid::nil(),
            description: "x".into(),
            monthly_cents: 100,
            vat_rate: 21,
            reverse_charge: false,
            customer_vat: None,
            starts_on: d(start),
            ends_on: end.map(d),
            billing_day: day,
            created_at: Utc::now(),
        }
    }

    fn keys(r: &Retainer, today: &str) -> Vec<String> {
        let today = NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap();
        due_periods(r, today).into_iter().map(Period::key).collect()
    }

    #[test]
    fn due_periods_follow_billing_day_start_and_end() {
        let r = retainer("2026-11-15", None, 10);
        assert_eq!(keys(&r, "2026-12-09"), ["2026-11"]);
        assert_eq!(keys(&r, "2026-12-10"), ["2026-11", "2026-12"]);
        // Before the start month: nothing.
        assert!(keys(&r, "2026-10-20").is_empty());
        // January catches December up.
        assert_eq!(keys(&r, "2027-01-10"), ["2026-12", "2027-01"]);
        let ended = retainer("2026-01-01", Some("2026-11-30"), 1);
        assert_eq!(keys(&ended, "2026-12-05"), ["2026-11"]);
        assert!(keys(&ended, "2027-01-05").is_empty());
    }
}
