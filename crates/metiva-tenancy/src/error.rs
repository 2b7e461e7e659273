//! Errors the database layer reports to its callers.

/// What went wrong talking to PostgreSQL, sorted by what the caller should
/// tell its own client.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The pool could not hand out a connection in time, or the server is
    /// unreachable: callers answer 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The row does not exist in the caller's tenant (which includes rows of
    /// other tenants: RLS makes them invisible).
    #[error("not found")]
    NotFound,
    /// A unique constraint clashed. Holds only the constraint name, never
    /// the other row.
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// A check, foreign-key or RLS `WITH CHECK` refused the write.
    #[error("rejected by the database: {0}")]
    Rejected(String),
    /// The access a request was granted (membership, role, company or
    /// session) changed since it was resolved: the transaction refused to
    /// start. The guard re-resolves and retries once, or refuses.
    #[error("access changed")]
    AccessRevoked,
    /// A write inside a read-only transaction (SQLSTATE 25006): a bug in
    /// the caller, never the user's doing. Answered as an opaque 500.
    #[error("write in a read-only transaction")]
    ReadOnly,
    /// Anything else: callers answer an opaque 500 and log the detail.
    #[error("database error: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for DbError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => DbError::NotFound,
            E::DatabaseError(K::UniqueViolation, info) => DbError::Conflict {
                constraint: info.constraint_name().unwrap_or("unique").to_string(),
            },
            E::DatabaseError(
                K::ForeignKeyViolation | K::CheckViolation | K::NotNullViolation,
                info,
            ) => DbError::Rejected(info.message().to_string()),
            // diesel-async maps SQLSTATE 25006 to this kind.
            E::DatabaseError(K::ReadOnlyTransaction, _) => DbError::ReadOnly,
            E::DatabaseError(K::ClosedConnection, info) => {
                DbError::Unavailable(info.message().to_string())
            }
            // The access assertion names itself in the structured
            // CONSTRAINT field (SQLSTATE 42501, see the migration
            // `typed_access_error`): no message text is matched.
            E::DatabaseError(K::Unknown, info)
                if info.constraint_name() == Some(ACCESS_ASSERTION) =>
            {
                DbError::AccessRevoked
            }
            // Anything else, a row-level security refusal included: the
            // application always writes its own bound company, so RLS
            // refusing a write means a bug. Opaque 500, logged.
            other => DbError::Internal(other.to_string()),
        }
    }
}

/// The CONSTRAINT name `metiva_assert_access` raises with.
const ACCESS_ASSERTION: &str = "metiva_access";
