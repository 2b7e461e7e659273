//! The breaker against a real PostgreSQL and a stub provider: its states
//! with a stepped clock, its state shared by two pools ("workers"), a
//! short Retry-After slept in the call, and its rows kept per workspace.

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use metiva_db::TenantConn;
use metiva_db::adapters::breaker::BreakerPhase;
use metiva_db::adapters::{CallError, Provider};

use super::stub::{Secs, World, adapters, get, phase, t0};
use crate::fixtures::{A, B, cid};

#[tokio::test]
async fn the_breaker_opens_after_n_half_opens_after_the_cool_down_and_closes_on_success() {
    let (_tdb, db, stub, clock) = World::new(t0()).await.parts();
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

#[tokio::test]
async fn two_workers_on_two_pools_agree_on_the_breaker() {
    let (tdb, db1, stub, clock) = World::new(t0()).await.parts();
    // A second pool: another worker.
    let db2 = tdb.database();
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
    let (_tdb, db, stub, clock) = World::new(t0()).await.parts();
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

#[tokio::test]
async fn one_workspace_cannot_see_or_write_another_workspaces_breakers() {
    let (_tdb, db, stub, clock) = World::new(t0()).await.parts();
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
