//! The production object store (issue 17): an S3-compatible bucket
//! (AWS S3, Scaleway, OVH, MinIO, …) through `object_store`'s S3 client,
//! with the requests sent by the reqwest 0.12 client the rest of the
//! crate uses (rustls on ring), so no second HTTP/TLS stack is built.
//!
//! # Security
//! - Credentials are static and explicit ([`S3Settings`]): no fallback to
//!   instance metadata, web identity or a shared credentials file, so the
//!   bucket a server writes to is exactly the one its configuration names
//!   (fail closed on a missing secret rather than pick up whatever the
//!   host offers).
//! - Plain `http://` endpoints are refused except on a loopback address
//!   (a local MinIO or the test fake): credentials are never replayable
//!   (SigV4), but object names and request metadata would travel in clear.
//! - Contents are sealed before they reach this store (see `files`); the
//!   bucket only ever holds ciphertext.
//! - Retries are bounded (3 tries within 20 s) so a user's request never
//!   hangs for object_store's default three minutes.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt as _;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::client::{
    ClientOptions, HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
    HttpResponseBody, HttpService,
};
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, RetryConfig};

use crate::DbError;

/// Where and how to reach the bucket.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// A key prefix inside the bucket (no leading or trailing `/`), or
    /// empty: keys are `{prefix}/{company}/…`.
    pub prefix: String,
    pub region: String,
    /// An S3-compatible endpoint (`https://s3.fr-par.scw.cloud`); None
    /// for AWS itself. Path-style requests (`{endpoint}/{bucket}/{key}`).
    pub endpoint: Option<String>,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Security: `Debug` shows where, never the secret.
impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl S3Settings {
    /// One line for `metiva check` and the startup log (no secret).
    pub fn describe(&self) -> String {
        let mut s = format!("S3 bucket {:?}", self.bucket);
        if !self.prefix.is_empty() {
            s.push_str(&format!(" under {:?}", self.prefix));
        }
        s.push_str(&format!(" in region {}", self.region));
        match &self.endpoint {
            Some(e) => s.push_str(&format!(" at {e}")),
            None => s.push_str(" (AWS)"),
        }
        s
    }

    /// Whether the endpoint is plain http on a loopback host.
    fn plain_http_loopback(&self) -> Result<bool, DbError> {
        let Some(endpoint) = &self.endpoint else {
            return Ok(false);
        };
        let url = reqwest::Url::parse(endpoint)
            .map_err(|e| DbError::Internal(format!("the S3 endpoint {endpoint:?}: {e}")))?;
        match url.scheme() {
            "https" => Ok(false),
            "http" => {
                let host = url.host_str().unwrap_or_default();
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let loopback = host == "localhost"
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback());
                if loopback {
                    Ok(true)
                } else {
                    Err(DbError::Internal(format!(
                        "the S3 endpoint {endpoint:?} must use https (plain http only on a loopback address)"
                    )))
                }
            }
            other => Err(DbError::Internal(format!(
                "the S3 endpoint {endpoint:?} has scheme {other:?}, not https"
            ))),
        }
    }

    /// The store (checked: bucket, endpoint scheme, credentials present).
    pub fn build(&self) -> Result<Arc<dyn ObjectStore>, DbError> {
        if self.bucket.trim().is_empty() {
            return Err(DbError::Internal("the S3 bucket is empty".into()));
        }
        if self.access_key_id.is_empty() || self.secret_access_key.is_empty() {
            return Err(DbError::Internal(
                "the S3 access key id and secret access key are both required".into(),
            ));
        }
        let allow_http = self.plain_http_loopback()?;
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(&self.secret_access_key)
            .with_allow_http(allow_http)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(2),
                    base: 2.0,
                },
                max_retries: 3,
                retry_timeout: Duration::from_secs(20),
            })
            .with_http_connector(Reqwest12 { allow_http });
        if let Some(e) = &self.endpoint {
            b = b.with_endpoint(e.trim_end_matches('/'));
        }
        let s3 = b
            .build()
            .map_err(|e| DbError::Internal(format!("the S3 store: {e}")))?;
        let prefix = self.prefix.trim_matches('/');
        Ok(if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        })
    }
}

/// object_store's HTTP connector over reqwest 0.12 (see the module docs).
#[derive(Debug)]
struct Reqwest12 {
    allow_http: bool,
}

impl HttpConnector for Reqwest12 {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let client = reqwest::Client::builder()
            // Security: only https leaves the machine (see `build`).
            .https_only(!self.allow_http)
            .connect_timeout(Duration::from_secs(5))
            // A 10 MB upload over a slow link, not a hung connection.
            .timeout(Duration::from_secs(60))
            // S3 answers directly; a redirect to another host is refused.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?;
        Ok(HttpClient::new(Service(client)))
    }
}

#[derive(Debug)]
struct Service(reqwest::Client);

fn http_error(e: reqwest::Error) -> HttpError {
    let kind = if e.is_timeout() {
        HttpErrorKind::Timeout
    } else if e.is_connect() {
        HttpErrorKind::Connect
    } else if e.is_body() || e.is_decode() {
        HttpErrorKind::Interrupted
    } else {
        HttpErrorKind::Request
    };
    // Without the URL: it names the bucket and key, not secrets, but the
    // error travels into logs that need neither.
    HttpError::new(kind, e.without_url())
}

#[async_trait::async_trait]
impl HttpService for Service {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = req.into_parts();
        let url = reqwest::Url::parse(&parts.uri.to_string())
            .map_err(|e| HttpError::new(HttpErrorKind::Request, e))?;
        let mut r = reqwest::Request::new(parts.method, url);
        *r.headers_mut() = parts.headers;
        // The body keeps its exact size hint, so Content-Length is sent.
        *r.body_mut() = Some(reqwest::Body::wrap(body));
        let res: http::Response<reqwest::Body> =
            self.0.execute(r).await.map_err(http_error)?.into();
        let (parts, body) = res.into_parts();
        Ok(HttpResponse::from_parts(
            parts,
            HttpResponseBody::new(body.map_err(http_error)),
        ))
    }
}
