//! Audit retention: the signed checkpoints that cut the audit log's hash
//! chain (issue 16), and the sweep's batch that writes them.
//!
//! The hourly retention sweep ([`crate::retention`]) removes a company's
//! audit rows older than its audit period (`audit_months`, at least 12)
//! from the start of its chain, at most [`crate::retention::BATCH`] per
//! transaction. Each batch leaves one `audit_checkpoints` row: the removed
//! range (`first_seq..=through_seq`, `removed` rows written between
//! `from_at` and `to_at`), the last removed row's hash (`last_hash`: the
//! first kept row's `prev_hash` still links to it) and a signature.
//! `metiva audit verify` checks every checkpoint, that they follow one
//! another from seq 1, and walks the kept rows from the last one
//! ([`crate::audit_chain::walk_chain`]). The reveal reason's short note
//! lives in the audit row, so it goes with it.
//!
//! # Format (`metiva.audit.checkpoint.v1`)
//! ```text
//! signature = HMAC-SHA-256(HKDF-SHA-256(DEK, "metiva audit checkpoint mac v1"),
//!     field("metiva.audit.checkpoint.v1") ‖ field(company_id)
//!     ‖ field(first_seq) ‖ field(through_seq) ‖ field(last_hash)
//!     ‖ field(removed) ‖ field(from_at) ‖ field(to_at) ‖ field(key_id))
//! ```
//! `field` is the chain's (u32 big-endian length ‖ bytes); numbers are
//! i64 big-endian, times whole microseconds since 1970-01-01 UTC.
//!
//! # Security
//! - The key: an HMAC key derived (HKDF, fixed label) from the company's
//!   data key, which the database stores only wrapped by the master key
//!   (or a KMS) it never sees. A database administrator can edit rows and
//!   recompute SHA-256 chains, but cannot compute this MAC, so a forged or
//!   edited checkpoint (or rows deleted under a made-up one) is named by
//!   the verify. Master-key rotation rewraps the DEK without changing it,
//!   so checkpoints stay verifiable across rotations; a per-company key
//!   also means one workspace's checkpoint can never pass for another's
//!   (the company id is signed too). A global key would have needed a new
//!   secret to manage; the DEK already has the right lifetime (offboarding
//!   destroys it together with every row it could vouch for).
//! - The deletion: the app role still has no DELETE on `audit_log`. The
//!   sweep calls `metiva_audit_cut()` (SECURITY DEFINER, owned by the
//!   migration owner, bound by FORCE'd RLS to the caller's tenant), which
//!   removes only a prefix of the tenant's own chain, older than its audit
//!   period (never under 12 months), never the head, and only while it
//!   inserts the matching checkpoint; see migration `audit_retention`.
//! - Fail closed: a checkpoint whose signature does not hold, whose key is
//!   not this company's DEK, or which does not follow the one before is a
//!   break; a DEK that cannot be loaded is an error, never a pass.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use metiva_security::cipher::{CipherError, KeyRing};

use crate::audit_chain::{Break, BrokenRow, field};
use crate::schema::{audit_checkpoints, audit_log};
use crate::{CompanyId, Database, DbError, TenantConn};

/// The signed message's version tag.
pub const CHECKPOINT_FORMAT: &str = "metiva.audit.checkpoint.v1";

/// One stored checkpoint.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = audit_checkpoints, check_for_backend(diesel::pg::Pg))]
pub struct Checkpoint {
    pub company_id: String,
    pub id: i64,
    pub first_seq: i64,
    pub through_seq: i64,
    pub last_hash: Vec<u8>,
    pub removed: i64,
    pub from_at: DateTime<Utc>,
    pub to_at: DateTime<Utc>,
    pub key_id: String,
    pub signature: Vec<u8>,
}

/// The message a checkpoint's signature covers (see the module docs).
pub fn message(c: &Checkpoint) -> Vec<u8> {
    let mut buf = Vec::with_capacity(192);
    field(&mut buf, Some(CHECKPOINT_FORMAT.as_bytes()));
    field(&mut buf, Some(c.company_id.as_bytes()));
    field(&mut buf, Some(&c.first_seq.to_be_bytes()));
    field(&mut buf, Some(&c.through_seq.to_be_bytes()));
    field(&mut buf, Some(&c.last_hash));
    field(&mut buf, Some(&c.removed.to_be_bytes()));
    field(&mut buf, Some(&c.from_at.timestamp_micros().to_be_bytes()));
    field(&mut buf, Some(&c.to_at.timestamp_micros().to_be_bytes()));
    field(&mut buf, Some(c.key_id.as_bytes()));
    buf
}

/// Signs `c` with its company's loaded DEK: sets `key_id` and `signature`.
pub fn sign(keys: &KeyRing, c: &mut Checkpoint) -> Result<(), CipherError> {
    let company = c.company_id.clone();
    let (key_id, sig) = keys.checkpoint_mac(&company, |dek_id| {
        c.key_id = dek_id.to_string();
        message(c)
    })?;
    c.key_id = key_id;
    c.signature = sig.to_vec();
    Ok(())
}

/// Whether `c`'s signature holds under its company's loaded DEK (and was
/// made by that DEK). `Err` only when the DEK is not loaded: a caller's
/// fault, never a pass.
pub fn holds(keys: &KeyRing, c: &Checkpoint) -> Result<bool, DbError> {
    match keys.checkpoint_mac(&c.company_id, |_| message(c)) {
        Ok((dek_id, sig)) => {
            Ok(dek_id == c.key_id && metiva_security::secret::ct_eq(&sig, &c.signature))
        }
        Err(CipherError::DataKeyNotLoaded) => Err(DbError::Internal(format!(
            "audit checkpoints of {}: the data key is not loaded",
            c.company_id
        ))),
        // No key for this company at all: nothing can vouch for it.
        Err(_) => Ok(false),
    }
}

/// The bound company's checkpoints, in chain order.
pub async fn checkpoints(tc: &mut TenantConn<'_>) -> Result<Vec<Checkpoint>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(audit_checkpoints::table
        .filter(audit_checkpoints::company_id.eq(&company))
        .order(audit_checkpoints::through_seq.asc())
        .select(Checkpoint::as_select())
        .load(tc.conn())
        .await?)
}

/// Where the kept chain starts after the checkpoints: the last removed
/// row's `seq` and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Start {
    pub through_seq: i64,
    pub last_hash: [u8; 32],
}

/// Checks every checkpoint (signature, and that each follows the one
/// before from seq 1); answers the last one's [`Start`] (`None` without
/// checkpoints), or the first broken one.
pub fn check(
    keys: &KeyRing,
    cps: &[Checkpoint],
) -> Result<Result<Option<Start>, BrokenRow>, DbError> {
    let mut start: Option<Start> = None;
    for c in cps {
        let expected = start.map_or(1, |s| s.through_seq + 1);
        if c.first_seq != expected {
            return Ok(Err(BrokenRow {
                id: 0,
                seq: c.first_seq,
                why: Break::Gap {
                    expected_seq: expected,
                },
            }));
        }
        let last_hash: Option<[u8; 32]> = c.last_hash.clone().try_into().ok();
        let (true, Some(last_hash)) = (holds(keys, c)?, last_hash) else {
            return Ok(Err(BrokenRow {
                id: 0,
                seq: c.through_seq,
                why: Break::Checkpoint { id: c.id },
            }));
        };
        start = Some(Start {
            through_seq: c.through_seq,
            last_hash,
        });
    }
    Ok(Ok(start))
}

#[derive(QueryableByName)]
struct Cut {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One sweep batch: removes the oldest audit rows written before `cutoff`
/// (at most `limit`, never the head, stopping at the first younger row)
/// through `metiva_audit_cut()` with their signed checkpoint, in `tc`'s
/// transaction. Answers how many went. The DEK must be loaded.
pub async fn cut_batch(
    tc: &mut TenantConn<'_>,
    keys: &KeyRing,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> Result<i64, DbError> {
    let company = tc.company().as_str().to_string();
    let head: Option<i64> = audit_log::table
        .filter(audit_log::company_id.eq(&company))
        .select(diesel::dsl::max(audit_log::seq))
        .first(tc.conn())
        .await?;
    let Some(head) = head else { return Ok(0) };
    let rows: Vec<(i64, DateTime<Utc>, Vec<u8>)> = audit_log::table
        .filter(audit_log::company_id.eq(&company))
        .filter(audit_log::seq.lt(head))
        .order(audit_log::seq.asc())
        .limit(limit)
        .select((audit_log::seq, audit_log::at, audit_log::hash))
        .load(tc.conn())
        .await?;
    // A prefix: the chain is cut up to the first row inside the period.
    let old: Vec<&(i64, DateTime<Utc>, Vec<u8>)> =
        rows.iter().take_while(|(_, at, _)| *at < cutoff).collect();
    let (Some(first), Some(last)) = (<[_]>::first(&old), <[_]>::last(&old)) else {
        return Ok(0);
    };
    let (from_at, to_at) = old.iter().fold((first.1, first.1), |(lo, hi), (_, at, _)| {
        (lo.min(*at), hi.max(*at))
    });
    let mut cp = Checkpoint {
        company_id: company,
        id: 0,
        first_seq: first.0,
        through_seq: last.0,
        last_hash: last.2.clone(),
        removed: i64::try_from(old.len()).unwrap_or(i64::MAX),
        from_at,
        to_at,
        key_id: String::new(),
        signature: Vec::new(),
    };
    sign(keys, &mut cp)
        .map_err(|e| DbError::Internal(format!("signing an audit checkpoint: {e}")))?;
    // Raw SQL: the privileged cut is a function (see the migration).
    let cut: Cut = diesel::sql_query("SELECT metiva_audit_cut($1, $2, $3, $4, $5, $6, $7) AS n")
        .bind::<BigInt, _>(cp.through_seq)
        .bind::<Bytea, _>(&cp.last_hash)
        .bind::<BigInt, _>(cp.removed)
        .bind::<Timestamptz, _>(cp.from_at)
        .bind::<Timestamptz, _>(cp.to_at)
        .bind::<Text, _>(&cp.key_id)
        .bind::<Bytea, _>(&cp.signature)
        .get_result(tc.conn())
        .await?;
    Ok(cut.n)
}

impl Database {
    /// Loads `company`'s DEK when its chain has checkpoints to verify (so
    /// a verify never creates a key for a company that has none to use).
    pub async fn load_checkpoint_key(
        &self,
        keys: &KeyRing,
        company: &CompanyId,
    ) -> Result<(), DbError> {
        let any: i64 = self
            .for_audit_verify(company, async |tc| {
                let c = tc.company().as_str().to_string();
                Ok(audit_checkpoints::table
                    .filter(audit_checkpoints::company_id.eq(&c))
                    .count()
                    .get_result(tc.conn())
                    .await?)
            })
            .await?;
        if any == 0 {
            return Ok(());
        }
        KeyRing::load(keys, self, company.as_str())
            .await
            .map_err(|e| DbError::Internal(format!("loading {}'s data key: {e}", company.as_str())))
    }
}
