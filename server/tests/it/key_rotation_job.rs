//! The scheduled signing-key rotation (issue 19, `server::key_rotation`):
//! the cron's slot enqueues a job per workspace; with two workers running
//! them at once an old key is rotated exactly once, through the login
//! role, audited once; a session signed with the old key stays valid
//! until its key's retirement window closes, and not after; a fresh key
//! is left alone, and a never-rotated table is not touched.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use metiva_db::Database;
use metiva_db::jobs::{self, Outcome, Registry};
use metiva_db::repo::audit;
use metiva_db::signing_keys::KeyState;
use server::key_rotation::{AUDIT_ACTION, KIND, RotateSigningKey};
use server::worker::CronState;

use crate::signing_keys::{kid, session_status};
use crate::world::{SEED, World, keys};

const NOORD: &str = "cmp_63ae02";
const DAYS_90: Duration = Duration::from_secs(90 * 86_400);

fn registry(w: &World) -> Arc<Registry> {
    let mut reg = Registry::default();
    reg.register(
        KIND,
        RotateSigningKey::new(
            w.login_db.database().clone(),
            keys().field_keys.clone(),
            DAYS_90,
        ),
    );
    Arc::new(reg)
}

/// Enqueues the schedule's slot at `now` and runs every due job with two
/// workers at once; returns how many jobs were enqueued.
async fn run_slot(w: &World, reg: &Arc<Registry>, now: chrono::DateTime<Utc>) -> usize {
    let (a, b) = (w.tdb.database(), w.tdb.database());
    let (x, y) = tokio::join!(
        async { CronState::default().tick(&a, reg, now).await },
        async { CronState::default().tick(&b, reg, now).await },
    );
    let work = |db: Database, name: &'static str| {
        let reg = reg.clone();
        async move {
            loop {
                let batch = jobs::claim(&db, name, 2, 60).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                for job in &batch {
                    assert_eq!(
                        jobs::execute(&db, &reg, name, job).await.unwrap(),
                        Outcome::Done,
                        "{job:?}"
                    );
                }
            }
        }
    };
    tokio::join!(work(a, "w1"), work(b, "w2"));
    x + y
}

/// `signing_key.rotated` entries over every workspace's audit log.
async fn rotations_audited(db: &Database) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for company in jobs::job_companies(db).await.unwrap() {
        let rows = db
            .tenant(&company, async |tc| audit::list(tc, 500).await)
            .await
            .unwrap();
        out.extend(
            rows.into_iter()
                .filter(|r| r.action == AUDIT_ACTION)
                .map(|r| (r.company_id, r.target_id)),
        );
    }
    out
}

async fn current_kid(db: &Database) -> String {
    db.signing_keys_public()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.state == KeyState::Current)
        .unwrap()
        .public
        .kid
}

#[tokio::test]
async fn the_schedule_rotates_an_old_key_once_and_its_sessions_live_until_expiry() {
    let w = World::new().await;
    let db = w.tdb.database();
    let reg = registry(&w);
    let now = Utc::now();

    // Never rotated: the environment key's age is unknown; the job leaves
    // the table alone.
    let enqueued = run_slot(&w, &reg, now).await;
    assert_eq!(enqueued, jobs::job_companies(&db).await.unwrap().len());
    assert!(enqueued >= 2, "{enqueued}");
    assert!(db.signing_keys_public().await.unwrap().is_empty());

    // The operator's first rotation starts the clock; a session is signed
    // with the new current key.
    let first = w
        .owner_db
        .rotate_signing_keys(
            &keys().field_keys,
            Some(&SEED),
            server::signing_keys::RETIRED_KEPT,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let old_session = w.sign_in("owner@noord.example", NOORD).await;
    assert_eq!(kid(&old_session), first.current);
    assert_eq!(
        session_status(&w.dashboard, &old_session).await,
        StatusCode::OK
    );

    // A fresh key: the next day's slot does nothing.
    run_slot(&w, &reg, now + chrono::TimeDelta::days(1)).await;
    assert_eq!(current_kid(&db).await, first.current);
    assert!(rotations_audited(&db).await.is_empty());

    // 91 days later (the key backdated): the slot's jobs, two workers at
    // once, rotate it exactly once.
    w.owner_sql(
        "UPDATE token_signing_keys SET activated_at = now() - interval '91 days' WHERE state = 'current'",
    )
    .await;
    run_slot(&w, &reg, now + chrono::TimeDelta::days(2)).await;
    let keys_now = db.signing_keys_public().await.unwrap();
    let state = |kid: &str| keys_now.iter().find(|k| k.public.kid == kid).unwrap().state;
    assert_eq!(state(&first.current), KeyState::Retired);
    assert_eq!(state(&first.next), KeyState::Current);
    assert_eq!(
        keys_now
            .iter()
            .filter(|k| k.state == KeyState::Retired)
            .count(),
        2,
        "rotated more than once: {keys_now:?}"
    );
    assert_eq!(
        keys_now
            .iter()
            .filter(|k| k.state == KeyState::Next)
            .count(),
        1
    );
    // Audited once, naming the new current key.
    let audited = rotations_audited(&db).await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(
        audited.first().and_then(|a| a.1.as_deref()),
        Some(first.next.as_str())
    );

    // Nobody is signed out: the old key's session still works, and new
    // sign-ins use the promoted key.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        session_status(&w.dashboard, &old_session).await,
        StatusCode::OK
    );
    let new_session = w.sign_in("owner@noord.example", NOORD).await;
    assert_eq!(kid(&new_session), first.next);
    assert_eq!(
        session_status(&w.dashboard, &new_session).await,
        StatusCode::OK
    );

    // Its window closes (as if the tokens' lifetime had passed): the old
    // key's session is refused, the new one is not.
    w.owner_sql(&format!(
        "UPDATE token_signing_keys SET retired_at = now() - interval '1 hour' WHERE kid = '{}'",
        first.current
    ))
    .await;
    let mut refused = false;
    for _ in 0..100 {
        if session_status(&w.dashboard, &old_session).await != StatusCode::OK {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "a token of a retired key outlived its window");
    assert_eq!(
        session_status(&w.dashboard, &new_session).await,
        StatusCode::OK
    );

    // The same slot again (a second instance's cron, a retry): nothing.
    assert_eq!(
        run_slot(&w, &reg, now + chrono::TimeDelta::days(2)).await,
        0
    );
    assert_eq!(rotations_audited(&db).await.len(), 1);
}
