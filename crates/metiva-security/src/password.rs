//! Password hashing with bcrypt.
//!
//! # Security
//! - Production uses cost 12; lower costs exist for tests only.
//! - bcrypt reads at most 72 bytes. Longer passwords are refused with a
//!   clear message rather than silently truncated, so two passwords that
//!   share their first 72 bytes can never both work.
//! - Hashing is CPU-bound: async callers must run it off the runtime
//!   (`spawn_blocking`), which the login service does.

/// bcrypt's input limit, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 72;
/// The production work factor.
pub const PRODUCTION_COST: u32 = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("passwords can be at most {MAX_PASSWORD_BYTES} bytes long")]
    TooLong,
    #[error("passwords must not be empty")]
    Empty,
    #[error("password hashing failed")]
    Hashing,
}

/// A secret that never prints itself.
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Result<Self, PasswordError> {
        let s = s.into();
        if s.is_empty() {
            return Err(PasswordError::Empty);
        }
        if s.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(s))
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Hashes with the given cost (blocking; see the module docs).
#[tracing::instrument(skip_all)]
pub fn hash(password: &Password, cost: u32) -> Result<String, PasswordError> {
    bcrypt::hash(&password.0, cost).map_err(|_| PasswordError::Hashing)
}

/// Verifies in constant time (bcrypt compares the full hashes); a
/// malformed stored hash verifies as false.
#[tracing::instrument(skip_all)]
pub fn verify(password: &Password, stored_hash: &str) -> bool {
    bcrypt::verify(&password.0, stored_hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_verifies_for_real() {
        let pw = Password::new("metiva-demo").unwrap();
        let h = hash(&pw, 4).unwrap();
        assert!(h.starts_with("$2b$04$"), "{h}");
        assert!(verify(&pw, &h));
        assert!(!verify(&Password::new("metiva-demO").unwrap(), &h));
        assert!(!verify(&pw, "not a hash"));
    }

    #[test]
    fn refuses_overlong_and_empty_passwords() {
        assert_eq!(
            Password::new("a".repeat(73)).unwrap_err(),
            PasswordError::TooLong
        );
        assert!(Password::new("a".repeat(72)).is_ok());
        assert_eq!(Password::new("").unwrap_err(), PasswordError::Empty);
        assert_eq!(
            format!("{:?}", Password::new("secret").unwrap()),
            "Password(<redacted>)"
        );
    }
}
