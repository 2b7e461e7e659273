//! The SLA breach sweep (`crm.sla_sweep`, every minute per company, from
//! the cron schedule `sla-sweep`).
//!
//! A first-response task is breached when its deadline has passed and it
//! is still open. The sweep runs only while the workspace is in business
//! hours ([`in_business_hours`], the same Mon–Fri window in
//! Europe/Amsterdam that [`crate::crm::sla::deadline`] counts in): a
//! deadline that passes after closing time is not a breach until the next
//! opening, when someone can act on it.
//!
//! One statement per company does the work, set-based (never a loop over
//! tasks): the `UPDATE … WHERE breached_at IS NULL … RETURNING` marks each
//! task once (a second sweep, or a second worker at the same time, finds
//! nothing: the row lock makes the other `UPDATE` re-check
//! `breached_at`), and in the same statement one notice per breached
//! task for its assignee (`UNIQUE (kind, task)`) and one SMS row per
//! assignee who opted in. Each SMS is then its own `notify.sms` job, so a
//! Twilio outage never holds the sweep.

use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Amsterdam;
use diesel::sql_types::{Array, BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::crm::sla::{LeadSla, lead_sla_of};
use crate::jobs::{Backoff, Handler, JobError, JobInfo, JobKind};
use crate::{DbError, TenantConn};

/// The sweep's job kind (the cron's `crm.sla_sweep`). A failed sweep is
/// retried quickly, and the next minute's sweep catches up anyway.
pub const SLA_SWEEP: JobKind = JobKind {
    name: "crm.sla_sweep",
    max_attempts: 3,
    backoff: Backoff {
        base: Duration::from_secs(5),
        cap: Duration::from_secs(30),
    },
};

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Tasks marked breached now.
    pub breached: i64,
    /// Notices created (breached tasks with an assignee).
    pub notices: i64,
    /// SMS rows created (one per opted-in assignee), each enqueued.
    pub sms: Vec<Uuid>,
    /// False when `now` was outside business hours (nothing looked at).
    pub in_hours: bool,
}

/// Whether `now` is inside the workspace's business hours: Monday to
/// Friday, `day_start <= local time < day_end` in Europe/Amsterdam.
pub fn in_business_hours(now: DateTime<Utc>, sla: &LeadSla) -> bool {
    let local = now.with_timezone(&Amsterdam);
    if matches!(local.weekday(), Weekday::Sat | Weekday::Sun) {
        return false;
    }
    let day = local.date_naive();
    let open = Amsterdam
        .from_local_datetime(&day.and_time(sla.day_start))
        .earliest();
    let close = Amsterdam
        .from_local_datetime(&day.and_time(sla.day_end))
        .latest();
    matches!((open, close), (Some(o), Some(c)) if o <= local && local < c)
}

#[derive(diesel::QueryableByName)]
struct SweepRow {
    #[diesel(sql_type = BigInt)]
    breached: i64,
    #[diesel(sql_type = BigInt)]
    notices: i64,
    #[diesel(sql_type = Array<SqlUuid>)]
    sms: Vec<Uuid>,
}

/// The one statement: mark, notify, and queue the SMS rows.
///
/// `ON CONFLICT DO NOTHING` on the notice keeps "one notice per breach"
/// even if a task was un-breached by hand and swept again. The SMS row is
/// made only for members whose phone is verified (a `member_phones` row
/// exists only once verified) and who opted in; the job re-checks both at
/// send time.
const SWEEP_SQL: &str = "\
WITH breached AS (
    UPDATE tasks SET breached_at = $2
    WHERE company_id = $1
      AND purpose = 'first_response'
      AND done_at IS NULL
      AND breached_at IS NULL
      AND due_at <= $2
    RETURNING id, assignee_user_id
), notices AS (
    INSERT INTO notifications (company_id, user_id, kind, task_id)
    SELECT $1, b.assignee_user_id, 'sla_breach', b.id
    FROM breached b
    WHERE b.assignee_user_id IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING user_id
), sms AS (
    INSERT INTO sms_messages (company_id, user_id, purpose, breaches)
    SELECT $1, n.user_id, 'sla_breach', count(*)::integer
    FROM notices n
    JOIN member_phones p ON p.company_id = $1 AND p.user_id = n.user_id AND p.sms_alerts
    GROUP BY n.user_id
    RETURNING id
)
SELECT (SELECT count(*) FROM breached) AS breached,
       (SELECT count(*) FROM notices) AS notices,
       ARRAY(SELECT id FROM sms) AS sms";

/// Sweeps the bound company at `now` (see the module docs) and enqueues
/// one `notify.sms` job per SMS row, all in the caller's transaction.
pub async fn sweep_breaches(
    tc: &mut TenantConn<'_>,
    now: DateTime<Utc>,
) -> Result<SweepOutcome, DbError> {
    let sla = lead_sla_of(tc).await?;
    if !in_business_hours(now, &sla) {
        return Ok(SweepOutcome::default());
    }
    let company = tc.company().as_str().to_string();
    let row: SweepRow = diesel::sql_query(SWEEP_SQL)
        .bind::<Text, _>(&company)
        .bind::<Timestamptz, _>(now)
        .get_result(tc.conn())
        .await?;
    for id in &row.sms {
        super::sms::enqueue(tc, *id).await?;
    }
    Ok(SweepOutcome {
        breached: row.breached,
        notices: row.notices,
        sms: row.sms,
        in_hours: true,
    })
}

/// The `crm.sla_sweep` handler.
pub struct SlaSweep;

impl Handler for SlaSweep {
    fn run<'a>(
        &'a self,
        tc: &'a mut TenantConn<'_>,
        _job: &'a JobInfo,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            sweep_breaches(tc, Utc::now()).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn business_hours_are_weekdays_between_opening_and_closing_in_amsterdam() {
        let sla = LeadSla::default();
        // Tuesday 12 January 2027, winter (UTC+1).
        assert!(!in_business_hours(at("2027-01-12T07:59:59Z"), &sla));
        assert!(in_business_hours(at("2027-01-12T08:00:00Z"), &sla));
        assert!(in_business_hours(at("2027-01-12T16:29:59Z"), &sla));
        assert!(!in_business_hours(at("2027-01-12T16:30:00Z"), &sla));
        // Saturday noon.
        assert!(!in_business_hours(at("2027-01-16T11:00:00Z"), &sla));
        // Summer (UTC+2): 09:00 local is 07:00Z.
        assert!(in_business_hours(at("2027-06-15T07:00:00Z"), &sla));
        assert!(!in_business_hours(at("2027-06-15T06:59:00Z"), &sla));
    }
}
