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

use diesel::dsl::now;
use diesel::sql_types::{Array, Bytea, Double, Integer, Nullable, Text, Timestamptz};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, IntoSql, JoinOnDsl, NullableExpressionMethods,
    OptionalExtension, QueryDsl, QueryableByName,
};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::repo::audit::{self, AuditEntry};
use crate::repo::interval;
use crate::schema::{auth_codes, invitations, login_throttle, memberships, sessions, users};
use crate::{CompanyId, Database, DbError, PoolSettings, TenantConn};

type SqlUuid = diesel::sql_types::Uuid;

/// The login service's pool (role `metiva_login`).
#[derive(Clone, Debug)]
pub struct LoginDb {
    db: Database,
}

/// What sign-in needs to check a password.
#[derive(Debug, Clone, diesel::Queryable)]
pub struct Credentials {
    pub user_id: Uuid,
    /// `None` for an invited user who has not set a password yet.
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
#[derive(Debug, Clone, PartialEq, Eq, diesel::Queryable)]
pub struct LoginSession {
    pub id: Uuid,
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
#[derive(Debug, Clone, diesel::Queryable)]
pub struct Invitation {
    pub user_id: Uuid,
    pub email: String,
    pub has_password: bool,
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
                Ok(users::table
                    .filter(users::email.eq(email))
                    .select((users::id, users::password_hash))
                    .first::<Credentials>(&mut *conn)
                    .await
                    .optional()?)
            })
            .await
    }

    /// Global read (directory function): the active workspaces of a user.
    pub async fn workspaces(&self, user_id: Uuid) -> Result<Vec<Workspace>, DbError> {
        self.db
            .global(async |conn| {
                // Raw SQL: a set-returning definer function in FROM, which
                // Diesel's DSL does not express.
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
        self.db
            .global(async |conn| {
                diesel::insert_into(sessions::table)
                    .values((
                        sessions::id.eq(s.id),
                        sessions::user_id.eq(s.user_id),
                        sessions::secret_hash.eq(s.secret_hash.as_slice()),
                        sessions::user_agent.eq(ua),
                        sessions::expires_at.eq(now.into_sql::<Timestamptz>() + interval(s.ttl)),
                        sessions::ip_key_id.eq(key_id),
                        sessions::ip_nonce.eq(nonce),
                        sessions::ip_ciphertext.eq(ct),
                    ))
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
                Ok(sessions::table
                    .filter(sessions::secret_hash.eq(secret_hash.as_slice()))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::expires_at.gt(now))
                    .select((sessions::id, sessions::user_id))
                    .first::<LoginSession>(&mut *conn)
                    .await
                    .optional()?)
            })
            .await
    }

    /// Ends a session: the login cookie and every access token naming it
    /// stop working (the dashboards hear about it through NOTIFY).
    pub async fn revoke_session(&self, id: Uuid) -> Result<(), DbError> {
        self.db
            .global(async |conn| {
                diesel::update(
                    sessions::table
                        .filter(sessions::id.eq(id))
                        .filter(sessions::revoked_at.is_null()),
                )
                .set(sessions::revoked_at.eq(now))
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
                // Raw SQL: interval arithmetic on an aggregate, read as
                // seconds, which Diesel's DSL does not express.
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
        self.db
            .global(async |conn| {
                // Raw SQL: an upsert whose SET is a CASE over the existing
                // row, which Diesel's DSL does not express.
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
                diesel::update(login_throttle::table.find(key.as_slice()))
                    .set(
                        login_throttle::next_allowed_at
                            .eq(now.into_sql::<Timestamptz>() + interval(delay)),
                    )
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
                diesel::delete(login_throttle::table.filter(login_throttle::key.eq_any(keys)))
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
            .for_sign_in(company, async |tc: &mut TenantConn<'_>| {
                diesel::insert_into(auth_codes::table)
                    .values((
                        auth_codes::code_hash.eq(code.code_hash.as_slice()),
                        auth_codes::sealed_token.eq(code.sealed_token),
                        auth_codes::return_to.eq(code.return_to),
                        auth_codes::state.eq(code.state),
                        auth_codes::expires_at
                            .eq(now.into_sql::<Timestamptz>() + interval(code.ttl)),
                    ))
                    .execute(tc.conn())
                    .await?;
                // Expired codes are swept now and then, not on every entry.
                if rand::random::<u8>() < 8 {
                    diesel::delete(
                        auth_codes::table.filter(
                            auth_codes::expires_at
                                .lt(now.into_sql::<Timestamptz>()
                                    - interval(Duration::from_secs(60))),
                        ),
                    )
                    .execute(tc.conn())
                    .await?;
                }
                let Some(action) = action else {
                    diesel::update(sessions::table.find(session_id))
                        .set(sessions::last_seen_at.eq(now))
                        .execute(tc.conn())
                        .await?;
                    return Ok(());
                };
                let company = tc.company().as_str().to_string();
                diesel::update(
                    memberships::table
                        .filter(memberships::company_id.eq(&company))
                        .filter(memberships::user_id.eq(user_id)),
                )
                .set(memberships::last_sign_in_at.eq(now.into_sql::<Timestamptz>().nullable()))
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
                .for_sign_in(&w.company, async |tc: &mut TenantConn<'_>| {
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
            .for_sign_in_read(company, async |tc: &mut TenantConn<'_>| {
                let company = tc.company().as_str().to_string();
                Ok(invitations::table
                    .inner_join(
                        memberships::table.on(memberships::company_id
                            .eq(invitations::company_id)
                            .and(memberships::user_id.eq(invitations::user_id))),
                    )
                    .inner_join(users::table.on(users::id.eq(invitations::user_id)))
                    .filter(invitations::company_id.eq(&company))
                    .filter(invitations::token_hash.eq(token_hash.as_slice()))
                    .select((
                        invitations::user_id,
                        users::email,
                        users::password_hash.is_not_null(),
                        invitations::accepted_at
                            .is_null()
                            .and(invitations::expires_at.gt(now))
                            .and(memberships::status.eq("invited")),
                    ))
                    .first::<Invitation>(tc.conn())
                    .await
                    .optional()?)
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
            .for_sign_in(company, async |tc: &mut TenantConn<'_>| {
                let company = tc.company().as_str().to_string();
                let used = diesel::update(
                    invitations::table
                        .filter(invitations::company_id.eq(&company))
                        .filter(invitations::token_hash.eq(token_hash.as_slice()))
                        .filter(invitations::user_id.eq(user_id))
                        .filter(invitations::accepted_at.is_null())
                        .filter(invitations::expires_at.gt(now)),
                )
                .set(invitations::accepted_at.eq(now.into_sql::<Timestamptz>().nullable()))
                .execute(tc.conn())
                .await?;
                if used != 1 {
                    return Ok(false);
                }
                diesel::update(
                    memberships::table
                        .filter(memberships::company_id.eq(&company))
                        .filter(memberships::user_id.eq(user_id))
                        .filter(memberships::status.eq("invited")),
                )
                .set(memberships::status.eq("active"))
                .execute(tc.conn())
                .await?;
                if let Some(hash) = new_password_hash {
                    diesel::update(
                        users::table
                            .filter(users::id.eq(user_id))
                            .filter(users::password_hash.is_null()),
                    )
                    .set(users::password_hash.eq(hash))
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
        #[derive(diesel::Queryable)]
        struct Redeemed {
            sealed_token: Vec<u8>,
            return_to: String,
            fresh: bool,
        }
        self.global(async |conn| {
            // DELETE … RETURNING: a second redemption finds nothing, even when
            // two race. Expired and wrong-state codes are consumed too.
            let rows: Vec<Redeemed> = diesel::delete(auth_codes::table.find(code_hash.as_slice()))
                .returning((
                    auth_codes::sealed_token,
                    auth_codes::return_to,
                    auth_codes::expires_at
                        .gt(now)
                        .and(auth_codes::state.eq(state)),
                ))
                .get_results(&mut *conn)
                .await?;
            Ok(rows
                .into_iter()
                .find(|r| r.fresh)
                .map(|r| (r.sealed_token, r.return_to)))
        })
        .await
    }
}
