//! Marketing consent at the moment of sending: the one check every
//! outbound personal-data send (conversion uploads, lead forwards) makes.
//!
//! # Security
//! - Read inside the sending job's own transaction, immediately before the
//!   payload is built: consent withdrawn at any time before that read is
//!   seen, whatever was true when the job was enqueued.
//! - Two records must agree (fail closed): a visitor linked to the person
//!   (or the forward's own visitor) whose current state grants marketing,
//!   AND that visitor's latest ledger decision grants marketing and is not
//!   a withdrawal. A withdrawal that unlinks the person leaves no visitor,
//!   so it denies too.
//! - The visitor row is deliberately not locked: a withdrawal arriving on
//!   the public `/collect` endpoint must never wait for a provider's HTTP
//!   answer (the request path never waits on a provider). A withdrawal
//!   committed after this read is after "the moment of sending".

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::payload::AdConsent;
use crate::schema::{consent_decisions, visitors};
use crate::{DbError, TenantConn};

/// Whom consent is asked about.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    /// Any visitor linked to this person.
    Person(Uuid),
    /// This visitor (a forward names its own).
    Visitor(Uuid),
}

/// The consent on record now, or `None` when there is no marketing
/// consent.
pub async fn marketing_consent(
    tc: &mut TenantConn<'_>,
    subject: Subject,
) -> Result<Option<AdConsent>, DbError> {
    let company = tc.company().as_str().to_string();
    let query = visitors::table
        .filter(visitors::company_id.eq(&company))
        .filter(visitors::marketing)
        .select(visitors::id)
        .order(visitors::last_seen.desc())
        .into_boxed();
    let query = match subject {
        Subject::Person(p) => query.filter(visitors::person_id.eq(p)),
        Subject::Visitor(v) => query.filter(visitors::id.eq(v)),
    };
    let candidates: Vec<Uuid> = query.limit(20).load(tc.conn()).await?;
    for v in candidates {
        let latest: Option<(bool, bool)> = consent_decisions::table
            .filter(consent_decisions::company_id.eq(&company))
            .filter(consent_decisions::visitor_id.eq(v))
            .order(consent_decisions::id.desc())
            .select((consent_decisions::marketing, consent_decisions::withdrawal))
            .first(tc.conn())
            .await
            .optional()?;
        if let Some((true, false)) = latest {
            // Marketing (targeting and forwards, the banner's wording)
            // covers both EEA signals: the data may be used for ads and
            // for personalised ads. Nothing else grants either.
            return Ok(Some(AdConsent {
                ad_user_data: true,
                ad_personalization: true,
            }));
        }
    }
    Ok(None)
}
