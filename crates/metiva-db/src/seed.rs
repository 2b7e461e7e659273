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
use crate::{CompanyId, Database, DbError};

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
        let mut ids = std::collections::HashMap::new();
        {
            let mut conn = self.checkout().await?;
            for (email, name) in USERS {
                // Global table: the owner role writes it outside any tenant.
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
        }
        let mut report = SeedReport::default();
        for c in COMPANIES {
            let company = CompanyId::parse(c.id).map_err(|e| DbError::Internal(e.to_string()))?;
            let created = self
                .tenant(&company, async |tc| {
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
