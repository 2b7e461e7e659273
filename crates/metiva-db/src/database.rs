//! The database handle the application holds: the tenancy core's
//! [`metiva_tenancy::Database`] with the domain's operations added.

use std::ops::Deref;

use metiva_tenancy::{DbError, PoolSettings};

/// A cheap clone of the pool handle. Derefs to the core, whose safe entry
/// points (`in_tenant*`, the named cross-tenant ones, `global`) the
/// domain's methods use; nothing here widens them.
#[derive(Clone, Debug)]
pub struct Database {
    core: metiva_tenancy::Database,
    /// The security page's catalog and posture facts, shared by clones
    /// (see `system::IsolationFacts`).
    pub(crate) facts: std::sync::Arc<crate::system::FactsCache>,
}

impl Database {
    /// Builds the pool (see [`metiva_tenancy::Database::connect`]).
    pub fn connect(url: &str, settings: &PoolSettings) -> Result<Self, DbError> {
        Ok(Self::from(metiva_tenancy::Database::connect(
            url, settings,
        )?))
    }

    /// Where the access-change listener connects, when apart from the pool.
    pub fn with_listen_url(self, url: &str) -> Result<Self, DbError> {
        Ok(Self {
            core: self.core.with_listen_url(url)?,
            facts: self.facts,
        })
    }

    /// The core handle, for code that takes it directly.
    pub fn core(&self) -> &metiva_tenancy::Database {
        &self.core
    }
}

impl Deref for Database {
    type Target = metiva_tenancy::Database;

    fn deref(&self) -> &Self::Target {
        &self.core
    }
}

impl From<metiva_tenancy::Database> for Database {
    fn from(core: metiva_tenancy::Database) -> Self {
        Self {
            core,
            facts: std::sync::Arc::default(),
        }
    }
}
