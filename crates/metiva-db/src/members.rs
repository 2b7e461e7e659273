//! Member management: invite, change role, suspend, reactivate, remove and
//! "sign out everywhere", with their guard rails and audit rows.
//!
//! # Security
//! - Every action needs `members.manage`, checked here against the
//!   actor's [`TenantCtx`] (the UI hides controls, the server decides).
//! - Nobody grants a role above their own (`Role::may_grant`), and nobody
//!   changes a member who ranks above them.
//! - The last active owner can be neither demoted, suspended nor removed;
//!   the count is taken under a row lock on the company's owner rows, so two
//!   concurrent demotions cannot both succeed.
//! - Each action and its audit row (ids only) commit in one transaction.
//! - Every change fires the access-change NOTIFY (triggers), so the
//!   member's very next request, on any instance, sees it.

use std::time::Duration;

use diesel::dsl::now;
use diesel::sql_types::{Text, Timestamptz};
use diesel::{ExpressionMethods, IntoSql, NullableExpressionMethods, QueryDsl, QueryableByName};
use diesel_async::RunQueryDsl;
use metiva_roles::{Permission, Role};
use uuid::Uuid;

use crate::access::TenantCtx;
use crate::repo::audit::{self, AuditEntry};
use crate::repo::interval;
use crate::schema::{invitations, memberships, sessions};
use crate::{Database, DbError, TenantConn};

type SqlUuid = diesel::sql_types::Uuid;

/// Why a member action was refused.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("your role does not allow managing members")]
    Forbidden,
    #[error("no such member in this workspace")]
    NotFound,
    #[error("the last owner cannot be removed, suspended or demoted")]
    LastOwner,
    #[error("nobody can grant a role above their own or change a member who ranks above them")]
    AboveOwnRole,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// An invitation to create.
#[derive(Debug, Clone, Copy)]
pub struct Invite<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    /// SHA-256 of the one-time link's secret.
    pub token_hash: &'a [u8; 32],
    pub ttl: Duration,
}

/// A member action, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAction {
    ChangeRole(Role),
    Suspend,
    Reactivate,
    Remove,
    SignOutEverywhere,
}

impl MemberAction {
    fn audit_action(self) -> &'static str {
        match self {
            MemberAction::ChangeRole(_) => "member.role_changed",
            MemberAction::Suspend => "member.suspended",
            MemberAction::Reactivate => "member.reactivated",
            MemberAction::Remove => "member.removed",
            MemberAction::SignOutEverywhere => "member.signed_out_everywhere",
        }
    }
}

#[derive(diesel::Queryable)]
struct Target {
    role: String,
    status: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn require_manage(actor: &TenantCtx) -> Result<(), MemberError> {
    if actor.can(Permission::MembersManage) {
        Ok(())
    } else {
        Err(MemberError::Forbidden)
    }
}

async fn other_active_owners(tc: &mut TenantConn<'_>, except: Uuid) -> Result<i64, DbError> {
    // FOR UPDATE: concurrent owner changes serialise on these rows.
    // Raw SQL: counting rows locked FOR UPDATE needs a subquery in FROM
    // (an aggregate cannot take the lock), which Diesel's DSL lacks.
    let rows: Vec<Count> = diesel::sql_query(
        "SELECT count(*) AS n FROM (
           SELECT 1 FROM memberships
           WHERE company_id = current_setting('app.company_id') AND role = 'owner'
             AND status = 'active' AND user_id <> $1
           FOR UPDATE) o",
    )
    .bind::<SqlUuid, _>(except)
    .load(tc.conn())
    .await?;
    Ok(rows.into_iter().next().map_or(0, |c| c.n))
}

impl Database {
    /// Applies `action` to `target` as `actor`, with its audit row, in one
    /// transaction.
    pub async fn member_action(
        &self,
        actor: &TenantCtx,
        target: Uuid,
        action: MemberAction,
        request_id: &str,
    ) -> Result<(), MemberError> {
        require_manage(actor)?;
        let actor_role = actor.role();
        let actor_id = actor.user_id();
        self.in_tenant(actor, async |tc: &mut TenantConn<'_>| {
            Ok(apply(tc, actor_role, actor_id, target, action, request_id).await)
        })
        .await??;
        Ok(())
    }

    /// Invites `email` as `role`: finds or creates the user, adds a
    /// pending membership and a one-time invitation (only the token's
    /// hash is stored); audited. Returns the new member's user id.
    pub async fn invite_member(
        &self,
        actor: &TenantCtx,
        invite: &Invite<'_>,
        request_id: &str,
    ) -> Result<Uuid, MemberError> {
        let Invite {
            email,
            name,
            role,
            token_hash,
            ttl,
        } = *invite;
        require_manage(actor)?;
        if !actor.role().may_grant(role) {
            return Err(MemberError::AboveOwnRole);
        }
        let email = email.trim().to_lowercase();
        let name = name.trim();
        if email.len() > 254 || !email.contains('@') || email.starts_with('@') {
            return Err(MemberError::Invalid("Enter a valid email address.".into()));
        }
        if name.is_empty() || name.chars().count() > 200 {
            return Err(MemberError::Invalid(
                "Enter a name (at most 200 characters).".into(),
            ));
        }
        let actor_id = actor.user_id();
        let out = self
            .in_tenant(actor, async |tc: &mut TenantConn<'_>| {
                #[derive(QueryableByName)]
                struct Id {
                    #[diesel(sql_type = SqlUuid)]
                    id: Uuid,
                }
                // Raw SQL: a definer function (it may create the global
                // user row, which the app role cannot insert directly).
                let user: Id = diesel::sql_query("SELECT metiva_invite_user($1, $2) AS id")
                    .bind::<Text, _>(&email)
                    .bind::<Text, _>(name)
                    .get_result(tc.conn())
                    .await?;
                let company = tc.company().as_str().to_string();
                let inserted = diesel::insert_into(memberships::table)
                    .values((
                        memberships::company_id.eq(&company),
                        memberships::user_id.eq(user.id),
                        memberships::role.eq(role.key()),
                        memberships::status.eq("invited"),
                    ))
                    .on_conflict_do_nothing()
                    .execute(tc.conn())
                    .await?;
                if inserted == 0 {
                    return Ok(Err(MemberError::Invalid(
                        "That person is already a member of this workspace.".into(),
                    )));
                }
                diesel::insert_into(invitations::table)
                    .values((
                        invitations::company_id.eq(&company),
                        invitations::token_hash.eq(token_hash.as_slice()),
                        invitations::user_id.eq(user.id),
                        invitations::invited_by.eq(actor_id),
                        invitations::expires_at.eq(now.into_sql::<Timestamptz>() + interval(ttl)),
                    ))
                    .execute(tc.conn())
                    .await?;
                audit::append(
                    tc,
                    &AuditEntry {
                        actor_user_id: Some(actor_id),
                        action: "member.invited",
                        target_type: Some("user"),
                        target_id: Some(&user.id.to_string()),
                        request_id: Some(request_id),
                        reason: None,
                    },
                )
                .await?;
                Ok(Ok(user.id))
            })
            .await??;
        Ok(out)
    }
}

async fn apply(
    tc: &mut TenantConn<'_>,
    actor_role: Role,
    actor_id: Uuid,
    target: Uuid,
    action: MemberAction,
    request_id: &str,
) -> Result<(), MemberError> {
    let company = tc.company().as_str().to_string();
    let rows: Vec<Target> = memberships::table
        .filter(memberships::company_id.eq(&company))
        .filter(memberships::user_id.eq(target))
        .select((memberships::role, memberships::status))
        .for_update()
        .load(tc.conn())
        .await
        .map_err(DbError::from)?;
    let Some(t) = rows.into_iter().next() else {
        return Err(MemberError::NotFound);
    };
    let current = Role::parse(&t.role).map_err(|_| MemberError::Invalid("unknown role".into()))?;
    // Nobody acts on a member who ranks above them.
    if current.rank() < actor_role.rank() {
        return Err(MemberError::AboveOwnRole);
    }
    let loses_ownership = current == Role::Owner
        && t.status == "active"
        && match action {
            MemberAction::ChangeRole(r) => r != Role::Owner,
            MemberAction::Suspend | MemberAction::Remove => true,
            MemberAction::Reactivate | MemberAction::SignOutEverywhere => false,
        };
    if loses_ownership && other_active_owners(tc, target).await? == 0 {
        return Err(MemberError::LastOwner);
    }
    let sql = match action {
        MemberAction::ChangeRole(r) => {
            if !actor_role.may_grant(r) {
                return Err(MemberError::AboveOwnRole);
            }
            diesel::update(
                memberships::table
                    .filter(memberships::company_id.eq(&company))
                    .filter(memberships::user_id.eq(target)),
            )
            .set(memberships::role.eq(r.key()))
            .execute(tc.conn())
            .await
        }
        MemberAction::Suspend | MemberAction::Reactivate => {
            let status = if action == MemberAction::Suspend {
                "suspended"
            } else {
                "active"
            };
            if action == MemberAction::Reactivate && t.status != "suspended" {
                return Err(MemberError::Invalid(
                    "Only a suspended member can be reactivated.".into(),
                ));
            }
            diesel::update(
                memberships::table
                    .filter(memberships::company_id.eq(&company))
                    .filter(memberships::user_id.eq(target)),
            )
            .set(memberships::status.eq(status))
            .execute(tc.conn())
            .await
        }
        MemberAction::Remove => {
            diesel::delete(
                memberships::table
                    .filter(memberships::company_id.eq(&company))
                    .filter(memberships::user_id.eq(target)),
            )
            .execute(tc.conn())
            .await
        }
        MemberAction::SignOutEverywhere => {
            // The policy lets the dashboard revoke only sessions of members
            // of this workspace.
            diesel::update(
                sessions::table
                    .filter(sessions::user_id.eq(target))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(now.into_sql::<Timestamptz>().nullable()))
            .execute(tc.conn())
            .await
        }
    };
    sql.map_err(DbError::from)?;
    audit::append(
        tc,
        &AuditEntry {
            actor_user_id: Some(actor_id),
            action: action.audit_action(),
            target_type: Some("user"),
            target_id: Some(&target.to_string()),
            request_id: Some(request_id),
            reason: None,
        },
    )
    .await?;
    Ok(())
}

/// Ends one session of the signed-in user (sign-out), audited.
impl Database {
    pub async fn sign_out(&self, ctx: &TenantCtx, request_id: &str) -> Result<(), DbError> {
        let sid = ctx.session_id();
        let user = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            diesel::update(
                sessions::table
                    .filter(sessions::id.eq(sid))
                    .filter(sessions::user_id.eq(user))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(now.into_sql::<Timestamptz>().nullable()))
            .execute(tc.conn())
            .await?;
            audit::append(
                tc,
                &AuditEntry {
                    actor_user_id: Some(user),
                    action: "auth.sign_out",
                    target_type: Some("session"),
                    target_id: Some(&sid.to_string()),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await
        })
        .await
    }
}
