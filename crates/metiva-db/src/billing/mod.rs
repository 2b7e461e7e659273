//! Billing: retainers, invoices with gapless numbers, the workspace's
//! Stripe connection, Stripe's webhook events, and the issuing of
//! invoices through Stripe's REST API.
//!
//! # Security
//! - Reading needs `billing.read`, changing needs `billing.manage`
//!   (owner and finance); both are checked here, in the domain, as well
//!   as by the pages.
//! - The Stripe API key and webhook secret are sealed with the field
//!   cipher, bound to their company, table and column, and never read
//!   back to a page (see [`connection`]).
//! - The webhook path resolves its company through one narrow directory
//!   function and runs under that company's binding
//!   (`Database::for_stripe_webhook`); see [`events`].
//! - Invoices are never deleted by the app role (7-year fiscal duty).

pub mod connection;
pub mod demo;
pub mod events;
pub mod invoices;
pub mod issue;
pub mod jobs;
pub mod logo;
pub mod money;
pub mod pdf;
mod pdf_page;
/// Reading a PDF's text back: for tests only (the `test-support` feature).
#[cfg(any(test, feature = "test-support"))]
pub mod pdf_text;
mod plain_pdf;
pub mod retainers;
pub mod signature;
pub mod stripe_client;

use crate::DbError;
use crate::crm::FieldError;

/// Why a billing request was refused.
#[derive(Debug)]
pub enum BillingError {
    /// The member's role lacks the permission (403).
    Forbidden,
    /// Fields failed validation (422, each named).
    Invalid(Vec<FieldError>),
    /// No such record in this workspace (404).
    NotFound,
    /// The workspace has not connected Stripe (409).
    NotConnected,
    Db(DbError),
}

impl From<DbError> for BillingError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => BillingError::NotFound,
            other => BillingError::Db(other),
        }
    }
}

impl From<diesel::result::Error> for BillingError {
    fn from(e: diesel::result::Error) -> Self {
        BillingError::from(DbError::from(e))
    }
}

impl std::fmt::Display for BillingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BillingError::Forbidden => f.write_str("forbidden"),
            BillingError::Invalid(e) => write!(f, "invalid: {e:?}"),
            BillingError::NotFound => f.write_str("not found"),
            BillingError::NotConnected => f.write_str("Stripe is not connected"),
            BillingError::Db(e) => write!(f, "{e}"),
        }
    }
}

impl BillingError {
    pub(crate) fn field(field: &'static str, code: &'static str) -> Self {
        BillingError::Invalid(vec![FieldError { field, code }])
    }
}

/// Hands a billing outcome out of a bound transaction: a database
/// failure rolls it back; a refusal wrote nothing and passes as a value.
pub(crate) fn split<T>(r: Result<T, BillingError>) -> Result<Result<T, BillingError>, DbError> {
    match r {
        Err(BillingError::Db(e)) => Err(e),
        other => Ok(other),
    }
}
