//! A retention sweep killed outright (issue 16, "Crashes"): the real
//! binary as a worker (`metiva serve --only worker`) runs the hourly
//! `retention.sweep` job for a workspace with 150,000 page views, 4,000
//! anonymous visitors and 6,000 contacts past their periods, and is sent
//! SIGKILL once some batches have committed.
//!
//! What a kill leaves, read in one snapshot: every batch committed or
//! not at all; the open claim's counts are exactly what is gone; every
//! contact whole or erased whole (person, visitor and a tombstoned
//! ledger); no visitor gone while a page view or decision still links
//! it; the daily rollups agree with a recount; nothing within its
//! period touched.
//!
//! The restart: the killed job is claimed again after its lease, and
//! its attempt resumes the sweep's claim (claimed under the job's id, so
//! it knows the claim for its own) and finishes it. Before, the claim
//! looked fresh to it, so it answered `Busy` and the company went
//! unswept until a later hourly slot found the claim stale (15 minutes)
//! and started over. One record is left: every row past retention
//! counted exactly once over both attempts.
//!
//! No timing is asserted; polls have generous limits.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Timestamptz};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use metiva_db::jobs::{self, Enqueued, JobRow, NewJob};
use metiva_db::{CompanyId, Database};

use crate::process::{exit_within, signal};
use crate::world::{DE_VRIES, ENC, SEED, World};

/// The sweep's own site, so its rows are told apart from the demo's.
const SITE: &str = "00000000-0000-4000-8000-00000000c0de";
const OLD_VIEWS: i64 = 150_000;
const NEW_VIEWS: i64 = 5_000;
/// Anonymous visitors last seen 14 months ago (two decisions each; the
/// first 20,000 old page views link to them) and 1,000 recent ones.
const OLD_VISITORS: i64 = 4_000;
const NEW_VISITORS: i64 = 1_000;
/// Contacts untouched for 25 months, each with one visitor and one
/// decision, and 500 recent ones.
const OLD_CONTACTS: i64 = 6_000;
const NEW_CONTACTS: i64 = 500;

fn worker(w: &World, dir: &Path, log: &str) -> Child {
    let log = std::fs::File::create(dir.join(log)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_metiva"))
        .args(["serve", "--only", "worker"])
        .env("DATABASE_URL", w.tdb.app_url())
        .env(
            "METIVA_DB_STATEMENT_CACHE",
            crate::process::statement_cache(),
        )
        .env("METIVA_DATA_DIR", dir)
        .env("METIVA_APP_ADDR", "127.0.0.1:0")
        .env("METIVA_LOGIN_ADDR", "127.0.0.1:0")
        .env_remove("METIVA_METRICS_ADDR")
        // The suite's keys: the audit class loads the workspace's data key.
        .env("METIVA_ENCRYPTION_KEY", B64.encode(ENC))
        .env("METIVA_TOKEN_SIGNING_KEY", B64.encode(SEED))
        .env("METIVA_JOBS_LOCK_TIMEOUT_SECS", "3")
        .env("METIVA_JOBS_GRACE_SECS", "5")
        .env("METIVA_JOBS_POLL_MS", "50")
        // The cron stays quiet: the test enqueues the sweep's slots.
        .env("METIVA_JOBS_CRON_FIRST_SECS", "3600")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn metiva: {e}"))
}

fn said(dir: &Path, log: &str) -> String {
    std::fs::read_to_string(dir.join(log)).unwrap_or_default()
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(su: &mut diesel_async::AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<N>(su)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// One `retention_sweeps` row.
#[derive(QueryableByName, Debug, Clone, Copy, PartialEq, Eq)]
struct Claim {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = Bool)]
    abandoned: bool,
    #[diesel(sql_type = Integer)]
    batches: i32,
    #[diesel(sql_type = BigInt)]
    page_views: i64,
    #[diesel(sql_type = BigInt)]
    visitors: i64,
    #[diesel(sql_type = BigInt)]
    consent_decisions: i64,
    #[diesel(sql_type = BigInt)]
    contacts: i64,
}

async fn claims(su: &mut diesel_async::AsyncPgConnection) -> Vec<Claim> {
    diesel::sql_query(
        "SELECT id, finished_at, abandoned, batches, page_views, visitors, consent_decisions, contacts
         FROM retention_sweeps WHERE company_id = 'cmp_8fa2c1' ORDER BY started_at",
    )
    .load(su)
    .await
    .unwrap()
}

/// The workspace's rows per swept table (company-wide, the demo's too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Totals {
    page_views: i64,
    visitors: i64,
    consent_decisions: i64,
    persons: i64,
}

async fn totals(su: &mut diesel_async::AsyncPgConnection) -> Totals {
    let n = async |su: &mut diesel_async::AsyncPgConnection, t: &str| {
        count(
            su,
            &format!("SELECT count(*) AS n FROM {t} WHERE company_id = 'cmp_8fa2c1'"),
        )
        .await
    };
    Totals {
        page_views: n(su, "page_views").await,
        visitors: n(su, "visitors").await,
        consent_decisions: n(su, "consent_decisions").await,
        persons: n(su, "persons").await,
    }
}

/// The seed: see the module docs. Ids are readable: `a…` anonymous
/// visitors, `b…` persons, `c…` the persons' visitors.
fn seed_sql() -> String {
    let old_views = "now() - interval '14 months' - ((g % 30) || ' days')::interval - ((g % 3600) || ' seconds')::interval";
    let ip = "'k1', '\\x000000000000000000000000', '\\x0000000000000000000000000000000000000000'";
    let id = |prefix: &str, g: &str| {
        format!("('00000000-0000-4000-{prefix}-' || lpad(({g})::text, 12, '0'))::uuid")
    };
    let hash = "0".repeat(64);
    format!(
        "BEGIN;
         SELECT set_config('app.company_id', 'cmp_8fa2c1', true);
         INSERT INTO sites (company_id, id, domain, site_key)
             VALUES ('cmp_8fa2c1', '{SITE}', 'sweep.example.nl', 'pk_cmp_8fa2c1_sweep');
         INSERT INTO visitors (company_id, id, site_id, visitor_key, analytics, marketing, first_seen, last_seen)
         SELECT 'cmp_8fa2c1', {a}, '{SITE}', gen_random_uuid(), true, false,
                CASE WHEN g <= {OLD_VISITORS} THEN now() - interval '15 months' ELSE now() - interval '2 days' END,
                CASE WHEN g <= {OLD_VISITORS} THEN now() - interval '14 months' ELSE now() - interval '1 day' END
         FROM generate_series(1, {OLD_VISITORS} + {NEW_VISITORS}) g;
         INSERT INTO consent_decisions (company_id, site_id, visitor_id, analytics, identification, marketing, withdrawal, banner_version, lang, text_hash)
         SELECT 'cmp_8fa2c1', '{SITE}', v.id, true, false, false, false, '2026-11.1', 'nl', '{hash}'
         FROM visitors v, generate_series(1, 2)
         WHERE v.company_id = 'cmp_8fa2c1' AND v.site_id = '{SITE}';
         INSERT INTO page_views (company_id, id, site_id, visitor_id, at, path, ip_key_id, ip_nonce, ip_ciphertext)
         SELECT 'cmp_8fa2c1', gen_random_uuid(), '{SITE}',
                CASE WHEN g <= 20000 THEN {a_mod} END,
                {old_views}, '/oud/' || (g % 50), {ip}
         FROM generate_series(1, {OLD_VIEWS}) g;
         INSERT INTO page_views (company_id, id, site_id, visitor_id, at, path, ip_key_id, ip_nonce, ip_ciphertext)
         SELECT 'cmp_8fa2c1', gen_random_uuid(), '{SITE}', {a_new},
                now() - ((g % 20) || ' days')::interval - ((g % 3600) || ' seconds')::interval,
                '/nieuw/' || (g % 50), {ip}
         FROM generate_series(1, {NEW_VIEWS}) g;
         INSERT INTO persons (company_id, id, name, created_at, updated_at)
         SELECT 'cmp_8fa2c1', {b}, CASE WHEN g <= {OLD_CONTACTS} THEN 'Oud contact ' ELSE 'Nieuw contact ' END || g,
                CASE WHEN g <= {OLD_CONTACTS} THEN now() - interval '25 months' ELSE now() END,
                CASE WHEN g <= {OLD_CONTACTS} THEN now() - interval '25 months' ELSE now() END
         FROM generate_series(1, {OLD_CONTACTS} + {NEW_CONTACTS}) g;
         INSERT INTO visitors (company_id, id, site_id, visitor_key, person_id, analytics, identification, marketing, first_seen, last_seen)
         SELECT 'cmp_8fa2c1', {c}, '{SITE}', gen_random_uuid(), {b}, true, true, false,
                CASE WHEN g <= {OLD_CONTACTS} THEN now() - interval '25 months' ELSE now() END,
                CASE WHEN g <= {OLD_CONTACTS} THEN now() - interval '25 months' ELSE now() END
         FROM generate_series(1, {OLD_CONTACTS} + {NEW_CONTACTS}) g;
         INSERT INTO consent_decisions (company_id, site_id, visitor_id, analytics, identification, marketing, withdrawal, banner_version, lang, text_hash)
         SELECT 'cmp_8fa2c1', '{SITE}', {c}, true, true, false, false, '2026-11.1', 'nl', '{hash}'
         FROM generate_series(1, {OLD_CONTACTS} + {NEW_CONTACTS}) g;
         COMMIT;",
        a = id("a000", "g"),
        a_mod = id("a000", &format!("g % {OLD_VISITORS} + 1")),
        a_new = id("a000", &format!("{OLD_VISITORS} + g % {NEW_VISITORS} + 1")),
        b = id("b000", "g"),
        c = id("c000", "g"),
    )
}

/// Counts that must be 0 at any commit point of a sweep (each query
/// names what it finds).
const BROKEN: &[&str] = &[
    // The rollups disagree with a recount of what remains.
    "SELECT count(*) AS n FROM (
       (SELECT day, organisation, org_source, path, views, first_at, last_at
          FROM page_view_daily WHERE company_id = 'cmp_8fa2c1'
        EXCEPT
        SELECT (at AT TIME ZONE 'UTC')::date, organisation, org_source, path, count(*), min(at), max(at)
          FROM page_views WHERE company_id = 'cmp_8fa2c1' GROUP BY 1, 2, 3, 4)
       UNION ALL
       (SELECT (at AT TIME ZONE 'UTC')::date, organisation, org_source, path, count(*), min(at), max(at)
          FROM page_views WHERE company_id = 'cmp_8fa2c1' GROUP BY 1, 2, 3, 4
        EXCEPT
        SELECT day, organisation, org_source, path, views, first_at, last_at
          FROM page_view_daily WHERE company_id = 'cmp_8fa2c1')) x",
    // A page view links a visitor that is gone.
    "SELECT count(*) AS n FROM page_views p WHERE p.company_id = 'cmp_8fa2c1' AND p.visitor_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM visitors v WHERE v.company_id = p.company_id AND v.id = p.visitor_id)",
    // A decision links a visitor that is gone.
    "SELECT count(*) AS n FROM consent_decisions d WHERE d.company_id = 'cmp_8fa2c1' AND d.visitor_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM visitors v WHERE v.company_id = d.company_id AND v.id = d.visitor_id)",
    // A contact half erased: the person without its visitor, or its
    // visitor without the person.
    "SELECT count(*) AS n FROM generate_series(1, 6500) g
       WHERE EXISTS (SELECT 1 FROM persons WHERE company_id = 'cmp_8fa2c1'
                       AND id = ('00000000-0000-4000-b000-' || lpad(g::text, 12, '0'))::uuid)
          <> EXISTS (SELECT 1 FROM visitors WHERE company_id = 'cmp_8fa2c1'
                       AND id = ('00000000-0000-4000-c000-' || lpad(g::text, 12, '0'))::uuid)",
    // A contact's decision lost: each of them is either still linked or
    // kept as proof under a tombstone.
    "SELECT 6500 - count(*) AS n FROM consent_decisions d
       WHERE d.company_id = 'cmp_8fa2c1' AND d.site_id = '00000000-0000-4000-8000-00000000c0de'
         AND d.identification
         AND ((d.visitor_id IS NOT NULL AND d.erased_subject IS NULL)
           OR (d.visitor_id IS NULL AND d.erased_subject IS NOT NULL))",
    // Anything within its period touched.
    "SELECT 5000 - count(*) AS n FROM page_views WHERE company_id = 'cmp_8fa2c1' AND path LIKE '/nieuw/%'",
    "SELECT 1000 - count(*) AS n FROM visitors WHERE company_id = 'cmp_8fa2c1'
       AND id::text LIKE '00000000-0000-4000-a000-%' AND last_seen > now() - interval '1 month'",
    "SELECT 2000 - count(*) AS n FROM consent_decisions d JOIN visitors v
       ON v.company_id = d.company_id AND v.id = d.visitor_id
       WHERE d.company_id = 'cmp_8fa2c1' AND v.last_seen > now() - interval '1 month' AND v.person_id IS NULL
         AND v.site_id = '00000000-0000-4000-8000-00000000c0de'",
    "SELECT 500 - count(*) AS n FROM persons p JOIN visitors v ON v.company_id = p.company_id AND v.person_id = p.id
       JOIN consent_decisions d ON d.company_id = v.company_id AND d.visitor_id = v.id
       WHERE p.company_id = 'cmp_8fa2c1' AND p.name LIKE 'Nieuw contact %'",
];

async fn assert_consistent(su: &mut diesel_async::AsyncPgConnection, when: &str) {
    for sql in BROKEN {
        assert_eq!(count(su, sql).await, 0, "{when}: {sql}");
    }
}

async fn enqueue_sweep(db: &Database, key: &str, slot: chrono::DateTime<chrono::Utc>) {
    let payload = format!("{{\"slot\":\"{}\"}}", slot.to_rfc3339());
    let e = db
        .tenant(&CompanyId::parse(DE_VRIES).unwrap(), async |tc| {
            jobs::enqueue(
                tc,
                &NewJob {
                    kind: &server::retention_sweep::KIND,
                    payload: &payload,
                    key: Some(key),
                    run_at: None,
                },
            )
            .await
        })
        .await
        .unwrap();
    assert!(matches!(e, Enqueued::New(_)), "{key}");
}

async fn job(db: &Database, key: &str) -> JobRow {
    db.tenant(&CompanyId::parse(DE_VRIES).unwrap(), async |tc| {
        jobs::by_key(tc, key).await
    })
    .await
    .unwrap()
    .unwrap()
}

async fn wait_done(db: &Database, key: &str, w: &mut Child, dir: &Path, log: &str) -> JobRow {
    let t = Instant::now();
    loop {
        let j = job(db, key).await;
        if j.state == "done" {
            return j;
        }
        assert!(
            w.try_wait().unwrap().is_none(),
            "the worker exited: {}",
            said(dir, log)
        );
        assert!(
            t.elapsed() < Duration::from_secs(180),
            "{key}: {j:?}; the worker said: {}",
            said(dir, log)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_killed_retention_sweep_leaves_whole_batches_and_its_job_resumes_it() {
    let w = World::new().await;
    let db = w.tdb.database();
    let mut su = w.tdb.connect_as("postgres").await;
    su.batch_execute(&seed_sql()).await.unwrap();
    assert_consistent(&mut su, "seeded").await;
    let before = totals(&mut su).await;
    let past = "SELECT count(*) AS n FROM page_views
                WHERE company_id = 'cmp_8fa2c1' AND at < now() - interval '13 months'";
    assert_eq!(count(&mut su, past).await, OLD_VIEWS, "the demo has none");

    let dir = metiva_testkit::scratch_dir("sweep-crash");
    std::fs::create_dir_all(&dir).unwrap();
    // This hour's slot, keyed as the cron keys it.
    let cron = metiva_db::jobs::SCHEDULES
        .iter()
        .find(|c| c.kind == server::retention_sweep::KIND.name)
        .unwrap();
    let slot = metiva_db::jobs::due_slot(&cron.at, chrono::Utc::now());
    let key = cron.key(slot);
    enqueue_sweep(&db, &key, slot).await;
    let mut first = worker(&w, &dir, "first.log");

    // Killed once a few batches have committed, well before the end.
    let t = Instant::now();
    loop {
        let c = claims(&mut su).await;
        if matches!(c.as_slice(), [claim, ..] if claim.batches >= 3) {
            break;
        }
        assert!(
            c.iter().all(|c| c.finished_at.is_none()),
            "finished before the kill: {c:?}"
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "the worker exited: {}",
            said(&dir, "first.log")
        );
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "no batch: {c:?}; the worker said: {}",
            said(&dir, "first.log")
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    signal(&first, "-KILL");
    exit_within(&mut first, Duration::from_secs(10)).await;

    // One snapshot for everything: the killed client's last COMMIT may
    // still land on the server after the kill, between two reads.
    su.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        .await
        .unwrap();
    let at_kill = totals(&mut su).await;
    let dead = claims(&mut su).await;
    assert_consistent(&mut su, "after the kill").await;
    su.batch_execute("COMMIT").await.unwrap();
    let [dead] = dead.as_slice() else {
        panic!("one claim: {dead:?}")
    };
    assert_eq!(dead.finished_at, None, "{dead:?}");
    assert!(
        at_kill.page_views > before.page_views - OLD_VIEWS,
        "killed before the end: {at_kill:?}"
    );
    // The claim counts exactly what is gone: each batch's count commits
    // with its deletes.
    assert_eq!(
        dead.page_views,
        before.page_views - at_kill.page_views,
        "{dead:?}"
    );
    assert_eq!(dead.contacts, before.persons - at_kill.persons, "{dead:?}");
    assert_eq!(
        dead.consent_decisions,
        before.consent_decisions - at_kill.consent_decisions,
        "{dead:?}"
    );

    // The restart: the killed job is claimed again after its lease; its
    // claim (the job's id) is its own, so it resumes rather than
    // answering Busy, and finishes the sweep.
    let mut second = worker(&w, &dir, "second.log");
    let done = wait_done(&db, &key, &mut second, &dir, "second.log").await;
    assert_eq!(done.attempts, 2, "{done:?}");
    signal(&second, "-TERM");
    assert!(
        exit_within(&mut second, Duration::from_secs(30))
            .await
            .success()
    );

    // Finished: nothing past retention left, nothing within touched.
    assert_consistent(&mut su, "after the restart").await;
    assert_eq!(count(&mut su, past).await, 0);
    let after = totals(&mut su).await;
    assert_eq!(
        after,
        Totals {
            page_views: before.page_views - OLD_VIEWS,
            // The anonymous ones and the contacts' own.
            visitors: before.visitors - OLD_VISITORS - OLD_CONTACTS,
            consent_decisions: before.consent_decisions - 2 * OLD_VISITORS,
            persons: before.persons - OLD_CONTACTS,
        }
    );
    assert_eq!(
        count(
            &mut su,
            "SELECT count(*) AS n FROM consent_decisions WHERE company_id = 'cmp_8fa2c1'
               AND visitor_id IS NULL AND erased_subject IS NOT NULL"
        )
        .await,
        OLD_CONTACTS,
        "the contacts' decisions kept as proof under tombstones"
    );
    // The record: one sweep, the killed claim resumed and closed, with
    // every row past retention counted exactly once over both attempts.
    let all = claims(&mut su).await;
    let [one] = all.as_slice() else {
        panic!("one record: {all:?}")
    };
    assert_eq!(one.id, dead.id);
    assert_eq!(one.id, done.id, "the claim is the job's");
    assert!(!one.abandoned && one.finished_at.is_some(), "{one:?}");
    assert_eq!(
        (
            one.page_views,
            one.visitors,
            one.consent_decisions,
            one.contacts
        ),
        (OLD_VIEWS, OLD_VISITORS, 2 * OLD_VISITORS, OLD_CONTACTS)
    );
    // 30 page-view batches, 2 of contacts, 2 of decisions, 1 of visitors.
    assert_eq!(one.batches, 35, "{one:?}");
    assert!(one.batches > dead.batches);
    let _ = std::fs::remove_dir_all(&dir);
}
