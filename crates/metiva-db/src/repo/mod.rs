//! Repositories: typed queries over tenant tables. Every function takes
//! `&mut TenantConn`, never a pool, and also filters by the connection's
//! company (defence in depth, and it lets the planner use the
//! company-leading indexes). RLS is what actually guarantees isolation.

pub mod audit;
pub mod cached;
pub mod companies;
pub mod deals;
pub mod memberships;
pub mod persons;
pub mod probe;

use std::time::Duration;

use diesel::pg::data_types::PgInterval;

/// `d` as a PostgreSQL interval, for expiries computed on the database's
/// clock (`now + interval`), which every instance shares.
pub(crate) fn interval(d: Duration) -> PgInterval {
    PgInterval::from_microseconds(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
