//! The `conversions.upload` job: one conversion to one ad platform, with
//! consent re-read at the moment of sending.
//!
//! Order inside the job's transaction: lock the upload row (a second
//! worker waits, then finds it finished) → nothing to do unless pending →
//! the person (gone: cancelled) → marketing consent now (none: cancelled
//! with [`NO_MARKETING_CONSENT`], the job finishes and no retry ever
//! sends it) → the platform's credentials (disconnected since: cancelled)
//! → hashed payload → [`Adapters::call`] with the upload's idempotency
//! key → `uploaded`. A transient failure or an open breaker rolls the
//! transaction back and leaves the upload pending for the job's retry or
//! deferral; a refusal by the platform (4xx) is recorded as `failed`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use futures::future::BoxFuture;
use metiva_security::cipher::KeyRing;
use uuid::Uuid;

use super::consent::{Subject, marketing_consent};
use super::identity::HashedIds;
use super::payload::{
    Conversion, GOOGLE_ADS_API_VERSION, META_API_VERSION, google_ads_body,
    google_conversion_action, google_customer_id, meta_body,
};
use super::{NO_MARKETING_CONSENT, UploadPayload};
use crate::adapters::{self, Adapters, CallError, OutboundRequest, Provider, ProviderBases};
use crate::jobs::{Handler, JobError, JobInfo};
use crate::schema::{conversion_uploads as uploads, persons};
use crate::{DbError, TenantConn};

/// The upload handler: the adapter framework (its database, provider
/// base URLs, breaker and clock) and the keys that open the workspace's
/// sealed credentials.
pub struct UploadConversion {
    keys: Arc<KeyRing>,
    adapters: Adapters,
}

impl UploadConversion {
    pub fn new(keys: Arc<KeyRing>, adapters: Adapters) -> Self {
        Self { keys, adapters }
    }
}

/// A pending upload, locked for its send.
#[derive(Queryable, Selectable)]
#[diesel(table_name = uploads)]
struct PendingUpload {
    person_id: Option<Uuid>,
    platform: String,
    state: String,
    idempotency_key: String,
    value_cents: i64,
    currency: String,
    won_at: DateTime<Utc>,
}

/// Locks `id` (a second worker waits, then finds it finished); `None`
/// when it is gone (the deal was deleted, its uploads with it) or no
/// longer pending.
async fn lock_pending(tc: &mut TenantConn<'_>, id: Uuid) -> Result<Option<PendingUpload>, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<PendingUpload> = uploads::table
        .filter(uploads::company_id.eq(&company))
        .filter(uploads::id.eq(id))
        .select(PendingUpload::as_select())
        .for_update()
        .first(tc.conn())
        .await
        .optional()?;
    Ok(row.filter(|u| u.state == "pending"))
}

async fn finish(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    state: &str,
    reason: Option<&str>,
) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    let sent: Option<DateTime<Utc>> = (state == "uploaded").then(Utc::now);
    diesel::update(
        uploads::table
            .filter(uploads::company_id.eq(&company))
            .filter(uploads::id.eq(id)),
    )
    .set((
        uploads::state.eq(state),
        uploads::reason.eq(reason),
        uploads::sent_at.eq(sent),
        uploads::updated_at.eq(now),
    ))
    .execute(tc.conn())
    .await?;
    Ok(())
}

impl Handler for UploadConversion {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let p: UploadPayload = super::send_payload(job, "payload is not an upload id")?;
            let company = tc.company().as_str().to_string();
            let Some(PendingUpload {
                person_id: person,
                platform,
                idempotency_key: key,
                value_cents,
                currency,
                won_at,
                ..
            }) = lock_pending(tc, p.upload).await?
            else {
                return Ok(());
            };
            let Some(person) = person else {
                finish(tc, p.upload, "cancelled", Some("person erased")).await?;
                return Ok(());
            };
            // Consent at the moment of sending, never the enqueue's.
            let Some(consent) = marketing_consent(tc, Subject::Person(person)).await? else {
                finish(tc, p.upload, "cancelled", Some(NO_MARKETING_CONSENT)).await?;
                return Ok(());
            };
            let provider: Provider = platform
                .parse()
                .map_err(|_| JobError::permanent("unknown platform"))?;
            let Some(creds) =
                adapters::credentials_loaded(self.adapters.database(), tc, &self.keys, provider)
                    .await?
            else {
                finish(tc, p.upload, "cancelled", Some("not connected")).await?;
                return Ok(());
            };
            let (email, phone): (Option<String>, Option<String>) = persons::table
                .filter(persons::company_id.eq(&company))
                .filter(persons::id.eq(person))
                .select((persons::email, persons::phone))
                .first(tc.conn())
                .await
                .map_err(DbError::from)?;
            let ids = HashedIds::of(email.as_deref(), phone.as_deref());
            if ids.is_empty() {
                finish(tc, p.upload, "cancelled", Some("no identifier")).await?;
                return Ok(());
            }
            let conversion = Conversion {
                ids,
                value_cents,
                currency,
                at: won_at,
                idempotency_key: key.clone(),
                consent,
            };
            let Some(req) = request(self.adapters.bases(), provider, &creds, &conversion) else {
                finish(tc, p.upload, "failed", Some("credentials incomplete")).await?;
                return Ok(());
            };
            match self
                .adapters
                .call(&job.company, provider, req.idempotency_key(key))
                .await
            {
                Ok(_) => finish(tc, p.upload, "uploaded", None).await?,
                Err(CallError::Permanent(m)) => {
                    // Recorded (and the job finished) so the deal page says
                    // so; a refusal does not change with a retry.
                    let reason: String = format!("rejected: {m}").chars().take(200).collect();
                    finish(tc, p.upload, "failed", Some(&reason)).await?;
                }
                Err(CallError::Transient { message, .. }) if job.attempt >= job.max_attempts => {
                    // The last attempt: say so on the deal rather than
                    // stay pending behind a dead job.
                    let reason: String = format!("provider unavailable: {message}")
                        .chars()
                        .take(200)
                        .collect();
                    finish(tc, p.upload, "failed", Some(&reason)).await?;
                }
                Err(e) => return Err(e.into()),
            }
            Ok(())
        })
    }
}

/// The platform's documented request for one conversion; `None` when the
/// credentials lack a field the request needs.
fn request(
    bases: &ProviderBases,
    provider: Provider,
    creds: &adapters::Credentials,
    c: &Conversion,
) -> Option<OutboundRequest> {
    match provider {
        Provider::GoogleAds => {
            let customer = google_customer_id(creds.get("customer_id")?)?;
            let action = google_conversion_action(&customer, creds.get("conversion_action")?)?;
            let body = google_ads_body(c, &action);
            let url = format!(
                "{}/{GOOGLE_ADS_API_VERSION}/customers/{customer}:uploadClickConversions",
                bases.google_ads
            );
            Some(
                OutboundRequest::post_json(url, body.to_string().into_bytes())
                    .bearer(creds.get("access_token")?)
                    .header("developer-token", creds.get("developer_token")?),
            )
        }
        Provider::Meta => {
            let pixel = creds.get("pixel_id")?;
            if pixel.is_empty() || !pixel.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let body = meta_body(c, "Purchase", creds.get("access_token")?);
            let url = format!("{}/{META_API_VERSION}/{pixel}/events", bases.meta);
            Some(OutboundRequest::post_json(
                url,
                body.to_string().into_bytes(),
            ))
        }
        Provider::Twilio | Provider::Webhook => None,
    }
}
