//! The tenancy core, and the only crate that owns a connection pool.
//!
//! # Security
//! Isolation is structural: this crate never hands out the pool or a raw
//! connection. Tenant data is reached only inside a transaction this crate
//! opened and bound to one company (`app.company_id`, transaction-local,
//! set before any query runs), through:
//!
//! - [`Database::in_tenant`] and its read variants, for a request whose
//!   access ([`TenantCtx`]) was resolved and is re-asserted in the same
//!   transaction;
//! - the named cross-tenant entry points, each for one path that has no
//!   signed-in member yet and picks the company itself:
//!   [`Database::for_sign_in`] (the login directory),
//!   [`Database::for_site_key`] (ingest, after the site-key lookup),
//!   [`Database::for_provisioning`] (the demo seed and workspace set-up),
//!   [`Database::for_audit_verify`] (reading one company's audit chain,
//!   read-only, for `metiva audit verify`), [`Database::for_sweep`]
//!   (the retention sweep, one batch per transaction) and
//!   [`Database::for_job`] (the job dispatcher: a claimed job's handler,
//!   or the cron's enqueue, under the job's company).
//!
//! The unnamed `Database::tenant` stays private to this crate; the
//! `test-support` feature exposes it to tests and benchmarks only.
//! [`Database::global`] runs without any binding, where RLS shows no
//! tenant rows at all.

pub mod access;
pub mod bootstrap;
pub mod catalog;
pub mod connect;
mod error;
mod ids;
pub mod notify;
mod pool;
pub mod schema;
mod tenant;

pub use access::TenantCtx;
pub use connect::{DbUrl, SslMode};
pub use error::DbError;
pub use ids::{CompanyId, InvalidCompanyId};
pub use pool::{Database, PoolSettings};
pub use tenant::TenantConn;
