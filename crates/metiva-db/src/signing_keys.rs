//! The token signing keys (migration `token_signing_keys`): global rows
//! read by every instance, written by the owner's
//! `metiva keys rotate-signing` and by the scheduled rotation
//! (`keys.rotate_signing`, as the login role, which already holds the
//! seeds).
//!
//! # Security
//! - The private seed is sealed with the master key (field cipher, bound to
//!   this table, column and kid), and the app role's grant leaves its
//!   columns out: [`Database::signing_keys_public`] is all the dashboard
//!   can read. [`Database::signing_keys_sealed`] works for the login role
//!   only.
//! - A rotation is one transaction under an exclusive table lock, so two
//!   operators rotating at once rotate twice, in order, never into two
//!   current keys (the partial unique index refuses that too).

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Bytea, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use metiva_security::cipher::{FieldContext, KeyRing, Sealed};
use metiva_security::token::{PublicKey, TokenSigner};

use diesel_async::AsyncPgConnection;

use crate::{Database, DbError};

/// A key's place in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published and verifying; signs after the next rotation.
    Next,
    /// Signs.
    Current,
    /// Verifies tokens issued before `retired_at` until they expire.
    Retired,
}

impl KeyState {
    fn parse(s: &str) -> Result<Self, DbError> {
        match s {
            "next" => Ok(Self::Next),
            "current" => Ok(Self::Current),
            "retired" => Ok(Self::Retired),
            other => Err(DbError::Internal(format!(
                "unknown signing key state {other:?}"
            ))),
        }
    }
}

/// A key as every instance sees it: public part and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyInfo {
    pub public: PublicKey,
    pub state: KeyState,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl SigningKeyInfo {
    /// How long the key has signed (current), or existed (otherwise).
    pub fn age(&self, now: DateTime<Utc>) -> chrono::Duration {
        now - self.activated_at.unwrap_or(self.created_at)
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    kid: String,
    #[diesel(sql_type = Bytea)]
    public_key: Vec<u8>,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    activated_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    retired_at: Option<DateTime<Utc>>,
}

impl Row {
    fn info(self) -> Result<SigningKeyInfo, DbError> {
        let bytes: [u8; 32] = self
            .public_key
            .try_into()
            .map_err(|_| DbError::Internal("a signing key's public key is not 32 bytes".into()))?;
        let public = metiva_security::token::public_key_from_bytes(bytes);
        // Fail closed: a row whose kid does not match its key is refused.
        if public.kid != self.kid {
            return Err(DbError::Internal(format!(
                "signing key {} does not match its public key",
                self.kid
            )));
        }
        Ok(SigningKeyInfo {
            public,
            state: KeyState::parse(&self.state)?,
            created_at: self.created_at,
            activated_at: self.activated_at,
            retired_at: self.retired_at,
        })
    }
}

#[derive(QueryableByName)]
struct SealedRow {
    #[diesel(embed)]
    key: Row,
    #[diesel(sql_type = Text)]
    seed_key_id: String,
    #[diesel(sql_type = Bytea)]
    seed_nonce: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    seed_ciphertext: Vec<u8>,
}

/// A key with its sealed seed (the login service opens it).
#[derive(Debug, Clone)]
pub struct SealedSigningKey {
    pub info: SigningKeyInfo,
    pub sealed: Sealed,
}

impl SealedSigningKey {
    /// Opens the seed with the master key and checks it is the key the
    /// row says it is.
    pub fn open(&self, ring: &KeyRing) -> Result<TokenSigner, DbError> {
        let kid = &self.info.public.kid;
        let seed = ring
            .open(&self.sealed, &seed_context(kid))
            .map_err(|e| DbError::Internal(format!("opening signing key {kid}: {e}")))?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| DbError::Internal(format!("signing key {kid}: seed is not 32 bytes")))?;
        let signer = TokenSigner::from_seed(&seed);
        if signer.public_key() != self.info.public {
            return Err(DbError::Internal(format!(
                "signing key {kid}: the seed does not match the public key"
            )));
        }
        Ok(signer)
    }
}

fn seed_context(kid: &str) -> FieldContext<'_> {
    FieldContext {
        company_id: "",
        table: "token_signing_keys",
        column: "seed",
        row_id: kid,
    }
}

const PUBLIC_COLUMNS: &str = "kid, public_key, state, created_at, activated_at, retired_at";

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// The table was empty: the first current key was stored (the
    /// environment's key when given, so its live tokens keep verifying).
    pub initialised: bool,
    pub retired: Option<String>,
    pub current: String,
    pub next: String,
    /// Retired keys deleted, long past any token of theirs.
    pub pruned: usize,
}

/// The signing keys' public parts, oldest first, on `conn`: a global
/// table without RLS (no tenant rows), read the same in a global
/// transaction or inside a tenant one (the security page's, issue 15).
pub(crate) async fn public_keys_on(
    conn: &mut &AsyncPgConnection,
) -> Result<Vec<SigningKeyInfo>, DbError> {
    // Raw SQL: a global table outside the tenant repositories. A constant
    // text (PUBLIC_COLUMNS spelled out), so it is prepared once per
    // connection: the security page reads it on every view (issue 15).
    let rows: Vec<Row> = crate::repo::cached::sql(
        "SELECT kid, public_key, state, created_at, activated_at, retired_at
         FROM token_signing_keys ORDER BY created_at",
    )
    .load(conn)
    .await?;
    rows.into_iter().map(Row::info).collect()
}

impl Database {
    /// Global read of the signing keys' public parts (any runtime role).
    pub async fn signing_keys_public(&self) -> Result<Vec<SigningKeyInfo>, DbError> {
        self.global(async |conn| public_keys_on(conn).await).await
    }

    /// Global read of the signing keys with their sealed seeds: the login
    /// role only (the app role has no grant on the seed columns).
    pub async fn signing_keys_sealed(&self) -> Result<Vec<SealedSigningKey>, DbError> {
        let rows: Vec<SealedRow> = self
            .global(async |conn| {
                Ok(diesel::sql_query(format!(
                    "SELECT {PUBLIC_COLUMNS}, seed_key_id, seed_nonce, seed_ciphertext
                     FROM token_signing_keys ORDER BY created_at"
                ))
                .load(conn)
                .await?)
            })
            .await?;
        rows.into_iter()
            .map(|r| {
                let nonce: [u8; 12] = r.seed_nonce.try_into().map_err(|_| {
                    DbError::Internal("a signing key's nonce is not 12 bytes".into())
                })?;
                Ok(SealedSigningKey {
                    info: r.key.info()?,
                    sealed: Sealed {
                        key_id: r.seed_key_id,
                        nonce,
                        ciphertext: r.seed_ciphertext,
                    },
                })
            })
            .collect()
    }

    /// Owner: `next` becomes current, current retires, a fresh `next` is
    /// made; retired keys older than `keep_retired` are deleted. On an
    /// empty table the first current key is `bootstrap` (the environment's
    /// seed) or a fresh one, and the rotation then proceeds as usual.
    pub async fn rotate_signing_keys(
        &self,
        ring: &KeyRing,
        bootstrap: Option<&[u8; 32]>,
        keep_retired: Duration,
    ) -> Result<RotationReport, DbError> {
        self.rotate_signing_keys_inner(ring, bootstrap, keep_retired, None)
            .await?
            .ok_or_else(|| DbError::Internal("the rotation did not happen".into()))
    }

    /// The scheduled rotation (`keys.rotate_signing`): the same rotation,
    /// but only when the current key has signed for at least `max_age`,
    /// decided under the rotation's table lock, so any number of workers
    /// at once rotate once. `None`: nothing to do (the key is younger, or
    /// the table was never rotated: the environment key's age is unknown
    /// and the operator's first `metiva keys rotate-signing` starts the
    /// clock). Runs as the owner or the login role (migration
    /// `signing_key_rotation`).
    pub async fn rotate_signing_keys_if_older(
        &self,
        ring: &KeyRing,
        max_age: Duration,
        keep_retired: Duration,
    ) -> Result<Option<RotationReport>, DbError> {
        self.rotate_signing_keys_inner(ring, None, keep_retired, Some(max_age))
            .await
    }

    async fn rotate_signing_keys_inner(
        &self,
        ring: &KeyRing,
        bootstrap: Option<&[u8; 32]>,
        keep_retired: Duration,
        only_older_than: Option<Duration>,
    ) -> Result<Option<RotationReport>, DbError> {
        let keep_secs = i64::try_from(keep_retired.as_secs()).unwrap_or(i64::MAX / 2);
        // Keys are made before the transaction (random, sealed in memory).
        let fresh_next = sealed_key(ring, &rand::random())?;
        let first = match bootstrap {
            Some(seed) => sealed_key(ring, seed)?,
            None => sealed_key(ring, &rand::random())?,
        };
        let spare_next = sealed_key(ring, &rand::random())?;
        self.global(async |conn| {
            diesel::sql_query("LOCK TABLE token_signing_keys IN EXCLUSIVE MODE")
                .execute(&mut *conn)
                .await?;
            let rows: Vec<Row> = diesel::sql_query(format!(
                "SELECT {PUBLIC_COLUMNS} FROM token_signing_keys"
            ))
            .load(&mut *conn)
            .await?;
            let infos = rows.into_iter().map(Row::info).collect::<Result<Vec<_>, _>>()?;
            let find = |s: KeyState| infos.iter().find(|k| k.state == s).map(|k| k.public.kid.clone());
            if let Some(max_age) = only_older_than {
                let max_age = chrono::Duration::from_std(max_age)
                    .map_err(|_| DbError::Internal("the key age limit is out of range".into()))?;
                let now = Utc::now();
                match infos.iter().find(|k| k.state == KeyState::Current) {
                    Some(k) if k.age(now) >= max_age => {}
                    // Younger, or never rotated: nothing to do.
                    _ => return Ok(None),
                }
            }
            let mut initialised = false;
            let (mut current, mut next) = (find(KeyState::Current), find(KeyState::Next));
            if current.is_none() {
                // A key the table already knows (retired) is never
                // resurrected as current.
                if infos.iter().any(|k| k.public.kid == first.0) {
                    return Err(DbError::Internal(format!(
                        "the bootstrap key {} is already in token_signing_keys",
                        first.0
                    )));
                }
                insert(conn, &first, "current").await?;
                current = Some(first.0.clone());
                initialised = true;
            }
            if next.is_none() {
                insert(conn, &spare_next, "next").await?;
                next = Some(spare_next.0.clone());
            }
            let (Some(old), Some(promoted)) = (current, next) else {
                return Err(DbError::Internal("no current or next signing key".into()));
            };
            // Order matters for the partial unique index: retire, promote,
            // then add the new next.
            diesel::sql_query(
                "UPDATE token_signing_keys SET state = 'retired', retired_at = now() WHERE kid = $1",
            )
            .bind::<Text, _>(&old)
            .execute(&mut *conn)
            .await?;
            diesel::sql_query(
                "UPDATE token_signing_keys SET state = 'current', activated_at = now() WHERE kid = $1",
            )
            .bind::<Text, _>(&promoted)
            .execute(&mut *conn)
            .await?;
            insert(conn, &fresh_next, "next").await?;
            let pruned = diesel::sql_query(
                "DELETE FROM token_signing_keys
                 WHERE state = 'retired' AND retired_at < now() - make_interval(secs => $1)",
            )
            .bind::<diesel::sql_types::Double, _>(keep_secs as f64)
            .execute(&mut *conn)
            .await?;
            Ok(Some(RotationReport {
                initialised,
                retired: Some(old),
                current: promoted,
                next: fresh_next.0.clone(),
                pruned,
            }))
        })
        .await
    }
}

/// (kid, public key, sealed seed) of a key from its seed.
type NewKey = (String, [u8; 32], Sealed);

fn sealed_key(ring: &KeyRing, seed: &[u8; 32]) -> Result<NewKey, DbError> {
    let public = TokenSigner::from_seed(seed).public_key();
    let sealed = ring
        .seal(seed, &seed_context(&public.kid))
        .map_err(|e| DbError::Internal(format!("sealing a signing key: {e}")))?;
    Ok((public.kid, public.bytes, sealed))
}

async fn insert(
    conn: &mut &diesel_async::AsyncPgConnection,
    key: &NewKey,
    state: &str,
) -> Result<(), DbError> {
    let (kid, public, sealed) = key;
    diesel::sql_query(
        "INSERT INTO token_signing_keys
           (kid, public_key, seed_key_id, seed_nonce, seed_ciphertext, state, activated_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6 = 'current' THEN now() END)",
    )
    .bind::<Text, _>(kid)
    .bind::<Bytea, _>(public.as_slice())
    .bind::<Text, _>(&sealed.key_id)
    .bind::<Bytea, _>(sealed.nonce.as_slice())
    .bind::<Bytea, _>(&sealed.ciphertext)
    .bind::<Text, _>(state)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
