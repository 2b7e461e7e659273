//! Consent-checked conversion uploads and lead forwards (issue 18),
//! against the fake Google Ads, Meta and webhook receiver and a real
//! PostgreSQL: the hashed payloads (and no raw PII), consent re-read at
//! send (withdrawn before the win, withdrawn between enqueue and send),
//! a long provider outage with the breaker (simulated time) and exactly
//! once after recovery, the Standard Webhooks signature checked with an
//! independent HMAC, and isolation between workspaces.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use metiva_db::adapters::{
    Adapters, BreakerPolicy, Credentials, ManualClock, Provider, ProviderBases, RetryPolicy,
    integrations,
};
use metiva_db::conversions::{self, NO_MARKETING_CONSENT, UploadStatus, UploadsOf, forwards};
use metiva_db::crm::deals::DealFields;
use metiva_db::ingest::{CaptureForm, CaptureOutcome, Decision, Purposes};
use metiva_db::jobs::{self, Outcome, Registry};
use metiva_db::{CompanyId, TenantCtx};
use metiva_testkit::recording_fake::{Mode, RecordingFake};
use metiva_testkit::{fake_google_ads, fake_meta, fake_webhook};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::world::{BROUWER, DE_VRIES, World};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub(crate) fn cmp(c: &str) -> CompanyId {
    CompanyId::parse(c).unwrap()
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub(crate) struct Fakes {
    pub google: RecordingFake,
    pub meta: RecordingFake,
    pub webhook: RecordingFake,
}

pub(crate) async fn fakes() -> Fakes {
    Fakes {
        google: fake_google_ads::start().await,
        meta: fake_meta::start().await,
        webhook: fake_webhook::start().await,
    }
}

pub(crate) async fn connect(w: &World, company: &str, provider: Provider, fields: &[(&str, &str)]) {
    let db = w.tdb.database();
    let keys = w.auth.field_keys.clone();
    metiva_db::billing::connection::load_key(&db, &keys, &cmp(company))
        .await
        .unwrap();
    let creds = Credentials(
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    );
    db.tenant(&cmp(company), async |tc| {
        integrations::store(tc, &keys, provider, &creds, "test", None).await
    })
    .await
    .unwrap();
}

async fn connect_ads(w: &World, company: &str, f: &Fakes) {
    connect(
        w,
        company,
        Provider::GoogleAds,
        &[
            ("customer_id", "123-456-7890"),
            ("conversion_action", "987654"),
            ("developer_token", "dev-token"),
            ("access_token", "ya29.token"),
        ],
    )
    .await;
    connect(
        w,
        company,
        Provider::Meta,
        &[("pixel_id", "1122334455"), ("access_token", "EAAB")],
    )
    .await;
    let url = format!("{}/hooks/leads", f.webhook.base_url());
    connect(
        w,
        company,
        Provider::Webhook,
        &[("url", url.as_str()), ("secret", SECRET)],
    )
    .await;
}

pub(crate) fn adapters(
    w: &World,
    f: &Fakes,
    clock: Option<ManualClock>,
    threshold: u32,
) -> Adapters {
    let a = Adapters::new(
        w.tdb.database(),
        ProviderBases {
            google_ads: f.google.base_url(),
            meta: f.meta.base_url(),
            allow_private_webhooks: true,
            ..ProviderBases::default()
        },
    )
    .unwrap()
    .with_breaker(BreakerPolicy {
        failure_threshold: threshold,
        cool_down: Duration::from_secs(120),
        probe_lease: Duration::from_secs(30),
    })
    .with_retry(RetryPolicy {
        attempts: 1,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(10),
        max_inline_wait: Duration::from_millis(10),
    });
    match clock {
        Some(c) => a.with_clock(Arc::new(c)),
        None => a,
    }
}

/// Runs every due job once with the upload and forward handlers.
async fn run_jobs(w: &World, a: &Adapters) -> Vec<Outcome> {
    let db = w.tdb.database();
    let mut reg = Registry::default();
    let keys = w.auth.field_keys.clone();
    reg.register(
        conversions::UPLOAD,
        conversions::UploadConversion::new(keys.clone(), a.clone()),
    );
    reg.register(forwards::SEND, forwards::SendForward::new(keys, a.clone()));
    let mut out = Vec::new();
    for job in jobs::claim(&db, "c1", 100, 60).await.unwrap() {
        out.push(jobs::execute(&db, &reg, "c1", &job).await.unwrap());
    }
    out
}

/// Every waiting job of every company due now (simulated time passing
/// for the runner's own backoff).
async fn make_due(w: &World) {
    w.owner_sql(
        "ALTER TABLE jobs NO FORCE ROW LEVEL SECURITY; \
         UPDATE jobs SET run_at = now() WHERE state IN ('queued', 'failed'); \
         ALTER TABLE jobs FORCE ROW LEVEL SECURITY",
    )
    .await;
}

/// The owner's context, as the guard resolves it (a real session).
pub(crate) async fn owner_ctx(w: &World, email: &str, company: &str) -> TenantCtx {
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    w.sign_in(email, company).await;
    let user = w.user_id(email).await;
    let mut c = w.tdb.connect_as("metiva_owner").await;
    let s: S = diesel::sql_query(
        "SELECT id FROM sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind::<diesel::sql_types::Uuid, _>(user)
    .get_result(&mut c)
    .await
    .unwrap();
    w.tdb
        .database()
        .resolve_access(&cmp(company), user, s.id)
        .await
        .unwrap()
        .expect("the owner's access")
}

async fn decide(w: &World, visitor: Uuid, marketing: bool, withdrawal: bool) {
    let db = w.tdb.database();
    let site = db
        .site_by_key(metiva_db::seed::DEMO_SITE_KEY)
        .await
        .unwrap()
        .unwrap();
    db.record_decision(
        &site.company,
        &Decision {
            site_id: site.site_id,
            visitor_key: Some(visitor),
            purposes: Purposes {
                analytics: !withdrawal,
                identification: !withdrawal,
                marketing,
            },
            withdrawal,
            banner_version: "2026-12.1".into(),
            lang: "nl".into(),
            text_hash: sha("banner"),
        },
    )
    .await
    .unwrap();
}

/// A visitor who consents (marketing as given), leaves a form, and gets a
/// phone number on the record. Returns (person, visitor key).
async fn captured(w: &World, email: &str, marketing: bool) -> (Uuid, Uuid) {
    let key = Uuid::new_v4();
    decide(w, key, marketing, false).await;
    let out = w
        .tdb
        .database()
        .capture(
            &cmp(DE_VRIES),
            &CaptureForm {
                visitor_key: key,
                name: "Ana Jansen".into(),
                email: email.into(),
                organisation: None,
            },
        )
        .await
        .unwrap();
    let CaptureOutcome::Captured { person_id, .. } = out else {
        panic!("no capture: {out:?}");
    };
    w.owner_sql(&format!(
        "ALTER TABLE persons NO FORCE ROW LEVEL SECURITY; \
         UPDATE persons SET phone = '+31612345678' WHERE id = '{person_id}'; \
         ALTER TABLE persons FORCE ROW LEVEL SECURITY"
    ))
    .await;
    (person_id, key)
}

/// A deal of `person` worth 1.250,50 EUR, moved to won. Returns the deal.
async fn won_deal(w: &World, ctx: &TenantCtx, person: Uuid) -> Uuid {
    let db = w.tdb.database();
    let deal = db
        .create_deal(
            ctx,
            &DealFields {
                title: "Website".into(),
                value_cents: 125_050,
                expected_close: None,
                stage: None,
                owner_user_id: None,
                organisation_id: None,
                person_id: Some(person),
            },
            "req-c",
        )
        .await
        .unwrap();
    let won = won_stage(w, ctx).await;
    db.move_deal(ctx, deal, 1, &won, Some("signed"))
        .await
        .unwrap();
    deal
}

async fn won_stage(w: &World, ctx: &TenantCtx) -> String {
    let board = w.tdb.database().deal_board(ctx).await.unwrap();
    board
        .stages
        .iter()
        .find(|s| s.outcome == "won")
        .unwrap()
        .key
        .clone()
}

async fn uploads(w: &World, ctx: &TenantCtx, of: UploadsOf) -> Vec<UploadStatus> {
    w.tdb.database().conversion_uploads(ctx, of).await.unwrap()
}

fn no_raw_pii(text: &str) {
    for raw in [
        "ana@",
        "Ana",
        "Jansen",
        "1234 5678",
        "612345678",
        "127.0.0.1",
    ] {
        assert!(!text.contains(raw), "raw {raw:?} in a payload: {text}");
    }
}

#[tokio::test]
async fn a_consented_person_is_uploaded_with_hashed_identifiers_and_consent_only() {
    let w = World::new().await;
    let f = fakes().await;
    connect_ads(&w, DE_VRIES, &f).await;
    let ctx = owner_ctx(&w, "owner@devries.example", DE_VRIES).await;
    let (person, _) = captured(&w, " Ana@Example.NL", true).await;
    let deal = won_deal(&w, &ctx, person).await;
    let a = adapters(&w, &f, None, 5);
    let out = run_jobs(&w, &a).await;
    // Two uploads and the capture's lead forward.
    assert_eq!(out, vec![Outcome::Done; 3]);

    let g = f.google.received();
    assert_eq!(g.len(), 1);
    assert_eq!(
        g[0].path,
        "/v21/customers/1234567890:uploadClickConversions"
    );
    assert_eq!(g[0].header("authorization"), Some("Bearer ya29.token"));
    assert_eq!(g[0].header("developer-token"), Some("dev-token"));
    let c = &g[0].json()["conversions"][0];
    assert_eq!(
        c["conversionAction"],
        "customers/1234567890/conversionActions/987654"
    );
    assert_eq!(c["conversionValue"], 1250.5);
    assert_eq!(c["currencyCode"], "EUR");
    assert_eq!(c["consent"]["adUserData"], "GRANTED");
    assert_eq!(c["consent"]["adPersonalization"], "GRANTED");
    assert_eq!(
        c["userIdentifiers"][0]["hashedEmail"],
        sha("ana@example.nl")
    );
    assert_eq!(
        c["userIdentifiers"][1]["hashedPhoneNumber"],
        sha("+31612345678")
    );
    no_raw_pii(&g[0].body_text());

    let m = f.meta.received();
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].path, "/v21.0/1122334455/events");
    let e = &m[0].json()["data"][0];
    assert_eq!(e["event_name"], "Purchase");
    assert_eq!(e["user_data"]["em"][0], sha("ana@example.nl"));
    assert_eq!(e["user_data"]["ph"][0], sha("31612345678"));
    assert_eq!(e["custom_data"]["value"], 1250.5);
    assert_eq!(e["custom_data"]["currency"], "EUR");
    no_raw_pii(&m[0].body_text());

    // The lead forward went too (hashed as well).
    assert_eq!(f.webhook.received().len(), 1);
    no_raw_pii(&f.webhook.received()[0].body_text());

    let list = uploads(&w, &ctx, UploadsOf::Deal(deal)).await;
    assert_eq!(list.len(), 2);
    assert!(
        list.iter()
            .all(|u| u.state == "uploaded" && u.sent_at.is_some()),
        "{list:?}"
    );

    // Out of won and back: nothing new, nothing sent again.
    let db = w.tdb.database();
    let board = db.deal_board(&ctx).await.unwrap();
    let open = board
        .stages
        .iter()
        .find(|s| s.outcome == "open")
        .unwrap()
        .key
        .clone();
    let won = won_stage(&w, &ctx).await;
    let v = db.move_deal(&ctx, deal, 2, &open, None).await.unwrap();
    db.move_deal(&ctx, deal, v, &won, Some("again"))
        .await
        .unwrap();
    assert!(run_jobs(&w, &a).await.is_empty());
    assert_eq!(f.google.received().len() + f.meta.received().len(), 2);
}

#[tokio::test]
async fn marketing_withdrawn_after_capture_is_never_uploaded_and_the_reason_is_kept() {
    let w = World::new().await;
    let f = fakes().await;
    connect_ads(&w, DE_VRIES, &f).await;
    let ctx = owner_ctx(&w, "owner@devries.example", DE_VRIES).await;
    let (person, key) = captured(&w, "ana@example.nl", true).await;
    // Marketing withdrawn; identification kept (the person stays linked).
    decide(&w, key, false, false).await;
    let deal = won_deal(&w, &ctx, person).await;
    let a = adapters(&w, &f, None, 5);
    for _ in 0..3 {
        run_jobs(&w, &a).await;
        make_due(&w).await;
    }
    assert_eq!(
        f.google.attempts() + f.meta.attempts() + f.webhook.attempts(),
        0
    );
    assert!(f.google.received().is_empty() && f.meta.received().is_empty());
    let list = uploads(&w, &ctx, UploadsOf::Person(person)).await;
    assert_eq!(list.len(), 2);
    for u in &list {
        assert_eq!((u.deal_id, u.state.as_str()), (deal, "cancelled"));
        assert_eq!(u.reason.as_deref(), Some(NO_MARKETING_CONSENT));
        assert!(u.sent_at.is_none());
    }
    // The jobs are finished, not waiting to retry.
    let open = w
        .tdb
        .database()
        .tenant(&cmp(DE_VRIES), async |tc| jobs::list_open(tc, 50).await)
        .await
        .unwrap();
    assert!(
        open.iter().all(|j| j.kind != conversions::UPLOAD.name),
        "{open:?}"
    );
}

#[tokio::test]
async fn a_full_withdrawal_between_enqueue_and_send_cancels_the_upload_and_the_forward() {
    let w = World::new().await;
    let f = fakes().await;
    connect_ads(&w, DE_VRIES, &f).await;
    let ctx = owner_ctx(&w, "owner@devries.example", DE_VRIES).await;
    let (person, key) = captured(&w, "ana@example.nl", true).await;
    let deal = won_deal(&w, &ctx, person).await;
    // Enqueued with consent on record; withdrawn before the worker runs.
    decide(&w, key, false, true).await;
    run_jobs(&w, &a_default(&w, &f)).await;
    assert_eq!(
        f.google.attempts() + f.meta.attempts() + f.webhook.attempts(),
        0
    );
    let list = uploads(&w, &ctx, UploadsOf::Deal(deal)).await;
    assert_eq!(list.len(), 2);
    assert!(
        list.iter()
            .all(|u| u.state == "cancelled" && u.reason.as_deref() == Some(NO_MARKETING_CONSENT)),
        "{list:?}"
    );
}

fn a_default(w: &World, f: &Fakes) -> Adapters {
    adapters(w, f, None, 5)
}

#[derive(QueryableByName)]
struct JobCount {
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = BigInt)]
    attempts: i64,
}

async fn upload_jobs(w: &World) -> Vec<JobCount> {
    w.tdb
        .database()
        .tenant(&cmp(DE_VRIES), async |tc| {
            #[expect(clippy::disallowed_methods, reason = "a test reads the runner's rows under the tenant binding")]
            Ok(diesel::sql_query(
                "SELECT state, attempts::bigint AS attempts FROM jobs WHERE kind = 'conversions.upload'",
            )
            .load::<JobCount>(tc.conn())
            .await?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn ten_minutes_of_503_open_the_breaker_defer_the_jobs_and_recovery_sends_each_once() {
    let w = World::new().await;
    let f = fakes().await;
    // Google Ads only: one breaker to watch.
    connect(
        &w,
        DE_VRIES,
        Provider::GoogleAds,
        &[
            ("customer_id", "1234567890"),
            ("conversion_action", "987654"),
            ("developer_token", "dev-token"),
            ("access_token", "ya29.token"),
        ],
    )
    .await;
    let ctx = owner_ctx(&w, "owner@devries.example", DE_VRIES).await;
    let mut deals = Vec::new();
    for i in 0..6 {
        let (person, _) = captured(&w, &format!("lead{i}@example.nl"), false).await;
        // Marketing consent for the upload; no forward noise (no marketing
        // at capture, granted afterwards).
        deals.push(person);
    }
    for (i, person) in deals.clone().into_iter().enumerate() {
        let key = visitor_of(&w, person).await;
        decide(&w, key, true, false).await;
        deals[i] = won_deal(&w, &ctx, person).await;
    }
    f.google.set_mode(Mode::Down);
    let clock = ManualClock::new(Utc::now());
    let a = adapters(&w, &f, Some(clock.clone()), 3);
    // Ten simulated minutes, a round of the worker every 30 s.
    for _ in 0..20 {
        run_jobs(&w, &a).await;
        clock.advance(Duration::from_secs(30));
        make_due(&w).await;
    }
    let attempts_while_down = f.google.attempts();
    // Without a breaker: 6 jobs x 20 rounds = 120 calls. With it: the
    // threshold, then one probe per 120 s cool-down (5 in 10 minutes).
    assert!(
        (3..=3 + 6).contains(&attempts_while_down),
        "calls while down: {attempts_while_down}"
    );
    assert!(f.google.received().is_empty());
    let waiting = upload_jobs(&w).await;
    assert_eq!(waiting.len(), 6);
    // Deferred, not dead; the open breaker used no attempts beyond the
    // few calls that did reach the provider.
    assert!(
        waiting
            .iter()
            .all(|j| j.state == "queued" || j.state == "failed"),
        "{:?}",
        waiting
            .iter()
            .map(|j| (&j.state, j.attempts))
            .collect::<Vec<_>>()
    );
    let used: i64 = waiting.iter().map(|j| j.attempts).sum();
    assert!(
        used <= i64::try_from(attempts_while_down).unwrap(),
        "attempts {used}"
    );

    // Recovery.
    f.google.set_mode(Mode::Up);
    for _ in 0..10 {
        clock.advance(Duration::from_secs(130));
        make_due(&w).await;
        run_jobs(&w, &a).await;
    }
    let counts = f.google.counts();
    assert_eq!(counts.len(), 6, "every pending upload sent: {counts:?}");
    assert!(
        counts.values().all(|n| *n == 1),
        "exactly once each: {counts:?}"
    );
    for deal in deals {
        let list = uploads(&w, &ctx, UploadsOf::Deal(deal)).await;
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].state, "uploaded");
    }
    assert!(upload_jobs(&w).await.iter().all(|j| j.state == "done"));
}

async fn visitor_of(w: &World, person: Uuid) -> Uuid {
    #[derive(QueryableByName)]
    struct K {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        visitor_key: Uuid,
    }
    w.tdb
        .database()
        .tenant(&cmp(DE_VRIES), async |tc| {
            #[expect(
                clippy::disallowed_methods,
                reason = "a fixture reads the visitor under the tenant binding"
            )]
            Ok(
                diesel::sql_query("SELECT visitor_key FROM visitors WHERE person_id = $1")
                    .bind::<diesel::sql_types::Uuid, _>(person)
                    .get_result::<K>(tc.conn())
                    .await?
                    .visitor_key,
            )
        })
        .await
        .unwrap()
}

/// HMAC-SHA256 written out from RFC 2104 over plain SHA-256: an
/// implementation independent of the sender's `hmac` crate.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = if key.len() > 64 {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(64, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::digest([ipad.as_slice(), msg].concat());
    Sha256::digest([opad.as_slice(), inner.as_slice()].concat()).to_vec()
}

#[tokio::test]
async fn the_lead_forward_is_signed_per_standard_webhooks_and_sent_once() {
    let w = World::new().await;
    let f = fakes().await;
    connect_ads(&w, DE_VRIES, &f).await;
    let (person, _) = captured(&w, "Ana@Example.nl", true).await;
    let a = a_default(&w, &f);
    assert_eq!(run_jobs(&w, &a).await, vec![Outcome::Done]);
    let got = f.webhook.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.path, "/hooks/leads");
    let id = r.header("webhook-id").unwrap();
    let ts = r.header("webhook-timestamp").unwrap();
    let age = Utc::now().timestamp() - ts.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "timestamp {ts}");
    let key = B64.decode(SECRET.strip_prefix("whsec_").unwrap()).unwrap();
    let signed = [id.as_bytes(), b".", ts.as_bytes(), b".", r.body.as_slice()].concat();
    let want = format!("v1,{}", B64.encode(hmac_sha256(&key, &signed)));
    let header = r.header("webhook-signature").unwrap();
    assert!(header.split(' ').any(|s| s == want), "{header} != {want}");
    // A changed body would not verify.
    let mut tampered = r.body.clone();
    tampered.push(b' ');
    let bad = [
        id.as_bytes(),
        b".",
        ts.as_bytes(),
        b".",
        tampered.as_slice(),
    ]
    .concat();
    assert_ne!(format!("v1,{}", B64.encode(hmac_sha256(&key, &bad))), want);

    let body = r.json();
    assert_eq!(body["type"], "lead.created");
    assert_eq!(body["data"]["person_id"], person.to_string());
    assert_eq!(body["data"]["hashed_email"], sha("ana@example.nl"));
    no_raw_pii(&r.body_text());
    // Done for good: the job does not run again.
    make_due(&w).await;
    assert!(run_jobs(&w, &a).await.is_empty());
    assert_eq!(f.webhook.count(id), 1);
}

#[tokio::test]
async fn uploads_are_isolated_per_workspace() {
    let w = World::new().await;
    let f = fakes().await;
    connect_ads(&w, DE_VRIES, &f).await;
    let ctx = owner_ctx(&w, "owner@devries.example", DE_VRIES).await;
    let (person, _) = captured(&w, "ana@example.nl", true).await;
    let deal = won_deal(&w, &ctx, person).await;
    let db = w.tdb.database();
    // Brouwer sees none of De Vries's uploads, by deal or by person.
    let theirs = db
        .tenant(&cmp(BROUWER), async |tc| {
            let a = conversions::uploads_of(tc, UploadsOf::Deal(deal)).await?;
            let b = conversions::uploads_of(tc, UploadsOf::Person(person)).await?;
            Ok((a.len(), b.len()))
        })
        .await
        .unwrap();
    assert_eq!(theirs, (0, 0));
    // A Brouwer win with Brouwer connected enqueues under Brouwer only,
    // and nothing of De Vries is sent twice.
    let a = a_default(&w, &f);
    run_jobs(&w, &a).await;
    let mine = uploads(&w, &ctx, UploadsOf::Deal(deal)).await;
    assert_eq!(mine.len(), 2);
    let brouwer_rows = db
        .tenant(&cmp(BROUWER), async |tc| {
            #[derive(QueryableByName)]
            struct N {
                #[diesel(sql_type = BigInt)]
                n: i64,
            }
            #[expect(
                clippy::disallowed_methods,
                reason = "a count under the other tenant's binding"
            )]
            Ok(
                diesel::sql_query("SELECT count(*) AS n FROM conversion_uploads")
                    .get_result::<N>(tc.conn())
                    .await?
                    .n,
            )
        })
        .await
        .unwrap();
    assert_eq!(brouwer_rows, 0);
}

#[tokio::test]
async fn the_deal_and_person_pages_say_uploaded_or_not_sent_in_english_and_dutch() {
    let w = World::new().await;
    let f = fakes().await;
    connect_ads(&w, DE_VRIES, &f).await;
    let ctx = owner_ctx(&w, "owner@devries.example", DE_VRIES).await;
    let (yes, _) = captured(&w, "ana@example.nl", true).await;
    let (no, no_key) = captured(&w, "bo@example.nl", true).await;
    decide(&w, no_key, false, false).await;
    let sent = won_deal(&w, &ctx, yes).await;
    let refused = won_deal(&w, &ctx, no).await;
    run_jobs(&w, &a_default(&w, &f)).await;
    let token = w.sign_in("sales@devries.example", DE_VRIES).await;
    let page = async |uri: String| {
        crate::world::call(
            &w.dashboard,
            crate::world::get_with(&uri, &[("metiva_session", &token)]),
        )
        .await
    };
    let r = page(format!("/deals/{sent}")).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains(r#"data-state="uploaded""#), "{}", r.body);
    assert!(r.body.contains("Google Ads") && r.body.contains("uploaded<"));
    let r = page(format!("/deals/{refused}")).await;
    assert!(
        r.body.contains("not sent: no marketing consent"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(r#"data-state="uploaded""#));
    let r = page(format!("/deals/{refused}?lang=nl")).await;
    assert!(r.body.contains("niet verzonden: geen marketingtoestemming"));
    let r = page(format!("/persons/{no}")).await;
    assert!(
        r.body.contains("not sent: no marketing consent"),
        "{}",
        r.body
    );
    let r = page(format!("/persons/{yes}?lang=nl")).await;
    assert!(r.body.contains("geüpload"));
}
