//! Visitors, consent, persons and deals: the pages that show what the
//! consent-first ingest stored, and the visitor → person → deal chain.
//!
//! All server-rendered (async SSR): the chart is an SVG drawn on the
//! server, the reveal is a plain form post. Nothing here needs JavaScript.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::tr;

/// A table cell's classes, as a macro so that `concat!` can extend them at
/// compile time (`TD` below; `visits.rs` adds to it without a `format!` per
/// cell).
macro_rules! td_classes {
    () => {
        "px-3 py-2 align-top"
    };
}

/// A link's classes, extensible at compile time like [`td_classes`].
macro_rules! link_classes {
    () => {
        "text-indigo-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 rounded"
    };
}

mod consent;
mod records;
mod visits;

pub use consent::{ConsentPage, consent_overview};
pub use records::{DealPage, PersonPage, PersonsPage, deal_record, person_list, person_record};
pub use visits::{VisitorsPage, visitors_overview};

const PANEL: &str = "rounded-lg border border-slate-200 bg-white p-6 shadow-sm";
const TH: &str = "px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
const TD: &str = td_classes!();
const LINK: &str = link_classes!();
const BADGE: &str = "inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset bg-slate-50 text-slate-700 ring-slate-500/20";
const GRANTED: &str = "inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset bg-emerald-50 text-emerald-800 ring-emerald-600/20";

/// One day of the chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayBar {
    pub date: String,
    pub label: String,
    pub views: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgRow {
    pub organisation: Option<String>,
    /// The CRM organisation of the same name, once there is one.
    pub crm_id: Option<String>,
    pub source: String,
    pub views: i64,
    pub pages: i64,
    pub top_pages: String,
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentedRow {
    pub visitor: String,
    pub purposes: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub views: i64,
    pub person: Option<(String, String)>,
    pub deal: Option<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentRow {
    pub id: String,
    pub at: String,
    pub path: String,
    pub organisation: Option<String>,
    pub referrer: Option<String>,
    pub consented: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitorsDto {
    pub days: Vec<DayBar>,
    pub total: i64,
    pub identified: i64,
    pub organisations: Vec<OrgRow>,
    pub consented: Vec<ConsentedRow>,
    pub recent: Vec<RecentRow>,
    pub can_reveal: bool,
    pub can_configure: bool,
    /// May turn a visiting company into a CRM organisation.
    pub can_add_org: bool,
    pub networks: Vec<(String, String)>,
    pub asn_ranges: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BannerDto {
    pub version: String,
    pub lang: String,
    pub hash: String,
    pub title: String,
    pub body: String,
    pub purposes: Vec<(String, String)>,
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteDto {
    pub id: String,
    pub domain: String,
    pub key: String,
    pub origins: Vec<String>,
    pub enabled: bool,
    pub tag: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerRow {
    pub id: i64,
    pub at: String,
    pub domain: String,
    pub visitor: Option<String>,
    pub outcome: String,
    pub purposes: Vec<String>,
    pub version: String,
    pub lang: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentDto {
    pub can_configure: bool,
    pub banners: Vec<BannerDto>,
    pub sites: Vec<SiteDto>,
    pub decisions: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub withdrawals: i64,
    pub pending_forwards: i64,
    pub ledger: Vec<LedgerRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub deals: i64,
    pub visitors: i64,
    pub updated: String,
}

/// One page of `/persons`; `next` is the cursor of the page after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonPageDto {
    pub rows: Vec<PersonRow>,
    pub next: Option<String>,
    /// Not the first page (it links back to the first).
    pub paged: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkedVisitorDto {
    pub visitor: String,
    pub domain: String,
    pub first_seen: String,
    pub last_seen: String,
    pub views: i64,
    pub marketing: bool,
    pub pending_forwards: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealRow {
    pub id: String,
    pub title: String,
    pub value: String,
    pub stage: String,
    pub person: Option<(String, String)>,
    pub updated: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonDto {
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub created: String,
    pub visitors: Vec<LinkedVisitorDto>,
    pub deals: Vec<DealRow>,
    /// Tasks and notes, read in the record's transaction.
    pub work: crate::crm::RecordWorkDto,
    /// The conversion uploads, read in the record's transaction.
    pub uploads: Vec<crate::crm::UploadDto>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealDto {
    pub deal: DealRow,
    pub email: String,
    pub visitors: Vec<LinkedVisitorDto>,
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::*;
    use chrono::{DateTime, Utc};

    /// `2026-12-07 17:33 UTC`, as `t.format("%Y-%m-%d %H:%M UTC")` writes
    /// it. Written digit by digit: chrono parses the format string on every
    /// call, and the visitors page shows over 400 of these per view (issue
    /// 15: 3,000 instructions each, 8.8% of the page's CPU).
    pub fn when(t: DateTime<Utc>) -> String {
        use chrono::Timelike as _;
        let mut s = String::with_capacity(20);
        if !push_date(&mut s, t.date_naive()) {
            return t.format("%Y-%m-%d %H:%M UTC").to_string();
        }
        s.push(' ');
        push2(&mut s, t.hour());
        s.push(':');
        push2(&mut s, t.minute());
        s.push_str(" UTC");
        s
    }

    /// `2026-12-07`, as `d.format("%Y-%m-%d")` writes it (see [`when`]).
    pub fn day(d: chrono::NaiveDate) -> String {
        let mut s = String::with_capacity(10);
        if !push_date(&mut s, d) {
            return d.format("%Y-%m-%d").to_string();
        }
        s
    }

    /// `%Y-%m-%d` for the years chrono writes as four plain digits
    /// (0 to 9999); false, with nothing written, for the others (a sign
    /// and more digits: left to chrono).
    fn push_date(s: &mut String, d: chrono::NaiveDate) -> bool {
        use chrono::Datelike as _;
        let Ok(year) = u32::try_from(d.year()) else {
            return false;
        };
        if year > 9999 {
            return false;
        }
        push2(s, year / 100);
        push2(s, year % 100);
        s.push('-');
        push2(s, d.month());
        s.push('-');
        push2(s, d.day());
        true
    }

    /// Two digits, zero-padded (`n` below 100).
    fn push2(s: &mut String, n: u32) {
        s.push(char::from(b'0' + (n / 10 % 10) as u8));
        s.push(char::from(b'0' + (n % 10) as u8));
    }

    pub fn short(id: uuid::Uuid) -> String {
        id.to_string().chars().take(8).collect()
    }

    pub fn money(cents: i64, currency: &str) -> String {
        let euros = cents / 100;
        let mut digits = euros.to_string();
        let mut grouped = String::new();
        while digits.len() > 3 {
            let tail = digits.split_off(digits.len() - 3);
            grouped = format!(".{tail}{grouped}");
        }
        let symbol = if currency == "EUR" { "€" } else { currency };
        format!("{symbol} {digits}{grouped}")
    }

    pub fn purposes(l: crate::i18n::Lang, a: bool, i: bool, m: bool) -> Vec<String> {
        let mut out = Vec::new();
        if a {
            out.push(tr(l, "Statistics").to_string());
        }
        if i {
            out.push(tr(l, "Recognition").to_string());
        }
        if m {
            out.push(tr(l, "Marketing").to_string());
        }
        out
    }

    pub fn linked(l: crate::i18n::Lang, v: metiva_db::visitors::LinkedVisitor) -> LinkedVisitorDto {
        let _ = l;
        LinkedVisitorDto {
            visitor: short(v.id),
            domain: v.domain,
            first_seen: when(v.first_seen),
            last_seen: when(v.last_seen),
            views: v.views,
            marketing: v.marketing,
            pending_forwards: v.pending_forwards,
        }
    }

    pub fn deal_row(
        l: crate::i18n::Lang,
        d: &metiva_db::repo::deals::Deal,
        person: Option<(String, String)>,
    ) -> DealRow {
        DealRow {
            id: d.id.to_string(),
            title: d.title.clone(),
            value: money(d.value_cents, &d.currency),
            stage: crate::i18n::stage(l, &d.stage).to_string(),
            person,
            updated: when(d.updated_at),
        }
    }

    pub fn failure(e: metiva_db::DbError) -> AppError {
        crate::api::ssr::db_failure(e)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use chrono::{NaiveDate, TimeZone as _};

        #[test]
        fn when_and_day_write_what_chrono_writes() {
            let times = [
                Utc.with_ymd_and_hms(2026, 12, 7, 17, 33, 59).unwrap(),
                Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(1999, 9, 30, 9, 5, 1).unwrap(),
                Utc.with_ymd_and_hms(0, 2, 29, 23, 59, 59).unwrap(),
                Utc.with_ymd_and_hms(7, 10, 10, 10, 10, 10).unwrap(),
                Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
                // Beyond four plain digits: chrono's own text.
                Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
            ];
            for t in times {
                assert_eq!(when(t), t.format("%Y-%m-%d %H:%M UTC").to_string());
                let d: NaiveDate = t.date_naive();
                assert_eq!(day(d), d.format("%Y-%m-%d").to_string());
            }
        }
    }
}

fn error_view(e: AppError) -> AnyView {
    view! { <crate::error::ErrorView error=e /> }.into_any()
}
