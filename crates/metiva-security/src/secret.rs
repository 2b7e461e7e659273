//! Random secrets for the browser (session cookies, one-time codes,
//! invitation links), their hashes for storage, and sealing a value under
//! a one-time code.
//!
//! # Security
//! - Secrets are 32 bytes from the OS CSPRNG, sent base64url; the database
//!   stores only their SHA-256, so a database reader cannot replay them.
//! - Comparisons of secrets the server holds in the clear (the `state`
//!   cookie against the `state` parameter) are constant-time.
//! - `seal_with_code`: the access token waiting for redemption is
//!   encrypted (AES-256-GCM) under SHA-256("metiva code key" ‖ code), so
//!   the `auth_codes` table is useless without the code itself.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh secret, base64url without padding (43 characters).
pub fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    B64.encode(bytes)
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// A 32-byte subkey of `key` for one purpose, named by `info` (HKDF-SHA-256,
/// RFC 5869). A key used for two purposes is derived once per purpose, so
/// nothing computed with one subkey says anything about the key or the
/// other subkeys.
pub fn derive_subkey(key: &[u8; 32], info: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA-256's limit (8160): expand cannot fail.
    let _ = hkdf::Hkdf::<Sha256>::new(None, key).expand(info.as_bytes(), &mut out);
    out
}

/// SHA-256 over a domain label, a key and the data, each length-prefixed:
/// a keyed fingerprint for values that must not be stored in the clear
/// (throttle keys derived from an email or an IP address).
pub fn keyed_hash(key: &[u8], label: &str, data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [label.as_bytes(), key, data] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn code_cipher(code: &str) -> Aes256Gcm {
    let mut h = Sha256::new();
    h.update(b"metiva code key\0");
    h.update(code.as_bytes());
    let key: [u8; 32] = h.finalize().into();
    Aes256Gcm::new(&key.into())
}

/// Encrypts `plaintext` under a key derived from `code`: nonce ‖ ciphertext.
#[tracing::instrument(skip_all)]
pub fn seal_with_code(code: &str, plaintext: &[u8]) -> Option<Vec<u8>> {
    let nonce: [u8; 12] = rand::random();
    let ct = code_cipher(code)
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Some(out)
}

/// Reverses [`seal_with_code`]; `None` for a wrong code or tampering.
#[tracing::instrument(skip_all)]
pub fn open_with_code(code: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    let (nonce, ct) = sealed.split_at_checked(12)?;
    code_cipher(code).decrypt(Nonce::from_slice(nonce), ct).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh_and_url_safe() {
        let a = random_secret();
        let b = random_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }

    #[test]
    fn sealed_tokens_open_only_with_their_code() {
        let sealed = seal_with_code("code-1", b"token").unwrap();
        assert_eq!(
            open_with_code("code-1", &sealed).as_deref(),
            Some(&b"token"[..])
        );
        assert_eq!(open_with_code("code-2", &sealed), None);
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(open_with_code("code-1", &tampered), None);
        assert_eq!(open_with_code("code-1", b"short"), None);
    }

    #[test]
    fn keyed_hashes_depend_on_key_label_and_data() {
        let base = keyed_hash(b"k", "account", b"a@b.c");
        assert_ne!(base, keyed_hash(b"k2", "account", b"a@b.c"));
        assert_ne!(base, keyed_hash(b"k", "ip", b"a@b.c"));
        assert_ne!(base, keyed_hash(b"k", "account", b"a@b.d"));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
    }
}

#[cfg(test)]
mod subkey_tests {
    use super::*;

    #[test]
    fn subkeys_differ_by_purpose_and_from_the_key_and_its_hash() {
        let key = [9u8; 32];
        let a = derive_subkey(&key, "metiva fingerprint key v1");
        let b = derive_subkey(&key, "another purpose");
        assert_ne!(a, b);
        assert_ne!(a, key);
        assert_ne!(a, sha256(&key));
        assert_eq!(a, derive_subkey(&key, "metiva fingerprint key v1"));
    }
}
