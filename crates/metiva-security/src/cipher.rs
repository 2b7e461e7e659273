//! The field cipher: AES-256-GCM for values stored at rest (first: the
//! truncated visitor IP).
//!
//! # Security
//! - A fresh random 96-bit nonce per encryption.
//! - Every ciphertext carries the id of the key that sealed it, so keys
//!   rotate: new values use the active key, old ones stay readable with
//!   theirs.
//! - The associated data binds a ciphertext to its place: company, table,
//!   column and row. A ciphertext copied to another row, column, table or
//!   tenant fails authentication instead of decrypting there.
//! - Keys never print (`Debug` is redacted) and are never serialized.
//! - Per-company keys (envelope encryption, see [`crate::envelope`]): a
//!   value in a company's context is sealed with that company's data key
//!   (DEK), looked up by `FieldContext::company_id` in the ring's bounded
//!   cache, so destroying the DEK makes every ciphertext of that company
//!   unreadable. The master key seals only global rows (no company: a
//!   sign-in session's IP) and short-lived values that never reach the
//!   database ([`KeyRing::seal_transient`]), and still opens values sealed
//!   under it before per-company keys (until they are migrated).
//! - A missing DEK fails closed ([`CipherError::DataKeyNotLoaded`]):
//!   `seal` never falls back to the master key for a company's value.

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::envelope::{
    DataKey, DataKeyStore, DekCache, KeyEncryptionKey, LocalMasterKey, WrappedKey,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("no key with id {0:?}")]
    UnknownKey(String),
    #[error("the ciphertext does not belong here or was altered")]
    Authentication,
    #[error("a key must be 32 bytes")]
    BadKey,
    #[error("the key ring has no active key")]
    NoActiveKey,
    /// A context part longer than its 32-bit length prefix can say: never
    /// truncated into an encoding another context could share.
    #[error("a field context part is too long")]
    ContextTooLong,
    /// The company's DEK is not in memory: load it first
    /// ([`KeyRing::load`]); never silently sealed under the master key.
    #[error("the workspace's data key is not loaded")]
    DataKeyNotLoaded,
    /// The company has no DEK and may not get one (offboarded, unknown).
    #[error("the workspace has no data key")]
    NoDataKey,
    /// The key store or the KEK failed (database, KMS); no detail that
    /// could hold key material.
    #[error("the key store failed: {0}")]
    Store(String),
}

/// Where a value lives; authenticated with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldContext<'a> {
    pub company_id: &'a str,
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: &'a str,
}

impl FieldContext<'_> {
    /// Length-prefixed, so no two distinct contexts encode alike.
    fn associated_data(&self) -> Result<Vec<u8>, CipherError> {
        let mut out = b"metiva.field.v1".to_vec();
        for part in [self.company_id, self.table, self.column, self.row_id] {
            let len = u32::try_from(part.len()).map_err(|_| CipherError::ContextTooLong)?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        Ok(out)
    }
}

/// A sealed value as stored: key id, nonce, ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: [u8; 12],
    pub ciphertext: Vec<u8>,
}

struct FieldKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The keys: the master keys (one active, all for opening values sealed
/// under them), the KEK that wraps per-company DEKs, and the DEKs in use.
pub struct KeyRing {
    keys: Vec<FieldKey>,
    active: Option<usize>,
    /// The master keys as the KEK, unless [`KeyRing::with_kek`] set another.
    local_kek: LocalMasterKey,
    kek: Option<Arc<dyn KeyEncryptionKey>>,
    deks: DekCache,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        write!(
            f,
            "KeyRing(ids={ids:?}, active={:?}, keys=<redacted>)",
            self.active_key_id()
        )
    }
}

impl KeyRing {
    pub fn new() -> Self {
        Self {
            keys: Vec::new(),
            active: None,
            local_kek: LocalMasterKey::new(),
            kek: None,
            deks: DekCache::default(),
        }
    }

    /// Uses `kek` (a KMS, say) instead of the master keys to wrap DEKs.
    pub fn with_kek(mut self, kek: Arc<dyn KeyEncryptionKey>) -> Self {
        self.kek = Some(kek);
        self
    }

    /// Replaces the DEK cache (its bounds).
    pub fn with_cache(mut self, cache: DekCache) -> Self {
        self.deks = cache;
        self
    }

    /// The key-encryption key.
    pub fn kek(&self) -> &dyn KeyEncryptionKey {
        match &self.kek {
            Some(k) => k.as_ref(),
            None => &self.local_kek,
        }
    }

    /// The DEK cache (to forget an offboarded company's key).
    pub fn data_keys(&self) -> &DekCache {
        &self.deks
    }

    /// Makes sure `company`'s DEK is in memory: from the cache, else
    /// unwrapped from the store, else created (random), wrapped and stored.
    /// Call before `seal`/`open` in a company's context, outside any
    /// database transaction (the store reads on its own connection).
    pub async fn load(&self, store: &dyn DataKeyStore, company: &str) -> Result<(), CipherError> {
        if self.deks.get(company).is_some() {
            return Ok(());
        }
        let wrapped = match store.fetch(company).await? {
            Some(w) => w,
            None => {
                let dek: [u8; 32] = rand::random();
                let id = crate::envelope::new_dek_id();
                let w = self.kek().wrap(company, &id, &dek).await?;
                store
                    .create(company, &w)
                    .await?
                    .ok_or(CipherError::NoDataKey)?
            }
        };
        let dek = self.kek().unwrap(company, &wrapped).await?;
        self.deks
            .put(company, Arc::new(DataKey::new(&wrapped.id, &dek)));
        Ok(())
    }

    /// `wrapped` under the active KEK, or `None` when it already is
    /// (rotation rewraps; the DEK and so the data stay as they are).
    pub async fn rewrap(
        &self,
        company: &str,
        wrapped: &WrappedKey,
    ) -> Result<Option<WrappedKey>, CipherError> {
        let kek = self.kek();
        if wrapped.kek_id == kek.active_id() {
            return Ok(None);
        }
        let dek = kek.unwrap(company, wrapped).await?;
        kek.wrap(company, &wrapped.id, &dek).await.map(Some)
    }

    /// HMAC-SHA-256 under the company's audit checkpoint key of the message
    /// `msg` builds from the DEK's id (so the id can be signed too), and
    /// that id. The DEK must be loaded ([`KeyRing::load`]).
    ///
    /// # Security
    /// The MAC key is HKDF-SHA-256 of the company's DEK with the fixed
    /// label [`crate::envelope::CHECKPOINT_MAC_LABEL`]: the database holds
    /// the DEK only wrapped by the master key (or a KMS), which it never
    /// sees, so a database administrator cannot compute it and cannot
    /// forge a checkpoint. Master-key rotation rewraps the DEK without
    /// changing it, so checkpoints signed before a rotation still verify;
    /// destroying the DEK (offboarding) leaves nothing to verify, and
    /// nothing of the company's log left either. A subkey, not the DEK, so
    /// a MAC says nothing about the key that seals the company's values.
    pub fn checkpoint_mac(
        &self,
        company: &str,
        msg: impl FnOnce(&str) -> Vec<u8>,
    ) -> Result<(String, [u8; 32]), CipherError> {
        use hkdf::hmac::{Hmac, Mac};
        if company.is_empty() {
            return Err(CipherError::NoDataKey);
        }
        let dek = self
            .deks
            .get(company)
            .ok_or(CipherError::DataKeyNotLoaded)?;
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&dek.checkpoint_mac)
            .map_err(|_| CipherError::BadKey)?;
        mac.update(&msg(&dek.id));
        Ok((dek.id.clone(), mac.finalize().into_bytes().into()))
    }

    /// Whether `key_id` names a master key (a value sealed before
    /// per-company keys, or a global one).
    pub fn is_master_key_id(&self, key_id: &str) -> bool {
        self.keys.iter().any(|k| k.id == key_id)
    }

    /// Seals a short-lived value that never reaches the database (a flash
    /// cookie) under the active master key.
    pub fn seal_transient(
        &self,
        plaintext: &[u8],
        at: &FieldContext<'_>,
    ) -> Result<Sealed, CipherError> {
        let key = self
            .active
            .and_then(|i| self.keys.get(i))
            .ok_or(CipherError::NoActiveKey)?;
        seal_with(&key.id, &key.cipher, plaintext, at)
    }

    /// Adds a key; the most recently added key becomes the active one.
    pub fn rotate_in(&mut self, id: &str, key: &[u8]) -> Result<(), CipherError> {
        let key: &[u8; 32] = key.try_into().map_err(|_| CipherError::BadKey)?;
        self.rotate_in_key(id, key);
        Ok(())
    }

    /// As [`KeyRing::rotate_in`], for a key whose 32-byte length the type
    /// already guarantees: nothing can fail, so there is no result for a
    /// caller to drop.
    pub fn rotate_in_key(&mut self, id: &str, key: &[u8; 32]) {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key));
        self.keys.push(FieldKey {
            id: id.to_string(),
            cipher,
        });
        self.local_kek.add(id, key);
        self.active = Some(self.keys.len() - 1);
    }

    /// The id of the key new values are sealed with (shown in the UI; the
    /// key itself never is).
    pub fn active_key_id(&self) -> Option<&str> {
        self.active
            .and_then(|i| self.keys.get(i))
            .map(|k| k.id.as_str())
    }

    /// Seals `plaintext` for its place: with the company's DEK (which must
    /// be loaded), or for a global row (no company) with the active master
    /// key.
    pub fn seal(&self, plaintext: &[u8], at: &FieldContext<'_>) -> Result<Sealed, CipherError> {
        if at.company_id.is_empty() {
            return self.seal_transient(plaintext, at);
        }
        let dek = self
            .deks
            .get(at.company_id)
            .ok_or(CipherError::DataKeyNotLoaded)?;
        seal_with(&dek.id, &dek.cipher, plaintext, at)
    }

    /// Opens a sealed value in its place: with the master key it names (a
    /// global or not yet migrated value), else with the company's DEK,
    /// which must be loaded and be the one named.
    pub fn open(&self, sealed: &Sealed, at: &FieldContext<'_>) -> Result<Vec<u8>, CipherError> {
        let aad = at.associated_data()?;
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: &aad,
        };
        let nonce = Nonce::from_slice(&sealed.nonce);
        if let Some(key) = self.keys.iter().find(|k| k.id == sealed.key_id) {
            return key
                .cipher
                .decrypt(nonce, payload)
                .map_err(|_| CipherError::Authentication);
        }
        if at.company_id.is_empty() || !sealed.key_id.starts_with("d-") {
            return Err(CipherError::UnknownKey(sealed.key_id.clone()));
        }
        let dek = self
            .deks
            .get(at.company_id)
            .ok_or(CipherError::DataKeyNotLoaded)?;
        if dek.id != sealed.key_id {
            return Err(CipherError::UnknownKey(sealed.key_id.clone()));
        }
        dek.cipher
            .decrypt(nonce, payload)
            .map_err(|_| CipherError::Authentication)
    }
}

fn seal_with(
    id: &str,
    cipher: &Aes256Gcm,
    plaintext: &[u8],
    at: &FieldContext<'_>,
) -> Result<Sealed, CipherError> {
    let nonce: [u8; 12] = rand::random();
    let aad = at.associated_data()?;
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| CipherError::Authentication)?;
    Ok(Sealed {
        key_id: id.to_string(),
        nonce,
        ciphertext,
    })
}

impl Default for KeyRing {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: FieldContext<'static> = FieldContext {
        company_id: "cmp_8fa2c1",
        table: "visits",
        column: "ip_truncated",
        row_id: "0b6f7d3e-0000-4000-8000-000000000001",
    };

    fn ring() -> KeyRing {
        let mut r = KeyRing::new();
        r.rotate_in("k1", &[7u8; 32]).unwrap();
        r
    }

    #[test]
    fn seals_and_opens_in_place() {
        let r = ring();
        let s = r.seal_transient(b"203.0.113.0", &HERE).unwrap();
        assert_eq!(s.key_id, "k1");
        assert!(
            !s.ciphertext.windows(11).any(|w| w == b"203.0.113.0"),
            "not plaintext"
        );
        assert_eq!(r.open(&s, &HERE).unwrap(), b"203.0.113.0");
    }

    #[test]
    fn a_ciphertext_copied_anywhere_else_fails_to_decrypt() {
        let r = ring();
        let s = r.seal_transient(b"203.0.113.0", &HERE).unwrap();
        let elsewhere = [
            FieldContext {
                row_id: "0b6f7d3e-0000-4000-8000-000000000002",
                ..HERE
            },
            FieldContext {
                company_id: "cmp_1d47b9",
                ..HERE
            },
            FieldContext {
                column: "referrer",
                ..HERE
            },
            FieldContext {
                table: "persons",
                ..HERE
            },
        ];
        for at in elsewhere {
            assert_eq!(r.open(&s, &at), Err(CipherError::Authentication), "{at:?}");
        }
    }

    #[test]
    fn tampering_is_detected() {
        let r = ring();
        let mut s = r.seal_transient(b"203.0.113.0", &HERE).unwrap();
        if let Some(b) = s.ciphertext.first_mut() {
            *b ^= 1;
        }
        assert_eq!(r.open(&s, &HERE), Err(CipherError::Authentication));
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_seals_new_ones_with_the_new_key() {
        let mut r = ring();
        let old = r.seal_transient(b"198.51.100.0", &HERE).unwrap();
        r.rotate_in("k2", &[9u8; 32]).unwrap();
        assert_eq!(r.active_key_id(), Some("k2"));
        let new = r.seal_transient(b"2001:db8:1::", &HERE).unwrap();
        assert_eq!(new.key_id, "k2");
        assert_eq!(r.open(&old, &HERE).unwrap(), b"198.51.100.0");
        assert_eq!(r.open(&new, &HERE).unwrap(), b"2001:db8:1::");
        // A ring without the old key cannot open old values.
        let mut only_new = KeyRing::new();
        only_new.rotate_in("k2", &[9u8; 32]).unwrap();
        assert_eq!(
            only_new.open(&old, &HERE),
            Err(CipherError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn nonces_are_fresh_and_keys_never_print() {
        let r = ring();
        let a = r.seal_transient(b"x", &HERE).unwrap();
        let b = r.seal_transient(b"x", &HERE).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        let dbg = format!("{r:?}");
        assert!(dbg.contains("<redacted>") && !dbg.contains("7, 7"), "{dbg}");
        assert_eq!(
            KeyRing::new().rotate_in("short", &[1u8; 16]),
            Err(CipherError::BadKey)
        );
        assert!(matches!(
            KeyRing::new().seal_transient(b"x", &HERE),
            Err(CipherError::NoActiveKey)
        ));
    }

    #[test]
    fn contexts_cannot_collide_by_concatenation() {
        let a = FieldContext {
            company_id: "cmp_8fa2c1",
            table: "ab",
            column: "c",
            row_id: "1",
        };
        let b = FieldContext {
            company_id: "cmp_8fa2c1",
            table: "a",
            column: "bc",
            row_id: "1",
        };
        assert_ne!(a.associated_data().unwrap(), b.associated_data().unwrap());
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => panic!("pending"),
        }
    }

    #[test]
    fn a_company_value_is_sealed_with_its_own_loaded_data_key() {
        let store = crate::envelope::MemoryKeyStore::default();
        let r = ring();
        assert_eq!(r.seal(b"x", &HERE), Err(CipherError::DataKeyNotLoaded));
        block(r.load(&store, HERE.company_id)).unwrap();
        let s = r.seal(b"203.0.113.0", &HERE).unwrap();
        assert!(s.key_id.starts_with("d-"), "{}", s.key_id);
        assert_eq!(r.open(&s, &HERE).unwrap(), b"203.0.113.0");
        // Another company's DEK does not open it, even with its context
        // loaded: the ids differ, and the AAD binds the company anyway.
        let other = FieldContext {
            company_id: "cmp_1d47b9",
            ..HERE
        };
        block(r.load(&store, other.company_id)).unwrap();
        assert!(r.open(&s, &other).is_err());
        // Another process with the same master key and key table opens it.
        let again = ring();
        block(again.load(&store, HERE.company_id)).unwrap();
        assert_eq!(again.open(&s, &HERE).unwrap(), b"203.0.113.0");
        // A value sealed under the master key before per-company keys
        // still opens in its company's context.
        let legacy = r.seal_transient(b"198.51.100.0", &HERE).unwrap();
        assert_eq!(r.open(&legacy, &HERE).unwrap(), b"198.51.100.0");
        // A global row (no company) uses the master key.
        let global = FieldContext {
            company_id: "",
            ..HERE
        };
        assert_eq!(r.seal(b"g", &global).unwrap().key_id, "k1");
    }

    #[test]
    fn the_checkpoint_mac_is_per_company_needs_the_loaded_key_and_signs_its_id() {
        let store = crate::envelope::MemoryKeyStore::default();
        let r = ring();
        let msg = |id: &str| format!("checkpoint {id}").into_bytes();
        assert_eq!(
            r.checkpoint_mac(HERE.company_id, msg),
            Err(CipherError::DataKeyNotLoaded)
        );
        block(r.load(&store, HERE.company_id)).unwrap();
        let (id, mac) = r.checkpoint_mac(HERE.company_id, msg).unwrap();
        assert!(id.starts_with("d-"), "{id}");
        // Deterministic, and the same in another process with the key table.
        let again = ring();
        block(again.load(&store, HERE.company_id)).unwrap();
        assert_eq!(
            again.checkpoint_mac(HERE.company_id, msg).unwrap(),
            (id.clone(), mac)
        );
        // Another company's key signs the same message differently.
        block(r.load(&store, "cmp_1d47b9")).unwrap();
        assert_ne!(r.checkpoint_mac("cmp_1d47b9", msg).unwrap().1, mac);
        // A changed message, another MAC; no company, no key.
        assert_ne!(
            r.checkpoint_mac(HERE.company_id, |_| b"x".to_vec())
                .unwrap()
                .1,
            mac
        );
        assert!(r.checkpoint_mac("", msg).is_err());
    }

    #[test]
    fn a_destroyed_data_key_leaves_the_values_unreadable() {
        let store = crate::envelope::MemoryKeyStore::default();
        let r = ring();
        block(r.load(&store, HERE.company_id)).unwrap();
        let s = r.seal(b"203.0.113.0", &HERE).unwrap();
        store.0.lock().unwrap().clear();
        r.data_keys().forget(HERE.company_id);
        assert_eq!(r.open(&s, &HERE), Err(CipherError::DataKeyNotLoaded));
        // Loading again makes a new key, which does not open the old value.
        block(r.load(&store, HERE.company_id)).unwrap();
        assert!(matches!(r.open(&s, &HERE), Err(CipherError::UnknownKey(_))));
    }

    #[test]
    fn rotation_rewraps_the_data_key_and_the_data_stays_readable() {
        let store = crate::envelope::MemoryKeyStore::default();
        let r = ring();
        block(r.load(&store, HERE.company_id)).unwrap();
        let s = r.seal(b"203.0.113.0", &HERE).unwrap();
        let mut rotated = KeyRing::new();
        rotated.rotate_in("k1", &[7u8; 32]).unwrap();
        rotated.rotate_in("k2", &[9u8; 32]).unwrap();
        let old = store
            .0
            .lock()
            .unwrap()
            .get(HERE.company_id)
            .cloned()
            .unwrap();
        let new = block(rotated.rewrap(HERE.company_id, &old))
            .unwrap()
            .unwrap();
        assert_eq!(
            (new.id.as_str(), new.kek_id.as_str()),
            (old.id.as_str(), "k2")
        );
        assert_eq!(block(rotated.rewrap(HERE.company_id, &new)).unwrap(), None);
        store.0.lock().unwrap().insert(HERE.company_id.into(), new);
        // Only the new master key: the rewrapped DEK opens the old value.
        let mut only_new = KeyRing::new();
        only_new.rotate_in("k2", &[9u8; 32]).unwrap();
        block(only_new.load(&store, HERE.company_id)).unwrap();
        assert_eq!(only_new.open(&s, &HERE).unwrap(), b"203.0.113.0");
    }

    /// Seal and open per operation, master key against a cached DEK
    /// (`cargo test -p metiva-security --release -- --ignored --nocapture
    /// per_op_cost`).
    #[test]
    #[ignore = "a measurement, not a check"]
    fn per_op_cost() {
        let store = crate::envelope::MemoryKeyStore::default();
        let r = ring();
        block(r.load(&store, HERE.company_id)).unwrap();
        let n = 200_000u32;
        let time = |f: &dyn Fn()| {
            let t = std::time::Instant::now();
            for _ in 0..n {
                f();
            }
            t.elapsed().as_nanos() / u128::from(n)
        };
        let m = r.seal_transient(b"203.0.113.0", &HERE).unwrap();
        let d = r.seal(b"203.0.113.0", &HERE).unwrap();
        println!(
            "seal ns/op: master {} dek {}; open ns/op: master {} dek {}",
            time(&|| drop(r.seal_transient(b"203.0.113.0", &HERE))),
            time(&|| drop(r.seal(b"203.0.113.0", &HERE))),
            time(&|| drop(r.open(&m, &HERE))),
            time(&|| drop(r.open(&d, &HERE))),
        );
    }
}
