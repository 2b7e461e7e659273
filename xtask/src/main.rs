//! The project's two commands, and the benchmarks:
//!
//! - `cargo xtask run`: install what is missing, build, start the embedded
//!   database, migrate, serve, print the URLs.
//! - `cargo xtask test`: fmt, clippy per target, unit and integration tests
//!   against a private PostgreSQL, then Playwright against the real release
//!   binary in Debian's Chromium.
//!
//! Each installs only what is missing, so a warm machine pays nothing.

mod bench;
mod container;
mod testdb;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
Usage: cargo xtask <command>

  run [--release]   install what is missing, build, and serve Metiva
                    (dashboard http://127.0.0.1:3000, login http://127.0.0.1:3001)
  test              the whole suite: fmt, clippy (ssr and wasm), unit and
                    integration tests on a private PostgreSQL, Playwright
  bench [isolation|auth|ingest|crm|billing|page]
                    benchmarks (release build); each prints its figures;
                    `page` times pages in Chromium
  bench pages [--views N …]
                    the pages under wrk against the release binary
  bench footprint [--bin P]
                    image/binary size, cold start, memory, /trust weight
  install           only install what is missing
  test-db           start the test cluster (socket, TLS, PgBouncer), print
                    the environment for `cargo nextest run`, wait for Enter
  container-test    build the Dockerfile's runtime image from the release
                    build and check it with podman (a step of `test`)
  asn-update        update the IP-to-ASN dataset (@ip-location-db/asn, npm)
                    to its newest release; restart Metiva to load it
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(args.iter().any(|a| a == "--release")),
        Some("test") => test(),
        Some("install") => tools::ensure_all(true),
        Some("bench") => bench(),
        Some("asn-update") => asn_update(),
        Some("test-db") => test_db(),
        Some("container-test") => container::test(),
        _ => {
            print!("{USAGE}");
            std::process::exit(if args.is_empty() { 0 } else { 2 });
        }
    };
    if let Err(e) = result {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

/// `cargo xtask asn-update`: pins the newest `@ip-location-db/asn` in
/// package.json (the registry is the only source; nothing else is
/// downloaded). Commit package.json and package-lock.json afterwards.
fn asn_update() -> Result<()> {
    sh(Command::new("npm")
        .args([
            "install",
            "--save-exact",
            "--no-audit",
            "--no-fund",
            "@ip-location-db/asn@latest",
        ])
        .current_dir(root()))?;
    let dir = root().join("node_modules/@ip-location-db/asn");
    let version = std::fs::read_to_string(dir.join("package.json"))
        .ok()
        .and_then(|t| serde_json_version(&t))
        .unwrap_or_else(|| "?".into());
    println!(
        "ASN dataset {version} installed in {}; Metiva loads it at startup (METIVA_ASN_DIR overrides the path).",
        dir.display()
    );
    Ok(())
}

/// The `"version"` of a package.json, without a JSON dependency.
fn serde_json_version(text: &str) -> Option<String> {
    let rest = text.split("\"version\"").nth(1)?;
    let start = rest.find('"')? + 1;
    let len = rest.get(start..)?.find('"')?;
    rest.get(start..start + len).map(String::from)
}

/// The workspace root (this crate's parent directory).
pub fn root() -> PathBuf {
    // `cargo run` sets CARGO_MANIFEST_DIR for the process too. Prefer it to
    // the compile-time value: with a target directory shared between
    // clones (CI caches it), the binary may have been built in another one.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The cargo target directory, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

/// Runs a command in the workspace root, streaming its output; fails with
/// the command line if it fails.
pub fn sh(cmd: &mut Command) -> Result<()> {
    cmd.current_dir(
        cmd.get_current_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(root),
    );
    let line = format!("{cmd:?}");
    eprintln!("\x1b[1m$ {}\x1b[0m", line.replace('"', ""));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {line}"))?;
    if !status.success() {
        bail!("command failed ({status}): {line}");
    }
    Ok(())
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn git_sha() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .current_dir(root())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `cargo leptos build`, with the commit baked into the footer.
fn leptos_build(release: bool) -> Result<()> {
    let mut cmd = cargo();
    cmd.args(["leptos", "build"]);
    if release {
        cmd.arg("--release");
    }
    if let Some(sha) = git_sha() {
        cmd.env("METIVA_GIT_SHA", sha);
    }
    sh(&mut cmd)?;
    // The fake providers (issue 18) for `run` and Playwright: a binary of
    // the test kit, never part of `metiva` itself.
    let mut fakes = cargo();
    fakes.args(["build", "-p", "metiva-testkit", "--bin", "metiva-fakes"]);
    if release {
        fakes.arg("--release");
    }
    sh(&mut fakes)
}

/// The fake providers' first port for `cargo xtask run`
/// (`METIVA_FAKES_PORT_BASE`, default 4010; five ports from there).
fn fakes_port_base() -> u16 {
    std::env::var("METIVA_FAKES_PORT_BASE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4010)
}

/// Starts `metiva-fakes` (Stripe, Twilio, Google Ads, Meta, a webhook
/// receiver) and points `cmd` at it, unless the provider bases are set
/// already (then nothing is started: the operator chose real providers or
/// their own fakes). The child shares the terminal's process group, so
/// Ctrl-C stops it with `metiva`.
fn start_fakes(release: bool, cmd: &mut Command) -> Result<()> {
    const BASES: [&str; 4] = [
        "METIVA_STRIPE_API_BASE",
        "METIVA_TWILIO_API_BASE",
        "METIVA_GOOGLE_ADS_API_BASE",
        "METIVA_META_API_BASE",
    ];
    if BASES.iter().any(|b| std::env::var_os(b).is_some()) {
        eprintln!("provider base URLs set: not starting the fake providers");
        return Ok(());
    }
    let bin = target_dir()
        .join(if release { "release" } else { "debug" })
        .join("metiva-fakes");
    let base = fakes_port_base();
    let mut child = Command::new(&bin)
        .args(["--port-base", &base.to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let out = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("metiva-fakes has no stdout"))?;
    use std::io::BufRead;
    for line in std::io::BufReader::new(out).lines() {
        let line = line?;
        if line == "metiva-fakes ready" {
            break;
        }
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            cmd.env(name, value);
        }
    }
    eprintln!(
        "fake providers on 127.0.0.1:{base}..{}; the webhook receiver is http://127.0.0.1:{}/leads",
        base + 4,
        base + 4
    );
    // Development only: the demo's webhook destination is the loopback
    // fake, which the adapter framework refuses unless allowed.
    cmd.env("METIVA_WEBHOOK_ALLOW_PRIVATE", "1");
    Ok(())
}

fn run(release: bool) -> Result<()> {
    tools::ensure_all(false)?;
    leptos_build(release)?;
    let bin = target_dir()
        .join(if release { "release" } else { "debug" })
        .join("metiva");
    // The demo workspaces (idempotent), so there is something to sign in to.
    // An external database is seeded only when its owner URL is given.
    let external = std::env::var_os("DATABASE_URL").is_some();
    if !external || std::env::var_os("DATABASE_MIGRATION_URL").is_some() {
        sh(Command::new(&bin).arg("seed-demo"))?;
    } else {
        eprintln!("DATABASE_URL is set without DATABASE_MIGRATION_URL: not seeding the demo data");
    }
    eprintln!(
        "Starting {} (Ctrl-C stops it and its embedded database)",
        bin.display()
    );
    let mut cmd = Command::new(&bin);
    cmd.arg("serve")
        .current_dir(root())
        .env("LEPTOS_SITE_ROOT", root().join("target/site"));
    start_fakes(release, &mut cmd)?;
    // Replace this process with metiva, so signals reach it directly.
    use std::os::unix::process::CommandExt;
    let err = cmd.exec();
    Err(anyhow::anyhow!("cannot start {}: {err}", bin.display()))
}

/// `cargo xtask bench`: builds the benchmark binary in release mode and
/// runs it; it starts its own private PostgreSQL.
fn bench() -> Result<()> {
    let only: Vec<String> = std::env::args().skip(2).collect();
    if only.first().is_some_and(|a| a == "pages") {
        return bench::pages(only.get(1..).unwrap_or_default());
    }
    if only.first().is_some_and(|a| a == "footprint") {
        return bench::footprint(only.get(1..).unwrap_or_default());
    }
    let page = only.is_empty() || only.iter().any(|a| a == "page");
    let rest: Vec<&String> = only.iter().filter(|a| *a != "page").collect();
    if only.is_empty() || !rest.is_empty() {
        tools::ensure_postgres()?;
        // The test cluster: the isolation bench measures over its socket
        // and its TLS listener.
        let tc = testdb::start()?;
        let res = sh(cargo()
            .args(["run", "--release", "--quiet", "-p", "metiva-bench", "--"])
            .args(rest)
            .envs(tc.env("socket")));
        tc.remove();
        res?;
    }
    if page {
        // In a real browser against the real release binary.
        tools::ensure_all(true)?;
        leptos_build(true)?;
        end_to_end_with(Some("playwright.bench.config.ts"))?;
    }
    Ok(())
}

struct Timings(Vec<(&'static str, Duration)>);

impl Timings {
    fn step(&mut self, name: &'static str, f: impl FnOnce() -> Result<()>) -> Result<()> {
        let t = Instant::now();
        let res = f();
        self.0.push((name, t.elapsed()));
        res.with_context(|| format!("step `{name}` failed"))
    }

    fn print(&self) {
        eprintln!("\nxtask test timings:");
        for (name, d) in &self.0 {
            eprintln!("  {name:<28} {:>7.1} s", d.as_secs_f64());
        }
        let total: Duration = self.0.iter().map(|(_, d)| *d).sum();
        eprintln!("  {:<28} {:>7.1} s", "total", total.as_secs_f64());
    }
}

/// Packages built with the server (`ssr`) feature set.
const SSR_PACKAGES: &[&str] = &[
    "-p",
    "server",
    "-p",
    "app",
    "-p",
    "metiva-tenancy",
    "-p",
    "metiva-db",
    "-p",
    "metiva-embedded-pg",
    "-p",
    "metiva-testkit",
    "-p",
    "metiva-security",
    "-p",
    "metiva-bench",
    "-p",
    "metiva-roles",
    "-p",
    "metiva-geo",
    "-p",
    "xtask",
];

/// Counts from the runners' machine-readable reports: (passed, failed, skipped).
#[derive(Default)]
struct Counts(u64, u64, u64);

/// The first `name="N"` attribute in an XML text.
fn xml_attr(xml: &str, name: &str) -> u64 {
    xml.split_once(&format!(" {name}=\""))
        .and_then(|(_, rest)| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The first `"name": N` in a JSON text.
fn json_number(json: &str, name: &str) -> u64 {
    json.split_once(&format!("\"{name}\":"))
        .map(|(_, rest)| {
            rest.trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn suite_counts() -> Counts {
    let mut c = Counts::default();
    for mode in ["socket", "tls", "pgbouncer"] {
        let Ok(xml) = std::fs::read_to_string(junit_path(Some(mode))) else {
            continue;
        };
        let (tests, failures, errors) = (
            xml_attr(&xml, "tests"),
            xml_attr(&xml, "failures"),
            xml_attr(&xml, "errors"),
        );
        c.0 += tests.saturating_sub(failures + errors);
        c.1 += failures + errors;
    }
    if let Ok(json) = std::fs::read_to_string(root().join("end2end/test-results/results.json")) {
        c.0 += json_number(&json, "expected");
        c.1 += json_number(&json, "unexpected") + json_number(&json, "flaky");
        c.2 += json_number(&json, "skipped");
    }
    c
}

fn test() -> Result<()> {
    // Stale reports must not be counted.
    for mode in ["socket", "tls", "pgbouncer"] {
        let _ = std::fs::remove_file(junit_path(Some(mode)));
    }
    let _ = std::fs::remove_file(root().join("end2end/test-results/results.json"));
    let mut t = Timings(Vec::new());
    let result = (|| -> Result<()> {
        t.step("install what is missing", || tools::ensure_all(true))?;
        t.step("cargo fmt --check", || {
            sh(cargo().args(["fmt", "--all", "--", "--check"]))
        })?;
        t.step("clippy (ssr)", || {
            sh(cargo().arg("clippy").args(SSR_PACKAGES).args([
                "--features",
                "app/ssr",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
        t.step("clippy (wasm, hydrate)", || {
            sh(cargo().args([
                "clippy",
                "-p",
                "frontend",
                "-p",
                "app",
                "--features",
                "app/hydrate",
                "--target",
                "wasm32-unknown-unknown",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
        t.step("cargo deny (licences, bans, sources)", || {
            sh(cargo().args(["deny", "check", "licenses", "bans", "sources"]))
        })?;
        t.step("cargo deny (advisories)", advisories)?;
        t.step("unused dependencies (cargo machete)", || {
            // Called directly: through the toolchain's cargo it would take
            // its own subcommand name for a path.
            sh(&mut Command::new("cargo-machete"))
        })?;
        t.step("unit + integration tests", unit_and_integration_tests)?;
        t.step("release build (cargo leptos)", || leptos_build(true))?;
        report_bundle_sizes()?;
        t.step("container (podman, runtime image)", container::test)?;
        t.step("playwright (chromium)", end_to_end)?;
        Ok(())
    })();
    t.print();
    let Counts(passed, failed, skipped) = suite_counts();
    // One closing line for the whole suite (nextest and Playwright).
    println!("tests: {passed} passed, {failed} failed, {skipped} skipped");
    result
}

/// RustSec advisories. The database comes from GitHub, which these
/// machines cannot reach: there the check says so, loudly, and the run
/// goes on; wherever the database can be fetched, a finding fails it.
fn advisories() -> Result<()> {
    let out = cargo()
        .args(["deny", "check", "advisories"])
        .current_dir(root())
        .output()
        .context("running cargo deny")?;
    let text = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        eprintln!("advisories: no known vulnerability in Cargo.lock");
        return Ok(());
    }
    if text.contains("failed to fetch advisory database") {
        eprintln!(
            "advisories: NOT CHECKED on this machine: the RustSec database (github.com/RustSec/advisory-db) cannot be fetched here; `cargo deny check advisories` runs it wherever it can"
        );
        return Ok(());
    }
    eprint!("{text}");
    bail!("cargo deny found advisories")
}

/// The isolation and integration suites, which run once per connection
/// setup (a nextest filter).
const INTEGRATION_SUITES: &str = "kind(test) & (package(metiva-db) | package(server))";

/// Starts one private PostgreSQL for the whole run (see `testdb`); every
/// test clones its own database from a migrated template inside it. All
/// suites run over the Unix socket; the integration suites run again over
/// TCP with TLS `verify-full` and SCRAM, and through PgBouncer in
/// transaction mode.
fn unit_and_integration_tests() -> Result<()> {
    let tc = testdb::start()?;
    let mut failed = Vec::new();
    for (mode, filter) in [
        ("socket", None),
        ("tls", Some(INTEGRATION_SUITES)),
        ("pgbouncer", Some(INTEGRATION_SUITES)),
    ] {
        let _ = std::fs::remove_file(junit_path(None));
        let started = Instant::now();
        let mut cmd = cargo();
        cmd.args(["nextest", "run", "--no-fail-fast"])
            .args(SSR_PACKAGES)
            .args(["--features", "app/ssr"])
            // As .cargo/config.toml's [env]: tests render whole pages in
            // debug builds (the server's workers get the same 8 MiB).
            .env("RUST_MIN_STACK", "8388608")
            .envs(tc.env(mode));
        if let Some(f) = filter {
            cmd.args(["-E", f]);
        }
        eprintln!("--- suites over {mode} ---");
        if sh(&mut cmd).is_err() {
            failed.push(mode);
        }
        eprintln!("--- {mode}: {:.1} s ---", started.elapsed().as_secs_f64());
        // Each run's report is kept, and counted, under its mode's name.
        let _ = std::fs::rename(junit_path(None), junit_path(Some(mode)));
    }
    tc.remove();
    if !failed.is_empty() {
        bail!("tests failed over: {}", failed.join(", "));
    }
    Ok(())
}

/// `cargo xtask test-db`: the test cluster for running suites by hand.
fn test_db() -> Result<()> {
    let tc = testdb::start()?;
    for (k, v) in tc.env("tls") {
        println!("export {k}={v}");
    }
    println!("# METIVA_TEST_PG_MODE: socket, tls or pgbouncer. Press Enter to stop.");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    tc.remove();
    Ok(())
}

/// Where nextest writes its JUnit report, or where one run's is kept.
fn junit_path(mode: Option<&str>) -> PathBuf {
    let dir = root().join("target/nextest/default");
    match mode {
        None => dir.join("junit.xml"),
        Some(m) => dir.join(format!("junit-{m}.xml")),
    }
}

fn gzip_size(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .context("gzip")?;
    Ok(out.stdout.len() as u64)
}

/// Prints the first-load bundle: wasm, JS and CSS, raw and gzip, against the
/// 250 KB gzip budget.
fn report_bundle_sizes() -> Result<()> {
    let pkg = root().join("target/site/pkg");
    let mut total_gz = 0;
    eprintln!("\nrelease bundle (first load):");
    for name in ["metiva.wasm", "metiva.js", "metiva.css"] {
        let p = pkg.join(name);
        let raw = std::fs::metadata(&p)
            .with_context(|| format!("{}", p.display()))?
            .len();
        let gz = gzip_size(&p)?;
        total_gz += gz;
        eprintln!(
            "  {name:<16} {:>8.1} KB raw {:>8.1} KB gzip",
            raw as f64 / 1024.0,
            gz as f64 / 1024.0
        );
    }
    eprintln!(
        "  {:<16} {:>26.1} KB gzip (budget 250 KB)",
        "total",
        total_gz as f64 / 1024.0
    );
    if total_gz > 250 * 1024 {
        bail!("the first-load bundle is over the 250 KB gzip budget");
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn end_to_end() -> Result<()> {
    end_to_end_with(None)
}

/// Playwright against the release binary; `config` picks another
/// Playwright config (the page-timing benchmark).
fn end_to_end_with(config: Option<&str>) -> Result<()> {
    let data = std::env::temp_dir().join(format!("metiva-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let res = sh(Command::new("npx")
        .args(["playwright", "test"])
        .args(config.map(|c| ["--config", c]).into_iter().flatten())
        .current_dir(root().join("end2end"))
        .env("METIVA_E2E_BIN", target_dir().join("release/metiva"))
        .env(
            "METIVA_E2E_FAKES_BIN",
            target_dir().join("release/metiva-fakes"),
        )
        .env("METIVA_E2E_SITE_ROOT", root().join("target/site"))
        .env("METIVA_E2E_DATA_DIR", &data)
        .env("METIVA_E2E_APP_PORT", free_port()?.to_string())
        .env("METIVA_E2E_LOGIN_PORT", free_port()?.to_string())
        .env("CHROMIUM_PATH", tools::chromium_path()));
    let _ = std::fs::remove_dir_all(&data);
    res
}
