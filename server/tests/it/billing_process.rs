//! `metiva serve --only worker` (the real binary, as `metiva serve` builds
//! its worker) runs billing: an enqueued `billing.retainer_run` bills a
//! due retainer and enqueues its issuing; `billing.issue_invoice` issues
//! it at the Stripe that `METIVA_STRIPE_API_BASE` names (the fake here),
//! once; `billing.invoice_pdf` renders and stores each invoice's PDF.
//! Proves the billing kinds are registered where the worker is built.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Datelike;
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use metiva_db::billing::connection;
use metiva_db::billing::jobs::RETAINER_RUN;
use metiva_db::jobs::{self, NewJob};
use metiva_db::{CompanyId, Database};
use metiva_testkit::fake_stripe::FakeStripe;

use crate::world::{DE_VRIES, ENC, SEED, World};

const ORG: &str = "00000000-0000-4000-8000-0000000000e1";

#[derive(QueryableByName, Debug, PartialEq)]
struct Status {
    #[diesel(sql_type = Text)]
    status: String,
}

async fn statuses(db: &Database) -> Vec<String> {
    db.tenant(&CompanyId::parse(DE_VRIES).unwrap(), async |tc| {
        #[expect(
            clippy::disallowed_methods,
            reason = "a test reads rows under the tenant binding"
        )]
        let rows = diesel::sql_query("SELECT status FROM invoices ORDER BY seq")
            .load::<Status>(tc.conn())
            .await?;
        Ok(rows.into_iter().map(|s| s.status).collect())
    })
    .await
    .unwrap()
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn pdfs(db: &Database) -> usize {
    db.tenant(&CompanyId::parse(DE_VRIES).unwrap(), async |tc| {
        #[expect(
            clippy::disallowed_methods,
            reason = "a test reads rows under the tenant binding"
        )]
        let row = diesel::sql_query(
            "SELECT count(*) AS n FROM stored_files WHERE purpose = 'invoice_pdf'",
        )
        .get_result::<N>(tc.conn())
        .await?;
        Ok(row.n)
    })
    .await
    .unwrap() as usize
}

#[tokio::test]
async fn the_served_worker_runs_the_retainer_run_and_issues_through_stripe() {
    let w = World::new().await;
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let db = w.tdb.database();
    let stripe = FakeStripe::start().await;
    // Stripe connected with the same field keys the binary gets below.
    let keys = w.auth.field_keys.clone();
    connection::load_key(&db, &keys, &company).await.unwrap();
    let secrets = connection::ConnectForm {
        api_key: "rk_test_processtest01",
        webhook_secret: "whsec_processtest0001",
    }
    .validate()
    .unwrap();
    db.for_provisioning(&company, async |tc| {
        connection::store(tc, &keys, &secrets, None).await
    })
    .await
    .unwrap();
    // A retainer due this month (billing day 1).
    let first = chrono::Utc::now().date_naive().with_day(1).unwrap();
    w.owner_sql(&format!(
        "SELECT set_config('app.company_id', '{DE_VRIES}', true);
         INSERT INTO organisations (company_id, id, name) VALUES ('{DE_VRIES}', '{ORG}', 'Proces BV');
         INSERT INTO retainers (company_id, organisation_id, description, monthly_cents, vat_rate, starts_on, billing_day)
             VALUES ('{DE_VRIES}', '{ORG}', 'Proces retainer', 100000, 21, '{first}', 1)"
    ))
    .await;
    db.tenant(&company, async |tc| {
        jobs::enqueue(
            tc,
            &NewJob {
                kind: &RETAINER_RUN,
                payload: "{}",
                key: Some("test:retainer-run"),
                run_at: None,
            },
        )
        .await
    })
    .await
    .unwrap();

    let dir = metiva_testkit::scratch_dir("billing-worker");
    std::fs::create_dir_all(&dir).unwrap();
    let log = std::fs::File::create(dir.join("stderr.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_metiva"))
        .args(["serve", "--only", "worker"])
        .env("DATABASE_URL", w.tdb.app_url())
        // Through a transaction-mode pooler (METIVA_TEST_PG_MODE=pgbouncer)
        // named statements must be off, as the suite's own pools have them:
        // PgBouncer 1.18 hands a later transaction another server
        // connection, where "s10" does not exist.
        .env(
            "METIVA_DB_STATEMENT_CACHE",
            crate::process::statement_cache(),
        )
        .env("METIVA_DATA_DIR", &dir)
        .env("METIVA_APP_ADDR", "127.0.0.1:0")
        .env("METIVA_LOGIN_ADDR", "127.0.0.1:0")
        .env_remove("METIVA_METRICS_ADDR")
        .env("METIVA_ENCRYPTION_KEY", B64.encode(ENC))
        .env("METIVA_TOKEN_SIGNING_KEY", B64.encode(SEED))
        .env("METIVA_STRIPE_API_BASE", stripe.base_url())
        .env("METIVA_JOBS_POLL_MS", "50")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn metiva: {e}"));
    let t = Instant::now();
    let outcome = loop {
        let s = statuses(&db).await;
        let issued = !s.is_empty() && s.iter().all(|x| x == "open");
        let exited = child.try_wait().ok().flatten().is_some();
        if (issued && pdfs(&db).await == s.len()) || exited || t.elapsed() > Duration::from_secs(60)
        {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    // One invoice, or two when Amsterdam is already in the next month.
    assert!(
        !outcome.is_empty() && outcome.iter().all(|x| x == "open"),
        "billed and issued: {outcome:?}; the worker said: {}",
        std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
    );
    assert_eq!(stripe.created("invoice"), outcome.len(), "each issued once");
    assert_eq!(stripe.created("customer"), 1);
    // billing.invoice_pdf ran too: each invoice has its PDF, stored under
    // the worker's data directory.
    assert_eq!(pdfs(&db).await, outcome.len());
    assert!(dir.join("files").join(DE_VRIES).join("invoices").is_dir());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn production_refuses_local_files_without_the_opt_in() {
    let run = |allow: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_metiva"));
        c.arg("serve")
            .env_remove("RUST_LOG")
            .env("METIVA_ENV", "production")
            .env(
                "DATABASE_URL",
                "postgres://metiva_app:pw@db.invalid:5432/metiva?sslmode=verify-full&sslrootcert=system",
            )
            .env("METIVA_REGION", "eu-central-1")
            .env("METIVA_ENCRYPTION_KEY", B64.encode(ENC))
            .env("METIVA_TOKEN_SIGNING_KEY", B64.encode(SEED))
            .env("METIVA_APP_URL", "https://app.metiva.example")
            .env("METIVA_LOGIN_URL", "https://login.metiva.example")
            .env("METIVA_APP_ADDR", "127.0.0.1:0")
            .env("METIVA_LOGIN_ADDR", "127.0.0.1:0")
            .env("METIVA_METRICS_ADDR", "127.0.0.1:0")
            .env("METIVA_DATA_DIR", metiva_testkit::scratch_dir("files-prod"));
        match allow {
            Some(v) => c.env("METIVA_FILES_ALLOW_LOCAL", v),
            None => c.env_remove("METIVA_FILES_ALLOW_LOCAL"),
        };
        let out = c.output().unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = run(None);
    assert!(!ok && err.contains("METIVA_FILES_ALLOW_LOCAL=1"), "{err}");
    let (ok, err) = run(Some("yes"));
    assert!(!ok && err.contains("METIVA_FILES_ALLOW_LOCAL=1"), "{err}");
    // With the opt-in it gets past the file store (to the unreachable
    // database).
    let (ok, err) = run(Some("1"));
    assert!(!ok && !err.contains("METIVA_FILES_ALLOW_LOCAL"), "{err}");
}
