//! SMS through Twilio (issue 18), against the fake Twilio: the breach
//! alert and the verification code are sent by the `notify.sms` job with
//! the right form fields; an open breaker defers the job (nothing sent);
//! phone verification (wrong code 5 times locks, expired refused, right
//! code verifies, throttled with 429); and the status callback's
//! signature matrix.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{TimeDelta, Utc};
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use metiva_db::CompanyId;
use metiva_db::adapters::{
    Adapters, BreakerPolicy, Credentials, Provider, ProviderBases, RetryPolicy, integrations,
};
use metiva_db::alerts::phone::PhoneError;
use metiva_db::alerts::sms::{NOTIFY_SMS, SendSms};
use metiva_db::jobs::{self, Handler, JobInfo, Registry};
use metiva_testkit::fake_twilio;
use metiva_testkit::recording_fake::{Mode, RecordingFake};

use crate::sla_alerts::{at, sweep, task};
use crate::world::{APP_URL, BROUWER, DE_VRIES, World, call, post_form};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "devries-auth-token-0001";
const FROM: &str = "+3197010000001";
const PHONE: &str = "+31612345678";

fn cmp(c: &str) -> CompanyId {
    CompanyId::parse(c).unwrap()
}

async fn connect_twilio(w: &World, company: &str, token: &str) {
    let db = w.tdb.database();
    let keys = w.auth.field_keys.clone();
    metiva_db::billing::connection::load_key(&db, &keys, &cmp(company))
        .await
        .unwrap();
    let creds = Credentials(BTreeMap::from([
        ("account_sid".to_string(), ACCOUNT.to_string()),
        ("auth_token".to_string(), token.to_string()),
        ("from_number".to_string(), FROM.to_string()),
    ]));
    db.tenant(&cmp(company), async |tc| {
        integrations::store(tc, &keys, Provider::Twilio, &creds, "…0001", None).await
    })
    .await
    .unwrap();
}

fn adapters(w: &World, fake: &RecordingFake, threshold: u32) -> Adapters {
    Adapters::new(
        w.tdb.database(),
        ProviderBases {
            twilio: fake.base_url(),
            ..ProviderBases::default()
        },
    )
    .unwrap()
    .with_breaker(BreakerPolicy {
        failure_threshold: threshold,
        cool_down: Duration::from_secs(600),
        probe_lease: Duration::from_secs(30),
    })
    .with_retry(RetryPolicy {
        attempts: 1,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(10),
        max_inline_wait: Duration::from_millis(10),
    })
}

fn sender(w: &World, fake: &RecordingFake, threshold: u32) -> SendSms {
    SendSms::new(
        w.tdb.database(),
        w.auth.field_keys.clone(),
        adapters(w, fake, threshold),
        APP_URL.to_string(),
    )
}

/// Runs every due job with the SMS handler registered.
async fn run_jobs(w: &World, fake: &RecordingFake) -> Vec<jobs::Outcome> {
    let db = w.tdb.database();
    let mut reg = Registry::default();
    reg.register(NOTIFY_SMS, sender(w, fake, 5));
    let mut out = Vec::new();
    // Only the SMS jobs: the demo seed's billing jobs stay claimed (and
    // untouched) until their short lease ends.
    for job in jobs::claim(&db, "t1", 50, 60).await.unwrap() {
        if job.kind == NOTIFY_SMS.name {
            out.push(jobs::execute(&db, &reg, "t1", &job).await.unwrap());
        }
    }
    out
}

/// Requests a code for the owner and reads it off the fake's SMS.
async fn request_code(w: &World, fake: &RecordingFake, ctx: &metiva_db::TenantCtx) -> String {
    w.tdb
        .database()
        .request_phone_code(ctx, &w.auth.field_keys, "06 1234 5678", Utc::now())
        .await
        .unwrap();
    run_jobs(w, fake).await;
    let last = fake.received().last().cloned().expect("an SMS");
    assert_eq!(fake_twilio::field(&last, "To").as_deref(), Some(PHONE));
    let body = fake_twilio::field(&last, "Body").unwrap();
    let code: String = body
        .split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .expect("a 6-digit code in the body")
        .to_string();
    code
}

/// The owner's context, resolved as the guard resolves it (a real
/// session from signing in).
async fn owner_ctx(w: &World) -> metiva_db::TenantCtx {
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    w.sign_in("owner@devries.example", DE_VRIES).await;
    let user = w.user_id("owner@devries.example").await;
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
        .resolve_access(&cmp(DE_VRIES), user, s.id)
        .await
        .unwrap()
        .expect("the owner's access")
}

#[derive(QueryableByName)]
struct Msg {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    provider_sid: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    body_kept: bool,
}

async fn messages(w: &World, company: &str) -> Vec<Msg> {
    w.tdb
        .database()
        .tenant(&cmp(company), async |tc| {
            #[expect(
                clippy::disallowed_methods,
                reason = "a test reads the outcome under the tenant binding"
            )]
            Ok(diesel::sql_query(
                "SELECT status, provider_sid, body_ciphertext IS NOT NULL AS body_kept
                 FROM sms_messages ORDER BY created_at",
            )
            .load::<Msg>(tc.conn())
            .await?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn verification_then_a_breach_alert_go_through_fake_twilio_with_the_right_fields() {
    let w = World::new().await;
    let fake = fake_twilio::start().await;
    connect_twilio(&w, DE_VRIES, TOKEN).await;
    let ctx = owner_ctx(&w).await;
    let db = w.tdb.database();
    let code = request_code(&w, &fake, &ctx).await;
    db.confirm_phone_code(&ctx, &w.auth.field_keys, &code, Utc::now(), "req-1")
        .await
        .unwrap();
    db.set_sms_alerts(&ctx, true).await.unwrap();
    let phone = db.my_phone(&ctx, Utc::now()).await.unwrap();
    assert_eq!(phone.verified_hint.as_deref(), Some("678"));
    assert!(phone.sms_alerts);

    let owner = ctx.user_id();
    task(
        &w,
        DE_VRIES,
        Some(owner),
        "first_response",
        at("2027-01-12T09:00:00Z"),
        false,
    )
    .await;
    task(
        &w,
        DE_VRIES,
        Some(owner),
        "first_response",
        at("2027-01-12T09:10:00Z"),
        false,
    )
    .await;
    let out = sweep(&w, DE_VRIES, at("2027-01-12T10:00:00Z")).await;
    assert_eq!(
        (out.breached, out.sms.len()),
        (2, 1),
        "one SMS per member per sweep"
    );
    let outcomes = run_jobs(&w, &fake).await;
    assert_eq!(outcomes, vec![jobs::Outcome::Done]);

    let sent = fake.received();
    assert_eq!(sent.len(), 2, "the code and the alert");
    let alert = &sent[1];
    assert_eq!(
        alert.path,
        format!("/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
    );
    assert_eq!(fake_twilio::field(alert, "To").as_deref(), Some(PHONE));
    assert_eq!(fake_twilio::field(alert, "From").as_deref(), Some(FROM));
    let body = fake_twilio::field(alert, "Body").unwrap();
    assert!(
        body.contains("2 first responses") && body.ends_with("/tasks"),
        "{body}"
    );
    let callback = fake_twilio::field(alert, "StatusCallback").unwrap();
    assert!(
        callback.starts_with(&format!("{APP_URL}/webhooks/twilio/twe_")),
        "{callback}"
    );
    assert!(alert.header("authorization").unwrap().starts_with("Basic "));
    assert!(
        alert
            .header("i-twilio-idempotency-token")
            .unwrap()
            .starts_with("sms:cmp_8fa2c1:")
    );
    // Both recorded as queued with Twilio's SID; the code's body is gone.
    let rows = messages(&w, DE_VRIES).await;
    assert_eq!(rows.len(), 2);
    for m in &rows {
        assert_eq!(m.status, "queued");
        assert!(
            m.provider_sid
                .as_deref()
                .is_some_and(|s| s.starts_with("SM"))
        );
        assert!(!m.body_kept);
    }
    // A second run sends nothing more (each message once).
    assert!(run_jobs(&w, &fake).await.is_empty());
    assert_eq!(fake.received().len(), 2);
}

#[tokio::test]
async fn twilio_down_opens_the_breaker_and_the_sms_job_is_deferred_not_failed() {
    let w = World::new().await;
    let fake = fake_twilio::start().await;
    connect_twilio(&w, DE_VRIES, TOKEN).await;
    let ctx = owner_ctx(&w).await;
    w.tdb
        .database()
        .request_phone_code(&ctx, &w.auth.field_keys, PHONE, Utc::now())
        .await
        .unwrap();
    let jobs_open = w
        .tdb
        .database()
        .tenant(&cmp(DE_VRIES), async |tc| jobs::list_open(tc, 10).await)
        .await
        .unwrap();
    let job = jobs_open
        .iter()
        .find(|j| j.kind == "notify.sms")
        .expect("the sms job");
    let info = JobInfo {
        id: job.id,
        company: cmp(DE_VRIES),
        kind: job.kind.clone(),
        // The job's key is `sms:{message id}`; its payload names the same.
        payload: format!(
            "{{\"message\":\"{}\"}}",
            job.job_key
                .as_deref()
                .unwrap()
                .strip_prefix("sms:")
                .unwrap()
        ),
        key: job.job_key.clone(),
        attempt: 1,
        max_attempts: 10,
    };
    fake.set_mode(Mode::Down);
    // Threshold 1: the first failed call opens the breaker.
    let handler = sender(&w, &fake, 1);
    let run = async |h: &SendSms| {
        w.tdb
            .database()
            .tenant(&cmp(DE_VRIES), async |tc| Ok(h.run(tc, &info).await))
            .await
            .unwrap()
    };
    let first = run(&handler).await.unwrap_err();
    assert!(first.retry && first.defer_until.is_none(), "{first:?}");
    assert_eq!(fake.attempts(), 1);
    let second = run(&handler).await.unwrap_err();
    assert!(
        second.defer_until.is_some(),
        "deferred by the open breaker: {second:?}"
    );
    assert_eq!(fake.attempts(), 1, "nothing sent while the breaker is open");
    assert_eq!(messages(&w, DE_VRIES).await[0].status, "pending");
}

#[tokio::test]
async fn phone_codes_lock_after_five_wrong_tries_expire_and_verify() {
    let w = World::new().await;
    let fake = fake_twilio::start().await;
    connect_twilio(&w, DE_VRIES, TOKEN).await;
    let ctx = owner_ctx(&w).await;
    let db = w.tdb.database();
    let keys = w.auth.field_keys.clone();
    assert!(matches!(
        db.confirm_phone_code(&ctx, &keys, "123456", Utc::now(), "r")
            .await,
        Err(PhoneError::NoCode)
    ));
    let code = request_code(&w, &fake, &ctx).await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    for left in [4, 3, 2, 1] {
        match db
            .confirm_phone_code(&ctx, &keys, &wrong, Utc::now(), "r")
            .await
        {
            Err(PhoneError::WrongCode { left: l }) => assert_eq!(l, left),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        db.confirm_phone_code(&ctx, &keys, &wrong, Utc::now(), "r")
            .await,
        Err(PhoneError::Locked)
    ));
    // Locked: even the right code is refused now.
    assert!(matches!(
        db.confirm_phone_code(&ctx, &keys, &code, Utc::now(), "r")
            .await,
        Err(PhoneError::Locked)
    ));
    assert_eq!(
        db.my_phone(&ctx, Utc::now()).await.unwrap().verified_hint,
        None
    );

    // A new code, confirmed 11 minutes later: expired.
    let code = request_code(&w, &fake, &ctx).await;
    assert!(matches!(
        db.confirm_phone_code(&ctx, &keys, &code, Utc::now() + TimeDelta::minutes(11), "r")
            .await,
        Err(PhoneError::Expired)
    ));
    // The same code in time: verified, and audited.
    db.confirm_phone_code(&ctx, &keys, &code, Utc::now() + TimeDelta::minutes(9), "r")
        .await
        .unwrap();
    assert_eq!(
        db.my_phone(&ctx, Utc::now())
            .await
            .unwrap()
            .verified_hint
            .as_deref(),
        Some("678")
    );
    assert!(
        w.audit_rows(DE_VRIES)
            .await
            .iter()
            .any(|r| r.action == "member.phone_verified")
    );
}

#[tokio::test]
async fn a_fourth_code_within_the_hour_is_429_with_a_clear_message() {
    let w = World::new().await;
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    let cookies = [("metiva_session", token.as_str())];
    let send = async |phone: &str| {
        call(
            &w.dashboard,
            post_form("/api/request_phone_code", &cookies, &[("phone", phone)]),
        )
        .await
    };
    let bad = send("not a phone").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("Enter a mobile number"), "{}", bad.body);
    for _ in 0..3 {
        let r = send("+31 6 1234 5678").await;
        assert!(r.status.is_success(), "{} {}", r.status, r.body);
    }
    let r = send("+31 6 1234 5678").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.body.contains("at most 3 per hour"), "{}", r.body);
    // Turning alerts on without a verified phone is refused.
    let r = call(
        &w.dashboard,
        post_form("/api/set_sms_alerts", &cookies, &[("on", "true")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // The page, in Dutch.
    let r = call(
        &w.dashboard,
        crate::world::get_with("/settings/alerts?lang=nl", &cookies),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("Sms-meldingen") && r.body.contains("Code versturen"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#"data-testid="code-form""#),
        "a code is waiting"
    );
}

async fn endpoint(w: &World, company: &str) -> String {
    w.tdb
        .database()
        .tenant(&cmp(company), async |tc| {
            metiva_db::alerts::twilio::endpoint_id(tc).await
        })
        .await
        .unwrap()
}

const SID: &str = "SM0123456789abcdef0123456789abcdef";

async fn callback(
    router: &axum::Router,
    endpoint: &str,
    params: &[(&str, &str)],
    signature: Option<&str>,
) -> crate::world::Resp {
    let body = params
        .iter()
        .map(|(k, v)| format!("{k}={}", server::http::ui::qs(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut b = Request::post(format!("/webhooks/twilio/{endpoint}"))
        .header("content-type", "application/x-www-form-urlencoded")
        // Whatever the proxy says, the URL checked comes from the config.
        .header("host", "evil.example:8080")
        .header("x-forwarded-proto", "http");
    if let Some(s) = signature {
        b = b.header("x-twilio-signature", s);
    }
    call(router, b.body(Body::from(body)).unwrap()).await
}

fn sign(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let p: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    metiva_db::alerts::twilio::sign(token, url, &p)
}

#[tokio::test]
async fn the_status_callback_signature_matrix() {
    let w = World::new().await;
    connect_twilio(&w, DE_VRIES, TOKEN).await;
    connect_twilio(&w, BROUWER, "brouwer-auth-token-0002").await;
    let (dv, br) = (endpoint(&w, DE_VRIES).await, endpoint(&w, BROUWER).await);
    assert_ne!(dv, br);
    w.owner_sql(&format!(
        "SELECT set_config('app.company_id', '{DE_VRIES}', true);
         INSERT INTO sms_messages (company_id, user_id, purpose, breaches, status, provider_sid)
         SELECT '{DE_VRIES}', user_id, 'sla_breach', 1, 'queued', '{SID}'
         FROM memberships WHERE company_id = '{DE_VRIES}' LIMIT 1"
    ))
    .await;
    // Production-like: https behind a TLS terminator.
    let public = "https://app.metiva.example";
    let router = server::http::twilio_webhook::twilio_router(
        w.tdb.database(),
        w.auth.field_keys.clone(),
        public,
    );
    let url = format!("{public}/webhooks/twilio/{dv}");
    let params = [
        ("AccountSid", ACCOUNT),
        ("MessageSid", SID),
        ("MessageStatus", "delivered"),
    ];
    let good = sign(TOKEN, &url, &params);
    let status = async || messages(&w, DE_VRIES).await[0].status.clone();
    // (case name, the POST parameters, the X-Twilio-Signature header)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<String>);
    let cases: Vec<Case> = vec![
        ("missing header", params.to_vec(), None),
        ("empty header", params.to_vec(), Some(String::new())),
        (
            "wrong token",
            params.to_vec(),
            Some(sign("not-the-token-0000", &url, &params)),
        ),
        (
            "a parameter changed",
            vec![params[0], params[1], ("MessageStatus", "failed")],
            Some(good.clone()),
        ),
        (
            "a parameter added",
            vec![params[0], params[1], params[2], ("ErrorCode", "30003")],
            Some(good.clone()),
        ),
        (
            "a parameter removed",
            vec![params[1], params[2]],
            Some(good.clone()),
        ),
        (
            "http instead of https",
            params.to_vec(),
            Some(sign(TOKEN, &url.replace("https://", "http://"), &params)),
        ),
        (
            "the port changed",
            params.to_vec(),
            Some(sign(
                TOKEN,
                &url.replace(".example/", ".example:8443/"),
                &params,
            )),
        ),
        (
            "the request's Host",
            params.to_vec(),
            Some(sign(
                TOKEN,
                &format!("http://evil.example:8080/webhooks/twilio/{dv}"),
                &params,
            )),
        ),
        (
            "another workspace's valid signature",
            params.to_vec(),
            Some(sign(
                "brouwer-auth-token-0002",
                &format!("{public}/webhooks/twilio/{br}"),
                &params,
            )),
        ),
        (
            "another workspace's token over this URL",
            params.to_vec(),
            Some(sign("brouwer-auth-token-0002", &url, &params)),
        ),
    ];
    for (name, p, sig) in &cases {
        let r = callback(&router, &dv, p, sig.as_deref()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {}", r.body);
        assert_eq!(status().await, "queued", "{name}: nothing recorded");
    }
    // Another workspace's valid callback, posted to its own endpoint, is
    // fine there and changes nothing here (the SID is not Brouwer's).
    let br_params = params;
    let br_sig = sign(
        "brouwer-auth-token-0002",
        &format!("{public}/webhooks/twilio/{br}"),
        &br_params,
    );
    let r = callback(&router, &br, &br_params, Some(&br_sig)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(status().await, "queued");
    // Unknown endpoints are 404.
    let r = callback(
        &router,
        "twe_00000000000000000000000000000000",
        &params,
        Some(&good),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The valid one, with its parameters in another order: recorded.
    let reordered = [params[2], params[0], params[1]];
    let r = callback(&router, &dv, &reordered, Some(&good)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(status().await, "delivered");
    // The fake's own signer agrees with the verifier.
    let (body, sig) = fake_twilio::status_callback(&url, TOKEN, SID, "read");
    let r = call(
        &router,
        Request::post(format!("/webhooks/twilio/{dv}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(status().await, "read");
}
