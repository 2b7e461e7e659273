//! The dashboard's side of visitors and consent: company-level visits, the
//! visits chart, consented (person-level) visitors, the consent ledger,
//! sites, the visitor → person → deal chain, and the audited IP reveal.
//!
//! # Security
//! Everything runs under the request's [`TenantCtx`] (its access is
//! re-asserted in the same transaction). Person-level rows exist only
//! where a consented capture linked a visitor to a person. The IP reveal
//! opens the sealed truncated address and writes its audit row in one
//! transaction: no audit row, no IP.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Array, BigInt, Bool, Date, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use metiva_security::cipher::FieldContext;
use uuid::Uuid;

use crate::access::TenantCtx;
use crate::repo::cached::{self, BindCached as _};
use crate::{Database, DbError, TenantConn};

type SqlUuid = diesel::sql_types::Uuid;

pub(crate) mod window;

/// Where a page view's IP lives, for the cipher's associated data.
pub fn ip_context<'a>(company: &'a str, row: &'a str) -> FieldContext<'a> {
    FieldContext {
        company_id: company,
        table: "page_views",
        column: "ip",
        row_id: row,
    }
}

/// One organisation's visits in the window.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct OrganisationVisits {
    /// `None`: not identified (unknown network or a consumer ISP).
    #[diesel(sql_type = Nullable<Text>)]
    pub organisation: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub source: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub views: i64,
    #[diesel(sql_type = BigInt)]
    pub pages: i64,
    #[diesel(sql_type = Array<Text>)]
    pub top_pages: Vec<String>,
    #[diesel(sql_type = Timestamptz)]
    pub first_seen: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_seen: DateTime<Utc>,
}

/// Page views on one day (UTC), zero-filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct DayCount {
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub views: i64,
}

/// A recent page view, for the reveal list. The IP stays sealed.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct RecentView {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub path: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub organisation: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub referrer_domain: Option<String>,
    #[diesel(sql_type = Bool)]
    pub consented_visitor: bool,
}

/// A visitor with consent on record, and what it links to.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ConsentedVisitor {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Bool)]
    pub analytics: bool,
    #[diesel(sql_type = Bool)]
    pub identification: bool,
    #[diesel(sql_type = Bool)]
    pub marketing: bool,
    #[diesel(sql_type = Timestamptz)]
    pub first_seen: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_seen: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub views: i64,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub person_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub person_name: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub deal_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub deal_title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub deal_stage: Option<String>,
}

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct LedgerEntry {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Timestamptz)]
    pub decided_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub domain: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub visitor_id: Option<Uuid>,
    #[diesel(sql_type = Bool)]
    pub analytics: bool,
    #[diesel(sql_type = Bool)]
    pub identification: bool,
    #[diesel(sql_type = Bool)]
    pub marketing: bool,
    #[diesel(sql_type = Bool)]
    pub withdrawal: bool,
    #[diesel(sql_type = Text)]
    pub banner_version: String,
    #[diesel(sql_type = Text)]
    pub lang: String,
    #[diesel(sql_type = Text)]
    pub text_hash: String,
}

/// Consent totals for the consent page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, QueryableByName)]
pub struct ConsentTotals {
    #[diesel(sql_type = BigInt)]
    pub decisions: i64,
    #[diesel(sql_type = BigInt)]
    pub accepted_any: i64,
    #[diesel(sql_type = BigInt)]
    pub rejected_all: i64,
    #[diesel(sql_type = BigInt)]
    pub withdrawals: i64,
    #[diesel(sql_type = BigInt)]
    pub pending_forwards: i64,
}

/// The dashboard's visitors page in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorsOverview {
    pub networks: Vec<crate::ingest::KnownNetworkRow>,
    pub organisations: Vec<OrganisationVisits>,
    pub days: Vec<DayCount>,
    pub consented: Vec<ConsentedVisitor>,
    pub recent: Vec<RecentView>,
    /// The CRM organisations named like a listed visiting company (the
    /// lowercased names compared), when asked for: id and name.
    pub crm_organisations: Vec<(Uuid, String)>,
}

/// Everything the consent page shows, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentOverview {
    pub sites: Vec<Site>,
    pub totals: ConsentTotals,
    pub ledger: Vec<LedgerEntry>,
}

mod record;
mod records;
mod reveal;
mod sites;

pub use record::VisitorRecord;
pub use records::{
    DealRecord, DealSummary, LinkedVisitor, PERSON_PAGE_MAX, PersonCursor, PersonRecord,
    PersonSummary,
};
pub use reveal::{MAX_REVEAL_NOTE, REVEAL_REASONS, Reveal, RevealReason};
pub use sites::Site;

impl Database {
    /// Company-level visits over the last `days` days, the per-day counts,
    /// the consented visitors and the most recent views.
    ///
    /// With `crm_match`, also the CRM organisations named like the listed
    /// companies, in the same snapshot (the caller asks only for a role
    /// that may read the CRM).
    pub async fn visitors_overview(
        &self,
        ctx: &TenantCtx,
        days: i32,
        crm_match: bool,
    ) -> Result<VisitorsOverview, DbError> {
        // One snapshot: the per-day counts, the organisations and the
        // recent views must describe the same moment.
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            // From the daily rollups (migration `page_view_rollups`), kept
            // in the page views' own transactions, so this snapshot's
            // rollups and its recent views agree. The organisations and
            // the per-day chart come from one scan of the window (issue
            // 15, `window.rs`).
            // The window is kept while the company's rollup version and
            // the day are unchanged (migration 000054, `window.rs`).
            let (organisations, days_rows) =
                window::organisations_and_days(tc, days, &self.facts.windows).await?;
            // Raw SQL: a lateral join Diesel's DSL does not express. Each
            // visitor's view count is its row's `views_count`, kept exact
            // by statement triggers on page_views in every writer's
            // transaction (migration 000061), not a count per visitor.
            let consented: Vec<ConsentedVisitor> = cached::sql(
                "SELECT v.id, v.analytics, v.identification, v.marketing, v.first_seen, v.last_seen,
                        v.views_count AS views,
                        v.person_id, pe.name AS person_name,
                        d.id AS deal_id, d.title AS deal_title, d.stage AS deal_stage
                 FROM visitors v
                 LEFT JOIN persons pe ON pe.company_id = v.company_id AND pe.id = v.person_id
                 LEFT JOIN LATERAL (
                     SELECT id, title, stage FROM deals
                     WHERE company_id = v.company_id AND person_id = v.person_id
                     ORDER BY updated_at DESC LIMIT 1) d ON true
                 WHERE v.company_id = $1 AND (v.analytics OR v.identification)
                 ORDER BY v.last_seen DESC LIMIT 100",
            )
            .bind::<Text, _>(&company)
            .load(tc.conn())
            .await?;
            // Raw SQL: kept in the overview's one snapshot beside the aggregates it is shown
            // with.
            let recent: Vec<RecentView> = cached::sql(
                "SELECT id, at, path, organisation, referrer_domain,
                        visitor_id IS NOT NULL AS consented_visitor
                 FROM page_views WHERE company_id = $1 ORDER BY at DESC LIMIT 15",
            )
            .bind::<Text, _>(&company)
            .load(tc.conn())
            .await?;
            // Raw SQL: a cidr column read as text, a cast the schema's types do not carry.
            let networks: Vec<crate::ingest::KnownNetworkRow> = cached::sql(
                "SELECT network::text AS network, organisation FROM known_networks
                 WHERE company_id = $1 ORDER BY organisation, network LIMIT 200",
            )
            .bind::<Text, _>(&company)
            .load(tc.conn())
            .await?;
            // Only the listed names, not the whole organisation picker
            // (issue 15).
            let crm_organisations: Vec<(Uuid, String)> = if crm_match {
                let names: Vec<String> = organisations
                    .iter()
                    .filter_map(|o| o.organisation.as_deref().map(str::to_lowercase))
                    .collect();
                window::crm_organisations(tc, names).await?
            } else {
                Vec::new()
            };
            Ok(VisitorsOverview {
                networks,
                organisations,
                days: days_rows,
                consented,
                recent,
                crm_organisations,
            })
        })
        .await
    }

    /// The consent page: sites, totals and the newest ledger entries.
    pub async fn consent_overview(
        &self,
        ctx: &TenantCtx,
        ledger_limit: i64,
    ) -> Result<ConsentOverview, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            // Raw SQL: a text[] read as Vec<String> (see `register_site`).
            let sites: Vec<Site> = cached::sql(
                "SELECT id, domain, site_key, allowed_origins, enabled FROM sites
                 WHERE company_id = $1 ORDER BY domain",
            )
            .bind::<Text, _>(&company)
            .load(tc.conn())
            .await?;
            // Raw SQL: aggregates with FILTER clauses, which Diesel's DSL does not express.
            let totals: ConsentTotals = cached::sql(
                "SELECT count(*) AS decisions,
                        count(*) FILTER (WHERE analytics OR identification OR marketing) AS accepted_any,
                        count(*) FILTER (WHERE NOT (analytics OR identification OR marketing) AND NOT withdrawal) AS rejected_all,
                        count(*) FILTER (WHERE withdrawal) AS withdrawals,
                        (SELECT count(*) FROM forwards f WHERE f.company_id = $1 AND f.status = 'pending') AS pending_forwards
                 FROM consent_decisions WHERE company_id = $1",
            )
            .bind::<Text, _>(&company)
            .get_result(tc.conn())
            .await?;
            // Raw SQL: a composite-key join; no joinable! exists for composite keys.
            let ledger: Vec<LedgerEntry> = cached::sql(
                "SELECT c.id, c.decided_at, s.domain, c.visitor_id, c.analytics, c.identification,
                        c.marketing, c.withdrawal, c.banner_version, c.lang, c.text_hash
                 FROM consent_decisions c
                 JOIN sites s ON s.company_id = c.company_id AND s.id = c.site_id
                 WHERE c.company_id = $1 ORDER BY c.id DESC LIMIT $2",
            )
            .bind::<Text, _>(&company)
            .bind::<BigInt, _>(ledger_limit)
            .load(tc.conn())
            .await?;
            Ok(ConsentOverview {
                sites,
                totals,
                ledger,
            })
        })
        .await
    }
}
