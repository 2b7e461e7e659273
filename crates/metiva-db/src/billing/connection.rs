//! The workspace's Stripe connection: a restricted API key and the
//! webhook signing secret, sealed at rest, and the public endpoint id
//! Stripe posts events to.
//!
//! # Security
//! - Both secrets are sealed with the field cipher; the associated data
//!   binds each to its company, table and column (row = company id), so
//!   a ciphertext copied to another workspace or column fails to open.
//! - They are write-only for people: after saving, a page sees only the
//!   key's mode and last four characters ([`ConnectionSummary`]), never
//!   the secrets. Only the issuing job and the webhook path open them.
//! - Only restricted keys (`rk_…`) are accepted, so a leaked key can do
//!   no more than the permissions it was given at Stripe.
//! - [`StripeSecrets`] has a redacting `Debug` and no `Serialize`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use metiva_security::cipher::{FieldContext, KeyRing, Sealed};

use super::BillingError;
use crate::access::TenantCtx;
use crate::crm::validate::{Check, FieldError};
use crate::schema::stripe_connections as sc;
use crate::{CompanyId, Database, DbError, TenantConn};

/// The Stripe API version every request pins (`Stripe-Version`), so a
/// change on Stripe's side never changes what we send or parse.
pub const STRIPE_API_VERSION: &str = "2024-06-20";

const TABLE: &str = "stripe_connections";

/// The connect form as typed.
#[derive(Debug, Clone, Default)]
pub struct ConnectForm<'a> {
    pub api_key: &'a str,
    pub webhook_secret: &'a str,
}

/// A connection's secrets, opened (the issuing job and the webhook only).
pub struct StripeSecrets {
    pub api_key: String,
    pub webhook_secret: String,
}

impl std::fmt::Debug for StripeSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StripeSecrets(<redacted>)")
    }
}

/// What a page may show about the connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionSummary {
    pub endpoint_id: String,
    /// `rk_test_…abcd`.
    pub api_key_hint: String,
    pub api_version: String,
    pub connected_at: DateTime<Utc>,
}

fn token_ok(v: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| {
        v.strip_prefix(p).is_some_and(|rest| {
            (8..=240).contains(&rest.len())
                && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    })
}

impl ConnectForm<'_> {
    /// Trims and checks both values' shape; reports every bad field.
    pub fn validate(&self) -> Result<StripeSecrets, Vec<FieldError>> {
        let mut c = Check::default();
        let api_key = self.api_key.trim();
        let webhook_secret = self.webhook_secret.trim();
        if api_key.is_empty() {
            c.fail("api_key", "required");
        } else if token_ok(api_key, &["sk_live_", "sk_test_"]) {
            // A full secret key can do anything in the account: refused.
            c.fail("api_key", "not_restricted");
        } else if !token_ok(api_key, &["rk_live_", "rk_test_"]) {
            c.fail("api_key", "invalid");
        }
        if webhook_secret.is_empty() {
            c.fail("webhook_secret", "required");
        } else if !token_ok(webhook_secret, &["whsec_"]) {
            c.fail("webhook_secret", "invalid");
        }
        c.finish(StripeSecrets {
            api_key: api_key.to_string(),
            webhook_secret: webhook_secret.to_string(),
        })
    }
}

fn hint(api_key: &str) -> String {
    let mode = if api_key.starts_with("rk_live_") {
        "rk_live_"
    } else {
        "rk_test_"
    };
    let tail: String = api_key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{mode}…{tail}")
}

fn place<'a>(company: &'a str, column: &'a str) -> FieldContext<'a> {
    FieldContext {
        company_id: company,
        table: TABLE,
        column,
        row_id: company,
    }
}

fn seal(keys: &KeyRing, company: &str, column: &str, value: &str) -> Result<Sealed, DbError> {
    keys.seal(value.as_bytes(), &place(company, column))
        .map_err(|e| DbError::Internal(format!("sealing {column}: {e}")))
}

#[derive(Queryable)]
struct SealedRow {
    api_key_key_id: String,
    api_key_nonce: Vec<u8>,
    api_key_ciphertext: Vec<u8>,
    webhook_secret_key_id: String,
    webhook_secret_nonce: Vec<u8>,
    webhook_secret_ciphertext: Vec<u8>,
}

fn open(
    keys: &KeyRing,
    company: &str,
    column: &str,
    key_id: String,
    nonce: Vec<u8>,
    ct: Vec<u8>,
) -> Result<String, DbError> {
    let nonce: [u8; 12] = nonce
        .try_into()
        .map_err(|_| DbError::Internal(format!("{column}: bad nonce")))?;
    let plain = keys
        .open(
            &Sealed {
                key_id,
                nonce,
                ciphertext: ct,
            },
            &place(company, column),
        )
        .map_err(|e| DbError::Internal(format!("opening {column}: {e}")))?;
    String::from_utf8(plain).map_err(|_| DbError::Internal(format!("{column}: not text")))
}

/// Loads `company`'s data key into `keys` (the field cipher seals a
/// company's values with its own key). Call outside any transaction.
pub async fn load_key(db: &Database, keys: &KeyRing, company: &CompanyId) -> Result<(), DbError> {
    keys.load(db, company.as_str())
        .await
        .map_err(|e| DbError::Internal(format!("loading the data key: {e}")))
}

/// Opens the bound workspace's secrets, if it is connected. The
/// company's data key must be loaded ([`load_key`]).
pub async fn secrets(
    tc: &mut TenantConn<'_>,
    keys: &KeyRing,
) -> Result<Option<StripeSecrets>, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<SealedRow> = sc::table
        .filter(sc::company_id.eq(&company))
        .select((
            sc::api_key_key_id,
            sc::api_key_nonce,
            sc::api_key_ciphertext,
            sc::webhook_secret_key_id,
            sc::webhook_secret_nonce,
            sc::webhook_secret_ciphertext,
        ))
        .first(tc.conn())
        .await
        .optional()?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(StripeSecrets {
        api_key: open(
            keys,
            &company,
            "api_key",
            r.api_key_key_id,
            r.api_key_nonce,
            r.api_key_ciphertext,
        )?,
        webhook_secret: open(
            keys,
            &company,
            "webhook_secret",
            r.webhook_secret_key_id,
            r.webhook_secret_nonce,
            r.webhook_secret_ciphertext,
        )?,
    }))
}

/// Stores (or replaces) the bound workspace's connection in the caller's
/// transaction (the company's data key loaded, see [`load_key`]). The endpoint id stays the same on a reconnect, so the
/// URL registered at Stripe keeps working. Answers the endpoint id.
pub async fn store(
    tc: &mut TenantConn<'_>,
    keys: &KeyRing,
    secrets: &StripeSecrets,
    actor: Option<uuid::Uuid>,
) -> Result<String, DbError> {
    let company = tc.company().as_str().to_string();
    let existing: Option<String> = sc::table
        .filter(sc::company_id.eq(&company))
        .select(sc::endpoint_id)
        .first(tc.conn())
        .await
        .optional()?;
    let endpoint = existing.unwrap_or_else(|| format!("whe_{}", hex_id()));
    let k = seal(keys, &company, "api_key", &secrets.api_key)?;
    let w = seal(keys, &company, "webhook_secret", &secrets.webhook_secret)?;
    let values = (
        sc::api_key_hint.eq(hint(&secrets.api_key)),
        sc::api_key_key_id.eq(k.key_id.clone()),
        sc::api_key_nonce.eq(k.nonce.to_vec()),
        sc::api_key_ciphertext.eq(k.ciphertext.clone()),
        sc::webhook_secret_key_id.eq(w.key_id.clone()),
        sc::webhook_secret_nonce.eq(w.nonce.to_vec()),
        sc::webhook_secret_ciphertext.eq(w.ciphertext.clone()),
        sc::api_version.eq(STRIPE_API_VERSION),
        sc::connected_by.eq(actor),
        sc::connected_at.eq(diesel::dsl::now),
    );
    diesel::insert_into(sc::table)
        .values((
            sc::company_id.eq(&company),
            sc::endpoint_id.eq(&endpoint),
            values.clone(),
        ))
        .on_conflict(sc::company_id)
        .do_update()
        .set(values)
        .execute(tc.conn())
        .await?;
    Ok(endpoint)
}

/// 128 random bits as 32 hex digits.
fn hex_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Database {
    /// Connects (or reconnects) Stripe for the member's workspace (needs
    /// `billing.manage`); audited with ids only. Answers the summary a
    /// page may show: never the secrets.
    pub async fn connect_stripe(
        &self,
        ctx: &TenantCtx,
        keys: &KeyRing,
        form: &ConnectForm<'_>,
        request_id: &str,
    ) -> Result<ConnectionSummary, BillingError> {
        if !ctx.can(metiva_roles::Permission::BillingManage) {
            return Err(BillingError::Forbidden);
        }
        let secrets = form.validate().map_err(BillingError::Invalid)?;
        let actor = ctx.user_id();
        load_key(self, keys, ctx.company()).await?;
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let endpoint = store(tc, keys, &secrets, Some(actor)).await?;
            crate::repo::audit::append(
                tc,
                &crate::repo::audit::AuditEntry {
                    actor_user_id: Some(actor),
                    action: "billing.stripe_connected",
                    target_type: Some("stripe_connection"),
                    target_id: Some(&endpoint),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await?;
            summary(tc).await?.ok_or(DbError::NotFound)
        })
        .await
        .map_err(BillingError::from)
    }

    /// The connection as a page may show it (needs `billing.read`).
    pub async fn stripe_connection(
        &self,
        ctx: &TenantCtx,
    ) -> Result<Option<ConnectionSummary>, BillingError> {
        if !ctx.can(metiva_roles::Permission::BillingRead) {
            return Err(BillingError::Forbidden);
        }
        Ok(self
            .in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| summary(tc).await)
            .await?)
    }

    /// The webhook path's one global lookup: which active company owns
    /// this endpoint id. A directory function (`metiva_stripe_endpoint`)
    /// answers the company id only; the app role cannot list connections
    /// across tenants.
    pub async fn stripe_endpoint_company(
        &self,
        endpoint: &str,
    ) -> Result<Option<CompanyId>, DbError> {
        self.endpoint_company(
            &crate::webhook_endpoints::EndpointDirectory {
                prefix: "whe_",
                sql: "SELECT company_id FROM metiva_stripe_endpoint($1)",
            },
            endpoint,
        )
        .await
    }
}

async fn summary(tc: &mut TenantConn<'_>) -> Result<Option<ConnectionSummary>, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<(String, String, String, DateTime<Utc>)> = sc::table
        .filter(sc::company_id.eq(&company))
        .select((
            sc::endpoint_id,
            sc::api_key_hint,
            sc::api_version,
            sc::connected_at,
        ))
        .first(tc.conn())
        .await
        .optional()?;
    Ok(row.map(
        |(endpoint_id, api_key_hint, api_version, connected_at)| ConnectionSummary {
            endpoint_id,
            api_key_hint,
            api_version,
            connected_at,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_restricted_keys_and_signing_secrets_are_accepted() {
        let ok = ConnectForm {
            api_key: " rk_test_51abcDEF123456 ",
            webhook_secret: "whsec_abcdef123456",
        };
        let s = ok.validate().unwrap();
        assert_eq!(s.api_key, "rk_test_51abcDEF123456");
        assert_eq!(hint(&s.api_key), "rk_test_…3456");
        assert_eq!(format!("{s:?}"), "StripeSecrets(<redacted>)");
        let codes = |f: ConnectForm<'_>| -> Vec<(&str, &str)> {
            f.validate()
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|e| (e.field, e.code))
                .collect()
        };
        assert_eq!(
            codes(ConnectForm {
                api_key: "sk_live_51abcDEF123456",
                webhook_secret: "nope"
            }),
            [("api_key", "not_restricted"), ("webhook_secret", "invalid")]
        );
        assert_eq!(
            codes(ConnectForm {
                api_key: "",
                webhook_secret: ""
            }),
            [("api_key", "required"), ("webhook_secret", "required")]
        );
        assert_eq!(
            codes(ConnectForm {
                api_key: "rk_test_<script>",
                webhook_secret: "whsec_abcdef123456"
            }),
            [("api_key", "invalid")]
        );
    }
}
