//! Global, non-tenant reads and writes about the system itself.
//!
//! Nothing here touches client data: `system_checks` holds timestamps and
//! round-trip times only.

use std::time::Instant;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;

use crate::schema::system_checks;
use crate::{Database, DbError};

/// What the dashboard shows about the database.
#[derive(Debug, Clone, QueryableByName)]
pub struct SystemStatus {
    #[diesel(sql_type = Text)]
    pub server_version: String,
    #[diesel(sql_type = Text)]
    pub current_role: String,
    #[diesel(sql_type = BigInt)]
    pub checks_recorded: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_check_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub last_round_trip_us: Option<i32>,
}

const STATUS_SQL: &str = "SELECT current_setting('server_version') AS server_version,
        current_user::text AS current_role,
        (SELECT count(*) FROM system_checks) AS checks_recorded,
        last.checked_at AS last_check_at,
        last.round_trip_us AS last_round_trip_us
 FROM (SELECT 1) AS one
 LEFT JOIN LATERAL (
     SELECT checked_at, round_trip_us FROM system_checks ORDER BY id DESC LIMIT 1
 ) AS last ON true";

impl Database {
    /// Global read: the database server's version, the role the app runs as,
    /// and the recorded checks. Named for what it is; it reads no tenant data.
    pub async fn read_system_status(&self) -> Result<SystemStatus, DbError> {
        // Raw SQL: server functions (version(), current_user) beside the table.
        self.global(async |conn| Ok(diesel::sql_query(STATUS_SQL).get_result(conn).await?))
            .await
    }

    /// Global write: measures one round trip, records it, and returns the
    /// new status, all on one connection.
    pub async fn record_system_check(&self) -> Result<SystemStatus, DbError> {
        self.global(async |conn| {
            let started = Instant::now();
            // Raw SQL: the bare round trip being measured.
            diesel::sql_query("SELECT 1").execute(&mut *conn).await?;
            let us = i32::try_from(started.elapsed().as_micros()).unwrap_or(i32::MAX);
            diesel::insert_into(system_checks::table)
                .values(system_checks::round_trip_us.eq(us))
                .execute(&mut *conn)
                .await?;
            // Raw SQL: server functions (version(), current_user) beside the table.
            Ok(diesel::sql_query(STATUS_SQL).get_result(conn).await?)
        })
        .await
    }
}
