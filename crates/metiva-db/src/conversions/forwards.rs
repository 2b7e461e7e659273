//! Lead forwards: the pending `lead` forward a consented capture queues
//! (`forwards`, migration `consent`) is sent by a [`SEND`] job to the
//! workspace's webhook destination (the `webhook` integration: a URL and a
//! Standard Webhooks secret `whsec_<base64>`).
//!
//! The request follows the Standard Webhooks spec
//! (<https://www.standardwebhooks.com>): headers `webhook-id` (the
//! forward's message id, stable across retries so the receiver can
//! de-duplicate), `webhook-timestamp` (Unix seconds) and
//! `webhook-signature` (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"
//! keyed with the base64-decoded secret>`).
//!
//! # Security
//! - Consent is re-read at send ([`super::consent`], the forward's own
//!   visitor); without marketing consent the forward is `cancelled` with
//!   [`NO_MARKETING_CONSENT`] and never sent later.
//! - The body carries ids, the event, the time, the consent signals and
//!   the SHA-256 of the normalised email: no raw email, phone or IP, so a
//!   leaked or misconfigured destination learns no contact details.
//! - The signature is computed here, over exactly the bytes sent.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use metiva_security::cipher::KeyRing;
use serde_json::json;
use sha2::Sha256;
use uuid::Uuid;

use super::NO_MARKETING_CONSENT;
use super::consent::{Subject, marketing_consent};
use super::identity::HashedIds;
use crate::adapters::{self, Adapters, OutboundRequest, Provider};
use crate::jobs::{Backoff, Handler, JobError, JobInfo, JobKind};
use crate::schema::{forwards, persons};
use crate::{DbError, TenantConn};

/// Sending one forward.
pub const SEND: JobKind = JobKind {
    name: "forwards.send",
    max_attempts: 12,
    backoff: Backoff::DEFAULT,
};

#[derive(serde::Serialize, serde::Deserialize)]
struct ForwardPayload {
    forward: Uuid,
}

/// Enqueues the sending of `forward` in the caller's transaction (the
/// capture's), key `forward:{id}`.
pub async fn enqueue_send(tc: &mut TenantConn<'_>, forward: Uuid) -> Result<(), DbError> {
    super::enqueue_send(
        tc,
        &SEND,
        &ForwardPayload { forward },
        &format!("forward:{forward}"),
    )
    .await
}

/// Why a secret cannot sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the webhook secret is not whsec_<base64>")]
pub struct BadSecret;

/// The Standard Webhooks `webhook-signature` value for one message.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, BadSecret> {
    let key = B64
        .decode(secret.trim().strip_prefix("whsec_").ok_or(BadSecret)?)
        .map_err(|_| BadSecret)?;
    if key.is_empty() {
        return Err(BadSecret);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| BadSecret)?;
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// The message id of a forward: stable across retries.
pub fn message_id(forward: Uuid) -> String {
    format!("msg_{}", forward.simple())
}

/// The forward sender: the adapter framework and the keys that open the
/// workspace's sealed webhook secret.
pub struct SendForward {
    keys: Arc<KeyRing>,
    adapters: Adapters,
}

impl SendForward {
    pub fn new(keys: Arc<KeyRing>, adapters: Adapters) -> Self {
        Self { keys, adapters }
    }
}

/// A pending forward, locked for its send.
#[derive(Queryable, Selectable)]
#[diesel(table_name = forwards)]
struct PendingForward {
    visitor_id: Uuid,
    person_id: Option<Uuid>,
    event: String,
    status: String,
    created_at: DateTime<Utc>,
}

/// Locks `id` (a second worker waits, then finds it finished); `None`
/// when it is gone (erased) or no longer pending (sent, cancelled).
async fn lock_pending(
    tc: &mut TenantConn<'_>,
    id: Uuid,
) -> Result<Option<PendingForward>, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<PendingForward> = forwards::table
        .filter(forwards::company_id.eq(&company))
        .filter(forwards::id.eq(id))
        .select(PendingForward::as_select())
        .for_update()
        .first(tc.conn())
        .await
        .optional()?;
    Ok(row.filter(|f| f.status == "pending"))
}

async fn mark(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    status: &str,
    reason: Option<&str>,
) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    let target = forwards::table
        .filter(forwards::company_id.eq(&company))
        .filter(forwards::id.eq(id));
    if status == "sent" {
        diesel::update(target)
            .set((
                forwards::status.eq(status),
                forwards::sent_at.eq(now.into_sql::<diesel::sql_types::Timestamptz>().nullable()),
            ))
            .execute(tc.conn())
            .await?;
    } else {
        diesel::update(target)
            .set((
                forwards::status.eq(status),
                forwards::reason.eq(reason),
                forwards::cancelled_at
                    .eq(now.into_sql::<diesel::sql_types::Timestamptz>().nullable()),
            ))
            .execute(tc.conn())
            .await?;
    }
    Ok(())
}

impl Handler for SendForward {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let p: ForwardPayload = super::send_payload(job, "payload is not a forward id")?;
            let company = tc.company().as_str().to_string();
            let Some(PendingForward {
                visitor_id: visitor,
                person_id: person,
                event,
                created_at,
                ..
            }) = lock_pending(tc, p.forward).await?
            else {
                return Ok(());
            };
            let Some(consent) = marketing_consent(tc, Subject::Visitor(visitor)).await? else {
                mark(tc, p.forward, "cancelled", Some(NO_MARKETING_CONSENT)).await?;
                return Ok(());
            };
            // The workspace may register its destination later: retried
            // (visible on /settings/jobs) until the job is dead.
            let creds = adapters::credentials_loaded(
                self.adapters.database(),
                tc,
                &self.keys,
                Provider::Webhook,
            )
            .await?
            .ok_or_else(|| JobError::retry("webhook_not_connected"))?;
            let (Some(url), Some(secret)) = (creds.get("url"), creds.get("secret")) else {
                return Err(JobError::retry("webhook_credentials_incomplete"));
            };
            let email: Option<String> = match person {
                Some(pid) => persons::table
                    .filter(persons::company_id.eq(&company))
                    .filter(persons::id.eq(pid))
                    .select(persons::email)
                    .first::<Option<String>>(tc.conn())
                    .await
                    .optional()
                    .map_err(DbError::from)?
                    .flatten(),
                None => None,
            };
            let ids = HashedIds::of(email.as_deref(), None);
            let msg_id = message_id(p.forward);
            let body = json!({
                "type": format!("{event}.created"),
                "timestamp": created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "data": {
                    "forward_id": p.forward,
                    "person_id": person,
                    "event": event,
                    "hashed_email": ids.email,
                    "consent": {
                        "ad_user_data": consent.ad_user_data,
                        "ad_personalization": consent.ad_personalization,
                    },
                },
            })
            .to_string()
            .into_bytes();
            let ts = Utc::now().timestamp();
            let signature = sign(secret, &msg_id, ts, &body)
                .map_err(|_| JobError::retry("webhook_secret_malformed"))?;
            let req = OutboundRequest::post_json(url, body)
                .header("webhook-id", msg_id.clone())
                .header("webhook-timestamp", ts.to_string())
                .header("webhook-signature", signature)
                .idempotency_key(msg_id);
            // Open breaker: deferred; transient: retried; a refusal (4xx):
            // the job is dead and the forward stays pending, visible on
            // /settings/jobs, where a person may retry it once fixed.
            self.adapters
                .call(&job.company, Provider::Webhook, req)
                .await
                .map_err(JobError::from)?;
            mark(tc, p.forward, "sent", None).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_example_signs_as_documented() {
        // The spec's reference test vector (standard-webhooks, libraries'
        // shared tests).
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
        );
        assert_eq!(
            sig.as_deref(),
            Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(sign("nope", "m", 1, b""), Err(BadSecret));
        assert_eq!(sign("whsec_!!", "m", 1, b""), Err(BadSecret));
    }
}
