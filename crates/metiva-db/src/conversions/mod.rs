//! Consent-checked conversion uploads and lead forwards (issue 18).
//!
//! - **The trigger.** Moving a deal linked to a person into a won stage
//!   ([`on_deal_won`], called by the CRM's move in the same transaction)
//!   makes one `conversion_uploads` row per connected ad platform (Google
//!   Ads, Meta: a row in `integrations`) and enqueues one
//!   [`UPLOAD`] job each, keyed `conversion:{deal}:{platform}`: at most
//!   once per (deal, platform), for good.
//! - **At send** ([`upload::UploadConversion`]) the job re-reads marketing
//!   consent ([`consent`]); without it the upload ends `cancelled` with the
//!   reason [`NO_MARKETING_CONSENT`] and the job finishes (never sent by a
//!   retry). With it, the platform's documented payload is built from
//!   hashed identifiers ([`identity`], [`payload`]) and sent through the
//!   adapter framework with the upload's idempotency key; an open breaker
//!   defers the job without counting an attempt.
//! - **Lead forwards** ([`forwards`]): the pending `lead` forward a
//!   consented capture queues is sent by a [`forwards::SEND`] job to the
//!   workspace's webhook destination, signed per Standard Webhooks, after
//!   the same consent re-check.
//!
//! # Security
//! No personal data is stored here or in a job payload (ids only); the
//! hashed identifiers exist only in memory while a request is built.

pub mod consent;
pub mod forwards;
pub mod identity;
pub mod payload;
pub mod upload;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::access::TenantCtx;
use crate::jobs::{Backoff, JobError, JobInfo, JobKind, NewJob, enqueue};
use crate::schema::{conversion_uploads as uploads, deals, integrations};
use crate::{Database, DbError, TenantConn};

pub use upload::UploadConversion;

/// The reason a send was cancelled because consent was not on record.
pub const NO_MARKETING_CONSENT: &str = "no marketing consent";

/// Uploading one conversion. Twelve attempts with the default backoff
/// span about six hours; an open breaker defers without using any.
pub const UPLOAD: JobKind = JobKind {
    name: "conversions.upload",
    max_attempts: 12,
    backoff: Backoff::DEFAULT,
};

/// The ad platforms a won deal is uploaded to.
pub const AD_PLATFORMS: [&str; 2] = ["google_ads", "meta"];

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct UploadPayload {
    pub upload: Uuid,
}

/// Called in the transaction that moved `deal` into a won stage: one
/// upload and one job per connected ad platform, when the deal is linked
/// to a person. Moving the deal out of won and back adds nothing (the
/// row and the job key are unique per deal and platform).
pub async fn on_deal_won(tc: &mut TenantConn<'_>, deal: Uuid) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<(Option<Uuid>, i64, String)> = deals::table
        .filter(deals::company_id.eq(&company))
        .filter(deals::id.eq(deal))
        .select((deals::person_id, deals::value_cents, deals::currency))
        .first(tc.conn())
        .await
        .optional()?;
    let Some((Some(person), value_cents, currency)) = row else {
        return Ok(());
    };
    let connected: Vec<String> = integrations::table
        .filter(integrations::company_id.eq(&company))
        .filter(integrations::provider.eq_any(AD_PLATFORMS))
        .select(integrations::provider)
        .order(integrations::provider.asc())
        .load(tc.conn())
        .await?;
    for platform in connected {
        let id = Uuid::new_v4();
        let made: Option<Uuid> = diesel::insert_into(uploads::table)
            .values((
                uploads::company_id.eq(&company),
                uploads::id.eq(id),
                uploads::deal_id.eq(deal),
                uploads::person_id.eq(Some(person)),
                uploads::platform.eq(&platform),
                uploads::idempotency_key.eq(idempotency_key(id)),
                uploads::value_cents.eq(value_cents),
                uploads::currency.eq(&currency),
            ))
            .on_conflict_do_nothing()
            .returning(uploads::id)
            .get_result(tc.conn())
            .await
            .optional()?;
        let Some(id) = made else { continue };
        enqueue_send(
            tc,
            &UPLOAD,
            &UploadPayload { upload: id },
            &format!("conversion:{deal}:{platform}"),
        )
        .await?;
    }
    Ok(())
}

/// Enqueues one send job (an upload, a forward) in the caller's
/// transaction: the JSON `payload` (ids only), at most once for good per
/// `key`.
pub(crate) async fn enqueue_send<T: serde::Serialize>(
    tc: &mut TenantConn<'_>,
    kind: &JobKind,
    payload: &T,
    key: &str,
) -> Result<(), DbError> {
    let payload = serde_json::to_string(payload).map_err(|e| DbError::Internal(e.to_string()))?;
    enqueue(
        tc,
        &NewJob {
            kind,
            payload: &payload,
            key: Some(key),
            run_at: None,
        },
    )
    .await?;
    Ok(())
}

/// The payload a send job was enqueued with. One that does not parse
/// never will, so the job ends (`what` says what it should have been).
pub(crate) fn send_payload<T: serde::de::DeserializeOwned>(
    job: &JobInfo,
    what: &'static str,
) -> Result<T, JobError> {
    serde_json::from_str(&job.payload).map_err(|_| JobError::permanent(what))
}

/// The key the platforms de-duplicate by (Google's `orderId`, Meta's
/// `event_id`) and the adapter's idempotency key: one per upload, so one
/// per (deal, platform).
pub fn idempotency_key(upload: Uuid) -> String {
    format!("metiva-cu-{}", upload.simple())
}

/// One upload as the deal and person pages show it.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct UploadStatus {
    pub deal_id: Uuid,
    pub platform: String,
    /// `pending`, `uploaded`, `cancelled` or `failed`.
    pub state: String,
    /// A reason code (e.g. [`NO_MARKETING_CONSENT`]).
    pub reason: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// Which uploads to list.
#[derive(Debug, Clone, Copy)]
pub enum UploadsOf {
    Deal(Uuid),
    Person(Uuid),
}

/// The uploads of a deal or a person, newest first.
pub async fn uploads_of(
    tc: &mut TenantConn<'_>,
    of: UploadsOf,
) -> Result<Vec<UploadStatus>, DbError> {
    let company = tc.company().as_str().to_string();
    let q = uploads::table
        .filter(uploads::company_id.eq(&company))
        .order((uploads::created_at.desc(), uploads::platform.asc()))
        .select((
            uploads::deal_id,
            uploads::platform,
            uploads::state,
            uploads::reason,
            uploads::sent_at,
            uploads::updated_at,
        ))
        .limit(100)
        .into_boxed();
    let q = match of {
        UploadsOf::Deal(d) => q.filter(uploads::deal_id.eq(d)),
        UploadsOf::Person(p) => q.filter(uploads::person_id.eq(p)),
    };
    Ok(q.load(tc.conn()).await?)
}

impl Database {
    /// The conversion uploads of a deal or a person (the pages' status).
    pub async fn conversion_uploads(
        &self,
        ctx: &TenantCtx,
        of: UploadsOf,
    ) -> Result<Vec<UploadStatus>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            uploads_of(tc, of).await
        })
        .await
    }
}
