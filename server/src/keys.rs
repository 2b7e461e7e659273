//! The keys a process holds: the login service's token signing key, the
//! dashboard's verification keys, and the server-side hashing key.
//!
//! # Security
//! - Production takes every key from the environment; `checks` refuses a
//!   missing or malformed one before anything serves.
//! - Development with no keys generates them once into
//!   `METIVA_DATA_DIR/dev-keys.env` (mode 0600) so that separately started
//!   services agree, and says so loudly at every start.
//! - The dashboard is given only public keys: with `serve --only app` it
//!   needs `METIVA_TOKEN_PUBLIC_KEY` (or the signing key in development).

use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use metiva_security::token::{PublicKey, TokenSigner};

use crate::config::{Config, Mode};

/// Keys for one process.
#[derive(Clone)]
pub struct Keys {
    /// Present only where the login service runs.
    pub signer: Option<Arc<TokenSigner>>,
    /// What the dashboard verifies with.
    pub public: Vec<PublicKey>,
    /// Server-side key for fingerprints (throttle keys): an HKDF subkey of
    /// the encryption key, never the key or a plain hash of it.
    pub hash_key: [u8; 32],
    /// True when development keys were generated locally.
    pub generated: bool,
    /// The encryption key's id (a fingerprint, never the key), shown on
    /// the security page and stored with every ciphertext.
    pub encryption_key_id: String,
    /// The field cipher, with the encryption key active under that id.
    pub field_keys: Arc<metiva_security::cipher::KeyRing>,
}

/// The field cipher's ring: retired keys (opening old values only), then
/// the active key (sealing new values). Rotation: make a new key active
/// and list the previous one as retired; old ciphertexts name their key id
/// and stay readable.
fn key_ring(retired: &[[u8; 32]], key: &[u8; 32]) -> Arc<metiva_security::cipher::KeyRing> {
    let mut ring = metiva_security::cipher::KeyRing::new();
    // The last one added is active.
    for old in retired.iter().filter(|k| *k != key) {
        ring.rotate_in_key(&key_id(old), old);
    }
    ring.rotate_in_key(&key_id(key), key);
    Arc::new(ring)
}

/// The fingerprint subkey of the encryption key (see [`Keys::hash_key`]).
fn fingerprint_key(encryption_key: &[u8; 32]) -> [u8; 32] {
    metiva_security::secret::derive_subkey(encryption_key, "metiva fingerprint key v1")
}

/// `k-` and the first four bytes of the key's SHA-256, in hex.
fn key_id(key: &[u8; 32]) -> String {
    let d = metiva_security::secret::sha256(key);
    format!("k-{}", hex::encode(d.get(..4).unwrap_or_default()))
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("public", &self.public)
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

fn decode32(name: &str, v: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = B64
        .decode(v.trim())
        .map_err(|_| anyhow!("{name} is not valid base64"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow!("{name} decodes to {} bytes, not 32", b.len()))
}

impl Keys {
    /// Keys from a signing seed and an encryption key (tests, benches).
    #[cfg(any(test, feature = "test-support"))]
    pub fn from_seed(seed: &[u8; 32], encryption_key: &[u8; 32]) -> Self {
        let signer = TokenSigner::from_seed(seed);
        Self {
            public: vec![signer.public_key()],
            signer: Some(Arc::new(signer)),
            hash_key: fingerprint_key(encryption_key),
            generated: false,
            encryption_key_id: key_id(encryption_key),
            field_keys: key_ring(&[], encryption_key),
        }
    }

    /// As [`Keys::from_seed`], after a rotation: `encryption_key` is the
    /// new active key, `retired` still open old values (tests).
    #[cfg(any(test, feature = "test-support"))]
    pub fn rotated(seed: &[u8; 32], encryption_key: &[u8; 32], retired: &[[u8; 32]]) -> Self {
        let mut keys = Self::from_seed(seed, encryption_key);
        keys.field_keys = key_ring(retired, encryption_key);
        keys
    }

    /// Loads (or, in development, generates) the keys.
    #[tracing::instrument(skip_all)]
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        let mut signing = config.token_signing_key.clone();
        let mut encryption = config.encryption_key.clone();
        let mut generated = false;
        if config.mode == Mode::Development
            && (signing.is_none() || encryption.is_none())
            && config.token_public_key.is_none()
        {
            let (s, e) = dev_keys(config)?;
            signing = signing.or(Some(s));
            encryption = encryption.or(Some(e));
            generated = true;
        }
        let encryption = match encryption {
            Some(e) => decode32("METIVA_ENCRYPTION_KEY", &e)?,
            None => bail!("METIVA_ENCRYPTION_KEY is missing"),
        };
        let retired = config
            .retired_encryption_keys
            .iter()
            .map(|k| decode32("METIVA_ENCRYPTION_KEYS_RETIRED", k))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let signer = signing
            .map(|s| {
                decode32("METIVA_TOKEN_SIGNING_KEY", &s).map(|seed| TokenSigner::from_seed(&seed))
            })
            .transpose()?;
        let mut public: Vec<PublicKey> = signer.iter().map(TokenSigner::public_key).collect();
        if let Some(pk) = &config.token_public_key {
            let bytes = decode32("METIVA_TOKEN_PUBLIC_KEY", pk)?;
            public.push(metiva_security::token::public_key_from_bytes(bytes));
        }
        if generated {
            tracing::warn!(
                "DEVELOPMENT KEYS: token signing and encryption keys were generated locally in {}; never use them in production",
                config.data_dir.join(DEV_KEYS_FILE).display()
            );
        }
        Ok(Self {
            signer: signer.map(Arc::new),
            public,
            hash_key: fingerprint_key(&encryption),
            generated,
            encryption_key_id: key_id(&encryption),
            field_keys: key_ring(&retired, &encryption),
        })
    }
}

const DEV_KEYS_FILE: &str = "dev-keys.env";

/// Reads or creates `dev-keys.env`: (signing seed, encryption key), base64.
fn dev_keys(config: &Config) -> anyhow::Result<(String, String)> {
    let path = config.data_dir.join(DEV_KEYS_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
                .map(str::to_string)
        };
        if let (Some(s), Some(e)) = (
            get("METIVA_TOKEN_SIGNING_KEY"),
            get("METIVA_ENCRYPTION_KEY"),
        ) {
            return Ok((s, e));
        }
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let seed: [u8; 32] = rand::random();
    let enc: [u8; 32] = rand::random();
    let (s, e) = (B64.encode(seed), B64.encode(enc));
    let body = format!(
        "# Development keys generated by metiva. Never use them in production.\nMETIVA_TOKEN_SIGNING_KEY={s}\nMETIVA_ENCRYPTION_KEY={e}\n"
    );
    write_private(&path, &body).with_context(|| format!("writing {}", path.display()))?;
    Ok((s, e))
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, body: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(body.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, body: &str) -> std::io::Result<()> {
    std::fs::write(path, body)
}

/// `metiva keys rotate`: rewraps every company's data key under the active
/// master key (`METIVA_ENCRYPTION_KEY`; the previous one must be listed in
/// `METIVA_ENCRYPTION_KEYS_RETIRED` to unwrap). No data is re-encrypted.
/// One company per transaction, audited in its own log; a re-run after a
/// crash finishes the rest (keys already rewrapped are skipped).
pub async fn rotate(config: &Config) -> anyhow::Result<()> {
    let keys = Keys::load(config)?;
    let started = std::time::Instant::now();
    let report = crate::database::with_owner(config, "rotate the keys of", async |db| {
        db.rotate_data_keys(&keys.field_keys, |_| std::ops::ControlFlow::Continue(()))
            .await
            .context("rewrapping the data keys")
    })
    .await?;
    println!(
        "data keys under {}: {} rewrapped, {} already current, {} companies without a key ({} ms)",
        keys.encryption_key_id,
        report.rewrapped,
        report.already_current,
        report.without_key,
        started.elapsed().as_millis()
    );
    Ok(())
}

/// `metiva keys migrate-values`: moves values sealed under a master key
/// directly to their company's data key, in batches; resumable.
pub async fn migrate_values(config: &Config, batch: i64) -> anyhow::Result<()> {
    let keys = Keys::load(config)?;
    let moved = crate::database::with_owner(config, "migrate the sealed values of", async |db| {
        db.migrate_sealed_values(&keys.field_keys, batch.clamp(1, 50_000))
            .await
            .context("moving sealed values to the data keys")
    })
    .await?;
    println!("{moved} sealed value(s) moved to their workspace's data key");
    Ok(())
}

/// `metiva offboard <company>`: deletes every row of the company in every
/// tenant table, destroys its data key, deletes its files (every object
/// under `{company}/` in the configured object store, and the data
/// directory's old `exports/<company>/`), marks it offboarded and prints
/// the receipt (JSON: ids, times, counts). Running it again resumes an
/// interrupted offboarding, or prints the receipt of a finished one. When
/// the object store fails, the receipt shows the files as pending and the
/// command fails: run it again once the store answers.
pub async fn offboard(config: &Config, company: &str, batch: i64) -> anyhow::Result<()> {
    use metiva_db::offboarding::{Actor, OffboardError, OffboardFiles, Options};
    let company = metiva_db::CompanyId::parse(company).context("the company id")?;
    // The store first: a configuration that does not build stops the
    // command before anything is changed.
    let store = crate::file_store::file_store(config)?;
    let files = OffboardFiles {
        store: &store,
        data_dir: Some(&config.data_dir),
    };
    let started = std::time::Instant::now();
    let receipt = crate::database::with_owner(config, "offboard a workspace of", async |db| {
        let r = db
            .offboard(
                &company,
                Actor::Operator,
                Options { batch },
                files,
                |_, _| std::ops::ControlFlow::Continue(()),
            )
            .await;
        match r {
            Ok(r) => {
                let left = db.company_row_count(&company).await?;
                anyhow::ensure!(left == 0, "{left} row(s) of {company} remain");
                Ok(r)
            }
            Err(OffboardError::NotFound) => bail!("no workspace {company}"),
            Err(OffboardError::FilesPending { receipt, cause }) => {
                // The receipt as it stands (files pending), then the
                // failure: a non-zero exit that says to run it again.
                println!("{}", receipt_json(&receipt));
                let e = OffboardError::FilesPending { receipt, cause };
                bail!("{company}: {e}")
            }
            Err(e) => Err(e).context("offboarding"),
        }
    })
    .await?;
    println!("{}", receipt_json(&receipt));
    println!(
        "{company} offboarded: {} row(s) deleted, data key destroyed, {} file(s) deleted, 0 rows left ({} ms)",
        receipt.total(),
        receipt.files_deleted,
        started.elapsed().as_millis()
    );
    Ok(())
}

/// The offboarding receipt as JSON: ids, times and counts only.
pub fn receipt_json(r: &metiva_db::offboarding::Receipt) -> serde_json::Value {
    serde_json::json!({
        "company": r.company,
        "state": if r.done { "done" } else { "running" },
        "requested_by": r.requested_by,
        "actor_user_id": r.actor_user_id,
        "started_at": r.started_at,
        "key_destroyed_at": r.key_destroyed_at,
        "finished_at": r.finished_at,
        "rows_deleted": r.rows_deleted,
        "total_rows_deleted": r.total(),
        // Counts only: never an object key or a file name.
        "files": {
            "state": if r.files_pending() { "pending" } else { "deleted" },
            "deleted": r.files_deleted,
            "deleted_at": r.files_deleted_at,
        },
    })
}
