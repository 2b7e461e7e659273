//! Retainers: a monthly amount billed to one of the workspace's
//! organisations from a start month, until an optional end.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::money::{VatRate, parse_euros};
use super::{BillingError, split};
use crate::access::TenantCtx;
use crate::crm::validate::{self, Check, FieldError};
use crate::schema::{organisations as orgs, retainers};
use crate::{Database, TenantConn};

/// The EU member states' VAT prefixes (Greece is `EL`; `XI` is Northern
/// Ireland for goods, accepted by VIES).
const EU_VAT_PREFIXES: [&str; 28] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI",
];

/// A retainer form as typed.
#[derive(Debug, Clone, Default)]
pub struct RetainerForm<'a> {
    pub organisation: &'a str,
    pub description: &'a str,
    /// Euros, as typed (`1250`, `1.250,00`).
    pub amount: &'a str,
    /// `21`, `9`, `0` or `reverse_charge`.
    pub vat: &'a str,
    pub customer_vat: Option<&'a str>,
    /// `YYYY-MM-DD`.
    pub starts_on: &'a str,
    pub ends_on: Option<&'a str>,
    pub billing_day: &'a str,
}

/// Validated retainer fields.
#[derive(Debug, Clone, PartialEq)]
pub struct RetainerFields {
    pub organisation_id: Uuid,
    pub description: String,
    pub monthly_cents: i64,
    pub vat: VatRate,
    pub reverse_charge: bool,
    pub customer_vat: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub billing_day: i16,
}

/// An EU VAT number: a member state's prefix and 2 to 12 letters or
/// digits, spaces and dots removed, upper-cased. A format check only
/// (VIES is not consulted).
pub fn eu_vat_number(raw: &str) -> Option<String> {
    let v: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect::<String>()
        .to_ascii_uppercase();
    let prefix = v.get(..2)?;
    let rest = v.get(2..)?;
    (EU_VAT_PREFIXES.contains(&prefix)
        && (2..=12).contains(&rest.len())
        && rest.chars().all(|c| c.is_ascii_alphanumeric()))
    .then_some(v)
}

fn date(c: &mut Check, field: &'static str, raw: &str) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
        Ok(d) if (2000..=2100).contains(&chrono::Datelike::year(&d)) => Some(d),
        _ => {
            c.fail(field, "invalid");
            None
        }
    }
}

impl RetainerForm<'_> {
    /// Checks every field and reports all failures at once.
    pub fn validate(&self) -> Result<RetainerFields, Vec<FieldError>> {
        let mut c = Check::default();
        let organisation_id = match Uuid::parse_str(self.organisation.trim()) {
            Ok(id) => Some(id),
            Err(_) => {
                c.fail(
                    "organisation",
                    if self.organisation.trim().is_empty() {
                        "required"
                    } else {
                        "unknown"
                    },
                );
                None
            }
        };
        let description = validate::name(&mut c, "description", self.description);
        let monthly_cents = parse_euros(self.amount);
        if monthly_cents.is_none() {
            c.fail(
                "amount",
                if self.amount.trim().is_empty() {
                    "required"
                } else {
                    "invalid"
                },
            );
        }
        let (vat, reverse_charge) = match self.vat.trim() {
            "21" => (Some(VatRate::Standard), false),
            "9" => (Some(VatRate::Reduced), false),
            "0" => (Some(VatRate::Zero), false),
            "reverse_charge" => (Some(VatRate::Zero), true),
            _ => {
                c.fail("vat", "invalid");
                (None, false)
            }
        };
        let customer_vat = match validate::optional(self.customer_vat) {
            None => None,
            Some(raw) => {
                let parsed = eu_vat_number(&raw);
                if parsed.is_none() {
                    c.fail("customer_vat", "invalid");
                }
                parsed
            }
        };
        // Reverse charge is for a business in another EU member state:
        // its VAT number is required and must not be Dutch.
        if reverse_charge {
            match &customer_vat {
                None if validate::optional(self.customer_vat).is_none() => {
                    c.fail("customer_vat", "required")
                }
                Some(v) if v.starts_with("NL") => c.fail("customer_vat", "domestic"),
                _ => {}
            }
        }
        let starts_on = date(&mut c, "starts_on", self.starts_on);
        let ends_on =
            validate::optional(self.ends_on).and_then(|raw| date(&mut c, "ends_on", &raw));
        if let (Some(s), Some(e)) = (starts_on, ends_on)
            && e < s
        {
            c.fail("ends_on", "before_start");
        }
        let billing_day = match self.billing_day.trim().parse::<i16>() {
            Ok(d) if (1..=28).contains(&d) => Some(d),
            _ => {
                c.fail("billing_day", "invalid");
                None
            }
        };
        match (organisation_id, monthly_cents, vat, starts_on, billing_day) {
            (
                Some(organisation_id),
                Some(monthly_cents),
                Some(vat),
                Some(starts_on),
                Some(billing_day),
            ) => c.finish(RetainerFields {
                organisation_id,
                description,
                monthly_cents,
                vat,
                reverse_charge,
                customer_vat,
                starts_on,
                ends_on,
                billing_day,
            }),
            _ => Err(c.finish(()).err().unwrap_or_default()),
        }
    }
}

/// One retainer as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = retainers, check_for_backend(diesel::pg::Pg))]
pub struct Retainer {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub description: String,
    pub monthly_cents: i64,
    pub vat_rate: i16,
    pub reverse_charge: bool,
    pub customer_vat: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub billing_day: i16,
    pub created_at: DateTime<Utc>,
}

/// A retainer with its organisation's name, for the list.
#[derive(Debug, Clone, PartialEq)]
pub struct RetainerRow {
    pub retainer: Retainer,
    pub organisation: String,
}

/// Stores a validated retainer in the caller's transaction.
pub async fn insert(
    tc: &mut TenantConn<'_>,
    f: &RetainerFields,
    created_by: Option<Uuid>,
) -> Result<Uuid, BillingError> {
    let company = tc.company().as_str().to_string();
    // The organisation must be this workspace's (the composite foreign
    // key says so too; this names the field instead of failing).
    let known: Option<Uuid> = orgs::table
        .filter(orgs::company_id.eq(&company))
        .filter(orgs::id.eq(f.organisation_id))
        .select(orgs::id)
        .first(tc.conn())
        .await
        .optional()?;
    if known.is_none() {
        return Err(BillingError::field("organisation", "unknown"));
    }
    let id: Uuid = diesel::insert_into(retainers::table)
        .values((
            retainers::company_id.eq(&company),
            retainers::organisation_id.eq(f.organisation_id),
            retainers::description.eq(&f.description),
            retainers::monthly_cents.eq(f.monthly_cents),
            retainers::vat_rate.eq(f.vat.percent()),
            retainers::reverse_charge.eq(f.reverse_charge),
            retainers::customer_vat.eq(&f.customer_vat),
            retainers::starts_on.eq(f.starts_on),
            retainers::ends_on.eq(f.ends_on),
            retainers::billing_day.eq(f.billing_day),
            retainers::created_by.eq(created_by),
        ))
        .returning(retainers::id)
        .get_result(tc.conn())
        .await?;
    Ok(id)
}

impl Database {
    /// Creates a retainer (needs `billing.manage`), audited with ids only.
    pub async fn create_retainer(
        &self,
        ctx: &TenantCtx,
        form: &RetainerForm<'_>,
        request_id: &str,
    ) -> Result<Uuid, BillingError> {
        if !ctx.can(metiva_roles::Permission::BillingManage) {
            return Err(BillingError::Forbidden);
        }
        let fields = form.validate().map_err(BillingError::Invalid)?;
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let r = insert(tc, &fields, Some(actor)).await;
            if let Ok(id) = &r {
                crate::crm::audit(
                    tc,
                    actor,
                    "billing.retainer_created",
                    "retainer",
                    *id,
                    request_id,
                )
                .await?;
            }
            split(r)
        })
        .await?
    }

    /// The workspace's retainers, newest first (needs `billing.read`).
    pub async fn retainer_list(&self, ctx: &TenantCtx) -> Result<Vec<RetainerRow>, BillingError> {
        if !ctx.can(metiva_roles::Permission::BillingRead) {
            return Err(BillingError::Forbidden);
        }
        Ok(self
            .in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
                let company = tc.company().as_str().to_string();
                let rows: Vec<(Retainer, String)> = retainers::table
                    .inner_join(
                        orgs::table.on(orgs::company_id
                            .eq(retainers::company_id)
                            .and(orgs::id.eq(retainers::organisation_id))),
                    )
                    .filter(retainers::company_id.eq(&company))
                    .order((retainers::created_at.desc(), retainers::id.asc()))
                    .limit(500)
                    .select((Retainer::as_select(), orgs::name))
                    .load(tc.conn())
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(retainer, organisation)| RetainerRow {
                        retainer,
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

    fn form<'a>() -> RetainerForm<'a> {
        RetainerForm {
            organisation: "6f1c1d36-1b0e-4a53-9c57-1f3a3b7a0a01",
            description: "SEO retainer",
            amount: "1.250,00",
            vat: "21",
            customer_vat: None,
            starts_on: "2026-12-01",
            ends_on: None,
            billing_day: "1",
        }
    }

    fn codes(f: RetainerForm<'_>) -> Vec<(&'static str, &'static str)> {
        f.validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn a_good_form_validates() {
        let f = form().validate().unwrap();
        assert_eq!(f.monthly_cents, 125_000);
        assert_eq!(f.vat, VatRate::Standard);
        assert!(!f.reverse_charge);
    }

    #[test]
    fn reverse_charge_needs_a_foreign_eu_vat_number() {
        assert_eq!(
            codes(RetainerForm {
                vat: "reverse_charge",
                ..form()
            }),
            [("customer_vat", "required")]
        );
        assert_eq!(
            codes(RetainerForm {
                vat: "reverse_charge",
                customer_vat: Some("NL123456789B01"),
                ..form()
            }),
            [("customer_vat", "domestic")]
        );
        assert_eq!(
            codes(RetainerForm {
                vat: "reverse_charge",
                customer_vat: Some("US12345"),
                ..form()
            }),
            [("customer_vat", "invalid")]
        );
        let f = RetainerForm {
            vat: "reverse_charge",
            customer_vat: Some("de 123.456.789"),
            ..form()
        }
        .validate()
        .unwrap();
        assert!(f.reverse_charge);
        assert_eq!(f.vat, VatRate::Zero);
        assert_eq!(f.customer_vat.as_deref(), Some("DE123456789"));
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = RetainerForm {
            organisation: "",
            description: " ",
            amount: "-3",
            vat: "19",
            customer_vat: None,
            starts_on: "2026-13-01",
            ends_on: Some("yesterday"),
            billing_day: "31",
        };
        let fields: Vec<&str> = codes(bad).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            [
                "organisation",
                "description",
                "amount",
                "vat",
                "starts_on",
                "ends_on",
                "billing_day"
            ]
        );
        assert_eq!(
            codes(RetainerForm {
                ends_on: Some("2026-11-30"),
                ..form()
            }),
            [("ends_on", "before_start")]
        );
    }
}
