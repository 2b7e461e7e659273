//! The HTTP side: one listener per service, shared shutdown, and the
//! middleware every router gets.

pub mod attachments;
mod bcrypt_pool;
pub mod collect;
mod cookies;
mod crm_export;
mod crm_import;
mod csv_export;
mod dashboard;
mod erasure_receipt;
pub mod error;
mod exports;
pub mod guard;
mod health;
pub mod ingest;
pub mod invoice_files;
pub mod login;
mod members;
mod offboarding;
mod site_cache;
mod text_input;
pub mod trust;
mod trust_walkthrough;
pub mod twilio_webhook;
pub mod ui;
mod visits;
pub mod webhooks;

use std::net::SocketAddr;

use anyhow::{Context, anyhow};
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::database;
use crate::shutdown::Shutdown;

pub use dashboard::{MAX_BODY_BYTES, dashboard_router, dashboard_router_with};
pub use login::{LoginService, login_router};

/// A service `serve --only` can pick (`app` or `login` on the command
/// line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    /// The dashboard
    App,
    /// The login service
    Login,
    /// The job worker (no listener)
    Worker,
}

async fn bind(addr: SocketAddr, var: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            anyhow!("{addr} is already in use; stop the other process or set {var}")
        }
        _ => anyhow!("cannot listen on {addr} ({var}): {e}"),
    })
}

/// `metiva serve`: binds the listeners first (so a busy port fails fast,
/// before the database starts), opens the database, serves until a signal,
/// drains, then stops the embedded database.
pub async fn serve(config: Config, only: Option<Service>) -> anyhow::Result<()> {
    let want = |s| only.is_none_or(|o| o == s);
    let app_listener = match want(Service::App) {
        true => Some(bind(config.app_addr, "METIVA_APP_ADDR").await?),
        false => None,
    };
    let login_listener = match want(Service::Login) {
        true => Some(bind(config.login_addr, "METIVA_LOGIN_ADDR").await?),
        false => None,
    };
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(bind(addr, "METIVA_METRICS_ADDR").await?),
        None => None,
    };
    if metrics_listener.is_some() {
        // Before any router is built, so every request is counted.
        crate::metrics::install()?;
    }
    tracing::info!(mode = ?config.mode, "starting");
    let shutdown = Shutdown::install()?;
    let keys = crate::keys::Keys::load(&config)?;
    if want(Service::App) || want(Service::Worker) {
        // Production refuses a local file store unless allowed: at start.
        crate::file_store::file_store(&config)?;
        tracing::info!(files = %config.object_store.describe(&config), "object store");
    }
    let open = database::open(&config, want(Service::Login)).await?;
    // The security page's catalog and posture facts, computed at startup
    // (then at most 60 s apart); a failure here only delays them.
    if let Err(e) = open.db.refresh_isolation_facts().await {
        tracing::warn!(error = %e, "computing the isolation facts at startup");
    }
    // A migration applied by another process drops them here (NOTIFY).
    open.db.follow_fact_changes();

    let mut tasks = tokio::task::JoinSet::new();
    if let Some(listener) = app_listener {
        let router = dashboard_router(&config, open.db.clone(), &keys);
        listening(&config, "metiva dashboard:     ", config.app_addr);
        tasks.spawn(run(listener, router, shutdown.clone()));
    }
    if let Some(listener) = login_listener {
        let login_db = open
            .login
            .clone()
            .ok_or_else(|| anyhow!("the login service has no database handle"))?;
        let service = LoginService::new(&config, login_db, &keys).await?;
        let router = login_router(service, &config, open.db.clone());
        listening(&config, "metiva login service: ", config.login_addr);
        tasks.spawn(run(listener, router, shutdown.clone()));
    }
    if let Some(listener) = metrics_listener {
        let mut pools = vec![("app", open.db.clone())];
        if let Some(login) = &open.login {
            pools.push(("login", login.database().clone()));
        }
        let stop = shutdown.clone().requested();
        listening(&config, "metiva metrics:       ", listener.local_addr()?);
        tasks.spawn(crate::metrics::serve(
            listener,
            crate::metrics::Pools(pools),
            stop,
        ));
    }
    if want(Service::Worker) {
        // The job worker (crate::worker): claims jobs, runs the cron, and
        // drains within its grace period at shutdown.
        let (db, stop) = (open.db.clone(), shutdown.clone().requested());
        let mut registry = crate::worker::registry(&db, &keys.field_keys);
        let files = crate::file_store::file_store(&config)?;
        // The workspace export (issue 16) spools under the data directory
        // and seals the finished ZIP into the object store ...
        let exports = metiva_db::exports::ExportStore::new(config.data_dir.clone(), files.clone());
        registry.register(
            metiva_db::exports::WORKSPACE_EXPORT,
            metiva_db::exports::workspace::WorkspaceExportJob::new(
                db.clone(),
                exports.clone(),
                keys.field_keys.clone(),
            ),
        );
        // ... and its files go once their download window has passed.
        registry.register(
            metiva_db::exports::cleanup::EXPORT_CLEANUP,
            metiva_db::exports::cleanup::ExportCleanupJob::new(exports),
        );
        // Objects a rolled-back transaction left behind (issue 17).
        registry.register(
            metiva_db::files_sweep::ORPHAN_SWEEP,
            metiva_db::files_sweep::OrphanSweepJob::new(files.clone()),
        );
        // Issue 16: values sealed under the master key move to the data
        // keys on the runner, a batch per job.
        registry.register(
            metiva_db::data_keys::MIGRATE_VALUES,
            metiva_db::data_keys::MigrateValuesJob::new(db.clone(), keys.field_keys.clone()),
        );
        // Billing (issue 17): the daily retainer run and Stripe issuing
        // (METIVA_STRIPE_API_BASE, default Stripe itself).
        registry.register(
            metiva_db::billing::jobs::RETAINER_RUN,
            metiva_db::billing::jobs::RetainerRun,
        );
        // Invoice PDFs, rendered and stored (sealed) in the object store.
        registry.register(
            metiva_db::billing::jobs::INVOICE_PDF,
            metiva_db::billing::jobs::InvoicePdf::new(db.clone(), keys.field_keys.clone(), files),
        );
        let stripe = metiva_db::billing::stripe_client::StripeClient::from_env()
            .map_err(|e| anyhow!("the Stripe client: {e}"))?;
        registry.register(
            metiva_db::billing::jobs::ISSUE_INVOICE,
            metiva_db::billing::jobs::IssueInvoice::new(
                db.clone(),
                keys.field_keys.clone(),
                stripe,
            ),
        );
        // SLA breach alerts (issue 18): SMS through Twilio via the adapter
        // framework (METIVA_TWILIO_API_BASE), status callbacks on
        // METIVA_APP_URL.
        let sms_adapters = metiva_db::adapters::Adapters::new(
            db.clone(),
            metiva_db::adapters::ProviderBases::from_env(),
        )
        .map_err(|e| anyhow!("the adapter client: {e}"))?;
        registry.register(
            metiva_db::alerts::sms::NOTIFY_SMS,
            metiva_db::alerts::sms::SendSms::new(
                db.clone(),
                keys.field_keys.clone(),
                sms_adapters,
                config.app_url.clone(),
            ),
        );
        // Conversion uploads and lead forwards (issue 18, C): Google Ads,
        // Meta and the workspace's webhook through the adapter framework
        // (METIVA_GOOGLE_ADS_API_BASE, METIVA_META_API_BASE), consent
        // re-checked at send.
        let ads_adapters = metiva_db::adapters::Adapters::new(
            db.clone(),
            metiva_db::adapters::ProviderBases::from_env(),
        )
        .map_err(|e| anyhow!("the adapter client: {e}"))?;
        registry.register(
            metiva_db::conversions::UPLOAD,
            metiva_db::conversions::UploadConversion::new(
                keys.field_keys.clone(),
                ads_adapters.clone(),
            ),
        );
        registry.register(
            metiva_db::conversions::forwards::SEND,
            metiva_db::conversions::forwards::SendForward::new(
                keys.field_keys.clone(),
                ads_adapters,
            ),
        );
        // Issue 19: the scheduled signing-key rotation, where this process
        // holds the login role's pool (see crate::key_rotation).
        match (crate::key_rotation::max_age_from_env()?, &open.login) {
            (Some(max_age), Some(login)) => {
                registry.register(
                    crate::key_rotation::KIND,
                    crate::key_rotation::RotateSigningKey::new(
                        login.database().clone(),
                        keys.field_keys.clone(),
                        max_age,
                    ),
                );
            }
            (None, _) => tracing::info!("scheduled signing-key rotation is off"),
            (Some(_), None) => tracing::info!(
                "scheduled signing-key rotation runs where the login service runs, not here"
            ),
        }
        let registry = std::sync::Arc::new(registry);
        let cfg = crate::worker::WorkerConfig::from_env();
        // Production logs are JSON lines only (issue 19): the worker's
        // start is an event like the listeners'; development prints it.
        if config.mode == crate::config::Mode::Production {
            tracing::info!(worker = %cfg.id, "metiva job worker started");
        } else {
            println!("metiva job worker:     {}", cfg.id);
        }
        tasks.spawn(async move {
            crate::worker::run(db, registry, cfg, stop).await;
            Ok(())
        });
    }
    let mut outcome = Ok(());
    while let Some(res) = tasks.join_next().await {
        let res = res
            .map_err(|e| anyhow!("listener task failed: {e}"))
            .and_then(|r| r);
        if let Err(e) = res {
            outcome = Err(e);
        }
    }
    open.close().await;
    tracing::info!("stopped");
    outcome
}

/// Where a listener serves: a line on stdout in development, a log event
/// in production (where every line of output is JSON).
fn listening(config: &Config, what: &str, addr: SocketAddr) {
    if config.mode == crate::config::Mode::Production {
        tracing::info!(%addr, "{} listening", what.trim().trim_end_matches(':'));
    } else {
        println!("{what} http://{addr}");
    }
}

async fn run(listener: TcpListener, router: Router, shutdown: Shutdown) -> anyhow::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.requested())
    .await
    .context("serving HTTP")
}
