//! An owner's request, from the workspace's own page, to offboard it: the
//! typed name confirms it, and the company's status `offboarding` ends
//! every member's access at once. The owner role then runs the offboarding
//! core ([`Database::offboard`], `metiva offboard`), which resumes the
//! register row this request wrote and keeps its actor.
//!
//! # Security
//! - Only an owner: checked here (403 before any query) and again inside
//!   the database function `metiva_request_offboarding` (migration
//!   `owner_offboarding`), which re-reads the membership in the same
//!   transaction, so a role change a moment earlier still refuses.
//! - The name is compared by the database under a row lock on the
//!   company; the app role cannot destroy a key or delete a row here.
//! - The register keeps the owner's id, never a name or email.

use diesel::QueryableByName;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use metiva_roles::Role;

use crate::{Database, DbError, TenantConn, TenantCtx};

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum OffboardRequestError {
    /// Not an owner of the workspace.
    #[error("only an owner can offboard a workspace")]
    Forbidden,
    /// Nothing typed.
    #[error("type the workspace's name to confirm")]
    NameMissing,
    /// The typed name is not the workspace's name.
    #[error("the typed name is not the workspace's name")]
    NameMismatch,
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(QueryableByName)]
struct Answer {
    #[diesel(sql_type = Text)]
    answer: String,
}

impl Database {
    /// Requests the offboarding of the context's workspace, confirmed by
    /// its name typed out (`typed`, surrounding spaces ignored). On
    /// success the workspace is `offboarding` and nobody, the requester
    /// included, can use it any more (see the module docs).
    pub async fn request_offboarding(
        &self,
        ctx: &TenantCtx,
        typed: &str,
    ) -> Result<(), OffboardRequestError> {
        // Fail closed before any query: the function re-checks.
        if ctx.role() != Role::Owner {
            return Err(OffboardRequestError::Forbidden);
        }
        let typed = typed.trim();
        if typed.is_empty() {
            return Err(OffboardRequestError::NameMissing);
        }
        let (user, session) = (ctx.user_id(), ctx.session_id());
        let typed = typed.to_string();
        let answer = self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                let a: Answer =
                    diesel::sql_query("SELECT metiva_request_offboarding($1, $2, $3) AS answer")
                        .bind::<SqlUuid, _>(user)
                        .bind::<SqlUuid, _>(session)
                        .bind::<Text, _>(&typed)
                        .get_result(tc.conn())
                        .await?;
                Ok(a.answer)
            })
            .await?;
        match answer.as_str() {
            "requested" => Ok(()),
            "name_mismatch" => Err(OffboardRequestError::NameMismatch),
            other => Err(OffboardRequestError::Db(DbError::Internal(format!(
                "metiva_request_offboarding answered {other:?}"
            )))),
        }
    }
}
