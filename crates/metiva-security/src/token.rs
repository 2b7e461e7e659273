//! Access tokens: short-lived JWTs signed with Ed25519 (EdDSA), with a
//! `kid`. The login service holds the signing key; the dashboard holds
//! only public keys, and verifies every request with [`TokenVerifier`].
//!
//! # Security
//! - Algorithm allow-list of one: EdDSA. The header's `alg` is checked
//!   before anything else, so `none` and HS256-signed-with-the-public-key
//!   tokens are refused outright.
//! - The `kid` must name a key we hold; an unknown `kid` is refused, never
//!   "try all keys".
//! - `exp` and `nbf` are enforced with a small leeway; `iss` and `aud` must
//!   match; every claim must be present and of the right type (a string
//!   `exp` fails to deserialize and is refused).
//! - `company_id` must have the company-id shape; whether it resolves to an
//!   active membership is the tenant guard's job.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 5;

/// How long an access token lives (the login service mints `exp = iat +
/// this`). The verifier refuses any token claiming a longer life.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 600;

/// How long after its retirement a login instance may still sign with a
/// retired key: the longest it can go without hearing of a rotation (its
/// key set's untrusted reload interval). A retired key verifies only
/// tokens issued before `retired_at + SIGNER_GRACE_SECS`, so a token
/// signed by it stays valid until it expires and never longer.
pub const SIGNER_GRACE_SECS: i64 = 30;

/// The claims of an access token. Every field is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The tenant: the only source of a request's company.
    pub company_id: String,
    /// The session id, checked against revocation.
    pub sid: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's algorithm is not allowed")]
    AlgorithmNotAllowed,
    #[error("the token names an unknown key")]
    UnknownKey,
    /// Signed by a retired key after its retirement (or verified past the
    /// last moment a token of that key could still be alive).
    #[error("the token's key is retired")]
    RetiredKey,
    /// Past its `exp` (by jsonwebtoken's typed error kind, not its text):
    /// the client refreshes and retries.
    #[error("the token has expired")]
    Expired,
    #[error("the token is invalid: {0}")]
    Invalid(String),
    #[error("the token's company_id is malformed")]
    BadCompanyId,
    #[error("the token claims a lifetime longer than an access token has")]
    LifetimeTooLong,
    #[error("the signing key is malformed")]
    BadKey,
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// PKCS#8 v1 wrapping of a raw Ed25519 seed (RFC 8410): a fixed prefix.
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut der = PREFIX.to_vec();
    der.extend_from_slice(seed);
    der
}

/// A public key as the dashboard holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub kid: String,
    pub bytes: [u8; 32],
}

/// A public key received as 32 raw bytes (`METIVA_TOKEN_PUBLIC_KEY`),
/// named by the same `kid` rule the signer uses.
pub fn public_key_from_bytes(bytes: [u8; 32]) -> PublicKey {
    PublicKey {
        kid: kid_for(&bytes),
        bytes,
    }
}

fn kid_for(public: &[u8; 32]) -> String {
    format!("ed-{}", hex::encode(public.get(..6).unwrap_or_default()))
}

/// The login service's signing key. Never `Debug`-printed, never serialized.
pub struct TokenSigner {
    kid: String,
    key: EncodingKey,
    public: [u8; 32],
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenSigner(kid={}, key=<redacted>)", self.kid)
    }
}

impl TokenSigner {
    /// From a 32-byte Ed25519 seed (`METIVA_TOKEN_SIGNING_KEY`, base64).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let public = ed25519_dalek::SigningKey::from_bytes(seed)
            .verifying_key()
            .to_bytes();
        Self {
            kid: kid_for(&public),
            key: EncodingKey::from_ed_der(&ed25519_pkcs8(seed)),
            public,
        }
    }

    /// A fresh random key (development, and `metiva keygen`).
    pub fn generate() -> (Self, [u8; 32]) {
        let seed: [u8; 32] = rand::random();
        (Self::from_seed(&seed), seed)
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            kid: self.kid.clone(),
            bytes: self.public,
        }
    }

    #[tracing::instrument(skip_all)]
    pub fn mint(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|_| TokenError::BadKey)
    }
}

/// Verifies access tokens with public keys only.
pub struct TokenVerifier {
    /// By `kid`: the key, and when it was retired (Unix seconds), if it was.
    keys: HashMap<String, (DecodingKey, Option<i64>)>,
    validation: Validation,
}

impl TokenVerifier {
    pub fn new(keys: &[PublicKey], issuer: &str, audience: &str) -> Self {
        let keys: Vec<(PublicKey, Option<i64>)> = keys.iter().map(|k| (k.clone(), None)).collect();
        Self::with_retirements(&keys, issuer, audience)
    }

    /// As [`TokenVerifier::new`], each key with its retirement time (Unix
    /// seconds) when retired: see [`SIGNER_GRACE_SECS`].
    pub fn with_retirements(
        keys: &[(PublicKey, Option<i64>)],
        issuer: &str,
        audience: &str,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.algorithms = vec![Algorithm::EdDSA];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        Self {
            keys: keys
                .iter()
                .map(|(k, retired)| {
                    (
                        k.kid.clone(),
                        (DecodingKey::from_ed_der(&k.bytes), *retired),
                    )
                })
                .collect(),
            validation,
        }
    }

    #[tracing::instrument(skip_all)]
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        let (key, retired_at) = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            },
        )?;
        let c = data.claims;
        if !is_company_id(&c.company_id) {
            return Err(TokenError::BadCompanyId);
        }
        // Security: a validly signed token of any lifetime would outlive
        // every revocation window we promise. Ours live
        // ACCESS_TOKEN_TTL_SECS; refuse one that claims more (`exp` a year
        // out), one issued in the future, and so one issued long ago.
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        if c.exp.saturating_sub(c.iat) > ACCESS_TOKEN_TTL_SECS + leeway
            || c.iat > now_secs() + leeway
        {
            return Err(TokenError::LifetimeTooLong);
        }
        // Security: a retired key may have been retired because it leaked.
        // It verifies only tokens issued before its retirement (plus the
        // grace a login instance needs to hear of it), so whoever holds
        // it cannot mint fresh ones; and, belt and braces, nothing of it
        // past the last moment such a token can be alive.
        if let Some(retired_at) = *retired_at
            && (c.iat > retired_at + SIGNER_GRACE_SECS
                || now_secs() > retired_at + SIGNER_GRACE_SECS + ACCESS_TOKEN_TTL_SECS + 2 * leeway)
        {
            return Err(TokenError::RetiredKey);
        }
        Ok(c)
    }
}

fn is_company_id(s: &str) -> bool {
    s.strip_prefix("cmp_")
        .is_some_and(|h| h.len() == 6 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

#[cfg(test)]
mod tests {
    //! The token attack matrix, at the verifier. (The router-level cases
    //! that need a database, such as a revoked session or a suspended
    //! member, belong to the tenant guard.)

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use serde_json::{Value, json};

    use super::*;

    const ISS: &str = "http://127.0.0.1:3001";
    const AUD: &str = "http://127.0.0.1:3000";

    fn claims() -> AccessClaims {
        let now = now_secs();
        AccessClaims {
            iss: ISS.into(),
            aud: AUD.into(),
            sub: "00000000-0000-0000-0000-000000000001".into(),
            company_id: "cmp_8fa2c1".into(),
            sid: "sess_1".into(),
            iat: now,
            nbf: now,
            exp: now + 300,
        }
    }

    fn setup() -> (TokenSigner, TokenVerifier) {
        let (signer, _) = TokenSigner::generate();
        let verifier = TokenVerifier::new(&[signer.public_key()], ISS, AUD);
        (signer, verifier)
    }

    /// Re-signs arbitrary JSON claims with the real key (for type attacks).
    fn mint_json(signer: &TokenSigner, body: &Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(signer.public_key().kid);
        jsonwebtoken::encode(&header, body, &signer.key).unwrap()
    }

    fn with(f: impl FnOnce(&mut Value)) -> Value {
        let mut v = serde_json::to_value(claims()).unwrap();
        f(&mut v);
        v
    }

    #[test]
    fn a_good_token_verifies() {
        let (s, v) = setup();
        let c = claims();
        assert_eq!(v.verify(&s.mint(&c).unwrap()).unwrap(), c);
    }

    #[test]
    fn attack_matrix() {
        let (s, v) = setup();
        let good = s.mint(&claims()).unwrap();
        let parts: Vec<&str> = good.split('.').collect();
        let (h, p, sig) = (parts[0], parts[1], parts[2]);
        let now = now_secs();

        let mut cases: Vec<(&str, String)> = Vec::new();
        // Each case is refused, and for its own reason (checked below).
        // 1. alg none, no signature.
        let none_header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        cases.push(("alg none", format!("{none_header}.{p}.")));
        // 2. HS256 signed with the public key as the HMAC secret.
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some(s.public_key().kid);
        let hs_token = jsonwebtoken::encode(
            &hs,
            &claims(),
            &EncodingKey::from_secret(&s.public_key().bytes).unwrap(),
        )
        .unwrap();
        cases.push(("HS256 with the public key", hs_token));
        // 3. Unknown kid (a real signature by another key).
        let (other, _) = TokenSigner::generate();
        cases.push(("unknown kid", other.mint(&claims()).unwrap()));
        // 4. Missing kid.
        let no_kid =
            jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims(), &s.key).unwrap();
        cases.push(("missing kid", no_kid));
        // 5. Tampered payload (company switched, signature kept).
        let tampered = B64
            .encode(serde_json::to_vec(&with(|c| c["company_id"] = json!("cmp_1d47b9"))).unwrap());
        cases.push(("tampered payload", format!("{h}.{tampered}.{sig}")));
        // 6. Expired, beyond the leeway.
        cases.push((
            "expired",
            mint_json(&s, &with(|c| c["exp"] = json!(now - 60))),
        ));
        // 7. Not yet valid.
        cases.push((
            "nbf in the future",
            mint_json(&s, &with(|c| c["nbf"] = json!(now + 120))),
        ));
        // 8. Wrong issuer.
        cases.push((
            "wrong iss",
            mint_json(&s, &with(|c| c["iss"] = json!("http://evil.example"))),
        ));
        // 9. Wrong audience.
        cases.push((
            "wrong aud",
            mint_json(&s, &with(|c| c["aud"] = json!("http://evil.example"))),
        ));
        // 10. Missing company_id.
        cases.push((
            "missing company_id",
            mint_json(
                &s,
                &with(|c| {
                    c.as_object_mut().unwrap().remove("company_id");
                }),
            ),
        ));
        // 11. String-typed exp.
        cases.push((
            "string exp",
            mint_json(&s, &with(|c| c["exp"] = json!((now + 300).to_string()))),
        ));
        // 12. Malformed company_id.
        cases.push((
            "malformed company_id",
            mint_json(&s, &with(|c| c["company_id"] = json!("' OR 1=1 --"))),
        ));
        // 13. Missing sid.
        cases.push((
            "missing sid",
            mint_json(
                &s,
                &with(|c| {
                    c.as_object_mut().unwrap().remove("sid");
                }),
            ),
        ));
        // 14. Garbage.
        cases.push(("garbage", "not.a.token".into()));
        // 13b. A year-long lifetime, validly signed.
        cases.push((
            "exp a year out",
            mint_json(&s, &with(|c| c["exp"] = json!(now + 365 * 86_400))),
        ));
        // 13c. Issued 30 days ago, still unexpired.
        cases.push((
            "iat 30 days old",
            mint_json(&s, &with(|c| c["iat"] = json!(now - 30 * 86_400))),
        ));
        // 13d. Issued in the future.
        cases.push((
            "iat in the future",
            mint_json(&s, &with(|c| c["iat"] = json!(now + 3_600))),
        ));
        // 15. Empty.
        cases.push(("empty", String::new()));
        // 16. Signature stripped.
        cases.push(("no signature", format!("{h}.{p}.")));

        assert!(cases.len() >= 15);
        let reason = |name: &str| match name {
            "alg none" => "Malformed",
            "HS256 with the public key" => "AlgorithmNotAllowed",
            "unknown kid" => "UnknownKey",
            "missing kid" => "UnknownKey",
            "tampered payload" => "InvalidSignature",
            "expired" => "Expired",
            "nbf in the future" => "ImmatureSignature",
            "wrong iss" => "InvalidIssuer",
            "wrong aud" => "InvalidAudience",
            "missing company_id" => "missing field `company_id`",
            "string exp" => "invalid type: string",
            "malformed company_id" => "BadCompanyId",
            "missing sid" => "missing field `sid`",
            "garbage" => "Malformed",
            "empty" => "Malformed",
            "no signature" => "InvalidSignature",
            "exp a year out" | "iat 30 days old" | "iat in the future" => "LifetimeTooLong",
            other => panic!("no expected reason for {other}"),
        };
        for (name, token) in cases {
            let got = v.verify(&token);
            let err = format!("{got:?}");
            assert!(got.is_err(), "accepted: {name}");
            assert!(
                err.contains(reason(name)),
                "{name}: refused for the wrong reason: {err}"
            );
        }
    }

    #[test]
    fn the_leeway_is_small_but_real() {
        let (s, v) = setup();
        let now = now_secs();
        let just_expired = mint_json(&s, &with(|c| c["exp"] = json!(now - 2)));
        assert!(
            v.verify(&just_expired).is_ok(),
            "within {LEEWAY_SECS} s of leeway"
        );
    }

    #[test]
    fn the_signer_never_prints_its_key() {
        let (s, _) = TokenSigner::generate();
        let dbg = format!("{s:?}");
        assert!(
            dbg.contains("<redacted>") && dbg.contains("kid=ed-"),
            "{dbg}"
        );
    }

    /// Rotation: a retired key verifies tokens issued before its
    /// retirement (plus the signer's grace) until they expire, and never a
    /// token issued later; an unknown kid fails closed.
    #[test]
    fn retired_keys_verify_old_tokens_only() {
        let (old, _) = TokenSigner::generate();
        let (new, _) = TokenSigner::generate();
        let now = now_secs();
        let retired_at = now - 10;
        let v = TokenVerifier::with_retirements(
            &[
                (old.public_key(), Some(retired_at)),
                (new.public_key(), None),
            ],
            ISS,
            AUD,
        );
        // Issued before the retirement, still alive: valid.
        let before = mint_json(
            &old,
            &with(|c| {
                c["iat"] = json!(retired_at - 60);
                c["nbf"] = json!(retired_at - 60);
                c["exp"] = json!(retired_at - 60 + ACCESS_TOKEN_TTL_SECS);
            }),
        );
        assert!(v.verify(&before).is_ok());
        // Issued by a stale signer inside the grace: valid.
        let in_grace = mint_json(&old, &with(|c| c["iat"] = json!(now)));
        assert!(v.verify(&in_grace).is_ok());
        // Minted with the retired key after the grace: refused.
        let v_late = TokenVerifier::with_retirements(
            &[(old.public_key(), Some(now - SIGNER_GRACE_SECS - 5))],
            ISS,
            AUD,
        );
        assert_eq!(
            v_late.verify(&old.mint(&claims()).unwrap()),
            Err(TokenError::RetiredKey)
        );
        // Past the last moment any token of the key can be alive: refused
        // even when the token's own exp says otherwise.
        let v_gone =
            TokenVerifier::with_retirements(&[(old.public_key(), Some(now - 3_600))], ISS, AUD);
        assert_eq!(
            v_gone.verify(&old.mint(&claims()).unwrap()),
            Err(TokenError::RetiredKey)
        );
        // The new key signs as usual; a third key is unknown.
        assert!(v.verify(&new.mint(&claims()).unwrap()).is_ok());
        let (stranger, _) = TokenSigner::generate();
        assert_eq!(
            v.verify(&stranger.mint(&claims()).unwrap()),
            Err(TokenError::UnknownKey)
        );
    }
}
