//! The embedded default: a private PostgreSQL cluster, started from the
//! system's own binaries, that lives in one directory and persists there.
//!
//! Responsibilities:
//! - find the server binaries (or say in one sentence how to install them);
//! - `initdb` once, as the `postgres` OS user when we run as root (initdb
//!   refuses root), as ourselves otherwise;
//! - start the server listening on a Unix socket only, in a directory only its
//!   owner can enter: no TCP port is opened, so nothing else on the machine
//!   can reach the `trust`-authenticated cluster;
//! - hold an exclusive lock so a second process cannot start a second
//!   postmaster on the same data directory;
//! - stop it cleanly.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The superuser created by `initdb`. Only bootstrap code (roles, database
/// creation) ever connects as it; the app never does.
pub const SUPERUSER: &str = "postgres";

/// Port number used only to name the socket file; no TCP listener exists.
const SOCKET_PORT: u16 = 5432;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedPgError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found: install them with `apt-get install -y postgresql`, or set METIVA_PG_BIN to the directory that holds them"
    )]
    BinariesMissing,
    #[error(
        "another metiva process is already using the embedded database in {0}; stop it first, or set METIVA_DATA_DIR to another directory"
    )]
    Busy(PathBuf),
    #[error(
        "running as root, but the OS user `postgres` does not exist; create it (`apt-get install -y postgresql` does) or run metiva as a normal user"
    )]
    NoPostgresUser,
    #[error(
        "running as root, and the `postgres` OS user cannot reach {0}; choose a data directory it can traverse with METIVA_DATA_DIR (for example under /var/lib or /tmp)"
    )]
    Unreachable(PathBuf),
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("embedded database I/O error at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

type Result<T> = std::result::Result<T, EmbeddedPgError>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EmbeddedPgError + '_ {
    move |source| EmbeddedPgError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where the server binaries live.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    dir: PathBuf,
}

impl PgBinaries {
    /// Finds `initdb` and `pg_ctl`: `METIVA_PG_BIN`, then the newest
    /// `/usr/lib/postgresql/<major>/bin` (Debian's layout), then `PATH`.
    pub fn locate() -> Result<Self> {
        let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
        if let Some(dir) = std::env::var_os("METIVA_PG_BIN").map(PathBuf::from) {
            return if has_tools(&dir) {
                Ok(Self { dir })
            } else {
                Err(EmbeddedPgError::BinariesMissing)
            };
        }
        let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let major = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((major, e.path().join("bin")))
            })
            .filter(|(_, d)| has_tools(d))
            .collect();
        debian.sort();
        if let Some((_, dir)) = debian.pop() {
            return Ok(Self { dir });
        }
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .find(|d| has_tools(d))
            .map(|dir| Self { dir })
            .ok_or(EmbeddedPgError::BinariesMissing)
    }

    fn tool(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The OS identity the postmaster runs as.
#[derive(Debug, Clone)]
enum RunAs {
    /// We are not root: run the tools directly.
    Me,
    /// We are root: run the tools as this user through `runuser`.
    User { name: String, uid: u32, gid: u32 },
}

impl RunAs {
    fn detect() -> Result<Self> {
        if !is_root() {
            return Ok(RunAs::Me);
        }
        let passwd = fs::read_to_string("/etc/passwd").map_err(io_err(Path::new("/etc/passwd")))?;
        passwd
            .lines()
            .find_map(|line| {
                let mut f = line.split(':');
                let name = f.next()?;
                if name != "postgres" {
                    return None;
                }
                let _pw = f.next()?;
                let uid = f.next()?.parse().ok()?;
                let gid = f.next()?.parse().ok()?;
                Some(RunAs::User {
                    name: name.to_string(),
                    uid,
                    gid,
                })
            })
            .ok_or(EmbeddedPgError::NoPostgresUser)
    }

    fn command(&self, program: &Path) -> Command {
        match self {
            RunAs::Me => Command::new(program),
            RunAs::User { name, .. } => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(name).arg("--").arg(program);
                c
            }
        }
    }

    /// Gives a directory to the postmaster's user, mode 0700.
    fn own_private_dir(&self, dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        if let RunAs::User { uid, gid, .. } = self {
            chown(dir, Some(*uid), Some(*gid)).map_err(io_err(dir))?;
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))
    }
}

fn is_root() -> bool {
    // /proc/self/status carries the real and effective uid; avoids `unsafe`
    // libc calls. Anything unreadable is treated as "not root", and initdb
    // itself then refuses with its own message if we were wrong.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// A running private cluster. Holds the directory lock for as long as it lives.
#[derive(Debug)]
pub struct Cluster {
    root: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    bins: PgBinaries,
    run_as: RunAs,
    extra_options: String,
    _lock: File,
    stopped: bool,
    /// Whether `initdb` ran during this start (a cold start).
    pub initialised: bool,
    /// How long `start` took.
    pub start_time: Duration,
}

impl Cluster {
    /// Starts (initialising on first use) the cluster kept in `root`.
    ///
    /// Refuses with [`EmbeddedPgError::Busy`] when another process holds the
    /// directory: two postmasters on one data directory would corrupt it.
    pub fn start(root: &Path) -> Result<Self> {
        Self::start_with(root, "")
    }

    /// As [`Cluster::start`], with extra server options appended to the
    /// command line (`-c name=value …`; later settings win). Tests use it
    /// to add a TLS listener on loopback with its own `hba_file`.
    pub fn start_with(root: &Path, extra_options: &str) -> Result<Self> {
        let started = Instant::now();
        let bins = PgBinaries::locate()?;
        let run_as = RunAs::detect()?;
        fs::create_dir_all(root).map_err(io_err(root))?;
        let root = root.canonicalize().map_err(io_err(root))?;

        let lock_path = root.join("metiva.lock");
        let mut lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        // std's advisory lock (flock on Unix), held for the Cluster's life.
        if lock.try_lock().is_err() {
            return Err(EmbeddedPgError::Busy(root));
        }
        lock.set_len(0).map_err(io_err(&lock_path))?;
        writeln!(lock, "{}", std::process::id()).map_err(io_err(&lock_path))?;

        let data = root.join("pgdata");
        let socket_dir = socket_dir_for(&root);
        run_as.own_private_dir(&socket_dir)?;
        if let RunAs::User { name, .. } = &run_as {
            // The postmaster's user must be able to reach its directories.
            let ok = Command::new("runuser")
                .args(["-u", name, "--", "test", "-x"])
                .arg(&root)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                return Err(EmbeddedPgError::Unreachable(root));
            }
        }

        let initialised = !data.join("PG_VERSION").is_file();
        if initialised {
            run_as.own_private_dir(&data)?;
            let out = run_as
                .command(&bins.tool("initdb"))
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    SUPERUSER,
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--auth-local=trust",
                    "--auth-host=reject",
                    "--no-instructions",
                ])
                .stdin(Stdio::null())
                .output()
                .map_err(io_err(&data))?;
            if !out.status.success() {
                // Leave no half-initialised directory behind.
                let _ = fs::remove_dir_all(&data);
                return Err(EmbeddedPgError::Command {
                    what: "initdb".into(),
                    detail: last_line(&out.stderr),
                });
            }
        }

        let mut cluster = Cluster {
            root: root.clone(),
            data,
            socket_dir,
            bins,
            run_as,
            extra_options: extra_options.to_string(),
            _lock: lock,
            stopped: true,
            initialised,
            start_time: Duration::ZERO,
        };
        cluster.pg_ctl_start()?;
        cluster.stopped = false;
        cluster.start_time = started.elapsed();
        Ok(cluster)
    }

    fn log_path(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    fn pg_ctl_start(&self) -> Result<()> {
        // A postmaster left behind by a crash of ours (we hold the lock, so
        // no live metiva owns it) is adopted rather than started twice.
        if self.is_running() {
            tracing::info!("adopting an already running embedded postmaster");
            return Ok(());
        }
        let log = self.log_path();
        if !log.exists() {
            File::create(&log).map_err(io_err(&log))?;
        }
        if let RunAs::User { uid, gid, .. } = &self.run_as {
            chown(&log, Some(*uid), Some(*gid)).map_err(io_err(&log))?;
        }
        let opts = format!(
            "-c listen_addresses='' -k {} -p {SOCKET_PORT} -c unix_socket_permissions=0700 -c max_connections=200 -c shared_buffers=64MB -c fsync=on {}",
            self.socket_dir.display(),
            self.extra_options
        );
        let out = self
            .run_as
            .command(&self.bins.tool("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(io_err(&self.data))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(EmbeddedPgError::Command {
                what: "starting the embedded PostgreSQL".into(),
                detail: format!("{} (see {})", last_line(&out.stderr), log.display()),
            })
        }
    }

    fn is_running(&self) -> bool {
        self.run_as
            .command(&self.bins.tool("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .arg("status")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// A libpq/tokio-postgres URL for `user` on database `db`, over the
    /// private Unix socket.
    pub fn url(&self, user: &str, db: &str) -> String {
        socket_url(&self.socket_dir, user, db)
    }

    /// The directory holding the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Runs `program` as the postmaster's OS user (for a helper such as
    /// PgBouncer, which refuses to run as root).
    pub fn command_as_owner(&self, program: &Path) -> Command {
        self.run_as.command(program)
    }

    /// Gives `path` to the postmaster's OS user (files it must read, such
    /// as a TLS key, which PostgreSQL wants owned by itself and mode 0600).
    pub fn give_to_owner(&self, path: &Path) -> Result<()> {
        if let RunAs::User { uid, gid, .. } = &self.run_as {
            chown(path, Some(*uid), Some(*gid)).map_err(io_err(path))?;
        }
        Ok(())
    }

    /// The directory holding the cluster (data, log, lock).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stops the postmaster (fast mode: active sessions are ended, the
    /// checkpoint completes, nothing acknowledged is lost).
    pub fn stop(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let out = self
            .run_as
            .command(&self.bins.tool("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "60", "-m", "fast", "stop"])
            .stdin(Stdio::null())
            .output()
            .map_err(io_err(&self.data))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(EmbeddedPgError::Command {
                what: "stopping the embedded PostgreSQL".into(),
                detail: last_line(&out.stderr),
            })
        }
    }

    /// Starts the postmaster again after [`Cluster::stop`], keeping the lock
    /// (used to prove that clients recover from a database restart).
    pub fn restart(&mut self) -> Result<()> {
        if self.stopped {
            self.pg_ctl_start()?;
            self.stopped = false;
        }
        Ok(())
    }

    /// Makes sure the postmaster stops when this process exits, even if the
    /// `Cluster` is never dropped (for example when it sits in a `static`
    /// of a test binary). A tiny shell watchdog polls our pid; with
    /// `remove_dir` it also deletes the (throw-away) cluster directory.
    pub fn stop_when_process_exits(&self, remove_dir: bool) -> Result<()> {
        let cleanup = if remove_dir {
            format!("; rm -rf '{}'", self.root.display())
        } else {
            String::new()
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {cmd} -D '{data}' -m fast -w stop >/dev/null 2>&1{cleanup}",
            pid = std::process::id(),
            cmd = self.pg_ctl_as_shell(),
            data = self.data.display(),
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(|_| ())
            .map_err(io_err(&self.root))
    }

    fn pg_ctl_as_shell(&self) -> String {
        let pg_ctl = self.bins.tool("pg_ctl");
        match &self.run_as {
            RunAs::Me => format!("'{}'", pg_ctl.display()),
            RunAs::User { name, .. } => format!("runuser -u {name} -- '{}'", pg_ctl.display()),
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!("embedded PostgreSQL did not stop cleanly: {e}");
        }
    }
}

/// Unix socket paths are limited to about 107 bytes, so a deep checkout gets
/// a short directory under /tmp named after a hash of the root instead.
fn socket_dir_for(root: &Path) -> PathBuf {
    let candidate = root.join("run");
    if candidate.as_os_str().len() + ".s.PGSQL.5432".len() + 2 < 100 {
        return candidate;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in root.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    PathBuf::from(format!("/tmp/metiva-pg-{h:016x}"))
}

/// A URL for `user` on database `db` of the cluster whose socket is in
/// `socket_dir`.
pub fn socket_url(socket_dir: &Path, user: &str, db: &str) -> String {
    format!(
        "postgresql://{user}@localhost:{SOCKET_PORT}/{db}?host={}",
        percent_encode_path(socket_dir)
    )
}

fn percent_encode_path(p: &Path) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::percent_encode(p.as_os_str().as_encoded_bytes(), KEEP).to_string()
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_roots_get_a_short_socket_dir() {
        let long = PathBuf::from(format!("/{}", "x".repeat(120)));
        let dir = socket_dir_for(&long);
        assert!(
            dir.to_string_lossy().starts_with("/tmp/metiva-pg-"),
            "{}",
            dir.display()
        );
        assert_eq!(
            socket_dir_for(Path::new("/w/.metiva")),
            PathBuf::from("/w/.metiva/run")
        );
    }

    #[test]
    fn url_encodes_the_socket_dir() {
        assert_eq!(percent_encode_path(Path::new("/a b/c")), "%2Fa%20b%2Fc");
    }
}
