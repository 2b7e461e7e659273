//! `/settings/jobs` through the real router: owners and admins read the
//! workspace's open jobs (attempts, next run, last error) and schedules,
//! in English and Dutch; "retry now" and "discard" need `jobs.manage`,
//! are audited, and never reach another workspace's job.

use axum::http::StatusCode;
use metiva_db::CompanyId;
use metiva_db::jobs::{self, Backoff, Enqueued, JobKind, NewJob};

use crate::crm::{plain, script};
use crate::world::{BROUWER, DE_VRIES, World, call, get_with};

const K: JobKind = JobKind {
    name: "test.page",
    max_attempts: 1,
    backoff: Backoff::DEFAULT,
};

/// A dead job in De Vries Media, with its last error.
async fn dead_job(w: &World) -> String {
    let db = w.tdb.database();
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let Enqueued::New(id) = db
        .tenant(&company, async |tc| {
            jobs::enqueue(
                tc,
                &NewJob {
                    kind: &K,
                    payload: "{}",
                    key: Some("page:1"),
                    run_at: None,
                },
            )
            .await
        })
        .await
        .unwrap()
    else {
        panic!("duplicate")
    };
    // No handler is registered for it: its one attempt fails for good.
    let claimed = jobs::claim(&db, "w-page", 10, 60).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let out = jobs::execute(&db, &jobs::Registry::default(), "w-page", &claimed[0])
        .await
        .unwrap();
    assert_eq!(out, jobs::Outcome::Dead);
    id.to_string()
}

#[tokio::test]
async fn the_jobs_page_shows_this_workspace_s_jobs_and_retry_and_discard_need_jobs_manage() {
    let w = World::new().await;
    let id = dead_job(&w).await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let page = async |token: &str, uri: &str| {
        call(&w.dashboard, get_with(uri, &[("metiva_session", token)])).await
    };

    let p = page(&owner, "/settings/jobs").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("data-state=\"dead\""), "{}", p.body);
    assert!(
        p.body.contains("no handler registered for kind test.page"),
        "{}",
        p.body
    );
    assert!(p.body.contains("retry-job"), "{}", p.body);
    assert!(p.body.contains("cron-retainer-billing"), "{}", p.body);
    assert!(p.body.contains("Europe/Amsterdam"), "{}", p.body);
    let p = page(&owner, "/settings/jobs?lang=nl").await;
    assert!(p.body.contains("Achtergrondtaken"), "{}", p.body);
    assert!(p.body.contains("Opgegeven"), "{}", p.body);
    // Another workspace sees none of it; a viewer may not read the page.
    let p = page(&other, "/settings/jobs").await;
    assert!(p.body.contains("no-jobs"), "{}", p.body);
    assert!(!p.body.contains(&id), "{}", p.body);
    let p = page(&viewer, "/settings/jobs").await;
    assert!(!p.body.contains("data-testid=\"jobs\""), "{}", p.body);

    // Retry and discard: 403 for a viewer, 404 across workspaces and for a
    // malformed id.
    let r = call(
        &w.dashboard,
        script("/api/retry_job", &viewer, &[("id", &id)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(
        &w.dashboard,
        script("/api/retry_job", &other, &[("id", &id)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = call(
        &w.dashboard,
        script("/api/discard_job", &owner, &[("id", "nope")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // The owner retries (a plain form goes back to the page), then
    // discards; both audited.
    let r = call(
        &w.dashboard,
        plain("/api/retry_job", &owner, &[("id", &id)]),
    )
    .await;
    assert_eq!(r.location(), "/settings/jobs?done=saved");
    let p = page(&owner, "/settings/jobs").await;
    assert!(p.body.contains("data-state=\"queued\""), "{}", p.body);
    let r = call(
        &w.dashboard,
        plain("/api/discard_job", &owner, &[("id", &id)]),
    )
    .await;
    assert_eq!(r.location(), "/settings/jobs?done=saved");
    let p = page(&owner, "/settings/jobs").await;
    assert!(p.body.contains("no-jobs"), "{}", p.body);
    let actions: Vec<String> = w
        .audit_rows(DE_VRIES)
        .await
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(actions.contains(&"jobs.retried".into()), "{actions:?}");
    assert!(actions.contains(&"jobs.discarded".into()), "{actions:?}");
}
