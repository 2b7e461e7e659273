//! Server functions and the DTOs they return.
//!
//! Endpoints have stable names (`endpoint = "…"`) so tests and scripts can
//! call them; the default names carry a hash of the crate path.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A resource's fetcher whose future is boxed on the server (issue 15).
///
/// On the server a fetcher's future is the server function's whole body,
/// database transaction included: about 13 KB of state that Leptos moves
/// by value several times while it sets the resource up (callgrind: ~1 MB
/// of memcpy per record page). Boxed, each move is a pointer. In the
/// browser the future is a small fetch, and the bundle is on a budget, so
/// there it is passed through unchanged.
#[cfg(feature = "ssr")]
pub fn boxed<S, Fut>(
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> impl Fn(S) -> std::pin::Pin<Box<Fut>> + Send + Sync + 'static
where
    Fut: std::future::Future + Send + 'static,
{
    move |source| Box::pin(fetcher(source))
}

/// In the browser: the fetcher itself (see the server's version).
#[cfg(not(feature = "ssr"))]
pub fn boxed<F>(fetcher: F) -> F {
    fetcher
}

/// One labelled value, already formatted on the server so the browser
/// bundle carries no formatting code (it is on a 250 KB gzip budget).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
    /// A stable hook for tests.
    pub testid: String,
}

impl Fact {
    pub fn new(label: &str, value: impl Into<String>, testid: &str) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
            testid: testid.into(),
        }
    }
}

/// The database facts the System page shows. Holds nothing tenant-specific.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemStatusDto {
    pub server_version: String,
    pub runtime_role: String,
    pub checks_recorded: i64,
    pub last_check_at: Option<String>,
    pub last_round_trip_us: Option<i32>,
    pub facts: Vec<Fact>,
}

/// The live isolation facts, read from the catalog as the runtime role.
/// Deliberately small: the browser only displays it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationStatusDto {
    /// True only when the role cannot bypass RLS and the lint is clean.
    pub isolated: bool,
    pub facts: Vec<Fact>,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{Fact, SystemStatusDto};
    use crate::error::AppError;
    use leptos::prelude::*;
    use metiva_db::{Database, DbError, system::SystemStatus};

    impl From<SystemStatus> for SystemStatusDto {
        fn from(s: SystemStatus) -> Self {
            let last_check_at = s
                .last_check_at
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string());
            let l = crate::i18n::current();
            let tr = crate::i18n::tr;
            let last = match (&last_check_at, s.last_round_trip_us) {
                (Some(at), Some(us)) => format!("{at}, {us} {}", tr(l, "µs round trip")),
                _ => tr(l, "never").to_string(),
            };
            // Security: the major version alone; the exact build string
            // (distribution, patch level) helps only an attacker.
            let major: String = s
                .server_version
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let facts = vec![
                Fact::new("PostgreSQL", major.clone(), "server-version"),
                Fact::new(
                    tr(l, "Runtime role"),
                    s.current_role.clone(),
                    "runtime-role",
                ),
                Fact::new(
                    tr(l, "Checks recorded"),
                    s.checks_recorded.to_string(),
                    "checks-recorded",
                ),
                Fact::new(tr(l, "Last check"), last, "last-check"),
            ];
            Self {
                server_version: major,
                runtime_role: s.current_role,
                checks_recorded: s.checks_recorded,
                last_check_at,
                last_round_trip_us: s.last_round_trip_us,
                facts,
            }
        }
    }

    /// The request's tenant, as the tenant guard resolved it from the
    /// signed token. The only source of a workspace in `app/`.
    ///
    /// # Security
    /// Fails closed: without a `TenantCtx` (the guard did not run or
    /// refused) there is no workspace and the call is refused with 401.
    pub fn tenant() -> Result<metiva_db::TenantCtx, AppError> {
        // Read in place, not a clone of the whole request head (issue 15).
        let ctx = with_context::<http::request::Parts, _>(|p| {
            p.extensions.get::<metiva_db::TenantCtx>().cloned()
        })
        .flatten();
        ctx.ok_or_else(|| {
            AppError::unauthenticated(crate::i18n::tr(crate::i18n::current(), "Sign in first."))
        })
    }

    /// The request's tenant, if its role holds `p` (from the one registry);
    /// otherwise a 403. The UI hides what a role cannot do; this decides.
    pub fn require(p: metiva_roles::Permission) -> Result<metiva_db::TenantCtx, AppError> {
        let ctx = tenant()?;
        if ctx.can(p) {
            Ok(ctx)
        } else {
            Err(AppError::forbidden(crate::i18n::tr(
                crate::i18n::current(),
                "Your role does not allow this.",
            )))
        }
    }

    /// The request id the tenant guard assigned (for audit rows).
    pub fn request_id() -> String {
        with_context::<http::request::Parts, _>(|p| {
            p.extensions.get::<crate::RequestId>().map(|r| r.0.clone())
        })
        .flatten()
        .unwrap_or_default()
    }

    /// The database handle, provided to every render and server function.
    pub fn database() -> Result<Database, AppError> {
        use_context::<Database>()
            .ok_or_else(|| crate::error::AppError::internal_here(&"server misconfigured"))
    }

    /// Reads audit rows and resolves ids to names, in one read-only
    /// transaction: (rows for display, the members for the actor filter).
    pub async fn read_audit(
        db: &Database,
        ctx: &metiva_db::TenantCtx,
        action: Option<&str>,
        actor: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<(Vec<crate::security::AuditRowDto>, Vec<(String, String)>), DbError> {
        use metiva_db::repo::{audit, memberships};
        let actor = actor.and_then(|a| uuid::Uuid::parse_str(a).ok());
        let (rows, members) = db
            .in_tenant_read(ctx, async |tc| {
                let rows = audit::search(
                    tc,
                    &audit::AuditFilter {
                        action,
                        actor,
                        before,
                        limit,
                    },
                )
                .await?;
                let members = memberships::list(tc).await?;
                Ok((rows, members))
            })
            .await?;
        let name = |id: &str| {
            members
                .iter()
                .find(|m| m.user_id.to_string() == id)
                .map(|m| m.name.clone())
        };
        let out = rows
            .into_iter()
            .map(|r| {
                let actor_id = r.actor_user_id.map(|u| u.to_string()).unwrap_or_default();
                let target = match (r.target_type.as_deref(), r.target_id.as_deref()) {
                    (Some("user"), Some(id)) => name(id).unwrap_or_else(|| id.to_string()),
                    (Some(t), Some(id)) => format!("{t} {id}"),
                    (_, Some(id)) => id.to_string(),
                    _ => String::new(),
                };
                crate::security::AuditRowDto {
                    id: r.id,
                    at: r.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    action: r.action,
                    actor: name(&actor_id).unwrap_or_else(|| actor_id.clone()),
                    actor_id,
                    target,
                    request_id: r.request_id.unwrap_or_default(),
                    reason: r.reason.unwrap_or_default(),
                    note: r.note.unwrap_or_default(),
                }
            })
            .collect();
        let actors = members
            .into_iter()
            .map(|m| (m.user_id.to_string(), m.name))
            .collect();
        Ok((out, actors))
    }

    /// The one error policy on the wire: an explicit status (server
    /// functions default to 500) and a message that reveals nothing about
    /// other tenants. Another tenant's row is simply "not found"; a unique
    /// clash names no row.
    pub fn status_for(e: &DbError) -> (u16, &'static str) {
        match e {
            DbError::Unavailable(_) => (503, "The database is unavailable. Try again shortly."),
            DbError::NotFound => (404, "Not found."),
            DbError::Conflict { .. } => (409, "That conflicts with existing data."),
            DbError::Rejected(_) => (422, "The database refused that change."),
            DbError::AccessRevoked => (
                403,
                "Your access to this workspace changed. Reload the page.",
            ),
            DbError::Internal(_) | DbError::ReadOnly => (500, "Something went wrong on our side."),
        }
    }

    /// Maps a database failure to its status and opaque message; the
    /// detail goes to the log only.
    pub fn db_failure(e: DbError) -> AppError {
        let (status, msg) = status_for(&e);
        if matches!(e, DbError::AccessRevoked)
            && let Some(opts) = use_context::<leptos_axum::ResponseOptions>()
        {
            // Tells the tenant guard to re-resolve and retry once.
            opts.insert_header(
                http::HeaderName::from_static(ACCESS_CHANGED_HEADER),
                http::HeaderValue::from_static("1"),
            );
        }
        match status {
            // Logged once, with the request id; the client gets the id.
            500 => AppError::internal_here(&e),
            _ => {
                tracing::info!(error = %e, status, "server function refused");
                AppError::refusal(status, crate::i18n::tr(crate::i18n::current(), msg))
            }
        }
    }

    /// The response header a handler sets when its transaction found the
    /// request's access changed (see the tenant guard).
    pub const ACCESS_CHANGED_HEADER: &str = "x-metiva-access-changed";

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn each_failure_has_its_documented_status_and_an_opaque_message() {
            let cases = [
                (DbError::Unavailable("pool timeout".into()), 503),
                (DbError::NotFound, 404),
                (
                    DbError::Conflict {
                        constraint: "persons_email_key".into(),
                    },
                    409,
                ),
                (
                    DbError::Rejected("check constraint persons_name_check".into()),
                    422,
                ),
                (
                    DbError::Internal("relation persons_x does not exist".into()),
                    500,
                ),
                (DbError::AccessRevoked, 403),
            ];
            for (e, want) in cases {
                let (status, msg) = status_for(&e);
                assert_eq!(status, want, "{e:?}");
                // Nothing from the database's own message reaches the client.
                for leak in ["persons", "row-level", "pool", "relation"] {
                    assert!(!msg.contains(leak), "{msg}");
                }
            }
        }
    }
}

/// Reads the database status (a global read: no tenant data). Needs
/// `security.manage`: the database's version and role are reconnaissance
/// for anyone else.
#[server(endpoint = "system_status")]
pub async fn system_status() -> Result<SystemStatusDto, AppError> {
    ssr::require(metiva_roles::Permission::SecurityManage)?;
    let db = ssr::database()?;
    db.read_system_status()
        .await
        .map(Into::into)
        .map_err(ssr::db_failure)
}

/// Measures and records one database round trip; returns the new status.
/// A POST, since it writes; needs `security.manage`.
#[server(endpoint = "run_database_check")]
pub async fn run_database_check() -> Result<SystemStatusDto, AppError> {
    ssr::require(metiva_roles::Permission::SecurityManage)?;
    let db = ssr::database()?;
    db.record_system_check()
        .await
        .map(Into::into)
        .map_err(ssr::db_failure)
}

/// Reads the runtime role's posture and runs the catalog lint, live. Any
/// member.
#[server(endpoint = "isolation_status")]
pub async fn isolation_status() -> Result<IsolationStatusDto, AppError> {
    ssr::tenant()?;
    let db = ssr::database()?;
    let posture = db.read_role_posture().await.map_err(ssr::db_failure)?;
    let (findings, tenant_tables) = db.lint_catalog().await.map_err(ssr::db_failure)?;
    let bypass_rls = posture.bypass_rls || !posture.privileged_memberships.is_empty();
    let owned = posture.owned_tenant_tables.len();
    let findings: Vec<String> = findings.iter().map(ToString::to_string).collect();
    let isolated = !posture.superuser && !bypass_rls && owned == 0 && findings.is_empty();
    let checked_at = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    let role_line = format!(
        "{}: {}, {}, owns {owned} tenant tables",
        posture.role,
        if posture.superuser {
            "superuser"
        } else {
            "not a superuser"
        },
        if bypass_rls {
            "can bypass RLS"
        } else {
            "cannot bypass RLS"
        },
    );
    let tables_line = if findings.is_empty() {
        format!(
            "{tenant_tables} tenant tables, each with RLS enabled and forced and a restrictive tenant policy"
        )
    } else {
        format!(
            "{tenant_tables} tenant tables, {} problem(s): {}",
            findings.len(),
            findings.join("; ")
        )
    };
    let facts = vec![
        Fact::new("Runtime role", role_line, "isolation-role"),
        Fact::new("Tenant tables", tables_line, "isolation-tables"),
        Fact::new("Checked", checked_at, "isolation-checked"),
    ];
    Ok(IsolationStatusDto { isolated, facts })
}

/// Who is signed in, where, with which role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionDto {
    pub company_id: String,
    pub company_name: String,
    pub role: String,
    pub user_name: String,
    pub user_email: String,
    pub can_manage_members: bool,
}

/// The signed-in member and workspace, from the request's `TenantCtx`.
#[server(endpoint = "session")]
pub async fn current_session() -> Result<SessionDto, AppError> {
    let ctx = ssr::tenant()?;
    let db = ssr::database()?;
    let me = db
        .in_tenant_read(&ctx, async |tc| {
            metiva_db::repo::memberships::get(tc, ctx.user_id()).await
        })
        .await
        .map_err(ssr::db_failure)?;
    Ok(SessionDto {
        company_id: ctx.company().to_string(),
        company_name: ctx.company_name().to_string(),
        role: ctx.role().key().to_string(),
        user_name: me.name,
        user_email: me.email,
        can_manage_members: ctx.can(metiva_roles::Permission::MembersManage),
    })
}

/// One member, formatted for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberDto {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub status: String,
    pub last_sign_in: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembersDto {
    /// Whether the viewer may manage members (the server checks again).
    pub can_manage: bool,
    /// The roles the viewer may grant, highest first.
    pub grantable: Vec<String>,
    pub self_id: String,
    pub members: Vec<MemberDto>,
    /// A one-time invitation link this session just created with a plain
    /// form post (no JavaScript), taken from its flash cookie; shown once.
    pub invite_link: Option<String>,
}

/// The workspace's members. Everyone in the workspace may see the list;
/// only `members.manage` gets the controls.
#[server(endpoint = "members")]
pub async fn list_members() -> Result<MembersDto, AppError> {
    let ctx = ssr::tenant()?;
    let db = ssr::database()?;
    let rows = db
        .in_tenant_read(&ctx, async |tc| {
            metiva_db::repo::memberships::list(tc).await
        })
        .await
        .map_err(ssr::db_failure)?;
    let role = ctx.role();
    let can_manage = ctx.can(metiva_roles::Permission::MembersManage);
    let invite_link = use_context::<crate::FieldKeys>()
        .and_then(|k| crate::member_forms::ssr::take_invite_flash(&k.0, &ctx));
    Ok(MembersDto {
        invite_link,
        can_manage,
        grantable: metiva_roles::Role::ALL
            .iter()
            .filter(|r| can_manage && role.may_grant(**r))
            .map(|r| r.key().to_string())
            .collect(),
        self_id: ctx.user_id().to_string(),
        members: rows
            .into_iter()
            .map(|m| MemberDto {
                user_id: m.user_id.to_string(),
                name: m.name,
                email: m.email,
                role: m.role,
                status: m.status,
                last_sign_in: m
                    .last_sign_in_at
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_else(|| "never".into()),
            })
            .collect(),
    })
}
