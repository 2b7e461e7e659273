//! A fake Twilio Messages API for tests and the demo:
//! `POST /2010-04-01/Accounts/{sid}/Messages.json`, form-encoded `To`,
//! `From`, `Body` (and `StatusCallback`), basic auth. It answers 201 with a
//! message resource (`sid` `SM…`, `status` `queued`), records what it
//! received, counts per `I-Twilio-Idempotency-Token`, and can answer 503
//! or 429 + `Retry-After` ([`crate::recording_fake`]'s modes and
//! `fail_next`).
//!
//! [`status_callback`] builds a delivery-status callback signed exactly as
//! Twilio signs it (`X-Twilio-Signature`: base64 HMAC-SHA1 of the URL and
//! the sorted parameters, with the account's auth token), and
//! [`post_status_callback`] posts one to a running server.

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use crate::recording_fake::{Recorded, RecordingFake, Verdict, header, refuse};

/// Starts the fake on `addr`. Its [`RecordingFake::base_url`] goes in
/// `METIVA_TWILIO_API_BASE`.
pub async fn start_on(addr: &str) -> RecordingFake {
    RecordingFake::start_on("twilio", addr, check).await
}

pub async fn start() -> RecordingFake {
    start_on("127.0.0.1:0").await
}

/// The form fields of a recorded request, in order.
pub fn form(r: &Recorded) -> Vec<(String, String)> {
    metiva_db::alerts::twilio::parse_form(&r.body)
}

/// One field of a recorded request's form.
pub fn field(r: &Recorded, name: &str) -> Option<String> {
    form(r).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// The message SID the fake gave a recorded request.
fn message_sid() -> String {
    format!("SM{:032x}", rand::random::<u128>())
}

fn check(path: &str, headers: &HeaderMap, body: &[u8]) -> Verdict {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    // The integrations page's "test connection": GET the account.
    if let ["2010-04-01", "Accounts", account_json] = segments.as_slice()
        && let Some(account) = account_json.strip_suffix(".json")
    {
        if !header(headers, "authorization").is_some_and(|a| a.starts_with("Basic ")) {
            return refuse(StatusCode::UNAUTHORIZED, "Authenticate");
        }
        return Verdict {
            status: StatusCode::OK,
            body: json!({"sid": account, "status": "active"}),
            key: None,
        };
    }
    let ["2010-04-01", "Accounts", account, "Messages.json"] = segments.as_slice() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "The requested resource was not found",
        );
    };
    if account.is_empty() || !account.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return refuse(
            StatusCode::NOT_FOUND,
            "The requested resource was not found",
        );
    }
    if !header(headers, "authorization").is_some_and(|a| a.starts_with("Basic ") && a.len() > 6) {
        return refuse(StatusCode::UNAUTHORIZED, "Authenticate");
    }
    if !header(headers, "content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        return refuse(StatusCode::BAD_REQUEST, "form-encoded body required");
    }
    let fields = metiva_db::alerts::twilio::parse_form(body);
    let get = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let e164 = |v: Option<&str>| {
        v.and_then(|v| v.strip_prefix('+'))
            .is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
    };
    if !e164(get("To")) {
        // Twilio's code 21211: invalid 'To' phone number.
        return refuse(StatusCode::BAD_REQUEST, "21211 Invalid 'To' Phone Number");
    }
    if !e164(get("From")) {
        return refuse(StatusCode::BAD_REQUEST, "21212 Invalid 'From' Phone Number");
    }
    if get("Body").is_none_or(|b| b.is_empty() || b.chars().count() > 1600) {
        return refuse(StatusCode::BAD_REQUEST, "21602 Message body is required");
    }
    Verdict {
        status: StatusCode::CREATED,
        body: json!({
            "sid": message_sid(),
            "account_sid": account,
            "status": "queued",
            "to": get("To"),
            "from": get("From"),
        }),
        key: header(headers, "i-twilio-idempotency-token").map(str::to_string),
    }
}

/// A status callback for message `sid` posted to `url`: the form body and
/// its `X-Twilio-Signature` with `auth_token`.
pub fn status_callback(url: &str, auth_token: &str, sid: &str, status: &str) -> (String, String) {
    let params = vec![
        ("AccountSid".to_string(), "ACfake".to_string()),
        ("MessageSid".to_string(), sid.to_string()),
        ("MessageStatus".to_string(), status.to_string()),
        ("SmsSid".to_string(), sid.to_string()),
        ("SmsStatus".to_string(), status.to_string()),
    ];
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let body = params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let signature = metiva_db::alerts::twilio::sign(auth_token, url, &params);
    (body, signature)
}

/// Posts a signed status callback to `url` (plain `http://host:port/path`,
/// the demo's local server) and answers the HTTP status.
pub async fn post_status_callback(
    url: &str,
    auth_token: &str,
    sid: &str,
    status: &str,
) -> Result<u16, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (body, signature) = status_callback(url, auth_token, sid, status);
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .map_err(|e| format!("connect {host}: {e}"))?;
    let request = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| "no HTTP status in the answer".to_string())
}
