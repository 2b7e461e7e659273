//! The request bodies the ad platforms document, built from hashed
//! identifiers only (see [`super::identity`]).
//!
//! - Google Ads offline conversion import with enhanced conversions for
//!   leads: `POST /{version}/customers/{id}:uploadClickConversions`, one
//!   `ClickConversion` with `userIdentifiers` (`hashedEmail`,
//!   `hashedPhoneNumber`), `conversionAction`, `conversionDateTime`
//!   (`yyyy-mm-dd hh:mm:ss+00:00`), `conversionValue`, `currencyCode`,
//!   `orderId` (Google's own de-duplication) and the EEA `consent`
//!   (`adUserData`, `adPersonalization`).
//! - Meta Conversions API: `POST /{version}/{pixel_id}/events`, one event
//!   with `event_name`, `event_time` (Unix seconds), `event_id` (Meta's
//!   de-duplication), `action_source` `system_generated` (a CRM event),
//!   `user_data` (`em`, `ph` hashed), `custom_data` (`value`, `currency`)
//!   and `data_processing_options` (empty: no Limited Data Use).
//!
//! # Security
//! These bodies are the only thing that leaves for an ad platform. They
//! are built from [`HashedIds`]: no raw email, phone or IP can reach them
//! (the integration tests search every recorded body for the raw values).
//! The access token goes in the body for Meta (never in a URL, which
//! proxies log).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::identity::HashedIds;

/// The Google Ads API version the upload speaks.
pub const GOOGLE_ADS_API_VERSION: &str = "v21";
/// The Graph API version of the Meta Conversions API calls.
pub const META_API_VERSION: &str = "v21.0";

/// The consent on record at the moment of sending, as the platforms'
/// EEA fields want it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdConsent {
    pub ad_user_data: bool,
    pub ad_personalization: bool,
}

/// One conversion, ready to send.
#[derive(Debug, Clone)]
pub struct Conversion {
    pub ids: HashedIds,
    pub value_cents: i64,
    pub currency: String,
    pub at: DateTime<Utc>,
    /// Also the platform's own de-duplication id (`orderId`, `event_id`).
    pub idempotency_key: String,
    pub consent: AdConsent,
}

fn euros(cents: i64) -> f64 {
    // Exact for every deal value (at most 10^12 cents < 2^53).
    cents as f64 / 100.0
}

fn granted(b: bool) -> &'static str {
    if b { "GRANTED" } else { "DENIED" }
}

/// Google Ads wants a digits-only customer id.
pub fn google_customer_id(raw: &str) -> Option<String> {
    let d: String = raw.chars().filter(|c| *c != '-' && *c != ' ').collect();
    (!d.is_empty() && d.len() <= 20 && d.bytes().all(|b| b.is_ascii_digit())).then_some(d)
}

/// The conversion action as a resource name; a bare id is completed.
pub fn google_conversion_action(customer: &str, raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.starts_with("customers/") && raw.contains("/conversionActions/") {
        return Some(raw.to_string());
    }
    (!raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("customers/{customer}/conversionActions/{raw}"))
}

/// The `uploadClickConversions` body.
pub fn google_ads_body(c: &Conversion, conversion_action: &str) -> Value {
    let mut ids = Vec::new();
    if let Some(e) = &c.ids.email {
        ids.push(json!({"hashedEmail": e}));
    }
    if let Some(p) = &c.ids.phone_e164 {
        ids.push(json!({"hashedPhoneNumber": p}));
    }
    json!({
        "conversions": [{
            "conversionAction": conversion_action,
            "conversionDateTime": c.at.format("%Y-%m-%d %H:%M:%S+00:00").to_string(),
            "conversionValue": euros(c.value_cents),
            "currencyCode": c.currency,
            "orderId": c.idempotency_key,
            "userIdentifiers": ids,
            "consent": {
                "adUserData": granted(c.consent.ad_user_data),
                "adPersonalization": granted(c.consent.ad_personalization),
            },
        }],
        "partialFailure": true,
    })
}

/// The Conversions API body for one event (`Purchase` for a won deal,
/// `Lead` for a capture).
pub fn meta_body(c: &Conversion, event_name: &str, access_token: &str) -> Value {
    let mut user = serde_json::Map::new();
    if let Some(e) = &c.ids.email {
        user.insert("em".into(), json!([e]));
    }
    if let Some(p) = &c.ids.phone_digits {
        user.insert("ph".into(), json!([p]));
    }
    json!({
        "data": [{
            "event_name": event_name,
            "event_time": c.at.timestamp(),
            "event_id": c.idempotency_key,
            "action_source": "system_generated",
            "user_data": user,
            "custom_data": {"value": euros(c.value_cents), "currency": c.currency},
            "data_processing_options": [],
        }],
        "access_token": access_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversion() -> Conversion {
        Conversion {
            ids: HashedIds::of(Some(" Jan@Example.nl"), Some("06 12345678")),
            value_cents: 125_050,
            currency: "EUR".into(),
            at: DateTime::from_timestamp(1_765_000_000, 0).unwrap_or_default(),
            idempotency_key: "cu-1".into(),
            consent: AdConsent {
                ad_user_data: true,
                ad_personalization: false,
            },
        }
    }

    #[test]
    fn google_ads_gets_its_documented_shape() {
        let b = google_ads_body(&conversion(), "customers/1/conversionActions/2");
        let c = &b["conversions"][0];
        assert_eq!(c["conversionValue"], 1250.5);
        assert_eq!(c["currencyCode"], "EUR");
        assert_eq!(c["conversionDateTime"], "2025-12-06 05:46:40+00:00");
        assert_eq!(c["consent"]["adUserData"], "GRANTED");
        assert_eq!(c["consent"]["adPersonalization"], "DENIED");
        assert_eq!(c["userIdentifiers"].as_array().map(Vec::len), Some(2));
        let text = b.to_string();
        assert!(!text.contains("jan@example.nl") && !text.contains("612345678"));
    }

    #[test]
    fn meta_gets_its_documented_shape() {
        let b = meta_body(&conversion(), "Purchase", "tok");
        let e = &b["data"][0];
        assert_eq!(e["event_name"], "Purchase");
        assert_eq!(e["event_time"], 1_765_000_000);
        assert_eq!(e["event_id"], "cu-1");
        assert_eq!(e["custom_data"]["value"], 1250.5);
        assert_eq!(e["user_data"]["em"][0].as_str().map(str::len), Some(64));
    }

    #[test]
    fn ids_are_checked() {
        assert_eq!(
            google_customer_id("123-456-7890").as_deref(),
            Some("1234567890")
        );
        assert_eq!(google_customer_id("12a"), None);
        assert_eq!(
            google_conversion_action("1", "99").as_deref(),
            Some("customers/1/conversionActions/99")
        );
        assert_eq!(google_conversion_action("1", "../x"), None);
    }
}
