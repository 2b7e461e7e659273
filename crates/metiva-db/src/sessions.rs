//! The signed-in user's own sessions (the sessions page): list, revoke
//! one, revoke all. Under the workspace's tenant context; the `sessions`
//! policy lets the dashboard see only sessions of this workspace's members,
//! and these functions narrow that to the caller's own.

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::sql_types::Timestamptz;
use diesel::{ExpressionMethods, IntoSql, NullableExpressionMethods, QueryDsl, Queryable};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::access::TenantCtx;
use crate::repo::audit::{self, AuditEntry};
use crate::schema::sessions;
use crate::{Database, DbError, TenantConn};

/// One session as the page shows it. The IP is still sealed here.
#[derive(Debug, Clone, Queryable)]
pub struct OwnSession {
    pub id: Uuid,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ip_key_id: Option<String>,
    pub ip_nonce: Option<Vec<u8>>,
    pub ip_ciphertext: Option<Vec<u8>>,
}

/// Where a session's IP lives, for the field cipher's associated data.
/// Sessions are global (one sign-in can enter several workspaces), so the
/// company part is empty.
pub fn ip_context(row: &str) -> metiva_security::cipher::FieldContext<'_> {
    metiva_security::cipher::FieldContext {
        company_id: "",
        table: "sessions",
        column: "ip",
        row_id: row,
    }
}

impl OwnSession {
    /// The truncated IP, decrypted; `None` when none was stored or it does
    /// not open (wrong row, tampered, unknown key).
    pub fn ip(&self, keys: &metiva_security::cipher::KeyRing) -> Option<String> {
        let sealed = metiva_security::cipher::Sealed {
            key_id: self.ip_key_id.clone()?,
            nonce: self.ip_nonce.as_deref()?.try_into().ok()?,
            ciphertext: self.ip_ciphertext.clone()?,
        };
        let row = self.id.to_string();
        keys.open(&sealed, &ip_context(&row))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    }
}

impl Database {
    /// The caller's live sessions, most recent first.
    pub async fn own_sessions(&self, ctx: &TenantCtx) -> Result<Vec<OwnSession>, DbError> {
        let user = ctx.user_id();
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            Ok(sessions::table
                .filter(sessions::user_id.eq(user))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .order(sessions::last_seen_at.desc())
                .select((
                    sessions::id,
                    sessions::user_agent,
                    sessions::created_at,
                    sessions::last_seen_at,
                    sessions::ip_key_id,
                    sessions::ip_nonce,
                    sessions::ip_ciphertext,
                ))
                .load::<OwnSession>(tc.conn())
                .await?)
        })
        .await
    }

    /// Revokes one of the caller's sessions (`Some(id)`) or all of them
    /// (`None`), audited. Returns how many were revoked.
    pub async fn revoke_own_sessions(
        &self,
        ctx: &TenantCtx,
        which: Option<Uuid>,
        request_id: &str,
    ) -> Result<usize, DbError> {
        let user = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let n = match which {
                Some(id) => {
                    diesel::update(
                        sessions::table
                            .filter(sessions::id.eq(id))
                            .filter(sessions::user_id.eq(user))
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(sessions::revoked_at.eq(now.into_sql::<Timestamptz>().nullable()))
                    .execute(tc.conn())
                    .await?
                }
                None => {
                    diesel::update(
                        sessions::table
                            .filter(sessions::user_id.eq(user))
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(sessions::revoked_at.eq(now.into_sql::<Timestamptz>().nullable()))
                    .execute(tc.conn())
                    .await?
                }
            };
            if n == 0 {
                return Err(DbError::NotFound);
            }
            let target = which.map(|w| w.to_string()).unwrap_or_else(|| "all".into());
            audit::append(
                tc,
                &AuditEntry {
                    actor_user_id: Some(user),
                    action: if which.is_some() {
                        "session.revoked"
                    } else {
                        "session.revoked_all"
                    },
                    target_type: Some("session"),
                    target_id: Some(&target),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await?;
            Ok(n)
        })
        .await
    }
}
