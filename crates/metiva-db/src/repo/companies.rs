//! The current company (the app role can see no other).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::schema::companies;
use crate::{DbError, TenantConn};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = companies, check_for_backend(diesel::pg::Pg))]
pub struct Company {
    pub id: String,
    pub name: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

pub async fn current(tc: &mut TenantConn<'_>) -> Result<Company, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(companies::table
        .filter(companies::id.eq(company))
        .select(Company::as_select())
        .first(tc.conn())
        .await?)
}

/// Creates the connection's own company (the id comes from the context).
pub async fn create(tc: &mut TenantConn<'_>, name: &str) -> Result<Company, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(diesel::insert_into(companies::table)
        .values((companies::id.eq(company), companies::name.eq(name)))
        .returning(Company::as_returning())
        .get_result(tc.conn())
        .await?)
}
