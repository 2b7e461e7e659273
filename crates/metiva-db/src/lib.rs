//! The database layer and the only crate that owns a connection pool.
//!
//! # Security
//! Isolation is structural: this crate never hands out the pool or a raw
//! connection. Request code gets a database connection only through the
//! narrowly named functions on [`Database`]; tenant data only through
//! `Database::tenant` (see `tenant`), which opens a transaction and sets
//! `app.company_id` transaction-locally before any query can run.

pub mod access;
pub mod bootstrap;
pub mod catalog;
pub mod connect;
mod error;
mod ids;
pub mod ingest;
pub mod login;
pub mod members;
mod pool;
pub mod repo;
mod schema;
pub mod seed;
pub mod self_test;
pub mod sessions;
pub mod system;
mod tenant;
pub mod visitors;

pub use access::TenantCtx;
pub use connect::{DbUrl, SslMode};
pub use error::DbError;
pub use ids::{CompanyId, InvalidCompanyId};
pub use pool::{Database, PoolSettings};
pub use tenant::TenantConn;
