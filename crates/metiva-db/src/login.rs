//! The login service's database handle, connected as `metiva_login`.
//!
//! # Security
//! These are the named global operations DESIGN.md allows the login
//! service: reading credentials, listing a user's workspaces (through the
//! `metiva_directory` definer function), and keeping sessions, one-time
//! codes and throttle counters. Anything that touches a workspace's own
//! rows (recording a sign-in, auditing) runs under that workspace's tenant
//! context, so FORCE'd RLS applies as for every other query.
//! The dashboard never holds a `LoginDb`: its role cannot read a password
//! hash at all.

use std::time::Duration;

use diesel::QueryableByName;
use diesel::sql_types::{Array, Bool, Bytea, Double, Integer, Nullable, Text};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::repo::audit::{self, AuditEntry};
use crate::{CompanyId, Database, DbError, PoolSettings, TenantConn};

type SqlUuid = diesel::sql_types::Uuid;

/// The login service's pool (role `metiva_login`).
#[derive(Clone, Debug)]
pub struct LoginDb {
    db: Database,
}

/// What sign-in needs to check a password.
#[derive(Debug, Clone, QueryableByName)]
pub struct Credentials {
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    /// `None` for an invited user who has not set a password yet.
    #[diesel(sql_type = Nullable<Text>)]
    pub password_hash: Option<String>,
}

/// A workspace the user may enter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub company: CompanyId,
    pub name: String,
    pub role: String,
}

#[derive(QueryableByName)]
struct WorkspaceRow {
    #[diesel(sql_type = Text)]
    company_id: String,
    #[diesel(sql_type = Text)]
    company_name: String,
    #[diesel(sql_type = Text)]
    role: String,
}

/// An active sign-in session.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct LoginSession {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
}

/// A session to store.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub secret_hash: &'a [u8; 32],
    pub user_agent: Option<&'a str>,
    pub ttl: Duration,
    /// The client's truncated IP, sealed for (`sessions`, `ip`, id).
    pub ip: Option<&'a SealedIp>,
}

/// A sealed value's stored parts (see `metiva_security::cipher::Sealed`).
#[derive(Debug, Clone)]
pub struct SealedIp {
    pub key_id: String,
    pub nonce: [u8; 12],
    pub ciphertext: Vec<u8>,
}

/// A one-time code to store.
#[derive(Debug, Clone)]
pub struct NewCode<'a> {
    pub code_hash: &'a [u8; 32],
    pub sealed_token: &'a [u8],
    pub return_to: &'a str,
    pub state: &'a str,
    pub ttl: Duration,
}

/// A pending invitation, read under its company's tenant context.
#[derive(Debug, Clone, QueryableByName)]
pub struct Invitation {
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Bool)]
    pub has_password: bool,
    #[diesel(sql_type = Bool)]
    pub usable: bool,
}

#[derive(QueryableByName)]
struct Wait {
    #[diesel(sql_type = Nullable<Double>)]
    secs: Option<f64>,
}

#[derive(QueryableByName)]
struct Failures {
    #[diesel(sql_type = Integer)]
    failures: i32,
}

/// How a throttle key escalates: `free` failures cost nothing, then each
/// further failure doubles the wait, up to `cap`. Counters reset an hour
/// after the last failure.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    pub free: u32,
    pub cap: Duration,
}

impl ThrottlePolicy {
    /// The wait after `failures` failures in a row.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures < self.free {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free).min(30);
        Duration::from_secs(1u64 << doublings).min(self.cap)
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl LoginDb {
    pub fn connect(url: &str, settings: &PoolSettings) -> Result<Self, DbError> {
        Ok(Self {
            db: Database::connect(url, settings)?,
        })
    }

    pub async fn ping(&self) -> Result<(), DbError> {
        self.db.ping().await
    }

    pub fn close(&self) {
        self.db.close();
    }

    /// The database handle, for the startup checks (role posture).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Global read: the credentials for an email, if such a user exists.
    pub async fn credentials(&self, email: &str) -> Result<Option<Credentials>, DbError> {
        self.db
            .global(async |conn| {
                let rows: Vec<Credentials> = diesel::sql_query(
                    "SELECT id AS user_id, password_hash FROM users WHERE email = $1",
                )
                .bind::<Text, _>(email)
                .load(&mut *conn)
                .await?;
                Ok(rows.into_iter().next())
            })
            .await
    }

    /// Global read (directory function): the active workspaces of a user.
    pub async fn workspaces(&self, user_id: Uuid) -> Result<Vec<Workspace>, DbError> {
        self.db
            .global(async |conn| {
                let rows: Vec<WorkspaceRow> = diesel::sql_query(
                    "SELECT company_id, company_name, role FROM metiva_login_workspaces($1)",
                )
                .bind::<SqlUuid, _>(user_id)
                .load(&mut *conn)
                .await?;
                rows.into_iter()
                    .map(|r| {
                        Ok(Workspace {
                            company: CompanyId::parse(&r.company_id)
                                .map_err(|e| DbError::Internal(e.to_string()))?,
                            name: r.company_name,
                            role: r.role,
                        })
                    })
                    .collect()
            })
            .await
    }

    /// Stores a new session. The caller picks its id (so the sealed IP can
    /// be bound to the row before it exists).
    pub async fn create_session(&self, s: &NewSession<'_>) -> Result<(), DbError> {
        let ua = s
            .user_agent
            .map(|u| u.chars().take(200).collect::<String>());
        let (key_id, nonce, ct) = match s.ip {
            Some(ip) => (
                Some(ip.key_id.clone()),
                Some(ip.nonce.to_vec()),
                Some(ip.ciphertext.clone()),
            ),
            None => (None, None, None),
        };
        self.db.global(async |conn| {
            diesel::sql_query(
                "INSERT INTO sessions (id, user_id, secret_hash, user_agent, expires_at, ip_key_id, ip_nonce, ip_ciphertext)
                 VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6, $7, $8)",
            )
            .bind::<SqlUuid, _>(s.id)
            .bind::<SqlUuid, _>(s.user_id)
            .bind::<Bytea, _>(s.secret_hash.as_slice())
            .bind::<Nullable<Text>, _>(ua)
            .bind::<Double, _>(secs(s.ttl))
            .bind::<Nullable<Text>, _>(key_id)
            .bind::<Nullable<Bytea>, _>(nonce)
            .bind::<Nullable<Bytea>, _>(ct)
            .execute(&mut *conn)
            .await?;
            Ok(())
        })
        .await
    }

    /// The active session whose secret hashes to `secret_hash`.
    pub async fn session_by_secret(
        &self,
        secret_hash: &[u8; 32],
    ) -> Result<Option<LoginSession>, DbError> {
        self.db
            .global(async |conn| {
                let rows: Vec<LoginSession> = diesel::sql_query(
                    "SELECT id, user_id FROM sessions
                 WHERE secret_hash = $1 AND revoked_at IS NULL AND expires_at > now()",
                )
                .bind::<Bytea, _>(secret_hash.as_slice())
                .load(&mut *conn)
                .await?;
                Ok(rows.into_iter().next())
            })
            .await
    }

    /// Ends a session: the login cookie and every access token naming it
    /// stop working (the dashboards hear about it through NOTIFY).
    pub async fn revoke_session(&self, id: Uuid) -> Result<(), DbError> {
        self.db
            .global(async |conn| {
                diesel::sql_query(
                    "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
                )
                .bind::<SqlUuid, _>(id)
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
            .await
    }

    /// How long the caller must still wait, over all `keys`.
    pub async fn throttle_wait(&self, keys: &[[u8; 32]]) -> Result<Option<Duration>, DbError> {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
        self.db
            .global(async |conn| {
                let w: Wait = diesel::sql_query(
                    "SELECT extract(epoch FROM max(next_allowed_at) - now())::float8 AS secs
                 FROM login_throttle WHERE key = ANY($1) AND next_allowed_at > now()",
                )
                .bind::<Array<Bytea>, _>(keys)
                .get_result(&mut *conn)
                .await?;
                Ok(w.secs
                    .filter(|s| *s > 0.0)
                    .map(|s| Duration::from_secs_f64(s.min(86_400.0))))
            })
            .await
    }

    /// Counts one failure against `key` and sets its next allowed time.
    pub async fn throttle_failure(
        &self,
        key: &[u8; 32],
        policy: ThrottlePolicy,
    ) -> Result<Duration, DbError> {
        self.db.global(async |conn| {
            let f: Failures = diesel::sql_query(
                "INSERT INTO login_throttle (key, failures) VALUES ($1, 1)
                 ON CONFLICT (key) DO UPDATE SET
                   failures = CASE WHEN login_throttle.last_failure_at < now() - interval '1 hour'
                                   THEN 1 ELSE login_throttle.failures + 1 END,
                   last_failure_at = now()
                 RETURNING failures",
            )
            .bind::<Bytea, _>(key.as_slice())
            .get_result(&mut *conn)
            .await?;
            let delay = policy.delay(u32::try_from(f.failures).unwrap_or(u32::MAX));
            diesel::sql_query(
                "UPDATE login_throttle SET next_allowed_at = now() + make_interval(secs => $2) WHERE key = $1",
            )
            .bind::<Bytea, _>(key.as_slice())
            .bind::<Double, _>(secs(delay))
            .execute(&mut *conn)
            .await?;
            Ok(delay)
        })
        .await
    }

    /// Clears counters after a successful sign-in.
    pub async fn throttle_reset(&self, keys: &[[u8; 32]]) -> Result<(), DbError> {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
        self.db
            .global(async |conn| {
                diesel::sql_query("DELETE FROM login_throttle WHERE key = ANY($1)")
                    .bind::<Array<Bytea>, _>(keys)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
            .await
    }

    /// Hands a workspace over: stores the one-time code and records the
    /// entry (`action`: an audit row and the member's last sign-in; `None`:
    /// a silent renewal, which only marks the session seen), all in one
    /// transaction under the workspace's tenant context: one commit per
    /// sign-in instead of three.
    pub async fn enter(
        &self,
        company: &CompanyId,
        user_id: Uuid,
        session_id: Uuid,
        action: Option<&str>,
        code: &NewCode<'_>,
        request_id: &str,
    ) -> Result<(), DbError> {
        let sid = session_id.to_string();
        self.db
            .tenant(company, async |tc: &mut TenantConn<'_>| {
                diesel::sql_query(
                    "INSERT INTO auth_codes (code_hash, sealed_token, return_to, state, expires_at)
                     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
                )
                .bind::<Bytea, _>(code.code_hash.as_slice())
                .bind::<Bytea, _>(code.sealed_token)
                .bind::<Text, _>(code.return_to)
                .bind::<Text, _>(code.state)
                .bind::<Double, _>(secs(code.ttl))
                .execute(tc.conn())
                .await?;
                // Expired codes are swept now and then, not on every entry.
                if rand::random::<u8>() < 8 {
                    diesel::sql_query(
                        "DELETE FROM auth_codes WHERE expires_at < now() - interval '1 minute'",
                    )
                    .execute(tc.conn())
                    .await?;
                }
                let Some(action) = action else {
                    diesel::sql_query("UPDATE sessions SET last_seen_at = now() WHERE id = $1")
                        .bind::<SqlUuid, _>(session_id)
                        .execute(tc.conn())
                        .await?;
                    return Ok(());
                };
                diesel::sql_query(
                    "UPDATE memberships SET last_sign_in_at = now()
                     WHERE company_id = current_setting('app.company_id') AND user_id = $1",
                )
                .bind::<SqlUuid, _>(user_id)
                .execute(tc.conn())
                .await?;
                audit::append(
                    tc,
                    &AuditEntry {
                        actor_user_id: Some(user_id),
                        action,
                        target_type: Some("session"),
                        target_id: Some(&sid),
                        request_id: Some(request_id),
                        reason: None,
                    },
                )
                .await
            })
            .await
    }

    /// Audits a failed sign-in of a known user in each of their
    /// workspaces (ids only: the actor is the user the attempt targeted).
    pub async fn record_failed_sign_in(
        &self,
        user_id: Uuid,
        request_id: &str,
    ) -> Result<(), DbError> {
        for w in self.workspaces(user_id).await? {
            self.db
                .tenant(&w.company, async |tc: &mut TenantConn<'_>| {
                    audit::append(
                        tc,
                        &AuditEntry {
                            actor_user_id: Some(user_id),
                            action: "auth.sign_in_failed",
                            target_type: Some("user"),
                            target_id: Some(&user_id.to_string()),
                            request_id: Some(request_id),
                            reason: None,
                        },
                    )
                    .await
                })
                .await?;
        }
        Ok(())
    }

    /// Reads an invitation under its company's context.
    pub async fn invitation(
        &self,
        company: &CompanyId,
        token_hash: &[u8; 32],
    ) -> Result<Option<Invitation>, DbError> {
        self.db
            .tenant_read(company, async |tc: &mut TenantConn<'_>| {
                let rows: Vec<Invitation> = diesel::sql_query(
                    "SELECT i.user_id, u.email, (u.password_hash IS NOT NULL) AS has_password,
                            (i.accepted_at IS NULL AND i.expires_at > now() AND m.status = 'invited') AS usable
                     FROM invitations i
                     JOIN memberships m ON m.company_id = i.company_id AND m.user_id = i.user_id
                     JOIN users u ON u.id = i.user_id
                     WHERE i.token_hash = $1",
                )
                .bind::<Bytea, _>(token_hash.as_slice())
                .load(tc.conn())
                .await?;
                Ok(rows.into_iter().next())
            })
            .await
    }

    /// Accepts an invitation: marks it used, activates the membership and,
    /// for a new user, sets the password hash; audited; one transaction.
    /// Returns false when the invitation is no longer usable.
    pub async fn accept_invitation(
        &self,
        company: &CompanyId,
        token_hash: &[u8; 32],
        user_id: Uuid,
        new_password_hash: Option<&str>,
    ) -> Result<bool, DbError> {
        self.db
            .tenant(company, async |tc: &mut TenantConn<'_>| {
                let used = diesel::sql_query(
                    "UPDATE invitations SET accepted_at = now()
                     WHERE token_hash = $1 AND user_id = $2 AND accepted_at IS NULL AND expires_at > now()",
                )
                .bind::<Bytea, _>(token_hash.as_slice())
                .bind::<SqlUuid, _>(user_id)
                .execute(tc.conn())
                .await?;
                if used != 1 {
                    return Ok(false);
                }
                diesel::sql_query(
                    "UPDATE memberships SET status = 'active'
                     WHERE company_id = current_setting('app.company_id') AND user_id = $1 AND status = 'invited'",
                )
                .bind::<SqlUuid, _>(user_id)
                .execute(tc.conn())
                .await?;
                if let Some(hash) = new_password_hash {
                    diesel::sql_query(
                        "UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash IS NULL",
                    )
                    .bind::<SqlUuid, _>(user_id)
                    .bind::<Text, _>(hash)
                    .execute(tc.conn())
                    .await?;
                }
                audit::append(
                    tc,
                    &AuditEntry {
                        actor_user_id: Some(user_id),
                        action: "member.invitation_accepted",
                        target_type: Some("user"),
                        target_id: Some(&user_id.to_string()),
                        request_id: None,
                        reason: None,
                    },
                )
                .await?;
                Ok(true)
            })
            .await
    }
}

/// The dashboard's side of the hand-off: redeems a one-time code exactly
/// once. Global (the code is not yet bound to a tenant), keyed by the
/// code's hash and the `state` it was issued for.
impl Database {
    pub async fn redeem_auth_code(
        &self,
        code_hash: &[u8; 32],
        state: &str,
    ) -> Result<Option<(Vec<u8>, String)>, DbError> {
        #[derive(QueryableByName)]
        struct Redeemed {
            #[diesel(sql_type = Bytea)]
            sealed_token: Vec<u8>,
            #[diesel(sql_type = Text)]
            return_to: String,
            #[diesel(sql_type = Bool)]
            fresh: bool,
        }
        self.global(async |conn| {
            // DELETE … RETURNING: a second redemption finds nothing, even when
            // two race. Expired and wrong-state codes are consumed too.
            let rows: Vec<Redeemed> = diesel::sql_query(
                "DELETE FROM auth_codes WHERE code_hash = $1
                 RETURNING sealed_token, return_to, (expires_at > now() AND state = $2) AS fresh",
            )
            .bind::<Bytea, _>(code_hash.as_slice())
            .bind::<Text, _>(state)
            .load(&mut *conn)
            .await?;
            Ok(rows
                .into_iter()
                .find(|r| r.fresh)
                .map(|r| (r.sealed_token, r.return_to)))
        })
        .await
    }
}
