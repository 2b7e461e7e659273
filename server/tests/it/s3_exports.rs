//! A workspace export in an S3-compatible bucket (issue 16): the real
//! `object_store` S3 client against the fake S3 of the test kit (SigV4
//! verified, multipart uploads with S3's 5 MiB minimum part).
//!
//! The workspace carries two incompressible 5 MB contracts, so the ZIP
//! (over 10 MB) goes up in more than one part. The bucket then holds one
//! sealed object under the company's prefix and no unfinished upload; the
//! contracts are not readable at rest; the download through the real
//! router gives back a ZIP whose files match, byte for byte.

use axum::http::StatusCode;
use metiva_db::CompanyId;
use metiva_db::exports::ExportStore;
use metiva_db::exports::workspace::WorkspaceExportJob;
use metiva_db::files::FileStore;
use metiva_db::jobs::Outcome;
use metiva_testkit::fake_s3::{self, FakeS3};

use crate::exports::{raw_on, request_export, run_jobs, unzip};
use crate::s3_store::{dashboard, settings};
use crate::world::{DE_VRIES, World, call, get_with};

/// `n` bytes no compressor shrinks (xorshift), after a PDF's magic.
fn contract(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = b"%PDF-1.4\n".to_vec();
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

#[tokio::test]
async fn a_workspace_export_goes_to_the_bucket_sealed_in_parts_and_downloads() {
    let fake = FakeS3::start().await;
    let w = World::new().await;
    let s = settings(&fake, fake_s3::SECRET_ACCESS_KEY);
    let (config, router) = dashboard(&w, s.clone());
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let company = CompanyId::parse(DE_VRIES).unwrap();

    let (deal, _) = crate::attachments::records(&w, DE_VRIES).await;
    let mut uploaded = Vec::new();
    for seed in [1, 2] {
        let bytes = contract(5_000_000, seed);
        let r = call(
            &router,
            crate::attachments::upload(
                &owner,
                &format!("/api/files/deal/{deal}"),
                "contract",
                &format!("contract-{seed}.pdf"),
                &bytes,
                false,
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        uploaded.push((format!("files/{id}-contract-{seed}.pdf"), bytes));
    }

    let (id, uuid) = request_export(&router, &owner).await;
    let store = ExportStore::new(&config.data_dir, FileStore::s3(&s).unwrap());
    let out = run_jobs(
        &w,
        WorkspaceExportJob::new(w.tdb.database(), store.clone(), w.auth.field_keys.clone()),
    )
    .await;
    assert_eq!(out, [Outcome::Done]);
    assert!(
        !store.partial_path(&company, uuid).exists(),
        "the spool is removed"
    );

    // One sealed object under the company, uploaded in parts, none left open.
    let key = ExportStore::object_key(&company, uuid);
    assert!(fake.keys().contains(&key), "{:?}", fake.keys());
    assert_eq!(fake.uploads_in_progress(), 0);
    let parts = fake.requests().iter().filter(|r| *r == "PUT 200").count();
    assert!(
        parts >= 2 + 2,
        "two attachments and at least two parts: {parts}"
    );
    let at_rest = fake.object(&key).unwrap();
    assert!(at_rest.len() > 10_000_000, "{}", at_rest.len());
    assert!(at_rest.starts_with(metiva_db::sealed_stream::MAGIC));
    let probe = &uploaded[0].1[1_000..1_064];
    assert!(
        !at_rest.windows(probe.len()).any(|w| w == probe),
        "a contract is readable at rest"
    );

    // The download through the router: the ZIP, whole.
    let r = call(
        &router,
        crate::crm::script(&format!("/privacy/exports/{id}/download"), &owner, &[]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let link = r.location();
    let (st, headers, body) = raw_on(&router, get_with(&link, &[("metiva_session", &owner)])).await;
    assert_eq!(st, StatusCode::OK);
    crate::exports::assert_download_headers(&headers);
    assert_eq!(
        headers[axum::http::header::CONTENT_LENGTH]
            .to_str()
            .unwrap(),
        body.len().to_string()
    );
    let files = unzip(&body);
    for (name, bytes) in &uploaded {
        let inside = files
            .iter()
            .find(|(f, _)| f == name)
            .unwrap_or_else(|| panic!("{name} not in the ZIP"));
        assert!(inside.1 == *bytes, "{name} differs");
    }
}
