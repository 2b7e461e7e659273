//! Twilio's delivery-status callbacks: `POST /webhooks/twilio/{endpoint}`
//! with the workspace's unguessable endpoint id, signed by Twilio with the
//! workspace's auth token.
//!
//! # Security
//! - **The signature.** `X-Twilio-Signature` is
//!   `base64(HMAC-SHA1(auth token, URL + each POST parameter's name and
//!   value, sorted by name))`, as Twilio documents. The URL is the
//!   callback URL Metiva itself gave Twilio ([`callback_url`], from
//!   `METIVA_APP_URL`), never one rebuilt from the request's `Host` or
//!   scheme: a proxy or TLS terminator in front cannot break the check,
//!   and a request cannot choose the URL it is checked against.
//! - The comparison is constant-time (`Mac::verify_slice`), over the
//!   decoded bytes; a missing or undecodable header fails. Every failure
//!   answers the same (403) and records nothing.
//! - The company comes only from the endpoint id (directory function
//!   `metiva_twilio_endpoint`, active companies only); the signature is
//!   checked with that company's own token, so another workspace's valid
//!   signature fails here.
//! - Only the status, the message SID and the error code are kept; the
//!   callback's `To`/`From`/`Body` are never stored or logged.

use base64::Engine as _;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use metiva_security::cipher::KeyRing;
use sha1::Sha1;

use crate::adapters::{self, Provider};
use crate::schema::{sms_messages, twilio_endpoints};
use crate::{CompanyId, Database, DbError, TenantConn};

type HmacSha1 = Hmac<Sha1>;

/// The HMAC over the URL and the parameters sorted by name (then by
/// value, for a repeated name), each name and value concatenated.
fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // An HMAC accepts a key of any length: this cannot fail.
    let mut m = <HmacSha1 as Mac>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(url.as_bytes());
    for (k, v) in sorted {
        m.update(k.as_bytes());
        m.update(v.as_bytes());
    }
    m
}

/// The `X-Twilio-Signature` Twilio sends for a POST of `params` to `url`
/// (the fake Twilio signs with this).
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(mac(auth_token, url, params).finalize().into_bytes())
}

/// Checks `header` against the signature of `params` posted to `url`, in
/// constant time. A missing or malformed header is a failure.
pub fn verify(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> bool {
    let Some(given) = header
        .map(str::trim)
        .and_then(|h| base64::engine::general_purpose::STANDARD.decode(h).ok())
    else {
        return false;
    };
    mac(auth_token, url, params).verify_slice(&given).is_ok()
}

/// A form-encoded body's fields, in order (repeated names kept).
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The public status-callback URL of an endpoint: `METIVA_APP_URL` (a
/// bare origin) + `/webhooks/twilio/{endpoint}`.
pub fn callback_url(app_url: &str, endpoint: &str) -> String {
    format!(
        "{}/webhooks/twilio/{endpoint}",
        app_url.trim_end_matches('/')
    )
}

/// The bound workspace's endpoint id, made (128 random bits) on first use.
pub async fn endpoint_id(tc: &mut TenantConn<'_>) -> Result<String, DbError> {
    let company = tc.company().as_str().to_string();
    let fresh = format!("twe_{}", hex::encode(rand::random::<[u8; 16]>()));
    diesel::insert_into(twilio_endpoints::table)
        .values((
            twilio_endpoints::company_id.eq(&company),
            twilio_endpoints::endpoint_id.eq(&fresh),
        ))
        .on_conflict_do_nothing()
        .execute(tc.conn())
        .await?;
    Ok(twilio_endpoints::table
        .filter(twilio_endpoints::company_id.eq(&company))
        .select(twilio_endpoints::endpoint_id)
        .first(tc.conn())
        .await?)
}

/// What a status callback came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusOutcome {
    /// Signature good; the message's status is recorded.
    Recorded,
    /// Signature good, but no message of ours has that SID (answered 200:
    /// nothing for Twilio to retry).
    UnknownMessage,
    /// Missing or wrong signature, or the workspace has no Twilio
    /// credentials to check it with: 403, nothing recorded.
    Refused,
    /// Signed, but the parameters are not a status callback (400).
    BadPayload(&'static str),
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn is_sid(s: &str) -> bool {
    s.len() == 34
        && (s.starts_with("SM") || s.starts_with("MM"))
        && s.bytes().skip(2).all(|b| b.is_ascii_hexdigit())
}

impl Database {
    /// The callback path's one global lookup: the active company owning
    /// this endpoint id (directory function `metiva_twilio_endpoint`,
    /// company id only). Malformed ids are not looked up.
    pub async fn twilio_endpoint_company(
        &self,
        endpoint: &str,
    ) -> Result<Option<CompanyId>, DbError> {
        self.endpoint_company(
            &crate::webhook_endpoints::EndpointDirectory {
                prefix: "twe_",
                sql: "SELECT company_id FROM metiva_twilio_endpoint($1)",
            },
            endpoint,
        )
        .await
    }

    /// One status callback for `company` (from the endpoint id): opens the
    /// workspace's Twilio auth token, verifies `signature` over
    /// `public_url` (the callback URL Metiva gave Twilio) and `params`,
    /// and records the message's status, all in one transaction.
    pub async fn receive_twilio_status(
        &self,
        company: &CompanyId,
        keys: &KeyRing,
        public_url: &str,
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> Result<StatusOutcome, DbError> {
        crate::billing::connection::load_key(self, keys, company).await?;
        self.for_twilio_webhook(company, async |tc: &mut TenantConn<'_>| {
            // Fail closed: no credentials, no token, no way to check.
            let Some(creds) = adapters::credentials(tc, keys, Provider::Twilio).await? else {
                return Ok(StatusOutcome::Refused);
            };
            let Some(token) = creds.get("auth_token") else {
                return Ok(StatusOutcome::Refused);
            };
            if !verify(token, public_url, params, signature) {
                return Ok(StatusOutcome::Refused);
            }
            let (Some(sid), Some(status)) =
                (param(params, "MessageSid"), param(params, "MessageStatus"))
            else {
                return Ok(StatusOutcome::BadPayload(
                    "MessageSid and MessageStatus are required.",
                ));
            };
            if !is_sid(sid) {
                return Ok(StatusOutcome::BadPayload("MessageSid is malformed."));
            }
            if status.is_empty()
                || status.len() > 32
                || !status.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                return Ok(StatusOutcome::BadPayload("MessageStatus is malformed."));
            }
            let error_code = param(params, "ErrorCode").filter(|c| {
                !c.is_empty() && c.len() <= 10 && c.bytes().all(|b| b.is_ascii_digit())
            });
            let company = tc.company().as_str().to_string();
            let n = diesel::update(
                sms_messages::table
                    .filter(sms_messages::company_id.eq(&company))
                    .filter(sms_messages::provider_sid.eq(sid)),
            )
            .set((
                sms_messages::status.eq(status),
                sms_messages::error_code.eq(error_code),
                sms_messages::status_at.eq(diesel::dsl::now
                    .into_sql::<diesel::sql_types::Timestamptz>()
                    .nullable()),
            ))
            .execute(tc.conn())
            .await?;
            Ok(if n == 0 {
                StatusOutcome::UnknownMessage
            } else {
                StatusOutcome::Recorded
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn the_signature_matches_twilios_published_vectors() {
        // Twilio's request-validation example (the SDKs' test vector):
        // auth token 12345.
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(sign("12345", url, &params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert!(verify(
            "12345",
            url,
            &params,
            Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        ));
        assert!(!verify("12345", url, &params, None));
        assert!(!verify("12345", url, &params, Some("not base64!")));
        assert!(!verify(
            "12346",
            url,
            &params,
            Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        ));
        // A repeated name: sorted by name, then value, so the order the
        // fields were posted in does not matter.
        let repeated = p(&[("Sid", "CA123"), ("Digits", "5678"), ("Digits", "1234")]);
        let reordered = p(&[("Digits", "1234"), ("Sid", "CA123"), ("Digits", "5678")]);
        assert_eq!(
            sign("12345", url, &repeated),
            sign("12345", url, &reordered)
        );
    }

    #[test]
    fn order_of_posting_does_not_matter_but_content_does() {
        let a = p(&[("B", "2"), ("A", "1")]);
        let b = p(&[("A", "1"), ("B", "2")]);
        assert_eq!(
            sign("t", "https://x.example/h", &a),
            sign("t", "https://x.example/h", &b)
        );
        let c = p(&[("A", "1"), ("B", "3")]);
        assert_ne!(
            sign("t", "https://x.example/h", &a),
            sign("t", "https://x.example/h", &c)
        );
    }
}
