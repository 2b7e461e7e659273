//! `cargo xtask bench pages`: the dashboard's pages under load, as a user's
//! load hits them (issue 15).
//!
//! Starts the release binary on its embedded default (a fresh data
//! directory, `metiva seed-demo`, then `metiva serve` with
//! pg_stat_statements preloaded), loads the data sizes into De Vries Media
//! (contacts, deals, organisations, consented visitors and page views) and
//! page views into two other workspaces, signs in through the login
//! service as `viewer@devries.example`, and drives `wrk` over each page.
//! One table: requests/s, p50, p99, the fraction of `/healthz` in the same
//! run, the CPU of Metiva / PostgreSQL / wrk (from `/proc/<pid>/stat`, as a
//! percentage of one core and per request), and the statements (calls in
//! pg_stat_statements, BEGIN and COMMIT included) and plans per request.
//!
//! Sizes are flags: `--contacts 10000 --deals 2000 --views 1000000
//! --other-views 1000000 --seconds 10 --connections 32 --bin <metiva>`;
//! `--keep` leaves the server and its database up afterwards (EXPLAIN by
//! hand) until the file it names exists.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pages_http::{http, sign_in};
use anyhow::{Context, Result, anyhow, bail, ensure};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

const DE_VRIES: &str = "cmp_8fa2c1";
const OTHERS: [&str; 2] = ["cmp_e00001", "cmp_e00002"];
pub(crate) const VIEWER: &str = "viewer@devries.example";
pub(crate) const PASSWORD: &str = "metiva-demo";

/// The run's parameters.
#[derive(Debug, Clone)]
pub struct Opts {
    pub contacts: i64,
    pub deals: i64,
    pub views: i64,
    pub other_views: i64,
    pub seconds: u64,
    pub connections: u32,
    pub bin: PathBuf,
    pub site_root: PathBuf,
    pub only: Vec<String>,
    /// Print each page's `top` most frequent statements.
    pub top: i64,
    /// Keep the server and its database up after the run, for EXPLAIN by
    /// hand, until the file the bench names is created.
    pub keep: bool,
}

impl Opts {
    pub fn parse(args: &[String]) -> Result<Self> {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let cached = home.join(".cache/metiva/target/release/metiva");
        let root = std::env::current_dir()?;
        let mut o = Opts {
            contacts: 10_000,
            deals: 2_000,
            views: 100_000,
            other_views: 100_000,
            seconds: 10,
            connections: 32,
            bin: if cached.exists() {
                cached
            } else {
                root.join("target/release/metiva")
            },
            site_root: root.join("target/site"),
            only: Vec::new(),
            top: 0,
            keep: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| anyhow!("{a} needs a value"))
            };
            let num = |v: String| -> Result<i64> {
                v.replace('_', "")
                    .parse()
                    .map_err(|_| anyhow!("{a}: not a number: {v}"))
            };
            match a.as_str() {
                "--contacts" => o.contacts = num(val()?)?,
                "--deals" => o.deals = num(val()?)?,
                "--views" => o.views = num(val()?)?,
                "--other-views" => o.other_views = num(val()?)?,
                "--seconds" => o.seconds = u64::try_from(num(val()?)?)?,
                "--connections" => o.connections = u32::try_from(num(val()?)?)?,
                "--bin" => o.bin = PathBuf::from(val()?),
                "--site-root" => o.site_root = PathBuf::from(val()?),
                "--top" => o.top = num(val()?)?,
                "--keep" => o.keep = true,
                "--only" => o.only = val()?.split(',').map(str::to_string).collect(),
                other => bail!("unknown flag {other}"),
            }
        }
        Ok(o)
    }
}

/// One page's figures.
#[derive(Debug, Clone)]
pub struct Row {
    pub page: String,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    pub errors: u64,
    /// CPU seconds over the window: Metiva, PostgreSQL, wrk.
    pub cpu: [f64; 3],
    pub wall: f64,
    pub statements: f64,
    pub plans: f64,
}

/// The running binary and its database.
pub(crate) struct Served {
    child: Child,
    dir: PathBuf,
    pub(crate) app: String,
    pub(crate) login: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        crate::process::stop(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn metiva(o: &Opts, dir: &Path) -> Command {
    let mut c = Command::new(&o.bin);
    c.env_remove("DATABASE_URL")
        .env("METIVA_ENV", "development")
        .env("METIVA_DATA_DIR", dir)
        .env("LEPTOS_SITE_ROOT", &o.site_root)
        .env("RUST_LOG", "warn");
    c
}

async fn start(o: &Opts) -> Result<Served> {
    ensure!(
        o.bin.exists(),
        "no release binary at {} (build it with `cargo leptos build --release`, or pass --bin)",
        o.bin.display()
    );
    let dir = PathBuf::from(format!("/tmp/mbp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = metiva(o, &dir)
        .arg("seed-demo")
        .output()
        .context("metiva seed-demo")?;
    ensure!(
        out.status.success(),
        "metiva seed-demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Statement counts: pg_stat_statements, loaded at the next start.
    let conf = dir.join("pgdata/postgresql.auto.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap_or_default();
    text.push_str(
        "\nshared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track_planning = on\npg_stat_statements.max = 20000\n",
    );
    std::fs::write(&conf, text)?;
    let (ap, lp) = (free_port()?, free_port()?);
    let child = metiva(o, &dir)
        .arg("serve")
        .env("METIVA_APP_ADDR", format!("127.0.0.1:{ap}"))
        .env("METIVA_LOGIN_ADDR", format!("127.0.0.1:{lp}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("metiva serve")?;
    let served = Served {
        child,
        dir,
        app: format!("127.0.0.1:{ap}"),
        login: format!("127.0.0.1:{lp}"),
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = http(&served.app, "GET", "/healthz", &[], None).await
            && r.status == 200
        {
            break;
        }
        ensure!(Instant::now() < deadline, "metiva serve did not come up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(served)
}

/// The postmaster's pid and socket directory, from `postmaster.pid`.
pub(crate) fn postmaster(dir: &Path) -> Result<(u32, PathBuf)> {
    let text = std::fs::read_to_string(dir.join("pgdata/postmaster.pid"))?;
    let lines: Vec<&str> = text.lines().collect();
    let pid = <[&str]>::first(&lines)
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| anyhow!("postmaster.pid: no pid"))?;
    let sock = lines
        .get(4)
        .map(|l| PathBuf::from(l.trim()))
        .ok_or_else(|| anyhow!("postmaster.pid: no socket directory"))?;
    Ok((pid, sock))
}

// ---------------------------------------------------------------------
// Data.

async fn load(su: &mut AsyncPgConnection, o: &Opts) -> Result<()> {
    let t = Instant::now();
    let site: String = scalar(
        su,
        &format!("SELECT id::text AS v FROM sites WHERE company_id = '{DE_VRIES}' LIMIT 1"),
    )
    .await?;
    let orgs = (o.contacts / 10).max(10);
    su.batch_execute(&format!(
        "BEGIN;
         INSERT INTO organisations (company_id, name, domain)
           SELECT '{DE_VRIES}', 'Klant ' || g, 'klant' || g || '.example' FROM generate_series(1, {orgs}) g;
         INSERT INTO persons (company_id, name, email)
           SELECT '{DE_VRIES}', 'Person ' || g || ' Jansen', 'p' || g || '@klant' || (g % {orgs}) || '.example'
           FROM generate_series(1, {c}) g;
         INSERT INTO deals (company_id, title, value_cents, stage)
           SELECT '{DE_VRIES}', 'Deal ' || g, g * 100,
                  (ARRAY['lead','qualified','proposal','negotiation','won','lost'])[1 + g % 6]
           FROM generate_series(1, {d}) g;
         COMMIT;",
        c = o.contacts,
        d = o.deals
    ))
    .await
    .context("loading contacts and deals")?;
    println!(
        "  loaded {} contacts, {} deals, {orgs} organisations in {:.1} s",
        o.contacts,
        o.deals,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    views(su, DE_VRIES, &site, o.views).await?;
    for (i, c) in OTHERS.iter().enumerate() {
        su.batch_execute(&format!(
            "INSERT INTO companies (id, name) VALUES ('{c}', 'Bench {c}');
             INSERT INTO sites (company_id, domain, site_key)
               VALUES ('{c}', 'bench{i}.example', 'pk_bench_{c}');"
        ))
        .await?;
        let site: String = scalar(
            su,
            &format!("SELECT id::text AS v FROM sites WHERE company_id = '{c}'"),
        )
        .await?;
        views(su, c, &site, o.other_views).await?;
    }
    su.batch_execute("ANALYZE").await?;
    println!(
        "  loaded {} + 2 x {} page views in {:.1} s",
        o.views,
        o.other_views,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `n` page views over the last 30 days on 300 organisations and 200 paths,
/// one in 20 by a consented visitor.
async fn views(su: &mut AsyncPgConnection, company: &str, site: &str, n: i64) -> Result<()> {
    let visitors = (n / 50).max(1);
    su.batch_execute(&format!(
        "BEGIN;
         INSERT INTO visitors (company_id, site_id, visitor_key, analytics, first_seen, last_seen)
           SELECT '{company}', '{site}', gen_random_uuid(), true,
                  now() - interval '30 days', now() - (g % 1000) * interval '1 minute'
           FROM generate_series(1, {visitors}) g;
         CREATE TEMP TABLE bench_visitors ON COMMIT DROP AS
           SELECT row_number() OVER () AS n, id FROM visitors WHERE company_id = '{company}';
         ANALYZE bench_visitors;
         INSERT INTO page_views (company_id, id, site_id, visitor_id, at, path, referrer_domain,
                                 organisation, org_source, ip_key_id, ip_nonce, ip_ciphertext)
           SELECT '{company}', gen_random_uuid(), '{site}',
                  bv.id,
                  now() - (g % 2592000) * interval '1 second',
                  '/page/' || (g % 200),
                  CASE WHEN g % 3 = 0 THEN 'google.com' END,
                  CASE WHEN g % 4 <> 0 THEN 'Org ' || (g % 300) END,
                  CASE WHEN g % 4 <> 0 THEN 'asn' END,
                  'bench', '\\x000000000000000000000000'::bytea,
                  '\\x00000000000000000000000000000000000000000000'::bytea
           FROM generate_series(1, {n}) g
           LEFT JOIN bench_visitors bv ON g % 20 = 0 AND bv.n = 1 + (g / 20) % {visitors};
         COMMIT;"
    ))
    .await
    .with_context(|| format!("loading page views into {company}"))?;
    // The rollups (when the binary has them) follow by trigger.
    Ok(())
}

#[derive(QueryableByName)]
struct V {
    #[diesel(sql_type = Text)]
    v: String,
}

async fn scalar<T>(c: &mut AsyncPgConnection, sql: &str) -> Result<T>
where
    T: std::str::FromStr + Send,
{
    let row: V = diesel::sql_query(format!("SELECT v::text AS v FROM ({sql}) q"))
        .get_result(c)
        .await?;
    row.v
        .parse()
        .map_err(|_| anyhow!("unexpected value {} from {sql}", row.v))
}

#[derive(QueryableByName)]
struct Stat {
    #[diesel(sql_type = BigInt)]
    calls: i64,
    #[diesel(sql_type = BigInt)]
    plans: i64,
}

async fn stats(su: &mut AsyncPgConnection) -> Result<(i64, i64)> {
    // Only the app's own statements: the runtime role's.
    let s: Stat = diesel::sql_query(
        "SELECT COALESCE(sum(calls), 0)::bigint AS calls, COALESCE(sum(plans), 0)::bigint AS plans
         FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
         WHERE r.rolname = 'metiva_app'",
    )
    .get_result(su)
    .await?;
    Ok((s.calls, s.plans))
}

/// Waits (at most two minutes) until no runtime-role query is active.
async fn idle(su: &mut AsyncPgConnection) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let busy: i64 = scalar(
            su,
            "SELECT count(*) AS v FROM pg_stat_activity WHERE usename = 'metiva_app' AND state = 'active'",
        )
        .await?;
        if busy == 0 || Instant::now() > deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[derive(QueryableByName)]
struct TopRow {
    #[diesel(sql_type = BigInt)]
    calls: i64,
    #[diesel(sql_type = BigInt)]
    plans: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    ms: f64,
    #[diesel(sql_type = Text)]
    query: String,
}

/// The most frequent statements of the window, per request.
async fn top(su: &mut AsyncPgConnection, n: i64, requests: f64) -> Result<()> {
    let rows: Vec<TopRow> = diesel::sql_query(format!(
        "SELECT calls, plans, total_exec_time + total_plan_time AS ms,
                left(regexp_replace(query, '\\s+', ' ', 'g'), 150) AS query
         FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
         WHERE r.rolname = 'metiva_app' ORDER BY calls DESC LIMIT {n}"
    ))
    .load(su)
    .await?;
    for r in rows {
        println!(
            "      {:>6.2} calls {:>6.2} plans {:>7.3} ms /req  {}",
            r.calls as f64 / requests,
            r.plans as f64 / requests,
            r.ms / requests,
            r.query
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------
// CPU from /proc.

const TICK: f64 = 0.01;

/// utime + stime (+ reaped children's when `children`), in seconds.
pub(crate) fn proc_cpu(pid: u32, children: bool) -> f64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses.
    let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // rest[0] is field 3 (state): utime is field 14 -> index 11.
    let get = |i: usize| f.get(i).copied().unwrap_or(0.0);
    let mut t = get(11) + get(12);
    if children {
        t += get(13) + get(14);
    }
    t * TICK
}

fn ppid(pid: u32) -> Option<u32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = text.rsplit_once(')')?.1;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The postmaster's CPU with its live and reaped children.
pub(crate) fn postgres_cpu(postmaster: u32) -> f64 {
    let mut t = proc_cpu(postmaster, true);
    if let Ok(d) = std::fs::read_dir("/proc") {
        for e in d.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok())
                && ppid(pid) == Some(postmaster)
            {
                t += proc_cpu(pid, false);
            }
        }
    }
    t
}

// ---------------------------------------------------------------------
// wrk.

fn parse_ms(s: &str) -> f64 {
    let s = s.trim();
    let (num, mult) = if let Some(v) = s.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (s, 1.0)
    };
    num.parse::<f64>().unwrap_or(f64::NAN) * mult
}

async fn measure(
    o: &Opts,
    s: &Served,
    su: &mut AsyncPgConnection,
    pm: u32,
    cookies: &str,
    page: &str,
) -> Result<Row> {
    let url = format!("http://{}{page}", s.app);
    // Warm up (pool, statement caches) and check the page answers 200.
    // The previous page's slow requests may still be running in the
    // server after wrk gave up on them: wait until the database is idle.
    idle(su).await?;
    let started = Instant::now();
    let check = http(&s.app, "GET", page, &[cookies.to_string()], None).await?;
    ensure!(check.status == 200, "{page} answered {}", check.status);
    println!(
        "  {page}: one request alone took {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let mut warm = Command::new("wrk")
        .args(["-t2", &format!("-c{}", o.connections), "-d2s"])
        .args(["-H", &format!("Cookie: {cookies}"), &url])
        .stdout(Stdio::null())
        .spawn()
        .context("wrk (apt-get install -y wrk)")?;
    warm.wait()?;
    diesel::sql_query("SELECT pg_stat_statements_reset()")
        .execute(su)
        .await?;
    let (c0, p0) = stats(su).await?;
    let metiva_pid = s.child.id();
    let (m0, g0) = (proc_cpu(metiva_pid, false), postgres_cpu(pm));
    let t0 = Instant::now();
    let child = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{}", o.connections),
            &format!("-d{}s", o.seconds),
            "--latency",
        ])
        .args(["-H", &format!("Cookie: {cookies}"), &url])
        .stdout(Stdio::piped())
        .spawn()?;
    let wrk_pid = child.id();
    // wrk's own CPU: sampled just before it exits (its stat vanishes once
    // reaped), so poll until the window is nearly over.
    let mut w = 0.0;
    let end = t0 + Duration::from_secs(o.seconds);
    while Instant::now() + Duration::from_millis(300) < end {
        w = proc_cpu(wrk_pid, false).max(w);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
    let wall = t0.elapsed().as_secs_f64();
    let (m1, g1) = (proc_cpu(metiva_pid, false), postgres_cpu(pm));
    let (c1, p1) = stats(su).await?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut row = Row {
        page: page.to_string(),
        rps: 0.0,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        requests: 0,
        errors: 0,
        cpu: [m1 - m0, g1 - g0, w],
        wall,
        statements: 0.0,
        plans: 0.0,
    };
    for line in text.lines() {
        let l = line.trim();
        let mut words = l.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(v)) => row.rps = v.parse().unwrap_or(0.0),
            (Some("50%"), Some(v)) => row.p50_ms = parse_ms(v),
            (Some("99%"), Some(v)) => row.p99_ms = parse_ms(v),
            (Some(n), Some("requests")) => row.requests = n.parse().unwrap_or(0),
            _ => {}
        }
        if let Some(n) = l.strip_prefix("Non-2xx or 3xx responses:") {
            row.errors += n.trim().parse::<u64>().unwrap_or(0);
        }
        if let Some(rest) = l.strip_prefix("Socket errors:") {
            row.errors += rest
                .split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    if row.requests == 0 {
        // Every request timed out (wrk's 2 s): a row of zeros, not an abort.
        println!("  {page}: no request finished within wrk's 2 s timeout");
        return Ok(row);
    }
    // The reset and the two reads of the view count themselves; they run
    // as the superuser, so the runtime role's sums exclude them.
    let n = row.requests as f64;
    row.statements = (c1 - c0) as f64 / n;
    row.plans = (p1 - p0) as f64 / n;
    if o.top > 0 {
        top(su, o.top, n).await?;
    }
    Ok(row)
}

pub fn print(rows: &[Row]) {
    let base = rows
        .iter()
        .find(|r| r.page == "/healthz")
        .map_or(f64::NAN, |r| r.rps);
    println!(
        "| page | req/s | p50 ms | p99 ms | x /healthz | CPU % Metiva / PG / wrk | CPU ms per req Metiva / PG | statements / req | plans / req | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let pct = |c: f64| 100.0 * c / r.wall;
        let per = |c: f64| 1000.0 * c / (r.requests.max(1) as f64);
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.4} | {:.0} / {:.0} / {:.0} | {:.3} / {:.3} | {:.1} | {:.2} | {} |",
            r.page,
            r.rps,
            r.p50_ms,
            r.p99_ms,
            r.rps / base,
            pct(r.cpu[0]),
            pct(r.cpu[1]),
            pct(r.cpu[2]),
            per(r.cpu[0]),
            per(r.cpu[1]),
            r.statements,
            r.plans,
            r.errors
        );
    }
}

pub async fn run(args: &[String]) -> Result<()> {
    let o = Opts::parse(args)?;
    println!(
        "pages bench: {} (site {}); {} contacts, {} deals, {} page views in De Vries Media, {} in each of two others; wrk -t2 -c{} for {} s per page",
        o.bin.display(),
        o.site_root.display(),
        o.contacts,
        o.deals,
        o.views,
        o.other_views,
        o.connections,
        o.seconds
    );
    let served = start(&o).await?;
    let (pm, sock) = postmaster(&served.dir)?;
    let mut su = AsyncPgConnection::establish(&metiva_embedded_pg::socket_url(
        &sock,
        metiva_embedded_pg::SUPERUSER,
        "metiva",
    ))
    .await?;
    su.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await?;
    load(&mut su, &o).await?;
    let cookies = sign_in(&served).await?.join("; ");
    let person: String = scalar(
        &mut su,
        &format!(
            "SELECT id::text AS v FROM persons WHERE company_id = '{DE_VRIES}' ORDER BY created_at, id LIMIT 1"
        ),
    )
    .await?;
    let pages = [
        "/healthz".to_string(),
        "/".to_string(),
        "/persons".to_string(),
        format!("/persons/{person}"),
        "/deals".to_string(),
        "/visitors".to_string(),
        "/settings/security".to_string(),
    ];
    let mut rows = Vec::new();
    for p in &pages {
        let key = p.split('/').nth(1).unwrap_or_default();
        // `--only` takes a page as the issue names it: `/persons/{id}` is
        // the record page, whatever the id (the first segment picks both).
        let template = p.replace(person.as_str(), "{id}");
        if !o.only.is_empty()
            && p != "/healthz"
            && !o.only.iter().any(|x| x == key || x == p || *x == template)
        {
            continue;
        }
        let r = measure(&o, &served, &mut su, pm, &cookies, p)
            .await
            .with_context(|| format!("measuring {p}"))?;
        println!(
            "  {p}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {:.1} statements/req",
            r.rps, r.p50_ms, r.p99_ms, r.statements
        );
        rows.push(r);
    }
    print(&rows);
    if o.keep {
        // The data stays for EXPLAIN (ANALYZE, BUFFERS) by hand, e.g. as
        // the runtime role under the binding:
        // `psql -h <socket> -U postgres metiva`, then `SET ROLE metiva_app;
        // BEGIN READ ONLY; SELECT set_config('app.company_id', 'cmp_8fa2c1', true); …`
        let done = served.dir.join("done");
        println!(
            "  --keep: server up; psql -h {} -U {} metiva (person {person}); `touch {}` ends the run",
            sock.display(),
            metiva_embedded_pg::SUPERUSER,
            done.display()
        );
        while !done.exists() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    drop(su);
    drop(served);
    Ok(())
}
