//! The demo data (`metiva seed-demo`): three client workspaces, one user per
//! business role in De Vries Media, and a few persons and deals in each.
//!
//! # Security
//! Runs as the owner role (the app role may not create users). Tenant rows
//! go through `Database::tenant`, so FORCE'd RLS applies here too: the seed
//! cannot write a row into the wrong company any more than the app can.
//! Refused in production by the caller: the demo password is published.

use diesel::QueryableByName;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::repo::{companies, deals, memberships, persons};
use crate::{CompanyId, Database, DbError, TenantConn};

/// The demo password, stated in the README (development only).
pub const DEMO_PASSWORD: &str = "metiva-demo";

struct DemoCompany {
    id: &'static str,
    name: &'static str,
    /// (email, role)
    members: &'static [(&'static str, &'static str)],
    /// (name, email, organisation)
    persons: &'static [(&'static str, &'static str, &'static str)],
    /// (title, value in cents, stage, index into `persons`)
    deals: &'static [(&'static str, i64, &'static str, usize)],
}

/// (email, display name) of every demo user.
const USERS: &[(&str, &str)] = &[
    ("owner@devries.example", "Sanne de Vries"),
    ("admin@devries.example", "Daan Jansen"),
    ("account_manager@devries.example", "Fleur Bakker"),
    ("sales@devries.example", "Lars Visser"),
    ("marketing@devries.example", "Eva Smit"),
    ("finance@devries.example", "Thijs Meijer"),
    ("member@devries.example", "Noor Mulder"),
    ("viewer@devries.example", "Bram de Boer"),
    ("owner@brouwer.example", "Julia Brouwer"),
    ("owner@noord.example", "Sem Dijkstra"),
];

const COMPANIES: &[DemoCompany] = &[
    DemoCompany {
        id: "cmp_8fa2c1",
        name: "De Vries Media",
        members: &[
            ("owner@devries.example", "owner"),
            ("admin@devries.example", "admin"),
            ("account_manager@devries.example", "account_manager"),
            ("sales@devries.example", "sales"),
            ("marketing@devries.example", "marketing"),
            ("finance@devries.example", "finance"),
            ("member@devries.example", "member"),
            ("viewer@devries.example", "viewer"),
        ],
        persons: &[
            (
                "Anouk Hendriks",
                "anouk@bloemenhuis.example",
                "Bloemenhuis Hendriks",
            ),
            ("Ruben Kok", "ruben@kokfietsen.example", "Kok Fietsen"),
            (
                "Lotte van Dam",
                "lotte@vandamadvies.example",
                "Van Dam Advies",
            ),
            (
                "Milan Peters",
                "milan@peterslogistiek.example",
                "Peters Logistiek",
            ),
        ],
        deals: &[
            ("Website redesign", 1_850_000, "proposal", 0),
            ("SEO retainer 2027", 960_000, "qualified", 1),
            ("Spring campaign", 420_000, "won", 2),
            ("LinkedIn ads pilot", 250_000, "lead", 3),
        ],
    },
    DemoCompany {
        id: "cmp_1d47b9",
        name: "Brouwer Retail",
        members: &[
            ("owner@brouwer.example", "owner"),
            ("owner@devries.example", "member"),
        ],
        persons: &[
            (
                "Sophie Willems",
                "sophie@willemsmode.example",
                "Willems Mode",
            ),
            (
                "Jesse de Graaf",
                "jesse@degraafwonen.example",
                "De Graaf Wonen",
            ),
            (
                "Emma Vos",
                "emma@vosdelicatessen.example",
                "Vos Delicatessen",
            ),
        ],
        deals: &[
            ("Black Friday push", 780_000, "proposal", 0),
            ("Loyalty app", 2_400_000, "lead", 1),
            ("Shop photography", 180_000, "won", 2),
        ],
    },
    DemoCompany {
        id: "cmp_63ae02",
        name: "Noord Media",
        members: &[("owner@noord.example", "owner")],
        persons: &[
            ("Tim Bos", "tim@bosbouw.example", "Bos Bouw"),
            ("Iris Maas", "iris@maasmakelaars.example", "Maas Makelaars"),
            (
                "Lucas Schouten",
                "lucas@schoutenzorg.example",
                "Schouten Zorg",
            ),
        ],
        deals: &[
            ("Recruitment campaign", 640_000, "qualified", 0),
            ("Brand video", 1_200_000, "proposal", 1),
            ("Newsletter setup", 95_000, "lost", 2),
        ],
    },
];

/// What a seed run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub companies_created: usize,
    pub companies_present: usize,
}

#[derive(QueryableByName)]
struct UserId {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

impl Database {
    /// Loads the demo data. Idempotent: a company that already exists is
    /// left as it is. `password_hash` is the bcrypt hash of
    /// [`DEMO_PASSWORD`], computed by the caller.
    pub async fn seed_demo(&self, password_hash: &str) -> Result<SeedReport, DbError> {
        let ids = self
            .global(async |conn| {
                let mut ids = std::collections::HashMap::new();
                for (email, name) in USERS {
                    // Global table: the owner role writes it outside any tenant.
                    // Raw SQL: an upsert that must return the id whether it inserted or not (a
                    // no-op DO UPDATE), which Diesel's DSL does not express.
                    let row: UserId = diesel::sql_query(
                        "INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3)
                     ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id",
                    )
                    .bind::<Text, _>(*email)
                    .bind::<Text, _>(*name)
                    .bind::<Text, _>(password_hash)
                    .get_result(&mut *conn)
                    .await?;
                    ids.insert(*email, row.id);
                }
                Ok(ids)
            })
            .await?;
        let mut report = SeedReport::default();
        for c in COMPANIES {
            let company = CompanyId::parse(c.id).map_err(|e| DbError::Internal(e.to_string()))?;
            let created = self
                .for_provisioning(&company, async |tc| {
                    match companies::current(tc).await {
                        Ok(_) => return Ok(false),
                        Err(DbError::NotFound) => {}
                        Err(e) => return Err(e),
                    }
                    companies::create(tc, c.name).await?;
                    for (email, role) in c.members {
                        let user = *ids.get(email).ok_or(DbError::NotFound)?;
                        memberships::create(tc, user, role, "active").await?;
                    }
                    let owner = c
                        .members
                        .first()
                        .and_then(|(email, _)| ids.get(email))
                        .copied();
                    let mut person_ids = Vec::new();
                    for (name, email, org) in c.persons {
                        let p = persons::create(
                            tc,
                            &persons::PersonFields {
                                name: (*name).into(),
                                email: Some((*email).into()),
                                phone: None,
                                organisation: Some((*org).into()),
                            },
                        )
                        .await?;
                        person_ids.push(p.id);
                    }
                    link_organisations(tc).await?;
                    for (title, cents, stage, person) in c.deals {
                        deals::create(
                            tc,
                            &deals::DealFields {
                                title: (*title).into(),
                                value_cents: *cents,
                                stage: (*stage).into(),
                                owner_user_id: owner,
                                person_id: person_ids.get(*person).copied(),
                            },
                        )
                        .await?;
                    }
                    if let (Some(owner), Some(person), true) = (
                        owner,
                        <[Uuid]>::first(&person_ids).copied(),
                        c.id == "cmp_8fa2c1",
                    ) {
                        breached_first_response(tc, owner, person).await?;
                    }
                    Ok(true)
                })
                .await?;
            if created {
                report.companies_created += 1;
            } else {
                report.companies_present += 1;
            }
        }
        Ok(report)
    }
}

/// The demo site's public key (it is in the snippet tag, so not a secret).
pub const DEMO_SITE_KEY: &str = "pk_devries_demo_site";

/// What the demo site needs from the caller: the field keys (seeded IPs
/// are sealed like real ones) and the banner the seeded consent saw.
pub struct DemoSite<'a> {
    pub keys: &'a metiva_security::cipher::KeyRing,
    pub banner_version: &'a str,
    pub lang: &'a str,
    pub text_hash: String,
}

/// The demo site's networks: documentation ranges (RFC 5737, RFC 3849),
/// so no real organisation's addresses appear in demo data.
const DEMO_NETWORKS: &[(&str, &str)] = &[
    ("192.0.2.0/24", "Coolblue B.V."),
    ("198.51.100.0/24", "Rabobank"),
    ("203.0.113.0/24", "ASML Netherlands B.V."),
    ("2001:db8:1::/48", "Booking.com B.V."),
];

const DEMO_PATHS: &[&str] = &[
    "/",
    "/diensten",
    "/cases",
    "/contact",
    "/prijzen",
    "/blog/avg-checklist",
];

/// A fixed visitor key for the seeded consented visitor.
const DEMO_VISITOR_KEY: Uuid = Uuid::from_u128(0x6d65_7469_7661_4000_8000_0000_0000_0001);
/// The seeded visitor who also granted marketing (issue 18).
const DEMO_MARKETING_VISITOR_KEY: Uuid = Uuid::from_u128(0x6d65_7469_7661_4000_8000_0000_0000_0002);

impl Database {
    /// Registers De Vries Media's demo site with its known networks, a few
    /// weeks of company-level visits and one consented visitor linked to a
    /// person with a deal. Idempotent: `false` when the site exists.
    pub async fn seed_demo_site(&self, demo: &DemoSite<'_>) -> Result<bool, DbError> {
        use crate::ingest::{Decision, PageView, Purposes};
        let company =
            CompanyId::parse("cmp_8fa2c1").map_err(|e| DbError::Internal(e.to_string()))?;
        // Seeded IPs are sealed with the company's data key, as real ones.
        demo.keys
            .load(self, company.as_str())
            .await
            .map_err(|e| DbError::Internal(e.to_string()))?;
        self.for_provisioning(&company, async |tc| {
            #[derive(QueryableByName)]
            struct Id {
                #[diesel(sql_type = SqlUuid)]
                id: Uuid,
            }
            // Raw SQL: seeding, run once by the operator; kept beside the insert it guards.
            let existing: Vec<Id> = diesel::sql_query("SELECT id FROM sites WHERE site_key = $1")
                .bind::<Text, _>(DEMO_SITE_KEY)
                .load(tc.conn())
                .await?;
            if !existing.is_empty() {
                return Ok(false);
            }
            // Raw SQL: an ARRAY literal for a text[] column whose generated type
            // (Array<Nullable<Text>>) Diesel will not bind from Vec<String>.
            let site: Id = diesel::sql_query(
                "INSERT INTO sites (company_id, domain, site_key, allowed_origins)
                 VALUES ($1, 'devries-media.example', $2,
                         ARRAY['https://devries-media.example', 'http://127.0.0.1:*', 'http://localhost:*'])
                 RETURNING id",
            )
            .bind::<Text, _>(company.as_str())
            .bind::<Text, _>(DEMO_SITE_KEY)
            .get_result(tc.conn())
            .await?;
            for (cidr, org) in DEMO_NETWORKS {
                // Raw SQL: a cast to cidr, a type the schema maps to no Rust type here.
                diesel::sql_query(
                    "INSERT INTO known_networks (company_id, network, organisation) VALUES ($1, $2::cidr, $3)",
                )
                .bind::<Text, _>(company.as_str())
                .bind::<Text, _>(*cidr)
                .bind::<Text, _>(*org)
                .execute(tc.conn())
                .await?;
            }
            // The consented visitor first, so its seeded views can link.
            let decision = crate::ingest::record_decision(
                tc,
                &Decision {
                    site_id: site.id,
                    visitor_key: Some(DEMO_VISITOR_KEY),
                    purposes: Purposes {
                        analytics: true,
                        identification: true,
                        marketing: false,
                    },
                    withdrawal: false,
                    banner_version: demo.banner_version.into(),
                    lang: demo.lang.into(),
                    text_hash: demo.text_hash.clone(),
                },
            )
            .await?;
            // Raw SQL: seeding, run once by the operator; kept beside its neighbours.
            let anouk: Vec<Id> =
                diesel::sql_query("SELECT id FROM persons WHERE company_id = $1 AND email = $2")
                    .bind::<Text, _>(company.as_str())
                    .bind::<Text, _>("anouk@bloemenhuis.example")
                    .load(tc.conn())
                    .await?;
            if let (Some(v), Some(p)) = (decision.visitor_id, anouk.as_slice().first()) {
                // Raw SQL: seeding, run once by the operator; kept beside its neighbours.
                diesel::sql_query("UPDATE visitors SET person_id = $2 WHERE company_id = $1 AND id = $3")
                    .bind::<Text, _>(company.as_str())
                    .bind::<SqlUuid, _>(p.id)
                    .bind::<SqlUuid, _>(v)
                    .execute(tc.conn())
                    .await?;
            }
            // Issue 18: a second visitor who also granted marketing,
            // linked to Ruben Kok (an open deal), so winning his deal
            // uploads a conversion while Anouk's (no marketing consent)
            // is "not sent: no marketing consent".
            let marketing = crate::ingest::record_decision(
                tc,
                &Decision {
                    site_id: site.id,
                    visitor_key: Some(DEMO_MARKETING_VISITOR_KEY),
                    purposes: Purposes {
                        analytics: true,
                        identification: true,
                        marketing: true,
                    },
                    withdrawal: false,
                    banner_version: demo.banner_version.into(),
                    lang: demo.lang.into(),
                    text_hash: demo.text_hash.clone(),
                },
            )
            .await?;
            // Raw SQL: seeding, run once by the operator; kept beside its neighbours.
            let ruben: Vec<Id> =
                diesel::sql_query("SELECT id FROM persons WHERE company_id = $1 AND email = $2")
                    .bind::<Text, _>(company.as_str())
                    .bind::<Text, _>("ruben@kokfietsen.example")
                    .load(tc.conn())
                    .await?;
            if let (Some(v), Some(p)) = (marketing.visitor_id, ruben.as_slice().first()) {
                // Raw SQL: seeding, run once by the operator; kept beside its neighbours.
                diesel::sql_query("UPDATE visitors SET person_id = $2 WHERE company_id = $1 AND id = $3")
                    .bind::<Text, _>(company.as_str())
                    .bind::<SqlUuid, _>(p.id)
                    .bind::<SqlUuid, _>(v)
                    .execute(tc.conn())
                    .await?;
            }
            // A few weeks of visits; deterministic, so demo screenshots
            // are stable.
            let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
            let mut next = move |n: u64| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng % n.max(1)
            };
            let now = chrono::Utc::now();
            let mut views = Vec::new();
            for day in 0..35_i64 {
                let per_day = 4 + next(14) + if day % 7 < 5 { 6 } else { 0 };
                for _ in 0..per_day {
                    let which = next(6) as usize;
                    let (ip, org): (std::net::IpAddr, Option<&str>) = match which {
                        0 => ([192, 0, 2, 10 + next(200) as u8].into(), Some("Coolblue B.V.")),
                        1 => ([198, 51, 100, 7].into(), Some("Rabobank")),
                        2 => ([203, 0, 113, 90].into(), Some("ASML Netherlands B.V.")),
                        3 => (
                            std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x42).into(),
                            Some("Booking.com B.V."),
                        ),
                        // Households: a consumer ISP is never shown as a company.
                        _ => ([100, 64, next(250) as u8, 12].into(), None),
                    };
                    let id = Uuid::new_v4();
                    let row = id.to_string();
                    let truncated = metiva_security::ip::truncate(ip).to_string();
                    let sealed = demo
                        .keys
                        .seal(
                            truncated.as_bytes(),
                            &crate::visitors::ip_context(company.as_str(), &row),
                        )
                        .map_err(|e| DbError::Internal(e.to_string()))?;
                    let at = now
                        - chrono::Duration::days(day)
                        - chrono::Duration::minutes(next(60 * 10) as i64);
                    let consented = which == 0 && day % 9 == 2;
                    views.push(PageView {
                        id,
                        site_id: site.id,
                        visitor_key: consented.then_some(DEMO_VISITOR_KEY),
                        at,
                        path: DEMO_PATHS
                            .get(next(DEMO_PATHS.len() as u64) as usize)
                            .copied()
                            .unwrap_or("/")
                            .into(),
                        referrer_domain: (next(3) == 0).then(|| "www.google.com".to_string()),
                        organisation: org.map(str::to_string),
                        org_source: org.map(|_| "known_network"),
                        ip_key_id: sealed.key_id,
                        ip_nonce: sealed.nonce.to_vec(),
                        ip_ciphertext: sealed.ciphertext,
                    });
                }
            }
            crate::ingest::insert_page_views(tc, &views).await?;
            Ok(true)
        })
        .await
    }
}

/// One first-response task past its SLA deadline, already marked
/// breached by the sweep and noticed to its assignee (the owner), so
/// `/tasks` shows the breach marker in the demo (and in Playwright).
async fn breached_first_response(
    tc: &mut TenantConn<'_>,
    owner: Uuid,
    person: Uuid,
) -> Result<(), DbError> {
    use crate::schema::{notifications, tasks};
    use diesel::ExpressionMethods;
    let company = tc.company().as_str().to_string();
    let now = chrono::Utc::now();
    let task: Uuid = diesel::insert_into(tasks::table)
        .values((
            tasks::company_id.eq(&company),
            tasks::title.eq("First response to the new lead"),
            tasks::due_at.eq(Some(now - chrono::Duration::hours(2))),
            tasks::assignee_user_id.eq(Some(owner)),
            tasks::person_id.eq(Some(person)),
            tasks::purpose.eq("first_response"),
            tasks::breached_at.eq(Some(now - chrono::Duration::hours(1))),
        ))
        .returning(tasks::id)
        .get_result(tc.conn())
        .await?;
    diesel::insert_into(notifications::table)
        .values((
            notifications::company_id.eq(&company),
            notifications::user_id.eq(owner),
            notifications::kind.eq("sla_breach"),
            notifications::task_id.eq(task),
        ))
        .execute(tc.conn())
        .await?;
    Ok(())
}

/// The demo contacts' organisation names become organisations, linked (as
/// the CRM migration does for data that existed before it).
async fn link_organisations(tc: &mut TenantConn<'_>) -> Result<(), DbError> {
    use crate::schema::{organisations, persons};
    use diesel::{ExpressionMethods, QueryDsl};
    let company = tc.company().as_str().to_string();
    let names: Vec<Option<String>> = persons::table
        .filter(persons::company_id.eq(&company))
        .filter(persons::organisation.is_not_null())
        .select(persons::organisation)
        .distinct()
        .load(tc.conn())
        .await?;
    for name in names.into_iter().flatten() {
        let id: Uuid = diesel::insert_into(organisations::table)
            .values((
                organisations::company_id.eq(&company),
                organisations::name.eq(&name),
            ))
            .returning(organisations::id)
            .get_result(tc.conn())
            .await?;
        diesel::update(
            persons::table
                .filter(persons::company_id.eq(&company))
                .filter(persons::organisation.eq(&name)),
        )
        .set(persons::organisation_id.eq(Some(id)))
        .execute(tc.conn())
        .await?;
    }
    Ok(())
}

/// The operator's own workspace: Metiva as a client of itself, whose
/// contacts are the Trust Center's walkthrough requests.
pub const OPERATOR_COMPANY: &str = "cmp_0e7a00";
/// Its name, as the dashboard shows it.
pub const OPERATOR_NAME: &str = "Metiva (operator)";
/// Its owner, who signs in with the demo password (development only).
pub const OPERATOR_OWNER: (&str, &str) = ("owner@metiva.example", "Mila Operator");
/// The Trust Center's site in that workspace (public: it is in the
/// snippet tag).
pub const OPERATOR_SITE_KEY: &str = "pk_metiva_trust_center";

impl Database {
    /// Creates the operator workspace, its owner and the Trust Center's
    /// site, callable from `origins` (the dashboard's public URL; `:*`
    /// patterns count in development only). Idempotent, and leaves the
    /// client demo data alone: `false` when the workspace exists.
    pub async fn seed_operator(
        &self,
        password_hash: &str,
        origins: &[String],
    ) -> Result<bool, DbError> {
        let (email, name) = OPERATOR_OWNER;
        let user = self
            .global(async |conn| {
                // Global table: the owner role writes it outside any tenant.
                // Raw SQL: an upsert returning the id either way (as above).
                let row: UserId = diesel::sql_query(
                    "INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3)
                     ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING id",
                )
                .bind::<Text, _>(email)
                .bind::<Text, _>(name)
                .bind::<Text, _>(password_hash)
                .get_result(&mut *conn)
                .await?;
                Ok(row.id)
            })
            .await?;
        let company =
            CompanyId::parse(OPERATOR_COMPANY).map_err(|e| DbError::Internal(e.to_string()))?;
        self.for_provisioning(&company, async |tc| {
            match companies::current(tc).await {
                Ok(_) => return Ok(false),
                Err(DbError::NotFound) => {}
                Err(e) => return Err(e),
            }
            companies::create(tc, OPERATOR_NAME).await?;
            memberships::create(tc, user, "owner", "active").await?;
            // Raw SQL: a text[] bind, as for the demo site above.
            diesel::sql_query(
                "INSERT INTO sites (company_id, domain, site_key, allowed_origins)
                 VALUES ($1, 'metiva.example', $2, $3)",
            )
            .bind::<Text, _>(company.as_str())
            .bind::<Text, _>(OPERATOR_SITE_KEY)
            .bind::<diesel::sql_types::Array<Text>, _>(origins)
            .execute(tc.conn())
            .await?;
            Ok(true)
        })
        .await
    }
}
