//! Two instances as one (issue 19): two real `metiva serve` processes on
//! one database. A revocation through A is refused by B within 1 s; a
//! site disabled through A stops ingest on B within 1 s (B's caches would
//! otherwise keep both far longer: 30 s and a minute); jobs enqueued with
//! both workers polling each run exactly once; and a SIGKILL of one
//! instance mid-ingest loses no acknowledged event.
//!
//! Propagation is measured from A's answer (its transaction committed)
//! to the sending of the first request B refuses, polling B as fast as it
//! answers; any request sent a second or more after the change must be
//! refused. The measured times are printed for the closing note.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use metiva_db::CompanyId;
use metiva_db::jobs::{self, Enqueued, NewJob};
use server::worker::test_support::SLEEP;

use crate::process::{exit_within, free_port, http, signal, wait_ready};
use crate::world::{APP_URL, DE_VRIES, ENC, LOGIN_URL, SEED, World};

/// The bound every propagation must meet.
const BOUND: Duration = Duration::from_secs(1);

/// One `metiva serve` (dashboard, login service and worker) on the
/// World's database, as production runs it behind a load balancer: the
/// same keys and public URLs, its own caches and listeners. Killed when
/// dropped, so a failing test leaves no process behind.
struct Instance {
    name: &'static str,
    child: Child,
    app: u16,
    dir: PathBuf,
    log: PathBuf,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Kept when the test failed: its log says why.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Instance {
    fn start(w: &World, name: &'static str) -> Self {
        let dir = metiva_testkit::scratch_dir(&format!("two-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("stderr.log");
        let b64 = |k: [u8; 32]| base64::engine::general_purpose::STANDARD.encode(k);
        let (app, login) = (free_port(), free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_metiva"))
            .arg("serve")
            .env("DATABASE_URL", w.tdb.app_url())
            // LISTEN goes straight to the server, never through a
            // transaction-mode pooler (`METIVA_TEST_PG_MODE=pgbouncer`).
            .env("DATABASE_LISTEN_URL", w.tdb.listen_url())
            .env("METIVA_LOGIN_DATABASE_URL", w.tdb.login_url())
            .env("METIVA_DB_STATEMENT_CACHE", crate::process::statement_cache())
            .env("METIVA_DATA_DIR", &dir)
            // No ASN dataset (an empty directory): a cheap start.
            .env("METIVA_ASN_DIR", &dir)
            .env("METIVA_APP_ADDR", format!("127.0.0.1:{app}"))
            .env("METIVA_LOGIN_ADDR", format!("127.0.0.1:{login}"))
            .env("METIVA_APP_URL", APP_URL)
            .env("METIVA_LOGIN_URL", LOGIN_URL)
            .env("METIVA_ENCRYPTION_KEY", b64(ENC))
            .env("METIVA_TOKEN_SIGNING_KEY", b64(SEED))
            .env_remove("METIVA_METRICS_ADDR")
            .env_remove("METIVA_ENV")
            // One client address sends everything here.
            .env("METIVA_LIMIT_INGEST_PER_IP", "off")
            .env("METIVA_LIMIT_INGEST_PER_SITE", "off")
            .env("METIVA_JOBS_TEST_SLEEP_MS", "10")
            .env("METIVA_JOBS_POLL_MS", "20")
            // The listeners say when they are up; `test.sleep` names
            // each job it runs.
            .env(
                "RUST_LOG",
                "warn,server::worker=info,metiva_tenancy::notify=debug,metiva_tenancy::access=debug",
            )
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn metiva: {e}"));
        Self {
            name,
            child,
            app,
            dir,
            log,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Ready, and both listeners (membership and cache bus) connected
    /// and proven: before that an instance bypasses or short-lives its
    /// caches, and the propagation claims would be trivially true.
    fn wait_ready(&mut self) -> Duration {
        let t = Instant::now();
        wait_ready(
            &mut self.child,
            self.app,
            Duration::from_secs(60),
            Some(&self.log),
        );
        loop {
            let log = self.log_text();
            if log.contains("access listener connected") && log.contains("cache listener connected")
            {
                return t.elapsed();
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "{}: listeners not connected: {log}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `POST /api/session` with a token cookie: the status.
    fn session(&self, token: &str) -> u16 {
        let cookie = format!("metiva_session={token}");
        http(self.app, "POST", "/api/session", &json_form(&cookie), "").0
    }

    /// A dashboard action posted as a form with a token cookie.
    fn post(&self, token: &str, path: &str, body: &str) -> (u16, String) {
        let cookie = format!("metiva_session={token}");
        let (st, head, resp) = http(self.app, "POST", path, &json_form(&cookie), body);
        (st, format!("{head}\n{resp}"))
    }

    /// One page view on `path`: the status (0: no answer at all).
    fn collect(&self, path: &str) -> u16 {
        collect_on(self.app, path)
    }
}

/// One page view on `path` to the instance on `app`: the status (0: no
/// answer at all).
fn collect_on(app: u16, path: &str) -> u16 {
    let body = serde_json::json!({
        "type": "pageview", "site": metiva_db::seed::DEMO_SITE_KEY,
        "path": path, "referrer": null, "visitor": null,
    })
    .to_string();
    let headers = [
        ("Origin", "http://127.0.0.1:5173"),
        ("Content-Type", "text/plain;charset=UTF-8"),
    ];
    http(app, "POST", "/collect", &headers, &body).0
}

fn json_form(cookie: &str) -> [(&str, &str); 3] {
    [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept", "application/json"),
        ("Cookie", cookie),
    ]
}

/// A and B, both ready with their listeners up.
fn pair(w: &World) -> (Instance, Instance) {
    let mut a = Instance::start(w, "a");
    let mut b = Instance::start(w, "b");
    let (ta, tb) = (a.wait_ready(), b.wait_ready());
    eprintln!(
        "two instances ready: A {} ms, B {} ms",
        ta.as_millis(),
        tb.as_millis()
    );
    (a, b)
}

/// Polls `refused` as fast as it answers until it says yes: when the
/// refused request was sent, counted from the change. Fails if B accepts
/// a request sent `BOUND` or more after the change (the claim under
/// test). A request's own latency is not counted against B (on a loaded
/// machine one ingest answer can take hundreds of milliseconds, and a
/// request already in flight at the change may be accepted).
fn until_refused(what: &str, mut refused: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    let mut tries = 0;
    loop {
        tries += 1;
        let sent = t.elapsed();
        if refused() {
            eprintln!(
                "{what}: B follows from the request sent {sent:?} after the change (answered at {:?}, {tries} requests)",
                t.elapsed()
            );
            return sent;
        }
        assert!(
            sent < BOUND,
            "{what}: B still answered as before to a request sent {sent:?} after the change ({tries} requests)"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Warms B: the same request accepted a few times, so B's cache holds it
/// (and a refusal later is B's cache being dropped, not a first lookup).
fn warm(what: &str, mut accepted: impl FnMut() -> bool) {
    for _ in 0..5 {
        assert!(accepted(), "{what}: not accepted before the change");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `sql` as the superuser (RLS does not apply; reads only): the
/// rows' first column as text.
async fn read(w: &World, sql: &str) -> Vec<String> {
    let (client, conn) = tokio_postgres::connect(&w.tdb.superuser_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .query(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_a_is_refused_on_b_within_a_second() {
    let w = World::new().await;
    let (a, b) = pair(&w);
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let sales = w.user_id("sales@devries.example").await;
    let member = w.sign_in("sales@devries.example", DE_VRIES).await;
    let mut times = Vec::new();

    // The member is suspended through A.
    warm("member", || b.session(&member) == 200);
    let (st, body) = a.post(&owner, &format!("/api/members/{sales}/suspend"), "role=");
    assert_eq!(st, 200, "{body}");
    times.push(until_refused("member suspended on A", || {
        b.session(&member) == 403
    }));
    let (st, body) = a.post(&owner, &format!("/api/members/{sales}/reactivate"), "role=");
    assert_eq!(st, 200, "{body}");

    // The member's sessions are revoked through A (signed out everywhere).
    let member = w.sign_in("sales@devries.example", DE_VRIES).await;
    warm("session", || b.session(&member) == 200);
    let (st, body) = a.post(
        &owner,
        &format!("/api/members/{sales}/sign-out-everywhere"),
        "role=",
    );
    assert_eq!(st, 200, "{body}");
    times.push(until_refused("sessions revoked on A", || {
        b.session(&member) == 403
    }));
    // A refuses too, and the owner was never affected.
    assert_eq!(a.session(&member), 403);
    assert_eq!(b.session(&owner), 200);
    assert!(times.iter().all(|t| *t < BOUND), "{times:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_disabled_on_a_stops_ingest_on_b_within_a_second() {
    let w = World::new().await;
    let (a, b) = pair(&w);
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let site = read(
        &w,
        &format!(
            "SELECT id::text FROM sites WHERE site_key = '{}'",
            metiva_db::seed::DEMO_SITE_KEY
        ),
    )
    .await
    .remove(0);
    // B knows the site (and would keep it for a minute on its own).
    warm("site", || b.collect("/warm") == 204);
    let (st, body) = a.post(&owner, &format!("/api/sites/{site}/disable"), "");
    assert!((200..400).contains(&st), "{st}: {body}");
    let took = until_refused("site disabled on A, /collect", || {
        b.collect("/after") == 404
    });
    assert!(took < BOUND);
    assert_eq!(a.collect("/after"), 404);
    // Enabled again through A: B accepts again within the bound too (its
    // memory of the key as unknown is dropped the same way).
    let (st, body) = a.post(&owner, &format!("/api/sites/{site}/enable"), "");
    assert!((200..400).contains(&st), "{st}: {body}");
    let took = until_refused("site enabled on A (the inverse: accepted again)", || {
        b.collect("/again") == 204
    });
    assert!(took < BOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_exactly_once_with_two_workers_polling() {
    const N: usize = 120;
    let w = World::new().await;
    let (mut a, mut b) = pair(&w);
    // Enqueued once both workers poll (every 20 ms, 4 at a time).
    let db = w.tdb.database();
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let mut ids = Vec::new();
    for i in 0..N {
        let key = format!("two:{i}");
        let e = db
            .tenant(&company, async |tc| {
                jobs::enqueue(
                    tc,
                    &NewJob {
                        kind: &SLEEP,
                        payload: "{}",
                        key: Some(&key),
                        run_at: None,
                    },
                )
                .await
            })
            .await
            .unwrap();
        let Enqueued::New(id) = e else {
            panic!("{key}: {e:?}")
        };
        ids.push(id.to_string());
    }
    let t = Instant::now();
    let states = loop {
        let states = read(
            &w,
            "SELECT state || ':' || attempts FROM jobs WHERE kind = 'test.sleep'",
        )
        .await;
        if states.iter().all(|s| s.starts_with("done:")) && states.len() == N {
            break states;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "{states:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!("{N} jobs done by two workers in {:?}", t.elapsed());
    // Claimed once each in the database...
    assert!(states.iter().all(|s| s == "done:1"), "{states:?}");
    // ...and run once each: every run is a log line naming the job, in
    // whichever process ran it.
    for i in [&mut a, &mut b] {
        signal(&i.child, "-TERM");
        let status = exit_within(&mut i.child, Duration::from_secs(30)).await;
        assert!(status.success(), "{}: {status}", i.name);
    }
    let mut runs: HashMap<&str, Vec<&str>> = HashMap::new();
    let logs = [(a.name, a.log_text()), (b.name, b.log_text())];
    for (name, log) in &logs {
        for line in log.lines().filter(|l| l.contains("test.sleep started")) {
            let id = ids
                .iter()
                .find(|id| line.contains(id.as_str()))
                .unwrap_or_else(|| panic!("a run of an unknown job: {line}"));
            runs.entry(id.as_str()).or_default().push(name);
        }
    }
    let twice: Vec<_> = runs.iter().filter(|(_, by)| by.len() != 1).collect();
    assert!(twice.is_empty(), "run more than once: {twice:?}");
    assert_eq!(runs.len(), N, "every job ran");
    let by_a = runs.values().filter(|by| by[0] == "a").count();
    eprintln!("jobs run: A {by_a}, B {}, none twice", N - by_a);
    // Both workers took part: the race was real.
    assert!(by_a > 0 && by_a < N, "A ran {by_a} of {N}");
}

/// Sends page views to `instance` from `threads` clients until `stop`,
/// recording each acknowledged (204) path and every status seen.
fn senders(
    instance: &Instance,
    threads: usize,
    stop: &Arc<AtomicBool>,
    acked: &Arc<Mutex<Vec<String>>>,
    statuses: &Arc<Mutex<BTreeMap<(&'static str, u16), usize>>>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..threads)
        .map(|t| {
            let (name, app) = (instance.name, instance.app);
            let (stop, acked, statuses) = (stop.clone(), acked.clone(), statuses.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let path = format!("/k/{name}/{t}/{n}");
                    n += 1;
                    let probe = collect_on(app, &path);
                    *statuses.lock().unwrap().entry((name, probe)).or_default() += 1;
                    if probe == 204 {
                        acked.lock().unwrap().push(path);
                    } else if probe == 0 {
                        // Nobody answers (killed): back off a little.
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_ingest_loses_no_acknowledged_event() {
    let w = World::new().await;
    let (mut a, b) = pair(&w);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let statuses = Arc::new(Mutex::new(BTreeMap::new()));
    let mut threads = senders(&a, 4, &stop, &acked, &statuses);
    threads.extend(senders(&b, 2, &stop, &acked, &statuses));
    let count = |prefix: &str| {
        acked
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.starts_with(prefix))
            .count()
    };
    // Mid-ingest: A has acknowledged a good number, with four requests
    // in flight, when it is killed without warning.
    let t = Instant::now();
    while count("/k/a/") < 150 || count("/k/b/") < 50 {
        assert!(t.elapsed() < Duration::from_secs(60), "{statuses:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.child.kill().unwrap();
    let killed = exit_within(&mut a.child, Duration::from_secs(10)).await;
    let a_acked = count("/k/a/");
    // B keeps acknowledging.
    let b_before = count("/k/b/");
    let t = Instant::now();
    while count("/k/b/") < b_before + 100 {
        assert!(t.elapsed() < Duration::from_secs(60), "{statuses:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let stored: HashSet<String> = read(&w, "SELECT path FROM page_views WHERE path LIKE '/k/%'")
        .await
        .into_iter()
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|p| !stored.contains(*p)).collect();
    let statuses = statuses.lock().unwrap().clone();
    eprintln!(
        "SIGKILL ({killed}) mid-ingest: {} acknowledged ({a_acked} by A, the rest by B), {} stored, {} lost; statuses {statuses:?}",
        acked.len(),
        stored.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    // Only 204s, and after the kill no answer or a refusal from A: never
    // a 4xx/5xx while both ran.
    for ((name, status), n) in &statuses {
        assert!(
            *status == 204 || (*name == "a" && *status == 0),
            "{name}: {n} × {status}"
        );
    }
    drop(b);
}
