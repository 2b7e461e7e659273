//! `cargo xtask bench [isolation|auth|ingest|crm|billing]`: the cost of isolation, the
//! sign-in and tenant-guard figures (see `auth`), and the ingest figures
//! (see `ingest`), and the job runner and billing figures (see `billing`).
//!
//! A tenant-scoped primary-key read through `TenantConn` against the same
//! read as a plain query (`WHERE company_id = $1`) by a role without RLS
//! (BYPASSRLS), with 3 tenants × 2,000 persons. Measured twice: over the
//! Unix socket, and over TCP with SCRAM and TLS `verify-full` (what an
//! operator runs against managed PostgreSQL). `cargo xtask bench` starts
//! the test cluster (socket + TLS listener) and passes it in the
//! environment; run alone, the bench starts a socket-only cluster and says
//! so. Variants are measured in interleaved rounds, so machine noise hits
//! them alike; ratios come from one run.

#![expect(clippy::print_stdout, reason = "a benchmark prints its figures")]
#![expect(
    clippy::disallowed_methods,
    reason = "the benchmark's baseline deliberately bypasses TenantConn"
)]

mod auth;
mod billing;
mod crm;
mod footprint;
mod ingest;
mod pages;
mod pages_http;
mod process;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use metiva_db::{CompanyId, Database, PoolSettings, bootstrap};
use metiva_embedded_pg::{Cluster, SUPERUSER};
use uuid::Uuid;

const TENANTS: [&str; 3] = ["cmp_b00001", "cmp_b00002", "cmp_b00003"];
const PERSONS_PER_TENANT: i32 = 2_000;
const ROUNDS: usize = 20;
const REQUESTS_PER_ROUND: usize = 500;
const CONCURRENCY: usize = 16;
const THROUGHPUT_WINDOW: Duration = Duration::from_millis(1_500);

// The baseline runs the app's own query (the generated schema, checked
// against the migrations by a test, and the same selected columns), so
// the comparison measures the binding and nothing else.
use metiva_db::repo::persons::Person;
use metiva_tenancy::schema::persons;

#[derive(Clone)]
struct Fixture {
    app: Database,
    plain: Pool<AsyncPgConnection>,
    app_url: String,
    targets: Vec<(CompanyId, Uuid)>,
}

/// The runtime roles' password over TCP (set by the bench).
const BENCH_PASSWORD: &str = "metiva-bench-password";

/// How the bench's clients reach the cluster.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Socket,
    Tls,
}

/// The cluster: its socket directory, and its TLS listener if it has one.
pub(crate) struct Target {
    pub(crate) socket_dir: std::path::PathBuf,
    tls: Option<(String, String)>,
}

impl Target {
    pub(crate) fn socket(&self, user: &str) -> String {
        metiva_embedded_pg::socket_url(&self.socket_dir, user, "metiva")
    }

    fn url(&self, t: Transport, user: &str) -> Option<String> {
        match t {
            Transport::Socket => Some(self.socket(user)),
            Transport::Tls => self.tls.as_ref().map(|(addr, ca)| {
                let port = addr.rsplit(':').next().unwrap_or("5432");
                format!(
                    "postgresql://{user}:{BENCH_PASSWORD}@localhost:{port}/metiva?sslmode=verify-full&sslrootcert={ca}"
                )
            }),
        }
    }
}

async fn open(url: &str) -> Result<AsyncPgConnection> {
    Ok(metiva_db::DbUrl::parse(url)?.open().await?)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    Plain,
    TenantRead,
    TenantReadWrite,
    Naive,
}

impl Variant {
    const ALL: [Variant; 4] = [
        Variant::Plain,
        Variant::TenantRead,
        Variant::TenantReadWrite,
        Variant::Naive,
    ];

    fn label(self) -> &'static str {
        match self {
            Variant::Plain => "plain query, BYPASSRLS role",
            Variant::TenantRead => "TenantConn tenant_read (bound per request)",
            Variant::TenantReadWrite => "TenantConn tenant (awaits COMMIT)",
            Variant::Naive => "naive BEGIN;set_config;query;COMMIT",
        }
    }
}

async fn one_request(
    fx: &Fixture,
    naive_conn: Option<&mut AsyncPgConnection>,
    v: Variant,
    i: usize,
) -> Result<()> {
    let (company, id) = fx
        .targets
        .get(i % fx.targets.len())
        .cloned()
        .ok_or_else(|| anyhow!("no targets"))?;
    match v {
        Variant::Plain => {
            let mut conn = fx.plain.get().await?;
            let row: Person = persons::table
                .filter(persons::company_id.eq(company.as_str()))
                .filter(persons::id.eq(id))
                .select(Person::as_select())
                .first(&mut conn)
                .await?;
            anyhow::ensure!(row.id == id);
        }
        Variant::TenantRead => {
            let p = fx
                .app
                .tenant_read(&company, async |tc| {
                    metiva_db::repo::persons::get(tc, id).await
                })
                .await?;
            anyhow::ensure!(p.id == id);
        }
        Variant::TenantReadWrite => {
            let p = fx
                .app
                .tenant(&company, async |tc| {
                    metiva_db::repo::persons::get(tc, id).await
                })
                .await?;
            anyhow::ensure!(p.id == id);
        }
        Variant::Naive => {
            let conn = naive_conn.ok_or_else(|| anyhow!("naive needs a connection"))?;
            conn.batch_execute("BEGIN").await?;
            diesel::sql_query("SELECT set_config('app.company_id', $1, true)")
                .bind::<diesel::sql_types::Text, _>(company.as_str())
                .execute(conn)
                .await?;
            let row: Person = persons::table
                .filter(persons::company_id.eq(company.as_str()))
                .filter(persons::id.eq(id))
                .select(Person::as_select())
                .first(conn)
                .await?;
            conn.batch_execute("COMMIT").await?;
            anyhow::ensure!(row.id == id);
        }
    }
    Ok(())
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied().unwrap_or_default()
}

/// Bootstraps the `metiva` database with the bench's tenants and the
/// baseline role (once per cluster).
async fn prepare(target: &Target) -> Result<()> {
    let su = metiva_embedded_pg::socket_url(&target.socket_dir, SUPERUSER, "postgres");
    bootstrap::bootstrap_as_superuser(&su, "metiva").await?;
    bootstrap::run_migrations(&target.socket(bootstrap::OWNER_ROLE)).await?;
    let mut o = AsyncPgConnection::establish(&target.socket(bootstrap::OWNER_ROLE)).await?;
    for t in TENANTS {
        o.batch_execute(&format!(
            "BEGIN; SELECT set_config('app.company_id', '{t}', true);
             INSERT INTO companies (id, name) VALUES ('{t}', 'Bench {t}');
             INSERT INTO persons (company_id, name, email)
               SELECT '{t}', 'Person ' || g, 'p' || g || '@{t}.example' FROM generate_series(1, {PERSONS_PER_TENANT}) g;
             COMMIT; ANALYZE persons;"
        ))
        .await?;
    }
    // The comparison role: no RLS applies to it (BYPASSRLS), same grants.
    let mut s = AsyncPgConnection::establish(&target.socket(SUPERUSER)).await?;
    s.batch_execute(&format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_plain') THEN
           CREATE ROLE bench_plain LOGIN BYPASSRLS; END IF; END $$;
         GRANT CONNECT ON DATABASE metiva TO bench_plain; GRANT USAGE ON SCHEMA public TO bench_plain;
         GRANT SELECT ON persons TO bench_plain;
         ALTER ROLE bench_plain PASSWORD '{BENCH_PASSWORD}';
         ALTER ROLE {app} PASSWORD '{BENCH_PASSWORD}';",
        app = bootstrap::APP_ROLE
    ))
    .await?;
    Ok(())
}

async fn setup(target: &Target, transport: Transport) -> Result<Fixture> {
    let url = |user| {
        target
            .url(transport, user)
            .ok_or_else(|| anyhow!("no TLS listener"))
    };
    let app_url = url(bootstrap::APP_ROLE)?;
    let app = Database::connect(
        &app_url,
        &PoolSettings {
            max_size: CONCURRENCY,
            ..Default::default()
        },
    )?;
    // Same pool behaviour as the app's (`Fast` recycling: no extra round
    // trip per checkout), so only the isolation differs.
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    // Connections open as the app's do (TLS as the URL says).
    config.custom_setup = Box::new(|url| {
        let url = url.to_string();
        Box::pin(async move {
            open(&url)
                .await
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
        })
    });
    let plain = Pool::builder(
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
            url("bench_plain")?,
            config,
        ),
    )
    .max_size(CONCURRENCY)
    .build()?;
    // Request targets: random persons of random tenants.
    let mut targets = Vec::new();
    for t in TENANTS {
        let company = CompanyId::parse(t)?;
        let ids = app
            .tenant_read(&company, async |tc| {
                metiva_db::repo::persons::list(tc, 200).await
            })
            .await?;
        targets.extend(ids.into_iter().map(|p| (company.clone(), p.id)));
    }
    use rand::seq::SliceRandom;
    targets.shuffle(&mut rand::rng());
    Ok(Fixture {
        app,
        plain,
        app_url,
        targets,
    })
}

async fn latency(fx: &Fixture) -> Result<Vec<(Variant, Vec<Duration>)>> {
    let mut naive = open(&fx.app_url).await?;
    let mut samples: Vec<(Variant, Vec<Duration>)> =
        Variant::ALL.iter().map(|v| (*v, Vec::new())).collect();
    // Warm-up: statement caches, pool connections.
    for (v, _) in &samples {
        for i in 0..200 {
            one_request(fx, Some(&mut naive), *v, i).await?;
        }
    }
    for round in 0..ROUNDS {
        for (v, s) in samples.iter_mut() {
            for i in 0..REQUESTS_PER_ROUND {
                let t = Instant::now();
                one_request(fx, Some(&mut naive), *v, round * REQUESTS_PER_ROUND + i).await?;
                s.push(t.elapsed());
            }
        }
    }
    for (_, s) in samples.iter_mut() {
        s.sort();
    }
    Ok(samples)
}

async fn throughput(fx: &Fixture, v: Variant) -> Result<f64> {
    let deadline = Instant::now() + THROUGHPUT_WINDOW;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..CONCURRENCY {
        let fx = fx.clone();
        tasks.spawn(async move {
            let mut naive = match v {
                Variant::Naive => Some(open(&fx.app_url).await?),
                _ => None,
            };
            let mut n = 0usize;
            while Instant::now() < deadline {
                one_request(&fx, naive.as_mut(), v, w * 7919 + n).await?;
                n += 1;
            }
            anyhow::Ok(n)
        });
    }
    let mut total = 0;
    while let Some(r) = tasks.join_next().await {
        total += r??;
    }
    Ok(total as f64 / THROUGHPUT_WINDOW.as_secs_f64())
}

/// The cluster to measure on: the one `cargo xtask bench` started (with
/// its TLS listener), or a socket-only one of our own.
pub(crate) async fn target() -> Result<(Target, Option<Cluster>, std::path::PathBuf)> {
    let dir = std::env::temp_dir().join(format!("metiva-bench-{}", std::process::id()));
    if let Some(host) = std::env::var_os("METIVA_TEST_PG_HOST") {
        let tls = match (
            std::env::var("METIVA_TEST_PG_TCP"),
            std::env::var("METIVA_TEST_PG_ROOTCERT"),
        ) {
            (Ok(a), Ok(c)) => Some((a, c)),
            _ => None,
        };
        return Ok((
            Target {
                socket_dir: host.into(),
                tls,
            },
            None,
            dir,
        ));
    }
    let d = dir.clone();
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(&d)).await??;
    Ok((
        Target {
            socket_dir: cluster.socket_dir().to_path_buf(),
            tls: None,
        },
        Some(cluster),
        dir,
    ))
}

async fn run() -> Result<()> {
    let (target, cluster, dir) = target().await?;
    prepare(&target).await.context("bench setup")?;
    for (transport, name) in [
        (Transport::Socket, "Unix socket"),
        (Transport::Tls, "TCP, SCRAM, TLS verify-full"),
    ] {
        if target.url(transport, bootstrap::APP_ROLE).is_none() {
            println!(
                "isolation over {name}: not measured (no TLS listener; run it with `cargo xtask bench isolation`)"
            );
            continue;
        }
        let fx = setup(&target, transport).await.context("bench setup")?;
        measure(&fx, name).await?;
        fx.app.close();
        fx.plain.close();
    }
    if let Some(mut c) = cluster {
        c.stop().map_err(|e| anyhow!("{e}"))?;
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

async fn measure(fx: &Fixture, transport: &str) -> Result<()> {
    println!("isolation cost over {transport}: tenant-scoped primary-key read vs plain query");
    println!(
        "  {} tenants x {} persons; latency: {} interleaved rounds x {} sequential requests per variant; throughput: {} concurrent clients for {:.1} s",
        TENANTS.len(),
        PERSONS_PER_TENANT,
        ROUNDS,
        REQUESTS_PER_ROUND,
        CONCURRENCY,
        THROUGHPUT_WINDOW.as_secs_f64()
    );
    let lat = latency(fx).await?;
    let mut tput = Vec::new();
    for _ in 0..2 {
        for v in Variant::ALL {
            tput.push((v, throughput(fx, v).await?));
        }
    }
    let best = |v: Variant| {
        tput.iter()
            .filter(|(x, _)| *x == v)
            .map(|(_, r)| *r)
            .fold(0.0, f64::max)
    };
    let p50 = |v: Variant| {
        lat.iter()
            .find(|(x, _)| *x == v)
            .map(|(_, s)| percentile(s, 0.50))
            .unwrap_or_default()
    };
    let base_p50 = p50(Variant::Plain).as_secs_f64();
    let base_tput = best(Variant::Plain);
    println!(
        "  {:<38} {:>8} {:>8} {:>10} {:>11} {:>12}",
        "variant", "p50 µs", "p99 µs", "req/s", "p50 ratio", "req/s ratio"
    );
    for (v, s) in &lat {
        let p50v = percentile(s, 0.50);
        let p99v = percentile(s, 0.99);
        let t = best(*v);
        println!(
            "  {:<38} {:>8.0} {:>8.0} {:>10.0} {:>10.2}x {:>11.2}x",
            v.label(),
            p50v.as_secs_f64() * 1e6,
            p99v.as_secs_f64() * 1e6,
            t,
            p50v.as_secs_f64() / base_p50,
            base_tput / t,
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let which = std::env::args().nth(1).unwrap_or_default();
    if which == "footprint" {
        // Issue 19: the release binary's size, start and memory.
        let rest: Vec<String> = std::env::args().skip(2).collect();
        return rt.block_on(footprint::run(&rest));
    }
    if which == "pages" {
        // Not part of the default run: it needs the release binary and wrk.
        let rest: Vec<String> = std::env::args().skip(2).collect();
        return rt.block_on(pages::run(&rest));
    }
    rt.block_on(async {
        if which.is_empty() || which == "isolation" {
            run().await?;
        }
        if which.is_empty() || which == "auth" {
            auth::run().await?;
        }
        if which.is_empty() || which == "ingest" {
            ingest::run().await?;
        }
        if which.is_empty() || which == "crm" {
            crm::run().await?;
        }
        if which.is_empty() || which == "billing" {
            billing::run().await?;
        }
        anyhow::Ok(())
    })
}
