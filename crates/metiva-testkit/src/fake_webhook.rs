//! A fake webhook receiver (a workspace's lead destination): accepts any
//! `POST` that carries the three Standard Webhooks headers (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature`) and counts it under its
//! `webhook-id`. It does NOT verify the signature: the tests do that with
//! their own implementation, so the sender's code is not checked against
//! itself. See [`crate::recording_fake`].

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use crate::recording_fake::{RecordingFake, Verdict, header, refuse};

/// Starts the receiver on `addr`; post to [`RecordingFake::base_url`] plus
/// any path.
pub async fn start_on(addr: &str) -> RecordingFake {
    RecordingFake::start_on("webhook", addr, check).await
}

pub async fn start() -> RecordingFake {
    start_on("127.0.0.1:0").await
}

fn check(_path: &str, headers: &HeaderMap, _body: &[u8]) -> Verdict {
    let id = header(headers, "webhook-id");
    if id.is_none()
        || header(headers, "webhook-timestamp").is_none()
        || header(headers, "webhook-signature").is_none()
    {
        return refuse(StatusCode::BAD_REQUEST, "missing Standard Webhooks headers");
    }
    Verdict {
        status: StatusCode::OK,
        body: json!({"ok": true}),
        key: id.map(str::to_string),
    }
}
