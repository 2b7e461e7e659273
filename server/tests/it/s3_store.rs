//! Files in an S3-compatible bucket (issue 17): the real routers and the
//! real `object_store` S3 client against the fake S3 of the test kit,
//! which verifies every request's SigV4 signature.
//!
//! - an attachment's upload, download and delete, and an invoice PDF:
//!   object keys start with the company id, the bucket holds ciphertext
//!   only, downloads give the plaintext back;
//! - 503s from the bucket are retried; a bucket that keeps failing, or a
//!   wrong secret, is a 503 in the user's words (English and Dutch) and
//!   stores nothing (no row for an object that was not written);
//! - `metiva check`'s object store line, and production refusing a
//!   bucket outside the EU in the real binary.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use metiva_db::CompanyId;
use metiva_db::files::FileStore;
use metiva_db::object_s3::S3Settings;
use metiva_testkit::fake_s3::{self, FakeS3, S3Fault};
use server::file_store::ObjectStoreConfig;

use crate::world::{DE_VRIES, World, call, error_message};

const BOUNDARY: &str = "metiva-s3-test-boundary";
const PDF: &[u8] = b"%PDF-1.4\n% Contract Hendriks 2026 in the bucket\n%%EOF\n";

pub(crate) fn settings(fake: &FakeS3, secret: &str) -> S3Settings {
    S3Settings {
        bucket: fake_s3::BUCKET.into(),
        prefix: String::new(),
        region: "eu-central-1".into(),
        endpoint: Some(fake.endpoint()),
        access_key_id: fake_s3::ACCESS_KEY_ID.into(),
        secret_access_key: secret.into(),
    }
}

/// A dashboard on `w`'s database whose files live in the fake bucket.
pub(crate) fn dashboard(w: &World, s: S3Settings) -> (server::config::Config, axum::Router) {
    let config = server::config::Config {
        object_store: ObjectStoreConfig::S3(s),
        ..crate::test_config(&w.tdb.app_url())
    };
    let router = server::http::dashboard_router_with(&config, w.auth.clone());
    (config, router)
}

fn upload(token: &str, path: &str, lang: &str) -> Request<Body> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ncontract\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(PDF);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Request::post(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::ACCEPT, "application/json")
        .header(header::ACCEPT_LANGUAGE, lang)
        .header(header::COOKIE, format!("metiva_session={token}"))
        .body(Body::from(body))
        .unwrap()
}

fn download(token: &str, path: &str, lang: &str) -> Request<Body> {
    Request::get(path)
        .header(header::ACCEPT, "application/json")
        .header(header::ACCEPT_LANGUAGE, lang)
        .header(header::COOKIE, format!("metiva_session={token}"))
        .body(Body::empty())
        .unwrap()
}

async fn first_id(w: &World, sql: &'static str) -> uuid::Uuid {
    w.id_in(DE_VRIES, sql).await
}

async fn stored_rows(w: &World) -> i64 {
    w.count_in(DE_VRIES, "SELECT count(*) AS n FROM stored_files")
        .await
}

#[tokio::test]
async fn attachments_round_trip_through_the_bucket_sealed_under_the_company() {
    let fake = FakeS3::start().await;
    let w = World::new().await;
    let (_, router) = dashboard(&w, settings(&fake, fake_s3::SECRET_ACCESS_KEY));
    let deal = first_id(&w, "SELECT id FROM deals ORDER BY id LIMIT 1").await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let path = format!("/api/files/deal/{deal}");

    let r = call(&router, upload(&owner, &path, "en")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let id = id["id"].as_str().unwrap().to_string();
    // One object, under the company id; ciphertext at rest.
    let keys = fake.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = keys[0].clone();
    assert!(key.starts_with(&format!("{DE_VRIES}/")), "{key}");
    let at_rest = fake.object(&key).unwrap();
    assert_ne!(at_rest.as_slice(), PDF);
    let clear = String::from_utf8_lossy(&at_rest);
    assert!(
        !clear.contains("%PDF") && !clear.contains("Hendriks"),
        "plaintext at rest"
    );
    // Every request was signed, verified and answered (no 4xx/5xx).
    assert!(
        fake.requests().iter().all(|r| r.ends_with(" 200")),
        "{:?}",
        fake.requests()
    );

    // The download opens it again, with the download headers.
    let r = call(&router, download(&owner, &format!("/files/{id}"), "en")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body.as_bytes(), PDF);
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    // Two 503s from the bucket are retried by the client: the upload
    // still succeeds, each attempt signed anew.
    fake.fail_next(2, S3Fault::SlowDown);
    let r = call(&router, upload(&owner, &path, "en")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let log = fake.requests();
    assert_eq!(
        log[log.len() - 3..],
        ["PUT 503", "PUT 503", "PUT 200"],
        "{log:?}"
    );
    assert_eq!(fake.keys().len(), 2);

    // A bucket that keeps failing (the first try and three retries): a
    // 503 in the user's words, and no row for the object never written.
    let rows = stored_rows(&w).await;
    fake.fail_next(4, S3Fault::InternalError);
    let r = call(&router, upload(&owner, &path, "nl")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(
        error_message(&r.body).contains("De bestandsopslag is nu niet bereikbaar"),
        "{}",
        r.body
    );
    assert!(!r.body.contains(fake_s3::BUCKET), "{}", r.body);
    assert_eq!(stored_rows(&w).await, rows, "no row without its object");
    assert_eq!(fake.keys().len(), 2);
    let log = fake.requests();
    assert_eq!(log[log.len() - 4..], ["PUT 500"; 4], "{log:?}");

    // Delete through the store: gone from the bucket; deleting again
    // (a retry after a crash) is no error.
    let files = FileStore::s3(&settings(&fake, fake_s3::SECRET_ACCESS_KEY)).unwrap();
    files.delete(&key).await.unwrap();
    assert!(fake.object(&key).is_none());
    files.delete(&key).await.unwrap();
    assert_eq!(fake.keys().len(), 1);
}

#[tokio::test]
async fn a_wrong_secret_fails_closed_with_a_clear_answer() {
    let fake = FakeS3::start().await;
    let w = World::new().await;
    let (_, good) = dashboard(&w, settings(&fake, fake_s3::SECRET_ACCESS_KEY));
    let (bad_config, bad) = dashboard(&w, settings(&fake, "not-the-secret"));
    let deal = first_id(&w, "SELECT id FROM deals ORDER BY id LIMIT 1").await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let path = format!("/api/files/deal/{deal}");
    let r = call(&good, upload(&owner, &path, "en")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let id = id["id"].as_str().unwrap().to_string();
    let rows = stored_rows(&w).await;

    // The fake refuses the signature as S3 does; the user sees a 503
    // saying to try later, never the bucket, the key or a 500.
    let r = call(&bad, upload(&owner, &path, "en")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(
        error_message(&r.body),
        "File storage is unavailable right now. Try again in a few minutes."
    );
    assert_eq!(fake.requests().last().unwrap(), "PUT 403");
    assert_eq!(stored_rows(&w).await, rows, "nothing stored");
    assert_eq!(fake.keys().len(), 1);
    let r = call(&bad, download(&owner, &format!("/files/{id}"), "nl")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(error_message(&r.body).contains("Probeer het over een paar minuten opnieuw"));
    assert_eq!(fake.requests().last().unwrap(), "GET 403");

    // The store's own error names S3's refusal, for the log and `check`.
    let err = FileStore::s3(&settings(&fake, "not-the-secret"))
        .unwrap()
        .probe()
        .await
        .unwrap_err();
    assert!(matches!(err, metiva_db::DbError::Unavailable(_)), "{err:?}");
    // `metiva check`'s line: FAIL with the wrong secret, PASS with the
    // right one, naming the bucket and never the secret.
    let line = server::file_store::check(&bad_config).await;
    assert_eq!(line.outcome, server::checks::Outcome::Fail, "{line}");
    assert!(!line.line.contains("not-the-secret"), "{line}");
    let good_config = server::config::Config {
        object_store: ObjectStoreConfig::S3(settings(&fake, fake_s3::SECRET_ACCESS_KEY)),
        ..crate::test_config(&w.tdb.app_url())
    };
    let line = server::file_store::check(&good_config).await;
    assert_eq!(line.outcome, server::checks::Outcome::Pass, "{line}");
    assert!(line.line.contains(fake_s3::BUCKET), "{line}");
}

#[tokio::test]
async fn an_invoice_pdf_is_stored_in_the_bucket_and_downloaded() {
    use metiva_db::billing::{connection, pdf};
    let fake = FakeS3::start().await;
    let w = World::new().await;
    assert!(w.owner_db.seed_demo_billing().await.unwrap());
    let s = settings(&fake, fake_s3::SECRET_ACCESS_KEY);
    let (_, router) = dashboard(&w, s.clone());
    let files = FileStore::s3(&s).unwrap();
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let db = w.tdb.database();
    let keys = w.auth.field_keys.clone();
    let id = first_id(&w, "SELECT id FROM invoices ORDER BY seq DESC LIMIT 1").await;
    connection::load_key(&db, &keys, &company).await.unwrap();
    db.tenant(&company, async |tc| {
        pdf::render_and_store(tc, &files, &keys, id).await
    })
    .await
    .unwrap()
    .unwrap();
    let key = format!("{DE_VRIES}/invoices/{id}.pdf");
    assert_eq!(fake.keys(), std::slice::from_ref(&key));
    let clear = String::from_utf8_lossy(&fake.object(&key).unwrap()).into_owned();
    assert!(!clear.contains("%PDF") && !clear.contains("Bloemenhuis"));

    let finance = w.sign_in("finance@devries.example", DE_VRIES).await;
    let r = call(
        &router,
        download(&finance, &format!("/billing/invoices/{id}/pdf"), "en"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.starts_with("%PDF"), "not a PDF");
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/pdf");
}

/// Production with a bucket outside the EU does not start; with the fake
/// bucket in eu-central-1 it gets past the object store (to the
/// unreachable database).
#[test]
fn production_refuses_a_bucket_outside_the_eu() {
    use base64::Engine as _;
    let b64 = |k: &[u8]| base64::engine::general_purpose::STANDARD.encode(k);
    let run = |region: &str| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_metiva"));
        c.arg("serve")
            .env_remove("RUST_LOG")
            .env_remove("METIVA_FILES_ALLOW_LOCAL")
            .env("METIVA_ENV", "production")
            .env(
                "DATABASE_URL",
                "postgres://metiva_app:pw@db.invalid:5432/metiva?sslmode=verify-full&sslrootcert=system",
            )
            .env("METIVA_REGION", "eu-central-1")
            .env("METIVA_ENCRYPTION_KEY", b64(&crate::world::ENC))
            .env("METIVA_TOKEN_SIGNING_KEY", b64(&crate::world::SEED))
            .env("METIVA_APP_URL", "https://app.metiva.example")
            .env("METIVA_LOGIN_URL", "https://login.metiva.example")
            .env("METIVA_APP_ADDR", "127.0.0.1:0")
            .env("METIVA_LOGIN_ADDR", "127.0.0.1:0")
            .env("METIVA_METRICS_ADDR", "127.0.0.1:0")
            .env("METIVA_DATA_DIR", metiva_testkit::scratch_dir("files-s3-prod"))
            .env("METIVA_OBJECT_STORE", "s3://metiva-test/prod")
            .env("METIVA_S3_ENDPOINT", "http://127.0.0.1:9")
            .env("METIVA_S3_REGION", region)
            .env("AWS_ACCESS_KEY_ID", fake_s3::ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", fake_s3::SECRET_ACCESS_KEY);
        let out = c.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = run("us-east-1");
    assert!(!ok && err.contains("not a known EU region"), "{err}");
    assert!(!err.contains(fake_s3::SECRET_ACCESS_KEY), "{err}");
    let (ok, err) = run("eu-central-1");
    assert!(
        !ok && !err.contains("EU region") && !err.contains("METIVA_FILES_ALLOW_LOCAL"),
        "{err}"
    );
}
