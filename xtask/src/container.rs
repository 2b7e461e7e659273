//! The container test (a `cargo xtask test` step, or `cargo xtask
//! container-test` alone after a release build).
//!
//! No image registry is reachable here, so it builds what an operator's
//! `docker build` builds last: the `runtime` stage of the top-level
//! `Dockerfile`, from a context holding the release binary, the site and
//! the IP-to-ASN dataset built on this host, on a local Debian base made
//! with debootstrap (cached in podman's storage). Then, with rootful
//! podman and runc (see shared/TOOLCHAIN.md):
//!
//! 1. `metiva keygen` in the image makes the production keys;
//! 2. `metiva migrate` runs as a one-off container, as the owner role, over
//!    TLS `verify-full`;
//! 3. `metiva seed-demo` (a development-mode one-off, since production
//!    refuses it) loads the demo users;
//! 4. `metiva serve` runs `--read-only`, as the image's non-root user, in
//!    production mode, every secret from a `*_FILE` mounted read-only;
//! 5. the checks: `/readyz` (cold start timed), the image's HEALTHCHECK,
//!    non-root and read-only, a sign-in through the login service (form
//!    POST, code hand-off, session cookie, the dashboard page), and a clean
//!    stop on SIGTERM (exit 0 within 10 s).
//!
//! Containers are named per run and removed by name.

mod http;
mod podman;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use self::http::{sign_in, wait_ready};
use self::podman::{Podman, containers_conf};
use crate::{root, sh, target_dir, testdb};

/// The local base image (TOOLCHAIN.md: there is none to pull).
const BASE: &str = "localhost/debian:bookworm-slim";
/// The image CI builds and runs.
const IMAGE: &str = "localhost/metiva:ci";
/// The demo user who belongs to one workspace, so sign-in goes straight
/// through (`metiva_db::seed`).
const DEMO_EMAIL: &str = "viewer@devries.example";
const DEMO_PASSWORD: &str = "metiva-demo";
/// The runtime roles' password on the test cluster (`metiva-testkit`).
/// The container test sets the same one, so a cluster shared with
/// `cargo xtask test-db` keeps working for the suites.
const TEST_PASSWORD: &str = "metiva-test-password";
/// Production needs https public URLs; the test talks plain http to the
/// listeners, as a TLS-terminating proxy in front of Metiva would.
const APP_URL: &str = "https://app.metiva.test";
const LOGIN_URL: &str = "https://login.metiva.test";

/// The step: builds the runtime image and proves it. Without podman (and
/// no way to install it) it says so loudly; that fails in CI (`CI` set).
pub fn test() -> Result<()> {
    if let Err(e) = ensure_podman() {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
        eprintln!(
            "\n\x1b[1;31m!!! CONTAINER TEST NOT RUN: {e:#}.\n!!! The Dockerfile's runtime image was NOT built or checked on this machine.\x1b[0m\n"
        );
        if ci {
            bail!("podman is required in CI (CI is set): {e:#}");
        }
        return Ok(());
    }
    let started = Instant::now();
    let conf = containers_conf()?;
    let podman = Podman { conf };
    podman.ensure_base()?;
    let sizes = build_context()?;
    let image_size = podman.build()?;
    eprintln!(
        "container: image {IMAGE} {:.1} MB (binary {:.1} MB stripped, site {:.1} MB, ASN dataset {:.1} MB)",
        mb(image_size),
        mb(sizes.binary),
        mb(sizes.site),
        mb(sizes.asn)
    );
    // The test cluster: an already running `cargo xtask test-db` (its
    // environment exported), or a fresh one for this step.
    let own = if std::env::var_os("METIVA_TEST_PG_TCP").is_some() {
        None
    } else {
        Some(testdb::start()?)
    };
    let db = match &own {
        Some(tc) => TestDb {
            socket: tc.socket_dir().to_path_buf(),
            tcp: "127.0.0.1:5432".into(),
            rootcert: tc.rootcert.clone(),
        },
        None => TestDb::from_env()?,
    };
    let res = run_checks(&podman, &db);
    if let Some(tc) = own {
        tc.remove();
    }
    res?;
    eprintln!(
        "container: all checks passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn have(program: &str) -> bool {
    output(Command::new(program).arg("--version")).is_some()
}

/// podman, runc and debootstrap, from apt when missing (as root).
fn ensure_podman() -> Result<()> {
    let missing: Vec<&str> = ["podman", "runc", "debootstrap"]
        .into_iter()
        .filter(|p| !have(p) && !Path::new(&format!("/usr/sbin/{p}")).is_file())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root_user = output(Command::new("id").arg("-u")).is_some_and(|s| s.trim() == "0");
    if !root_user {
        bail!(
            "{} missing, and rootful podman needs root: `sudo apt-get install -y podman runc debootstrap`",
            missing.join(", ")
        );
    }
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    sh(Command::new("apt-get").arg("update").envs(env))
        .and_then(|()| {
            sh(Command::new("apt-get")
                .args(["install", "-y", "podman", "runc", "debootstrap"])
                .envs(env))
        })
        .with_context(|| {
            format!(
                "{} missing and apt-get could not install it",
                missing.join(", ")
            )
        })
}

fn context_dir() -> PathBuf {
    target_dir().join("container/context")
}

struct Sizes {
    binary: u64,
    site: u64,
    asn: u64,
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

/// `context/dist/`: the stripped release binary, `target/site` and the two
/// dataset files Metiva loads (with the dataset's licences), the layout
/// the Dockerfile's `dist-build` stage makes.
fn build_context() -> Result<Sizes> {
    let dist = context_dir().join("dist");
    let _ = std::fs::remove_dir_all(context_dir());
    std::fs::create_dir_all(dist.join("asn"))?;
    let bin = target_dir().join("release/metiva");
    let site = root().join("target/site");
    let asn = root().join("node_modules/@ip-location-db/asn");
    for (what, p) in [
        ("release binary", &bin),
        ("site", &site),
        ("ASN dataset", &asn),
    ] {
        if !p.exists() {
            bail!(
                "the {what} is missing at {} (the release build makes it)",
                p.display()
            );
        }
    }
    std::fs::copy(&bin, dist.join("metiva"))?;
    // Debug symbols are not needed at runtime (the builder stage strips
    // too); keep the unstripped copy if strip is missing.
    let _ = Command::new("strip").arg(dist.join("metiva")).status();
    sh(Command::new("cp")
        .arg("-r")
        .arg(&site)
        .arg(dist.join("site")))?;
    for entry in std::fs::read_dir(&asn)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let keep = name.ends_with("-num.csv")
            || name.contains("LICENSE")
            || ["MODIFICATIONS", "README.md", "package.json"].contains(&name.as_str());
        if keep {
            std::fs::copy(entry.path(), dist.join("asn").join(&name))?;
        }
    }
    Ok(Sizes {
        binary: std::fs::metadata(dist.join("metiva"))?.len(),
        site: dir_size(&dist.join("site")),
        asn: dir_size(&dist.join("asn")),
    })
}

/// Where the test PostgreSQL is: its socket (superuser, trust) and its
/// TLS listener with the CA that signed it.
struct TestDb {
    socket: PathBuf,
    tcp: String,
    rootcert: PathBuf,
}

impl TestDb {
    fn from_env() -> Result<Self> {
        let var = |k: &str| std::env::var(k).with_context(|| format!("{k} is not set"));
        Ok(Self {
            socket: var("METIVA_TEST_PG_HOST")?.into(),
            tcp: var("METIVA_TEST_PG_TCP")?,
            rootcert: var("METIVA_TEST_PG_ROOTCERT")?.into(),
        })
    }

    /// `psql` as the superuser over the socket.
    fn psql(&self, db: &str, sql: &str) -> Result<()> {
        let port = self.tcp.rsplit(':').next().unwrap_or("5432");
        let out = Command::new("psql")
            .arg(format!(
                "host={} port={port} user=postgres dbname={db}",
                self.socket.display()
            ))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .context("psql (Debian's postgresql-client)")?;
        if !out.status.success() {
            bail!("psql: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(())
    }

    /// A URL for `user` over TCP with TLS `verify-full` against the CA
    /// mounted at /run/secrets/db-ca.pem.
    fn url(&self, user: &str, password: &str, db: &str) -> String {
        let port = self.tcp.rsplit(':').next().unwrap_or("5432");
        format!(
            "postgresql://{user}:{password}@localhost:{port}/{db}?sslmode=verify-full&sslrootcert=/run/secrets/db-ca.pem"
        )
    }
}

/// Removes the run's containers, its database and its secrets, whatever
/// happened.
struct Cleanup<'a> {
    podman: &'a Podman,
    db: &'a TestDb,
    db_name: String,
    containers: Vec<String>,
    secrets: PathBuf,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for name in &self.containers {
            let _ = self
                .podman
                .out(&["rm", "--force", "--volumes", "--ignore", name]);
        }
        let _ = self.db.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db_name),
        );
        let _ = std::fs::remove_dir_all(&self.secrets);
    }
}

fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Writes one secret file, readable only by the image's user (uid 10001),
/// as a Kubernetes secret with `fsGroup` or a compose secret would be.
fn write_secret(dir: &Path, name: &str, value: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let p = dir.join(name);
    // A trailing newline, as `echo` leaves it: the server trims it.
    std::fs::write(&p, format!("{value}\n"))?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o400))?;
    std::os::unix::fs::chown(&p, Some(10001), Some(10001))?;
    Ok(())
}

fn run_checks(podman: &Podman, db: &TestDb) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let pid = std::process::id();
    let db_name = format!("metiva_container_{pid}");
    let serve_name = format!("metiva-ci-serve-{pid}");
    let secrets = target_dir().join(format!("container/secrets-{pid}"));
    let cleanup = Cleanup {
        podman,
        db,
        db_name: db_name.clone(),
        containers: vec![serve_name.clone()],
        secrets: secrets.clone(),
    };
    // The database as an operator's DBA sets it up: roles.sql, a database
    // owned by metiva_owner, passwords for SCRAM over TLS.
    let owner_password = random_hex()?;
    let roles = std::fs::read_to_string(root().join("migrations/roles.sql"))?;
    db.psql("postgres", &roles)?;
    // Separate commands: DROP and CREATE DATABASE refuse a transaction.
    db.psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"),
    )?;
    db.psql(
        "postgres",
        &format!("CREATE DATABASE {db_name} OWNER metiva_owner ENCODING 'UTF8' TEMPLATE template0"),
    )?;
    db.psql(
        "postgres",
        &format!(
            "REVOKE ALL ON DATABASE {db_name} FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE {db_name} TO metiva_app, metiva_login; ALTER ROLE metiva_owner PASSWORD '{owner_password}'; ALTER ROLE metiva_app PASSWORD '{TEST_PASSWORD}'; ALTER ROLE metiva_login PASSWORD '{TEST_PASSWORD}'"
        ),
    )?;

    // Secrets: files mounted read-only at /run/secrets, never in the image.
    std::fs::create_dir_all(&secrets)?;
    let keys = podman.one_off(&[IMAGE.into(), "keygen".into()])?;
    let key = |name: &str| {
        keys.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
            .with_context(|| format!("`metiva keygen` printed no {name}"))
    };
    write_secret(&secrets, "encryption_key", &key("METIVA_ENCRYPTION_KEY")?)?;
    write_secret(
        &secrets,
        "token_signing_key",
        &key("METIVA_TOKEN_SIGNING_KEY")?,
    )?;
    write_secret(
        &secrets,
        "database_url",
        &db.url("metiva_app", TEST_PASSWORD, &db_name),
    )?;
    write_secret(
        &secrets,
        "login_database_url",
        &db.url("metiva_login", TEST_PASSWORD, &db_name),
    )?;
    write_secret(
        &secrets,
        "migration_url",
        &db.url("metiva_owner", &owner_password, &db_name),
    )?;
    let ca = std::fs::read_to_string(&db.rootcert)?;
    write_secret(&secrets, "db-ca.pem", ca.trim_end())?;
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o500))?;
    std::os::unix::fs::chown(&secrets, Some(10001), Some(10001))?;

    let (app_port, login_port, metrics_port) = (free_port()?, free_port()?, free_port()?);
    let mut env: Vec<String> = vec![
        "-v".into(),
        format!("{}:/run/secrets:ro", secrets.display()),
    ];
    for (k, v) in [
        ("DATABASE_URL_FILE", "/run/secrets/database_url"),
        ("DATABASE_MIGRATION_URL_FILE", "/run/secrets/migration_url"),
        (
            "METIVA_LOGIN_DATABASE_URL_FILE",
            "/run/secrets/login_database_url",
        ),
        ("METIVA_ENCRYPTION_KEY_FILE", "/run/secrets/encryption_key"),
        (
            "METIVA_TOKEN_SIGNING_KEY_FILE",
            "/run/secrets/token_signing_key",
        ),
        ("METIVA_REGION", "eu-central-1"),
        ("METIVA_APP_URL", APP_URL),
        ("METIVA_LOGIN_URL", LOGIN_URL),
        // Invoice PDFs on the container's data volume (issue 17).
        ("METIVA_FILES_ALLOW_LOCAL", "1"),
    ] {
        env.push("-e".into());
        env.push(format!("{k}={v}"));
    }
    env.push("-e".into());
    env.push(format!("METIVA_APP_ADDR=127.0.0.1:{app_port}"));
    env.push("-e".into());
    env.push(format!("METIVA_LOGIN_ADDR=127.0.0.1:{login_port}"));
    // The host's network: production's default metrics port (9464) could
    // be taken, so a free one.
    env.push("-e".into());
    env.push(format!("METIVA_METRICS_ADDR=127.0.0.1:{metrics_port}"));

    // The one-off migration, as the owner role.
    let t = Instant::now();
    let mut args = env.clone();
    args.extend([IMAGE.into(), "migrate".into()]);
    let migrated = podman.one_off(&args)?;
    eprintln!(
        "container: `metiva migrate` one-off: {} ({:.1} s)",
        migrated.trim(),
        t.elapsed().as_secs_f64()
    );
    // The demo users, for the sign-in. Production refuses seed-demo (the
    // demo password is published), so this one-off says development.
    let mut args = env.clone();
    args.extend([
        "-e".into(),
        "METIVA_ENV=development".into(),
        "--tmpfs".into(),
        "/data".into(),
        IMAGE.into(),
        "seed-demo".into(),
    ]);
    podman.one_off(&args)?;

    // The server: production (the image's default), read-only, non-root.
    let t = Instant::now();
    let mut args: Vec<String> = vec![
        "run".into(),
        "--detach".into(),
        "--name".into(),
        serve_name.clone(),
        "--init".into(),
        "--read-only".into(),
        "--network=host".into(),
    ];
    args.extend(env);
    args.push(IMAGE.into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    podman.out(&args)?;
    let app = format!("127.0.0.1:{app_port}");
    let login = format!("127.0.0.1:{login_port}");
    let result = (|| -> Result<()> {
        wait_ready(&app, Duration::from_secs(30))?;
        eprintln!(
            "container: cold start to /readyz 200: {:.2} s (podman run to first ready answer)",
            t.elapsed().as_secs_f64()
        );
        podman
            .out(&["healthcheck", "run", &serve_name])
            .context("the image's HEALTHCHECK failed")?;
        let uid = podman.out(&["exec", &serve_name, "id", "-u"])?;
        if uid != "10001" {
            bail!("the server runs as uid {uid}, not the image's non-root user 10001");
        }
        if podman
            .out(&["exec", &serve_name, "touch", "/opt/metiva/site/x"])
            .is_ok()
        {
            bail!("the root filesystem is writable");
        }
        sign_in(&app, &login)?;
        eprintln!("container: signed in as {DEMO_EMAIL} through the login service");
        stop_cleanly(podman, &serve_name)
    })();
    if result.is_err() {
        let logs = podman.out(&["logs", "--tail", "40", &serve_name]);
        let err = podman
            .cmd()
            .args(["logs", "--tail", "40", &serve_name])
            .output();
        eprintln!("--- last server log lines ---");
        if let Ok(o) = err {
            eprint!("{}", String::from_utf8_lossy(&o.stderr));
        }
        if let Ok(l) = logs {
            eprintln!("{l}");
        }
    }
    drop(cleanup);
    result
}

/// SIGTERM through podman (to the init process, which forwards it): the
/// server drains and exits 0 within 10 s.
fn stop_cleanly(podman: &Podman, name: &str) -> Result<()> {
    let t = Instant::now();
    podman.out(&["kill", "--signal", "TERM", name])?;
    loop {
        let running = podman.out(&["inspect", "--format", "{{.State.Running}}", name])?;
        if running == "false" {
            break;
        }
        if t.elapsed() > Duration::from_secs(10) {
            bail!("still running 10 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let code = podman.out(&["inspect", "--format", "{{.State.ExitCode}}", name])?;
    let took = t.elapsed().as_secs_f64();
    if code != "0" {
        bail!("exit code {code} after SIGTERM (want 0)");
    }
    eprintln!("container: SIGTERM → exit 0 in {took:.2} s");
    Ok(())
}
