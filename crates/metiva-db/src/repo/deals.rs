//! Deals: value, stage, owner and the linked person.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::schema::deals;
use crate::{DbError, TenantConn};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = deals, check_for_backend(diesel::pg::Pg))]
pub struct Deal {
    pub company_id: String,
    pub id: Uuid,
    pub title: String,
    pub value_cents: i64,
    pub currency: String,
    pub stage: String,
    pub owner_user_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Pipeline stages, in order.
pub const STAGES: &[&str] = &["lead", "qualified", "proposal", "won", "lost"];

#[derive(Debug, Clone, PartialEq)]
pub struct DealFields {
    pub title: String,
    pub value_cents: i64,
    pub stage: String,
    pub owner_user_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
}

pub async fn create(tc: &mut TenantConn<'_>, f: &DealFields) -> Result<Deal, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(diesel::insert_into(deals::table)
        .values((
            deals::company_id.eq(company),
            deals::title.eq(&f.title),
            deals::value_cents.eq(f.value_cents),
            deals::stage.eq(&f.stage),
            deals::owner_user_id.eq(f.owner_user_id),
            deals::person_id.eq(f.person_id),
        ))
        .returning(Deal::as_returning())
        .get_result(tc.conn())
        .await?)
}

pub async fn get(tc: &mut TenantConn<'_>, id: Uuid) -> Result<Deal, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(deals::table
        .filter(deals::company_id.eq(company))
        .filter(deals::id.eq(id))
        .select(Deal::as_select())
        .first(tc.conn())
        .await?)
}

pub async fn list(tc: &mut TenantConn<'_>, limit: i64) -> Result<Vec<Deal>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(deals::table
        .filter(deals::company_id.eq(company))
        .order((deals::created_at.desc(), deals::id.asc()))
        .limit(limit)
        .select(Deal::as_select())
        .load(tc.conn())
        .await?)
}

pub async fn list_for_person(tc: &mut TenantConn<'_>, person: Uuid) -> Result<Vec<Deal>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(deals::table
        .filter(deals::company_id.eq(company))
        .filter(deals::person_id.eq(person))
        .order(deals::created_at.desc())
        .select(Deal::as_select())
        .load(tc.conn())
        .await?)
}

pub async fn update(tc: &mut TenantConn<'_>, id: Uuid, f: &DealFields) -> Result<Deal, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(diesel::update(
        deals::table
            .filter(deals::company_id.eq(company))
            .filter(deals::id.eq(id)),
    )
    .set((
        deals::title.eq(&f.title),
        deals::value_cents.eq(f.value_cents),
        deals::stage.eq(&f.stage),
        deals::owner_user_id.eq(f.owner_user_id),
        deals::person_id.eq(f.person_id),
        deals::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Deal::as_returning())
    .get_result(tc.conn())
    .await?)
}

pub async fn delete(tc: &mut TenantConn<'_>, id: Uuid) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    let n = diesel::delete(
        deals::table
            .filter(deals::company_id.eq(company))
            .filter(deals::id.eq(id)),
    )
    .execute(tc.conn())
    .await?;
    if n == 0 {
        Err(DbError::NotFound)
    } else {
        Ok(())
    }
}
