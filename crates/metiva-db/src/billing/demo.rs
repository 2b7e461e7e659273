//! The demo's billing (`metiva seed-demo`, so `cargo xtask run` and the
//! Playwright server show something on `/billing`): one monthly retainer
//! for De Vries Media's client Bloemenhuis Hendriks, started on the first
//! of last month, billed at once (last month's and this month's invoices,
//! numbered like any other) with their issuing enqueued in the same
//! transaction, as the daily run does. Where Stripe is connected (the
//! fake in development), the worker issues them; otherwise the issuing
//! jobs wait, retried, visible on `/settings/jobs`.
//!
//! Not part of [`Database::seed_demo`]: the tests that seed the demo
//! number their own invoices and count their own jobs.

use chrono::{Datelike, NaiveDate, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::money::VatRate;
use super::retainers::{RetainerFields, insert};
use crate::schema::{organisations as orgs, retainers};
use crate::{CompanyId, Database, DbError, TenantConn};

/// De Vries Media, the demo workspace with the retainer.
pub const DEMO_BILLING_COMPANY: &str = "cmp_8fa2c1";
/// The seeded organisation that has the retainer.
pub const DEMO_RETAINER_ORGANISATION: &str = "Bloemenhuis Hendriks";
/// The retainer's description, as `/billing` lists it.
pub const DEMO_RETAINER: &str = "Website & SEO retainer";
/// EUR 1,250.00 a month, 21% VAT.
pub const DEMO_RETAINER_CENTS: i64 = 125_000;

fn first_of_last_month(today: NaiveDate) -> Option<NaiveDate> {
    let (y, m) = if today.month() == 1 {
        (today.year() - 1, 12)
    } else {
        (today.year(), today.month() - 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
}

impl Database {
    /// Seeds the demo retainer and bills it (idempotent: `false` when De
    /// Vries Media has a retainer already, or its organisation is gone).
    /// Run after [`Database::seed_demo`].
    pub async fn seed_demo_billing(&self) -> Result<bool, DbError> {
        let company =
            CompanyId::parse(DEMO_BILLING_COMPANY).map_err(|e| DbError::Internal(e.to_string()))?;
        // The billing day is a Dutch calendar day (as the daily run).
        let today = Utc::now()
            .with_timezone(&chrono_tz::Europe::Amsterdam)
            .date_naive();
        let starts_on = first_of_last_month(today)
            .ok_or_else(|| DbError::Internal("no first of last month".into()))?;
        self.for_provisioning(&company, async |tc: &mut TenantConn<'_>| {
            let c = tc.company().as_str().to_string();
            let any: Option<Uuid> = retainers::table
                .filter(retainers::company_id.eq(&c))
                .select(retainers::id)
                .first(tc.conn())
                .await
                .optional()?;
            if any.is_some() {
                return Ok(false);
            }
            let org: Option<Uuid> = orgs::table
                .filter(orgs::company_id.eq(&c))
                .filter(orgs::name.eq(DEMO_RETAINER_ORGANISATION))
                .select(orgs::id)
                .first(tc.conn())
                .await
                .optional()?;
            let Some(organisation_id) = org else {
                return Ok(false);
            };
            let fields = RetainerFields {
                organisation_id,
                description: DEMO_RETAINER.into(),
                monthly_cents: DEMO_RETAINER_CENTS,
                vat: VatRate::Standard,
                reverse_charge: false,
                customer_vat: None,
                starts_on,
                ends_on: None,
                billing_day: 1,
            };
            insert(tc, &fields, None).await.map_err(db_err)?;
            let made = super::invoices::bill_due_retainers(tc, today)
                .await
                .map_err(db_err)?;
            for id in made {
                super::jobs::enqueue_issue(tc, id).await?;
                super::jobs::enqueue_pdf(tc, id).await?;
            }
            Ok(true)
        })
        .await
    }
}

fn db_err(e: super::BillingError) -> DbError {
    match e {
        super::BillingError::Db(d) => d,
        other => DbError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_month_wraps_the_year() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        assert_eq!(
            first_of_last_month(d(2027, 1, 15).unwrap_or_default()),
            d(2026, 12, 1)
        );
        assert_eq!(
            first_of_last_month(d(2026, 12, 7).unwrap_or_default()),
            d(2026, 11, 1)
        );
    }
}
