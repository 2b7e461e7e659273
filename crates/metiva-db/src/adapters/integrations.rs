//! A workspace's connected providers (table `integrations`, migration
//! `integrations`): connect, disconnect, test, and the credentials a job
//! opens.
//!
//! # Security
//! - The credentials (the provider's fields as one small JSON object) are
//!   sealed with the workspace's data key as the Stripe key is
//!   (`billing::connection`); the associated data binds the ciphertext to
//!   its company, table, column and provider, so a ciphertext copied to
//!   another workspace or provider row fails to open.
//! - Write-only for people: a page sees [`IntegrationSummary::hint`] (an
//!   account, customer or pixel id, a webhook's host), never a token or
//!   secret. Only job handlers open them ([`credentials`]).
//! - Connect, disconnect and test need `integrations.manage` and are
//!   audited with ids only (the provider name), never a value.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use metiva_roles::Permission;
use metiva_security::cipher::{FieldContext, KeyRing, Sealed};

use super::breaker::{self, BreakerStatus};
use super::client::check_webhook_url;
use super::{Adapters, CallError, Credentials, OutboundRequest, Provider};
use crate::access::TenantCtx;
use crate::crm::validate::{Check, FieldError};
use crate::repo::audit::{AuditEntry, append, append_with_note};
use crate::schema::integrations as ig;
use crate::{Database, DbError, TenantConn};

const TABLE: &str = "integrations";
const COLUMN: &str = "credentials";

/// Why an integrations operation was refused.
#[derive(Debug)]
pub enum IntegrationError {
    /// No `integrations.manage` (403).
    Forbidden,
    /// Fields failed validation (422, each named).
    Invalid(Vec<FieldError>),
    /// The provider is not connected (404).
    NotConnected,
    Db(DbError),
}

impl From<DbError> for IntegrationError {
    fn from(e: DbError) -> Self {
        IntegrationError::Db(e)
    }
}

/// What a page may show about a connected provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationSummary {
    pub provider: Provider,
    /// Never a secret: `AC…1a2b, +31612345678`, `customer 1234567890`,
    /// `pixel 123456789012`, `https://hooks.example.nl/…`.
    pub hint: String,
    pub connected_at: DateTime<Utc>,
    pub connected_by: Option<uuid::Uuid>,
}

/// One provider's row on the page: its connection (if any) and breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationView {
    pub provider: Provider,
    pub connection: Option<IntegrationSummary>,
    pub breaker: BreakerStatus,
}

/// The answer of "test connection".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    /// The provider answered 2xx (for `webhook`: the URL is acceptable).
    Ok,
    /// A reason code (`http_401`, `timeout`, `webhook_url_not_https`, …).
    Failed(String),
}

fn token(c: &mut Check, field: &'static str, v: &str, min: usize, max: usize) {
    let ok = (min..=max).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if !ok {
        c.fail(field, "invalid");
    }
}

fn digits(v: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit())
}

fn tail4(v: &str) -> String {
    let n = v.chars().count();
    v.chars().skip(n.saturating_sub(4)).collect()
}

/// Checks a connect form's fields for `provider`: trims, normalises,
/// reports every bad field (`required`, `invalid`, or the webhook URL's
/// reason code), and answers the credentials and their hint. Fields the
/// provider does not have are ignored.
pub fn validate(
    provider: Provider,
    raw: &BTreeMap<String, String>,
    allow_private_webhooks: bool,
) -> Result<(Credentials, String), Vec<FieldError>> {
    let mut c = Check::default();
    let mut out = BTreeMap::new();
    for &f in provider.fields() {
        let v = raw.get(f).map(|s| s.trim()).unwrap_or("");
        if v.is_empty() {
            c.fail(f, "required");
            continue;
        }
        let v = match (provider, f) {
            (Provider::Twilio, "account_sid") => {
                let ok = v.len() == 34
                    && v.starts_with("AC")
                    && v.bytes().skip(2).all(|b| b.is_ascii_hexdigit());
                if !ok {
                    c.fail(f, "invalid");
                }
                v.to_string()
            }
            (Provider::Twilio, "auth_token") => {
                token(&mut c, f, v, 16, 128);
                v.to_string()
            }
            (Provider::Twilio, "from_number") => {
                // E.164: + and 8..=15 digits, no leading zero.
                let d = v.strip_prefix('+').unwrap_or("");
                if !digits(d, 8, 15) || d.starts_with('0') {
                    c.fail(f, "invalid");
                }
                v.to_string()
            }
            (Provider::GoogleAds, "customer_id") => {
                let d: String = v.chars().filter(|ch| *ch != '-').collect();
                if !digits(&d, 10, 10) {
                    c.fail(f, "invalid");
                }
                d
            }
            (Provider::GoogleAds, "conversion_action") => {
                // An id, or its resource name customers/{id}/conversionActions/{id}.
                let id = v.rsplit('/').next().unwrap_or("");
                let shaped = digits(v, 1, 20)
                    || (v.starts_with("customers/")
                        && v.contains("/conversionActions/")
                        && digits(id, 1, 20));
                if !shaped {
                    c.fail(f, "invalid");
                }
                v.to_string()
            }
            (Provider::GoogleAds, "developer_token") => {
                token(&mut c, f, v, 10, 100);
                v.to_string()
            }
            (_, "access_token") => {
                token(&mut c, f, v, 10, 2048);
                v.to_string()
            }
            (Provider::Meta, "pixel_id") => {
                if !digits(v, 5, 20) {
                    c.fail(f, "invalid");
                }
                v.to_string()
            }
            (Provider::Webhook, "url") => {
                if let Err(code) = check_webhook_url(v, allow_private_webhooks) {
                    c.fail(f, code);
                }
                v.to_string()
            }
            (Provider::Webhook, "secret") => {
                // Standard Webhooks: whsec_ + base64 of 24..=64 bytes.
                let b64 = v.strip_prefix("whsec_").unwrap_or("");
                let ok = (32..=88).contains(&b64.len())
                    && b64
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
                if !ok {
                    c.fail(f, "invalid");
                }
                v.to_string()
            }
            _ => v.to_string(),
        };
        out.insert(f.to_string(), v);
    }
    let get = |k: &str| out.get(k).map(String::as_str).unwrap_or("");
    let hint = match provider {
        Provider::Twilio => format!("AC…{}, {}", tail4(get("account_sid")), get("from_number")),
        Provider::GoogleAds => format!("customer {}", get("customer_id")),
        Provider::Meta => format!("pixel {}", get("pixel_id")),
        // Origin only: a path or query may carry a token.
        Provider::Webhook => reqwest::Url::parse(get("url"))
            .map(|u| format!("{}/…", u.origin().ascii_serialization()))
            .unwrap_or_default(),
    };
    let hint: String = hint.chars().take(200).collect();
    c.finish((Credentials(out), hint))
}

fn place<'a>(company: &'a str, provider: Provider) -> FieldContext<'a> {
    FieldContext {
        company_id: company,
        table: TABLE,
        column: COLUMN,
        row_id: provider.as_str(),
    }
}

/// Opens the bound workspace's credentials for `provider`, if connected.
/// The company's data key must be loaded (`keys.load(db, company)`, or
/// use [`credentials_loaded`]). For job handlers, in the job's
/// transaction.
pub async fn credentials(
    tc: &mut TenantConn<'_>,
    keys: &KeyRing,
    provider: Provider,
) -> Result<Option<Credentials>, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<(String, Vec<u8>, Vec<u8>)> = ig::table
        .filter(ig::company_id.eq(&company))
        .filter(ig::provider.eq(provider.as_str()))
        .select((
            ig::credentials_key_id,
            ig::credentials_nonce,
            ig::credentials_ciphertext,
        ))
        .get_result(tc.conn())
        .await
        .optional()?;
    let Some((key_id, nonce, ciphertext)) = row else {
        return Ok(None);
    };
    let nonce: [u8; 12] = nonce
        .try_into()
        .map_err(|_| DbError::Internal("integration credentials: bad nonce".into()))?;
    let plain = keys
        .open(
            &Sealed {
                key_id,
                nonce,
                ciphertext,
            },
            &place(&company, provider),
        )
        .map_err(|e| DbError::Internal(format!("opening integration credentials: {e}")))?;
    let map: BTreeMap<String, String> = serde_json::from_slice(&plain)
        .map_err(|_| DbError::Internal("integration credentials: not a JSON object".into()))?;
    Ok(Some(Credentials(map)))
}

/// [`credentials`] after loading the company's data key (which opens a
/// short transaction of its own on `db`).
pub async fn credentials_loaded(
    db: &Database,
    tc: &mut TenantConn<'_>,
    keys: &KeyRing,
    provider: Provider,
) -> Result<Option<Credentials>, DbError> {
    let company = tc.company().clone();
    crate::billing::connection::load_key(db, keys, &company).await?;
    credentials(tc, keys, provider).await
}

/// Stores (or replaces) the bound workspace's credentials for
/// `provider` (the data key loaded).
pub async fn store(
    tc: &mut TenantConn<'_>,
    keys: &KeyRing,
    provider: Provider,
    creds: &Credentials,
    hint: &str,
    actor: Option<uuid::Uuid>,
) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    let json = serde_json::to_vec(&creds.0).map_err(|e| DbError::Internal(e.to_string()))?;
    let s = keys
        .seal(&json, &place(&company, provider))
        .map_err(|e| DbError::Internal(format!("sealing integration credentials: {e}")))?;
    let values = (
        ig::hint.eq(hint),
        ig::credentials_key_id.eq(s.key_id.clone()),
        ig::credentials_nonce.eq(s.nonce.to_vec()),
        ig::credentials_ciphertext.eq(s.ciphertext.clone()),
        ig::connected_by.eq(actor),
        ig::connected_at.eq(diesel::dsl::now),
    );
    diesel::insert_into(ig::table)
        .values((
            ig::company_id.eq(&company),
            ig::provider.eq(provider.as_str()),
            values.clone(),
        ))
        .on_conflict((ig::company_id, ig::provider))
        .do_update()
        .set(values)
        .execute(tc.conn())
        .await?;
    Ok(())
}

/// The bound workspace's connected providers.
pub async fn summaries(tc: &mut TenantConn<'_>) -> Result<Vec<IntegrationSummary>, DbError> {
    let company = tc.company().as_str().to_string();
    let rows: Vec<(String, String, DateTime<Utc>, Option<uuid::Uuid>)> = ig::table
        .filter(ig::company_id.eq(&company))
        .select((ig::provider, ig::hint, ig::connected_at, ig::connected_by))
        .load(tc.conn())
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, hint, connected_at, connected_by)| {
            Some(IntegrationSummary {
                provider: p.parse().ok()?,
                hint,
                connected_at,
                connected_by,
            })
        })
        .collect())
}

async fn audit(
    tc: &mut TenantConn<'_>,
    actor: uuid::Uuid,
    action: &str,
    provider: Provider,
    request_id: &str,
    reason: Option<&str>,
) -> Result<(), DbError> {
    append(
        tc,
        &AuditEntry {
            actor_user_id: Some(actor),
            action,
            target_type: Some("integration"),
            target_id: Some(provider.as_str()),
            request_id: Some(request_id),
            reason,
        },
    )
    .await
}

/// The cheap authenticated GET that "test connection" sends, or `None`
/// for `webhook` (its URL is only checked here; a signed test delivery
/// belongs to the lead-forward sender).
pub fn test_request(
    adapters: &Adapters,
    provider: Provider,
    c: &Credentials,
) -> Option<OutboundRequest> {
    let g = |k: &str| c.get(k).unwrap_or("");
    let b = adapters.bases();
    match provider {
        Provider::Twilio => Some(
            OutboundRequest::get(format!(
                "{}/2010-04-01/Accounts/{}.json",
                b.twilio,
                g("account_sid")
            ))
            .basic_auth(g("account_sid"), g("auth_token")),
        ),
        Provider::GoogleAds => Some(
            OutboundRequest::get(format!(
                "{}/v17/customers:listAccessibleCustomers",
                b.google_ads
            ))
            .bearer(g("access_token"))
            .header("developer-token", g("developer_token")),
        ),
        Provider::Meta => Some(
            OutboundRequest::get(format!("{}/v19.0/{}?fields=id", b.meta, g("pixel_id")))
                .bearer(g("access_token")),
        ),
        Provider::Webhook => None,
    }
}

impl Database {
    /// Every provider with its connection (if any) and breaker, for
    /// `/settings/integrations` (needs `integrations.manage`).
    pub async fn integrations(
        &self,
        ctx: &TenantCtx,
    ) -> Result<Vec<IntegrationView>, IntegrationError> {
        if !ctx.can(Permission::IntegrationsManage) {
            return Err(IntegrationError::Forbidden);
        }
        let (conns, breakers) = self
            .in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
                Ok((summaries(tc).await?, breaker::statuses(tc).await?))
            })
            .await?;
        Ok(breakers
            .into_iter()
            .map(|b| IntegrationView {
                provider: b.provider,
                connection: conns.iter().find(|c| c.provider == b.provider).cloned(),
                breaker: b,
            })
            .collect())
    }

    /// Connects (or reconnects) `provider` with the form's fields; audited
    /// (`integrations.connected`, the provider only).
    pub async fn connect_integration(
        &self,
        ctx: &TenantCtx,
        keys: &KeyRing,
        provider: Provider,
        fields: &BTreeMap<String, String>,
        allow_private_webhooks: bool,
        request_id: &str,
    ) -> Result<IntegrationSummary, IntegrationError> {
        if !ctx.can(Permission::IntegrationsManage) {
            return Err(IntegrationError::Forbidden);
        }
        let (creds, hint) = validate(provider, fields, allow_private_webhooks)
            .map_err(IntegrationError::Invalid)?;
        let actor = ctx.user_id();
        crate::billing::connection::load_key(self, keys, ctx.company()).await?;
        Ok(self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                store(tc, keys, provider, &creds, &hint, Some(actor)).await?;
                audit(
                    tc,
                    actor,
                    "integrations.connected",
                    provider,
                    request_id,
                    None,
                )
                .await?;
                summaries(tc)
                    .await?
                    .into_iter()
                    .find(|s| s.provider == provider)
                    .ok_or(DbError::NotFound)
            })
            .await?)
    }

    /// Disconnects `provider` (its sealed credentials are deleted);
    /// audited (`integrations.disconnected`). `NotConnected` when it was
    /// not connected.
    pub async fn disconnect_integration(
        &self,
        ctx: &TenantCtx,
        provider: Provider,
        request_id: &str,
    ) -> Result<(), IntegrationError> {
        if !ctx.can(Permission::IntegrationsManage) {
            return Err(IntegrationError::Forbidden);
        }
        let actor = ctx.user_id();
        let removed = self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                let company = tc.company().as_str().to_string();
                let n = diesel::delete(
                    ig::table
                        .filter(ig::company_id.eq(&company))
                        .filter(ig::provider.eq(provider.as_str())),
                )
                .execute(tc.conn())
                .await?;
                if n > 0 {
                    audit(
                        tc,
                        actor,
                        "integrations.disconnected",
                        provider,
                        request_id,
                        None,
                    )
                    .await?;
                }
                Ok(n)
            })
            .await?;
        if removed == 0 {
            return Err(IntegrationError::NotConnected);
        }
        Ok(())
    }

    /// "Test connection": one authenticated GET against the provider's
    /// base (no retries; the breaker records the result, a success closes
    /// it), or for `webhook` the URL check. Audited
    /// (`integrations.tested`, with the outcome's reason code).
    ///
    /// The one place a request waits on a provider: an operator's
    /// explicit check, bounded by the client's 10 s timeout.
    pub async fn test_integration(
        &self,
        ctx: &TenantCtx,
        keys: &KeyRing,
        adapters: &Adapters,
        provider: Provider,
        request_id: &str,
    ) -> Result<TestOutcome, IntegrationError> {
        if !ctx.can(Permission::IntegrationsManage) {
            return Err(IntegrationError::Forbidden);
        }
        let actor = ctx.user_id();
        crate::billing::connection::load_key(self, keys, ctx.company()).await?;
        let creds = self
            .in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
                credentials(tc, keys, provider).await
            })
            .await?
            .ok_or(IntegrationError::NotConnected)?;
        // The provider call happens outside any transaction of ours.
        let outcome = match test_request(adapters, provider, &creds) {
            Some(req) => match adapters.test(ctx.company(), provider, req).await {
                Ok(_) => TestOutcome::Ok,
                Err(CallError::Open { .. }) => TestOutcome::Failed("circuit_open".into()),
                Err(CallError::Transient { message, .. } | CallError::Permanent(message)) => {
                    TestOutcome::Failed(message)
                }
            },
            None => match check_webhook_url(
                creds.get("url").unwrap_or(""),
                adapters.bases().allow_private_webhooks,
            ) {
                Ok(()) => TestOutcome::Ok,
                Err(code) => TestOutcome::Failed(format!("webhook_url_{code}")),
            },
        };
        // The audit reason is a fixed code (the table's CHECK since
        // migration 000041); a failure's provider message goes to the
        // short note: at most 200 characters, control characters blanked
        // (the note's CHECK). It is the provider's error text, never
        // credentials: those are not part of a CallError.
        let (reason, note): (&str, Option<String>) = match &outcome {
            TestOutcome::Ok => ("result.ok", None),
            TestOutcome::Failed(m) => {
                let note: String = m
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .take(200)
                    .collect();
                let note = note.trim().to_string();
                ("result.failed", (!note.is_empty()).then_some(note))
            }
        };
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            append_with_note(
                tc,
                &AuditEntry {
                    actor_user_id: Some(actor),
                    action: "integrations.tested",
                    target_type: Some("integration"),
                    target_id: Some(provider.as_str()),
                    request_id: Some(request_id),
                    reason: Some(reason),
                },
                note.as_deref(),
            )
            .await
        })
        .await?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn codes(p: Provider, pairs: &[(&str, &str)]) -> Vec<(&'static str, &'static str)> {
        validate(p, &form(pairs), false)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn connect_forms_are_checked_per_provider() {
        let (c, hint) = validate(
            Provider::Twilio,
            &form(&[
                ("account_sid", " AC0123456789abcdef0123456789abcdef "),
                ("auth_token", "0123456789abcdef0123456789abcdef"),
                ("from_number", "+31612345678"),
                ("extra", "ignored"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(
            c.get("account_sid"),
            Some("AC0123456789abcdef0123456789abcdef")
        );
        assert_eq!(c.get("extra"), None);
        assert_eq!(hint, "AC…cdef, +31612345678");
        assert!(!hint.contains("0123456789abcdef0123456789abcdef"));
        assert_eq!(
            codes(
                Provider::Twilio,
                &[("account_sid", "XX12"), ("from_number", "0612345678")]
            ),
            [
                ("account_sid", "invalid"),
                ("auth_token", "required"),
                ("from_number", "invalid")
            ]
        );
        assert_eq!(
            codes(
                Provider::Webhook,
                &[("url", "http://10.0.0.1/x"), ("secret", "nope")]
            ),
            [("url", "not_https"), ("secret", "invalid")]
        );
        let (_, hint) = validate(
            Provider::Webhook,
            &form(&[
                ("url", "https://hooks.example.nl/in?token=abc"),
                ("secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(hint, "https://hooks.example.nl/…");
        let (c, _) = validate(
            Provider::GoogleAds,
            &form(&[
                ("customer_id", "123-456-7890"),
                (
                    "conversion_action",
                    "customers/1234567890/conversionActions/987",
                ),
                ("developer_token", "devtoken_ABCDEF"),
                ("access_token", "ya29.a0AfH6SMB"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(c.get("customer_id"), Some("1234567890"));
        assert_eq!(
            codes(
                Provider::Meta,
                &[("pixel_id", "12ab"), ("access_token", "a b")]
            ),
            [("pixel_id", "invalid"), ("access_token", "invalid")]
        );
    }
}
