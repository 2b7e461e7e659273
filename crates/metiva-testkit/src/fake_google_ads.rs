//! A fake Google Ads API: `POST /{version}/customers/{id}:uploadClickConversions`
//! as the offline conversion import / enhanced conversions for leads
//! documents it. It wants a bearer token and a `developer-token`, a
//! `conversions` array whose entries name a `conversionAction`, a
//! `conversionDateTime`, `userIdentifiers` (hashed only: 64 lower-case hex)
//! and the EEA `consent`, and counts each conversion under its `orderId`
//! (Google's own de-duplication key). See [`crate::recording_fake`].

#![allow(
    clippy::indexing_slicing,
    reason = "serde_json::Value indexed by a key or number never panics: a missing entry is Null"
)]

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::recording_fake::{RecordingFake, Verdict, header, refuse};

/// Starts the fake on `addr` (`127.0.0.1:0`: an ephemeral port). Its
/// [`RecordingFake::base_url`] goes in `METIVA_GOOGLE_ADS_API_BASE`.
pub async fn start_on(addr: &str) -> RecordingFake {
    RecordingFake::start_on("google_ads", addr, check).await
}

pub async fn start() -> RecordingFake {
    start_on("127.0.0.1:0").await
}

fn is_sha256_hex(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn check(path: &str, headers: &HeaderMap, body: &[u8]) -> Verdict {
    let Some(customer) = path
        .rsplit_once("/customers/")
        .and_then(|(_, rest)| rest.strip_suffix(":uploadClickConversions"))
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
    else {
        return refuse(StatusCode::NOT_FOUND, "unknown method");
    };
    if !header(headers, "authorization").is_some_and(|a| a.starts_with("Bearer "))
        || header(headers, "developer-token").is_none()
    {
        return refuse(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED");
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return refuse(StatusCode::BAD_REQUEST, "body is not JSON");
    };
    let Some([c]) = v["conversions"].as_array().map(Vec::as_slice) else {
        return refuse(StatusCode::BAD_REQUEST, "one conversion per request");
    };
    let action_ok = c["conversionAction"]
        .as_str()
        .is_some_and(|a| a.starts_with(&format!("customers/{customer}/conversionActions/")));
    let ids_ok = c["userIdentifiers"].as_array().is_some_and(|ids| {
        !ids.is_empty()
            && ids
                .iter()
                .all(|i| is_sha256_hex(&i["hashedEmail"]) || is_sha256_hex(&i["hashedPhoneNumber"]))
    });
    let consent_ok = ["adUserData", "adPersonalization"]
        .iter()
        .all(|k| matches!(c["consent"][k].as_str(), Some("GRANTED" | "DENIED")));
    if !action_ok || !ids_ok || !consent_ok || c["conversionDateTime"].as_str().is_none() {
        return refuse(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT");
    }
    let key = c["orderId"]
        .as_str()
        .or_else(|| header(headers, "idempotency-key"))
        .map(str::to_string);
    Verdict {
        status: StatusCode::OK,
        body: json!({"results": [{
            "conversionAction": c["conversionAction"],
            "conversionDateTime": c["conversionDateTime"],
            "orderId": c["orderId"],
        }]}),
        key,
    }
}
