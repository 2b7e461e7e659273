//! The domain: members, sessions, consent and visitors, ingest, the login
//! directory, the demo seed and the isolation self-test.
//!
//! # Security
//! This crate owns no pool and opens no connection: it reaches tenant data
//! only through the tenancy core (`metiva-tenancy`), whose crate docs list
//! the ways in. [`Database`] here is the core's handle with the domain's
//! operations on it.

pub mod adapters;
pub mod alerts;
pub mod attachments;
pub mod audit_chain;
pub mod audit_checkpoint;
pub mod audit_checks;
pub mod billing;
pub mod branding;
pub mod conversions;
mod database;
pub(crate) use metiva_tenancy::schema;
pub mod crm;
pub mod data_keys;
pub mod erasure;
pub mod exports;
pub mod files;
pub mod files_sweep;
pub mod ingest;
pub mod jobs;
pub mod login;
pub mod members;
pub mod object_s3;
pub mod offboarding;
pub mod offboarding_request;
pub mod repo;
pub mod retention;
pub mod sealed_stream;
pub mod security_page;
pub mod seed;
pub mod self_test;
pub mod sessions;
pub mod signing_keys;
pub mod system;
pub mod visitors;
pub mod walkthrough;
mod webhook_endpoints;

pub use database::Database;
pub use metiva_tenancy::{
    CompanyId, DbError, DbUrl, InvalidCompanyId, PoolSettings, SslMode, TenantConn, TenantCtx,
    access, bootstrap, catalog, connect, notify,
};
