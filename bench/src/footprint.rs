//! `cargo xtask bench footprint [flags]`: the deploy's footprint (issue 19),
//! measured on the release binary as an operator runs it.
//!
//! 1. Sizes: the binary (as built, and stripped as the image carries it),
//!    the site, the ASN dataset, and the container image when podman has
//!    one (`--image`, default `localhost/metiva:ci`, which `cargo xtask
//!    test` builds).
//! 2. Cold start to the first `200` from `/readyz`, from `spawn`:
//!    embedded default on an empty data directory (initdb, bootstrap,
//!    migrations), embedded again on that directory, and against an
//!    already-migrated "external" PostgreSQL (a private cluster over its
//!    socket, the way `DATABASE_URL` points at a managed one).
//! 3. Resident memory of the `metiva` process (`VmRSS`, `VmHWM` from
//!    `/proc/<pid>/status`) and of PostgreSQL (the sum of `Pss` of the
//!    postmaster and its children, `/proc/<pid>/smaps_rollup`, so shared
//!    buffers count once): idle, under a `/collect` load by wrk (limits
//!    off), and idle again after it.
//! 4. `/trust`: time to first byte (`curl -w %{time_starttransfer}`, median
//!    and p90 of 21 sequential requests after one warm-up) and page weight
//!    (the HTML, plain and gzip, and with the assets it links).
//!
//! Flags: `--bin <metiva> --site-root <dir> --asn-dir <dir> --image <tag>
//! --seconds 10 --connections 64`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};

use crate::pages::{free_port, postgres_cpu, postmaster, proc_cpu};
use crate::pages_http::http;

struct Opts {
    bin: PathBuf,
    site_root: PathBuf,
    asn_dir: Option<PathBuf>,
    image: String,
    seconds: u64,
    connections: u32,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Self> {
        let pages = crate::pages::Opts::parse(&[])?;
        let root = std::env::current_dir()?;
        let asn = root.join("node_modules/@ip-location-db/asn");
        let mut o = Opts {
            bin: pages.bin,
            site_root: pages.site_root,
            asn_dir: asn.exists().then_some(asn),
            image: "localhost/metiva:ci".into(),
            seconds: 10,
            connections: 64,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| anyhow!("{a} needs a value"))
            };
            match a.as_str() {
                "--bin" => o.bin = PathBuf::from(val()?),
                "--site-root" => o.site_root = PathBuf::from(val()?),
                "--asn-dir" => o.asn_dir = Some(PathBuf::from(val()?)),
                "--image" => o.image = val()?,
                "--seconds" => o.seconds = val()?.parse().context("--seconds")?,
                "--connections" => o.connections = val()?.parse().context("--connections")?,
                other => bail!("unknown flag {other}"),
            }
        }
        Ok(o)
    }
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}

/// A `kB` field of `/proc/<pid>/status` or `smaps_rollup`, in bytes.
fn kb_field(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// (VmRSS, VmHWM) of `pid`.
fn rss(pid: u32) -> (u64, u64) {
    let path = format!("/proc/{pid}/status");
    (kb_field(&path, "VmRSS:"), kb_field(&path, "VmHWM:"))
}

/// PostgreSQL's proportional set size: the postmaster and its children.
fn postgres_pss(pm: u32) -> u64 {
    let pss = |pid: u32| kb_field(&format!("/proc/{pid}/smaps_rollup"), "Pss:");
    let mut total = pss(pm);
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
            let parent = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|t| {
                    t.rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .nth(1)?
                        .parse()
                        .ok()
                });
            if parent == Some(pm) {
                total += pss(pid);
            }
        }
    }
    total
}

/// A running `metiva serve`, stopped with SIGTERM when dropped.
struct Proc {
    child: std::process::Child,
    app: String,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        crate::process::stop(&mut self.child);
    }
}

fn metiva(o: &Opts, data: &Path) -> Command {
    let mut c = Command::new(&o.bin);
    c.env_remove("DATABASE_URL")
        .env("METIVA_ENV", "development")
        .env("METIVA_DATA_DIR", data)
        .env("LEPTOS_SITE_ROOT", &o.site_root)
        .env("RUST_LOG", "warn")
        // One address sends everything: the abuse limits would answer 429.
        .env("METIVA_LIMIT_INGEST_PER_IP", "off")
        .env("METIVA_LIMIT_INGEST_PER_SITE", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(asn) = &o.asn_dir {
        c.env("METIVA_ASN_DIR", asn);
    }
    c
}

/// Spawns `serve` and waits for `/readyz`: the process and the time.
async fn serve(mut cmd: Command) -> Result<(Proc, Duration)> {
    let (ap, lp) = (free_port()?, free_port()?);
    let app = format!("127.0.0.1:{ap}");
    cmd.arg("serve")
        .env("METIVA_APP_ADDR", &app)
        .env("METIVA_LOGIN_ADDR", format!("127.0.0.1:{lp}"));
    let t = Instant::now();
    let child = cmd.spawn().context("metiva serve")?;
    let mut p = Proc { child, app };
    loop {
        if let Ok(r) = http(&p.app, "GET", "/readyz", &[], None).await
            && r.status == 200
        {
            return Ok((p, t.elapsed()));
        }
        if let Ok(Some(st)) = p.child.try_wait() {
            bail!("metiva serve exited with {st} before /readyz");
        }
        ensure!(
            t.elapsed() < Duration::from_secs(180),
            "no /readyz in 180 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn print_memory(label: &str, pid: u32, pm: Option<u32>) {
    let (now, hwm) = rss(pid);
    let pg = pm.map(postgres_pss).unwrap_or(0);
    println!(
        "  {label:<34} metiva VmRSS {:>6.1} MB (VmHWM {:>6.1} MB){}",
        mb(now),
        mb(hwm),
        if pm.is_some() {
            format!(", PostgreSQL Pss {:.1} MB", mb(pg))
        } else {
            String::new()
        }
    );
}

fn sizes(o: &Opts) -> Result<()> {
    let bin = std::fs::metadata(&o.bin)?.len();
    let stripped = {
        let tmp = std::env::temp_dir().join(format!("metiva-strip-{}", std::process::id()));
        std::fs::copy(&o.bin, &tmp)?;
        let ok = Command::new("strip")
            .arg(&tmp)
            .status()
            .is_ok_and(|s| s.success());
        let len = std::fs::metadata(&tmp).map_or(0, |m| m.len());
        let _ = std::fs::remove_file(&tmp);
        ok.then_some(len)
    };
    println!("sizes:");
    println!(
        "  binary {:.1} MB as built{}",
        mb(bin),
        stripped.map_or(String::new(), |s| format!(", {:.1} MB stripped", mb(s)))
    );
    println!(
        "  site {:.2} MB ({})",
        mb(dir_size(&o.site_root)),
        o.site_root.display()
    );
    if let Some(asn) = &o.asn_dir {
        println!(
            "  ASN dataset package {:.1} MB ({})",
            mb(dir_size(asn)),
            asn.display()
        );
    }
    // (size, created) of a local image, if podman has it.
    let inspect = |tag: &str| -> Option<(u64, String)> {
        let out = Command::new("podman")
            .args([
                "image",
                "inspect",
                tag,
                "--format",
                "{{.Size}} {{.Created}}",
            ])
            .output()
            .ok()?;
        out.status.success().then_some(())?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut f = text.split_whitespace();
        let size = f.next()?.parse().ok()?;
        Some((size, f.take(2).collect::<Vec<_>>().join(" ")))
    };
    for tag in [o.image.as_str(), "localhost/debian:bookworm-slim"] {
        match inspect(tag) {
            Some((size, created)) => {
                println!("  image {tag}: {:.1} MB (created {created})", mb(size));
            }
            None => println!("  image {tag}: not present (cargo xtask test builds it)"),
        }
    }
    Ok(())
}

/// `curl -w`: (time to first byte, bytes) of one GET.
fn curl(url: &str, gzip: bool) -> Result<(f64, u64)> {
    let mut c = Command::new("curl");
    c.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{time_starttransfer} %{size_download}",
    ]);
    if gzip {
        c.arg("--compressed");
    }
    let out = c.arg(url).output().context("curl")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let f: Vec<&str> = text.split_whitespace().collect();
    ensure!(f.first() == Some(&"200"), "GET {url}: {text}");
    let ttfb = f
        .get(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("curl: {text}"))?;
    let size = f
        .get(2)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("curl: {text}"))?;
    Ok((ttfb, size))
}

/// The `href`/`src` values of the page's stylesheets, scripts, preloads.
fn assets(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in html.split('<').skip(1) {
        let is_asset = tag.starts_with("script")
            || (tag.starts_with("link")
                && ["stylesheet", "modulepreload", "preload", "icon"]
                    .iter()
                    .any(|r| tag.contains(&format!("rel=\"{r}\""))));
        if !is_asset {
            continue;
        }
        for attr in ["href=\"", "src=\""] {
            if let Some(v) = tag.split(attr).nth(1).and_then(|r| r.split('"').next())
                && v.starts_with('/')
                && !out.iter().any(|x| x == v)
            {
                out.push(v.to_string());
            }
        }
    }
    out
}

fn trust(app: &str) -> Result<()> {
    let url = format!("http://{app}/trust");
    curl(&url, false)?; // warm-up
    let mut t: Vec<f64> = (0..21)
        .map(|_| curl(&url, false).map(|r| r.0))
        .collect::<Result<_>>()?;
    t.sort_by(f64::total_cmp);
    let at = |p: f64| {
        t.get(((t.len() - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
            * 1000.0
    };
    let (_, plain) = curl(&url, false)?;
    let (_, gz) = curl(&url, true)?;
    let html = Command::new("curl").args(["-s", &url]).output()?.stdout;
    let html = String::from_utf8_lossy(&html);
    let (mut a_plain, mut a_gz, mut names) = (0, 0, Vec::new());
    for a in assets(&html) {
        let u = format!("http://{app}{a}");
        a_plain += curl(&u, false)?.1;
        a_gz += curl(&u, true)?.1;
        names.push(a);
    }
    println!("/trust (no sign-in, English, 21 sequential requests after a warm-up):");
    println!(
        "  time to first byte: median {:.2} ms, p90 {:.2} ms",
        at(0.5),
        at(0.9)
    );
    println!(
        "  page weight: HTML {:.1} kB ({:.1} kB gzip); with its {} linked assets {:.1} kB ({:.1} kB gzip)",
        plain as f64 / 1000.0,
        gz as f64 / 1000.0,
        names.len(),
        (plain + a_plain) as f64 / 1000.0,
        (gz + a_gz) as f64 / 1000.0
    );
    println!("  assets: {}", names.join(", "));
    Ok(())
}

/// wrk posting page views to `/collect` while the memory is sampled.
fn ingest_load(o: &Opts, p: &Proc, pm: u32) -> Result<()> {
    let body = format!(
        r#"{{"type":"pageview","site":"{}","path":"/diensten","referrer":"bench.example","visitor":null}}"#,
        metiva_db::seed::DEMO_SITE_KEY
    );
    let script = std::env::temp_dir().join(format!("metiva-collect-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"text/plain\"\nwrk.headers[\"Origin\"] = \"http://127.0.0.1:5173\"\n"
        ),
    )?;
    let (c0, p0, t0) = (proc_cpu(p.pid(), false), postgres_cpu(pm), Instant::now());
    let mut wrk = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{}", o.connections),
            &format!("-d{}s", o.seconds),
            "-s",
        ])
        .arg(&script)
        .arg(format!("http://{}/collect", p.app))
        .stdout(Stdio::piped())
        .spawn()
        .context("wrk (apt-get install -y wrk)")?;
    let mut peak = 0;
    while wrk.try_wait()?.is_none() {
        peak = peak.max(rss(p.pid()).0);
        std::thread::sleep(Duration::from_millis(250));
    }
    let secs = t0.elapsed().as_secs_f64();
    let (c1, p1) = (proc_cpu(p.pid(), false), postgres_cpu(pm));
    let mut out = String::new();
    if let Some(mut s) = wrk.stdout.take() {
        use std::io::Read as _;
        s.read_to_string(&mut out)?;
    }
    let _ = std::fs::remove_file(&script);
    let rps = out
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .map(str::trim)
        .unwrap_or("?");
    let non2xx = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .map_or("0", str::trim);
    println!(
        "ingest load: wrk -t2 -c{} -d{}s POST /collect: {rps} events/s, non-2xx {non2xx}; CPU metiva {:.0}%, PostgreSQL {:.0}% of one core",
        o.connections,
        o.seconds,
        (c1 - c0) * 100.0 / secs,
        (p1 - p0) * 100.0 / secs
    );
    println!(
        "  {:<34} metiva VmRSS peak sample {:.1} MB (every 250 ms)",
        "under load",
        mb(peak)
    );
    print_memory("right after the load", p.pid(), Some(pm));
    Ok(())
}

/// A private cluster standing in for an operator's PostgreSQL: bootstrapped
/// and migrated before the timed start, as `metiva migrate` leaves it.
async fn external(o: &Opts, root: &Path) -> Result<()> {
    use metiva_db::bootstrap;
    use metiva_embedded_pg::{Cluster, SUPERUSER};
    let d = root.join("external-pg");
    let mut cluster = tokio::task::spawn_blocking(move || Cluster::start(&d)).await??;
    let result = async {
        bootstrap::bootstrap_as_superuser(&cluster.url(SUPERUSER, "postgres"), "metiva").await?;
        bootstrap::run_migrations(&cluster.url(bootstrap::OWNER_ROLE, "metiva")).await?;
        let data = root.join("external-data");
        let mut times = Vec::new();
        for round in 0..3 {
            let mut cmd = metiva(o, &data);
            cmd.env("DATABASE_URL", cluster.url(bootstrap::APP_ROLE, "metiva"))
                .env(
                    "METIVA_LOGIN_DATABASE_URL",
                    cluster.url(bootstrap::LOGIN_ROLE, "metiva"),
                );
            let (p, t) = serve(cmd).await?;
            times.push(t);
            if round == 2 {
                tokio::time::sleep(Duration::from_secs(5)).await;
                print_memory("external PG, idle 5 s after ready", p.pid(), None);
            }
            drop(p);
        }
        let ms: Vec<String> = times
            .iter()
            .map(|t| format!("{:.0}", t.as_secs_f64() * 1000.0))
            .collect();
        println!(
            "  cold start to /readyz, external PostgreSQL (migrated): {} ms (3 starts)",
            ms.join(", ")
        );
        anyhow::Ok(())
    }
    .await;
    let _ = tokio::task::spawn_blocking(move || cluster.stop()).await;
    result
}

pub async fn run(args: &[String]) -> Result<()> {
    let o = Opts::parse(args)?;
    ensure!(
        o.bin.exists(),
        "no release binary at {} (cargo leptos build --release, or --bin)",
        o.bin.display()
    );
    let modified = std::fs::metadata(&o.bin)?.modified()?;
    println!(
        "footprint bench: {} (built {:.0} min ago), site {}; load avg {}",
        o.bin.display(),
        modified.elapsed().unwrap_or_default().as_secs_f64() / 60.0,
        o.site_root.display(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    sizes(&o)?;
    let root = std::env::temp_dir().join(format!("metiva-footprint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("embedded");
    println!("start and memory:");
    let (first, t_first) = serve(metiva(&o, &data)).await?;
    drop(first);
    let seed = metiva(&o, &data)
        .arg("seed-demo")
        .output()
        .context("seed-demo")?;
    ensure!(
        seed.status.success(),
        "seed-demo: {}",
        String::from_utf8_lossy(&seed.stderr)
    );
    let (p, t_again) = serve(metiva(&o, &data)).await?;
    println!(
        "  cold start to /readyz, embedded: {:.0} ms on an empty data directory (initdb, migrations), {:.0} ms on an existing one",
        t_first.as_secs_f64() * 1000.0,
        t_again.as_secs_f64() * 1000.0
    );
    let (pm, _) = postmaster(&data)?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    print_memory("embedded, idle 5 s after ready", p.pid(), Some(pm));
    trust(&p.app)?;
    ingest_load(&o, &p, pm)?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    print_memory("idle 10 s after the load", p.pid(), Some(pm));
    drop(p);
    let ext = external(&o, &root).await;
    let _ = std::fs::remove_dir_all(&root);
    ext
}
