//! `cargo xtask bench billing`: the job runner and billing figures of
//! issue 17, through the real worker loop (`server::worker::run`) on its
//! own cluster:
//!
//! - no-op job throughput: 2,000 jobs enqueued in one transaction, then
//!   drained by one worker (concurrency 4, poll 50 ms);
//! - enqueue-to-start latency with the worker idle, at the default poll
//!   interval (500 ms; the runner polls, it does not LISTEN) and at 50 ms;
//! - the invoice run for 1,000 retainers against the fake Stripe: the
//!   daily run (one transaction, 1,000 invoices and 2,000 jobs), then
//!   until every invoice is issued (customer, invoice, items, finalise,
//!   send) and has its PDF;
//! - the PDF: rendering alone, and render + seal + store + record.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use diesel::QueryableByName;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use metiva_db::billing::jobs::{
    INVOICE_PDF, ISSUE_INVOICE, InvoicePdf, IssueInvoice, RETAINER_RUN, RetainerRun,
};
use metiva_db::billing::{connection, pdf, stripe_client::StripeClient};
use metiva_db::files::FileStore;
use metiva_db::jobs::{
    self, Backoff, BoxFuture, Handler, JobError, JobInfo, JobKind, NewJob, Registry,
};
use metiva_db::{CompanyId, Database, PoolSettings, TenantConn, bootstrap};
use metiva_security::cipher::KeyRing;
use server::worker::WorkerConfig;
use tokio::sync::mpsc;

use super::{percentile, target};

const COMPANY: &str = "cmp_f00001";
const NOOP_JOBS: usize = 2_000;
const LATENCY_SAMPLES: usize = 40;
const RETAINERS: i32 = 1_000;
const PDF_SAMPLES: usize = 500;

const NOOP: JobKind = JobKind {
    name: "bench.noop",
    max_attempts: 1,
    backoff: Backoff::DEFAULT,
};

/// Does nothing; reports when it started.
struct Noop(mpsc::UnboundedSender<Instant>);

impl Handler for Noop {
    fn run<'a>(
        &'a self,
        _tc: &'a mut TenantConn<'_>,
        _job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        let _ = self.0.send(Instant::now());
        Box::pin(async { Ok(()) })
    }
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(db: &Database, company: &CompanyId, sql: &'static str) -> Result<i64> {
    Ok(db
        .tenant(company, async |tc: &mut TenantConn<'_>| {
            Ok(diesel::sql_query(sql).get_result::<N>(tc.conn()).await?.n)
        })
        .await?)
}

fn config(poll_ms: u64) -> WorkerConfig {
    WorkerConfig {
        id: format!("bench-{poll_ms}"),
        concurrency: 4,
        poll: Duration::from_millis(poll_ms),
        lease: Duration::from_secs(300),
        grace: Duration::from_secs(5),
        // No cron during the bench.
        cron_first: Duration::from_secs(86_400),
    }
}

/// Runs a worker with `registry` until the returned sender is dropped.
fn start_worker(
    db: &Database,
    registry: Registry,
    poll_ms: u64,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let db = db.clone();
    let task = tokio::spawn(async move {
        server::worker::run(db, Arc::new(registry), config(poll_ms), async move {
            let _ = rx.await;
        })
        .await;
    });
    (tx, task)
}

async fn enqueue_noops(db: &Database, company: &CompanyId, n: usize) -> Result<()> {
    db.tenant(company, async |tc: &mut TenantConn<'_>| {
        for _ in 0..n {
            jobs::enqueue(
                tc,
                &NewJob {
                    kind: &NOOP,
                    payload: "{}",
                    key: None,
                    run_at: None,
                },
            )
            .await?;
        }
        Ok(())
    })
    .await?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

pub async fn run() -> Result<()> {
    let (target, _cluster, dir) = target().await?;
    let su = metiva_embedded_pg::socket_url(
        &target.socket_dir,
        metiva_embedded_pg::SUPERUSER,
        "postgres",
    );
    bootstrap::bootstrap_as_superuser(&su, "metiva").await?;
    bootstrap::run_migrations(&target.socket(bootstrap::OWNER_ROLE)).await?;
    let mut o = AsyncPgConnection::establish(&target.socket(bootstrap::OWNER_ROLE)).await?;
    o.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.company_id', '{COMPANY}', true);
         INSERT INTO companies (id, name) VALUES ('{COMPANY}', 'Billing bench');
         INSERT INTO organisations (company_id, id, name)
           SELECT '{COMPANY}', ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'Klant ' || g
           FROM generate_series(1, {RETAINERS}) g;
         INSERT INTO retainers (company_id, organisation_id, description, monthly_cents, vat_rate, starts_on, billing_day)
           SELECT '{COMPANY}', ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'Retainer ' || g,
                  100000 + g, 21, date_trunc('month', now() AT TIME ZONE 'Europe/Amsterdam')::date, 1
           FROM generate_series(1, {RETAINERS}) g;
         COMMIT;"
    ))
    .await?;
    let db = Database::connect(
        &target.socket(bootstrap::APP_ROLE),
        &PoolSettings::default(),
    )?;
    let company = CompanyId::parse(COMPANY).map_err(|e| anyhow!("{e}"))?;

    // 1. Throughput of no-op jobs.
    let (tx, mut starts) = mpsc::unbounded_channel();
    enqueue_noops(&db, &company, NOOP_JOBS).await?;
    let mut registry = Registry::default();
    registry.register(NOOP, Noop(tx.clone()));
    let t = Instant::now();
    let (stop, task) = start_worker(&db, registry, 50);
    for _ in 0..NOOP_JOBS {
        starts
            .recv()
            .await
            .ok_or_else(|| anyhow!("the worker stopped"))?;
    }
    while count(
        &db,
        &company,
        "SELECT count(*) AS n FROM jobs WHERE state <> 'done'",
    )
    .await?
        > 0
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = t.elapsed();
    let _ = stop.send(());
    task.await?;
    println!(
        "jobs: {NOOP_JOBS} no-op jobs drained in {:.2} s = {:.0} jobs/s (1 worker, concurrency 4, poll 50 ms)",
        took.as_secs_f64(),
        NOOP_JOBS as f64 / took.as_secs_f64()
    );

    // 2. Enqueue-to-start latency, worker idle.
    for poll in [500, 50] {
        let mut registry = Registry::default();
        registry.register(NOOP, Noop(tx.clone()));
        let (stop, task) = start_worker(&db, registry, poll);
        tokio::time::sleep(Duration::from_millis(poll * 2)).await;
        let mut lat = Vec::with_capacity(LATENCY_SAMPLES);
        for i in 0..LATENCY_SAMPLES {
            // Spread over the poll phase.
            tokio::time::sleep(Duration::from_millis((i as u64 * 37) % poll + 5)).await;
            let t = Instant::now();
            enqueue_noops(&db, &company, 1).await?;
            let started = starts
                .recv()
                .await
                .ok_or_else(|| anyhow!("the worker stopped"))?;
            lat.push(started.saturating_duration_since(t));
        }
        let _ = stop.send(());
        task.await?;
        lat.sort();
        println!(
            "jobs: enqueue-to-start, idle worker, poll {poll} ms: p50 {:.1} ms, p99 {:.1} ms ({LATENCY_SAMPLES} samples)",
            ms(percentile(&lat, 0.50)),
            ms(percentile(&lat, 0.99))
        );
    }

    // 3. The invoice run for 1,000 retainers against the fake Stripe.
    let stripe = metiva_testkit::fake_stripe::FakeStripe::start().await;
    let mut ring = KeyRing::new();
    ring.rotate_in_key("bench", &[5u8; 32]);
    let keys = Arc::new(ring);
    connection::load_key(&db, &keys, &company).await?;
    let secrets = connection::ConnectForm {
        api_key: "rk_test_benchkey0001",
        webhook_secret: "whsec_benchsecret0001",
    }
    .validate()
    .map_err(|e| anyhow!("{e:?}"))?;
    db.tenant(&company, async |tc: &mut TenantConn<'_>| {
        connection::store(tc, &keys, &secrets, None).await
    })
    .await?;
    let files = FileStore::local(&dir)?;
    let client = StripeClient::new(&stripe.base_url(), Duration::from_secs(20))
        .map_err(|e| anyhow!("{e}"))?;
    let mut registry = Registry::default();
    registry.register(RETAINER_RUN, RetainerRun);
    registry.register(
        ISSUE_INVOICE,
        IssueInvoice::new(db.clone(), keys.clone(), client),
    );
    registry.register(
        INVOICE_PDF,
        InvoicePdf::new(db.clone(), keys.clone(), files.clone()),
    );
    let t = Instant::now();
    db.tenant(&company, async |tc: &mut TenantConn<'_>| {
        jobs::enqueue(
            tc,
            &NewJob {
                kind: &RETAINER_RUN,
                payload: "{}",
                key: Some("bench:run"),
                run_at: None,
            },
        )
        .await
    })
    .await?;
    let (stop, task) = start_worker(&db, registry, 50);
    let mut billed_at = None;
    loop {
        let invoices = count(&db, &company, "SELECT count(*) AS n FROM invoices").await?;
        if invoices >= i64::from(RETAINERS) && billed_at.is_none() {
            billed_at = Some(t.elapsed());
        }
        let open = count(
            &db,
            &company,
            "SELECT count(*) AS n FROM invoices WHERE status = 'open'",
        )
        .await?;
        let pdfs = count(&db, &company, "SELECT count(*) AS n FROM stored_files").await?;
        if open >= i64::from(RETAINERS) && pdfs >= i64::from(RETAINERS) {
            break;
        }
        if t.elapsed() > Duration::from_secs(1_800) {
            return Err(anyhow!(
                "the invoice run did not finish in 30 minutes ({open} issued, {pdfs} PDFs)"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all = t.elapsed();
    let _ = stop.send(());
    task.await?;
    println!(
        "billing: {RETAINERS} retainers: invoices created in {:.2} s (the daily run, one transaction); all issued at the fake Stripe and their PDFs stored after {:.1} s ({} Stripe invoices, {} requests; 1 worker, concurrency 4)",
        billed_at.unwrap_or_default().as_secs_f64(),
        all.as_secs_f64(),
        stripe.created("invoice"),
        stripe.requests()
    );

    // 4. The PDF: rendering, and rendering + sealing + storing.
    let ids: Vec<uuid::Uuid> = db
        .tenant(&company, async |tc: &mut TenantConn<'_>| {
            #[derive(QueryableByName)]
            struct Id {
                #[diesel(sql_type = diesel::sql_types::Uuid)]
                id: uuid::Uuid,
            }
            Ok(
                diesel::sql_query("SELECT id FROM invoices ORDER BY seq LIMIT 1")
                    .load::<Id>(tc.conn())
                    .await?
                    .into_iter()
                    .map(|i| i.id)
                    .collect(),
            )
        })
        .await?;
    let id = *<[uuid::Uuid]>::first(&ids).ok_or_else(|| anyhow!("no invoice"))?;
    let (inv, lines) = db
        .tenant(&company, async |tc: &mut TenantConn<'_>| {
            metiva_db::billing::invoices::invoice_with_lines(tc, id).await
        })
        .await?
        .ok_or_else(|| anyhow!("no invoice"))?;
    let branding = pdf::Branding {
        name: "Billing bench".into(),
        ..pdf::Branding::default()
    };
    let mut render = Vec::with_capacity(PDF_SAMPLES);
    let mut size = 0;
    for _ in 0..PDF_SAMPLES {
        let t = Instant::now();
        let bytes = pdf::render(&pdf::PdfInvoice {
            branding: &branding,
            customer: "Klant 1",
            invoice: &inv,
            lines: &lines,
            dutch: true,
        })?;
        render.push(t.elapsed());
        size = bytes.len();
    }
    render.sort();
    println!(
        "pdf: render p50 {:.3} ms, p99 {:.3} ms ({size} bytes, {PDF_SAMPLES} samples)",
        ms(percentile(&render, 0.50)),
        ms(percentile(&render, 0.99))
    );
    // Render + seal + store + record for one invoice, 50 times (its file
    // row removed by the owner in between, so each run stores anew).
    let mut o = AsyncPgConnection::establish(&target.socket(bootstrap::OWNER_ROLE)).await?;
    let mut stored = Vec::with_capacity(50);
    for _ in 0..50 {
        o.batch_execute(&format!(
            "BEGIN; SELECT set_config('app.company_id', '{COMPANY}', true);
             DELETE FROM stored_files WHERE invoice_id = '{id}'; COMMIT;"
        ))
        .await?;
        let t = Instant::now();
        db.tenant(&company, async |tc: &mut TenantConn<'_>| {
            pdf::render_and_store(tc, &files, &keys, id).await
        })
        .await?;
        stored.push(t.elapsed());
    }
    stored.sort();
    println!(
        "pdf: render + seal + store (local filesystem) + record: p50 {:.2} ms, p99 {:.2} ms (50 samples)",
        ms(percentile(&stored, 0.50)),
        ms(percentile(&stored, 0.99))
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
