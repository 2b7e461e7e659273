//! A fake Meta Conversions API: `POST /{version}/{pixel_id}/events`. It
//! wants an `access_token` (in the body or the query), a `data` array of
//! events with `event_name`, `event_time`, `event_id`, `action_source` and
//! hashed `user_data` (`em` / `ph`: 64 lower-case hex each), and counts
//! each event under its `event_id` (Meta's own de-duplication key). See
//! [`crate::recording_fake`].

#![allow(
    clippy::indexing_slicing,
    reason = "serde_json::Value indexed by a key or number never panics: a missing entry is Null"
)]

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::recording_fake::{RecordingFake, Verdict, header, refuse};

/// Starts the fake on `addr`. Its [`RecordingFake::base_url`] goes in
/// `METIVA_META_API_BASE`.
pub async fn start_on(addr: &str) -> RecordingFake {
    RecordingFake::start_on("meta", addr, check).await
}

pub async fn start() -> RecordingFake {
    start_on("127.0.0.1:0").await
}

fn hashed_list(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.iter().all(|i| {
            i.as_str().is_some_and(|s| {
                s.len() == 64
                    && s.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
        }),
        _ => false,
    }
}

fn check(path: &str, headers: &HeaderMap, body: &[u8]) -> Verdict {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let [_version, pixel, "events"] = segments.as_slice() else {
        return refuse(StatusCode::NOT_FOUND, "unknown path");
    };
    if pixel.is_empty() || !pixel.bytes().all(|b| b.is_ascii_digit()) {
        return refuse(StatusCode::BAD_REQUEST, "bad pixel id");
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return refuse(StatusCode::BAD_REQUEST, "body is not JSON");
    };
    let token = v["access_token"].as_str().is_some() || header(headers, "authorization").is_some();
    if !token {
        return refuse(StatusCode::UNAUTHORIZED, "OAuthException");
    }
    let Some([e]) = v["data"].as_array().map(Vec::as_slice) else {
        return refuse(StatusCode::BAD_REQUEST, "one event per request");
    };
    let ok = e["event_name"].as_str().is_some()
        && e["event_time"].as_i64().is_some()
        && e["action_source"].as_str().is_some()
        && hashed_list(&e["user_data"]["em"])
        && hashed_list(&e["user_data"]["ph"])
        && (e["user_data"]["em"].is_array() || e["user_data"]["ph"].is_array());
    if !ok {
        return refuse(StatusCode::BAD_REQUEST, "invalid event");
    }
    Verdict {
        status: StatusCode::OK,
        body: json!({"events_received": 1, "messages": [], "fbtrace_id": "fake"}),
        key: e["event_id"]
            .as_str()
            .or_else(|| header(headers, "idempotency-key"))
            .map(str::to_string),
    }
}
