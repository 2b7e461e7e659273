//! Billing's jobs on the runner (`metiva_db::jobs`):
//!
//! - [`RETAINER_RUN`] (`billing.retainer_run`), enqueued per company by
//!   the cron `retainer-billing` daily at 06:00 Europe/Amsterdam: creates
//!   the due invoices ([`super::invoices::bill_due_retainers`]) and, in
//!   the same transaction, one [`ISSUE_INVOICE`] job per new invoice
//!   (key `invoice:{id}:issue`, so at most once).
//! - [`ISSUE_INVOICE`] (`billing.issue_invoice`): issues one invoice
//!   through Stripe ([`super::issue::issue_invoice`]). Stripe down (a
//!   timeout, 429, 5xx) is retried with the runner's backoff; the
//!   idempotency keys make every retry adopt what Stripe already created.

use chrono::Utc;
use futures::future::BoxFuture;
use metiva_security::cipher::KeyRing;
use std::sync::Arc;
use uuid::Uuid;

use super::issue::{IssueError, Issued, issue_invoice};
use super::stripe_client::{StripeClient, StripeError};
use crate::jobs::{Backoff, Handler, JobError, JobInfo, JobKind, NewJob, enqueue};
use crate::{Database, TenantConn};

/// The daily run (one per company per day, keyed by the cron).
pub const RETAINER_RUN: JobKind = JobKind {
    name: "billing.retainer_run",
    max_attempts: 10,
    backoff: Backoff::DEFAULT,
};

/// Issuing one invoice through Stripe. 12 attempts with the default
/// backoff (10 s doubling, capped at 1 h) span about 6 hours: well
/// inside the 24 hours Stripe keeps idempotency keys.
pub const ISSUE_INVOICE: JobKind = JobKind {
    name: "billing.issue_invoice",
    max_attempts: 12,
    backoff: Backoff::DEFAULT,
};

#[derive(serde::Serialize, serde::Deserialize)]
struct IssuePayload {
    invoice: Uuid,
}

/// Enqueues the issuing of `invoice` in the caller's transaction.
pub async fn enqueue_issue(tc: &mut TenantConn<'_>, invoice: Uuid) -> Result<(), crate::DbError> {
    let payload = serde_json::to_string(&IssuePayload { invoice })
        .map_err(|e| crate::DbError::Internal(e.to_string()))?;
    enqueue(
        tc,
        &NewJob {
            kind: &ISSUE_INVOICE,
            payload: &payload,
            key: Some(&format!("invoice:{invoice}:issue")),
            run_at: None,
        },
    )
    .await?;
    Ok(())
}

/// Rendering one invoice's PDF and storing it (sealed) in the object
/// store. Idempotent: an invoice with a PDF is done.
pub const INVOICE_PDF: JobKind = JobKind {
    name: "billing.invoice_pdf",
    max_attempts: 10,
    backoff: Backoff::DEFAULT,
};

/// Enqueues the rendering of `invoice`'s PDF in the caller's transaction.
pub async fn enqueue_pdf(tc: &mut TenantConn<'_>, invoice: Uuid) -> Result<(), crate::DbError> {
    let payload = serde_json::to_string(&IssuePayload { invoice })
        .map_err(|e| crate::DbError::Internal(e.to_string()))?;
    enqueue(
        tc,
        &NewJob {
            kind: &INVOICE_PDF,
            payload: &payload,
            key: Some(&format!("invoice:{invoice}:pdf")),
            run_at: None,
        },
    )
    .await?;
    Ok(())
}

/// The daily run's handler.
pub struct RetainerRun;

impl Handler for RetainerRun {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        _job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            // The billing day is a Dutch calendar day.
            let today = Utc::now()
                .with_timezone(&chrono_tz::Europe::Amsterdam)
                .date_naive();
            let made = super::invoices::bill_due_retainers(tc, today)
                .await
                .map_err(|e| JobError::retry(format!("billing run: {e}")))?;
            for id in made {
                enqueue_issue(tc, id).await?;
                enqueue_pdf(tc, id).await?;
            }
            Ok(())
        })
    }
}

/// The issuing handler: a Stripe client and the field keys (to open the
/// workspace's API key), and the database to load the company's data key.
pub struct IssueInvoice {
    db: Database,
    keys: Arc<KeyRing>,
    stripe: StripeClient,
}

impl IssueInvoice {
    pub fn new(db: Database, keys: Arc<KeyRing>, stripe: StripeClient) -> Self {
        Self { db, keys, stripe }
    }
}

impl Handler for IssueInvoice {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let p: IssuePayload = serde_json::from_str(&job.payload)
                .map_err(|_| JobError::permanent("payload is not an invoice id"))?;
            super::connection::load_key(&self.db, &self.keys, &job.company).await?;
            match issue_invoice(tc, &self.stripe, &self.keys, p.invoice).await {
                Ok(Issued::Sent(_) | Issued::AlreadyDone) => Ok(()),
                Ok(Issued::NotFound) => Err(JobError::permanent("invoice not found")),
                Err(IssueError::Stripe(StripeError::Permanent(m))) => Err(JobError::permanent(m)),
                Err(IssueError::Stripe(e @ StripeError::Transient { .. })) => {
                    Err(JobError::retry(e.to_string()))
                }
                // The workspace may connect Stripe later: retried until
                // the job is dead, visible on /settings/jobs.
                Err(IssueError::NotConnected) => Err(JobError::retry("stripe_not_connected")),
                Err(IssueError::Db(e)) => Err(e.into()),
            }
        })
    }
}

/// The PDF handler: the field keys and the object store.
pub struct InvoicePdf {
    db: Database,
    keys: Arc<KeyRing>,
    files: crate::files::FileStore,
}

impl InvoicePdf {
    pub fn new(db: Database, keys: Arc<KeyRing>, files: crate::files::FileStore) -> Self {
        Self { db, keys, files }
    }
}

impl Handler for InvoicePdf {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let p: IssuePayload = serde_json::from_str(&job.payload)
                .map_err(|_| JobError::permanent("payload is not an invoice id"))?;
            super::connection::load_key(&self.db, &self.keys, &job.company).await?;
            match super::pdf::render_and_store(tc, &self.files, &self.keys, p.invoice).await? {
                Some(_) => Ok(()),
                None => Err(JobError::permanent("invoice not found")),
            }
        })
    }
}
