//! Identifiers as the ad platforms want them: normalised exactly as each
//! platform documents, then SHA-256 as lower-case hex. Nothing here keeps
//! or logs the raw value.
//!
//! - Email (Google Ads enhanced conversions, Meta CAPI `em`): trimmed and
//!   lower-cased.
//! - Phone: E.164. Google Ads hashes it with the leading `+`
//!   (`+31612345678`); Meta hashes the digits only, country code first, no
//!   `+` and no leading zeros (`31612345678`).

use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of `s`.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A trimmed, lower-cased email; `None` when it cannot be one.
pub fn normalise_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    (!local.is_empty() && domain.contains('.') && !e.chars().any(char::is_whitespace)).then_some(e)
}

/// A phone number in E.164 (`+` and 8 to 15 digits). Numbers written
/// nationally are read as Dutch (`06 1234 5678` → `+31612345678`), the
/// workspace's market; `00` is the international prefix. `None` when no
/// E.164 number can be made: better no identifier than a wrong one.
pub fn normalise_phone(raw: &str) -> Option<String> {
    // "(0)" is the Dutch trunk prefix written inside an international
    // number (`+31 (0)6 …`): never dialled, never part of E.164.
    let cleaned = raw.replace("(0)", "");
    let t = cleaned.trim();
    let plus = t.starts_with('+');
    if !t
        .chars()
        .all(|c| c.is_ascii_digit() || " -.()/+".contains(c))
        || t.chars().skip(1).any(|c| c == '+')
    {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("31{rest}")
    } else {
        return None;
    };
    let ok = (8..=15).contains(&international.len()) && !international.starts_with('0');
    ok.then(|| format!("+{international}"))
}

/// The hashed identifiers of one person, per platform.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HashedIds {
    pub email: Option<String>,
    /// Google Ads: SHA-256 of the E.164 number with `+`.
    pub phone_e164: Option<String>,
    /// Meta: SHA-256 of the E.164 digits without `+`.
    pub phone_digits: Option<String>,
}

impl HashedIds {
    pub fn of(email: Option<&str>, phone: Option<&str>) -> Self {
        let phone = phone.and_then(normalise_phone);
        Self {
            email: email.and_then(normalise_email).map(|e| sha256_hex(&e)),
            phone_digits: phone
                .as_deref()
                .map(|p| sha256_hex(p.trim_start_matches('+'))),
            phone_e164: phone.map(|p| sha256_hex(&p)),
        }
    }

    /// Nothing to match the person by.
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.phone_e164.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased_before_hashing() {
        assert_eq!(
            normalise_email("  Jan.de.Vries@Example.NL \n").as_deref(),
            Some("jan.de.vries@example.nl")
        );
        assert_eq!(normalise_email("no-at-sign"), None);
        assert_eq!(normalise_email("a b@example.nl"), None);
        // The documented SHA-256 of "test@example.com".
        assert_eq!(
            sha256_hex("test@example.com"),
            "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
        );
    }

    #[test]
    fn phones_become_e164() {
        for (raw, want) in [
            ("+31 6 1234 5678", Some("+31612345678")),
            ("06-12345678", Some("+31612345678")),
            ("0031 (0)6 12345678", Some("+31612345678")),
            ("+31 (0)6 12345678", Some("+31612345678")),
            ("0031 6 12345678", Some("+31612345678")),
            ("+1 (650) 555-1234", Some("+16505551234")),
            ("12345", None),
            ("call me", None),
            ("+31+6", None),
        ] {
            assert_eq!(normalise_phone(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn google_hashes_the_plus_and_meta_the_digits() {
        let ids = HashedIds::of(Some("A@B.nl"), Some("06 12345678"));
        assert_eq!(ids.email, Some(sha256_hex("a@b.nl")));
        assert_eq!(ids.phone_e164, Some(sha256_hex("+31612345678")));
        assert_eq!(ids.phone_digits, Some(sha256_hex("31612345678")));
        assert!(HashedIds::of(None, Some("x")).is_empty());
    }
}
