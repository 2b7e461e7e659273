//! Opening the database for a command: the embedded default or an
//! operator-provided one.

use std::time::Duration;

use anyhow::{Context, anyhow};
use metiva_db::login::LoginDb;
use metiva_db::{Database, PoolSettings, bootstrap};
use metiva_embedded_pg::Cluster;

use crate::checks::{self, Outcome};
use crate::config::{Config, DatabaseConfig, Mode};

/// The database name the embedded default uses.
const EMBEDDED_DB: &str = "metiva";

/// A ready database, and the embedded cluster behind it if there is one.
pub struct OpenDatabase {
    pub db: Database,
    /// The login service's pool (`metiva_login`), when it runs here.
    pub login: Option<LoginDb>,
    cluster: Option<Cluster>,
}

impl OpenDatabase {
    /// Closes the pool, then stops the embedded cluster cleanly.
    pub async fn close(mut self) {
        self.db.close();
        if let Some(l) = &self.login {
            l.close();
        }
        if let Some(mut cluster) = self.cluster.take() {
            let res = tokio::task::spawn_blocking(move || cluster.stop()).await;
            match res {
                Ok(Ok(())) => tracing::info!("embedded PostgreSQL stopped"),
                Ok(Err(e)) => tracing::warn!("embedded PostgreSQL: {e}"),
                Err(e) => tracing::warn!("embedded PostgreSQL stop task: {e}"),
            }
        }
    }
}

async fn start_embedded(data_dir: &std::path::Path) -> anyhow::Result<Cluster> {
    let dir = data_dir.to_path_buf();
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(&dir))
        .await
        .map_err(|e| anyhow!("embedded database task failed: {e}"))??;
    tracing::info!(
        cold = cluster.initialised,
        ms = cluster.start_time.as_millis() as u64,
        dir = %cluster.root().display(),
        "embedded PostgreSQL running"
    );
    let su = cluster.url(metiva_embedded_pg::SUPERUSER, "postgres");
    bootstrap::bootstrap_as_superuser(&su, EMBEDDED_DB)
        .await
        .context("bootstrapping the embedded database")?;
    let owner = cluster.url(bootstrap::OWNER_ROLE, EMBEDDED_DB);
    let applied = bootstrap::run_migrations(&owner).await?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    Ok(cluster)
}

/// Opens the runtime database for serving and refuses, closing it again,
/// when any fail-closed check fails.
pub async fn open(config: &Config, with_login: bool) -> anyhow::Result<OpenDatabase> {
    // Security: a configuration that fails its checks is refused before
    // any connection is opened (a password must not travel to a server
    // over a channel the checks would refuse).
    if let Some(failed) = checks::config_checks(config)
        .into_iter()
        .find(|c| c.outcome == Outcome::Fail)
    {
        anyhow::bail!("refusing to serve: {}", failed.line);
    }
    let mut open = open_unchecked(config).await?;
    if let Err(e) = checks::refuse_unsafe(config, &open.db).await {
        open.close().await;
        return Err(e);
    }
    if with_login {
        let login = match open_login(config, open.cluster.as_ref()).await {
            // Security: the login role must not bypass RLS either.
            Ok(l) => checks::refuse_unsafe_role(l.database()).await.map(|()| l),
            Err(e) => Err(e),
        };
        match login {
            Ok(l) => open.login = Some(l),
            Err(e) => {
                open.close().await;
                return Err(e);
            }
        }
    }
    Ok(open)
}

/// The login service's pool: `metiva_login` on the embedded cluster, or
/// `METIVA_LOGIN_DATABASE_URL` on an external database.
async fn open_login(config: &Config, cluster: Option<&Cluster>) -> anyhow::Result<LoginDb> {
    let url = match (cluster, &config.login_database_url) {
        (Some(c), _) => c.url(bootstrap::LOGIN_ROLE, EMBEDDED_DB),
        (None, Some(u)) => u.clone(),
        (None, None) => anyhow::bail!(
            "METIVA_LOGIN_DATABASE_URL (the metiva_login role) is required to run the login service against an external database"
        ),
    };
    let login = LoginDb::connect(&url, &config.pool_settings())?;
    tokio::time::timeout(Duration::from_secs(10), login.ping())
        .await
        .map_err(|_| anyhow!("the login database did not answer within 10 s"))?
        .context("connecting as the login role (metiva_login)")?;
    Ok(login)
}

/// Opens the runtime database without the safety checks. The embedded
/// default is bootstrapped and migrated; an external database must be
/// reachable now.
async fn open_unchecked(config: &Config) -> anyhow::Result<OpenDatabase> {
    let settings = config.pool_settings();
    match &config.database {
        DatabaseConfig::Embedded { data_dir } => {
            let cluster = start_embedded(data_dir).await?;
            let db = Database::connect(&cluster.url(bootstrap::APP_ROLE, EMBEDDED_DB), &settings)?;
            db.ping()
                .await
                .context("connecting to the embedded database as metiva_app")?;
            Ok(OpenDatabase {
                db,
                login: None,
                cluster: Some(cluster),
            })
        }
        DatabaseConfig::External {
            app_url,
            listen_url,
            ..
        } => {
            let mut db = Database::connect(app_url, &settings)?;
            if let Some(l) = listen_url {
                db = db.with_listen_url(l)?;
            }
            tokio::time::timeout(Duration::from_secs(10), db.ping())
                .await
                .map_err(|_| anyhow!("the database at DATABASE_URL did not answer within 10 s"))?
                .context("the database at DATABASE_URL is unreachable")?;
            Ok(OpenDatabase {
                db,
                login: None,
                cluster: None,
            })
        }
    }
}

/// `metiva migrate`: applies migrations as the owner role.
pub async fn migrate_only(config: &Config) -> anyhow::Result<()> {
    migrate_schema(config).await?;
    // Then values sealed under the master key move to their workspace's
    // data key (resumable; a failure is reported, the schema stays).
    if let Err(e) = crate::keys::migrate_values(config, 1000).await {
        eprintln!(
            "metiva: warning: moving sealed values to data keys: {e:#}; run `metiva keys migrate-values`"
        );
    }
    Ok(())
}

async fn migrate_schema(config: &Config) -> anyhow::Result<()> {
    match &config.database {
        DatabaseConfig::Embedded { data_dir } => {
            let mut cluster = start_embedded(data_dir).await?;
            println!(
                "migrations are up to date (embedded database in {})",
                cluster.root().display()
            );
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
            Ok(())
        }
        DatabaseConfig::External { migration_url, .. } => {
            let url = migration_url
                .as_deref()
                .ok_or_else(|| anyhow!("DATABASE_MIGRATION_URL (the owner role) is required to migrate an external database"))?;
            let applied = bootstrap::run_migrations(url)
                .await
                .context("migrating the database at DATABASE_MIGRATION_URL")?;
            println!("{applied} migration(s) applied");
            Ok(())
        }
    }
}

/// A pool as the owner role, for the operator's commands: the embedded
/// default (started and migrated) or `DATABASE_MIGRATION_URL`; `what`
/// names the command in the error when that is missing.
async fn open_owner(config: &Config, what: &str) -> anyhow::Result<(Database, Option<Cluster>)> {
    let mut cluster = None;
    let owner_url = match &config.database {
        DatabaseConfig::Embedded { data_dir } => {
            let c = start_embedded(data_dir).await?;
            let url = c.url(bootstrap::OWNER_ROLE, EMBEDDED_DB);
            cluster = Some(c);
            url
        }
        DatabaseConfig::External { migration_url, .. } => migration_url.clone().ok_or_else(|| {
            anyhow!("DATABASE_MIGRATION_URL (the owner role) is required to {what} an external database")
        })?,
    };
    Ok((
        Database::connect(&owner_url, &PoolSettings::default())?,
        cluster,
    ))
}

/// `metiva seed-demo`: loads the demo data as the owner role.
pub async fn seed_demo(config: &Config) -> anyhow::Result<()> {
    // Security: the demo users share a published password.
    if config.mode == Mode::Production {
        anyhow::bail!(
            "seed-demo is refused in production: the demo users have a published password"
        );
    }
    let (owner, cluster) = open_owner(config, "seed").await?;
    let cost = config.bcrypt_cost;
    let hash = tokio::task::spawn_blocking(move || {
        let pw = metiva_security::password::Password::new(metiva_db::seed::DEMO_PASSWORD)?;
        metiva_security::password::hash(&pw, cost)
    })
    .await??;
    let report = owner
        .seed_demo(&hash)
        .await
        .context("loading the demo data")?;
    // The demo site's seeded visits are sealed with the same field keys
    // `serve` uses (development keys live in the data directory).
    let keys = crate::keys::Keys::load(config)?;
    let site = owner
        .seed_demo_site(&demo_site(&keys.field_keys))
        .await
        .context("loading the demo site")?;
    if site {
        println!(
            "demo site: {} registered for De Vries Media, with a few weeks of company-level visits",
            metiva_db::seed::DEMO_SITE_KEY
        );
    }
    // Billing (issue 17): a retainer for De Vries Media, billed at once;
    // the worker issues its invoices where Stripe is connected.
    if owner
        .seed_demo_billing()
        .await
        .context("loading the demo retainer")?
    {
        println!(
            "demo billing: De Vries Media's retainer \"{}\" with its invoices so far",
            metiva_db::billing::demo::DEMO_RETAINER
        );
    }
    // The operator's own workspace and the Trust Center's site (`/trust`
    // books walkthroughs into it), callable from the dashboard's origin.
    let origins = [
        config.app_url.trim_end_matches('/').to_string(),
        "http://127.0.0.1:*".to_string(),
        "http://localhost:*".to_string(),
    ];
    if owner
        .seed_operator(&hash, &origins)
        .await
        .context("loading the operator workspace")?
    {
        println!(
            "operator workspace: {} ({}) with the Trust Center's site {}",
            metiva_db::seed::OPERATOR_NAME,
            metiva_db::seed::OPERATOR_COMPANY,
            metiva_db::seed::OPERATOR_SITE_KEY
        );
    }
    println!(
        "demo data: {} workspace(s) created, {} already present; users sign in with password `{}`",
        report.companies_created,
        report.companies_present,
        metiva_db::seed::DEMO_PASSWORD
    );
    OpenDatabase {
        db: owner,
        login: None,
        cluster,
    }
    .close()
    .await;
    Ok(())
}

/// The demo site's consent context: the current Dutch banner and its hash.
pub fn demo_site(keys: &metiva_security::cipher::KeyRing) -> metiva_db::seed::DemoSite<'_> {
    let banner = app::consent_text::current("nl");
    metiva_db::seed::DemoSite {
        keys,
        banner_version: banner.version,
        lang: banner.lang,
        text_hash: app::consent_text::text_hash(banner),
    }
}

/// `metiva check`: every check on one line; an error if any failed.
pub async fn check(config: &Config) -> anyhow::Result<()> {
    let mut all = checks::config_checks(config);
    // Where files live, and that the store takes our credentials.
    all.push(crate::file_store::check(config).await);
    let open = open_unchecked(config).await;
    match &open {
        Ok(o) => {
            all.push(checks::Check {
                outcome: Outcome::Pass,
                line: "database reachable as the runtime role".into(),
            });
            all.extend(checks::database_checks(&o.db).await?);
            all.push(checks::signing_key_check(&o.db).await);
        }
        Err(e) => all.push(checks::Check {
            outcome: Outcome::Fail,
            line: format!("database: {e:#}"),
        }),
    }
    for c in &all {
        println!("{c}");
    }
    if let Ok(o) = open {
        o.close().await;
    }
    let failed = all.iter().filter(|c| c.outcome == Outcome::Fail).count();
    if failed > 0 {
        anyhow::bail!("{failed} check(s) failed");
    }
    Ok(())
}

/// `metiva audit verify`: recomputes every company's audit chain (or one
/// company's) and prints one line each; an error naming each broken
/// chain's first broken row if any is broken.
///
/// Runs as the owner role: listing every company is an owner-only
/// directory answer (`metiva_audit_companies()`), and each chain is read
/// under its own company's binding, so RLS still applies to the rows.
pub async fn audit_verify(config: &Config, company: Option<&str>) -> anyhow::Result<()> {
    let only = company
        .map(metiva_db::CompanyId::parse)
        .transpose()
        .context("--company")?;
    // The keys verify the retention checkpoints' signatures.
    let keys = crate::keys::Keys::load(config)?;
    let (owner, cluster) = open_owner(config, "verify the audit log of").await?;
    let reports = owner
        .verify_audit_chains(only.as_ref(), &keys.field_keys)
        .await;
    OpenDatabase {
        db: owner,
        login: None,
        cluster,
    }
    .close()
    .await;
    let reports = reports.context("verifying the audit chains")?;
    for r in &reports {
        println!("{r}");
    }
    let broken: Vec<String> = reports
        .iter()
        .filter_map(|r| {
            r.broken.as_ref().map(|b| match b.why {
                metiva_db::audit_chain::Break::Checkpoint { id } => {
                    format!("{} at retention checkpoint {id}", r.company.as_str())
                }
                _ => format!("{} at audit row id {}", r.company.as_str(), b.id),
            })
        })
        .collect();
    if !broken.is_empty() {
        anyhow::bail!("audit chain broken: {}", broken.join(", "));
    }
    println!("audit chains verified: {} company(ies)", reports.len());
    Ok(())
}

/// Runs `f` with a pool as the owner role (the operator's key and
/// offboarding commands, see `keys`), then closes it.
pub(crate) async fn with_owner<T>(
    config: &Config,
    what: &str,
    f: impl AsyncFnOnce(&Database) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let (owner, cluster) = open_owner(config, what).await?;
    let result = f(&owner).await;
    OpenDatabase {
        db: owner,
        login: None,
        cluster,
    }
    .close()
    .await;
    result
}
