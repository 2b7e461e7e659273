//! The security page's live reads in one transaction (issue 15).
//!
//! `/settings/security` showed the member's workspaces (the directory
//! function, in a global transaction of its own), the last retention
//! sweep, the last audit-chain check and the last self-test (three typed
//! queries in a tenant transaction) and the signing keys (a third
//! transaction): twelve statements per view. Here they are two statements
//! inside one read transaction bound to the request's company, with its
//! access re-asserted: `BEGIN`, the binding, the workspaces with the
//! upkeep, the signing keys, `COMMIT`. Nothing is cached: the page stays
//! live (a rotation or a self-test shows on the next view).
//!
//! # Security
//! - The upkeep rows are tenant rows: each lateral filters on
//!   `company_id = $1` (the bound company) beside RLS, exactly as
//!   `retention::last_sweep_of`, [`crate::audit_checks::last_check_of`]
//!   and `self_test::last_self_test_of` do.
//! - The workspaces come from `metiva_session_workspaces($2)`, the same
//!   narrow directory function as [`Database::session_workspaces`]: a
//!   definer owned by the contained directory role, keyed by the
//!   request's verified session id. It does not read `app.company_id`,
//!   so calling it inside the tenant transaction answers what it answers
//!   in a global one: the session user's active workspaces, names and
//!   ids only.
//! - The signing keys are a global table without RLS, read as in
//!   [`Database::signing_keys_public`] (public parts and times; the app
//!   role has no grant on the seeds).

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;

use crate::audit_checks::{LastCheck, Upkeep};
use crate::repo::cached::{self, BindCached as _};
use crate::retention::{LastSweep, SweepCounts};
use crate::signing_keys::SigningKeyInfo;
use crate::{CompanyId, Database, DbError, TenantConn, TenantCtx};

/// What the security page reads live, per view.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityReads {
    /// The session user's active workspaces: (company, name, role), by name.
    pub workspaces: Vec<(CompanyId, String, String)>,
    /// The last retention sweep, the last chain check, the last self-test.
    pub upkeep: Upkeep,
    /// The token signing keys' public parts, oldest first.
    pub signing_keys: Vec<SigningKeyInfo>,
}

/// One row per workspace (at least one: the upkeep columns with no
/// workspace when the directory lists none), the upkeep repeated.
#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    sweep_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<BigInt>)]
    page_views: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    visitors: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    consent_decisions: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    contacts: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    audit_rows: Option<i64>,
    #[diesel(sql_type = Nullable<Integer>)]
    batches: Option<i32>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    checked_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<BigInt>)]
    rows_checked: Option<i64>,
    #[diesel(sql_type = Nullable<Bool>)]
    ok: Option<bool>,
    #[diesel(sql_type = Nullable<BigInt>)]
    broken_seq: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    broken_kind: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    self_test_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    self_test_outcome: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    company_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    company_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    role: Option<String>,
}

// Raw SQL: three top-1 laterals and a set-returning definer function in
// one statement, which Diesel's DSL does not express. Each lateral is the
// same indexed top-1 read as its typed twin (see the module docs); the
// workspaces keep the function's own order (by name) through ORDINALITY.
const READS: &str = "SELECT sw.finished_at AS sweep_at, sw.page_views, sw.visitors,
            sw.consent_decisions, sw.contacts, sw.audit_rows, sw.batches,
            ck.checked_at, ck.rows_checked, ck.ok, ck.broken_seq, ck.broken_kind,
            st.at AS self_test_at, st.target_id AS self_test_outcome,
            w.company_id, w.company_name, w.role
     FROM (SELECT 1) AS one
     LEFT JOIN LATERAL (
         SELECT finished_at, page_views, visitors, consent_decisions, contacts, audit_rows, batches
         FROM retention_sweeps
         WHERE company_id = $1 AND finished_at IS NOT NULL AND abandoned = false
         ORDER BY finished_at DESC LIMIT 1) AS sw ON true
     LEFT JOIN LATERAL (
         SELECT checked_at, rows_checked, ok, broken_seq, broken_kind
         FROM audit_chain_checks WHERE company_id = $1
         ORDER BY checked_at DESC LIMIT 1) AS ck ON true
     LEFT JOIN LATERAL (
         SELECT at, target_id FROM audit_log
         WHERE company_id = $1 AND action = 'security.self_test'
         ORDER BY at DESC, id DESC LIMIT 1) AS st ON true
     LEFT JOIN LATERAL metiva_session_workspaces($2) WITH ORDINALITY
         AS w(company_id, company_name, role, n) ON true
     ORDER BY w.n";

/// The reads of [`SecurityReads`] in `tc`'s transaction, two statements.
async fn reads_of(tc: &mut TenantConn<'_>, session: uuid::Uuid) -> Result<SecurityReads, DbError> {
    let company = tc.company().as_str().to_string();
    let rows: Vec<Row> = cached::sql(READS)
        .bind::<Text, _>(company)
        .bind::<SqlUuid, _>(session)
        .load(tc.conn())
        .await?;
    // The upkeep columns are the same on every row.
    let upkeep = rows.as_slice().first().map_or((None, None, None), |r| {
        let sweep = r.sweep_at.map(|finished_at| LastSweep {
            finished_at,
            counts: SweepCounts {
                page_views: r.page_views.unwrap_or_default(),
                visitors: r.visitors.unwrap_or_default(),
                consent_decisions: r.consent_decisions.unwrap_or_default(),
                contacts: r.contacts.unwrap_or_default(),
                audit_rows: r.audit_rows.unwrap_or_default(),
                batches: r.batches.unwrap_or_default(),
            },
        });
        let check = r.checked_at.map(|checked_at| LastCheck {
            checked_at,
            rows_checked: r.rows_checked.unwrap_or_default(),
            ok: r.ok.unwrap_or_default(),
            broken_seq: r.broken_seq,
            broken_kind: r.broken_kind.clone(),
        });
        let self_test = r
            .self_test_at
            .map(|at| (at, r.self_test_outcome.clone().unwrap_or_default()));
        (sweep, check, self_test)
    });
    let workspaces = rows
        .into_iter()
        .filter_map(|r| Some((r.company_id?, r.company_name?, r.role?)))
        .map(|(c, name, role)| {
            CompanyId::parse(&c)
                .map(|c| (c, name, role))
                .map_err(|e| DbError::Internal(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let signing_keys = crate::signing_keys::public_keys_on(tc.conn()).await?;
    Ok(SecurityReads {
        workspaces,
        upkeep,
        signing_keys,
    })
}

impl Database {
    /// The security page's live reads (the workspaces, the upkeep and the
    /// signing keys) in one read transaction bound to the context's
    /// company, its access re-asserted: five statements with `BEGIN`, the
    /// binding and `COMMIT` (issue 15; twelve in three transactions
    /// before).
    pub async fn security_reads(&self, ctx: &TenantCtx) -> Result<SecurityReads, DbError> {
        let session = ctx.session_id();
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            reads_of(tc, session).await
        })
        .await
    }
}
