//! The adapter framework (issue 18) against a real PostgreSQL and a tiny
//! local HTTP server: the breaker's states with a stepped clock, its
//! state shared by two pools ("workers"), Retry-After honoured in the
//! call and by the job's next run, an open breaker deferring a job
//! without using an attempt, and the integrations' sealed credentials
//! kept per workspace.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Bytea, Integer, Text};
use diesel_async::RunQueryDsl;
use metiva_db::adapters::breaker::{self, BreakerPhase};
use metiva_db::adapters::integrations::IntegrationError;
use metiva_db::adapters::{
    Adapters, BreakerPolicy, CallError, ManualClock, OutboundRequest, Provider, ProviderBases,
    RetryPolicy,
};
use metiva_db::jobs::{
    self, Backoff, Handler, JobError, JobInfo, JobKind, NewJob, Outcome, Registry,
};
use metiva_db::{Database, TenantConn};
use metiva_security::cipher::KeyRing;
use metiva_testkit::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixtures::{A, B, cid, exec, member_ctx, three_companies};

/// A provider stand-in: answers every request with the current
/// (status, Retry-After) and counts requests.
#[derive(Clone)]
struct Stub {
    base: String,
    answer: Arc<Mutex<(u16, Option<String>)>>,
    hits: Arc<AtomicUsize>,
}

impl Stub {
    async fn start() -> Self {
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

    fn answer(&self, status: u16, retry_after: Option<&str>) {
        if let Ok(mut a) = self.answer.lock() {
            *a = (status, retry_after.map(str::to_string));
        }
    }

    fn hits(&self) -> usize {
        AtomicUsize::load(&self.hits, Ordering::SeqCst)
    }

    fn bases(&self) -> ProviderBases {
        ProviderBases {
            twilio: self.base.clone(),
            google_ads: self.base.clone(),
            meta: self.base.clone(),
            allow_private_webhooks: true,
        }
    }
}

fn t0() -> DateTime<Utc> {
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

fn adapters(db: &Database, stub: &Stub, clock: &ManualClock, n: u32) -> Adapters {
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

fn get(stub: &Stub) -> OutboundRequest {
    OutboundRequest::get(format!("{}/v19.0/123456/events", stub.base)).idempotency_key("k1")
}

async fn phase(db: &Database, company: &str) -> breaker::BreakerStatus {
    db.tenant(&cid(company), async |tc: &mut TenantConn<'_>| {
        breaker::status(tc, Provider::Meta).await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn the_breaker_opens_after_n_half_opens_after_the_cool_down_and_closes_on_success() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let stub = Stub::start().await;
    let clock = ManualClock::new(t0());
    let ad = adapters(&db, &stub, &clock, 3);
    let a = cid(A);
    let mut timeline = Vec::new();

    stub.answer(503, None);
    for i in 1..=3 {
        let r = ad.call(&a, Provider::Meta, get(&stub)).await;
        assert!(
            matches!(r, Err(CallError::Transient { ref message, .. }) if message == "http_503"),
            "{r:?}"
        );
        let s = phase(&db, A).await;
        timeline.push(format!(
            "t+{:>3}s call {i}: 503 (x2 in-call) -> {} ({} in a row)",
            (clock.now_secs()),
            s.phase.as_str(),
            s.consecutive_failures
        ));
        clock.advance(Duration::from_secs(1));
    }
    assert_eq!(stub.hits(), 6, "two attempts per call");
    let s = phase(&db, A).await;
    assert_eq!(s.phase, BreakerPhase::Open);
    assert_eq!(s.last_error.as_deref(), Some("http_503"));
    let opened = t0() + TimeDelta::seconds(2);
    assert_eq!(s.opened_at, Some(opened));
    assert_eq!(s.retry_at, Some(opened + TimeDelta::seconds(60)));

    // Open: refused without touching the network, until the cool-down.
    clock.set(opened + TimeDelta::seconds(59));
    let r = ad.call(&a, Provider::Meta, get(&stub)).await;
    assert_eq!(
        r.err(),
        Some(CallError::Open {
            retry_at: opened + TimeDelta::seconds(60)
        })
    );
    assert_eq!(stub.hits(), 6);
    timeline.push(format!(
        "t+{:>3}s call 4: refused, circuit open until t+62s (no request sent)",
        clock.now_secs()
    ));

    // Half-open: the probe fails (one attempt, no in-call retry) and the
    // breaker re-opens for another cool-down.
    clock.set(opened + TimeDelta::seconds(60));
    let r = ad.call(&a, Provider::Meta, get(&stub)).await;
    assert!(matches!(r, Err(CallError::Transient { .. })), "{r:?}");
    assert_eq!(stub.hits(), 7, "the probe is a single attempt");
    let s = phase(&db, A).await;
    assert_eq!(s.phase, BreakerPhase::Open);
    let reopened = opened + TimeDelta::seconds(120);
    assert_eq!(s.retry_at, Some(reopened));
    timeline.push(format!(
        "t+{:>3}s call 5: half-open probe, 503 -> open again until t+122s",
        clock.now_secs()
    ));

    // The provider recovers; the next probe closes the breaker.
    stub.answer(200, None);
    clock.set(reopened);
    let r = ad.call(&a, Provider::Meta, get(&stub)).await;
    assert!(r.is_ok(), "{r:?}");
    let s = phase(&db, A).await;
    assert_eq!(s.phase, BreakerPhase::Closed);
    assert_eq!(s.consecutive_failures, 0);
    assert_eq!(s.last_success_at, Some(reopened));
    assert_eq!(
        s.last_error.as_deref(),
        Some("http_503"),
        "the last error is kept"
    );
    timeline.push(format!(
        "t+{:>3}s call 6: half-open probe, 200 -> closed (recovered)",
        clock.now_secs()
    ));
    clock.advance(Duration::from_secs(1));
    assert!(ad.call(&a, Provider::Meta, get(&stub)).await.is_ok());
    assert_eq!(stub.hits(), 9);
    timeline.push(format!("t+{:>3}s call 7: 200, closed", clock.now_secs()));
    // The figure for the closing note (run with --nocapture).
    println!("breaker timeline (N=3, cool-down 60 s, ManualClock from t0):");
    for line in timeline {
        println!("  {line}");
    }
    // B's breaker for the same provider never moved.
    assert_eq!(phase(&db, B).await.phase, BreakerPhase::Closed);
}

trait Secs {
    fn now_secs(&self) -> i64;
}

impl Secs for ManualClock {
    fn now_secs(&self) -> i64 {
        use metiva_db::adapters::Clock;
        (self.now() - t0()).num_seconds()
    }
}

#[tokio::test]
async fn two_workers_on_two_pools_agree_on_the_breaker() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let (db1, db2) = (tdb.database(), tdb.database());
    let stub = Stub::start().await;
    let clock = ManualClock::new(t0());
    let (w1, w2) = (
        adapters(&db1, &stub, &clock, 2),
        adapters(&db2, &stub, &clock, 2),
    );
    let a = cid(A);
    stub.answer(503, None);
    // One failure each: together they reach N = 2.
    assert!(w1.call(&a, Provider::Meta, get(&stub)).await.is_err());
    assert!(w2.call(&a, Provider::Meta, get(&stub)).await.is_err());
    let hits = stub.hits();
    for w in [&w1, &w2] {
        let r = w.call(&a, Provider::Meta, get(&stub)).await;
        assert!(matches!(r, Err(CallError::Open { .. })), "{r:?}");
    }
    assert_eq!(stub.hits(), hits, "neither worker sends while open");
    // After the cool-down worker 2 probes and closes it for worker 1 too.
    stub.answer(200, None);
    clock.advance(Duration::from_secs(60));
    assert!(w2.call(&a, Provider::Meta, get(&stub)).await.is_ok());
    assert!(w1.call(&a, Provider::Meta, get(&stub)).await.is_ok());
    assert_eq!(phase(&db1, A).await.phase, BreakerPhase::Closed);
}

#[tokio::test]
async fn a_short_retry_after_is_slept_in_the_call() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let stub = Stub::start().await;
    let clock = ManualClock::new(t0());
    let ad = adapters(&db, &stub, &clock, 5);
    stub.answer(429, Some("1"));
    let started = Instant::now();
    let r = ad.call(&cid(A), Provider::Meta, get(&stub)).await;
    let took = started.elapsed();
    assert!(matches!(r, Err(CallError::Transient { .. })), "{r:?}");
    assert_eq!(stub.hits(), 2);
    // The second attempt waited for Retry-After (1 s), not the 10..20 ms
    // backoff.
    assert!(took >= Duration::from_secs(1), "{took:?}");
    println!("429 + Retry-After: 1 -> second attempt after {took:?}");
}

/// A job that calls the stub through the adapters.
struct CallStub {
    adapters: Adapters,
    url: String,
}

impl Handler for CallStub {
    fn run<'a>(
        &'a self,
        _tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> jobs::BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let req =
                OutboundRequest::get(self.url.clone()).idempotency_key(format!("job:{}", job.id));
            self.adapters
                .call(&job.company, Provider::Meta, req)
                .await?;
            Ok(())
        })
    }
}

const CALL: JobKind = JobKind {
    name: "test.adapter_call",
    max_attempts: 1,
    backoff: Backoff::DEFAULT,
};

#[derive(QueryableByName)]
struct JobState {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Integer)]
    attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    run_at: DateTime<Utc>,
}

async fn run_one(db: &Database, reg: &Registry) -> (Outcome, JobState) {
    let claimed = jobs::claim(db, "adapters-test", 10, 60)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let [c] = claimed.as_slice() else {
        panic!("one due job: {claimed:?}")
    };
    let out = jobs::execute(db, reg, "adapters-test", c)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let st = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            Ok(diesel::sql_query(
                "SELECT state, attempts, run_at FROM jobs WHERE kind = 'test.adapter_call'",
            )
            .get_result::<JobState>(tc.conn())
            .await?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (out, st)
}

async fn enqueue(db: &Database) {
    db.tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
        jobs::enqueue(
            tc,
            &NewJob {
                kind: &CALL,
                payload: "{}",
                key: None,
                run_at: None,
            },
        )
        .await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn a_long_retry_after_reschedules_the_job_not_before_it() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let stub = Stub::start().await;
    let clock = ManualClock::new(Utc::now());
    let ad = adapters(&db, &stub, &clock, 5);
    let mut reg = Registry::default();
    reg.register(
        JobKind {
            max_attempts: 5,
            ..CALL
        },
        CallStub {
            adapters: ad,
            url: format!("{}/v19.0/1/events", stub.base),
        },
    );
    db.tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
        jobs::enqueue(
            tc,
            &NewJob {
                kind: &JobKind {
                    max_attempts: 5,
                    ..CALL
                },
                payload: "{}",
                key: None,
                run_at: None,
            },
        )
        .await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    stub.answer(429, Some("30"));
    let before = Utc::now();
    let started = Instant::now();
    let (out, st) = run_one(&db, &reg).await;
    // Not slept in the job's transaction: one request, returned at once.
    assert_eq!(stub.hits(), 1);
    assert!(started.elapsed() < Duration::from_secs(5));
    let Outcome::Retry(at) = out else {
        panic!("{out:?}")
    };
    assert!(at >= before + TimeDelta::seconds(30), "{at} vs {before}");
    assert_eq!((st.state.as_str(), st.attempts), ("failed", 1));
    assert!(st.run_at >= before + TimeDelta::seconds(30));
    println!(
        "429 + Retry-After: 30 -> next attempt at +{} ms",
        (st.run_at - before).num_milliseconds()
    );
}

#[tokio::test]
async fn an_open_breaker_defers_the_job_without_using_an_attempt() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let stub = Stub::start().await;
    let clock = ManualClock::new(Utc::now());
    let ad = adapters(&db, &stub, &clock, 1);
    // One failed call opens it (N = 1).
    stub.answer(503, None);
    assert!(ad.call(&cid(A), Provider::Meta, get(&stub)).await.is_err());
    let retry_at = phase(&db, A)
        .await
        .retry_at
        .unwrap_or_else(|| panic!("open"));
    let hits = stub.hits();
    let mut reg = Registry::default();
    reg.register(
        CALL,
        CallStub {
            adapters: ad,
            url: format!("{}/v19.0/1/events", stub.base),
        },
    );
    enqueue(&db).await;
    // max_attempts is 1: a counted attempt would make it dead.
    let (out, st) = run_one(&db, &reg).await;
    assert_eq!(out, Outcome::Retry(retry_at));
    assert_eq!((st.state.as_str(), st.attempts), ("queued", 0));
    assert_eq!(st.run_at, retry_at);
    assert_eq!(stub.hits(), hits, "nothing sent while open");
    // Still not dead after being deferred again (made due by hand).
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             UPDATE jobs SET run_at = now() - interval '1 second'; COMMIT;"
        ),
    )
    .await;
    let (_, st) = run_one(&db, &reg).await;
    assert_eq!((st.state.as_str(), st.attempts), ("queued", 0));
}

#[derive(QueryableByName)]
struct Raw {
    #[diesel(sql_type = Text)]
    hint: String,
    #[diesel(sql_type = Bytea)]
    credentials_ciphertext: Vec<u8>,
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn twilio_form() -> BTreeMap<String, String> {
    [
        ("account_sid", "AC0123456789abcdef0123456789abcdef"),
        ("auth_token", TOKEN),
        ("from_number", "+31612345678"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn ring() -> KeyRing {
    let mut k = KeyRing::new();
    k.rotate_in_key("k1", &[5u8; 32]);
    k
}

#[tokio::test]
async fn credentials_are_sealed_and_each_workspace_sees_only_its_own() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let keys = ring();
    let owner_a = member_ctx(&tdb, &db, A, 1, "owner").await;
    let sales_a = member_ctx(&tdb, &db, A, 2, "sales").await;
    let owner_b = member_ctx(&tdb, &db, B, 3, "owner").await;

    // Without integrations.manage: refused.
    let r = db
        .connect_integration(
            &sales_a,
            &keys,
            Provider::Twilio,
            &twilio_form(),
            false,
            "r1",
        )
        .await;
    assert!(matches!(r, Err(IntegrationError::Forbidden)), "{r:?}");
    assert!(matches!(
        db.integrations(&sales_a).await,
        Err(IntegrationError::Forbidden)
    ));
    // Bad input: each field named.
    let mut bad = twilio_form();
    bad.insert("from_number".into(), "0612".into());
    let r = db
        .connect_integration(&owner_a, &keys, Provider::Twilio, &bad, false, "r2")
        .await;
    let Err(IntegrationError::Invalid(fields)) = r else {
        panic!("{r:?}")
    };
    let codes: Vec<(&str, &str)> = fields.iter().map(|f| (f.field, f.code)).collect();
    assert_eq!(codes, [("from_number", "invalid")]);

    let s = db
        .connect_integration(
            &owner_a,
            &keys,
            Provider::Twilio,
            &twilio_form(),
            false,
            "r3",
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(s.hint, "AC…cdef, +31612345678");
    // The raw secret is not in the table.
    let raw = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            Ok(
                diesel::sql_query("SELECT hint, credentials_ciphertext FROM integrations")
                    .get_result::<Raw>(tc.conn())
                    .await?,
            )
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!raw.hint.contains(TOKEN));
    assert!(
        !raw.credentials_ciphertext
            .windows(TOKEN.len())
            .any(|w| w == TOKEN.as_bytes()),
        "the token is sealed"
    );
    // A job of A opens them; B has none and sees none of A's.
    let creds = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            metiva_db::adapters::credentials_loaded(&db, tc, &keys, Provider::Twilio).await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("connected"));
    assert_eq!(creds.get("auth_token"), Some(TOKEN));
    let b_view = db
        .integrations(&owner_b)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(b_view.iter().all(|v| v.connection.is_none()), "{b_view:?}");
    let none = db
        .tenant(&cid(B), async |tc: &mut TenantConn<'_>| {
            metiva_db::adapters::credentials_loaded(&db, tc, &keys, Provider::Twilio).await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(none.is_none());
    // A copied ciphertext does not open in another workspace.
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             CREATE TEMP TABLE leak ON COMMIT DROP AS SELECT * FROM integrations;
             SELECT set_config('app.company_id', '{B}', true);
             INSERT INTO integrations SELECT '{B}', provider, hint, credentials_key_id, credentials_nonce,
                 credentials_ciphertext, connected_by, connected_at FROM leak;
             COMMIT;"
        ),
    )
    .await;
    let copied = db
        .tenant(&cid(B), async |tc: &mut TenantConn<'_>| {
            metiva_db::adapters::credentials_loaded(&db, tc, &keys, Provider::Twilio).await
        })
        .await;
    assert!(
        copied.is_err(),
        "a copied ciphertext must not open elsewhere"
    );
    // Disconnect: gone, audited; a second disconnect is NotConnected.
    db.disconnect_integration(&owner_a, Provider::Twilio, "r4")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(matches!(
        db.disconnect_integration(&owner_a, Provider::Twilio, "r5")
            .await,
        Err(IntegrationError::NotConnected)
    ));
    #[derive(QueryableByName)]
    struct Act {
        #[diesel(sql_type = Text)]
        action: String,
    }
    let acts: Vec<String> = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            Ok(diesel::sql_query(
                "SELECT action FROM audit_log WHERE action LIKE 'integrations.%' ORDER BY seq",
            )
            .load::<Act>(tc.conn())
            .await?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        acts,
        ["integrations.connected", "integrations.disconnected"]
    );
}

#[tokio::test]
async fn one_workspace_cannot_see_or_write_another_workspaces_breakers() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let stub = Stub::start().await;
    let clock = ManualClock::new(t0());
    let ad = adapters(&db, &stub, &clock, 1);
    stub.answer(503, None);
    assert!(ad.call(&cid(A), Provider::Meta, get(&stub)).await.is_err());
    assert_eq!(phase(&db, A).await.phase, BreakerPhase::Open);
    // B's calls still go out: the breaker is per workspace.
    stub.answer(200, None);
    assert!(ad.call(&cid(B), Provider::Meta, get(&stub)).await.is_ok());
    // Under B's binding, A's rows are invisible and cannot be written.
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let (seen, changed) = db
        .tenant(&cid(B), async |tc: &mut TenantConn<'_>| {
            let seen = diesel::sql_query(format!(
                "SELECT count(*) AS n FROM adapter_breakers WHERE company_id = '{A}'"
            ))
            .get_result::<N>(tc.conn())
            .await?
            .n;
            let changed = diesel::sql_query(format!(
                "UPDATE adapter_breakers SET state = 'closed' WHERE company_id = '{A}'"
            ))
            .execute(tc.conn())
            .await?;
            Ok((seen, changed))
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((seen, changed), (0, 0));
    let forged = db
        .tenant(&cid(B), async |tc: &mut TenantConn<'_>| {
            Ok(diesel::sql_query(format!(
                "INSERT INTO adapter_breakers (company_id, provider, updated_at) VALUES ('{A}', 'twilio', now())"
            ))
            .execute(tc.conn())
            .await?)
        })
        .await;
    assert!(
        forged.is_err(),
        "RLS WITH CHECK refuses another company's row"
    );
    assert_eq!(phase(&db, A).await.phase, BreakerPhase::Open);
}
