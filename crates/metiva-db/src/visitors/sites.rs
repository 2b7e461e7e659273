//! Where a workspace's snippet runs (sites) and which networks it knows
//! (known networks): registered, switched and replaced, each audited.

use crate::access::TenantCtx;
use crate::repo::audit::{self, AuditEntry};
use crate::schema::{known_networks, sites};
use crate::{Database, DbError, TenantConn};
use diesel::QueryableByName;
use diesel::sql_types::Uuid as SqlUuid;
use diesel::sql_types::{Array, Bool, Text};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

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

impl Database {
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
            diesel::delete(known_networks::table.filter(known_networks::company_id.eq(&company)))
                .execute(tc.conn())
                .await?;
            // Raw SQL: INSERT … SELECT FROM unnest(arrays) with a cast to
            // cidr, which Diesel's DSL does not express.
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
            // Raw SQL: `allowed_origins` is a text[] of non-NULL elements
            // read as Vec<String>; the generated column type is
            // Array<Nullable<Text>> (PostgreSQL cannot declare elements
            // NOT NULL), which Diesel will not map to Vec<String>.
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
            let n = diesel::update(
                sites::table
                    .filter(sites::company_id.eq(&company))
                    .filter(sites::id.eq(site)),
            )
            .set(sites::enabled.eq(enabled))
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
}
