//! The audit log's hash chain, checked: `metiva audit verify`.
//!
//! Each company's audit rows form a chain. The database computes it on
//! insert (trigger `audit_log_chain`, migration `audit_chain`); this module
//! recomputes every hash independently from the stored fields and names the
//! first row where the chain breaks.
//!
//! # Format (version `metiva.audit.v2`; rows written before it, `v1`)
//! Each row records the format it was hashed under (`format`, 1 or 2).
//! Version 2 (migration `audit_reason_note`) appends the reason's short
//! note: `… ‖ field(reason) ‖ field(note)` under the tag
//! `metiva.audit.v2`. Version 1, which rows written before it keep:
//! ```text
//! hash = SHA-256(prev_hash ‖ field("metiva.audit.v1") ‖ field(company_id)
//!                ‖ field(seq) ‖ field(id) ‖ field(at) ‖ field(actor_user_id)
//!                ‖ field(action) ‖ field(target_type) ‖ field(target_id)
//!                ‖ field(request_id) ‖ field(reason))
//! field(NULL) = ff ff ff ff
//! field(v)    = u32 big-endian byte length ‖ bytes
//! ```
//! Text is its UTF-8 bytes, a uuid its 16 bytes; `seq`, `id` and `at` are
//! i64 big-endian, `at` in whole microseconds since 1970-01-01 UTC (what
//! PostgreSQL stores; finer precision is truncated). `prev_hash` is the
//! previous row's hash, 32 zero bytes for a company's first row (`seq` 1).
//! A column added to `audit_log` later must join the format under a new
//! version tag; the isolation suite fails until it does.
//!
//! # Retention: checkpoints
//! The retention sweep removes a chain's oldest rows and leaves signed
//! checkpoints ([`crate::audit_checkpoint`]). The walk first checks every
//! checkpoint (signature under the company's data key, each following the
//! one before from seq 1), then starts after the last one: the first kept
//! row must have `seq` = its `through_seq` + 1 and link to its
//! `last_hash`. A forged or edited checkpoint is [`Break::Checkpoint`].
//!
//! # Security
//! The chain detects a changed, inserted, reordered or removed row, even by
//! the table's owner or a superuser, unless they rewrite every later hash
//! too; and by itself it cannot see rows cut off the end. The daily verify
//! (`audit.chain_verify`, [`crate::audit_checks`]) records each chain's
//! verified head, and every later check (the job and this command) holds
//! the chain against the latest intact one: rows cut off the end show as
//! [`Break::Truncated`], a chain rewritten up to that head as
//! [`Break::Rewritten`]. That anchor lives in the same database; anchoring
//! heads outside it (published elsewhere) is the stronger, later step.
//! Verify reads each company's rows under that company's own tenant
//! binding ([`metiva_tenancy::Database::for_audit_verify`]), so RLS stays
//! intact; only the list of company ids crosses tenants
//! (`metiva_audit_companies()`, executable by the owner role alone).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use metiva_security::cipher::KeyRing;
use uuid::Uuid;

use crate::schema::audit_log;
use crate::{CompanyId, Database, DbError, TenantConn};

/// The first format's version tag (rows with `format` 1).
pub const FORMAT: &str = "metiva.audit.v1";

/// The current format's version tag (rows with `format` 2: the note too).
pub const FORMAT_V2: &str = "metiva.audit.v2";

/// The `prev_hash` of a company's first row.
pub const GENESIS: [u8; 32] = [0; 32];

/// The columns the hash covers, in format order (besides `prev_hash`).
/// Every other column of `audit_log` is part of the chain itself.
pub const HASHED_COLUMNS: &[&str] = &[
    "company_id",
    "seq",
    "id",
    "at",
    "actor_user_id",
    "action",
    "target_type",
    "target_id",
    "request_id",
    "reason",
    "note",
    // Not a field of its own: it picks the version tag, the first field.
    "format",
];

/// How many rows verify reads per query.
const BATCH: i64 = 5_000;

/// One stored audit row with its chain columns.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
pub struct ChainRow {
    pub company_id: String,
    pub seq: i64,
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub reason: Option<String>,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    /// The reason's short note (format 2).
    pub note: Option<String>,
    /// The format the row was hashed under: 1 or 2.
    pub format: i16,
}

fn text(s: &Option<String>) -> Option<&[u8]> {
    s.as_deref().map(str::as_bytes)
}

/// Appends one canonical field: its length and bytes, or the NULL marker.
pub(crate) fn field(buf: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        None => buf.extend_from_slice(&u32::MAX.to_be_bytes()),
        Some(b) => {
            // Audit fields are short (checked in the table); a length past
            // u32 cannot be stored, so it cannot be hashed either.
            let len = u32::try_from(b.len()).unwrap_or(u32::MAX - 1);
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(b);
        }
    }
}

/// The hash of `row` chained after `prev`, computed from its fields alone
/// (its stored `prev_hash` and `hash` are not read), under the format the
/// row records. An unknown format hashes to nothing any row can carry
/// (all ones), so such a row shows as altered: fail closed.
pub fn chain_hash(prev: &[u8], row: &ChainRow) -> [u8; 32] {
    let tag = match row.format {
        1 => FORMAT,
        2 => FORMAT_V2,
        _ => return [0xff; 32],
    };
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(prev);
    field(&mut buf, Some(tag.as_bytes()));
    field(&mut buf, Some(row.company_id.as_bytes()));
    field(&mut buf, Some(&row.seq.to_be_bytes()));
    field(&mut buf, Some(&row.id.to_be_bytes()));
    field(&mut buf, Some(&row.at.timestamp_micros().to_be_bytes()));
    field(
        &mut buf,
        row.actor_user_id.as_ref().map(|u| &u.as_bytes()[..]),
    );
    field(&mut buf, Some(row.action.as_bytes()));
    field(&mut buf, text(&row.target_type));
    field(&mut buf, text(&row.target_id));
    field(&mut buf, text(&row.request_id));
    field(&mut buf, text(&row.reason));
    if row.format >= 2 {
        field(&mut buf, text(&row.note));
    }
    metiva_security::secret::sha256(&buf)
}

/// Why a chain is broken at a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// The row's position is not the next one: a row before it was removed
    /// (or its `seq` changed).
    Gap { expected_seq: i64 },
    /// The row's fields no longer match its hash: the row was changed.
    Altered,
    /// The row does not link to the row before it: that row was changed
    /// and rehashed, or one was put in between.
    Unlinked,
    /// The chain ends before the head an earlier check verified (its
    /// anchor, `audit_chain_checks`): rows were cut off the end. The
    /// broken row's `seq` is the anchor's; its id is not known (0).
    Truncated { rows_now: i64 },
    /// The row at the anchor's `seq` holds, but its hash is not the one an
    /// earlier check verified: the chain was rewritten at or before it.
    Rewritten,
    /// The retention checkpoint with this id (which cut the chain up to
    /// the broken `seq`) is not signed by the workspace's key: it was
    /// forged or edited.
    Checkpoint { id: i64 },
}

impl Break {
    /// The fixed code stored in `audit_chain_checks.broken_kind`.
    pub fn code(&self) -> &'static str {
        match self {
            Break::Gap { .. } => "gap",
            Break::Altered => "altered",
            Break::Unlinked => "unlinked",
            Break::Truncated { .. } => "truncated",
            Break::Rewritten => "rewritten",
            Break::Checkpoint { .. } => "checkpoint",
        }
    }
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Gap { expected_seq } => write!(
                f,
                "seq {expected_seq} was expected here: a row before it is missing"
            ),
            Break::Altered => f.write_str("its fields do not match its hash: the row was changed"),
            Break::Unlinked => f.write_str(
                "its prev_hash is not the previous row's hash: the previous row was changed or a row was put in between",
            ),
            Break::Truncated { rows_now } => write!(
                f,
                "an earlier check verified the chain up to here, but it now ends at seq {rows_now}: rows were cut off the end"
            ),
            Break::Rewritten => f.write_str(
                "its hash is not the one an earlier check verified: the chain was rewritten at or before this row",
            ),
            Break::Checkpoint { id } => write!(
                f,
                "the retention checkpoint {id} that cut the chain up to here does not carry this workspace's signature: it was forged or edited"
            ),
        }
    }
}

/// The first broken row of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenRow {
    pub id: i64,
    pub seq: i64,
    pub why: Break,
}

/// One company's chain, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub company: CompanyId,
    /// Rows checked (up to and including a broken one).
    pub rows: u64,
    /// The last `seq` removed by retention (its checkpoints verified): the
    /// walk started after it. 0 when nothing was removed.
    pub cut: i64,
    /// The last verified hash: the chain's head when it is intact.
    pub head: [u8; 32],
    /// The first broken row; `None` when the whole chain holds.
    pub broken: Option<BrokenRow>,
}

impl std::fmt::Display for ChainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.broken {
            None => {
                let head: String = self.head[..8].iter().map(|b| format!("{b:02x}")).collect();
                write!(
                    f,
                    "{}: ok, {} row(s), head {head}…",
                    self.company.as_str(),
                    self.rows
                )?;
                if self.cut > 0 {
                    write!(
                        f,
                        " (seq 1..={} removed by retention, checkpoints signed)",
                        self.cut
                    )?;
                }
                Ok(())
            }
            Some(b) if b.id == 0 => write!(
                f,
                "{}: BROKEN at seq {}: {}",
                self.company.as_str(),
                b.seq,
                b.why
            ),
            Some(b) => write!(
                f,
                "{}: BROKEN at audit row id {} (seq {}): {}",
                self.company.as_str(),
                b.id,
                b.seq,
                b.why
            ),
        }
    }
}

/// Walks one chain in `seq` order, row by row.
#[derive(Debug)]
pub struct ChainWalk {
    next_seq: i64,
    prev: [u8; 32],
    rows: u64,
}

impl Default for ChainWalk {
    fn default() -> Self {
        Self {
            next_seq: 1,
            prev: GENESIS,
            rows: 0,
        }
    }
}

impl ChainWalk {
    /// A walk that starts after a checkpoint: the next row is
    /// `through_seq` + 1 and links to `last_hash`.
    pub fn after(start: crate::audit_checkpoint::Start) -> Self {
        Self {
            next_seq: start.through_seq + 1,
            prev: start.last_hash,
            rows: 0,
        }
    }

    /// Checks the next row; `Err` names it when the chain breaks there.
    pub fn step(&mut self, row: &ChainRow) -> Result<(), BrokenRow> {
        self.rows += 1;
        let broken = |why| BrokenRow {
            id: row.id,
            seq: row.seq,
            why,
        };
        if row.seq != self.next_seq {
            return Err(broken(Break::Gap {
                expected_seq: self.next_seq,
            }));
        }
        let hash = chain_hash(&row.prev_hash, row);
        if row.hash != hash {
            return Err(broken(Break::Altered));
        }
        if row.prev_hash != self.prev {
            return Err(broken(Break::Unlinked));
        }
        self.prev = hash;
        self.next_seq += 1;
        Ok(())
    }
}

/// A head an earlier check verified: the row at `seq` had `hash`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: [u8; 32],
}

/// Walks the bound company's whole chain in `seq` order, in batches, on
/// `tc` (the caller's binding and snapshot), after its retention
/// checkpoints (checked with `keys`: the company's DEK must be loaded when
/// it has any, [`Database::load_checkpoint_key`]), and holds it against
/// `anchor` when one is given: the row at the anchor's `seq` must still
/// carry the anchor's hash, and the chain must reach it.
pub async fn walk_chain(
    tc: &mut TenantConn<'_>,
    anchor: Option<Anchor>,
    keys: &KeyRing,
) -> Result<ChainReport, DbError> {
    let company = tc.company().clone();
    let cps = crate::audit_checkpoint::checkpoints(tc).await?;
    let (mut walk, mut broken, cut) = match crate::audit_checkpoint::check(keys, &cps)? {
        Ok(None) => (ChainWalk::default(), None, 0),
        Ok(Some(start)) => (ChainWalk::after(start), None, start.through_seq),
        Err(b) => {
            return Ok(ChainReport {
                company,
                rows: 0,
                cut: 0,
                head: GENESIS,
                broken: Some(b),
            });
        }
    };
    // The anchor's row was removed by retention: the last checkpoint's
    // hash must still be the one verified when it was the row at that seq.
    if let Some(a) = anchor
        && cut > 0
        && a.seq == cut
        && a.hash != walk.prev
    {
        broken = Some(BrokenRow {
            id: 0,
            seq: a.seq,
            why: Break::Rewritten,
        });
    }
    let mut after = 0_i64;
    'batches: loop {
        if broken.is_some() {
            break;
        }
        let rows = audit_log::table
            .filter(audit_log::company_id.eq(company.as_str()))
            .filter(audit_log::seq.gt(after))
            .order(audit_log::seq.asc())
            .limit(BATCH)
            .select(ChainRow::as_select())
            .load(tc.conn())
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        let full = rows.len() as i64 == BATCH;
        for row in &rows {
            if let Err(b) = walk.step(row) {
                broken = Some(b);
                break 'batches;
            }
            if anchor.is_some_and(|a| a.seq == row.seq && a.hash != walk.prev) {
                broken = Some(BrokenRow {
                    id: row.id,
                    seq: row.seq,
                    why: Break::Rewritten,
                });
                break 'batches;
            }
        }
        if !full {
            break;
        }
    }
    let verified = cut.saturating_add(i64::try_from(walk.rows).unwrap_or(i64::MAX));
    if let (None, Some(a)) = (&broken, anchor)
        && verified < a.seq
    {
        broken = Some(BrokenRow {
            id: 0,
            seq: a.seq,
            why: Break::Truncated { rows_now: verified },
        });
    }
    Ok(ChainReport {
        company,
        rows: walk.rows,
        cut,
        head: walk.prev,
        broken,
    })
}

#[derive(QueryableByName)]
struct CompanyRow {
    #[diesel(sql_type = Text)]
    company_id: String,
}

impl Database {
    /// Checks the audit chain of `only`, or of every company, and reports
    /// each; `keys` verify the retention checkpoints (each company's DEK
    /// is loaded when it has any). Needs a pool connected as the owner
    /// role: the list of companies is an owner-only directory answer.
    pub async fn verify_audit_chains(
        &self,
        only: Option<&CompanyId>,
        keys: &KeyRing,
    ) -> Result<Vec<ChainReport>, DbError> {
        let ids = self
            .global(async |conn| {
                // Raw SQL: a set-returning directory function.
                Ok(
                    diesel::sql_query("SELECT company_id FROM metiva_audit_companies()")
                        .load::<CompanyRow>(conn)
                        .await?,
                )
            })
            .await?;
        let mut companies = Vec::with_capacity(ids.len());
        for r in ids {
            let id = CompanyId::parse(&r.company_id)
                .map_err(|e| DbError::Internal(format!("company id in the database: {e}")))?;
            if only.is_none_or(|o| *o == id) {
                companies.push(id);
            }
        }
        if let Some(o) = only.filter(|_| companies.is_empty()) {
            return Err(DbError::Internal(format!("no company {}", o.as_str())));
        }
        let mut reports = Vec::with_capacity(companies.len());
        for company in companies {
            self.load_checkpoint_key(keys, &company).await?;
            reports.push(self.verify_audit_chain(&company, keys).await?);
        }
        Ok(reports)
    }

    /// Checks one company's chain, read in one snapshot, in batches,
    /// against the latest intact daily check's head.
    async fn verify_audit_chain(
        &self,
        company: &CompanyId,
        keys: &KeyRing,
    ) -> Result<ChainReport, DbError> {
        self.for_audit_verify(company, async |tc| {
            let anchor = crate::audit_checks::anchor(tc).await?;
            walk_chain(tc, anchor, keys).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ChainRow {
        ChainRow {
            company_id: "cmp_aaaaaa".into(),
            seq: 1,
            id: 7,
            at: DateTime::from_timestamp_micros(1_765_000_000_123_456).unwrap_or_default(),
            actor_user_id: None,
            action: "member.role_change".into(),
            target_type: Some("member".into()),
            target_id: Some("ab".into()),
            request_id: Some("c".into()),
            reason: None,
            prev_hash: GENESIS.to_vec(),
            hash: Vec::new(),
            note: None,
            format: 1,
        }
    }

    #[test]
    fn the_format_is_bound_and_v2_hashes_the_note() {
        let v1 = row();
        let v2 = ChainRow { format: 2, ..row() };
        // The same fields under another format: another hash (a row's
        // format cannot be flipped unseen).
        assert_ne!(chain_hash(&GENESIS, &v1), chain_hash(&GENESIS, &v2));
        // v1 ignores a note (it did not exist); v2 binds it.
        let v1_note = ChainRow {
            note: Some("x".into()),
            ..row()
        };
        assert_eq!(chain_hash(&GENESIS, &v1), chain_hash(&GENESIS, &v1_note));
        let v2_note = ChainRow {
            note: Some("x".into()),
            ..v2.clone()
        };
        assert_ne!(chain_hash(&GENESIS, &v2), chain_hash(&GENESIS, &v2_note));
        // An unknown format never verifies.
        assert_eq!(
            chain_hash(&GENESIS, &ChainRow { format: 3, ..row() }),
            [0xff; 32]
        );
    }

    #[test]
    fn null_empty_and_field_boundaries_hash_differently() {
        let base = chain_hash(&GENESIS, &row());
        let empty = ChainRow {
            reason: Some(String::new()),
            ..row()
        };
        assert_ne!(base, chain_hash(&GENESIS, &empty), "NULL vs empty");
        let moved = ChainRow {
            target_id: Some("a".into()),
            request_id: Some("bc".into()),
            ..row()
        };
        assert_ne!(base, chain_hash(&GENESIS, &moved), "a byte across fields");
        assert_ne!(base, chain_hash(&[1; 32], &row()), "another prev");
    }

    #[test]
    fn sub_microsecond_time_is_truncated_as_postgres_stores_it() {
        let mut fine = row();
        fine.at += chrono::Duration::nanoseconds(999);
        assert_eq!(chain_hash(&GENESIS, &row()), chain_hash(&GENESIS, &fine));
    }

    #[test]
    fn the_walk_names_the_first_broken_row() {
        let mut rows = Vec::new();
        let mut prev = GENESIS;
        for seq in 1..=4 {
            let mut r = ChainRow {
                seq,
                id: seq * 10,
                prev_hash: prev.to_vec(),
                ..row()
            };
            prev = chain_hash(&prev, &r);
            r.hash = prev.to_vec();
            rows.push(r);
        }
        let walk = |rows: &[ChainRow]| {
            let mut w = ChainWalk::default();
            rows.iter().try_for_each(|r| w.step(r)).err()
        };
        assert_eq!(walk(&rows), None);

        let mut altered = rows.clone();
        altered[1].action = "member.remove".into();
        assert_eq!(
            walk(&altered).map(|b| (b.id, b.why)),
            Some((20, Break::Altered))
        );

        let mut rehashed = altered.clone();
        rehashed[1].hash = chain_hash(&rehashed[1].prev_hash, &rehashed[1]).to_vec();
        assert_eq!(
            walk(&rehashed).map(|b| (b.id, b.why)),
            Some((30, Break::Unlinked))
        );

        let mut gap = rows.clone();
        gap.remove(2);
        assert_eq!(
            walk(&gap).map(|b| (b.id, b.why)),
            Some((40, Break::Gap { expected_seq: 3 }))
        );
    }
}
