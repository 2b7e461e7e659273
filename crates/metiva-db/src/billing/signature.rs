//! Stripe's webhook signature, exactly as Stripe documents it: the
//! `Stripe-Signature` header `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where
//! each `v1` is HMAC-SHA256, keyed with the endpoint's signing secret,
//! over `"{t}.{raw body}"`.
//!
//! # Security
//! - The MAC is checked over the raw bytes as received, before anything
//!   parses the body: a body changed by one byte fails.
//! - Every `v1` is compared in constant time (`hmac`'s `verify_slice`),
//!   and the header is accepted if any one of them matches (Stripe sends
//!   several while a secret is being rolled).
//! - `v0` (and any other scheme) is ignored: a header with only `v0`
//!   has no signature we accept.
//! - The timestamp must lie within [`TOLERANCE_SECS`] of now, in either
//!   direction, so a captured request cannot be replayed later (and one
//!   stamped in the future is not a way round that). Replays inside the
//!   window are caught by the event-id deduplication.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far the signed timestamp may be from now, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused (each a 400; the reason is for logs and
/// the message, never a hint at the secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    /// No `v1` element at all (for example `v0` only).
    NoV1,
    /// Outside the tolerance, past or future.
    Stale,
    /// No `v1` matched.
    Mismatch,
}

impl SignatureError {
    pub fn message(self) -> &'static str {
        match self {
            SignatureError::Missing => "The Stripe-Signature header is missing.",
            SignatureError::Malformed => "The Stripe-Signature header is malformed.",
            SignatureError::NoV1 => "The Stripe-Signature header has no v1 signature.",
            SignatureError::Stale => "The signature's timestamp is outside the tolerance.",
            SignatureError::Mismatch => "No signature matches the payload.",
        }
    }
}

/// Checks `header` (None when absent) over `body` with `secret`, at
/// `now` (unix seconds). Ok is the signed timestamp.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secret: &[u8],
    now: i64,
) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if header.len() > 4096 {
        return Err(SignatureError::Malformed);
    }
    let mut timestamp: Option<i64> = None;
    let mut v1: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match k {
            "t" => {
                // Digits only (no sign, no spaces): one timestamp.
                if timestamp.is_some() || v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(SignatureError::Malformed);
                }
                timestamp = Some(v.parse().map_err(|_| SignatureError::Malformed)?);
            }
            "v1" => {
                // A malformed v1 cannot match; it does not spoil a good one.
                if let Ok(mac) = hex::decode(v) {
                    v1.push(mac);
                }
            }
            // v0 and unknown schemes are ignored, as Stripe's libraries do.
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if v1.is_empty() {
        return Err(SignatureError::NoV1);
    }
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    // Constant time per candidate, and every candidate is tried.
    let matched = v1
        .iter()
        .fold(false, |ok, sig| mac.clone().verify_slice(sig).is_ok() | ok);
    if matched {
        Ok(t)
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `v1` signature of `body` at `t` (for the fake Stripe and tests).
pub fn sign(body: &[u8], secret: &[u8], t: i64) -> String {
    // HMAC takes a key of any length; this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;
    const NOW: i64 = 1_800_000_000;

    fn header(t: i64) -> String {
        format!("t={t},v1={}", sign(BODY, SECRET, t))
    }

    #[test]
    fn a_good_signature_passes_and_anything_off_fails() {
        assert_eq!(verify(Some(&header(NOW)), BODY, SECRET, NOW), Ok(NOW));
        assert_eq!(
            verify(None, BODY, SECRET, NOW),
            Err(SignatureError::Missing)
        );
        for bad in [
            "",
            "garbage",
            "t=abc,v1=00",
            "v1=00",
            "t=-5,v1=00",
            "t=1,t=2,v1=00",
        ] {
            assert_eq!(
                verify(Some(bad), BODY, SECRET, NOW),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        // ±301 s is outside; ±300 s inside.
        assert_eq!(
            verify(Some(&header(NOW - 301)), BODY, SECRET, NOW),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&header(NOW + 301)), BODY, SECRET, NOW),
            Err(SignatureError::Stale)
        );
        assert!(verify(Some(&header(NOW - 300)), BODY, SECRET, NOW).is_ok());
        assert!(verify(Some(&header(NOW + 300)), BODY, SECRET, NOW).is_ok());
        // Wrong secret, one byte changed.
        assert_eq!(
            verify(Some(&header(NOW)), BODY, b"whsec_other", NOW),
            Err(SignatureError::Mismatch)
        );
        let mut changed = BODY.to_vec();
        changed[10] ^= 1;
        assert_eq!(
            verify(Some(&header(NOW)), &changed, SECRET, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_v1_may_match_and_v0_is_ignored() {
        let good = sign(BODY, SECRET, NOW);
        let several = format!("t={NOW},v1={},v1=zz,v1={good}", "ab".repeat(32));
        assert_eq!(verify(Some(&several), BODY, SECRET, NOW), Ok(NOW));
        let v0_only = format!("t={NOW},v0={good}");
        assert_eq!(
            verify(Some(&v0_only), BODY, SECRET, NOW),
            Err(SignatureError::NoV1)
        );
    }
}
