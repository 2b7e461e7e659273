//! Schedules declared in code: each due slot enqueues one job per active
//! company, keyed by the slot, so any number of instances enqueue it once.
//!
//! A slot missed while no worker ran (a deploy across 06:00) is enqueued
//! when a worker starts, as long as it is still the latest slot: a daily
//! job runs late rather than not at all, and never twice.

use chrono::{DateTime, LocalResult, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// When a schedule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// Every day at `hour:minute` wall-clock time in `tz` (DST-aware: a
    /// time skipped by the spring change fires an hour later that day).
    Daily { hour: u32, minute: u32, tz: Tz },
    /// Every hour at `minute` past.
    Hourly { minute: u32 },
    /// Every minute, on the minute (the SLA breach sweep).
    EveryMinute,
}

/// A schedule: one job of `kind` per active company per slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cron {
    /// Shown on `/settings/jobs` and part of the job key.
    pub name: &'static str,
    /// The job kind it enqueues; skipped while no handler is registered
    /// for that kind.
    pub kind: &'static str,
    pub at: At,
}

/// Every schedule. The page lists these; the worker enqueues the ones
/// whose kind it has a handler for.
pub const SCHEDULES: [Cron; 8] = [
    Cron {
        name: "retainer-billing",
        kind: "billing.retainer_run",
        at: At::Daily {
            hour: 6,
            minute: 0,
            tz: chrono_tz::Europe::Amsterdam,
        },
    },
    Cron {
        name: "retention-sweep",
        kind: "retention.sweep",
        at: At::Hourly { minute: 0 },
    },
    Cron {
        name: "sla-sweep",
        kind: "crm.sla_sweep",
        at: At::EveryMinute,
    },
    // Issue 16: each workspace's audit chain, verified daily and recorded
    // (metiva_db::audit_checks), at a quiet hour.
    Cron {
        name: "audit-chain-verify",
        kind: "audit.chain_verify",
        at: At::Daily {
            hour: 3,
            minute: 30,
            tz: chrono_tz::Europe::Amsterdam,
        },
    },
    // Issue 16: finished exports' files removed once their download
    // window has passed (metiva_db::exports::cleanup).
    Cron {
        name: "export-cleanup",
        kind: "privacy.export_cleanup",
        at: At::Hourly { minute: 15 },
    },
    // Issue 19: the token signing key rotates once the current key has
    // signed for METIVA_SIGNING_KEY_MAX_AGE_DAYS (default 90; see
    // server::key_rotation). Global work: every company's job checks, the
    // first rotates under the table lock, the rest find a fresh key.
    Cron {
        name: "signing-key-rotation",
        kind: "keys.rotate_signing",
        at: At::Daily {
            hour: 4,
            minute: 10,
            tz: chrono_tz::Europe::Amsterdam,
        },
    },
    // Issue 16: values still sealed under the master key move to their
    // workspace's data key, a batch per job (metiva_db::data_keys); a run
    // with nothing left is one index lookup.
    Cron {
        name: "value-migration",
        kind: "keys.migrate_values",
        at: At::Hourly { minute: 45 },
    },
    // Issue 17: objects left by a transaction that rolled back after its
    // upload go once an hour old (metiva_db::files_sweep).
    Cron {
        name: "orphan-sweep",
        kind: "files.orphan_sweep",
        at: At::Hourly { minute: 35 },
    },
];

impl Cron {
    /// The job key of this schedule's slot: `cron:<name>:<slot in UTC>`.
    pub fn key(&self, slot: DateTime<Utc>) -> String {
        format!("cron:{}:{}", self.name, slot.format("%Y-%m-%dT%H:%MZ"))
    }

    /// The slot after the latest one (for the page's "next run").
    pub fn next_slot(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.at {
            At::EveryMinute => due_slot(&self.at, now) + TimeDelta::minutes(1),
            At::Hourly { .. } => due_slot(&self.at, now) + TimeDelta::hours(1),
            At::Daily { .. } => {
                // The latest slot of tomorrow-or-later: step a day past the
                // current slot (25 h covers a DST day) and take its slot.
                due_slot(&self.at, due_slot(&self.at, now) + TimeDelta::hours(25))
            }
        }
    }
}

/// The latest slot at or before `now`.
pub fn due_slot(at: &At, now: DateTime<Utc>) -> DateTime<Utc> {
    match *at {
        At::EveryMinute => now
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(now),
        At::Hourly { minute } => {
            let hour = now
                .with_minute(0)
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(now);
            let slot = hour + TimeDelta::minutes(i64::from(minute.min(59)));
            if slot > now {
                slot - TimeDelta::hours(1)
            } else {
                slot
            }
        }
        At::Daily { hour, minute, tz } => {
            let today = now.with_timezone(&tz).date_naive();
            let time =
                NaiveTime::from_hms_opt(hour.min(23), minute.min(59), 0).unwrap_or(NaiveTime::MIN);
            let on = |day: chrono::NaiveDate| -> DateTime<Utc> {
                let local = day.and_time(time);
                match tz.from_local_datetime(&local) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
                    // Skipped by the spring change: an hour later.
                    LocalResult::None => tz
                        .from_local_datetime(&(local + TimeDelta::hours(1)))
                        .earliest()
                        .map(|t| t.with_timezone(&Utc))
                        .unwrap_or_else(|| Utc.from_utc_datetime(&local)),
                }
            };
            let slot = on(today);
            if slot > now {
                today.pred_opt().map(on).unwrap_or(slot)
            } else {
                slot
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    #[test]
    fn the_retainer_run_is_at_six_in_amsterdam_in_winter_and_summer() {
        let at = SCHEDULES[0].at;
        // Winter: CET = UTC+1, so 06:00 local is 05:00Z.
        assert_eq!(
            due_slot(&at, utc("2026-12-07T05:30:00Z")),
            utc("2026-12-07T05:00:00Z")
        );
        assert_eq!(
            due_slot(&at, utc("2026-12-07T04:59:59Z")),
            utc("2026-12-06T05:00:00Z")
        );
        // Summer: CEST = UTC+2, so 04:00Z.
        assert_eq!(
            due_slot(&at, utc("2026-07-01T12:00:00Z")),
            utc("2026-07-01T04:00:00Z")
        );
        assert_eq!(
            SCHEDULES[0].next_slot(utc("2026-12-07T05:30:00Z")),
            utc("2026-12-08T05:00:00Z")
        );
        // Across the autumn change (25 October 2026): still 06:00 local.
        assert_eq!(
            SCHEDULES[0].next_slot(utc("2026-10-24T04:30:00Z")),
            utc("2026-10-25T05:00:00Z")
        );
        assert_eq!(
            SCHEDULES[0].key(utc("2026-12-07T05:00:00Z")),
            "cron:retainer-billing:2026-12-07T05:00Z"
        );
    }

    #[test]
    fn an_hourly_slot_is_the_latest_past_minute_mark() {
        let at = At::Hourly { minute: 30 };
        assert_eq!(
            due_slot(&at, utc("2026-12-07T10:29:59Z")),
            utc("2026-12-07T09:30:00Z")
        );
        assert_eq!(
            due_slot(&at, utc("2026-12-07T10:30:00Z")),
            utc("2026-12-07T10:30:00Z")
        );
    }

    #[test]
    fn the_sla_sweep_runs_every_minute() {
        let sweep = SCHEDULES[2];
        assert_eq!(sweep.at, At::EveryMinute);
        assert_eq!(
            due_slot(&sweep.at, utc("2026-12-07T10:29:59Z")),
            utc("2026-12-07T10:29:00Z")
        );
        assert_eq!(
            sweep.next_slot(utc("2026-12-07T10:29:59Z")),
            utc("2026-12-07T10:30:00Z")
        );
        assert_eq!(
            sweep.key(utc("2026-12-07T10:29:00Z")),
            "cron:sla-sweep:2026-12-07T10:29Z"
        );
    }
}
