//! A fake S3-compatible bucket for tests and the demo (issue 17): the
//! REST calls `object_store`'s S3 client makes for Metiva's files, kept in
//! memory, behind real AWS Signature Version 4 verification.
//!
//! - **Calls.** Path-style `PUT`, `GET`, `HEAD` and `DELETE` of an object
//!   (`/{bucket}/{key}`), DeleteObjects (`POST /{bucket}?delete`, the
//!   client's way to delete), and ListObjectsV2
//!   (`GET /{bucket}?list-type=2`, with `prefix`, `delimiter`,
//!   `start-after`, `max-keys` and continuation tokens; offboarding lists
//!   a workspace's objects to delete them), and multipart uploads
//!   (create, upload part, complete, abort; [`multipart`], with S3's
//!   5 MiB minimum part size; workspace exports are uploaded this way).
//!   Anything else (`Range` reads, other listings) is a 501
//!   `NotImplemented`, so a client change that starts using them shows
//!   up as a failing test.
//! - **Signatures.** Every request must carry a SigV4 `Authorization`
//!   header for the configured key id, whose signature is recomputed here
//!   from the canonical request (method, path, sorted query, the signed
//!   headers, the payload hash) with the configured secret. A wrong secret
//!   is S3's `403 SignatureDoesNotMatch`; an unknown key id is
//!   `403 InvalidAccessKeyId`; a body whose SHA-256 differs from
//!   `x-amz-content-sha256` is `400 XAmzContentSHA256Mismatch`. (The
//!   request time is not checked against the clock.)
//! - **Faults.** [`FakeS3::fail_next`] answers the next `n` requests with
//!   a 500 `InternalError` or a 503 `SlowDown`, before anything is stored.
//! - **Inspection.** [`FakeS3::object`], [`FakeS3::keys`],
//!   [`FakeS3::uploads_in_progress`] and [`FakeS3::requests`] show what is
//!   stored (the bytes at rest), what was left unfinished and what was
//!   asked.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

mod multipart;

/// The fake's bucket, key id and secret when started with [`FakeS3::start`].
pub const BUCKET: &str = "metiva-test";
pub const ACCESS_KEY_ID: &str = "AKIDMETIVAFAKE";
pub const SECRET_ACCESS_KEY: &str = "metiva-fake-s3-secret";

/// SigV4's encoding of query names and values: everything but unreserved.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A fault answered instead of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Fault {
    /// 500 `InternalError`.
    InternalError,
    /// 503 `SlowDown`.
    SlowDown,
}

#[derive(Default)]
struct S3State {
    bucket: String,
    access_key_id: String,
    secret: String,
    objects: BTreeMap<String, Vec<u8>>,
    faults: Vec<S3Fault>,
    /// "METHOD status" per request, in order.
    log: Vec<String>,
    /// The most keys one listing page holds (S3: 1,000), smaller in tests
    /// of continuation tokens ([`FakeS3::set_list_page_size`]).
    list_page_size: Option<usize>,
    /// Multipart uploads in progress ([`multipart`]).
    uploads: multipart::Uploads,
}

/// A running fake; stops when dropped.
pub struct FakeS3 {
    addr: SocketAddr,
    state: Arc<Mutex<S3State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeS3 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(s: &Mutex<S3State>) -> std::sync::MutexGuard<'_, S3State> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeS3 {
    /// Starts on an ephemeral loopback port with [`BUCKET`],
    /// [`ACCESS_KEY_ID`] and [`SECRET_ACCESS_KEY`].
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// Starts on `addr` (the demo uses a fixed port).
    pub async fn start_on(addr: &str) -> Self {
        let state = Arc::new(Mutex::new(S3State {
            bucket: BUCKET.into(),
            access_key_id: ACCESS_KEY_ID.into(),
            secret: SECRET_ACCESS_KEY.into(),
            ..S3State::default()
        }));
        let router = Router::new()
            .fallback(handle)
            // Larger than any file (10 MB sealed), so the fake never
            // refuses what S3 would take.
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(state.clone());
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => panic!("fake S3 cannot listen on {addr}: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("fake S3 has no address: {e}"),
        };
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, state, task }
    }

    /// The endpoint to put in `METIVA_S3_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` requests get `fault`.
    pub fn fail_next(&self, n: usize, fault: S3Fault) {
        lock(&self.state)
            .faults
            .extend(std::iter::repeat_n(fault, n));
    }

    /// Listing pages hold at most `n` keys (at least 1), so a few objects
    /// take several pages and continuation tokens.
    pub fn set_list_page_size(&self, n: usize) {
        lock(&self.state).list_page_size = Some(n.max(1));
    }

    /// The bytes stored under `key` (without the bucket).
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        lock(&self.state).objects.get(key).cloned()
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub fn uploads_in_progress(&self) -> usize {
        lock(&self.state).uploads.in_progress()
    }

    /// Every stored key, sorted.
    pub fn keys(&self) -> Vec<String> {
        lock(&self.state).objects.keys().cloned().collect()
    }

    /// Every request so far as "METHOD status" (e.g. "PUT 503").
    pub fn requests(&self) -> Vec<String> {
        lock(&self.state).log.clone()
    }
}

fn xml_error(status: StatusCode, code: &str, message: &str, resource: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><Resource>{resource}</Resource><RequestId>fake-s3</RequestId></Error>"
    );
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/xml"),
    );
    r
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data);
            m.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length.
        Err(_) => Vec::new(),
    }
}

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=…,
/// SignedHeaders=…, Signature=…`.
struct Auth<'a> {
    key_id: &'a str,
    /// `date/region/service/aws4_request`.
    scope: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_auth(value: &str) -> Option<Auth<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let (key_id, scope) = credential?.split_once('/')?;
    Some(Auth {
        key_id,
        scope,
        signed_headers: signed_headers?,
        signature: signature?,
    })
}

fn canonical_query(query: &str) -> String {
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                utf8_percent_encode(&decode(k), STRICT).to_string(),
                utf8_percent_encode(&decode(v), STRICT).to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Checks the request's SigV4 signature: None if it holds, else the
/// refusal S3 would answer.
fn verify(
    s: &S3State,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let path = uri.path();
    let denied = |code: &str, msg: &str| xml_error(StatusCode::FORBIDDEN, code, msg, path);
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_auth)
    else {
        return Some(denied("AccessDenied", "Anonymous access is forbidden."));
    };
    if auth.key_id != s.access_key_id {
        return Some(denied(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        ));
    }
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let scope_date = auth.scope.split('/').next().unwrap_or_default();
    let mut scope = auth.scope.split('/').skip(1);
    let (region, service) = (
        scope.next().unwrap_or_default(),
        scope.next().unwrap_or_default(),
    );
    if amz_date.get(..8) != Some(scope_date) || service != "s3" {
        return Some(denied(
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed.",
        ));
    }
    let payload = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if payload != "UNSIGNED-PAYLOAD" && payload != hex_sha256(body) {
        return Some(xml_error(
            StatusCode::BAD_REQUEST,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            path,
        ));
    }
    let mut canonical_headers = String::new();
    for name in auth.signed_headers.split(';') {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.as_str(),
        path,
        canonical_query(uri.query().unwrap_or_default()),
        canonical_headers,
        auth.signed_headers,
        payload
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        auth.scope,
        hex_sha256(canonical_request.as_bytes())
    );
    let k = hmac(
        format!("AWS4{}", s.secret).as_bytes(),
        scope_date.as_bytes(),
    );
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    let k = hmac(&k, b"aws4_request");
    let expected = hex::encode(hmac(&k, to_sign.as_bytes()));
    if expected != auth.signature {
        return Some(denied(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ));
    }
    None
}

fn object_headers(r: &mut Response, bytes: &[u8]) {
    let h = r.headers_mut();
    let mut set = |k: &'static str, v: String| {
        if let Ok(v) = header::HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set("content-length", bytes.len().to_string());
    set("etag", format!("\"{}\"", hex_sha256(bytes)));
    // A fixed, valid HTTP date: the client requires the header.
    set("last-modified", "Thu, 01 Jan 2026 00:00:00 GMT".into());
    set("content-type", "application/octet-stream".into());
}

async fn handle(
    State(state): State<Arc<Mutex<S3State>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = lock(&state);
    let r = answer(&mut s, &method, &uri, &headers, &body);
    s.log.push(format!("{} {}", method, r.status().as_u16()));
    r
}

fn answer(
    s: &mut S3State,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let path = uri.path().to_string();
    if !s.faults.is_empty() {
        let fault = s.faults.remove(0);
        return match fault {
            S3Fault::InternalError => xml_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "We encountered an internal error. Please try again.",
                &path,
            ),
            S3Fault::SlowDown => xml_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate.",
                &path,
            ),
        };
    }
    if let Some(r) = verify(s, method, uri, headers, body) {
        return r;
    }
    let raw = path.trim_start_matches('/');
    let (bucket, key) = raw.split_once('/').unwrap_or((raw, ""));
    if bucket != s.bucket {
        return xml_error(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist",
            &path,
        );
    }
    let key = percent_decode_str(key).decode_utf8_lossy().into_owned();
    // DeleteObjects (`POST /{bucket}?delete`): how the client deletes,
    // even a single object.
    if *method == Method::POST && key.is_empty() && uri.query() == Some("delete") {
        return delete_objects(s, body);
    }
    if *method == Method::GET && key.is_empty() {
        let query = query_pairs(uri.query().unwrap_or_default());
        if query.iter().any(|(k, v)| k == "list-type" && v == "2") {
            return list_objects_v2(s, &query);
        }
    }
    if !key.is_empty() && uri.query().is_some() {
        let query = query_pairs(uri.query().unwrap_or_default());
        if let Some(r) = multipart::answer(s, method, &key, &query, body, &path) {
            return r;
        }
    }
    let unsupported =
        key.is_empty() || uri.query().is_some() || headers.contains_key(header::RANGE);
    if unsupported {
        return xml_error(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "The fake implements single-object PUT, GET, HEAD and DELETE only.",
            &path,
        );
    }
    let mut ok = Response::new(Body::empty());
    match *method {
        Method::PUT => {
            object_headers(&mut ok, body);
            ok.headers_mut().remove("content-length");
            s.objects.insert(key, body.to_vec());
            ok
        }
        Method::GET | Method::HEAD => match s.objects.get(&key) {
            Some(bytes) => {
                object_headers(&mut ok, bytes);
                if *method == Method::GET {
                    *ok.body_mut() = Body::from(bytes.clone());
                }
                ok
            }
            None if *method == Method::HEAD => {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::NOT_FOUND;
                r
            }
            None => xml_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
                &path,
            ),
        },
        Method::DELETE => {
            s.objects.remove(&key);
            *ok.status_mut() = StatusCode::NO_CONTENT;
            ok
        }
        _ => xml_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            &path,
        ),
    }
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// DeleteObjects: every `<Key>` of the body is deleted (a missing one
/// too, as S3 answers), each reported `<Deleted>`.
fn delete_objects(s: &mut S3State, body: &[u8]) -> Response {
    let body = String::from_utf8_lossy(body);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
    );
    for part in body.split("<Key>").skip(1) {
        let Some((raw, _)) = part.split_once("</Key>") else {
            continue;
        };
        s.objects.remove(&xml_unescape(raw));
        out.push_str(&format!("<Deleted><Key>{raw}</Key></Deleted>"));
    }
    out.push_str("</DeleteResult>");
    let mut r = Response::new(Body::from(out));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/xml"),
    );
    r
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A query string's pairs, decoded (`+` is a space, as in forms).
fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// ListObjectsV2 (`GET /{bucket}?list-type=2`), as S3 answers it: keys in
/// UTF-8 binary order under `prefix`, after `start-after` or the
/// continuation token, at most `max-keys` (and the page size) per page,
/// keys sharing a `delimiter` past the prefix rolled up into
/// `CommonPrefixes`; `NextContinuationToken` while truncated. The token
/// is opaque to the client: here the hex of the last key of the page.
fn list_objects_v2(s: &S3State, query: &[(String, String)]) -> Response {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let prefix = param("prefix").unwrap_or_default();
    let delimiter = param("delimiter").filter(|d| !d.is_empty());
    let token = param("continuation-token");
    let after = match token {
        Some(t) => match hex::decode(t).ok().and_then(|b| String::from_utf8(b).ok()) {
            Some(k) => Some(k),
            None => {
                return xml_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidArgument",
                    "The continuation token provided is incorrect",
                    &format!("/{}", s.bucket),
                );
            }
        },
        None => param("start-after").map(str::to_string),
    };
    let max_keys = param("max-keys")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(1000)
        .min(1000)
        .min(s.list_page_size.unwrap_or(usize::MAX));
    // (key, Some(object)) for an object, (prefix, None) for a rolled-up
    // common prefix; each counts once towards max-keys.
    let mut entries: Vec<(String, Option<&Vec<u8>>)> = Vec::new();
    let mut truncated = false;
    for (key, bytes) in s.objects.range::<String, _>((
        after
            .clone()
            .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
        std::ops::Bound::Unbounded,
    )) {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        let entry = match delimiter.and_then(|d| rest.find(d).map(|i| (d, i))) {
            Some((d, i)) => (
                format!("{prefix}{}{d}", rest.get(..i).unwrap_or_default()),
                None,
            ),
            None => (key.clone(), Some(bytes)),
        };
        if entries
            .last()
            .is_some_and(|(k, o)| o.is_none() && *k == entry.0)
        {
            continue;
        }
        if entries.len() == max_keys {
            truncated = true;
            break;
        }
        entries.push(entry);
    }
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>{}</Name><Prefix>{}</Prefix><KeyCount>{}</KeyCount><MaxKeys>{max_keys}</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
        xml_escape(&s.bucket),
        xml_escape(prefix),
        entries.len(),
    );
    if let Some(d) = delimiter {
        out.push_str(&format!("<Delimiter>{}</Delimiter>", xml_escape(d)));
    }
    if let Some(t) = token {
        out.push_str(&format!(
            "<ContinuationToken>{}</ContinuationToken>",
            xml_escape(t)
        ));
    }
    for (key, object) in &entries {
        match object {
            Some(bytes) => out.push_str(&format!(
                "<Contents><Key>{}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>&quot;{}&quot;</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                xml_escape(key),
                hex_sha256(bytes),
                bytes.len()
            )),
            None => out.push_str(&format!(
                "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                xml_escape(key)
            )),
        }
    }
    if truncated && let Some((last, object)) = entries.last() {
        // The next page starts after the last entry: after every key a
        // rolled-up common prefix stands for, too.
        let resume = match object {
            Some(_) => last.clone(),
            None => format!("{last}\u{10FFFF}"),
        };
        out.push_str(&format!(
            "<NextContinuationToken>{}</NextContinuationToken>",
            hex::encode(resume)
        ));
    }
    out.push_str("</ListBucketResult>");
    let mut r = Response::new(Body::from(out));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/xml"),
    );
    r
}
