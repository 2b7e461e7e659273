//! Persons: contacts and leads.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::schema::persons;
use crate::{DbError, TenantConn};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = persons, check_for_backend(diesel::pg::Pg))]
pub struct Person {
    pub company_id: String,
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organisation: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields a caller supplies; the company comes from the connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonFields {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub organisation: Option<String>,
}

pub async fn create(tc: &mut TenantConn<'_>, f: &PersonFields) -> Result<Person, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(diesel::insert_into(persons::table)
        .values((
            persons::company_id.eq(company),
            persons::name.eq(&f.name),
            persons::email.eq(f.email.as_deref().map(str::to_lowercase)),
            persons::phone.eq(&f.phone),
            persons::organisation.eq(&f.organisation),
        ))
        .returning(Person::as_returning())
        .get_result(tc.conn())
        .await?)
}

/// Another tenant's person is simply not found.
pub async fn get(tc: &mut TenantConn<'_>, id: Uuid) -> Result<Person, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(persons::table
        .filter(persons::company_id.eq(company))
        .filter(persons::id.eq(id))
        .select(Person::as_select())
        .first(tc.conn())
        .await?)
}

pub async fn list(tc: &mut TenantConn<'_>, limit: i64) -> Result<Vec<Person>, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(persons::table
        .filter(persons::company_id.eq(company))
        .order((persons::name.asc(), persons::id.asc()))
        .limit(limit)
        .select(Person::as_select())
        .load(tc.conn())
        .await?)
}

pub async fn update(
    tc: &mut TenantConn<'_>,
    id: Uuid,
    f: &PersonFields,
) -> Result<Person, DbError> {
    let company = tc.company().as_str().to_string();
    Ok(diesel::update(
        persons::table
            .filter(persons::company_id.eq(company))
            .filter(persons::id.eq(id)),
    )
    .set((
        persons::name.eq(&f.name),
        persons::email.eq(f.email.as_deref().map(str::to_lowercase)),
        persons::phone.eq(&f.phone),
        persons::organisation.eq(&f.organisation),
        persons::updated_at.eq(diesel::dsl::now),
    ))
    .returning(Person::as_returning())
    .get_result(tc.conn())
    .await?)
}

pub async fn delete(tc: &mut TenantConn<'_>, id: Uuid) -> Result<(), DbError> {
    let company = tc.company().as_str().to_string();
    let n = diesel::delete(
        persons::table
            .filter(persons::company_id.eq(company))
            .filter(persons::id.eq(id)),
    )
    .execute(tc.conn())
    .await?;
    if n == 0 {
        Err(DbError::NotFound)
    } else {
        Ok(())
    }
}
