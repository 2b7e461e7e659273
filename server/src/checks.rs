//! Fail-closed startup checks, and `metiva check`.
//!
//! # Security
//! Every mode refuses to serve when the runtime role could bypass RLS
//! (superuser, BYPASSRLS, owner of a tenant table or a member of its owner)
//! or when the catalog lint finds any tenant table without ENABLE + FORCE
//! RLS and a restrictive tenant policy. Production also refuses a missing
//! or malformed encryption key and a region outside the EU. There is no
//! override flag: the unsafe configuration cannot serve.

use base64::Engine as _;
use metiva_db::Database;

use crate::config::{Config, Mode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    /// Not required in this mode (development).
    Skip,
}

/// One line of `metiva check`.
#[derive(Debug, Clone)]
pub struct Check {
    pub outcome: Outcome,
    pub line: String,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tag = match self.outcome {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "SKIP",
        };
        write!(f, "{tag}  {}", self.line)
    }
}

fn check(ok: bool, pass: String, fail: String) -> Check {
    if ok {
        Check {
            outcome: Outcome::Pass,
            line: pass,
        }
    } else {
        Check {
            outcome: Outcome::Fail,
            line: fail,
        }
    }
}

/// EU data regions we accept (AWS, which Neon runs on, plus the common
/// names of the other clouds). Switzerland, the UK and Norway are not in
/// the EU, so eu-central-2 (Zurich) and eu-west-2 (London) are not here.
pub const EU_REGIONS: &[&str] = &[
    "eu-central-1",
    "eu-west-1",
    "eu-west-3",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "aws-eu-central-1",
    "aws-eu-west-1",
    "aws-eu-west-3",
    "aws-eu-north-1",
    "westeurope",
    "northeurope",
    "germanywestcentral",
    "francecentral",
    "swedencentral",
    "italynorth",
    "europe-west1",
    "europe-west3",
    "europe-west4",
    "europe-west8",
    "europe-west9",
    "europe-north1",
    "europe-southwest1",
    "europe-central2",
];

/// A key that must be base64 of exactly 32 bytes in production.
fn key_check(production: bool, name: &str, value: Option<&str>, what: &str) -> Check {
    let decoded = value.map(|k| {
        base64::engine::general_purpose::STANDARD
            .decode(k.trim())
            .map(|bytes| bytes.len())
    });
    match (production, decoded) {
        (_, Some(Ok(32))) => check(
            true,
            format!("{name} is 32 bytes of base64 ({what})"),
            String::new(),
        ),
        (true, None) => check(
            false,
            String::new(),
            format!("{name} is missing (base64 of 32 bytes; `metiva keygen` prints one)"),
        ),
        (true, Some(Ok(n))) => check(
            false,
            String::new(),
            format!("{name} decodes to {n} bytes, not 32"),
        ),
        (true, Some(Err(_))) => check(false, String::new(), format!("{name} is not valid base64")),
        (false, _) => Check {
            outcome: Outcome::Skip,
            line: format!(
                "{name} not required in development (local keys are generated and the app says so)"
            ),
        },
    }
}

/// Checks of the configuration alone.
pub fn config_checks(config: &Config) -> Vec<Check> {
    let production = config.mode == Mode::Production;
    let mut out = Vec::new();
    out.push(key_check(
        production,
        "METIVA_ENCRYPTION_KEY",
        config.encryption_key.as_deref(),
        "field encryption",
    ));
    out.push(key_check(
        production,
        "METIVA_TOKEN_SIGNING_KEY",
        config.token_signing_key.as_deref(),
        "the login service's Ed25519 seed",
    ));
    // Security: tokens and session cookies travel only over TLS in
    // production (`__Host-` cookies require it anyway).
    let https = config.app_url.starts_with("https://") && config.login_url.starts_with("https://");
    out.push(match (production, https) {
        (_, true) => check(
            true,
            "METIVA_APP_URL and METIVA_LOGIN_URL use https".into(),
            String::new(),
        ),
        (true, false) => check(
            false,
            String::new(),
            format!(
                "METIVA_APP_URL ({}) and METIVA_LOGIN_URL ({}) must use https in production",
                config.app_url, config.login_url
            ),
        ),
        (false, false) => Check {
            outcome: Outcome::Skip,
            line: "plain http allowed in development (cookies drop the __Host- prefix and Secure)"
                .into(),
        },
    });
    out.push(database_tls_check(config));
    // Metrics exposure: where /metrics listens (loopback unless the
    // operator opted in; `config` refuses anything else), said plainly.
    out.push(Check {
        outcome: if config.metrics_addr.is_some() {
            Outcome::Pass
        } else {
            Outcome::Skip
        },
        line: crate::metrics::exposure(config.metrics_addr),
    });
    let region = config.region.as_deref();
    out.push(match (production, region) {
        (_, Some(r)) if EU_REGIONS.contains(&r) => check(
            true,
            format!("METIVA_REGION {r} is in the EU"),
            String::new(),
        ),
        (true, Some(r)) => check(
            false,
            String::new(),
            format!("METIVA_REGION {r:?} is not a known EU region"),
        ),
        (true, None) => check(
            false,
            String::new(),
            "METIVA_REGION is missing (it must name an EU region, e.g. eu-central-1)".into(),
        ),
        (false, r) => Check {
            outcome: Outcome::Skip,
            line: format!(
                "METIVA_REGION not enforced in development ({})",
                r.unwrap_or("unset")
            ),
        },
    });
    out
}

/// Security: production reaches a database on another machine only over
/// TLS that authenticates the server (`sslmode=verify-full`): anything less
/// can be read, or impersonated, on the way.
fn database_tls_check(config: &Config) -> Check {
    let production = config.mode == Mode::Production;
    let mut weak = Vec::new();
    let mut modes = Vec::new();
    for (name, url) in config.database_urls() {
        match metiva_db::DbUrl::parse(url) {
            Ok(u) => {
                modes.push(format!("{name} sslmode={}", u.ssl_mode().as_str()));
                if let Some(why) = u.production_refusal() {
                    weak.push(why.replacen("DATABASE_URL", name, 1));
                }
            }
            Err(e) => weak.push(format!("{name}: {e}")),
        }
    }
    if modes.is_empty() && weak.is_empty() {
        return Check {
            outcome: Outcome::Skip,
            line: "database TLS: the embedded database listens on a private Unix socket only"
                .into(),
        };
    }
    match (weak.first(), production) {
        (None, _) => check(
            true,
            format!("database TLS: {}", modes.join(", ")),
            String::new(),
        ),
        (Some(why), true) => check(false, String::new(), why.clone()),
        (Some(why), false) => Check {
            outcome: Outcome::Skip,
            line: format!("database TLS not enforced in development: {why}"),
        },
    }
}

/// Checks of the live database, as the runtime role: its posture, then
/// the catalog lint.
pub async fn database_checks(db: &Database) -> anyhow::Result<Vec<Check>> {
    let mut out = role_checks(db).await?;
    let (findings, tables) = db.lint_catalog().await?;
    if findings.is_empty() {
        out.push(check(
            true,
            format!("{tables} tenant tables: RLS enabled and forced, restrictive tenant policies, catalog lint clean"),
            String::new(),
        ));
    }
    for f in findings {
        out.push(check(false, String::new(), format!("catalog lint: {f}")));
    }
    Ok(out)
}

/// `metiva check` only (never a reason for `serve` to refuse): the token
/// signing key's age, failing past 90 days so an operator's check run
/// says to rotate.
pub async fn signing_key_check(db: &Database) -> Check {
    use metiva_db::signing_keys::KeyState;
    let keys = match db.signing_keys_public().await {
        Ok(k) => k,
        Err(e) => {
            return check(
                false,
                String::new(),
                format!("token signing keys: cannot read them: {e}"),
            );
        }
    };
    let Some(current) = keys.iter().find(|k| k.state == KeyState::Current) else {
        return check(
            true,
            "token signing key: from METIVA_TOKEN_SIGNING_KEY, not rotated yet (its age is not recorded; metiva keys rotate-signing)".into(),
            String::new(),
        );
    };
    let days = current.age(chrono::Utc::now()).num_days().max(0);
    let next = keys
        .iter()
        .find(|k| k.state == KeyState::Next)
        .map_or("none", |k| k.public.kid.as_str());
    check(
        days < crate::signing_keys::AGE_WARNING_DAYS,
        format!(
            "token signing key {}: {days} days old (next {next} published)",
            current.public.kid
        ),
        format!(
            "token signing key {} is {days} days old (over {}): rotate it with metiva keys rotate-signing",
            current.public.kid,
            crate::signing_keys::AGE_WARNING_DAYS
        ),
    )
}

/// Refuses when the role behind `db` could bypass RLS (used for the login
/// service's role; the app role gets the full [`refuse_unsafe`]).
pub async fn refuse_unsafe_role(db: &Database) -> anyhow::Result<()> {
    match role_checks(db)
        .await?
        .into_iter()
        .find(|c| c.outcome == Outcome::Fail)
    {
        Some(failed) => anyhow::bail!("refusing to serve: {}", failed.line),
        None => Ok(()),
    }
}

/// Whether the role behind `db` could bypass RLS.
pub async fn role_checks(db: &Database) -> anyhow::Result<Vec<Check>> {
    let posture = db.read_role_posture().await?;
    let mut out = vec![
        check(
            !posture.superuser,
            format!("runtime role {} is not a superuser", posture.role),
            format!(
                "runtime role {} is a superuser (RLS does not apply to it)",
                posture.role
            ),
        ),
        check(
            !posture.bypass_rls,
            format!("runtime role {} does not have BYPASSRLS", posture.role),
            format!("runtime role {} has BYPASSRLS", posture.role),
        ),
        check(
            posture.owned_tenant_tables.is_empty(),
            format!("runtime role {} owns no tenant table", posture.role),
            format!(
                "runtime role {} owns (or can act as the owner of) tenant tables: {}",
                posture.role,
                posture.owned_tenant_tables.join(", ")
            ),
        ),
    ];
    out.push(check(
        posture.privileged_memberships.is_empty(),
        format!(
            "runtime role {} cannot SET ROLE to a superuser or BYPASSRLS role",
            posture.role
        ),
        format!(
            "runtime role {} is a member of roles that bypass RLS: {}",
            posture.role,
            posture.privileged_memberships.join(", ")
        ),
    ));
    Ok(out)
}

/// Runs every check; the first failure refuses startup with one line.
pub async fn refuse_unsafe(config: &Config, db: &Database) -> anyhow::Result<()> {
    let mut all = config_checks(config);
    all.extend(database_checks(db).await?);
    match all.into_iter().find(|c| c.outcome == Outcome::Fail) {
        Some(failed) => anyhow::bail!("refusing to serve: {}", failed.line),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseConfig;

    fn config(mode: Mode, key: Option<&str>, region: Option<&str>) -> Config {
        Config {
            mode,
            app_addr: "127.0.0.1:0".parse().unwrap(),
            login_addr: "127.0.0.1:0".parse().unwrap(),
            database: DatabaseConfig::Embedded {
                data_dir: ".metiva".into(),
            },
            site_root: "target/site".into(),
            encryption_key: key.map(String::from),
            region: region.map(String::from),
            token_signing_key: Some(GOOD_KEY.into()),
            token_public_key: None,
            app_url: "https://app.metiva.example".into(),
            login_url: "https://login.metiva.example".into(),
            login_database_url: None,
            bcrypt_cost: 12,
            trusted_proxy_hops: 0,
            data_dir: ".metiva".into(),
            asn_dir: None,
            retired_encryption_keys: Vec::new(),
            db_statement_cache: true,
            metrics_addr: Some("127.0.0.1:9464".parse().unwrap()),
            limits: crate::limits::LimitSettings::default(),
            object_store: crate::file_store::ObjectStoreConfig::default(),
        }
    }

    fn failures(c: &Config) -> Vec<String> {
        config_checks(c)
            .into_iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .map(|c| c.line)
            .collect()
    }

    const GOOD_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes

    #[test]
    fn production_needs_a_32_byte_key_and_an_eu_region() {
        assert!(
            failures(&config(
                Mode::Production,
                Some(GOOD_KEY),
                Some("eu-central-1")
            ))
            .is_empty()
        );
        let f = failures(&config(Mode::Production, None, Some("eu-central-1")));
        assert!(f[0].contains("METIVA_ENCRYPTION_KEY is missing"), "{f:?}");
        let f = failures(&config(
            Mode::Production,
            Some("c2hvcnQ="),
            Some("eu-west-1"),
        ));
        assert!(f[0].contains("decodes to 5 bytes"), "{f:?}");
        let f = failures(&config(Mode::Production, Some("!!!"), Some("eu-west-1")));
        assert!(f[0].contains("not valid base64"), "{f:?}");
        let f = failures(&config(Mode::Production, Some(GOOD_KEY), Some("us-east-1")));
        assert!(f[0].contains("not a known EU region"), "{f:?}");
        let mut no_signing_key = config(Mode::Production, Some(GOOD_KEY), Some("eu-west-1"));
        no_signing_key.token_signing_key = None;
        let f = failures(&no_signing_key);
        assert!(
            f[0].contains("METIVA_TOKEN_SIGNING_KEY is missing"),
            "{f:?}"
        );
        let f = failures(&config(Mode::Production, Some(GOOD_KEY), Some("eu-west-2")));
        assert!(
            f[0].contains("not a known EU region"),
            "London is not in the EU: {f:?}"
        );
        let f = failures(&config(Mode::Production, Some(GOOD_KEY), None));
        assert!(f[0].contains("METIVA_REGION is missing"), "{f:?}");
    }

    /// One line, and a refusal in production, for a remote database
    /// reached with less than `verify-full`; loopback and the embedded
    /// socket pass.
    #[test]
    fn production_needs_verify_full_for_a_remote_database() {
        let with_db = |mode: Mode, url: &str| Config {
            database: DatabaseConfig::External {
                app_url: url.into(),
                migration_url: None,
                listen_url: None,
            },
            ..config(mode, Some(GOOD_KEY), Some("eu-west-1"))
        };
        let remote = "postgres://metiva_app@db.example.eu/metiva?sslmode=require";
        let f = failures(&with_db(Mode::Production, remote));
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].contains("sslmode=require") && f[0].contains("verify-full"),
            "{f:?}"
        );
        assert!(
            failures(&with_db(
                Mode::Production,
                "postgres://metiva_app@db.example.eu/metiva"
            ))
            .len()
                == 1
        );
        assert!(failures(&with_db(Mode::Development, remote)).is_empty());
        assert!(
            failures(&with_db(
                Mode::Production,
                "postgres://metiva_app@127.0.0.1/metiva?sslmode=disable"
            ))
            .is_empty()
        );
        assert!(failures(&config(Mode::Production, Some(GOOD_KEY), Some("eu-west-1"))).is_empty());
    }

    #[test]
    fn development_skips_the_production_only_checks() {
        assert!(failures(&config(Mode::Development, None, None)).is_empty());
    }
}
