//! The scheduled token signing-key rotation (issue 19): the cron's
//! `signing-key-rotation` slot (`metiva_db::jobs::SCHEDULES`, daily 04:10
//! Europe/Amsterdam) enqueues one [`KIND`] job per active company; each
//! runs [`metiva_db::Database::rotate_signing_keys_if_older`], the same
//! rotation `metiva keys rotate-signing` runs, but only when the current
//! key has signed for at least `METIVA_SIGNING_KEY_MAX_AGE_DAYS` (default
//! 90; `0` turns the schedule off).
//!
//! # Idempotent across instances
//! The slot's job key makes each company's job once per day however many
//! workers run the cron. The rotation itself takes `token_signing_keys`'
//! EXCLUSIVE lock and decides on the age under it, so of all the jobs of
//! a slot (and any operator rotating by hand at the same moment) the
//! first rotates and the rest find a fresh key and do nothing. A retry
//! after a lost commit does the same.
//!
//! # Audited
//! The job that rotates appends `signing_key.rotated` (target: the new
//! current kid) to its workspace's audit chain, in the job's transaction,
//! and logs one `info` event with the kids; the key history itself is the
//! table's `activated_at` / `retired_at`. Kids are public (the JWKS
//! publishes them); no seed or token is logged.
//!
//! # Security
//! The rotation runs as the login role (`metiva_login`, migration
//! `signing_key_rotation`): it already reads the sealed seeds and signs,
//! so writing the table adds nothing it cannot do; the dashboard's role
//! still never writes or reads a seed. A worker without the login pool
//! (`serve --only worker`) does not register the kind, so its cron skips
//! the schedule; an instance that also runs the login service rotates.
//! Tokens of the retired key stay valid until they expire, and never
//! longer (`crate::signing_keys`).

use std::sync::Arc;
use std::time::Duration;

use metiva_db::jobs::{Backoff, BoxFuture, Handler, JobError, JobInfo, JobKind};
use metiva_db::repo::audit::{self, AuditEntry};
use metiva_db::{Database, TenantConn};
use metiva_security::cipher::KeyRing;

/// The job kind the `signing-key-rotation` schedule enqueues.
pub const KIND: JobKind = JobKind {
    name: "keys.rotate_signing",
    max_attempts: 5,
    backoff: Backoff::DEFAULT,
};

/// The environment variable of the maximum key age, in days.
pub const MAX_AGE_ENV: &str = "METIVA_SIGNING_KEY_MAX_AGE_DAYS";
/// Its default: the age past which `metiva check` and the security page
/// warn.
pub const DEFAULT_MAX_AGE_DAYS: u64 = crate::signing_keys::AGE_WARNING_DAYS.unsigned_abs();

/// The audit action of a scheduled rotation.
pub const AUDIT_ACTION: &str = "signing_key.rotated";

/// `METIVA_SIGNING_KEY_MAX_AGE_DAYS`: `Ok(None)` when `0` (off), the
/// default when unset or blank; anything else that is not a whole number
/// of days from 1 to 3650 is refused at start with a clear message.
pub fn max_age_from(value: Option<&str>) -> anyhow::Result<Option<Duration>> {
    let days = match value.map(str::trim) {
        None | Some("") => DEFAULT_MAX_AGE_DAYS,
        Some(v) => v.parse::<u64>().map_err(|_| {
            anyhow::anyhow!(
                "{MAX_AGE_ENV} must be a whole number of days (0 turns it off), not {v:?}"
            )
        })?,
    };
    match days {
        0 => Ok(None),
        1..=3650 => Ok(Some(Duration::from_secs(days * 86_400))),
        _ => anyhow::bail!("{MAX_AGE_ENV} must be at most 3650 days, not {days}"),
    }
}

/// [`max_age_from`] on the process environment.
pub fn max_age_from_env() -> anyhow::Result<Option<Duration>> {
    max_age_from(std::env::var(MAX_AGE_ENV).ok().as_deref())
}

/// The handler: rotates through the login role's pool when the current
/// key is at least `max_age` old.
pub struct RotateSigningKey {
    login: Database,
    ring: Arc<KeyRing>,
    max_age: Duration,
}

impl RotateSigningKey {
    /// `login`: the login role's database (`LoginDb::database`); `ring`:
    /// the master key that seals the new seeds.
    pub fn new(login: Database, ring: Arc<KeyRing>, max_age: Duration) -> Self {
        Self {
            login,
            ring,
            max_age,
        }
    }
}

impl Handler for RotateSigningKey {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            let report = self
                .login
                .rotate_signing_keys_if_older(
                    &self.ring,
                    self.max_age,
                    crate::signing_keys::RETIRED_KEPT,
                )
                .await?;
            let Some(report) = report else {
                return Ok(());
            };
            tracing::info!(
                job = %job.id,
                company = job.company.as_str(),
                current = %report.current,
                retired = report.retired.as_deref().unwrap_or("none"),
                next = %report.next,
                pruned = report.pruned,
                "token signing key rotated by schedule"
            );
            audit::append(
                tc,
                &AuditEntry {
                    action: AUDIT_ACTION,
                    target_type: Some("signing_key"),
                    target_id: Some(&report.current),
                    ..AuditEntry::default()
                },
            )
            .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_max_age_defaults_to_90_days_and_refuses_nonsense() {
        let day = Duration::from_secs(86_400);
        assert_eq!(max_age_from(None).unwrap(), Some(day * 90));
        assert_eq!(max_age_from(Some(" ")).unwrap(), Some(day * 90));
        assert_eq!(max_age_from(Some("30")).unwrap(), Some(day * 30));
        assert_eq!(max_age_from(Some("0")).unwrap(), None);
        for bad in ["-1", "90d", "1.5", "3651"] {
            let e = max_age_from(Some(bad)).unwrap_err().to_string();
            assert!(e.contains(MAX_AGE_ENV), "{bad}: {e}");
        }
    }

    #[test]
    fn the_rotation_is_a_daily_schedule_of_this_kind() {
        let cron = metiva_db::jobs::SCHEDULES
            .iter()
            .find(|c| c.name == "signing-key-rotation")
            .unwrap();
        assert_eq!(cron.kind, KIND.name);
        assert!(matches!(cron.at, metiva_db::jobs::At::Daily { .. }));
    }
}
