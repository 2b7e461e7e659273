//! The public ingest endpoints, called from client websites (no sign-in):
//! `GET /s/{site_key}/snippet.js`, `POST /collect`, `POST /capture`.
//!
//! # Security
//! - The tenant comes from the site key, through the one named global
//!   lookup (`Database::site_by_key`); unknown or disabled keys get 404.
//!   Every write then runs under that tenant's RLS context. Lookups are
//!   cached briefly, real sites apart from unknown keys, so a flood of
//!   random keys cannot evict the real ones (`site_cache`).
//! - `Origin` must be one of the site's allowed origins (403 otherwise,
//!   and when absent). Entries ending in `:*` (any port) are honoured only
//!   in development; production matches exactly.
//! - The raw IP is used here, in memory only: truncated (IPv4 /24, IPv6
//!   /48), looked up (the workspace's known networks, then the ASN
//!   dataset; consumer ISPs are never shown as a company), and the
//!   truncated form sealed with AES-256-GCM bound to company, table,
//!   column and row. The raw address is dropped with the request.
//! - A page view is acknowledged (204) only after the transaction that
//!   stored it committed; events are batched per company to reach the
//!   throughput target without ever acknowledging early.
//! - These routes carry no cookies and set none; CORS answers name the
//!   calling origin (never `*`) and never allow credentials.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metiva_db::ingest::{CaptureForm, CaptureOutcome, Decision, PageView, Purposes, SiteBinding};
use metiva_db::{CompanyId, Database};
use metiva_geo::{AsnIndex, KnownNetwork, KnownNetworks, OrgKind};
use metiva_security::cipher::KeyRing;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::collect::{self, CollectEvent, MAX_PAYLOAD_BYTES};
use super::login::ClientIp;
use super::site_cache::{Remembered, SiteCache};

/// How long a workspace's known networks are remembered. Sites are
/// remembered by [`SiteCache`]: a lookup every few seconds per site is
/// nothing next to the events themselves.
const NETWORKS_TTL: Duration = Duration::from_secs(30);
/// Bounds the networks cache (one entry per workspace with traffic).
const NETWORKS_MAX: u64 = 10_000;
/// Events per batch transaction, at most.
const BATCH_MAX: usize = 512;
/// Batch writers: each holds at most one connection at a time. Two keep
/// one batch filling while the other commits; more writers make smaller
/// batches and cost PostgreSQL more CPU per event (measured with `cargo
/// xtask bench ingest`: 4 writers 10 events/batch, 2 writers 17-60).
const WRITERS: usize = 2;
const QUEUE: usize = 8192;

/// Batches written and events in them, process-wide (the benchmark
/// reports the average batch size).
static BATCHES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static BATCHED_EVENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// (batches, events) written so far by this process.
pub fn batch_stats() -> (u64, u64) {
    use std::sync::atomic::Ordering::Relaxed;
    (BATCHES.load(Relaxed), BATCHED_EVENTS.load(Relaxed))
}

/// The snippet's source; `__METIVA_CONFIG__` is replaced per site.
const SNIPPET: &str = include_str!("snippet.js");

/// The ingest state: lookups, caches and the batch writer.
pub struct Ingest {
    db: Database,
    keys: Arc<KeyRing>,
    asn: Arc<AsnIndex>,
    endpoint: String,
    any_port_origins: bool,
    sites: SiteCache,
    networks: moka::sync::Cache<CompanyId, Arc<KnownNetworks>>,
    queue: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("endpoint", &self.endpoint)
            .field("asn_ranges", &self.asn.ranges())
            .finish_non_exhaustive()
    }
}

struct Job {
    company: CompanyId,
    view: PageView,
    done: oneshot::Sender<bool>,
}

impl Ingest {
    /// `endpoint` is the dashboard's public URL (the snippet posts there);
    /// `development` allows `:*` origin patterns.
    pub fn new(
        db: Database,
        keys: Arc<KeyRing>,
        asn: Arc<AsnIndex>,
        endpoint: &str,
        development: bool,
    ) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..WRITERS {
            tokio::spawn(write_batches(db.clone(), rx.clone()));
        }
        let bus = db.cache_bus();
        let ingest = Arc::new(Self {
            db,
            keys,
            asn,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            any_port_origins: development,
            sites: SiteCache::with_bus(bus.clone()),
            networks: moka::sync::Cache::builder()
                .max_capacity(NETWORKS_MAX)
                .time_to_live(NETWORKS_TTL)
                .build(),
            queue: tx,
        });
        // Across instances: a change to sites or known networks anywhere
        // drops the matching cache here (see `site_cache`); losing or
        // regaining the listener drops both.
        let weak = Arc::downgrade(&ingest);
        bus.subscribe(move |event| {
            use metiva_db::notify::CacheEvent;
            let Some(i) = weak.upgrade() else { return };
            match event {
                CacheEvent::Changed(what) if what == "sites" => i.sites.invalidate_all(),
                CacheEvent::Changed(what) if what == "known_networks" => {
                    i.networks.invalidate_all();
                }
                CacheEvent::Changed(_) => {}
                CacheEvent::Connected | CacheEvent::Lost => {
                    i.sites.invalidate_all();
                    i.networks.invalidate_all();
                }
            }
        });
        ingest
    }

    /// The ASN index in use (the visitors page shows its size).
    pub fn asn(&self) -> &AsnIndex {
        &self.asn
    }

    async fn site(&self, key: &str) -> Result<Option<SiteBinding>, Response> {
        match self.sites.get(key) {
            Some(Remembered::Site(site)) => return Ok(Some(site)),
            Some(Remembered::NoSite) => return Ok(None),
            None => {}
        }
        let generation = self.sites.generation();
        let found = self.db.site_by_key(key).await.map_err(|e| {
            tracing::error!(error = %e, "site lookup failed");
            unavailable()
        })?;
        self.sites.remember(key, found.as_ref(), generation);
        Ok(found)
    }

    async fn networks(&self, company: &CompanyId) -> Arc<KnownNetworks> {
        if let Some(n) = self.networks.get(company) {
            return n;
        }
        let rows = match self.db.known_networks(company).await {
            Ok(rows) => rows,
            Err(e) => {
                // Identification is best effort; the page view still counts.
                tracing::warn!(error = %e, "known networks unavailable");
                Vec::new()
            }
        };
        let parsed: Vec<KnownNetwork> = rows
            .into_iter()
            .filter_map(|r| {
                Some(KnownNetwork {
                    network: r.network.parse().ok()?,
                    organisation: r.organisation,
                })
            })
            .collect();
        let n = Arc::new(KnownNetworks::new(parsed));
        self.networks.insert(company.clone(), n.clone());
        n
    }

    /// Company-level identification of a raw IP, in memory: the
    /// workspace's own networks first, then the ASN dataset. A consumer
    /// ISP is a household, never a visiting company.
    pub fn identify(&self, known: &KnownNetworks, ip: IpAddr) -> Option<(String, &'static str)> {
        if let Some(n) = known.lookup(ip) {
            return Some((n.organisation.clone(), "known_network"));
        }
        let org = self.asn.lookup(ip)?;
        (org.kind == OrgKind::Business).then(|| (org.name.to_string(), "asn"))
    }

    /// Whether `origin` may call for this site.
    fn origin_allowed(&self, site: &SiteBinding, origin: &str) -> bool {
        site.allowed_origins.iter().any(|allowed| {
            if allowed == origin {
                return true;
            }
            // Development only: "http://127.0.0.1:*" matches any port.
            match allowed.strip_suffix(":*") {
                Some(base) if self.any_port_origins => origin
                    .strip_prefix(base)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .is_some_and(|port| {
                        !port.is_empty()
                            && port.len() <= 5
                            && port.bytes().all(|b| b.is_ascii_digit())
                    }),
                _ => false,
            }
        })
    }

    /// Seals the truncated IP for the row it will live in, with the
    /// company's data key (loaded from the key table on a cache miss).
    async fn seal_ip(
        &self,
        company: &CompanyId,
        row: Uuid,
        ip: IpAddr,
    ) -> Option<metiva_security::cipher::Sealed> {
        self.keys.load(&self.db, company.as_str()).await.ok()?;
        let truncated = metiva_security::ip::truncate(ip).to_string();
        let row = row.to_string();
        self.keys
            .seal(
                truncated.as_bytes(),
                &metiva_db::visitors::ip_context(company.as_str(), &row),
            )
            .ok()
    }
}

/// The routes, with their own (public) layers: no cookies, no CSRF origin
/// rule (cross-site calls are the point), a small body limit.
pub fn ingest_router(ingest: Arc<Ingest>) -> Router {
    Router::new()
        .route("/s/{key}/snippet.js", get(get_snippet))
        .route("/collect", post(post_collect).options(preflight))
        .route("/capture", post(post_capture).options(preflight))
        .with_state(ingest)
        // The snippet goes out gzip-compressed when the browser accepts it.
        .layer(super::dashboard::compress_assets())
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        "The event could not be stored right now; nothing was acknowledged. Retry later.",
    )
        .into_response()
}

fn bad_request(msg: &str) -> Response {
    (StatusCode::BAD_REQUEST, msg.to_string()).into_response()
}

fn too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Payload too large: the limit is {MAX_PAYLOAD_BYTES} bytes."),
    )
        .into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Unknown or disabled site key.").into_response()
}

fn with_cors(mut r: Response, origin: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(origin) {
        r.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        r.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    r
}

/// Preflight for clients that send `application/json`. It grants nothing
/// by itself: the real request is checked against the site's origins.
async fn preflight(headers: HeaderMap) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("null")
        .to_string();
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    with_cors(r, &origin)
}

/// Checks the body size and the `Origin`, resolves the site. `Err` is the
/// answer to send.
async fn admit(
    ing: &Ingest,
    headers: &HeaderMap,
    key: &str,
) -> Result<(SiteBinding, String), Response> {
    let Some(site) = ing.site(key).await? else {
        return Err(not_found());
    };
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if origin.is_empty() {
        return Err((
            StatusCode::FORBIDDEN,
            "An Origin header is required: call this endpoint from the registered site.",
        )
            .into_response());
    }
    if !ing.origin_allowed(&site, origin) {
        return Err((
            StatusCode::FORBIDDEN,
            "This origin is not allowed for the site key. Add it to the site's allowed origins.",
        )
            .into_response());
    }
    Ok((site, origin.to_string()))
}

fn oversized(body: &Bytes) -> bool {
    body.len() > MAX_PAYLOAD_BYTES
}

async fn post_collect(
    State(ing): State<Arc<Ingest>>,
    peer: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if oversized(&body) {
        return too_large();
    }
    let event = match collect::parse_collect(&body) {
        Ok(e) => e,
        Err(e) => return bad_request(&e.0),
    };
    let (site, origin) = match admit(&ing, &headers, event.site()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let answer = match event {
        CollectEvent::PageView(p) => {
            let Some(ip) = peer.0 else {
                return bad_request("The client address is unknown.");
            };
            let known = ing.networks(&site.company).await;
            let org = ing.identify(&known, ip);
            let id = Uuid::new_v4();
            let Some(sealed) = ing.seal_ip(&site.company, id, ip).await else {
                tracing::error!("sealing an IP failed");
                return unavailable();
            };
            // `ip` (the raw address) is not used after this point.
            let (organisation, org_source) = match org {
                Some((o, s)) => (Some(o), Some(s)),
                None => (None, None),
            };
            let view = PageView {
                id,
                site_id: site.site_id,
                visitor_key: p.visitor,
                at: chrono::Utc::now(),
                path: p.path,
                referrer_domain: p.referrer,
                organisation,
                org_source,
                ip_key_id: sealed.key_id,
                ip_nonce: sealed.nonce.to_vec(),
                ip_ciphertext: sealed.ciphertext,
            };
            let (done, stored) = oneshot::channel();
            let job = Job {
                company: site.company.clone(),
                view,
                done,
            };
            if ing.queue.send(job).await.is_err() {
                return unavailable();
            }
            match stored.await {
                Ok(true) => StatusCode::NO_CONTENT.into_response(),
                _ => unavailable(),
            }
        }
        CollectEvent::Consent(c) => {
            let Some(text) = app::consent_text::banner(&c.banner_version, &c.lang) else {
                return bad_request("banner_version: not a published banner version");
            };
            let hash = app::consent_text::text_hash(text);
            let decision = Decision {
                site_id: site.site_id,
                visitor_key: c.visitor,
                purposes: Purposes {
                    analytics: c.analytics,
                    identification: c.identification,
                    marketing: c.marketing,
                },
                withdrawal: c.withdraw,
                banner_version: c.banner_version,
                lang: c.lang,
                text_hash: hash,
            };
            match ing.db.record_decision(&site.company, &decision).await {
                Ok(_) => StatusCode::NO_CONTENT.into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "storing a consent decision failed");
                    unavailable()
                }
            }
        }
    };
    with_cors(answer, &origin)
}

async fn post_capture(State(ing): State<Arc<Ingest>>, headers: HeaderMap, body: Bytes) -> Response {
    if oversized(&body) {
        return too_large();
    }
    let form = match collect::parse_capture(&body) {
        Ok(f) => f,
        Err(e) => return bad_request(&e.0),
    };
    let (site, origin) = match admit(&ing, &headers, &form.site).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let capture = CaptureForm {
        visitor_key: form.visitor,
        name: form.name,
        email: form.email,
        organisation: form.company,
    };
    let answer = match ing.db.capture(&site.company, &capture).await {
        Ok(CaptureOutcome::NoConsent) => (
            StatusCode::CONFLICT,
            "No identification consent is on record for this visitor; nothing was stored.",
        )
            .into_response(),
        Ok(CaptureOutcome::Captured { created, .. }) => (
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"captured":true}"#,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "capture failed");
            unavailable()
        }
    };
    with_cors(answer, &origin)
}

async fn get_snippet(
    State(ing): State<Arc<Ingest>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !collect::is_site_key(&key) {
        return not_found();
    }
    match ing.site(&key).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(r) => return r,
    }
    let body = render_snippet(&key, &ing.endpoint);
    // Weak: the same validator covers the gzip and the plain form.
    let etag = format!(
        "W/\"{}\"",
        hex::encode(metiva_security::secret::sha256(body.as_bytes()))
            .get(..32)
            .unwrap_or_default()
    );
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            )],
            body,
        )
            .into_response()
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // Short freshness, then revalidation by ETag: a new banner version
    // reaches every site within five minutes.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300, must-revalidate"),
    );
    if let Ok(v) = HeaderValue::from_str(&snippet_version()) {
        h.insert("x-metiva-snippet-version", v);
    }
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// The snippet's version: the release and the banner text version.
pub fn snippet_version() -> String {
    format!(
        "{}+banner.{}",
        env!("CARGO_PKG_VERSION"),
        app::consent_text::BANNER_VERSION
    )
}

/// The snippet for one site: its key, the endpoint, the current banner.
pub fn render_snippet(key: &str, endpoint: &str) -> String {
    let texts = |lang: &str| {
        let b = app::consent_text::current(lang);
        let purposes: serde_json::Map<String, serde_json::Value> = b
            .purposes
            .iter()
            .map(|p| {
                (
                    p.key.to_string(),
                    serde_json::json!({"label": p.label, "help": p.help}),
                )
            })
            .collect();
        serde_json::json!({
            "title": b.title, "body": b.body, "accept": b.accept, "reject": b.reject,
            "customise": b.customise, "save": b.save, "withdraw": b.withdraw,
            "settings": b.settings, "purposes": purposes,
        })
    };
    let config = serde_json::json!({
        "key": key,
        "endpoint": endpoint,
        "version": app::consent_text::BANNER_VERSION,
        "texts": {"nl": texts("nl"), "en": texts("en")},
    });
    // JSON inside a script: escape "<" so no text can close the tag.
    let config = config.to_string().replace('<', "\\u003c");
    format!(
        "/*! Metiva consent snippet {} */\n{}",
        snippet_version(),
        SNIPPET.replacen("__METIVA_CONFIG__", &config, 1)
    )
}

/// One batch writer: takes what is queued (up to [`BATCH_MAX`]), stores
/// it per company, one transaction each, and acknowledges each event only
/// after its transaction committed.
async fn write_batches(db: Database, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let mut jobs = Vec::new();
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(j) => jobs.push(j),
                None => return,
            }
            while jobs.len() < BATCH_MAX {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
        }
        let mut by_company: HashMap<CompanyId, Vec<Job>> = HashMap::new();
        for j in jobs {
            by_company.entry(j.company.clone()).or_default().push(j);
        }
        for (company, jobs) in by_company {
            let views: Vec<PageView> = jobs.iter().map(|j| j.view.clone()).collect();
            let ok = match db.record_page_views(&company, &views).await {
                Ok(_) => {
                    use std::sync::atomic::Ordering::Relaxed;
                    BATCHES.fetch_add(1, Relaxed);
                    BATCHED_EVENTS.fetch_add(views.len() as u64, Relaxed);
                    true
                }
                Err(e) => {
                    tracing::error!(error = %e, events = views.len(), "storing page views failed");
                    false
                }
            };
            for j in jobs {
                let _ = j.done.send(ok);
            }
        }
    }
}

/// The ASN index, loaded once per process and directory (tests build many
/// routers; the dataset is large).
pub fn shared_asn(dir: Option<&std::path::Path>) -> Arc<AsnIndex> {
    static LOADED: OnceLock<Mutex<HashMap<std::path::PathBuf, Arc<AsnIndex>>>> = OnceLock::new();
    let Some(dir) = dir else {
        return Arc::new(AsnIndex::empty());
    };
    let map = LOADED.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(m) = map.lock()
        && let Some(i) = m.get(dir)
    {
        return i.clone();
    }
    let started = Instant::now();
    let index = match AsnIndex::load_dir(dir) {
        Ok(i) => {
            tracing::info!(
                ranges = i.ranges(),
                ms = started.elapsed().as_millis() as u64,
                dir = %dir.display(),
                "ASN dataset loaded"
            );
            Arc::new(i)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the ASN dataset could not be loaded; company-level identification uses known networks only");
            Arc::new(AsnIndex::empty())
        }
    };
    if let Ok(mut m) = map.lock() {
        m.insert(dir.to_path_buf(), index.clone());
    }
    index
}
