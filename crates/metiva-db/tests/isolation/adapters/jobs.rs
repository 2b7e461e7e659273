//! The adapters inside jobs: a long Retry-After reschedules the job not
//! before it, and an open breaker defers the job without using an
//! attempt.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Integer, Text};
use diesel_async::RunQueryDsl;
use metiva_db::adapters::{Adapters, OutboundRequest, Provider};
use metiva_db::jobs::{
    self, Backoff, Handler, JobError, JobInfo, JobKind, NewJob, Outcome, Registry,
};
use metiva_db::{Database, TenantConn};

use super::stub::{Stub, World, adapters, get, phase};
use crate::fixtures::{A, cid, exec};

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

/// A registry whose `kind` jobs call the stub through `adapters`.
fn registry(kind: JobKind, adapters: Adapters, stub: &Stub) -> Registry {
    let mut reg = Registry::default();
    reg.register(
        kind,
        CallStub {
            adapters,
            url: format!("{}/v19.0/1/events", stub.base),
        },
    );
    reg
}

/// One `kind` job for company A, due now.
async fn enqueue(db: &Database, kind: &JobKind) {
    db.tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
        jobs::enqueue(
            tc,
            &NewJob {
                kind,
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
    let (_tdb, db, stub, clock) = World::new(Utc::now()).await.parts();
    let ad = adapters(&db, &stub, &clock, 5);
    let kind = JobKind {
        max_attempts: 5,
        ..CALL
    };
    let reg = registry(kind, ad, &stub);
    enqueue(&db, &kind).await;
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
    let (tdb, db, stub, clock) = World::new(Utc::now()).await.parts();
    let ad = adapters(&db, &stub, &clock, 1);
    // One failed call opens it (N = 1).
    stub.answer(503, None);
    assert!(ad.call(&cid(A), Provider::Meta, get(&stub)).await.is_err());
    let retry_at = phase(&db, A)
        .await
        .retry_at
        .unwrap_or_else(|| panic!("open"));
    let hits = stub.hits();
    let reg = registry(CALL, ad, &stub);
    enqueue(&db, &CALL).await;
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
