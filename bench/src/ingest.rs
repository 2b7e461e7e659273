//! Ingest figures (issue 6), against the real router served over TCP on
//! 127.0.0.1 and a private PostgreSQL (fsync on):
//!
//! 1. `/collect` throughput, sustained: page views from many keep-alive
//!    connections, each acknowledged (204) only after its batch committed;
//!    truncation, company lookup (known networks, then the real ASN
//!    dataset), AES-256-GCM sealing and durable storage all included. The
//!    load generator runs in the same process, on the same two cores, so
//!    the figure is conservative. Then the acknowledged count is checked
//!    against the stored rows: nothing acknowledged may be missing.
//! 2. Latency of one `/collect` at a time (idle) and under that load.
//! 3. Lookup time per IP in the ASN range index (random IPv4 and IPv6)
//!    and in a workspace's known-networks index.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, ensure};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use metiva_db::{Database, PoolSettings, bootstrap};
use metiva_embedded_pg::{Cluster, SUPERUSER};
use server::http::dashboard_router_with;
use server::http::guard::DashboardAuth;
use server::keys::Keys;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WARMUP: Duration = Duration::from_secs(2);
const WINDOW: Duration = Duration::from_secs(10);
const IDLE_SAMPLES: usize = 500;
const LOOKUPS: usize = 2_000_000;

/// (this process's CPU seconds, the machine's busy CPU seconds), from
/// /proc, so the report can say where the cores went during the window.
fn cpu_now() -> (f64, f64) {
    let tick = 100.0; // USER_HZ on Linux
    let own = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let after = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            let ut: f64 = after.get(11)?.parse().ok()?;
            let st: f64 = after.get(12)?.parse().ok()?;
            Some((ut + st) / tick)
        })
        .unwrap_or(0.0);
    let busy = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let f: Vec<f64> = s
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal
            let idle = f.get(3)? + f.get(4)?;
            Some((f.iter().take(8).sum::<f64>() - idle) / tick)
        })
        .unwrap_or(0.0);
    (own, busy)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// One POST /collect on a keep-alive connection; returns the status code.
async fn post(stream: &mut TcpStream, buf: &mut Vec<u8>, request: &[u8]) -> Result<u16> {
    stream.write_all(request).await?;
    buf.clear();
    loop {
        let mut chunk = [0u8; 1024];
        let n = stream.read(&mut chunk).await?;
        ensure!(n > 0, "connection closed");
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).to_string();
            let status: u16 = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| anyhow!("bad status line: {head:.80}"))?;
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let have = buf.len() - end - 4;
            let mut rest = len.saturating_sub(have);
            while rest > 0 {
                let n = stream.read(&mut chunk).await?;
                ensure!(n > 0, "connection closed");
                rest = rest.saturating_sub(n);
            }
            return Ok(status);
        }
    }
}

fn request(addr: SocketAddr, i: usize) -> Vec<u8> {
    let paths = ["/", "/diensten", "/cases", "/contact", "/prijzen"];
    let body = format!(
        r#"{{"type":"pageview","site":"{}","path":"{}","referrer":"bench.example","visitor":null}}"#,
        metiva_db::seed::DEMO_SITE_KEY,
        paths.get(i % paths.len()).copied().unwrap_or("/")
    );
    format!(
        "POST /collect HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://127.0.0.1:5173\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

struct Sustained {
    rate: f64,
    loaded: Vec<Duration>,
    acked_total: u64,
    batches: (u64, u64),
    cpu: (f64, f64),
}

fn connection_levels() -> Vec<usize> {
    match std::env::var("METIVA_BENCH_CONNECTIONS") {
        Ok(v) => v.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
        Err(_) => vec![64, 256],
    }
}

/// `conns` keep-alive connections posting back to back: warm-up, then a
/// measured window.
async fn sustained(addr: SocketAddr, conns: usize) -> Result<Sustained> {
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let acked_total = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..conns {
        let (stop, measuring, acked, acked_total) = (
            stop.clone(),
            measuring.clone(),
            acked.clone(),
            acked_total.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            let mut buf = Vec::new();
            let mut lat = Vec::new();
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let req = request(addr, i);
                i += 1;
                let t = Instant::now();
                let st = post(&mut s, &mut buf, &req).await?;
                let d = t.elapsed();
                ensure!(st == 204, "status {st}");
                acked_total.fetch_add(1, Ordering::Relaxed);
                if measuring.load(Ordering::Relaxed) {
                    acked.fetch_add(1, Ordering::Relaxed);
                    lat.push(d);
                }
            }
            anyhow::Ok(lat)
        }));
    }
    tokio::time::sleep(WARMUP).await;
    measuring.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    let cpu0 = cpu_now();
    let b0 = server::http::ingest::batch_stats();
    tokio::time::sleep(WINDOW).await;
    measuring.store(false, Ordering::Relaxed);
    let window = t0.elapsed();
    let cpu1 = cpu_now();
    let b1 = server::http::ingest::batch_stats();
    stop.store(true, Ordering::Relaxed);
    let mut loaded = Vec::new();
    for t in tasks {
        loaded.extend(t.await??);
    }
    loaded.sort();
    let secs = window.as_secs_f64();
    let own = cpu1.0 - cpu0.0;
    Ok(Sustained {
        rate: AtomicU64::load(&acked, Ordering::Relaxed) as f64 / secs,
        loaded,
        acked_total: AtomicU64::load(&acked_total, Ordering::Relaxed),
        batches: (b1.0 - b0.0, b1.1 - b0.1),
        cpu: (own * 100.0 / secs, ((cpu1.1 - cpu0.1) - own) * 100.0 / secs),
    })
}

pub async fn run() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("metiva-bench-ingest-{}", std::process::id()));
    let d = dir.clone();
    let mut cluster = tokio::task::spawn_blocking(move || Cluster::start(&d)).await??;
    bootstrap::bootstrap_as_superuser(&cluster.url(SUPERUSER, "postgres"), "metiva").await?;
    let owner_url = cluster.url(bootstrap::OWNER_ROLE, "metiva");
    bootstrap::run_migrations(&owner_url).await?;
    let keys = Keys::from_seed(&[7; 32], &[9; 32]);
    let owner = Database::connect(&owner_url, &PoolSettings::default())?;
    let hash = tokio::task::spawn_blocking(|| {
        let pw = metiva_security::password::Password::new("metiva-demo")?;
        metiva_security::password::hash(&pw, 4)
    })
    .await??;
    owner.seed_demo(&hash).await?;
    owner
        .seed_demo_site(&server::database::demo_site(&keys.field_keys))
        .await?;
    owner.close();

    let app_url = cluster.url(bootstrap::APP_ROLE, "metiva");
    let cfg = server::config::Config::local(&app_url);
    let asn_dir = cfg.asn_dir.clone();
    let db = Database::connect(&app_url, &PoolSettings::default())?;
    let auth = DashboardAuth::new(&cfg, db.clone(), &keys);
    let started = Instant::now();
    let router = dashboard_router_with(&cfg, auth);
    let asn_load = started.elapsed();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });

    println!("ingest: POST /collect over TCP (HTTP/1.1 keep-alive), real router, fsync on");
    match &asn_dir {
        Some(d) => println!(
            "  ASN dataset {} (router start incl. load {:.0} ms)",
            d.display(),
            asn_load.as_secs_f64() * 1e3
        ),
        None => println!("  ASN dataset: NOT INSTALLED (run `cargo xtask install`)"),
    }

    // Idle latency: one request at a time.
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut buf = Vec::new();
    let mut idle = Vec::with_capacity(IDLE_SAMPLES);
    for i in 0..IDLE_SAMPLES {
        let req = request(addr, i);
        let t = Instant::now();
        let st = post(&mut s, &mut buf, &req).await?;
        idle.push(t.elapsed());
        ensure!(st == 204, "status {st}");
    }
    idle.sort();

    // Sustained load, at two levels of concurrency (browsers in flight).
    let mut acked_all = IDLE_SAMPLES as u64;
    let mut rows = Vec::new();
    for conns in connection_levels() {
        let r = sustained(addr, conns).await?;
        acked_all += r.acked_total;
        rows.push((conns, r));
    }

    // Durability: every acknowledged event is a stored row.
    let mut o = AsyncPgConnection::establish(&owner_url).await?;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    o.batch_execute("BEGIN; SELECT set_config('app.company_id', 'cmp_8fa2c1', true)")
        .await?;
    // Fully qualified: `RunQueryDsl` is implemented for every type, and in
    // scope it would shadow `AtomicU64::load` above.
    let stored: N = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT count(*) AS n FROM page_views WHERE referrer_domain = 'bench.example'",
        ),
        &mut o,
    )
    .await
    .context("counting stored rows")?;
    o.batch_execute("COMMIT").await?;

    println!(
        "  {:<44} {:>10} {:>9} {:>9} {:>12} {:>14}",
        "", "events/s", "p50 µs", "p99 µs", "events/batch", "CPU app/PG %"
    );
    println!(
        "  {:<44} {:>10} {:>9.0} {:>9.0}",
        "one request at a time (idle)",
        "",
        percentile(&idle, 0.50).as_secs_f64() * 1e6,
        percentile(&idle, 0.99).as_secs_f64() * 1e6
    );
    for (conns, r) in &rows {
        println!(
            "  {:<44} {:>10.0} {:>9.0} {:>9.0} {:>12.1} {:>8.0}/{:.0}",
            format!(
                "{conns} connections, {:.0} s sustained",
                WINDOW.as_secs_f64()
            ),
            r.rate,
            percentile(&r.loaded, 0.50).as_secs_f64() * 1e6,
            percentile(&r.loaded, 0.99).as_secs_f64() * 1e6,
            r.batches.1 as f64 / r.batches.0.max(1) as f64,
            r.cpu.0,
            r.cpu.1,
        );
    }
    println!(
        "  (CPU: this process = server + load generator; the rest = PostgreSQL; 2 cores = 200%)"
    );
    println!(
        "  durability: {acked_all} acknowledged (204), {} stored rows{}",
        stored.n,
        if stored.n as u64 >= acked_all {
            " (none missing)"
        } else {
            " (MISSING ROWS)"
        }
    );
    ensure!(
        stored.n as u64 >= acked_all,
        "acknowledged events are missing"
    );

    server.abort();
    db.close();
    drop(o);

    // Lookup time per IP.
    let index = server::http::ingest::shared_asn(asn_dir.as_deref());
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let v4: Vec<IpAddr> = (0..LOOKUPS)
        .map(|_| IpAddr::V4(Ipv4Addr::from(next() as u32)))
        .collect();
    let v6: Vec<IpAddr> = (0..LOOKUPS / 4)
        .map(|_| {
            // 2001:: to 2c00::, where most allocations are.
            let top = 0x2001_0000_u128 + (next() as u128 % 0x0aff_0000);
            IpAddr::V6(Ipv6Addr::from(top << 96 | (next() as u128) << 32))
        })
        .collect();
    let time = |ips: &[IpAddr]| {
        let t = Instant::now();
        let mut found = 0usize;
        for ip in ips {
            if index.lookup(*ip).is_some() {
                found += 1;
            }
        }
        (t.elapsed().as_secs_f64() * 1e9 / ips.len() as f64, found)
    };
    let (ns4, f4) = time(&v4);
    let (ns6, f6) = time(&v6);
    let nets: Vec<metiva_geo::KnownNetwork> = (0..1000)
        .filter_map(|i| {
            let addr = IpAddr::V4(Ipv4Addr::from((next() as u32) & 0xffff_ff00));
            Some(metiva_geo::KnownNetwork {
                network: metiva_geo::IpNet::new(addr, 16 + (i % 9) as u8).ok()?,
                organisation: format!("Org {i}"),
            })
        })
        .collect();
    let known = metiva_geo::KnownNetworks::new(nets);
    let t = Instant::now();
    let mut kf = 0usize;
    for ip in &v4 {
        if known.lookup(*ip).is_some() {
            kf += 1;
        }
    }
    let nsk = t.elapsed().as_secs_f64() * 1e9 / v4.len() as f64;
    println!(
        "  lookup per IP, ASN index ({} ranges): IPv4 {ns4:.0} ns ({:.0}% hit), IPv6 {ns6:.0} ns ({:.2}% hit); known networks (1,000 CIDRs): {nsk:.0} ns ({kf} hits)",
        index.ranges(),
        f4 as f64 * 100.0 / v4.len() as f64,
        f6 as f64 * 100.0 / v6.len() as f64,
    );

    cluster.stop().map_err(|e| anyhow!("{e}"))?;
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
