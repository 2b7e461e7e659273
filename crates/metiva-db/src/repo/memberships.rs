//! Memberships of the current company, with the member's identity.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::schema::{memberships, users};
use crate::{DbError, TenantConn};

#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub status: String,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// The columns a [`Member`] is read from (memberships joined to users).
const MEMBER_COLUMNS: (
    memberships::user_id,
    users::email,
    users::name,
    memberships::role,
    memberships::status,
    memberships::last_sign_in_at,
) = (
    memberships::user_id,
    users::email,
    users::name,
    memberships::role,
    memberships::status,
    memberships::last_sign_in_at,
);

pub async fn list(tc: &mut TenantConn<'_>) -> Result<Vec<Member>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(memberships::table
        .inner_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(memberships::company_id.eq(company))
        .order(users::email.asc())
        .select(MEMBER_COLUMNS)
        .load(tc.conn())
        .await?)
}

/// One member of the connection's company.
pub async fn get(tc: &mut TenantConn<'_>, user_id: Uuid) -> Result<Member, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(memberships::table
        .inner_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(memberships::company_id.eq(company))
        .filter(memberships::user_id.eq(user_id))
        .select(MEMBER_COLUMNS)
        .first(tc.conn())
        .await?)
}

/// Adds a user to the connection's company.
pub async fn create(
    tc: &mut TenantConn<'_>,
    user_id: Uuid,
    role: &str,
    status: &str,
) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    diesel::insert_into(memberships::table)
        .values((
            memberships::company_id.eq(company),
            memberships::user_id.eq(user_id),
            memberships::role.eq(role),
            memberships::status.eq(status),
        ))
        .execute(tc.conn())
        .await?;
    Ok(())
}
