//! The isolation self-test the security page runs inside the user's own
//! workspace, and the workspaces list it shows. Each step is a live probe
//! of PostgreSQL's row-level security as the runtime role.

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryDsl, QueryableByName};
use diesel_async::RunQueryDsl;

use crate::access::TenantCtx;
use crate::repo::audit::{self, AuditEntry};
use crate::repo::cached::{self, BindCached as _};
use crate::schema::persons;
use crate::{CompanyId, Database, DbError, TenantConn};

/// One step of the self-test and what it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfTestStep {
    pub key: &'static str,
    pub passed: bool,
    pub detail: SelfTestDetail,
}

/// What a step saw, as data: the caller words it in the user's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfTestDetail {
    /// `app.company_id` as read outside any tenant request, and the rows
    /// visible there.
    NoContext { setting: String, visible: i64 },
    /// Rows of other workspaces returned, and the workspace's own persons.
    ForeignRead { foreign: i64, own: i64 },
    /// The foreign write was refused with SQLSTATE 42501, as row-level
    /// security refuses (PostgreSQL's message, for display).
    WriteRefused(String),
    /// Refused, but by something else.
    WriteRefusedOtherwise(String),
    /// The foreign write went through (and was rolled back).
    Written(usize),
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Reads the probe function's `kind:detail` answer.
fn classify_probe(outcome: &str) -> SelfTestStep {
    let (kind, detail) = outcome.split_once(':').unwrap_or(("other", outcome));
    let detail = match kind {
        "refused" => SelfTestDetail::WriteRefused(detail.to_string()),
        "written" => SelfTestDetail::Written(detail.trim().parse().unwrap_or(1)),
        _ => SelfTestDetail::WriteRefusedOtherwise(detail.to_string()),
    };
    SelfTestStep {
        key: "foreign_write",
        passed: matches!(detail, SelfTestDetail::WriteRefused(_)),
        detail,
    }
}

/// A company id that is certainly not `ours`.
fn foreign(ours: &CompanyId) -> &'static str {
    if ours.as_str() == "cmp_000000" {
        "cmp_ffffff"
    } else {
        "cmp_000000"
    }
}

impl Database {
    /// Runs the three probes and audits the run (outcome as the target id)
    /// in the workspace's own transaction.
    pub async fn isolation_self_test(
        &self,
        ctx: &TenantCtx,
        request_id: &str,
    ) -> Result<Vec<SelfTestStep>, DbError> {
        // 1. Without a tenant context (a pooled connection, outside any
        //    transaction), nothing is visible.
        let bare = self.probe_without_tenant().await?;
        let mut steps = vec![SelfTestStep {
            key: "no_context",
            passed: bare.visible_persons == 0 && bare.setting.as_deref().unwrap_or("").is_empty(),
            detail: SelfTestDetail::NoContext {
                setting: bare.setting.unwrap_or_default(),
                visible: bare.visible_persons,
            },
        }];
        let other = foreign(ctx.company());
        let user = ctx.user_id();
        let inside = self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                // 2. Asking explicitly for other workspaces' rows finds none.
                // Raw SQL: the probe compares each table against the setting itself, in one
                // statement, as an attacker's query would.
                let c: Count = diesel::sql_query(
                    "SELECT (SELECT count(*) FROM persons WHERE company_id <> current_setting('app.company_id'))
                          + (SELECT count(*) FROM deals WHERE company_id <> current_setting('app.company_id'))
                          + (SELECT count(*) FROM memberships WHERE company_id <> current_setting('app.company_id')) AS n",
                )
                .get_result(tc.conn())
                .await?;
                let own = Count {
                    n: persons::table.count().get_result(tc.conn()).await?,
                };
                let read = SelfTestStep {
                    key: "foreign_read",
                    passed: c.n == 0,
                    detail: SelfTestDetail::ForeignRead {
                        foreign: c.n,
                        own: own.n,
                    },
                };
                // 3. A write carrying a foreign company_id is refused. The
                //    database function classifies the refusal by SQLSTATE
                //    (42501) inside a subtransaction, so nothing remains
                //    and no English message is parsed here.
                #[derive(QueryableByName)]
                struct Probe {
                    #[diesel(sql_type = Text)]
                    outcome: String,
                }
                // Raw SQL: a call of a plpgsql function Diesel has no DSL for.
                let probe: Probe =
                    diesel::sql_query("SELECT metiva_probe_foreign_write($1) AS outcome")
                        .bind::<Text, _>(other)
                        .get_result(tc.conn())
                        .await?;
                let write = classify_probe(&probe.outcome);
                let outcome = if read.passed && write.passed { "passed" } else { "failed" };
                audit::append(
                    tc,
                    &AuditEntry {
                        actor_user_id: Some(user),
                        action: "security.self_test",
                        target_type: Some("self_test"),
                        target_id: Some(outcome),
                        request_id: Some(request_id),
                        reason: None,
                    },
                )
                .await?;
                Ok(vec![read, write])
            })
            .await?;
        steps.extend(inside);
        Ok(steps)
    }

    /// The active workspaces of the session's user (directory function;
    /// see migration `…_security_page`).
    pub async fn session_workspaces(
        &self,
        ctx: &TenantCtx,
    ) -> Result<Vec<(CompanyId, String, String)>, DbError> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            company_id: String,
            #[diesel(sql_type = Text)]
            company_name: String,
            #[diesel(sql_type = Text)]
            role: String,
        }
        let rows: Vec<Row> = self
            .global(async |conn| {
                // Raw SQL: a set-returning definer function in FROM.
                Ok(cached::sql(
                    "SELECT company_id, company_name, role FROM metiva_session_workspaces($1)",
                )
                .bind::<diesel::sql_types::Uuid, _>(ctx.session_id())
                .load(conn)
                .await?)
            })
            .await?;
        rows.into_iter()
            .map(|r| {
                CompanyId::parse(&r.company_id)
                    .map(|c| (c, r.company_name, r.role))
                    .map_err(|e| DbError::Internal(e.to_string()))
            })
            .collect()
    }

    /// The last self-test run in the workspace: (when, outcome).
    pub async fn last_self_test(
        &self,
        ctx: &TenantCtx,
    ) -> Result<Option<(chrono::DateTime<chrono::Utc>, String)>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            last_self_test_of(tc).await
        })
        .await
    }
}

/// The bound company's last self-test: when, and its outcome.
pub(crate) async fn last_self_test_of(
    tc: &mut TenantConn<'_>,
) -> Result<Option<(chrono::DateTime<chrono::Utc>, String)>, DbError> {
    // One indexed row, not the newest 200 filtered here.
    Ok(audit::latest(tc, "security.self_test")
        .await?
        .map(|r| (r.at, r.target_id.unwrap_or_default())))
}
