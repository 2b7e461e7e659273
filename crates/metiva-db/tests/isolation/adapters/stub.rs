//! The adapters' fixtures: a provider stand-in on a local port, a fixed
//! start time, fast in-call retries and the breaker's status.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use metiva_db::adapters::breaker;
use metiva_db::adapters::{
    Adapters, BreakerPolicy, ManualClock, OutboundRequest, Provider, ProviderBases, RetryPolicy,
};
use metiva_db::{Database, TenantConn};
use metiva_testkit::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixtures::{cid, three_companies};

/// A provider stand-in: answers every request with the current
/// (status, Retry-After) and counts requests.
#[derive(Clone)]
pub struct Stub {
    pub base: String,
    answer: Arc<Mutex<(u16, Option<String>)>>,
    hits: Arc<AtomicUsize>,
}

impl Stub {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let stub = Stub {
            base: format!("http://{addr}"),
            answer: Arc::new(Mutex::new((200, None))),
            hits: Arc::new(AtomicUsize::new(0)),
        };
        let s = stub.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Headers only: the requests here have no body.
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or(&[])),
                        }
                    }
                    s.hits.fetch_add(1, Ordering::SeqCst);
                    let (status, ra) = s.answer.lock().map(|a| a.clone()).unwrap_or((500, None));
                    let extra = ra
                        .map(|v| format!("Retry-After: {v}\r\n"))
                        .unwrap_or_default();
                    let body = "{}";
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        stub
    }

    pub fn answer(&self, status: u16, retry_after: Option<&str>) {
        if let Ok(mut a) = self.answer.lock() {
            *a = (status, retry_after.map(str::to_string));
        }
    }

    pub fn hits(&self) -> usize {
        AtomicUsize::load(&self.hits, Ordering::SeqCst)
    }

    pub fn bases(&self) -> ProviderBases {
        ProviderBases {
            twilio: self.base.clone(),
            google_ads: self.base.clone(),
            meta: self.base.clone(),
            allow_private_webhooks: true,
        }
    }
}

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z")
        .unwrap_or_else(|e| panic!("{e}"))
        .with_timezone(&Utc)
}

/// Fast in-call retries (2 attempts, 10..20 ms apart) for the tests.
fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 2,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        max_inline_wait: Duration::from_secs(5),
    }
}

pub fn adapters(db: &Database, stub: &Stub, clock: &ManualClock, n: u32) -> Adapters {
    Adapters::new(db.clone(), stub.bases())
        .unwrap_or_else(|e| panic!("{e}"))
        .with_clock(Arc::new(clock.clone()))
        .with_retry(quick())
        .with_breaker(BreakerPolicy {
            failure_threshold: n,
            cool_down: Duration::from_secs(60),
            probe_lease: Duration::from_secs(30),
        })
}

pub fn get(stub: &Stub) -> OutboundRequest {
    OutboundRequest::get(format!("{}/v19.0/123456/events", stub.base)).idempotency_key("k1")
}

pub async fn phase(db: &Database, company: &str) -> breaker::BreakerStatus {
    db.tenant(&cid(company), async |tc: &mut TenantConn<'_>| {
        breaker::status(tc, Provider::Meta).await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

pub trait Secs {
    fn now_secs(&self) -> i64;
}

impl Secs for ManualClock {
    fn now_secs(&self) -> i64 {
        use metiva_db::adapters::Clock;
        (self.now() - t0()).num_seconds()
    }
}

/// The adapters' test world: three companies, a stub provider and a
/// stepped clock starting at `start`. The [`TestDb`] lives as long as
/// the binding of `tdb`.
pub struct World {
    pub tdb: TestDb,
    pub db: Database,
    pub stub: Stub,
    pub clock: ManualClock,
}

impl World {
    pub async fn new(start: DateTime<Utc>) -> Self {
        let tdb = TestDb::new().await;
        three_companies(&tdb).await;
        let db = tdb.database();
        World {
            tdb,
            db,
            stub: Stub::start().await,
            clock: ManualClock::new(start),
        }
    }

    /// The test database (keep it bound: dropping it ends the cluster),
    /// the pool, the stub and the clock.
    pub fn parts(self) -> (TestDb, Database, Stub, ManualClock) {
        (self.tdb, self.db, self.stub, self.clock)
    }
}
