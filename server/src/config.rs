//! Configuration from the environment, parsed once at startup.
//!
//! Parse, don't validate: every value becomes a typed field here, and a bad
//! value is refused with one sentence naming the variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{Context, bail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

#[derive(Clone)]
pub enum DatabaseConfig {
    /// The embedded default: a private cluster under `data_dir`.
    Embedded { data_dir: PathBuf },
    /// An operator-provided database.
    External {
        app_url: String,
        migration_url: Option<String>,
        /// `DATABASE_LISTEN_URL`: where the access-change listener
        /// connects (LISTEN needs a session: the server itself, or a
        /// pooler in session mode). Default: `app_url`.
        listen_url: Option<String>,
    },
}

#[derive(Clone)]
pub struct Config {
    pub mode: Mode,
    pub app_addr: SocketAddr,
    pub login_addr: SocketAddr,
    pub database: DatabaseConfig,
    pub site_root: String,
    /// `METIVA_ENCRYPTION_KEY`, unparsed: the checks say what is wrong.
    pub encryption_key: Option<String>,
    /// `METIVA_REGION`.
    pub region: Option<String>,
    /// `METIVA_TOKEN_SIGNING_KEY` (login service), unparsed.
    pub token_signing_key: Option<String>,
    /// `METIVA_TOKEN_PUBLIC_KEY`: the dashboard's verification key when it
    /// runs without the login service (`serve --only app`), unparsed.
    pub token_public_key: Option<String>,
    /// `METIVA_APP_URL`: the dashboard's public base URL (no trailing
    /// slash). Token audience, and the only place sign-in returns to.
    pub app_url: String,
    /// `METIVA_LOGIN_URL`: the login service's public base URL. Token
    /// issuer, and where anonymous visitors are sent.
    pub login_url: String,
    /// `METIVA_LOGIN_DATABASE_URL`: the login service's role
    /// (`metiva_login`) on an external database.
    pub login_database_url: Option<String>,
    /// `METIVA_BCRYPT_COST`: 12 in production (enforced); tests lower it.
    pub bcrypt_cost: u32,
    /// How many reverse proxies in front of Metiva append to
    /// `X-Forwarded-For` (`METIVA_TRUSTED_PROXY_HOPS`, default 0: the TCP
    /// peer is the client and the header is ignored).
    pub trusted_proxy_hops: usize,
    /// Where development keys are generated and kept (`METIVA_DATA_DIR`).
    pub data_dir: PathBuf,
    /// The IP-to-ASN dataset (`@ip-location-db/asn`): `METIVA_ASN_DIR`, or
    /// `node_modules/@ip-location-db/asn` when present. `None`: company-level
    /// identification uses the workspaces' known networks only.
    pub asn_dir: Option<PathBuf>,
    /// Retired field-cipher keys (`METIVA_ENCRYPTION_KEYS_RETIRED`,
    /// comma-separated base64): they open values sealed before a rotation
    /// and never seal new ones.
    pub retired_encryption_keys: Vec<String>,
    /// `METIVA_DB_STATEMENT_CACHE` (`on`, the default, or `off`): the
    /// client-side prepared-statement cache; `off` behind a
    /// transaction-mode pooler that does not track prepared statements.
    pub db_statement_cache: bool,
    /// `METIVA_METRICS_ADDR`: where `/metrics` listens (`None`: off).
    /// Off by default in development, 127.0.0.1:9464 in production; a
    /// non-loopback address needs `METIVA_METRICS_PUBLIC=1`.
    pub metrics_addr: Option<SocketAddr>,
    /// The abuse limits (`METIVA_LIMIT_*`, see `limits`).
    pub limits: crate::limits::LimitSettings,
    /// Where files live (`METIVA_OBJECT_STORE`, `METIVA_S3_*`, see
    /// `file_store`).
    pub object_store: crate::file_store::ObjectStoreConfig,
}

/// A database URL for `Debug`: user, hosts and TLS mode, never the
/// password (see `metiva_db::DbUrl`).
fn url_for_debug(url: &str) -> String {
    match metiva_db::DbUrl::parse(url) {
        Ok(u) => format!("{u:?}"),
        Err(_) => "<unparsable URL>".into(),
    }
}

/// Security: `Debug` shows no secret: database URLs without passwords,
/// keys only as present or absent.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded { data_dir } => f
                .debug_struct("Embedded")
                .field("data_dir", data_dir)
                .finish(),
            Self::External {
                app_url,
                migration_url,
                listen_url,
            } => f
                .debug_struct("External")
                .field("app_url", &url_for_debug(app_url))
                .field(
                    "migration_url",
                    &migration_url.as_deref().map(url_for_debug),
                )
                .field("listen_url", &listen_url.as_deref().map(url_for_debug))
                .finish(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| if v.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("Config")
            .field("mode", &self.mode)
            .field("app_addr", &self.app_addr)
            .field("login_addr", &self.login_addr)
            .field("database", &self.database)
            .field("app_url", &self.app_url)
            .field("login_url", &self.login_url)
            .field(
                "login_database_url",
                &self.login_database_url.as_deref().map(url_for_debug),
            )
            .field("encryption_key", &set(&self.encryption_key))
            .field("token_signing_key", &set(&self.token_signing_key))
            .field("token_public_key", &set(&self.token_public_key))
            .field(
                "retired_encryption_keys",
                &self.retired_encryption_keys.len(),
            )
            .field("region", &self.region)
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field("trusted_proxy_hops", &self.trusted_proxy_hops)
            .field("db_statement_cache", &self.db_statement_cache)
            .field("metrics_addr", &self.metrics_addr)
            .field("data_dir", &self.data_dir)
            // S3Settings' Debug redacts the secret access key.
            .field("object_store", &self.object_store)
            .finish_non_exhaustive()
    }
}

/// Checks a public base URL: http(s), a host, no path, query or trailing
/// slash, because redirect allow-lists compare against it verbatim.
pub fn check_base_url(name: &str, url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| anyhow::anyhow!("{name}={url:?} must start with http:// or https://"))?;
    if rest.is_empty()
        || rest.contains(['/', '?', '#', '@', ' '])
        || rest.chars().any(|c| c.is_control())
    {
        bail!(
            "{name}={url:?} must be a bare origin like https://app.metiva.example (no path, no trailing slash)"
        );
    }
    Ok(url.to_string())
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Variables holding a secret: each may be given as `NAME` or as
/// `NAME_FILE`, a path to a file holding the value (Docker and Kubernetes
/// secrets), so that secrets never have to be baked into an image or shown
/// by `docker inspect`.
pub const SECRET_VARS: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_MIGRATION_URL",
    "DATABASE_LISTEN_URL",
    "METIVA_LOGIN_DATABASE_URL",
    "METIVA_ENCRYPTION_KEY",
    "METIVA_ENCRYPTION_KEYS_RETIRED",
    "METIVA_TOKEN_SIGNING_KEY",
    // The object store's credentials (`file_store`).
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
];

/// A secret from `NAME` or `NAME_FILE` (see [`SECRET_VARS`]).
fn secret(name: &str) -> anyhow::Result<Option<String>> {
    secret_from(name, var, |path| std::fs::read_to_string(path))
}

/// [`secret`] over a given environment and file reader (for tests).
///
/// Security: both forms set is refused rather than one silently winning
/// (an operator rotating a secret must know which value is live); an
/// unreadable or empty file is an error naming the variable and the path,
/// never a fallback to no secret (fail closed), and the file's content is
/// never part of an error. One trailing line ending is what `echo` and
/// editors add, so trailing whitespace is trimmed.
fn secret_from(
    name: &str,
    env: impl Fn(&str) -> Option<String>,
    read: impl Fn(&str) -> std::io::Result<String>,
) -> anyhow::Result<Option<String>> {
    let file_var = format!("{name}_FILE");
    match (env(name), env(&file_var)) {
        (Some(_), Some(_)) => {
            bail!("{name} and {file_var} are both set; set only one of them")
        }
        (Some(value), None) => Ok(Some(value)),
        (None, None) => Ok(None),
        (None, Some(path)) => {
            let raw = read(&path)
                .map_err(|e| anyhow::anyhow!("{file_var}={path:?} cannot be read: {}", e.kind()))?;
            let value = raw.trim_end();
            if value.trim().is_empty() {
                bail!("{file_var}={path:?} is empty");
            }
            Ok(Some(value.to_string()))
        }
    }
}

fn addr(name: &str, default: &str) -> anyhow::Result<SocketAddr> {
    let raw = var(name).unwrap_or_else(|| default.to_string());
    SocketAddr::from_str(&raw)
        .with_context(|| format!("{name}={raw:?} is not an address like 127.0.0.1:3000"))
}

/// Checks that a URL is a well-formed PostgreSQL connection string with a
/// usable TLS setting (`sslmode`, a readable `sslrootcert`), so a typo is
/// reported as such rather than as an unreachable server.
pub fn check_database_url(name: &str, url: &str) -> anyhow::Result<()> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!("{name} must start with postgres:// or postgresql://");
    }
    metiva_db::DbUrl::parse(url)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("{name} is malformed: {e}"))
}

impl Config {
    /// A development configuration against an operator-provided database,
    /// with the default listen addresses and URLs and bcrypt cost 4: what
    /// the integration tests and benchmarks start from (override fields
    /// with struct-update syntax).
    #[cfg(any(test, feature = "test-support"))]
    pub fn local(app_db_url: &str) -> Self {
        let app_addr = SocketAddr::from(([127, 0, 0, 1], 3000));
        let login_addr = SocketAddr::from(([127, 0, 0, 1], 3001));
        Self {
            mode: Mode::Development,
            app_addr,
            login_addr,
            app_url: format!("http://{app_addr}"),
            login_url: format!("http://{login_addr}"),
            database: DatabaseConfig::External {
                app_url: app_db_url.to_string(),
                migration_url: None,
                listen_url: None,
            },
            site_root: "target/site".into(),
            encryption_key: None,
            region: None,
            token_signing_key: None,
            token_public_key: None,
            login_database_url: None,
            bcrypt_cost: 4,
            trusted_proxy_hops: 0,
            data_dir: std::env::temp_dir().join("metiva-local"),
            asn_dir: default_asn_dir(),
            retired_encryption_keys: Vec::new(),
            db_statement_cache: true,
            metrics_addr: None,
            // Tests and benchmarks send many events from one address.
            limits: crate::limits::LimitSettings::off(),
            object_store: crate::file_store::ObjectStoreConfig::default(),
        }
    }

    /// The pool settings this configuration asks for.
    pub fn pool_settings(&self) -> metiva_db::PoolSettings {
        metiva_db::PoolSettings {
            statement_cache: self.db_statement_cache,
            ..metiva_db::PoolSettings::default()
        }
    }

    /// Every external database URL, named by its variable.
    pub fn database_urls(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        if let DatabaseConfig::External {
            app_url,
            migration_url,
            listen_url,
        } = &self.database
        {
            out.push(("DATABASE_URL", app_url.as_str()));
            if let Some(u) = migration_url {
                out.push(("DATABASE_MIGRATION_URL", u.as_str()));
            }
            if let Some(u) = listen_url {
                out.push(("DATABASE_LISTEN_URL", u.as_str()));
            }
        }
        if let Some(u) = &self.login_database_url {
            out.push(("METIVA_LOGIN_DATABASE_URL", u.as_str()));
        }
        out
    }

    pub fn from_env() -> anyhow::Result<Self> {
        let mode = match var("METIVA_ENV").as_deref() {
            None | Some("development") => Mode::Development,
            Some("production") => Mode::Production,
            Some(other) => bail!("METIVA_ENV={other:?} must be development or production"),
        };
        let database = match secret("DATABASE_URL")? {
            Some(app_url) => {
                check_database_url("DATABASE_URL", &app_url)?;
                let migration_url = secret("DATABASE_MIGRATION_URL")?;
                if let Some(m) = &migration_url {
                    check_database_url("DATABASE_MIGRATION_URL", m)?;
                }
                let listen_url = secret("DATABASE_LISTEN_URL")?;
                if let Some(l) = &listen_url {
                    check_database_url("DATABASE_LISTEN_URL", l)?;
                }
                DatabaseConfig::External {
                    app_url,
                    migration_url,
                    listen_url,
                }
            }
            // Security: production never silently falls back to a local
            // database; it must be told where its data lives.
            None if mode == Mode::Production => {
                bail!(
                    "DATABASE_URL is required in production (the embedded database is for development)"
                )
            }
            None => DatabaseConfig::Embedded {
                data_dir: PathBuf::from(var("METIVA_DATA_DIR").unwrap_or_else(|| ".metiva".into())),
            },
        };
        let app_addr = addr("METIVA_APP_ADDR", "127.0.0.1:3000")?;
        let login_addr = addr("METIVA_LOGIN_ADDR", "127.0.0.1:3001")?;
        let app_url = check_base_url(
            "METIVA_APP_URL",
            &var("METIVA_APP_URL").unwrap_or_else(|| format!("http://{app_addr}")),
        )?;
        let login_url = check_base_url(
            "METIVA_LOGIN_URL",
            &var("METIVA_LOGIN_URL").unwrap_or_else(|| format!("http://{login_addr}")),
        )?;
        let bcrypt_cost = match var("METIVA_BCRYPT_COST") {
            None => metiva_security::password::PRODUCTION_COST,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|c| (4..=16).contains(c))
                .ok_or_else(|| {
                    anyhow::anyhow!("METIVA_BCRYPT_COST={v:?} must be a number from 4 to 16")
                })?,
        };
        // Security: production hashes at cost 12 or more; lower costs exist
        // for tests only.
        if mode == Mode::Production && bcrypt_cost < metiva_security::password::PRODUCTION_COST {
            bail!(
                "METIVA_BCRYPT_COST={bcrypt_cost} is for tests only; production uses at least 12"
            );
        }
        let trusted_proxy_hops = match var("METIVA_TRUSTED_PROXY_HOPS") {
            None => 0,
            Some(v) => v.parse::<usize>().ok().filter(|n| *n <= 5).ok_or_else(|| {
                anyhow::anyhow!("METIVA_TRUSTED_PROXY_HOPS={v:?} must be a number from 0 to 5")
            })?,
        };
        let db_statement_cache = match var("METIVA_DB_STATEMENT_CACHE").as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => bail!("METIVA_DB_STATEMENT_CACHE={other:?} must be on or off"),
        };
        let login_database_url = secret("METIVA_LOGIN_DATABASE_URL")?;
        if let Some(u) = &login_database_url {
            check_database_url("METIVA_LOGIN_DATABASE_URL", u)?;
        }
        let metrics_addr = metrics_addr(mode)?;
        let limits = crate::limits::LimitSettings::from_env(var)?;
        let object_store = crate::file_store::ObjectStoreConfig::from_env(mode, var, |name| {
            secret_from(name, var, |path| std::fs::read_to_string(path))
        })?;
        Ok(Self {
            object_store,
            metrics_addr,
            limits,
            mode,
            app_addr,
            login_addr,
            app_url,
            login_url,
            login_database_url,
            bcrypt_cost,
            trusted_proxy_hops,
            db_statement_cache,
            token_public_key: var("METIVA_TOKEN_PUBLIC_KEY"),
            data_dir: PathBuf::from(var("METIVA_DATA_DIR").unwrap_or_else(|| ".metiva".into())),
            asn_dir: default_asn_dir(),
            retired_encryption_keys: secret("METIVA_ENCRYPTION_KEYS_RETIRED")?
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            database,
            site_root: var("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            encryption_key: secret("METIVA_ENCRYPTION_KEY")?,
            region: var("METIVA_REGION"),
            token_signing_key: secret("METIVA_TOKEN_SIGNING_KEY")?,
        })
    }
}

/// `METIVA_METRICS_ADDR` (`off` disables it). Development: off unless
/// set; production: 127.0.0.1:9464 unless set.
///
/// # Security
/// `/metrics` has no authentication; it names routes and counts, never
/// data, but still maps the system. A non-loopback address is refused
/// unless `METIVA_METRICS_PUBLIC=1` says the operator meant it (a
/// container's metrics port behind the orchestrator's network).
fn metrics_addr(mode: Mode) -> anyhow::Result<Option<SocketAddr>> {
    let default = (mode == Mode::Production).then_some("127.0.0.1:9464");
    let raw = match var("METIVA_METRICS_ADDR") {
        Some(v) if v.trim() == "off" => return Ok(None),
        Some(v) => v,
        None => match default {
            Some(d) => d.to_string(),
            None => return Ok(None),
        },
    };
    let addr = SocketAddr::from_str(raw.trim()).with_context(|| {
        format!("METIVA_METRICS_ADDR={raw:?} is not an address like 127.0.0.1:9464 (or off)")
    })?;
    let public = match var("METIVA_METRICS_PUBLIC").as_deref() {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => bail!("METIVA_METRICS_PUBLIC={other:?} must be 1 or 0"),
    };
    if !addr.ip().is_loopback() && !public {
        bail!(
            "METIVA_METRICS_ADDR={addr} is not a loopback address; /metrics has no sign-in, so set METIVA_METRICS_PUBLIC=1 if it should be reachable beyond this host"
        );
    }
    Ok(Some(addr))
}

/// `METIVA_ASN_DIR`, else the npm package in the working directory or
/// its parents (the repository root during development and tests).
fn default_asn_dir() -> Option<PathBuf> {
    if let Some(dir) = var("METIVA_ASN_DIR") {
        return Some(PathBuf::from(dir));
    }
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .take(4)
        .map(|d| d.join("node_modules/@ip-location-db/asn"))
        .find(|d| d.join("asn-ipv4-num.csv").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_bare_origins() {
        assert!(check_base_url("X", "http://127.0.0.1:3000").is_ok());
        assert!(check_base_url("X", "https://app.metiva.example").is_ok());
        for bad in [
            "127.0.0.1:3000",
            "http://127.0.0.1:3000/",
            "http://a/b",
            "http://a?x",
            "http://user@evil",
            "ftp://a",
            "http://",
        ] {
            assert!(check_base_url("X", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let c = Config {
            encryption_key: Some("c2VjcmV0LWVuY3J5cHRpb24ta2V5LWJ5dGVzLTMyISE=".into()),
            token_signing_key: Some("c2lnbmluZy1zZWVkLWJ5dGVzLTMyLWxvbmctZW5vdWdoIQ==".into()),
            login_database_url: Some("postgres://metiva_login:hunter3@db.example/metiva".into()),
            ..Config::local("postgres://metiva_app:hunter2@db.example/metiva?sslmode=require")
        };
        let shown = format!("{c:?}");
        for secret in ["hunter2", "hunter3", "c2VjcmV0", "c2lnbmluZy"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("db.example") && shown.contains("<set>"),
            "{shown}"
        );
    }

    /// `secret_from` over a fixed environment and a fake file system.
    fn secret_with(env: &[(&str, &str)], files: &[(&str, &str)]) -> anyhow::Result<Option<String>> {
        let env: std::collections::HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let files: std::collections::HashMap<String, String> = files
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        secret_from(
            "METIVA_ENCRYPTION_KEY",
            |n| env.get(n).cloned().filter(|v| !v.trim().is_empty()),
            |p| {
                files.get(p).cloned().ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")
                })
            },
        )
    }

    #[test]
    fn secrets_come_from_the_variable_or_its_file() {
        assert_eq!(
            secret_with(&[("METIVA_ENCRYPTION_KEY", "k1")], &[]).unwrap(),
            Some("k1".into())
        );
        assert_eq!(secret_with(&[], &[]).unwrap(), None);
        // A file's trailing newline (echo, editors) is trimmed.
        assert_eq!(
            secret_with(
                &[("METIVA_ENCRYPTION_KEY_FILE", "/run/secrets/key")],
                &[("/run/secrets/key", "a2V5\r\n")]
            )
            .unwrap(),
            Some("a2V5".into())
        );
    }

    #[test]
    fn secret_and_its_file_together_are_refused() {
        let err = secret_with(
            &[
                ("METIVA_ENCRYPTION_KEY", "k1"),
                ("METIVA_ENCRYPTION_KEY_FILE", "/run/secrets/key"),
            ],
            &[("/run/secrets/key", "k2")],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("METIVA_ENCRYPTION_KEY and METIVA_ENCRYPTION_KEY_FILE are both set"),
            "{err}"
        );
    }

    #[test]
    fn unreadable_or_empty_secret_file_is_a_clear_error() {
        let err = secret_with(
            &[("METIVA_ENCRYPTION_KEY_FILE", "/run/secrets/missing")],
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("METIVA_ENCRYPTION_KEY_FILE=\"/run/secrets/missing\" cannot be read"),
            "{err}"
        );
        let err = secret_with(
            &[("METIVA_ENCRYPTION_KEY_FILE", "/run/secrets/key")],
            &[("/run/secrets/key", " \n")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("is empty"), "{err}");
        // The real reader: a path that does not exist.
        let err = secret_from(
            "X",
            |n| (n == "X_FILE").then(|| "/nonexistent/metiva-secret".to_string()),
            |p| std::fs::read_to_string(p),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("X_FILE") && err.contains("cannot be read"),
            "{err}"
        );
    }

    #[test]
    fn secret_file_content_is_never_in_an_error() {
        let env = |n: &str| (n == "X_FILE").then(|| "/s".to_string());
        // The file reads, but the value is refused later by its parser;
        // here only the reading is checked not to echo content.
        let err = secret_from("X", env, |_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8: hunter2",
            ))
        })
        .unwrap_err()
        .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn database_urls_are_checked() {
        assert!(check_database_url("DATABASE_URL", "postgres://app@localhost/metiva").is_ok());
        assert!(check_database_url("DATABASE_URL", "mysql://x").is_err());
        assert!(
            check_database_url("DATABASE_URL", "postgres://app@localhost:notaport/db").is_err()
        );
    }
}
