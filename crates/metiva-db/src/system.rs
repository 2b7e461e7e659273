//! Global, non-tenant reads and writes about the system itself.
//!
//! Nothing here touches client data: `system_checks` holds timestamps and
//! round-trip times only.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;

use crate::repo::cached;
use crate::schema::system_checks;
use crate::{Database, DbError};

/// What the dashboard shows about the database.
#[derive(Debug, Clone, QueryableByName)]
pub struct SystemStatus {
    #[diesel(sql_type = Text)]
    pub server_version: String,
    #[diesel(sql_type = Text)]
    pub current_role: String,
    #[diesel(sql_type = BigInt)]
    pub checks_recorded: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_check_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub last_round_trip_us: Option<i32>,
}

const STATUS_SQL: &str = "SELECT current_setting('server_version') AS server_version,
        current_user::text AS current_role,
        (SELECT count(*) FROM system_checks) AS checks_recorded,
        last.checked_at AS last_check_at,
        last.round_trip_us AS last_round_trip_us
 FROM (SELECT 1) AS one
 LEFT JOIN LATERAL (
     SELECT checked_at, round_trip_us FROM system_checks ORDER BY id DESC LIMIT 1
 ) AS last ON true";

impl Database {
    /// Global read: the database server's version, the role the app runs as,
    /// and the recorded checks. Named for what it is; it reads no tenant data.
    pub async fn read_system_status(&self) -> Result<SystemStatus, DbError> {
        // Raw SQL: server functions (version(), current_user) beside the table.
        self.global(async |conn| Ok(cached::sql(STATUS_SQL).get_result(conn).await?))
            .await
    }

    /// Global write: measures one round trip, records it, and returns the
    /// new status, all on one connection.
    pub async fn record_system_check(&self) -> Result<SystemStatus, DbError> {
        self.global(async |conn| {
            let started = Instant::now();
            // Raw SQL: the bare round trip being measured.
            diesel::sql_query("SELECT 1").execute(&mut *conn).await?;
            let us = i32::try_from(started.elapsed().as_micros()).unwrap_or(i32::MAX);
            diesel::insert_into(system_checks::table)
                .values(system_checks::round_trip_us.eq(us))
                .execute(&mut *conn)
                .await?;
            // Raw SQL: server functions (version(), current_user) beside the table.
            Ok(cached::sql(STATUS_SQL).get_result(conn).await?)
        })
        .await
    }
}

/// How long the security page may show catalog and posture facts before
/// they are computed again (issue 15: at most 60 seconds).
pub const FACTS_MAX_AGE: Duration = Duration::from_secs(60);

/// The isolation facts the security page shows: the catalog lint over
/// every tenant table and the runtime role's posture, with when they were
/// checked. Computed at startup and then at most [`FACTS_MAX_AGE`] apart;
/// the self-test stays a live run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsolationFacts {
    /// Lint findings (a tenant table without forced RLS or its policies).
    pub findings: usize,
    pub tenant_tables: i64,
    /// Tenant tables whose row-level security is not enabled or not
    /// forced (the public Trust Center shows forced / all).
    pub unforced_tables: usize,
    pub superuser: bool,
    pub bypass_rls: bool,
    /// Roles with SUPERUSER or BYPASSRLS the runtime role is a member of.
    pub privileged_memberships: usize,
    /// Tenant tables the runtime role owns (or could by `SET ROLE`).
    pub owned_tenant_tables: usize,
    pub checked_at: DateTime<Utc>,
}

impl IsolationFacts {
    /// Isolated only when every fact says so (fail closed: any finding or
    /// any way around RLS is "not isolated").
    pub fn isolated(&self) -> bool {
        self.findings == 0
            && !self.superuser
            && !self.bypass_rls
            && self.privileged_memberships == 0
            && self.owned_tenant_tables == 0
    }
}

/// The cached facts, one per pool (clones share it).
#[derive(Debug, Default)]
pub struct FactsCache {
    slot: futures::lock::Mutex<Option<(Instant, IsolationFacts)>>,
    /// The security page's per-company master-sealed counts (issue 15).
    pub(crate) sealed: crate::data_keys::SealedCounts,
    /// The visitors page's kept windows, per company (issue 15).
    pub(crate) windows: crate::visitors::window::WindowCache,
}

impl Database {
    /// The isolation facts, computed again when older than
    /// [`FACTS_MAX_AGE`]. Concurrent callers on an expired cache wait for
    /// one computation instead of each running the lint.
    pub async fn isolation_facts(&self) -> Result<IsolationFacts, DbError> {
        let mut slot = self.facts.slot.lock().await;
        if let Some((at, f)) = slot.as_ref()
            && at.elapsed() < FACTS_MAX_AGE
        {
            return Ok(f.clone());
        }
        // An error is not cached: the next view tries again (and the page
        // shows the failure rather than an old "isolated").
        let f = self.compute_isolation_facts().await?;
        *slot = Some((Instant::now(), f.clone()));
        Ok(f)
    }

    /// Computes the facts now and caches them: at startup, and after a
    /// migration applied by this process.
    pub async fn refresh_isolation_facts(&self) -> Result<IsolationFacts, DbError> {
        let mut slot = self.facts.slot.lock().await;
        let f = self.compute_isolation_facts().await?;
        *slot = Some((Instant::now(), f.clone()));
        Ok(f)
    }

    async fn compute_isolation_facts(&self) -> Result<IsolationFacts, DbError> {
        let posture = self.read_role_posture().await?;
        let (findings, tables) = self.lint_catalog().await?;
        let unforced: std::collections::BTreeSet<&str> = findings
            .iter()
            .filter(|f| matches!(f.rule, "enable_rls" | "force_rls"))
            .map(|f| f.object.as_str())
            .collect();
        Ok(IsolationFacts {
            findings: findings.len(),
            tenant_tables: tables,
            unforced_tables: unforced.len(),
            superuser: posture.superuser,
            bypass_rls: posture.bypass_rls,
            privileged_memberships: posture.privileged_memberships.len(),
            owned_tenant_tables: posture.owned_tenant_tables.len(),
            checked_at: Utc::now(),
        })
    }
}

impl Database {
    /// Keeps this handle's cached facts honest across instances: a
    /// migration applied anywhere notifies `metiva_cache` ('facts') and
    /// the cache is dropped, so the next view recomputes (the 60 s
    /// maximum age stays the safety net). Holds the cache weakly.
    pub fn follow_fact_changes(&self) {
        let facts = std::sync::Arc::downgrade(&self.facts);
        self.cache_bus().subscribe(move |event| {
            use crate::notify::CacheEvent;
            let drop_it = match event {
                CacheEvent::Changed(what) => what == "facts",
                CacheEvent::Connected => true,
                CacheEvent::Lost => false,
            };
            // A computation in progress holds the lock; it started before
            // this event or after it, and the maximum age bounds either.
            if drop_it
                && let Some(f) = facts.upgrade()
                && let Some(mut slot) = f.slot.try_lock()
            {
                *slot = None;
            }
        });
    }
}
