//! Multipart uploads, as S3 answers them: CreateMultipartUpload
//! (`POST /{bucket}/{key}?uploads`), UploadPart
//! (`PUT …?partNumber=N&uploadId=ID`), CompleteMultipartUpload
//! (`POST …?uploadId=ID`, the parts listed in XML) and
//! AbortMultipartUpload (`DELETE …?uploadId=ID`).
//!
//! S3's rules a client can trip over are kept: part numbers 1 to 10,000;
//! every part but the last at least 5 MiB (`EntityTooSmall`); the listed
//! parts ascending, each with the ETag its upload answered
//! (`InvalidPartOrder`, `InvalidPart`); an unknown or finished upload id
//! is `NoSuchUpload`. The object appears only once completed.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::Response;

use super::{S3State, hex_sha256, xml_error};

/// S3's smallest part but the last.
pub const MIN_PART: usize = 5 * 1024 * 1024;

/// An upload in progress.
#[derive(Default)]
pub(super) struct Upload {
    key: String,
    /// Part number → bytes.
    parts: BTreeMap<u32, Vec<u8>>,
}

/// The uploads in progress, by id.
#[derive(Default)]
pub(super) struct Uploads {
    next: u64,
    open: BTreeMap<String, Upload>,
}

impl Uploads {
    /// How many uploads were started and neither completed nor aborted.
    pub(super) fn in_progress(&self) -> usize {
        self.open.len()
    }
}

fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", hex_sha256(bytes))
}

fn xml(body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/xml"),
    );
    r
}

fn no_such_upload(path: &str) -> Response {
    xml_error(
        StatusCode::NOT_FOUND,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        path,
    )
}

/// Every `<tag>…</tag>` text inside `s`, in order.
fn all<'a>(s: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

/// Answers a multipart call on `key`, or `None` when the request is not
/// one.
pub(super) fn answer(
    s: &mut S3State,
    method: &Method,
    key: &str,
    query: &[(String, String)],
    body: &[u8],
    path: &str,
) -> Option<Response> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let upload_id = get("uploadId");
    match (method, get("uploads"), upload_id, get("partNumber")) {
        (&Method::POST, Some(_), None, None) => {
            s.uploads.next += 1;
            let id = format!("metiva-fake-upload-{}", s.uploads.next);
            s.uploads.open.insert(
                id.clone(),
                Upload {
                    key: key.to_string(),
                    parts: BTreeMap::new(),
                },
            );
            Some(xml(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>{}</Bucket><Key>{key}</Key><UploadId>{id}</UploadId></InitiateMultipartUploadResult>",
                s.bucket
            )))
        }
        (&Method::PUT, None, Some(id), Some(n)) => {
            let Some(up) = s.uploads.open.get_mut(id).filter(|u| u.key == key) else {
                return Some(no_such_upload(path));
            };
            let n = match n.parse::<u32>() {
                Ok(n @ 1..=10_000) => n,
                _ => {
                    return Some(xml_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidArgument",
                        "Part number must be an integer between 1 and 10000, inclusive",
                        path,
                    ));
                }
            };
            let mut r = Response::new(Body::empty());
            if let Ok(v) = axum::http::HeaderValue::from_str(&etag(body)) {
                r.headers_mut().insert(axum::http::header::ETAG, v);
            }
            up.parts.insert(n, body.to_vec());
            Some(r)
        }
        (&Method::POST, None, Some(id), None) => {
            if s.uploads.open.get(id).is_none_or(|u| u.key != key) {
                return Some(no_such_upload(path));
            }
            let text = String::from_utf8_lossy(body);
            let listed: Vec<(Option<u32>, String)> = all(&text, "Part")
                .into_iter()
                .map(|p| {
                    let n = all(p, "PartNumber")
                        .first()
                        .and_then(|n| n.trim().parse().ok());
                    let tag = all(p, "ETag")
                        .first()
                        .map(|t| t.replace("&quot;", "\"").trim().to_string())
                        .unwrap_or_default();
                    (n, tag)
                })
                .collect();
            let up = s.uploads.open.get(id)?;
            let mut object = Vec::new();
            let mut previous = 0u32;
            for (i, (n, tag)) in listed.iter().enumerate() {
                let Some(n) = *n else {
                    return Some(xml_error(
                        StatusCode::BAD_REQUEST,
                        "MalformedXML",
                        "The XML you provided was not well-formed or did not validate against our published schema.",
                        path,
                    ));
                };
                if n <= previous {
                    return Some(xml_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidPartOrder",
                        "The list of parts was not in ascending order. Parts must be ordered by part number.",
                        path,
                    ));
                }
                previous = n;
                let Some(bytes) = up.parts.get(&n).filter(|b| etag(b) == *tag) else {
                    return Some(xml_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidPart",
                        "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
                        path,
                    ));
                };
                if i + 1 < listed.len() && bytes.len() < MIN_PART {
                    return Some(xml_error(
                        StatusCode::BAD_REQUEST,
                        "EntityTooSmall",
                        "Your proposed upload is smaller than the minimum allowed object size.",
                        path,
                    ));
                }
                object.extend_from_slice(bytes);
            }
            if listed.is_empty() {
                return Some(xml_error(
                    StatusCode::BAD_REQUEST,
                    "MalformedXML",
                    "The XML you provided was not well-formed or did not validate against our published schema.",
                    path,
                ));
            }
            s.uploads.open.remove(id);
            let tag = format!("\"{}-{}\"", hex_sha256(&object), listed.len());
            s.objects.insert(key.to_string(), object);
            Some(xml(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Location>{path}</Location><Bucket>{}</Bucket><Key>{key}</Key><ETag>{}</ETag></CompleteMultipartUploadResult>",
                s.bucket,
                tag.replace('"', "&quot;")
            )))
        }
        (&Method::DELETE, None, Some(id), None) => {
            if s.uploads.open.remove(id).is_none() {
                return Some(no_such_upload(path));
            }
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NO_CONTENT;
            Some(r)
        }
        _ => None,
    }
}
