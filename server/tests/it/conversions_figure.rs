//! The figure for issue 18's closing note (ignored; run by hand): the
//! dashboard's p99 while Google Ads is down (the fake answers 503) and
//! 1,000 conversion uploads are pending and being worked by the job
//! worker, against idle. In process, through the dashboard router, on the
//! test build:
//!
//! `cargo nextest run -p server --test it conversions_figure --run-ignored only --no-capture`

use std::sync::Arc;
use std::time::{Duration, Instant};

use metiva_db::adapters::Provider;
use metiva_db::conversions::{self, forwards};
use metiva_db::jobs::Registry;
use metiva_testkit::recording_fake::Mode;

use crate::conversions::{adapters, connect, fakes};
use crate::world::{DE_VRIES, World, call, get_with};

const UPLOADS: usize = 1_000;
const REQUESTS: usize = 300;

async fn p99(w: &World, token: &str) -> (f64, f64) {
    let mut ms = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let t = Instant::now();
        let r = call(&w.dashboard, get_with("/", &[("metiva_session", token)])).await;
        assert_eq!(r.status, 200);
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).min(ms.len()) - 1];
    (at(0.5), at(0.99))
}

#[tokio::test]
#[ignore = "a figure, not a check: run by hand"]
async fn dashboard_p99_with_a_provider_down_and_1000_uploads_pending() {
    let w = World::new().await;
    let f = fakes().await;
    connect(
        &w,
        DE_VRIES,
        Provider::GoogleAds,
        &[
            ("customer_id", "1234567890"),
            ("conversion_action", "987654"),
            ("developer_token", "dev-token"),
            ("access_token", "ya29.token"),
        ],
    )
    .await;
    // 1,000 consented persons with won deals, their uploads and jobs, as
    // the win would have made them (bulk, as the owner, bound to the
    // workspace so forced RLS and the search-terms trigger still apply).
    w.owner_sql(&format!(
        "BEGIN; SELECT set_config('app.company_id', '{DE_VRIES}', true);
         CREATE TEMP TABLE fig AS SELECT g, gen_random_uuid() AS person, gen_random_uuid() AS visitor,
                gen_random_uuid() AS deal, gen_random_uuid() AS upload FROM generate_series(1, {UPLOADS}) g;
         INSERT INTO persons (company_id, id, name, email) SELECT '{DE_VRIES}', person, 'Lead ' || g, 'lead' || g || '@example.nl' FROM fig;
         INSERT INTO visitors (company_id, id, site_id, visitor_key, analytics, identification, marketing, person_id)
           SELECT '{DE_VRIES}', visitor, (SELECT id FROM sites WHERE company_id = '{DE_VRIES}' LIMIT 1), gen_random_uuid(), true, true, true, person FROM fig;
         INSERT INTO consent_decisions (company_id, site_id, visitor_id, analytics, identification, marketing, banner_version, lang, text_hash)
           SELECT '{DE_VRIES}', (SELECT id FROM sites WHERE company_id = '{DE_VRIES}' LIMIT 1), visitor, true, true, true, '2026-12.1', 'nl', repeat('a', 64) FROM fig;
         INSERT INTO deals (company_id, id, title, value_cents, stage, person_id)
           SELECT '{DE_VRIES}', deal, 'Deal ' || g, 100000, (SELECT key FROM pipeline_stages WHERE company_id = '{DE_VRIES}' AND outcome = 'won' LIMIT 1), person FROM fig;
         INSERT INTO conversion_uploads (company_id, id, deal_id, person_id, platform, idempotency_key, value_cents, currency)
           SELECT '{DE_VRIES}', upload, deal, person, 'google_ads', 'metiva-cu-' || replace(upload::text, '-', ''), 100000, 'EUR' FROM fig;
         INSERT INTO jobs (company_id, kind, payload, job_key, max_attempts)
           SELECT '{DE_VRIES}', 'conversions.upload', json_build_object('upload', upload)::text, 'conversion:' || deal || ':google_ads', 12 FROM fig;
         COMMIT"
    ))
    .await;
    let token = w.sign_in("viewer@devries.example", DE_VRIES).await;
    // Warm-up, then idle.
    p99(&w, &token).await;
    let (idle_p50, idle_p99) = p99(&w, &token).await;

    f.google.set_mode(Mode::Down);
    let a = adapters(&w, &f, None, 5);
    let mut reg = Registry::default();
    let keys = w.auth.field_keys.clone();
    reg.register(
        conversions::UPLOAD,
        conversions::UploadConversion::new(keys.clone(), a.clone()),
    );
    reg.register(forwards::SEND, forwards::SendForward::new(keys, a));
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(server::worker::run(
        w.tdb.database(),
        Arc::new(reg),
        server::worker::WorkerConfig {
            id: "figure".into(),
            concurrency: 4,
            poll: Duration::from_millis(50),
            lease: Duration::from_secs(60),
            grace: Duration::from_secs(5),
            cron_first: Duration::from_secs(3600),
        },
        async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        },
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let (down_p50, down_p99) = p99(&w, &token).await;
    let spent = t.elapsed();
    stop_tx.send(true).unwrap();
    worker.await.unwrap();
    let pending = w
        .tdb
        .database()
        .tenant(&crate::conversions::cmp(DE_VRIES), async |tc| {
            metiva_db::jobs::list_open(tc, 2_000).await
        })
        .await
        .unwrap()
        .len();
    println!(
        "FIGURE dashboard / ({REQUESTS} sequential requests, in process, test build): \
         idle p50 {idle_p50:.2} ms p99 {idle_p99:.2} ms; \
         Google Ads down (503) with {UPLOADS} uploads pending and the worker running: \
         p50 {down_p50:.2} ms p99 {down_p99:.2} ms; ratio p99 {:.2}; \
         calls that reached the fake {}; jobs still open after {:.1} s: {pending}",
        down_p99 / idle_p99,
        f.google.attempts(),
        spent.as_secs_f64()
    );
    assert!(f.google.received().is_empty());
}
