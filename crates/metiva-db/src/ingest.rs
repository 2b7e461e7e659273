//! The ingest path: what the public endpoints (`/collect`, `/capture`)
//! store for a client website.
//!
//! # Security
//! - The tenant comes from the site key, through one named global lookup
//!   ([`Database::site_by_key`], a directory function). Everything after
//!   that runs under the site's tenant context, FORCE'd RLS included.
//! - Deny by default, enforced here and not only in the snippet:
//!   - a page view keeps a visitor link only when that visitor's analytics
//!     consent is on record (the insert joins on it);
//!   - a visitor row (the only stored identifier) is created only when a
//!     purpose that needs one is granted;
//!   - a capture creates or updates a person only under identification
//!     consent on record at that moment; otherwise nothing is written;
//!   - a forward is queued only under marketing consent (and the database
//!     refuses one without it; see the `forwards_need_consent` trigger);
//!     withdrawal cancels pending forwards.
//! - IPs arrive here already truncated and sealed; this crate never sees a
//!   raw address.

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::sql_types::{Array, Bool, Bytea, Nullable, Text, Timestamptz};
use diesel::{ExpressionMethods, IntoSql, NullableExpressionMethods, QueryDsl, QueryableByName};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::repo::cached::BindCached as _;
use crate::schema::{consent_decisions, forwards, visitors};
use crate::{CompanyId, Database, DbError, TenantConn};

type SqlUuid = diesel::sql_types::Uuid;

/// A site key resolved to its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteBinding {
    pub company: CompanyId,
    pub site_id: Uuid,
    pub allowed_origins: Vec<String>,
}

/// One page view, ready to store: the IP is truncated and sealed, and the
/// organisation (if any) was looked up from the raw address in memory.
#[derive(Debug, Clone)]
pub struct PageView {
    /// Chosen before sealing: the cipher's associated data binds the IP to
    /// this row id.
    pub id: Uuid,
    pub site_id: Uuid,
    /// The snippet's first-party id; kept only under analytics consent.
    pub visitor_key: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub path: String,
    pub referrer_domain: Option<String>,
    pub organisation: Option<String>,
    /// `known_network` or `asn`; `None` exactly when `organisation` is.
    pub org_source: Option<&'static str>,
    pub ip_key_id: String,
    pub ip_nonce: Vec<u8>,
    pub ip_ciphertext: Vec<u8>,
}

/// The purposes a visitor can grant. All false is the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purposes {
    pub analytics: bool,
    pub identification: bool,
    pub marketing: bool,
}

impl Purposes {
    /// Whether any granted purpose needs a visitor identifier.
    pub fn needs_identifier(&self) -> bool {
        self.analytics || self.identification
    }
}

/// One consent decision as the snippet reported it, with the server's own
/// hash of the banner text that version showed.
#[derive(Debug, Clone)]
pub struct Decision {
    pub site_id: Uuid,
    pub visitor_key: Option<Uuid>,
    pub purposes: Purposes,
    pub withdrawal: bool,
    pub banner_version: String,
    pub lang: String,
    pub text_hash: String,
}

/// What storing a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionStored {
    pub ledger_id: i64,
    /// The visitor row the decision applies to, if one exists or was made.
    pub visitor_id: Option<Uuid>,
    pub forwards_cancelled: u64,
}

/// A consented form submission.
#[derive(Debug, Clone)]
pub struct CaptureForm {
    pub visitor_key: Uuid,
    pub name: String,
    pub email: String,
    pub organisation: Option<String>,
}

/// What a capture did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureOutcome {
    /// No identification consent on record for this visitor: nothing was
    /// stored.
    NoConsent,
    Captured {
        person_id: Uuid,
        created: bool,
        forward_queued: bool,
    },
}

#[derive(QueryableByName)]
struct SiteRow {
    #[diesel(sql_type = Text)]
    company_id: String,
    #[diesel(sql_type = SqlUuid)]
    site_id: Uuid,
    #[diesel(sql_type = Array<Text>)]
    allowed_origins: Vec<String>,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(diesel::Queryable)]
struct VisitorConsent {
    id: Uuid,
    identification: bool,
    marketing: bool,
}

#[derive(QueryableByName)]
struct Upserted {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Bool)]
    created: bool,
}

/// A known network as stored: CIDR text and organisation.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct KnownNetworkRow {
    #[diesel(sql_type = Text)]
    pub network: String,
    #[diesel(sql_type = Text)]
    pub organisation: String,
}

impl Database {
    /// The ingest path's one global lookup: an enabled site of an active
    /// company, by its public key. A directory function
    /// (`metiva_site_by_key`) answers it; the app role cannot list sites
    /// across tenants.
    pub async fn site_by_key(&self, key: &str) -> Result<Option<SiteBinding>, DbError> {
        let rows: Vec<SiteRow> = self
            .global(async |conn| {
                // Raw SQL: a set-returning definer function in FROM, which
                // Diesel's DSL does not express.
                Ok(diesel::sql_query(
                    "SELECT company_id, site_id, allowed_origins FROM metiva_site_by_key($1)",
                )
                .bind::<Text, _>(key)
                .load(conn)
                .await?)
            })
            .await?;
        let Some(r) = rows.into_iter().next() else {
            return Ok(None);
        };
        let company =
            CompanyId::parse(&r.company_id).map_err(|e| DbError::Internal(e.to_string()))?;
        Ok(Some(SiteBinding {
            company,
            site_id: r.site_id,
            allowed_origins: r.allowed_origins,
        }))
    }

    /// Stores a batch of one company's page views in one transaction and
    /// returns how many were stored. Only after it returns `Ok` (COMMIT
    /// done) may the events be acknowledged.
    pub async fn record_page_views(
        &self,
        company: &CompanyId,
        views: &[PageView],
    ) -> Result<usize, DbError> {
        if views.is_empty() {
            return Ok(0);
        }
        self.for_site_key(company, async |tc: &mut TenantConn<'_>| {
            insert_page_views(tc, views).await
        })
        .await
    }

    /// Records a consent decision in the ledger and applies it to the
    /// visitor's current state, in one transaction.
    pub async fn record_decision(
        &self,
        company: &CompanyId,
        d: &Decision,
    ) -> Result<DecisionStored, DbError> {
        self.for_site_key(company, async |tc: &mut TenantConn<'_>| {
            record_decision(tc, d).await
        })
        .await
    }

    /// A consented form capture: person created or updated, visitor linked,
    /// a lead forward queued under marketing consent; all in one
    /// transaction, or nothing at all without identification consent.
    pub async fn capture(
        &self,
        company: &CompanyId,
        form: &CaptureForm,
    ) -> Result<CaptureOutcome, DbError> {
        self.for_site_key(company, async |tc: &mut TenantConn<'_>| {
            capture(tc, form).await
        })
        .await
    }

    /// A company's known networks (for the ingest lookup).
    pub async fn known_networks(
        &self,
        company: &CompanyId,
    ) -> Result<Vec<KnownNetworkRow>, DbError> {
        self.for_site_key_read(company, async |tc: &mut TenantConn<'_>| {
            // Raw SQL: `network` is a cidr column read as text, a cast the
            // schema's types do not carry.
            Ok(diesel::sql_query(
                "SELECT network::text AS network, organisation FROM known_networks
                 WHERE company_id = $1 ORDER BY network",
            )
            .bind::<Text, _>(tc.company().as_str().to_string())
            .load(tc.conn())
            .await?)
        })
        .await
    }
}

pub(crate) async fn insert_page_views(
    tc: &mut TenantConn<'_>,
    views: &[PageView],
) -> Result<usize, DbError> {
    let company = tc.company().as_str().to_string();
    let mut ids = Vec::with_capacity(views.len());
    let mut sites = Vec::with_capacity(views.len());
    let mut keys: Vec<Option<Uuid>> = Vec::with_capacity(views.len());
    let mut ats = Vec::with_capacity(views.len());
    let mut paths = Vec::with_capacity(views.len());
    let mut refs: Vec<Option<String>> = Vec::with_capacity(views.len());
    let mut orgs: Vec<Option<String>> = Vec::with_capacity(views.len());
    let mut srcs: Vec<Option<String>> = Vec::with_capacity(views.len());
    let mut kids = Vec::with_capacity(views.len());
    let mut nonces = Vec::with_capacity(views.len());
    let mut cts = Vec::with_capacity(views.len());
    for v in views {
        ids.push(v.id);
        sites.push(v.site_id);
        keys.push(v.visitor_key);
        ats.push(v.at);
        paths.push(v.path.clone());
        refs.push(v.referrer_domain.clone());
        orgs.push(v.organisation.clone());
        srcs.push(v.org_source.map(str::to_string));
        kids.push(v.ip_key_id.clone());
        nonces.push(v.ip_nonce.clone());
        cts.push(v.ip_ciphertext.clone());
    }
    // One statement for the whole batch. The visitor link survives only
    // through the join on a visitor whose analytics consent is on record.
    // Raw SQL: INSERT … SELECT FROM unnest(arrays) LEFT JOIN, which
    // Diesel's DSL does not express (a batch of values cannot be joined).
    // A constant text, so it is prepared once per connection instead of
    // parsed and planned for every batch (issue 15: ingest keeps up).
    let stored = crate::repo::cached::sql(
        "INSERT INTO page_views (company_id, id, site_id, visitor_id, at, path, referrer_domain,
                                 organisation, org_source, ip_key_id, ip_nonce, ip_ciphertext)
         SELECT $1, e.id, e.site_id, v.id, e.at, e.path, e.referrer, e.org, e.src, e.kid, e.nonce, e.ct
         FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[], $6::text[], $7::text[],
                     $8::text[], $9::text[], $10::text[], $11::bytea[], $12::bytea[])
              AS e(id, site_id, vkey, at, path, referrer, org, src, kid, nonce, ct)
         LEFT JOIN visitors v ON v.company_id = $1 AND v.visitor_key = e.vkey AND v.analytics",
    )
    .bind::<Text, _>(&company)
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<SqlUuid>, _>(&sites)
    .bind::<Array<Nullable<SqlUuid>>, _>(&keys)
    .bind::<Array<Timestamptz>, _>(&ats)
    .bind::<Array<Text>, _>(&paths)
    .bind::<Array<Nullable<Text>>, _>(&refs)
    .bind::<Array<Nullable<Text>>, _>(&orgs)
    .bind::<Array<Nullable<Text>>, _>(&srcs)
    .bind::<Array<Text>, _>(&kids)
    .bind::<Array<Bytea>, _>(&nonces)
    .bind::<Array<Bytea>, _>(&cts)
    .execute(tc.conn())
    .await?;
    let seen: Vec<Uuid> = keys.iter().flatten().copied().collect();
    if !seen.is_empty() {
        diesel::update(
            visitors::table
                .filter(visitors::company_id.eq(&company))
                .filter(visitors::visitor_key.eq_any(&seen))
                .filter(visitors::analytics),
        )
        .set(visitors::last_seen.eq(now))
        .execute(tc.conn())
        .await?;
    }
    Ok(stored)
}

pub(crate) async fn record_decision(
    tc: &mut TenantConn<'_>,
    d: &Decision,
) -> Result<DecisionStored, DbError> {
    let company = tc.company().as_str().to_string();
    let p = d.purposes;
    let mut visitor_id = None;
    if let Some(key) = d.visitor_key {
        let rows: Vec<IdRow> = if p.needs_identifier() && !d.withdrawal {
            // Consent given: the identifier may now exist.
            // Raw SQL: an upsert whose SET has a CASE over EXCLUDED, which
            // Diesel's DSL does not express.
            diesel::sql_query(
                "INSERT INTO visitors (company_id, site_id, visitor_key, analytics, identification, marketing)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (company_id, visitor_key) DO UPDATE
                   SET analytics = EXCLUDED.analytics, identification = EXCLUDED.identification,
                       marketing = EXCLUDED.marketing, last_seen = now(),
                       person_id = CASE WHEN EXCLUDED.identification THEN visitors.person_id END
                 RETURNING id",
            )
            .bind::<Text, _>(&company)
            .bind::<SqlUuid, _>(d.site_id)
            .bind::<SqlUuid, _>(key)
            .bind::<Bool, _>(p.analytics)
            .bind::<Bool, _>(p.identification)
            .bind::<Bool, _>(p.marketing)
            .load(tc.conn())
            .await?
        } else {
            // Nothing that needs an identifier is granted: never create a
            // visitor row; an existing one loses its grants and its person
            // link (withdrawal).
            diesel::update(
                visitors::table
                    .filter(visitors::company_id.eq(&company))
                    .filter(visitors::visitor_key.eq(key)),
            )
            .set((
                visitors::analytics.eq(false),
                visitors::identification.eq(false),
                visitors::marketing.eq(p.marketing && !d.withdrawal),
                visitors::person_id.eq(None::<Uuid>),
                visitors::last_seen.eq(now),
            ))
            .returning(visitors::id)
            .get_results::<Uuid>(tc.conn())
            .await?
            .into_iter()
            .map(|id| IdRow { id })
            .collect()
        };
        visitor_id = rows.into_iter().next().map(|r| r.id);
    }
    let mut forwards_cancelled = 0;
    if let Some(v) = visitor_id
        && (d.withdrawal || !p.marketing)
    {
        let n = diesel::update(
            forwards::table
                .filter(forwards::company_id.eq(&company))
                .filter(forwards::visitor_id.eq(v))
                .filter(forwards::status.eq("pending")),
        )
        .set((
            forwards::status.eq("cancelled"),
            forwards::cancelled_at.eq(now.into_sql::<Timestamptz>().nullable()),
        ))
        .execute(tc.conn())
        .await?;
        forwards_cancelled = u64::try_from(n).unwrap_or(u64::MAX);
    }
    let ledger_id: i64 = diesel::insert_into(consent_decisions::table)
        .values((
            consent_decisions::company_id.eq(&company),
            consent_decisions::site_id.eq(d.site_id),
            consent_decisions::visitor_id.eq(visitor_id),
            consent_decisions::analytics.eq(p.analytics && !d.withdrawal),
            consent_decisions::identification.eq(p.identification && !d.withdrawal),
            consent_decisions::marketing.eq(p.marketing && !d.withdrawal),
            consent_decisions::withdrawal.eq(d.withdrawal),
            consent_decisions::banner_version.eq(&d.banner_version),
            consent_decisions::lang.eq(&d.lang),
            consent_decisions::text_hash.eq(&d.text_hash),
        ))
        .returning(consent_decisions::id)
        .get_result(tc.conn())
        .await?;
    Ok(DecisionStored {
        ledger_id,
        visitor_id,
        forwards_cancelled,
    })
}

async fn capture(tc: &mut TenantConn<'_>, f: &CaptureForm) -> Result<CaptureOutcome, DbError> {
    let company = tc.company().as_str().to_string();
    // FOR UPDATE: a withdrawal racing this capture waits for it (and then
    // unlinks), or wins and this capture finds no consent.
    let found: Vec<VisitorConsent> = visitors::table
        .filter(visitors::company_id.eq(&company))
        .filter(visitors::visitor_key.eq(f.visitor_key))
        .select((visitors::id, visitors::identification, visitors::marketing))
        .for_update()
        .load(tc.conn())
        .await?;
    let Some(v) = found.into_iter().find(|v| v.identification) else {
        return Ok(CaptureOutcome::NoConsent);
    };
    // An existing person keeps the name and organisation the agency has
    // on record: a public form may link to a contact, never rename it.
    // Raw SQL: an upsert with COALESCE over the existing row that reports
    // whether it inserted (xmax = 0), which Diesel's DSL does not express.
    let person: Upserted = diesel::sql_query(
        "INSERT INTO persons (company_id, name, email, organisation) VALUES ($1, $2, $3, $4)
         ON CONFLICT (company_id, email) DO UPDATE
           SET organisation = COALESCE(persons.organisation, EXCLUDED.organisation),
               updated_at = now()
         RETURNING id, (xmax = 0) AS created",
    )
    .bind::<Text, _>(&company)
    .bind::<Text, _>(&f.name)
    .bind::<Text, _>(f.email.to_lowercase())
    .bind::<Nullable<Text>, _>(f.organisation.as_deref())
    .get_result(tc.conn())
    .await?;
    diesel::update(
        visitors::table
            .filter(visitors::company_id.eq(&company))
            .filter(visitors::id.eq(v.id)),
    )
    .set((
        visitors::person_id.eq(Some(person.id)),
        visitors::last_seen.eq(now),
    ))
    .execute(tc.conn())
    .await?;
    if v.marketing {
        let forward: Uuid = diesel::insert_into(forwards::table)
            .values((
                forwards::company_id.eq(&company),
                forwards::visitor_id.eq(v.id),
                forwards::person_id.eq(Some(person.id)),
                forwards::event.eq("lead"),
            ))
            .returning(forwards::id)
            .get_result(tc.conn())
            .await?;
        // Issue 18: sent by a job, which re-checks consent at send.
        crate::conversions::forwards::enqueue_send(tc, forward).await?;
    }
    Ok(CaptureOutcome::Captured {
        person_id: person.id,
        created: person.created,
        forward_queued: v.marketing,
    })
}
