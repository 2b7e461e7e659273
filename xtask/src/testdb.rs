//! The test cluster and the three ways the suites reach it.
//!
//! One private PostgreSQL serves the whole run. Besides its Unix socket it
//! listens on 127.0.0.1 with TLS only (`hostssl … scram-sha-256`; plain TCP
//! is rejected), with a CA and a server certificate made here for the run.
//! PgBouncer, from Debian's package, sits in front of it in transaction
//! mode. The suites then run once per setup (see `metiva-testkit`):
//!
//! - `socket`: everything;
//! - `tls`: the integration suites, over TCP with SCRAM and `verify-full`;
//! - `pgbouncer`: the integration suites, through PgBouncer.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::sh;

/// The test cluster's TCP port (its socket file is named after it too).
const PG_PORT: u16 = 5432;
/// The runtime roles' password in the TCP setups (`metiva-testkit`).
const TEST_PASSWORD: &str = "metiva-test-password";

pub struct TestCluster {
    pub cluster: metiva_embedded_pg::Cluster,
    pub dir: PathBuf,
    pub rootcert: PathBuf,
    pgbouncer: Option<Child>,
    pub pgbouncer_port: u16,
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if let Some(mut p) = self.pgbouncer.take() {
            // As root the child is `runuser`, not PgBouncer itself: stop
            // PgBouncer by the pid it wrote, then reap the child.
            if let Ok(pid) = std::fs::read_to_string(self.dir.join("pgbouncer/pgbouncer.pid")) {
                let _ = Command::new("kill").arg(pid.trim()).status();
            }
            let _ = p.kill();
            let _ = p.wait();
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Files the postmaster (and PgBouncer) read must belong to its OS user
/// when we run as root; PostgreSQL also insists on a 0600 key.
fn give_to_postgres(paths: &[&Path]) -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    let mut cmd = Command::new("chown");
    cmd.arg("postgres:postgres").args(paths);
    sh(&mut cmd)
}

fn openssl(args: &[&str], dir: &Path) -> Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .context("openssl is missing (apt-get install -y openssl)")?;
    if !out.status.success() {
        bail!(
            "openssl {}: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A CA and a server certificate for `localhost` / 127.0.0.1, for this run
/// only (ECDSA P-256, two days).
fn make_certificates(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Metiva test CA"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&ca, dir)?;
    let mut csr = vec!["req", "-subj", "/CN=localhost"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&csr, dir)?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.pem",
            "-extfile",
            "server.ext",
        ],
        dir,
    )?;
    let key = dir.join("server.key");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    give_to_postgres(&[&key, &dir.join("server.pem")])
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub fn start() -> Result<TestCluster> {
    let dir = std::env::temp_dir().join(format!("metiva-xtask-pg-{}", std::process::id()));
    let tls = dir.join("tls");
    make_certificates(&tls)?;
    let hba = tls.join("pg_hba.conf");
    // Security (of the test setup too): the socket trusts local users;
    // TCP is TLS with SCRAM or nothing.
    std::fs::write(
        &hba,
        "local all all trust\n\
         hostssl all all 127.0.0.1/32 scram-sha-256\n\
         host all all 0.0.0.0/0 reject\n\
         host all all ::/0 reject\n",
    )?;
    give_to_postgres(&[&hba])?;
    let options = format!(
        "-c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key} -c hba_file={hba} -c password_encryption=scram-sha-256",
        cert = tls.join("server.pem").display(),
        key = tls.join("server.key").display(),
        hba = hba.display(),
    );
    let cluster = metiva_embedded_pg::Cluster::start_with(&dir.join("pg"), &options)
        .map_err(|e| anyhow::anyhow!("test database: {e} (is 127.0.0.1:{PG_PORT} taken?)"))?;
    eprintln!(
        "private PostgreSQL for tests started in {:.1} s ({}), TLS on 127.0.0.1:{PG_PORT}",
        cluster.start_time.as_secs_f64(),
        dir.display()
    );
    let mut tc = TestCluster {
        rootcert: tls.join("ca.pem"),
        dir,
        cluster,
        pgbouncer: None,
        pgbouncer_port: free_port()?,
    };
    tc.start_pgbouncer()?;
    Ok(tc)
}

impl TestCluster {
    pub fn socket_dir(&self) -> &Path {
        self.cluster.socket_dir()
    }

    /// PgBouncer in transaction mode, SCRAM for clients, the socket to the
    /// server. It refuses to run as root, so it runs as `postgres`.
    fn start_pgbouncer(&mut self) -> Result<()> {
        let bin = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .context("pgbouncer is missing (cargo xtask install adds it)")?;
        let d = self.dir.join("pgbouncer");
        std::fs::create_dir_all(&d)?;
        let users = d.join("userlist.txt");
        std::fs::write(
            &users,
            format!("\"metiva_app\" \"{TEST_PASSWORD}\"\n\"metiva_login\" \"{TEST_PASSWORD}\"\n"),
        )?;
        let ini = d.join("pgbouncer.ini");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n* = host={sock} port={PG_PORT}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = scram-sha-256\nauth_file = {users}\npool_mode = transaction\nmax_client_conn = 800\ndefault_pool_size = 8\nserver_idle_timeout = 2\nserver_reset_query =\nignore_startup_parameters = extra_float_digits\nlogfile = {log}\npidfile = {pid}\n",
                sock = self.socket_dir().display(),
                port = self.pgbouncer_port,
                users = users.display(),
                log = d.join("pgbouncer.log").display(),
                pid = d.join("pgbouncer.pid").display(),
            ),
        )?;
        if is_root() {
            sh(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&d))?;
        }
        let mut cmd = self.cluster.command_as_owner(&bin);
        // Its log goes to the logfile; keep the suite's output readable.
        cmd.arg(&ini)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.pgbouncer = Some(cmd.spawn().context("starting pgbouncer")?);
        // Ready when it accepts connections.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.pgbouncer_port)).is_ok() {
                eprintln!(
                    "PgBouncer (transaction mode) on 127.0.0.1:{}",
                    self.pgbouncer_port
                );
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        bail!(
            "pgbouncer did not start; see {}",
            d.join("pgbouncer.log").display()
        )
    }

    /// The environment of one suite run in `mode`.
    pub fn env(&self, mode: &str) -> Vec<(&'static str, String)> {
        vec![
            (
                "METIVA_TEST_PG_HOST",
                self.socket_dir().display().to_string(),
            ),
            ("METIVA_TEST_PG_MODE", mode.to_string()),
            ("METIVA_TEST_PG_TCP", format!("127.0.0.1:{PG_PORT}")),
            (
                "METIVA_TEST_PG_ROOTCERT",
                self.rootcert.display().to_string(),
            ),
            (
                "METIVA_TEST_PGBOUNCER",
                format!("127.0.0.1:{}", self.pgbouncer_port),
            ),
        ]
    }

    pub fn remove(self) {
        let dir = self.dir.clone();
        drop(self);
        let _ = std::fs::remove_dir_all(dir);
    }
}
