//! Repositories: typed queries over tenant tables. Every function takes
//! `&mut TenantConn`, never a pool, and also filters by the connection's
//! company (defence in depth, and it lets the planner use the
//! company-leading indexes). RLS is what actually guarantees isolation.

pub mod audit;
pub mod companies;
pub mod deals;
pub mod memberships;
pub mod persons;
pub mod probe;
