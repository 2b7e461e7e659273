//! The `notify.sms` job: one SMS to a member through Twilio's Messages
//! API (`POST {base}/2010-04-01/Accounts/{sid}/Messages.json`,
//! form-encoded `To`, `From`, `Body`, `StatusCallback`; basic auth
//! `sid:token`), sent through the adapter framework so the breaker, the
//! retries and `Retry-After` apply: an open breaker defers the job, it
//! never fails it.
//!
//! The message row (`sms_messages`) is written first, in the transaction
//! that causes it (the sweep, a verification request); this job sends it
//! once: a row no longer `pending` is left alone, and the Twilio
//! idempotency token (`sms:{company}:{message}`) covers a crash between
//! Twilio's answer and our commit.
//!
//! # Security
//! - The breach alert is re-checked at send time: the member must still
//!   have a verified phone and SMS alerts on.
//! - Phone numbers and the code body are opened only here, with the
//!   workspace's data key; the code body is cleared once sent. Nothing
//!   but ids and reason codes reaches the job's error or any log.

use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use diesel_async::RunQueryDsl;
use futures::future::BoxFuture;
use metiva_security::cipher::{FieldContext, KeyRing, Sealed};
use uuid::Uuid;

use crate::adapters::{Adapters, CallError, OutboundRequest, Provider};
use crate::jobs::{Backoff, Handler, JobError, JobInfo, JobKind, NewJob, enqueue as enqueue_job};
use crate::schema::{member_phones, phone_codes, sms_messages};
use crate::{Database, DbError, TenantConn};

/// Sending one SMS. Twilio down is retried with the runner's backoff (10
/// attempts span over an hour); an open breaker defers without counting.
pub const NOTIFY_SMS: JobKind = JobKind {
    name: "notify.sms",
    max_attempts: 10,
    backoff: Backoff::DEFAULT,
};

#[derive(serde::Serialize, serde::Deserialize)]
struct SmsPayload {
    message: Uuid,
}

/// Enqueues the sending of message `id` in the caller's transaction (key
/// `sms:{id}`: at most once).
pub async fn enqueue(tc: &mut TenantConn<'_>, id: Uuid) -> Result<(), DbError> {
    let payload = serde_json::to_string(&SmsPayload { message: id })
        .map_err(|e| DbError::Internal(e.to_string()))?;
    enqueue_job(
        tc,
        &NewJob {
            kind: &NOTIFY_SMS,
            payload: &payload,
            key: Some(&format!("sms:{id}")),
            run_at: None,
        },
    )
    .await?;
    Ok(())
}

/// Where a sealed value of these tables lives (the cipher's associated
/// data binds it to company, table, column and row).
pub(crate) fn place<'a>(
    company: &'a str,
    table: &'a str,
    column: &'a str,
    row: &'a str,
) -> FieldContext<'a> {
    FieldContext {
        company_id: company,
        table,
        column,
        row_id: row,
    }
}

/// Opens a sealed text value; a failure is an internal error (never the
/// value).
pub(crate) fn open_text(
    keys: &KeyRing,
    at: &FieldContext<'_>,
    key_id: String,
    nonce: Vec<u8>,
    ciphertext: Vec<u8>,
) -> Result<String, DbError> {
    let nonce: [u8; 12] = nonce
        .try_into()
        .map_err(|_| DbError::Internal(format!("{}: bad nonce", at.column)))?;
    let plain = keys
        .open(
            &Sealed {
                key_id,
                nonce,
                ciphertext,
            },
            at,
        )
        .map_err(|e| DbError::Internal(format!("opening {}: {e}", at.column)))?;
    String::from_utf8(plain).map_err(|_| DbError::Internal(format!("{}: not text", at.column)))
}

/// Seals a text value at `at`.
pub(crate) fn seal_text(
    keys: &KeyRing,
    at: &FieldContext<'_>,
    value: &str,
) -> Result<Sealed, DbError> {
    keys.seal(value.as_bytes(), at)
        .map_err(|e| DbError::Internal(format!("sealing {}: {e}", at.column)))
}

/// The breach alert's text (no names: the member opens `/tasks`).
pub fn breach_body(breaches: i32, app_url: &str) -> String {
    let url = format!("{}/tasks", app_url.trim_end_matches('/'));
    if breaches == 1 {
        format!("Metiva: 1 eerste reactie is over de SLA / 1 first response is past its SLA. {url}")
    } else {
        format!(
            "Metiva: {breaches} eerste reacties zijn over de SLA / {breaches} first responses are past their SLA. {url}"
        )
    }
}

/// The `notify.sms` handler.
pub struct SendSms {
    db: Database,
    keys: Arc<KeyRing>,
    adapters: Adapters,
    /// `METIVA_APP_URL`: the base of the status callback and of the link
    /// in the breach alert.
    app_url: String,
}

impl SendSms {
    pub fn new(db: Database, keys: Arc<KeyRing>, adapters: Adapters, app_url: String) -> Self {
        Self {
            db,
            keys,
            adapters,
            app_url,
        }
    }
}

type MessageRow = (
    Uuid,
    String,
    Option<i32>,
    Option<Uuid>,
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    String,
);

async fn set_status(tc: &mut TenantConn<'_>, id: Uuid, status: &str) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    diesel::update(
        sms_messages::table
            .filter(sms_messages::company_id.eq(&company))
            .filter(sms_messages::id.eq(id)),
    )
    .set((
        sms_messages::status.eq(status),
        sms_messages::status_at.eq(diesel::dsl::now.into_sql::<Timestamptz>().nullable()),
    ))
    .execute(tc.conn())
    .await?;
    Ok(())
}

/// What to send: the number and the text, or why nothing is sent.
enum Resolved {
    Send { to: String, body: String },
    Skip(&'static str),
}

impl SendSms {
    async fn resolve(
        &self,
        tc: &mut TenantConn<'_>,
        id: Uuid,
        m: MessageRow,
    ) -> Result<Resolved, DbError> {
        let company = tc.company().as_str().to_string();
        let (user, purpose, breaches, code_id, body_key, body_nonce, body_ct, _) = m;
        match purpose.as_str() {
            "sla_breach" => {
                // Re-checked now: still verified (the row) and opted in.
                let phone: Option<(String, Vec<u8>, Vec<u8>)> = member_phones::table
                    .filter(member_phones::company_id.eq(&company))
                    .filter(member_phones::user_id.eq(user))
                    .filter(member_phones::sms_alerts.eq(true))
                    .select((
                        member_phones::phone_key_id,
                        member_phones::phone_nonce,
                        member_phones::phone_ciphertext,
                    ))
                    .first(tc.conn())
                    .await
                    .optional()?;
                let Some((k, n, c)) = phone else {
                    return Ok(Resolved::Skip("opted_out"));
                };
                let row = user.to_string();
                let to = open_text(
                    &self.keys,
                    &place(&company, "member_phones", "phone", &row),
                    k,
                    n,
                    c,
                )?;
                Ok(Resolved::Send {
                    to,
                    body: breach_body(breaches.unwrap_or(1), &self.app_url),
                })
            }
            "phone_code" => {
                let (Some(code_id), Some(k), Some(n), Some(c)) =
                    (code_id, body_key, body_nonce, body_ct)
                else {
                    return Ok(Resolved::Skip("no_body"));
                };
                let phone: Option<(String, Vec<u8>, Vec<u8>)> = phone_codes::table
                    .filter(phone_codes::company_id.eq(&company))
                    .filter(phone_codes::id.eq(code_id))
                    .select((
                        phone_codes::phone_key_id,
                        phone_codes::phone_nonce,
                        phone_codes::phone_ciphertext,
                    ))
                    .first(tc.conn())
                    .await
                    .optional()?;
                let Some((pk, pn, pc)) = phone else {
                    return Ok(Resolved::Skip("code_gone"));
                };
                let to = open_text(
                    &self.keys,
                    &place(&company, "phone_codes", "phone", &code_id.to_string()),
                    pk,
                    pn,
                    pc,
                )?;
                let body = open_text(
                    &self.keys,
                    &place(&company, "sms_messages", "body", &id.to_string()),
                    k,
                    n,
                    c,
                )?;
                Ok(Resolved::Send { to, body })
            }
            _ => Ok(Resolved::Skip("unknown_purpose")),
        }
    }

    async fn send(&self, tc: &mut TenantConn<'_>, job: &JobInfo, id: Uuid) -> Result<(), JobError> {
        let company = tc.company().as_str().to_string();
        let row: Option<MessageRow> = sms_messages::table
            .filter(sms_messages::company_id.eq(&company))
            .filter(sms_messages::id.eq(id))
            .select((
                sms_messages::user_id,
                sms_messages::purpose,
                sms_messages::breaches,
                sms_messages::phone_code_id,
                sms_messages::body_key_id,
                sms_messages::body_nonce,
                sms_messages::body_ciphertext,
                sms_messages::status,
            ))
            .first(tc.conn())
            .await
            .optional()
            .map_err(DbError::from)?;
        // Gone (the member was removed) or already handled: nothing to do.
        let Some(row) = row else { return Ok(()) };
        if row.7 != "pending" {
            return Ok(());
        }
        let (to, body) = match self.resolve(tc, id, row).await? {
            Resolved::Send { to, body } => (to, body),
            Resolved::Skip(why) => {
                set_status(tc, id, why).await?;
                return Ok(());
            }
        };
        let Some(creds) = crate::adapters::credentials(tc, &self.keys, Provider::Twilio).await?
        else {
            // Nobody to send through: recorded on the message, not retried.
            set_status(tc, id, "not_connected").await?;
            return Ok(());
        };
        let (Some(sid), Some(token), Some(from)) = (
            creds.get("account_sid"),
            creds.get("auth_token"),
            creds.get("from_number"),
        ) else {
            set_status(tc, id, "not_connected").await?;
            return Ok(());
        };
        // The SID goes into the URL path: letters and digits only.
        if sid.is_empty() || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            set_status(tc, id, "bad_credentials").await?;
            return Ok(());
        }
        let endpoint = super::twilio::endpoint_id(tc).await?;
        let callback = super::twilio::callback_url(&self.app_url, &endpoint);
        let url = format!(
            "{}/2010-04-01/Accounts/{sid}/Messages.json",
            self.adapters.bases().twilio.trim_end_matches('/')
        );
        let req = OutboundRequest::post_form(
            url,
            &[
                ("To", to.as_str()),
                ("From", from),
                ("Body", body.as_str()),
                ("StatusCallback", callback.as_str()),
            ],
        )
        .basic_auth(sid, token)
        .idempotency_key(format!("sms:{company}:{id}"));
        match self
            .adapters
            .call(&job.company, Provider::Twilio, req)
            .await
        {
            Ok(resp) => {
                let json: serde_json::Value =
                    serde_json::from_slice(&resp.body).unwrap_or_default();
                let provider_sid = json
                    .get("sid")
                    .and_then(|v| v.as_str())
                    .filter(|s| is_message_sid(s))
                    .map(str::to_string);
                let status = json
                    .get("status")
                    .and_then(|v| v.as_str())
                    .filter(|s| {
                        !s.is_empty()
                            && s.len() <= 32
                            && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    })
                    .unwrap_or("queued")
                    .to_string();
                diesel::update(
                    sms_messages::table
                        .filter(sms_messages::company_id.eq(&company))
                        .filter(sms_messages::id.eq(id)),
                )
                .set((
                    sms_messages::status.eq(status),
                    sms_messages::provider_sid.eq(provider_sid),
                    sms_messages::sent_at.eq(diesel::dsl::now.into_sql::<Timestamptz>().nullable()),
                    // The code is not kept once it is on its way.
                    sms_messages::body_key_id.eq(None::<String>),
                    sms_messages::body_nonce.eq(None::<Vec<u8>>),
                    sms_messages::body_ciphertext.eq(None::<Vec<u8>>),
                ))
                .execute(tc.conn())
                .await
                .map_err(DbError::from)?;
                Ok(())
            }
            // Twilio refused it (a bad number, 4xx): recorded on the
            // message, where the member sees it; retrying cannot help.
            Err(CallError::Permanent(_)) => {
                set_status(tc, id, "failed").await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn is_message_sid(s: &str) -> bool {
    s.len() == 34
        && (s.starts_with("SM") || s.starts_with("MM"))
        && s.bytes().skip(2).all(|b| b.is_ascii_hexdigit())
}

impl Handler for SendSms {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let p: SmsPayload = serde_json::from_str(&job.payload)
                .map_err(|_| JobError::permanent("payload is not an sms message id"))?;
            crate::billing::connection::load_key(&self.db, &self.keys, &job.company).await?;
            self.send(tc, job, p.message).await
        })
    }
}
