//! Stripe's webhook events: verified, stored once by event id, then
//! applied to the invoice they name.
//!
//! # Security
//! - The company comes from the endpoint id in the URL, through the
//!   directory function `metiva_stripe_endpoint` (company id only), and
//!   everything after runs under that company's binding in the named
//!   entry point `Database::for_stripe_webhook` (the app role under
//!   FORCE'd RLS, never a BYPASSRLS role).
//! - The signature is checked (see [`super::signature`]) with that
//!   workspace's own signing secret, over the raw body, before the body
//!   is parsed or anything is stored.
//! - Events are deduplicated by (company, event id) before any effect: a
//!   replay is acknowledged and changes nothing.
//! - Only the event's id, type and invoice id are kept, never the payload
//!   (it can carry a customer's name and email).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use metiva_security::cipher::KeyRing;

use super::invoices::{InvoiceStatus, set_status_from_stripe};
use super::signature::{self, SignatureError};
use crate::schema::stripe_events as ev;
use crate::{CompanyId, Database, DbError, TenantConn};

/// The event types that change an invoice; others are stored and
/// acknowledged, with no effect.
pub const HANDLED: [(&str, InvoiceStatus); 3] = [
    ("invoice.paid", InvoiceStatus::Paid),
    ("invoice.payment_failed", InvoiceStatus::Failed),
    ("invoice.voided", InvoiceStatus::Void),
];

/// What is kept of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEvent {
    pub id: String,
    pub kind: String,
    /// `data.object.id` when the object is an invoice.
    pub invoice_id: Option<String>,
}

/// Reads the few fields kept from a verified body. Refuses what is not a
/// Stripe event (400).
pub fn parse_event(body: &[u8]) -> Result<StripeEvent, &'static str> {
    #[derive(serde::Deserialize)]
    struct Object {
        id: Option<String>,
        object: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Data {
        object: Object,
    }
    #[derive(serde::Deserialize)]
    struct Event {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        data: Data,
    }
    let e: Event = serde_json::from_slice(body).map_err(|_| "The body is not a Stripe event.")?;
    let id_ok = e.id.len() <= 254
        && e.id.strip_prefix("evt_").is_some_and(|r| {
            !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if !id_ok {
        return Err("The event id is malformed.");
    }
    if e.kind.is_empty()
        || e.kind.len() > 100
        || !e
            .kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    {
        return Err("The event type is malformed.");
    }
    let invoice_id = match (e.data.object.object.as_deref(), e.data.object.id) {
        (Some("invoice"), Some(id)) if id.len() <= 255 => Some(id),
        _ => None,
    };
    Ok(StripeEvent {
        id: e.id,
        kind: e.kind,
        invoice_id,
    })
}

/// What happened to a webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Stored for the first time (and handled).
    Stored,
    /// Seen before: acknowledged, nothing changed.
    Duplicate,
    BadSignature(SignatureError),
    BadPayload(&'static str),
    /// The connection is gone (the endpoint no longer resolves).
    NotConnected,
}

/// Stores the event unless its id was seen; answers whether it is new.
pub async fn store_event(tc: &mut TenantConn<'_>, e: &StripeEvent) -> Result<bool, DbError> {
    let company = tc.company().as_str().to_string();
    let n = diesel::insert_into(ev::table)
        .values((
            ev::company_id.eq(&company),
            ev::event_id.eq(&e.id),
            ev::event_type.eq(&e.kind),
            ev::stripe_invoice_id.eq(&e.invoice_id),
        ))
        .on_conflict_do_nothing()
        .execute(tc.conn())
        .await?;
    Ok(n == 1)
}

/// Applies a stored event once (idempotent: a processed event is left
/// alone), in the caller's transaction. Answers the outcome recorded.
pub async fn apply_event(
    tc: &mut TenantConn<'_>,
    event_id: &str,
) -> Result<Option<String>, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<(
        String,
        Option<String>,
        Option<chrono::DateTime<chrono::Utc>>,
    )> = ev::table
        .filter(ev::company_id.eq(&company))
        .filter(ev::event_id.eq(event_id))
        .select((ev::event_type, ev::stripe_invoice_id, ev::processed_at))
        .for_update()
        .first(tc.conn())
        .await
        .optional()?;
    let Some((kind, invoice, processed)) = row else {
        return Ok(None);
    };
    if processed.is_some() {
        return Ok(None);
    }
    let target = HANDLED
        .iter()
        .find(|(k, _)| *k == kind.as_str())
        .map(|(_, s)| *s);
    let outcome = match (target, invoice) {
        (Some(status), Some(inv)) => {
            if set_status_from_stripe(tc, &inv, status).await? {
                format!("invoice_{}", status.key())
            } else {
                "no_change".to_string()
            }
        }
        _ => "ignored".to_string(),
    };
    diesel::update(ev::table)
        .filter(ev::company_id.eq(&company))
        .filter(ev::event_id.eq(event_id))
        .set((
            ev::processed_at.eq(diesel::dsl::now),
            ev::outcome.eq(&outcome),
        ))
        .execute(tc.conn())
        .await?;
    Ok(Some(outcome))
}

impl Database {
    /// One webhook delivery for `company` (resolved from the endpoint
    /// id): in one transaction, opens that workspace's signing secret,
    /// verifies the signature over `body` at `now` (unix seconds), and
    /// stores and applies the event. Only an `Ok(Stored | Duplicate)`
    /// (committed) may be answered 2xx.
    pub async fn receive_stripe_webhook(
        &self,
        company: &CompanyId,
        keys: &KeyRing,
        header: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<WebhookOutcome, DbError> {
        super::connection::load_key(self, keys, company).await?;
        self.for_stripe_webhook(company, async |tc: &mut TenantConn<'_>| {
            let Some(secrets) = super::connection::secrets(tc, keys).await? else {
                return Ok(WebhookOutcome::NotConnected);
            };
            if let Err(e) = signature::verify(header, body, secrets.webhook_secret.as_bytes(), now)
            {
                return Ok(WebhookOutcome::BadSignature(e));
            }
            let event = match parse_event(body) {
                Ok(e) => e,
                Err(why) => return Ok(WebhookOutcome::BadPayload(why)),
            };
            if !store_event(tc, &event).await? {
                return Ok(WebhookOutcome::Duplicate);
            }
            apply_event(tc, &event.id).await?;
            Ok(WebhookOutcome::Stored)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_keep_id_type_and_invoice_only() {
        let e = parse_event(
            br#"{"id":"evt_1Abc","type":"invoice.paid","data":{"object":{"id":"in_9","object":"invoice","customer_email":"x@y.example"}}}"#,
        )
        .unwrap();
        assert_eq!(
            e,
            StripeEvent {
                id: "evt_1Abc".into(),
                kind: "invoice.paid".into(),
                invoice_id: Some("in_9".into())
            }
        );
        let other = parse_event(br#"{"id":"evt_2","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}"#).unwrap();
        assert_eq!(other.invoice_id, None);
        for bad in [
            &b"not json"[..],
            br#"{"id":"x","type":"a","data":{"object":{}}}"#,
            br#"{"id":"evt_1","type":"a b","data":{"object":{}}}"#,
        ] {
            assert!(parse_event(bad).is_err());
        }
    }
}
