//! The token signing keys as one process holds them: the dashboard's
//! verifier and the login service's signer, loaded from
//! `token_signing_keys` (see `metiva_db::signing_keys`) and kept current
//! across instances by the cache bus (`NOTIFY metiva_cache,
//! 'signing_keys'`).
//!
//! # Security
//! - The table is the authority for every kid it lists. The environment's
//!   keys (`METIVA_TOKEN_SIGNING_KEY`, `METIVA_TOKEN_PUBLIC_KEY`) count only
//!   while the table does not know them: once the first rotation has
//!   stored and then retired the environment's key, its retirement holds
//!   even though the variable is still set. With an empty table (never
//!   rotated) the environment's keys work as before.
//! - Verification accepts `next`, `current`, and `retired` keys for tokens
//!   issued before their retirement (plus [`SIGNER_GRACE_SECS`]), until
//!   those expire (`TokenVerifier::with_retirements`). An unknown kid is
//!   refused; it triggers at most one reload a second (a rotation this
//!   instance has not heard of yet), never "try every key".
//! - Staleness is bounded: while the bus is trusted a change arrives by
//!   NOTIFY and the set is reloaded at least every [`TRUSTED_MAX_AGE`];
//!   while it is not (listener down, or behind a transaction-mode pooler)
//!   the set is reloaded when older than [`SIGNER_GRACE_SECS`], so a login
//!   instance never signs with a retired key past the grace the verifiers
//!   allow.
//! - If the keys cannot be loaded and none were loaded before, nothing
//!   verifies and nothing signs (503): fail closed.
//! - A loaded view remembers the tokens it fully verified, by their exact
//!   text, so a browser's next requests skip the Ed25519 check (a fifth of
//!   a guarded page's CPU; issue 15). See [`Loaded::remembered`]: expiry
//!   is checked on every request, the memory dies with the view (any
//!   change of the key set is a new view), and a view holding a retired
//!   key remembers nothing, so retirement windows are always checked in
//!   full.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use metiva_db::signing_keys::{KeyState, SigningKeyInfo};
use metiva_db::{Database, DbError};
use metiva_security::token::{
    ACCESS_TOKEN_TTL_SECS, AccessClaims, LEEWAY_SECS, PublicKey, SIGNER_GRACE_SECS, TokenError,
    TokenSigner, TokenVerifier, now_secs,
};

/// Reload at least this often while the cache bus is trusted.
pub const TRUSTED_MAX_AGE: Duration = Duration::from_secs(300);
/// An unknown kid reloads the set at most this often.
const UNKNOWN_KID_RELOAD: Duration = Duration::from_secs(1);
/// Key ages past this are flagged (security page, `metiva check`).
pub const AGE_WARNING_DAYS: i64 = 90;

/// Which half this process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Public keys only (the dashboard, role `metiva_app`).
    Verify,
    /// Sealed seeds too (the login service, role `metiva_login`).
    Sign,
}

/// One loaded view of the keys.
pub struct Loaded {
    verifier: TokenVerifier,
    signer: Option<Arc<TokenSigner>>,
    /// What the JWKS publishes: next, current, and retired keys that may
    /// still verify.
    published: Vec<PublicKey>,
    /// The table's rows (empty before the first rotation).
    pub table: Vec<SigningKeyInfo>,
    at: Instant,
    /// Tokens this view fully verified, by their exact text (see
    /// [`Loaded::remembered`]); `None` while it holds a retired key.
    verified: Option<Mutex<HashMap<Box<str>, AccessClaims>>>,
}

/// The most tokens a view remembers; when full it forgets them all (each
/// then costs one full verification again). Live tokens are few: one per
/// signed-in browser, for [`ACCESS_TOKEN_TTL_SECS`].
const REMEMBERED_TOKENS: usize = 4096;

impl Loaded {
    /// The claims of a token this view fully verified before, if it has
    /// not expired since.
    ///
    /// # Security
    /// The key is the token's exact text, so a hit is the very bytes whose
    /// signature, `alg`, `kid`, issuer, audience, claim types and lifetime
    /// passed under this same key set. Of the checks, only those that
    /// read the clock can change later: `nbf` and `iat` only become easier
    /// to pass, and expiry is checked here again, without leeway (a token
    /// in its leeway seconds takes the full check, which answers the same).
    /// Whether the session is still live is not a token matter: the guard
    /// resolves every request's membership and session after this.
    fn remembered(&self, token: &str) -> Option<AccessClaims> {
        let memo = self.verified.as_ref()?.lock().ok()?;
        memo.get(token).filter(|c| now_secs() < c.exp).cloned()
    }

    /// Remembers a token that just passed the full check. Refused tokens
    /// are never remembered, so only validly signed tokens take room.
    fn remember(&self, token: &str, claims: &AccessClaims) {
        let Some(Ok(mut memo)) = self.verified.as_ref().map(Mutex::lock) else {
            return;
        };
        if memo.len() >= REMEMBERED_TOKENS {
            memo.clear();
        }
        memo.insert(token.into(), claims.clone());
    }

    /// The full check, remembered when it passes.
    fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        if let Some(c) = self.remembered(token) {
            return Ok(c);
        }
        let claims = self.verifier.verify(token)?;
        self.remember(token, &claims);
        Ok(claims)
    }
}

/// Why a token did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    Token(TokenError),
    /// The keys could not be loaded (the database is away).
    Unavailable,
}

/// The process's signing keys (see the module docs).
pub struct SigningKeys {
    db: Database,
    side: Side,
    field_keys: Arc<metiva_security::cipher::KeyRing>,
    env_signer: Option<Arc<TokenSigner>>,
    env_public: Vec<PublicKey>,
    issuer: String,
    audience: String,
    /// The cache buses followed; the keys are trusted fresh while any
    /// of them is (they all listen to the same database).
    buses: RwLock<Vec<Arc<metiva_db::notify::CacheBus>>>,
    loaded: RwLock<Option<Arc<Loaded>>>,
    stale: AtomicBool,
    reload: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("side", &self.side)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// The dashboard's verifier: `db` is the app pool.
    pub fn verifier(
        db: Database,
        keys: &crate::keys::Keys,
        issuer: &str,
        audience: &str,
    ) -> Arc<Self> {
        Self::build(db, Side::Verify, keys, issuer, audience)
    }

    /// The login service's signer: `db` is the login role's pool.
    pub fn signer(db: Database, keys: &crate::keys::Keys, issuer: &str) -> Arc<Self> {
        Self::build(db, Side::Sign, keys, issuer, "")
    }

    fn build(
        db: Database,
        side: Side,
        keys: &crate::keys::Keys,
        issuer: &str,
        audience: &str,
    ) -> Arc<Self> {
        let bus = db.cache_bus();
        let this = Arc::new(Self {
            db,
            side,
            field_keys: keys.field_keys.clone(),
            env_signer: keys.signer.clone(),
            env_public: keys.public.clone(),
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            buses: RwLock::new(Vec::new()),
            loaded: RwLock::new(None),
            stale: AtomicBool::new(true),
            reload: tokio::sync::Mutex::new(None),
        });
        this.follow(&bus);
        this
    }

    /// Also follows `bus` (the login service, whose own pool may sit
    /// behind a transaction-mode pooler, follows the app pool's listener,
    /// which `DATABASE_LISTEN_URL` points at the server).
    pub fn follow(self: &Arc<Self>, bus: &Arc<metiva_db::notify::CacheBus>) {
        let weak: Weak<Self> = Arc::downgrade(self);
        bus.subscribe(move |event| {
            use metiva_db::notify::CacheEvent;
            let relevant = match event {
                CacheEvent::Connected | CacheEvent::Lost => true,
                CacheEvent::Changed(what) => what == "signing_keys",
            };
            if relevant && let Some(s) = weak.upgrade() {
                s.stale.store(true, Ordering::SeqCst);
            }
        });
        if let Ok(mut buses) = self.buses.write() {
            buses.push(bus.clone());
        }
        // Whatever was loaded may predate this bus's view.
        self.stale.store(true, Ordering::SeqCst);
    }

    fn max_age(&self) -> Duration {
        let trusted = self
            .buses
            .read()
            .is_ok_and(|b| b.iter().any(|b| b.is_trusted()));
        if trusted {
            TRUSTED_MAX_AGE
        } else {
            Duration::from_secs(SIGNER_GRACE_SECS.unsigned_abs())
        }
    }

    fn cached(&self) -> Option<Arc<Loaded>> {
        self.loaded.read().ok().and_then(|l| l.clone())
    }

    /// The current view, reloaded when stale (see the module docs).
    pub async fn current(&self) -> Result<Arc<Loaded>, DbError> {
        if let Some(l) = self.cached()
            && !self.stale.load(Ordering::SeqCst)
            && l.at.elapsed() < self.max_age()
        {
            return Ok(l);
        }
        self.reload(false).await
    }

    /// Loads the keys again (`force`: even if another caller just did).
    async fn reload(&self, force: bool) -> Result<Arc<Loaded>, DbError> {
        let mut last = self.reload.lock().await;
        // Someone reloaded while we waited: use theirs.
        if !force
            && let Some(l) = self.cached()
            && !self.stale.load(Ordering::SeqCst)
            && l.at.elapsed() < self.max_age()
        {
            return Ok(l);
        }
        *last = Some(Instant::now());
        // Cleared before the read: a NOTIFY arriving during it marks the
        // result stale again.
        self.stale.store(false, Ordering::SeqCst);
        match self.load().await {
            Ok(l) => {
                let l = Arc::new(l);
                if let Ok(mut slot) = self.loaded.write() {
                    *slot = Some(l.clone());
                }
                Ok(l)
            }
            Err(e) => {
                self.stale.store(true, Ordering::SeqCst);
                tracing::warn!(error = %e, "loading the token signing keys");
                // A previous view is still sound for the keys it knows:
                // retirement windows are checked against the clock.
                self.cached().ok_or(e)
            }
        }
    }

    async fn load(&self) -> Result<Loaded, DbError> {
        let (table, signer) = match self.side {
            Side::Verify => (self.db.signing_keys_public().await?, None),
            Side::Sign => {
                let sealed = self.db.signing_keys_sealed().await?;
                let signer = match sealed.iter().find(|k| k.info.state == KeyState::Current) {
                    // Fail closed: a current key that does not open (wrong
                    // master key) means no signing, not the env key.
                    Some(k) => Some(Arc::new(k.open(&self.field_keys)?)),
                    None => None,
                };
                (sealed.into_iter().map(|k| k.info).collect(), signer)
            }
        };
        let signer = match signer {
            Some(s) => Some(s),
            None => self
                .env_signer
                .clone()
                .filter(|s| !table.iter().any(|k| k.public.kid == s.public_key().kid)),
        };
        let now = chrono::Utc::now().timestamp();
        let alive_until =
            SIGNER_GRACE_SECS + ACCESS_TOKEN_TTL_SECS + 2 * i64::try_from(LEEWAY_SECS).unwrap_or(0);
        let mut keys: Vec<(PublicKey, Option<i64>)> = table
            .iter()
            .filter_map(|k| match (k.state, k.retired_at) {
                (KeyState::Retired, Some(at)) => (at.timestamp() + alive_until >= now)
                    .then(|| (k.public.clone(), Some(at.timestamp()))),
                (KeyState::Retired, None) => None,
                _ => Some((k.public.clone(), None)),
            })
            .collect();
        let mut env: Vec<PublicKey> = self.env_public.clone();
        if let Some(s) = &self.env_signer {
            env.push(s.public_key());
        }
        for pk in env {
            let known = table.iter().any(|k| k.public.kid == pk.kid)
                || keys.iter().any(|(k, _)| k.kid == pk.kid);
            if !known {
                keys.push((pk, None));
            }
        }
        // A retired key's tokens verify only inside its windows, which
        // read the clock: such a view checks every token in full.
        let any_retired = keys.iter().any(|(_, retired)| retired.is_some());
        Ok(Loaded {
            verifier: TokenVerifier::with_retirements(&keys, &self.issuer, &self.audience),
            verified: (!any_retired).then(|| Mutex::new(HashMap::new())),
            signer,
            published: keys.into_iter().map(|(k, _)| k).collect(),
            table,
            at: Instant::now(),
        })
    }

    /// Verifies a dashboard token (see the module docs).
    pub async fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        let loaded = self.current().await.map_err(|_| VerifyError::Unavailable)?;
        match loaded.verify(token) {
            Err(TokenError::UnknownKey) => {
                // Perhaps a rotation we have not heard of: reload once,
                // at most once a second, then decide.
                let recent = self
                    .reload
                    .lock()
                    .await
                    .is_some_and(|at| at.elapsed() < UNKNOWN_KID_RELOAD);
                if recent {
                    return Err(VerifyError::Token(TokenError::UnknownKey));
                }
                let fresh = self
                    .reload(true)
                    .await
                    .map_err(|_| VerifyError::Unavailable)?;
                fresh.verify(token).map_err(VerifyError::Token)
            }
            other => other.map_err(VerifyError::Token),
        }
    }

    /// The key the login service signs with now.
    pub async fn signing_key(&self) -> Result<Arc<TokenSigner>, DbError> {
        self.current()
            .await?
            .signer
            .clone()
            .ok_or_else(|| DbError::Internal("no token signing key".into()))
    }

    /// What the JWKS publishes.
    pub async fn published(&self) -> Result<Vec<PublicKey>, DbError> {
        Ok(self.current().await?.published.clone())
    }
}

/// `metiva keys rotate-signing`: next → current, current → retired, a
/// fresh next; on the first run the environment's key is stored first
/// (so its live tokens keep verifying until they expire). Every instance
/// hears of it by NOTIFY (or within 30 s without a listener).
pub async fn rotate(config: &crate::config::Config) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use base64::Engine as _;
    let keys = crate::keys::Keys::load(config)?;
    let bootstrap = match &config.token_signing_key {
        Some(s) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .context("METIVA_TOKEN_SIGNING_KEY is not valid base64")?;
            Some(<[u8; 32]>::try_from(bytes).map_err(|b| {
                anyhow::anyhow!(
                    "METIVA_TOKEN_SIGNING_KEY decodes to {} bytes, not 32",
                    b.len()
                )
            })?)
        }
        None => None,
    };
    let report =
        crate::database::with_owner(config, "rotate the token signing key of", async |db| {
            db.rotate_signing_keys(&keys.field_keys, bootstrap.as_ref(), RETIRED_KEPT)
                .await
                .context("rotating the token signing key")
        })
        .await?;
    if report.initialised {
        println!("token signing keys: first rotation; the previous key was stored and retired");
    }
    println!(
        "token signing key rotated: current {}, next {}, retired {}; tokens of the retired key stay valid until they expire ({} s at most); {} old key(s) pruned",
        report.current,
        report.next,
        report.retired.as_deref().unwrap_or("none"),
        ACCESS_TOKEN_TTL_SECS + SIGNER_GRACE_SECS,
        report.pruned
    );
    Ok(())
}

/// Retired keys are kept this long (shown as history; they verify nothing
/// after their window).
pub const RETIRED_KEPT: Duration = Duration::from_secs(30 * 86_400);

#[cfg(test)]
mod tests {
    use super::*;

    fn view(remembers: bool) -> Loaded {
        Loaded {
            verifier: TokenVerifier::new(&[], "http://login", "http://app"),
            signer: None,
            published: Vec::new(),
            table: Vec::new(),
            at: Instant::now(),
            verified: remembers.then(|| Mutex::new(HashMap::new())),
        }
    }

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "http://login".into(),
            aud: "http://app".into(),
            sub: "00000000-0000-0000-0000-000000000001".into(),
            company_id: "cmp_8fa2c1".into(),
            sid: "00000000-0000-0000-0000-000000000002".into(),
            iat: exp - 600,
            nbf: exp - 600,
            exp,
        }
    }

    #[test]
    fn a_remembered_token_answers_only_until_it_expires() {
        let v = view(true);
        let live = claims(now_secs() + 300);
        v.remember("live", &live);
        assert_eq!(v.remembered("live"), Some(live));
        // Expired since it was verified: the full check decides again.
        v.remember("expired", &claims(now_secs() - 1));
        assert_eq!(v.remembered("expired"), None);
        // Only the exact text is remembered.
        assert_eq!(v.remembered("live "), None);
        assert_eq!(v.remembered("other"), None);
    }

    #[test]
    fn a_view_with_a_retired_key_remembers_nothing() {
        let v = view(false);
        v.remember("live", &claims(now_secs() + 300));
        assert_eq!(v.remembered("live"), None);
    }

    #[test]
    fn the_memory_is_bounded() {
        let v = view(true);
        for i in 0..=REMEMBERED_TOKENS {
            v.remember(&format!("t{i}"), &claims(now_secs() + 300));
        }
        let n = v
            .verified
            .as_ref()
            .map_or(0, |m| m.lock().map_or(0, |m| m.len()));
        assert!(n <= REMEMBERED_TOKENS, "{n}");
    }
}
