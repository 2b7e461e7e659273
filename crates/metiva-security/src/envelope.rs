//! Envelope encryption: one data key (DEK) per company, wrapped by a
//! key-encryption key (KEK).
//!
//! # The one seam for a KMS: [`KeyEncryptionKey`]
//! Everything that touches the KEK goes through this trait's two calls,
//! `wrap` and `unwrap`, plus the id of the key new wraps use. Today
//! [`LocalMasterKey`] implements it with `METIVA_ENCRYPTION_KEY` (and the
//! retired keys, for unwrapping only). A KMS replaces it without touching
//! the field cipher, the key table or any call site:
//! - AWS KMS: `wrap` = `Encrypt` (or `GenerateDataKey`), `unwrap` =
//!   `Decrypt`, with the company and DEK id as the encryption context, in
//!   an EU region; `active_id` = the key ARN.
//! - Vault / OpenBao transit: `wrap` = `transit/encrypt/<key>`, `unwrap`
//!   = `transit/decrypt/<key>`, the company and DEK id as `context` (a
//!   derived key); `active_id` = the key name and version.
//!
//! The calls are async (a KMS is a network round trip) and happen only when
//! a DEK is first needed (then it is cached, see [`DekCache`]) and at
//! rotation. An implementation must bind the wrap to `(company, dek_id)`:
//! a wrapped key copied to another company's row must not unwrap there.
//!
//! # Security
//! - A DEK is 256 random bits from the OS's CSPRNG, wrapped with
//!   AES-256-GCM under an HKDF subkey of the master key (never the master
//!   key itself: field values sealed under the master key directly, before
//!   per-company keys, use another key).
//! - Unwrapped DEKs live only in memory, in a cache bounded in size and in
//!   age, so a DEK destroyed by offboarding leaves every process within the
//!   age bound.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::cipher::CipherError;

/// A boxed future, so the traits stay object-safe (`Arc<dyn …>`).
pub type KeyFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, CipherError>> + Send + 'a>>;

/// A DEK as stored: its id, the KEK that wrapped it, and the wrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// `d-` and 16 hex digits, random.
    pub id: String,
    pub kek_id: String,
    pub nonce: [u8; 12],
    /// The 32 key bytes, encrypted, and the 16-byte tag.
    pub wrapped: Vec<u8>,
}

/// The key-encryption key: the seam where a KMS takes the master key's
/// place (see the module docs).
pub trait KeyEncryptionKey: Send + Sync {
    /// The id of the key that [`KeyEncryptionKey::wrap`] uses now.
    fn active_id(&self) -> &str;
    /// Wraps `dek` for `(company, dek_id)` under the active key.
    fn wrap<'a>(
        &'a self,
        company: &'a str,
        dek_id: &'a str,
        dek: &'a [u8; 32],
    ) -> KeyFuture<'a, WrappedKey>;
    /// Unwraps a DEK stored for `company`, with the key its `kek_id`
    /// names (active or retired). Fails closed: an unknown key id, another
    /// company, or an altered wrap is an error.
    fn unwrap<'a>(&'a self, company: &'a str, key: &'a WrappedKey) -> KeyFuture<'a, [u8; 32]>;
}

/// Where wrapped DEKs are kept (the database's `company_keys`, each read
/// under its own company's binding).
pub trait DataKeyStore: Send + Sync {
    /// The company's wrapped DEK, if it has one.
    fn fetch<'a>(&'a self, company: &'a str) -> KeyFuture<'a, Option<WrappedKey>>;
    /// Stores a new wrapped DEK unless the company already has one, and
    /// answers the one stored (a concurrent creator may have won). `None`
    /// when the company may not get a key (unknown, or offboarded).
    fn create<'a>(
        &'a self,
        company: &'a str,
        key: &'a WrappedKey,
    ) -> KeyFuture<'a, Option<WrappedKey>>;
}

/// The key table in memory: for tests, and tools that never keep a key.
/// Like the real table it keeps the first key created per company.
#[derive(Default)]
pub struct MemoryKeyStore(pub(crate) Mutex<HashMap<String, WrappedKey>>);

impl DataKeyStore for MemoryKeyStore {
    fn fetch<'a>(&'a self, company: &'a str) -> KeyFuture<'a, Option<WrappedKey>> {
        let r = self
            .0
            .lock()
            .map_err(|_| CipherError::Store("the key table's lock is poisoned".into()))
            .map(|m| m.get(company).cloned());
        Box::pin(async move { r })
    }

    fn create<'a>(
        &'a self,
        company: &'a str,
        key: &'a WrappedKey,
    ) -> KeyFuture<'a, Option<WrappedKey>> {
        let r = self
            .0
            .lock()
            .map_err(|_| CipherError::Store("the key table's lock is poisoned".into()))
            .map(|mut m| {
                Some(
                    m.entry(company.to_string())
                        .or_insert_with(|| key.clone())
                        .clone(),
                )
            });
        Box::pin(async move { r })
    }
}

/// The wrap's associated data: company and DEK id, length-prefixed.
fn wrap_aad(company: &str, dek_id: &str) -> Result<Vec<u8>, CipherError> {
    let mut out = b"metiva.dek.v1".to_vec();
    for part in [company, dek_id] {
        let len = u32::try_from(part.len()).map_err(|_| CipherError::ContextTooLong)?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    Ok(out)
}

/// The master key (and retired ones) as the KEK: AES-256-GCM under an HKDF
/// subkey of each, named by the master key's id.
pub struct LocalMasterKey {
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for LocalMasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "LocalMasterKey(ids={ids:?}, keys=<redacted>)")
    }
}

impl LocalMasterKey {
    pub fn new() -> Self {
        Self { keys: Vec::new() }
    }

    /// Adds a master key under `id`; the last one added wraps.
    pub fn add(&mut self, id: &str, master: &[u8; 32]) {
        let sub = crate::secret::derive_subkey(master, "metiva key-encryption key v1");
        self.keys.push((
            id.to_string(),
            Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&sub)),
        ));
    }

    fn wrap_now(
        &self,
        company: &str,
        dek_id: &str,
        dek: &[u8; 32],
    ) -> Result<WrappedKey, CipherError> {
        let (kek_id, cipher) = self.keys.last().ok_or(CipherError::NoActiveKey)?;
        let nonce: [u8; 12] = rand::random();
        let aad = wrap_aad(company, dek_id)?;
        let wrapped = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: dek,
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Authentication)?;
        Ok(WrappedKey {
            id: dek_id.to_string(),
            kek_id: kek_id.clone(),
            nonce,
            wrapped,
        })
    }

    fn unwrap_now(&self, company: &str, key: &WrappedKey) -> Result<[u8; 32], CipherError> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| *id == key.kek_id)
            .ok_or_else(|| CipherError::UnknownKey(key.kek_id.clone()))?;
        let aad = wrap_aad(company, &key.id)?;
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&key.nonce),
                Payload {
                    msg: &key.wrapped,
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Authentication)?;
        plain.try_into().map_err(|_| CipherError::BadKey)
    }
}

impl Default for LocalMasterKey {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyEncryptionKey for LocalMasterKey {
    fn active_id(&self) -> &str {
        self.keys.last().map(|(id, _)| id.as_str()).unwrap_or("")
    }

    fn wrap<'a>(
        &'a self,
        company: &'a str,
        dek_id: &'a str,
        dek: &'a [u8; 32],
    ) -> KeyFuture<'a, WrappedKey> {
        let r = self.wrap_now(company, dek_id, dek);
        Box::pin(async move { r })
    }

    fn unwrap<'a>(&'a self, company: &'a str, key: &'a WrappedKey) -> KeyFuture<'a, [u8; 32]> {
        let r = self.unwrap_now(company, key);
        Box::pin(async move { r })
    }
}

/// The HKDF label of the audit checkpoints' MAC key (see
/// [`crate::cipher::KeyRing::checkpoint_mac`]).
pub const CHECKPOINT_MAC_LABEL: &str = "metiva audit checkpoint mac v1";

/// An unwrapped DEK, ready to seal and open.
pub struct DataKey {
    pub(crate) id: String,
    pub(crate) cipher: Aes256Gcm,
    /// HKDF(DEK, [`CHECKPOINT_MAC_LABEL`]): the audit checkpoints' HMAC
    /// key, never the DEK itself.
    pub(crate) checkpoint_mac: [u8; 32],
}

impl DataKey {
    pub(crate) fn new(id: &str, key: &[u8; 32]) -> Self {
        Self {
            id: id.to_string(),
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
            checkpoint_mac: crate::secret::derive_subkey(key, CHECKPOINT_MAC_LABEL),
        }
    }
}

/// Unwrapped DEKs by company, bounded in number and in age.
pub struct DekCache {
    entries: Mutex<HashMap<String, (Arc<DataKey>, Instant)>>,
    capacity: usize,
    max_age: Duration,
}

impl DekCache {
    /// At most `capacity` keys, each kept at most `max_age` after it was
    /// unwrapped.
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            max_age,
        }
    }

    /// The company's DEK if cached and fresh. A poisoned lock reads as a
    /// miss (fail closed: the caller loads or refuses).
    pub(crate) fn get(&self, company: &str) -> Option<Arc<DataKey>> {
        let map = self.entries.lock().ok()?;
        let (key, at) = map.get(company)?;
        (at.elapsed() < self.max_age).then(|| key.clone())
    }

    pub(crate) fn put(&self, company: &str, key: Arc<DataKey>) {
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        if map.len() >= self.capacity && !map.contains_key(company) {
            // Evict the stale ones, else the oldest (a miss is one
            // database read and one unwrap, so a simple scan will do).
            map.retain(|_, (_, at)| at.elapsed() < self.max_age);
            if map.len() >= self.capacity {
                let oldest = map
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(c, _)| c.clone());
                if let Some(c) = oldest {
                    map.remove(&c);
                }
            }
        }
        map.insert(company.to_string(), (key, Instant::now()));
    }

    /// Drops the company's DEK from memory (after offboarding).
    pub fn forget(&self, company: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(company);
        }
    }

    /// How many keys are held (tests, the bound).
    pub fn len(&self) -> usize {
        self.entries.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for DekCache {
    /// 4,096 companies, 10 minutes.
    fn default() -> Self {
        Self::new(4096, Duration::from_secs(600))
    }
}

/// A fresh DEK id: `d-` and 64 random bits in hex.
pub(crate) fn new_dek_id() -> String {
    let r: [u8; 8] = rand::random();
    format!("d-{}", hex::encode(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(ids: &[(&str, u8)]) -> LocalMasterKey {
        let mut k = LocalMasterKey::new();
        for (id, b) in ids {
            k.add(id, &[*b; 32]);
        }
        k
    }

    fn block<T>(f: KeyFuture<'_, T>) -> Result<T, CipherError> {
        // The local KEK's futures are ready at once.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = f;
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => panic!("local KEK future pending"),
        }
    }

    #[test]
    fn wraps_bind_company_and_id_and_retired_keys_unwrap() {
        let old = kek(&[("k-old", 1)]);
        let w = block(old.wrap("cmp_000001", "d-00", &[5; 32])).unwrap();
        assert_eq!(w.kek_id, "k-old");
        assert_eq!(block(old.unwrap("cmp_000001", &w)).unwrap(), [5; 32]);
        assert_eq!(
            block(old.unwrap("cmp_000002", &w)),
            Err(CipherError::Authentication)
        );
        let moved = WrappedKey {
            id: "d-01".into(),
            ..w.clone()
        };
        assert_eq!(
            block(old.unwrap("cmp_000001", &moved)),
            Err(CipherError::Authentication)
        );
        let rotated = kek(&[("k-old", 1), ("k-new", 2)]);
        assert_eq!(rotated.active_id(), "k-new");
        assert_eq!(block(rotated.unwrap("cmp_000001", &w)).unwrap(), [5; 32]);
        let only_new = kek(&[("k-new", 2)]);
        assert_eq!(
            block(only_new.unwrap("cmp_000001", &w)),
            Err(CipherError::UnknownKey("k-old".into()))
        );
        assert!(format!("{rotated:?}").contains("<redacted>"));
    }

    #[test]
    fn the_cache_is_bounded_in_size_and_age() {
        let c = DekCache::new(2, Duration::from_secs(60));
        for co in ["a", "b", "c"] {
            c.put(co, Arc::new(DataKey::new("d-0", &[1; 32])));
        }
        assert_eq!(c.len(), 2);
        assert!(c.get("c").is_some(), "the newest stays");
        c.forget("c");
        assert!(c.get("c").is_none());
        let stale = DekCache::new(2, Duration::ZERO);
        stale.put("a", Arc::new(DataKey::new("d-0", &[1; 32])));
        assert!(stale.get("a").is_none(), "an aged key is a miss");
    }
}
