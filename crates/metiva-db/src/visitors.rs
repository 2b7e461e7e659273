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
use diesel::sql_types::{Array, BigInt, Bool, Bytea, Date, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use metiva_security::cipher::{FieldContext, KeyRing, Sealed};
use uuid::Uuid;

use crate::access::TenantCtx;
use crate::repo::audit::{self, AuditEntry};
use crate::{Database, DbError, TenantConn};

type SqlUuid = diesel::sql_types::Uuid;

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

/// A registered site.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Site {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub domain: String,
    #[diesel(sql_type = Text)]
    pub site_key: String,
    #[diesel(sql_type = Array<Text>)]
    pub allowed_origins: Vec<String>,
    #[diesel(sql_type = Bool)]
    pub enabled: bool,
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

/// A person with the chain: visitors that led to them, and their deals.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRecord {
    pub person: crate::repo::persons::Person,
    pub visitors: Vec<LinkedVisitor>,
    pub deals: Vec<crate::repo::deals::Deal>,
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct LinkedVisitor {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub domain: String,
    #[diesel(sql_type = Timestamptz)]
    pub first_seen: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub last_seen: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub views: i64,
    #[diesel(sql_type = Bool)]
    pub marketing: bool,
    #[diesel(sql_type = Integer)]
    pub pending_forwards: i32,
}

/// What a reveal found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reveal {
    NotFound,
    /// The truncated IP, and the id of the audit row that records it.
    Revealed {
        ip: String,
        audit_id: i64,
    },
    /// The row exists but its ciphertext does not open here (moved,
    /// altered, or sealed with a key no longer configured). The attempt is
    /// audited all the same.
    Unreadable {
        audit_id: i64,
    },
}

#[derive(QueryableByName)]
struct SealedIp {
    #[diesel(sql_type = Text)]
    ip_key_id: String,
    #[diesel(sql_type = Bytea)]
    ip_nonce: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    ip_ciphertext: Vec<u8>,
}

#[derive(QueryableByName)]
struct AuditId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The dashboard's visitors page in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorsOverview {
    pub networks: Vec<crate::ingest::KnownNetworkRow>,
    pub organisations: Vec<OrganisationVisits>,
    pub days: Vec<DayCount>,
    pub consented: Vec<ConsentedVisitor>,
    pub recent: Vec<RecentView>,
}

/// Everything the consent page shows, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentOverview {
    pub sites: Vec<Site>,
    pub totals: ConsentTotals,
    pub ledger: Vec<LedgerEntry>,
}

impl Database {
    /// Company-level visits over the last `days` days, the per-day counts,
    /// the consented visitors and the most recent views.
    pub async fn visitors_overview(
        &self,
        ctx: &TenantCtx,
        days: i32,
    ) -> Result<VisitorsOverview, DbError> {
        // One snapshot: the per-day counts, the organisations and the
        // recent views must describe the same moment.
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let organisations: Vec<OrganisationVisits> = diesel::sql_query(
                "WITH recent AS (
                     SELECT organisation, org_source, path, at FROM page_views
                     WHERE company_id = $1 AND at > now() - make_interval(days => $2)),
                 per_page AS (
                     SELECT organisation, path, count(*) AS n,
                            row_number() OVER (PARTITION BY organisation
                                               ORDER BY count(*) DESC, path) AS rank
                     FROM recent GROUP BY organisation, path)
                 SELECT g.organisation, g.source, g.views, g.pages,
                        COALESCE((SELECT array_agg(pp.path ORDER BY pp.rank) FROM per_page pp
                                  WHERE pp.organisation IS NOT DISTINCT FROM g.organisation
                                    AND pp.rank <= 3), '{}') AS top_pages,
                        g.first_seen, g.last_seen
                 FROM (SELECT organisation, min(org_source) AS source, count(*) AS views,
                              count(DISTINCT path) AS pages, min(at) AS first_seen,
                              max(at) AS last_seen
                       FROM recent GROUP BY organisation) g
                 ORDER BY g.organisation IS NULL, g.views DESC, g.organisation
                 LIMIT 100",
            )
            .bind::<Text, _>(&company)
            .bind::<Integer, _>(days)
            .load(tc.conn())
            .await?;
            let days_rows: Vec<DayCount> = diesel::sql_query(
                "SELECT d::date AS day, count(p.id) AS views
                 FROM generate_series((now() AT TIME ZONE 'UTC')::date - ($2 - 1),
                                      (now() AT TIME ZONE 'UTC')::date, interval '1 day') AS d
                 LEFT JOIN page_views p
                   ON p.company_id = $1 AND p.at >= d AT TIME ZONE 'UTC'
                  AND p.at < (d + interval '1 day') AT TIME ZONE 'UTC'
                 GROUP BY d ORDER BY d",
            )
            .bind::<Text, _>(&company)
            .bind::<Integer, _>(days)
            .load(tc.conn())
            .await?;
            let consented: Vec<ConsentedVisitor> = diesel::sql_query(
                "SELECT v.id, v.analytics, v.identification, v.marketing, v.first_seen, v.last_seen,
                        (SELECT count(*) FROM page_views p
                          WHERE p.company_id = v.company_id AND p.visitor_id = v.id) AS views,
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
            let recent: Vec<RecentView> = diesel::sql_query(
                "SELECT id, at, path, organisation, referrer_domain,
                        visitor_id IS NOT NULL AS consented_visitor
                 FROM page_views WHERE company_id = $1 ORDER BY at DESC LIMIT 15",
            )
            .bind::<Text, _>(&company)
            .load(tc.conn())
            .await?;
            let networks: Vec<crate::ingest::KnownNetworkRow> = diesel::sql_query(
                "SELECT network::text AS network, organisation FROM known_networks
                 WHERE company_id = $1 ORDER BY organisation, network LIMIT 200",
            )
            .bind::<Text, _>(&company)
            .load(tc.conn())
            .await?;
            Ok(VisitorsOverview {
                networks,
                organisations,
                days: days_rows,
                consented,
                recent,
            })
        })
        .await
    }

    /// Opens one page view's sealed, truncated IP and writes the audit row
    /// (who, which row, why), in the same transaction. The caller checks
    /// the `ip.reveal` permission first; the reason is required.
    pub async fn reveal_ip(
        &self,
        ctx: &TenantCtx,
        view: Uuid,
        reason: &str,
        request_id: &str,
        keys: &KeyRing,
    ) -> Result<Reveal, DbError> {
        let user = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let rows: Vec<SealedIp> = diesel::sql_query(
                "SELECT ip_key_id, ip_nonce, ip_ciphertext FROM page_views
                 WHERE company_id = $1 AND id = $2",
            )
            .bind::<Text, _>(&company)
            .bind::<SqlUuid, _>(view)
            .load(tc.conn())
            .await?;
            let Some(s) = rows.into_iter().next() else {
                return Ok(Reveal::NotFound);
            };
            let row = view.to_string();
            let opened = s.ip_nonce.as_slice().try_into().ok().and_then(|nonce| {
                keys.open(
                    &Sealed {
                        key_id: s.ip_key_id,
                        nonce,
                        ciphertext: s.ip_ciphertext,
                    },
                    &ip_context(&company, &row),
                )
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            });
            let action = if opened.is_some() {
                "visitor.ip_revealed"
            } else {
                "visitor.ip_reveal_failed"
            };
            audit::append(
                tc,
                &AuditEntry {
                    actor_user_id: Some(user),
                    action,
                    target_type: Some("page_view"),
                    target_id: Some(&row),
                    request_id: Some(request_id),
                    reason: Some(reason),
                },
            )
            .await?;
            let id: AuditId = diesel::sql_query(
                "SELECT max(id) AS id FROM audit_log WHERE company_id = $1 AND target_id = $2",
            )
            .bind::<Text, _>(&company)
            .bind::<Text, _>(&row)
            .get_result(tc.conn())
            .await?;
            Ok(match opened {
                Some(ip) => Reveal::Revealed {
                    ip,
                    audit_id: id.id,
                },
                None => Reveal::Unreadable { audit_id: id.id },
            })
        })
        .await
    }

    /// Replaces the workspace's known networks (a CSV import, already
    /// parsed and validated) and audits it, in one transaction. The caller
    /// checks `consent.manage`.
    pub async fn replace_known_networks(
        &self,
        ctx: &TenantCtx,
        rows: &[(String, String)],
        request_id: &str,
    ) -> Result<usize, DbError> {
        let user = ctx.user_id();
        let cidrs: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        let orgs: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            diesel::sql_query("DELETE FROM known_networks WHERE company_id = $1")
                .bind::<Text, _>(&company)
                .execute(tc.conn())
                .await?;
            let n = diesel::sql_query(
                "INSERT INTO known_networks (company_id, network, organisation)
                 SELECT $1, n::cidr, o FROM unnest($2::text[], $3::text[]) AS t(n, o)",
            )
            .bind::<Text, _>(&company)
            .bind::<Array<Text>, _>(&cidrs)
            .bind::<Array<Text>, _>(&orgs)
            .execute(tc.conn())
            .await?;
            let count = n.to_string();
            audit::append(
                tc,
                &AuditEntry {
                    actor_user_id: Some(user),
                    action: "visitors.known_networks_imported",
                    target_type: Some("known_networks"),
                    target_id: Some(&count),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await?;
            Ok(n)
        })
        .await
    }

    /// Registers a site for the workspace with a fresh public site key, and
    /// audits it, in one transaction. The caller checks `consent.manage`
    /// and validates the domain and origins (production rules differ).
    pub async fn register_site(
        &self,
        ctx: &TenantCtx,
        domain: &str,
        origins: &[String],
        request_id: &str,
    ) -> Result<Site, DbError> {
        let user = ctx.user_id();
        // 24 characters of [a-z0-9]: ~124 bits; public, but unguessable so
        // nobody can write into a site they were not given.
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let key: String = (0..24)
            .map(|_| {
                let i = rand::random_range(0..ALPHABET.len());
                ALPHABET.get(i).copied().unwrap_or(b'a') as char
            })
            .collect();
        let key = format!("pk_{key}");
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let site: Site = diesel::sql_query(
                "INSERT INTO sites (company_id, domain, site_key, allowed_origins)
                 VALUES ($1, $2, $3, $4)
                 RETURNING id, domain, site_key, allowed_origins, enabled",
            )
            .bind::<Text, _>(&company)
            .bind::<Text, _>(domain)
            .bind::<Text, _>(&key)
            .bind::<Array<Text>, _>(origins)
            .get_result(tc.conn())
            .await?;
            let id = site.id.to_string();
            audit::append(
                tc,
                &AuditEntry {
                    actor_user_id: Some(user),
                    action: "consent.site_registered",
                    target_type: Some("site"),
                    target_id: Some(&id),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await?;
            Ok(site)
        })
        .await
    }

    /// Enables or disables a site (a disabled key gets 404 at ingest), and
    /// audits it. `NotFound` for another workspace's site.
    pub async fn set_site_enabled(
        &self,
        ctx: &TenantCtx,
        site: Uuid,
        enabled: bool,
        request_id: &str,
    ) -> Result<(), DbError> {
        let user = ctx.user_id();
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let n = diesel::sql_query(
                "UPDATE sites SET enabled = $3 WHERE company_id = $1 AND id = $2",
            )
            .bind::<Text, _>(&company)
            .bind::<SqlUuid, _>(site)
            .bind::<Bool, _>(enabled)
            .execute(tc.conn())
            .await?;
            if n == 0 {
                return Err(DbError::NotFound);
            }
            let id = site.to_string();
            audit::append(
                tc,
                &AuditEntry {
                    actor_user_id: Some(user),
                    action: if enabled {
                        "consent.site_enabled"
                    } else {
                        "consent.site_disabled"
                    },
                    target_type: Some("site"),
                    target_id: Some(&id),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await?;
            Ok(())
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
            let sites: Vec<Site> = diesel::sql_query(
                "SELECT id, domain, site_key, allowed_origins, enabled FROM sites
                 WHERE company_id = $1 ORDER BY domain",
            )
            .bind::<Text, _>(&company)
            .load(tc.conn())
            .await?;
            let totals: ConsentTotals = diesel::sql_query(
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
            let ledger: Vec<LedgerEntry> = diesel::sql_query(
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

    /// Persons of the workspace, newest first, with how many deals and
    /// consented visitors each has.
    pub async fn person_list(&self, ctx: &TenantCtx) -> Result<Vec<PersonSummary>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            Ok(diesel::sql_query(
                "SELECT p.id, p.name, p.email, p.organisation, p.updated_at,
                        (SELECT count(*) FROM deals d WHERE d.company_id = p.company_id AND d.person_id = p.id) AS deals,
                        (SELECT count(*) FROM visitors v WHERE v.company_id = p.company_id AND v.person_id = p.id) AS visitors
                 FROM persons p WHERE p.company_id = $1
                 ORDER BY p.updated_at DESC, p.name LIMIT 500",
            )
            .bind::<Text, _>(tc.company().as_str().to_string())
            .load(tc.conn())
            .await?)
        })
        .await
    }

    /// One person with the chain: the visitors that led to them and their
    /// deals. `None` when not found (another tenant's person is not found).
    pub async fn person_record(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<PersonRecord>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let Some(person) = found(crate::repo::persons::get(tc, id).await)? else {
                return Ok(None);
            };
            let visitors = linked_visitors(tc, id).await?;
            let deals = crate::repo::deals::list_for_person(tc, id).await?;
            Ok(Some(PersonRecord {
                person,
                visitors,
                deals,
            }))
        })
        .await
    }

    /// Deals of the workspace with their person's name.
    pub async fn deal_list(&self, ctx: &TenantCtx) -> Result<Vec<DealSummary>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            Ok(diesel::sql_query(
                "SELECT d.id, d.title, d.value_cents, d.currency, d.stage, d.updated_at,
                        d.person_id, p.name AS person_name
                 FROM deals d
                 LEFT JOIN persons p ON p.company_id = d.company_id AND p.id = d.person_id
                 WHERE d.company_id = $1
                 ORDER BY d.updated_at DESC LIMIT 500",
            )
            .bind::<Text, _>(tc.company().as_str().to_string())
            .load(tc.conn())
            .await?)
        })
        .await
    }

    /// One deal with its person and that person's visitors (the same
    /// record as the person's).
    pub async fn deal_record(
        &self,
        ctx: &TenantCtx,
        id: Uuid,
    ) -> Result<Option<DealRecord>, DbError> {
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let Some(deal) = found(crate::repo::deals::get(tc, id).await)? else {
                return Ok(None);
            };
            let (person, visitors) = match deal.person_id {
                Some(pid) => (
                    Some(crate::repo::persons::get(tc, pid).await?),
                    linked_visitors(tc, pid).await?,
                ),
                None => (None, Vec::new()),
            };
            Ok(Some(DealRecord {
                deal,
                person,
                visitors,
            }))
        })
        .await
    }
}

/// A deal with its person and that person's visitors.
#[derive(Debug, Clone, PartialEq)]
pub struct DealRecord {
    pub deal: crate::repo::deals::Deal,
    pub person: Option<crate::repo::persons::Person>,
    pub visitors: Vec<LinkedVisitor>,
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PersonSummary {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub organisation: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub deals: i64,
    #[diesel(sql_type = BigInt)]
    pub visitors: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DealSummary {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = BigInt)]
    pub value_cents: i64,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = Text)]
    pub stage: String,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub person_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub person_name: Option<String>,
}

/// `NotFound` as `None` (another tenant's row is simply not found).
fn found<T>(r: Result<T, DbError>) -> Result<Option<T>, DbError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(DbError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn linked_visitors(
    tc: &mut TenantConn<'_>,
    person: Uuid,
) -> Result<Vec<LinkedVisitor>, DbError> {
    Ok(diesel::sql_query(
        "SELECT v.id, s.domain, v.first_seen, v.last_seen, v.marketing,
                (SELECT count(*) FROM page_views p WHERE p.company_id = v.company_id AND p.visitor_id = v.id) AS views,
                (SELECT count(*)::int FROM forwards f
                  WHERE f.company_id = v.company_id AND f.visitor_id = v.id AND f.status = 'pending') AS pending_forwards
         FROM visitors v JOIN sites s ON s.company_id = v.company_id AND s.id = v.site_id
         WHERE v.company_id = $1 AND v.person_id = $2
         ORDER BY v.last_seen DESC",
    )
    .bind::<Text, _>(tc.company().as_str().to_string())
    .bind::<SqlUuid, _>(person)
    .load(tc.conn())
    .await?)
}
