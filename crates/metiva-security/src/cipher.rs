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

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

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

/// The keys: one active for sealing, all for opening.
pub struct KeyRing {
    keys: Vec<FieldKey>,
    active: Option<usize>,
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
        }
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
        self.active = Some(self.keys.len() - 1);
    }

    /// The id of the key new values are sealed with (shown in the UI; the
    /// key itself never is).
    pub fn active_key_id(&self) -> Option<&str> {
        self.active
            .and_then(|i| self.keys.get(i))
            .map(|k| k.id.as_str())
    }

    pub fn seal(&self, plaintext: &[u8], at: &FieldContext<'_>) -> Result<Sealed, CipherError> {
        let key = self
            .active
            .and_then(|i| self.keys.get(i))
            .ok_or(CipherError::NoActiveKey)?;
        let nonce: [u8; 12] = rand::random();
        let aad = at.associated_data()?;
        let ciphertext = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Authentication)?;
        Ok(Sealed {
            key_id: key.id.clone(),
            nonce,
            ciphertext,
        })
    }

    pub fn open(&self, sealed: &Sealed, at: &FieldContext<'_>) -> Result<Vec<u8>, CipherError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| CipherError::UnknownKey(sealed.key_id.clone()))?;
        let aad = at.associated_data()?;
        key.cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| CipherError::Authentication)
    }
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
        let s = r.seal(b"203.0.113.0", &HERE).unwrap();
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
        let s = r.seal(b"203.0.113.0", &HERE).unwrap();
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
        let mut s = r.seal(b"203.0.113.0", &HERE).unwrap();
        if let Some(b) = s.ciphertext.first_mut() {
            *b ^= 1;
        }
        assert_eq!(r.open(&s, &HERE), Err(CipherError::Authentication));
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_seals_new_ones_with_the_new_key() {
        let mut r = ring();
        let old = r.seal(b"198.51.100.0", &HERE).unwrap();
        r.rotate_in("k2", &[9u8; 32]).unwrap();
        assert_eq!(r.active_key_id(), Some("k2"));
        let new = r.seal(b"2001:db8:1::", &HERE).unwrap();
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
        let a = r.seal(b"x", &HERE).unwrap();
        let b = r.seal(b"x", &HERE).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        let dbg = format!("{r:?}");
        assert!(dbg.contains("<redacted>") && !dbg.contains("7, 7"), "{dbg}");
        assert_eq!(
            KeyRing::new().rotate_in("short", &[1u8; 16]),
            Err(CipherError::BadKey)
        );
        assert!(matches!(
            KeyRing::new().seal(b"x", &HERE),
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
}
