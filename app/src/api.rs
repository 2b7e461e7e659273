//! Server functions and the DTOs they return.
//!
//! Endpoints have stable names (`endpoint = "…"`) so tests and scripts can
//! call them; the default names carry a hash of the crate path.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The database facts the System page shows. Holds nothing tenant-specific.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemStatusDto {
    pub server_version: String,
    pub runtime_role: String,
    pub checks_recorded: i64,
    pub last_check_at: Option<String>,
    pub last_round_trip_us: Option<i32>,
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::SystemStatusDto;
    use leptos::prelude::*;
    use metiva_db::{Database, DbError, system::SystemStatus};

    impl From<SystemStatus> for SystemStatusDto {
        fn from(s: SystemStatus) -> Self {
            Self {
                server_version: s.server_version,
                runtime_role: s.current_role,
                checks_recorded: s.checks_recorded,
                last_check_at: s
                    .last_check_at
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
                last_round_trip_us: s.last_round_trip_us,
            }
        }
    }

    /// The database handle, provided to every render and server function.
    pub fn database() -> Result<Database, ServerFnError> {
        use_context::<Database>().ok_or_else(|| ServerFnError::new("server misconfigured"))
    }

    /// The one error policy on the wire: an explicit status (server
    /// functions default to 500) and a message that reveals nothing about
    /// other tenants. Another tenant's row is simply "not found"; a unique
    /// clash names no row.
    pub fn status_for(e: &DbError) -> (u16, &'static str) {
        match e {
            DbError::Unavailable(_) => (503, "The database is unavailable. Try again shortly."),
            DbError::NotFound => (404, "Not found."),
            DbError::Conflict { .. } => (409, "That conflicts with existing data."),
            DbError::Rejected(_) => (422, "The database refused that change."),
            DbError::Internal(_) => (500, "Something went wrong on our side."),
        }
    }

    /// Maps a database failure to its status and opaque message; the
    /// detail goes to the log only.
    pub fn db_failure(e: DbError) -> ServerFnError {
        let opts = use_context::<leptos_axum::ResponseOptions>();
        let (status, msg) = status_for(&e);
        if status >= 500 {
            tracing::error!(error = %e, status, "server function failed");
        } else {
            tracing::info!(error = %e, status, "server function refused");
        }
        if let (Some(opts), Ok(code)) = (opts, http_status(status)) {
            opts.set_status(code);
        }
        ServerFnError::new(msg)
    }

    fn http_status(code: u16) -> Result<http::StatusCode, http::status::InvalidStatusCode> {
        http::StatusCode::from_u16(code)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn each_failure_has_its_documented_status_and_an_opaque_message() {
            let cases = [
                (DbError::Unavailable("pool timeout".into()), 503),
                (DbError::NotFound, 404),
                (
                    DbError::Conflict {
                        constraint: "persons_email_key".into(),
                    },
                    409,
                ),
                (
                    DbError::Rejected("new row violates row-level security policy".into()),
                    422,
                ),
                (
                    DbError::Internal("relation persons_x does not exist".into()),
                    500,
                ),
            ];
            for (e, want) in cases {
                let (status, msg) = status_for(&e);
                assert_eq!(status, want, "{e:?}");
                // Nothing from the database's own message reaches the client.
                for leak in ["persons", "row-level", "pool", "relation"] {
                    assert!(!msg.contains(leak), "{msg}");
                }
            }
        }
    }
}

/// Reads the database status (a global read: no tenant data).
#[server(endpoint = "system_status")]
pub async fn system_status() -> Result<SystemStatusDto, ServerFnError> {
    let db = ssr::database()?;
    db.read_system_status()
        .await
        .map(Into::into)
        .map_err(ssr::db_failure)
}

/// Measures and records one database round trip; returns the new status.
/// A POST, since it writes.
#[server(endpoint = "run_database_check")]
pub async fn run_database_check() -> Result<SystemStatusDto, ServerFnError> {
    let db = ssr::database()?;
    db.record_system_check()
        .await
        .map(Into::into)
        .map_err(ssr::db_failure)
}
