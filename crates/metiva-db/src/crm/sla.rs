//! The lead-response SLA: each workspace's first-response target, counted
//! in its business hours (Mon–Fri, Europe/Amsterdam), and the deadline a
//! new lead's first-response task is due at. The breach sweep and its
//! alerts run as jobs; here the deadline is computed, shown and set.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Amsterdam;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;

use super::validate::{Check, FieldError, optional};
use super::{CrmError, split};
use crate::access::TenantCtx;
use crate::schema::lead_sla;
use crate::{Database, DbError, TenantConn};

/// The workspace's first-response target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadSla {
    pub target_minutes: i32,
    pub day_start: NaiveTime,
    pub day_end: NaiveTime,
}

impl Default for LeadSla {
    fn default() -> Self {
        Self {
            target_minutes: 60,
            day_start: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            day_end: NaiveTime::from_hms_opt(17, 30, 0).unwrap_or_default(),
        }
    }
}

/// When a lead that arrived at `from` must have had its first response:
/// `target_minutes` of business time later, business time being Mon–Fri
/// between `day_start` and `day_end` in Europe/Amsterdam (DST included).
/// A lead arriving outside business hours starts counting at the next
/// opening.
pub fn deadline(from: DateTime<Utc>, sla: &LeadSla) -> DateTime<Utc> {
    let mut left = Duration::minutes(i64::from(sla.target_minutes.max(0)));
    let mut day = from.with_timezone(&Amsterdam).date_naive();
    // A guard against a malformed setting: never loop beyond a year.
    for _ in 0..400 {
        let workday = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        let open = Amsterdam
            .from_local_datetime(&day.and_time(sla.day_start))
            .earliest();
        let close = Amsterdam
            .from_local_datetime(&day.and_time(sla.day_end))
            .latest();
        if let (true, Some(open), Some(close)) = (workday, open, close) {
            let (open, close) = (open.with_timezone(&Utc), close.with_timezone(&Utc));
            let start = from.max(open);
            if start < close {
                let available = close - start;
                if left <= available {
                    return start + left;
                }
                left -= available;
            }
        }
        day = day.succ_opt().unwrap_or(day);
    }
    from + left
}

/// The SLA form as typed: minutes, and the business day's opening and
/// closing times as a `time` input posts them (`09:00`).
#[derive(Debug, Clone, Default)]
pub struct SlaForm<'a> {
    pub target_minutes: &'a str,
    pub day_start: &'a str,
    pub day_end: &'a str,
}

/// The shortest and longest first-response targets (five minutes to a
/// week of business time), as the table's CHECK says.
pub const TARGET_MINUTES: std::ops::RangeInclusive<i32> = 5..=10_080;

impl SlaForm<'_> {
    pub fn validate(&self) -> Result<LeadSla, Vec<FieldError>> {
        let mut c = Check::default();
        let target_minutes = match optional(Some(self.target_minutes)).map(|m| m.parse::<i32>()) {
            None => {
                c.fail("target_minutes", "required");
                0
            }
            Some(Ok(m)) if TARGET_MINUTES.contains(&m) => m,
            Some(_) => {
                c.fail("target_minutes", "sla.minutes");
                0
            }
        };
        let mut time = |field: &'static str, raw: &str| {
            let raw = raw.trim();
            match NaiveTime::parse_from_str(raw, "%H:%M")
                .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
            {
                Ok(t) => Some(t),
                Err(_) => {
                    c.fail(
                        field,
                        if raw.is_empty() {
                            "required"
                        } else {
                            "time.format"
                        },
                    );
                    None
                }
            }
        };
        let (start, end) = (
            time("day_start", self.day_start),
            time("day_end", self.day_end),
        );
        let (day_start, day_end) = match (start, end) {
            (Some(s), Some(e)) if s < e => (s, e),
            (Some(s), Some(e)) => {
                c.fail("day_end", "sla.day_order");
                (s, e)
            }
            _ => (NaiveTime::MIN, NaiveTime::MIN),
        };
        c.finish(LeadSla {
            target_minutes,
            day_start,
            day_end,
        })
    }
}

impl Database {
    /// The workspace's first-response target (the defaults when unset).
    pub async fn lead_sla(&self, ctx: &TenantCtx) -> Result<LeadSla, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| lead_sla_of(tc).await)
            .await
    }

    /// Sets the workspace's first-response target; audited (no values:
    /// the audit log says who changed the setting and when). New leads get
    /// the new deadline; open first-response tasks keep theirs.
    pub async fn save_lead_sla(
        &self,
        ctx: &TenantCtx,
        sla: &LeadSla,
        request_id: &str,
    ) -> Result<(), CrmError> {
        let actor = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            split(
                async {
                    let company = tc.company().as_str().to_string();
                    diesel::insert_into(lead_sla::table)
                        .values((
                            lead_sla::company_id.eq(&company),
                            lead_sla::target_minutes.eq(sla.target_minutes),
                            lead_sla::day_start.eq(sla.day_start),
                            lead_sla::day_end.eq(sla.day_end),
                        ))
                        .on_conflict(lead_sla::company_id)
                        .do_update()
                        .set((
                            lead_sla::target_minutes.eq(excluded(lead_sla::target_minutes)),
                            lead_sla::day_start.eq(excluded(lead_sla::day_start)),
                            lead_sla::day_end.eq(excluded(lead_sla::day_end)),
                        ))
                        .execute(tc.conn())
                        .await?;
                    crate::repo::audit::append(
                        tc,
                        &crate::repo::audit::AuditEntry {
                            actor_user_id: Some(actor),
                            action: "crm.sla_changed",
                            target_type: Some("lead_sla"),
                            target_id: None,
                            request_id: Some(request_id),
                            reason: None,
                        },
                    )
                    .await?;
                    Ok(())
                }
                .await,
            )
        })
        .await?
    }
}

/// The workspace's lead-response target (the defaults when unset).
pub(crate) async fn lead_sla_of(tc: &mut TenantConn<'_>) -> Result<LeadSla, DbError> {
    let company = tc.company().as_str().to_string();
    let row: Option<(i32, NaiveTime, NaiveTime)> = lead_sla::table
        .filter(lead_sla::company_id.eq(&company))
        .select((
            lead_sla::target_minutes,
            lead_sla::day_start,
            lead_sla::day_end,
        ))
        .first(tc.conn())
        .await
        .optional()?;
    Ok(
        row.map_or_else(LeadSla::default, |(target_minutes, day_start, day_end)| {
            LeadSla {
                target_minutes,
                day_start,
                day_end,
            }
        }),
    )
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
    fn the_deadline_counts_business_hours_in_amsterdam() {
        let sla = LeadSla::default();
        // Tuesday 10:00 in winter (UTC+1): one hour later.
        assert_eq!(
            deadline(at("2027-01-12T09:00:00Z"), &sla),
            at("2027-01-12T10:00:00Z")
        );
        // Tuesday 17:00 local: 30 minutes today, 30 from Wednesday 09:00.
        assert_eq!(
            deadline(at("2027-01-12T16:00:00Z"), &sla),
            at("2027-01-13T08:30:00Z")
        );
        // Friday 20:00 local: Monday 10:00 local.
        assert_eq!(
            deadline(at("2027-01-15T19:00:00Z"), &sla),
            at("2027-01-18T09:00:00Z")
        );
        // Saturday in summer (UTC+2): Monday 10:00 local = 08:00 UTC.
        assert_eq!(
            deadline(at("2027-06-12T10:00:00Z"), &sla),
            at("2027-06-14T08:00:00Z")
        );
        // Before opening: 09:00 + 60 min.
        assert_eq!(
            deadline(at("2027-06-15T05:00:00Z"), &sla),
            at("2027-06-15T08:00:00Z")
        );
    }

    #[test]
    fn a_long_target_spans_days() {
        let sla = LeadSla {
            target_minutes: 8 * 60 + 30 + 30,
            ..LeadSla::default()
        };
        // Monday 09:00 local: the whole Monday (8.5 h) plus 30 min Tuesday.
        assert_eq!(
            deadline(at("2027-01-11T08:00:00Z"), &sla),
            at("2027-01-12T08:30:00Z")
        );
    }

    #[test]
    fn the_form_names_each_bad_field() {
        let ok = SlaForm {
            target_minutes: "90",
            day_start: "08:30",
            day_end: "17:00",
        }
        .validate();
        assert_eq!(ok.map(|s| s.target_minutes), Ok(90));
        let codes = |f: SlaForm<'_>| {
            f.validate()
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|e| (e.field, e.code))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            codes(SlaForm {
                target_minutes: "4",
                day_start: "9:00",
                day_end: "17:30",
            }),
            [("target_minutes", "sla.minutes")]
        );
        assert_eq!(
            codes(SlaForm {
                target_minutes: "sixty",
                day_start: "18:00",
                day_end: "09:00",
            }),
            [
                ("target_minutes", "sla.minutes"),
                ("day_end", "sla.day_order")
            ]
        );
        assert_eq!(
            codes(SlaForm {
                target_minutes: "",
                day_start: "25:00",
                day_end: "",
            }),
            [
                ("target_minutes", "required"),
                ("day_start", "time.format"),
                ("day_end", "required")
            ]
        );
    }
}
