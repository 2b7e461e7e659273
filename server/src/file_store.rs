//! Where files live (issue 17), from the environment:
//!
//! - `METIVA_OBJECT_STORE`: `local` (the default: `<data dir>/files`),
//!   `s3`, or `s3://bucket/prefix` (the bucket and key prefix in one);
//! - `METIVA_S3_BUCKET`, `METIVA_S3_PREFIX` (with `s3`);
//! - `METIVA_S3_REGION` (default `eu-central-1`);
//! - `METIVA_S3_ENDPOINT`: an S3-compatible service's https URL
//!   (Scaleway, OVH, MinIO, …); unset for AWS itself;
//! - `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, each also as `*_FILE`;
//! - `METIVA_S3_REGION_IS_EU=1`: the operator vouches that a region name
//!   not on our list is in the EU (a MinIO in an EU data centre calls
//!   itself `us-east-1`);
//! - `METIVA_FILES_ALLOW_LOCAL=1`: production may keep files on the local
//!   filesystem (the data directory is durable, backed-up storage).
//!
//! # Security
//! - Production refuses the local filesystem unless allowed: invoice PDFs
//!   are fiscal records, and a container's disk is gone with it (fail
//!   closed at startup rather than lose them later).
//! - Production refuses a region outside the EU unless the operator
//!   vouches for it: the product promises EU data residency. Development
//!   only warns (a local MinIO says `us-east-1`).
//! - Credentials come only from the variables above (no instance
//!   metadata or credentials file); both are required together.

use anyhow::{Context as _, bail};
use metiva_db::files::FileStore;
use metiva_db::object_s3::S3Settings;

use crate::checks::{Check, EU_REGIONS, Outcome};
use crate::config::{Config, Mode};

/// S3-compatible providers' EU region names (besides AWS's, in
/// [`EU_REGIONS`]): Scaleway, OVHcloud, Hetzner, Exoscale, IONOS.
const EU_S3_REGIONS: &[&str] = &[
    "fr-par",
    "nl-ams",
    "pl-waw",
    "gra",
    "sbg",
    "rbx",
    "de",
    "waw",
    "fsn1",
    "nbg1",
    "hel1",
    "ch-gva-2",
    "de-fra-1",
    "de-muc-1",
    "at-vie-1",
    "eu-central-3",
];

/// The default region: Frankfurt.
pub const DEFAULT_REGION: &str = "eu-central-1";

/// The object store the configuration names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectStoreConfig {
    /// `<data dir>/files`; `allowed_in_production` is
    /// `METIVA_FILES_ALLOW_LOCAL=1`.
    Local {
        allowed_in_production: bool,
    },
    S3(S3Settings),
}

impl Default for ObjectStoreConfig {
    fn default() -> Self {
        Self::Local {
            allowed_in_production: false,
        }
    }
}

/// Whether a region is one we know to be in the EU.
pub fn is_eu_region(region: &str) -> bool {
    EU_REGIONS.contains(&region) || EU_S3_REGIONS.contains(&region)
}

impl ObjectStoreConfig {
    /// From the environment: `env` reads a variable, `secret` a secret
    /// (`NAME` or `NAME_FILE`, see `config::secret_from`).
    pub fn from_env(
        mode: Mode,
        env: impl Fn(&str) -> Option<String>,
        secret: impl Fn(&str) -> anyhow::Result<Option<String>>,
    ) -> anyhow::Result<Self> {
        let flag = |name: &str| -> anyhow::Result<bool> {
            match env(name).as_deref().map(str::trim) {
                None | Some("0") => Ok(false),
                Some("1") => Ok(true),
                Some(other) => {
                    bail!("{name}={other:?} is not understood: set {name}=1, or leave it unset")
                }
            }
        };
        let kind = env("METIVA_OBJECT_STORE").unwrap_or_else(|| "local".into());
        let kind = kind.trim();
        let (bucket, prefix) = match kind {
            // Production's refusal is [`file_store`]'s, when files are
            // used (serve, the worker, `metiva check`): `migrate` and the
            // other commands need no file store.
            "local" => {
                return Ok(Self::Local {
                    allowed_in_production: flag("METIVA_FILES_ALLOW_LOCAL")?,
                });
            }
            "s3" => (
                env("METIVA_S3_BUCKET").context("METIVA_OBJECT_STORE=s3 needs METIVA_S3_BUCKET")?,
                env("METIVA_S3_PREFIX").unwrap_or_default(),
            ),
            url if url.starts_with("s3://") => {
                let rest = url.trim_start_matches("s3://");
                let (b, p) = rest.split_once('/').unwrap_or((rest, ""));
                if env("METIVA_S3_BUCKET").is_some() {
                    bail!("METIVA_OBJECT_STORE={url:?} names the bucket; unset METIVA_S3_BUCKET");
                }
                (b.to_string(), p.to_string())
            }
            other => bail!("METIVA_OBJECT_STORE={other:?} must be local, s3 or s3://bucket/prefix"),
        };
        let bucket = bucket.trim().to_string();
        // S3's bucket naming rules, so a typo is reported as such.
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.');
        if !valid_bucket {
            bail!(
                "the S3 bucket {bucket:?} is not a valid bucket name (3-63 of a-z, 0-9, '-', '.')"
            );
        }
        let prefix = prefix.trim().trim_matches('/').to_string();
        if prefix.split('/').any(|s| s == "." || s == "..") {
            bail!("the S3 prefix {prefix:?} may not contain . or .. segments");
        }
        let region = env("METIVA_S3_REGION").unwrap_or_else(|| DEFAULT_REGION.into());
        let region = region.trim().to_string();
        if !is_eu_region(&region) && !flag("METIVA_S3_REGION_IS_EU")? {
            if mode == Mode::Production {
                bail!(
                    "METIVA_S3_REGION {region:?} is not a known EU region; files stay in the EU \
                     (set METIVA_S3_REGION_IS_EU=1 if this region is in the EU)"
                );
            }
            tracing::warn!(%region, "METIVA_S3_REGION is not a known EU region (refused in production)");
        }
        let access_key_id = secret("AWS_ACCESS_KEY_ID")?;
        let secret_access_key = secret("AWS_SECRET_ACCESS_KEY")?;
        let (Some(access_key_id), Some(secret_access_key)) = (access_key_id, secret_access_key)
        else {
            bail!(
                "METIVA_OBJECT_STORE=s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or their _FILE forms)"
            );
        };
        let settings = S3Settings {
            bucket,
            prefix,
            region,
            endpoint: env("METIVA_S3_ENDPOINT").map(|e| e.trim().to_string()),
            access_key_id,
            secret_access_key,
        };
        // Checks the endpoint's scheme and the rest now, not at first use.
        settings
            .build()
            .map_err(|e| anyhow::anyhow!("the object store: {e}"))?;
        Ok(Self::S3(settings))
    }

    /// One line saying where files live (no secret).
    pub fn describe(&self, config: &Config) -> String {
        match self {
            Self::Local { .. } => format!(
                "the local filesystem under {}",
                config.data_dir.join("files").display()
            ),
            Self::S3(s) => s.describe(),
        }
    }
}

/// The configured store. Production's refusal of the local filesystem
/// was decided when the configuration was read; it is checked again here
/// so a configuration built another way cannot skip it.
pub fn file_store(config: &Config) -> anyhow::Result<FileStore> {
    match &config.object_store {
        ObjectStoreConfig::Local {
            allowed_in_production,
        } => {
            if config.mode == Mode::Production && !allowed_in_production {
                bail!(
                    "production keeps files in an S3-compatible bucket (METIVA_OBJECT_STORE=s3 with METIVA_S3_BUCKET), \
                     or on the local filesystem only with METIVA_FILES_ALLOW_LOCAL=1 (the data directory must be durable and backed up)"
                );
            }
            FileStore::local(&config.data_dir).map_err(|e| anyhow::anyhow!("the file store: {e}"))
        }
        ObjectStoreConfig::S3(s) => {
            FileStore::s3(s).map_err(|e| anyhow::anyhow!("the object store: {e}"))
        }
    }
}

/// The store for the routers: the configured one, or one that refuses
/// every use if it does not build (serving checked it at startup).
pub fn router_store(config: &Config) -> FileStore {
    file_store(config).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the object store is unusable");
        FileStore::unusable(format!("{e:#}"))
    })
}

/// `metiva check`'s line: where files live, and that the store answers
/// with these credentials.
pub async fn check(config: &Config) -> Check {
    let what = config.object_store.describe(config);
    let store = match file_store(config) {
        Ok(s) => s,
        Err(e) => {
            return Check {
                outcome: Outcome::Fail,
                line: format!("object store: {e:#}"),
            };
        }
    };
    match store.probe().await {
        Ok(()) => Check {
            outcome: Outcome::Pass,
            line: format!("object store: {what}, reachable"),
        },
        Err(e) => Check {
            outcome: Outcome::Fail,
            line: format!("object store: {what}: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(mode: Mode, vars: &[(&str, &str)]) -> anyhow::Result<ObjectStoreConfig> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |n: &str| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        ObjectStoreConfig::from_env(mode, get, |n| Ok(get(n)))
    }

    const CREDS: [(&str, &str); 2] = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ];

    #[test]
    fn production_refuses_the_local_filesystem_unless_allowed() {
        let prod = |object_store| crate::config::Config {
            mode: Mode::Production,
            object_store,
            data_dir: std::env::temp_dir().join("metiva-file-store-unit"),
            ..crate::config::Config::local("postgres://unused")
        };
        let local = parse(Mode::Production, &[]).unwrap();
        let err = file_store(&prod(local)).unwrap_err().to_string();
        assert!(err.contains("METIVA_FILES_ALLOW_LOCAL=1"), "{err}");
        assert!(err.contains("METIVA_OBJECT_STORE=s3"), "{err}");
        let allowed = parse(Mode::Production, &[("METIVA_FILES_ALLOW_LOCAL", "1")]).unwrap();
        assert_eq!(
            allowed,
            ObjectStoreConfig::Local {
                allowed_in_production: true
            }
        );
        assert!(file_store(&prod(allowed)).is_ok());
        let err = parse(Mode::Production, &[("METIVA_FILES_ALLOW_LOCAL", "yes")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("METIVA_FILES_ALLOW_LOCAL=1"), "{err}");
        // Development keeps files locally without asking.
        let dev = crate::config::Config::local("postgres://unused");
        assert!(file_store(&dev).is_ok());
    }

    #[test]
    fn s3_from_the_environment() {
        let mut vars = vec![
            ("METIVA_OBJECT_STORE", "s3://metiva-files/prod/eu"),
            ("METIVA_S3_ENDPOINT", "https://s3.fr-par.scw.cloud"),
            ("METIVA_S3_REGION", "fr-par"),
        ];
        vars.extend(CREDS);
        let ObjectStoreConfig::S3(s) = parse(Mode::Production, &vars).unwrap() else {
            panic!("not S3");
        };
        assert_eq!(
            (s.bucket.as_str(), s.prefix.as_str()),
            ("metiva-files", "prod/eu")
        );
        assert_eq!(s.region, "fr-par");
        // Debug never shows the secret.
        assert!(!format!("{s:?}").contains("secret\""), "{s:?}");
        // The default region is Frankfurt.
        let mut vars = vec![("METIVA_OBJECT_STORE", "s3"), ("METIVA_S3_BUCKET", "b-1")];
        vars.extend(CREDS);
        let ObjectStoreConfig::S3(s) = parse(Mode::Production, &vars).unwrap() else {
            panic!("not S3");
        };
        assert_eq!(s.region, DEFAULT_REGION);
    }

    #[test]
    fn s3_refusals_name_what_is_wrong() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = vec![
                ("METIVA_OBJECT_STORE", "s3"),
                ("METIVA_S3_BUCKET", "metiva"),
            ];
            v.extend(CREDS);
            v.extend_from_slice(extra);
            parse(Mode::Production, &v)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        let err = with(&[("METIVA_S3_REGION", "us-east-1")]).unwrap_err();
        assert!(err.contains("not a known EU region"), "{err}");
        assert!(
            with(&[
                ("METIVA_S3_REGION", "us-east-1"),
                ("METIVA_S3_REGION_IS_EU", "1")
            ])
            .is_ok()
        );
        let err = with(&[("METIVA_S3_ENDPOINT", "http://minio.internal:9000")]).unwrap_err();
        assert!(err.contains("must use https"), "{err}");
        assert!(with(&[("METIVA_S3_ENDPOINT", "http://127.0.0.1:9000")]).is_ok());
        let err = parse(
            Mode::Production,
            &[
                ("METIVA_OBJECT_STORE", "s3"),
                ("METIVA_S3_BUCKET", "metiva"),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("AWS_SECRET_ACCESS_KEY"), "{err}");
        let err = parse(Mode::Production, &[("METIVA_OBJECT_STORE", "s3")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("METIVA_S3_BUCKET"), "{err}");
        let err = parse(
            Mode::Development,
            &[("METIVA_OBJECT_STORE", "s3://Bad_Bucket")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not a valid bucket name"), "{err}");
        let err = parse(Mode::Development, &[("METIVA_OBJECT_STORE", "gcs")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be local, s3"), "{err}");
    }
}
