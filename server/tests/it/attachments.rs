//! Contracts and signature images on a deal or an organisation (issue
//! 17), through the real router: upload (multipart, script and browser
//! form), the panel on the record's page (English and Dutch), the
//! download's headers and audit, sealed at rest; refusals (type by
//! content, 10 MB, the body limit, a missing kind, permissions, another
//! workspace's record or file) store nothing. Deleting one: writers only,
//! a same-origin POST, row and object gone, audited; 404 elsewhere.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::world::{BROUWER, DE_VRIES, World, call, error_message, get_with};

const BOUNDARY: &str = "metiva-files-test-boundary";
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% Contract Hendriks 2026\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR signature-bytes";

/// The upload form as a browser (`html`) or a script posts it.
pub(crate) fn upload(
    token: &str,
    path: &str,
    kind: &str,
    name: &str,
    file: &[u8],
    html: bool,
) -> Request<Body> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Request::post(path)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(
            header::ACCEPT,
            if html {
                "text/html,application/xhtml+xml"
            } else {
                "application/json"
            },
        )
        .header(header::COOKIE, format!("metiva_session={token}"))
        .body(Body::from(body))
        .unwrap()
}

/// The first deal and organisation of a workspace.
pub(crate) async fn records(w: &World, company: &str) -> (uuid::Uuid, uuid::Uuid) {
    (
        w.id_in(company, "SELECT id FROM deals ORDER BY id LIMIT 1")
            .await,
        w.id_in(company, "SELECT id FROM organisations ORDER BY id LIMIT 1")
            .await,
    )
}

async fn stored(w: &World) -> i64 {
    w.count_in(
        DE_VRIES,
        "SELECT count(*) AS n FROM stored_files WHERE purpose IN ('contract', 'signature')",
    )
    .await
}

/// The objects under the workspace's attachments prefix.
fn objects() -> usize {
    let data_dir = crate::test_config("postgres://unused").data_dir;
    std::fs::read_dir(data_dir.join(format!("files/{DE_VRIES}/attachments")))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn uploads_are_checked_by_content_stored_sealed_listed_and_downloaded_audited() {
    let w = World::new().await;
    let (deal, org) = records(&w, DE_VRIES).await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let deal_path = format!("/api/files/deal/{deal}");
    let org_path = format!("/api/files/organisation/{org}");

    // Refusals first: nothing is stored, no row and no object.
    let before = objects();
    let html_as_pdf = b"<html><script>alert(1)</script></html>";
    let r = call(
        &w.dashboard,
        upload(&owner, &deal_path, "contract", "x.pdf", html_as_pdf, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert!(
        error_message(&r.body).contains("Only PDF, PNG and JPEG"),
        "{}",
        r.body
    );
    // A PDF is a contract, never a signature.
    let r = call(
        &w.dashboard,
        upload(&owner, &org_path, "signature", "s.png", PDF, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    // Over 10 MB (inside the body limit): 413 in the user's words.
    let mut big = PDF.to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let r = call(
        &w.dashboard,
        upload(&owner, &deal_path, "contract", "big.pdf", &big, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(
        error_message(&r.body).contains("larger than 10 MB"),
        "{}",
        r.body
    );
    // Over the body limit itself: 413 before the handler.
    big.resize(12 * 1024 * 1024, b' ');
    let r = call(
        &w.dashboard,
        upload(&owner, &deal_path, "contract", "big.pdf", &big, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    // No kind, an empty file: 422.
    let r = call(
        &w.dashboard,
        upload(&owner, &deal_path, "letter", "c.pdf", PDF, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = call(
        &w.dashboard,
        upload(&owner, &deal_path, "contract", "c.pdf", b"", false),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // A browser's form goes back to the page with the refusal's code.
    let r = call(
        &w.dashboard,
        upload(&owner, &deal_path, "contract", "x.pdf", html_as_pdf, true),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.headers[header::LOCATION],
        format!("/deals/{deal}?files=type").as_str()
    );
    // Unknown, malformed and another workspace's records: 404.
    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/api/files/deal/{unknown}"),
        "/api/files/deal/nope".to_string(),
        format!("/api/files/person/{deal}"),
    ] {
        let r = call(
            &w.dashboard,
            upload(&owner, &path, "contract", "c.pdf", PDF, false),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let r = call(
        &w.dashboard,
        upload(&other, &deal_path, "contract", "c.pdf", PDF, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // A viewer reads deals but does not write them.
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let r = call(
        &w.dashboard,
        upload(&viewer, &deal_path, "contract", "c.pdf", PDF, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(stored(&w).await, 0, "a refused upload stores no row");
    assert_eq!(objects(), before, "a refused upload stores no object");

    // A contract on the deal (a script) and a signature on the
    // organisation (a browser form).
    let r = call(
        &w.dashboard,
        upload(
            &owner,
            &deal_path,
            "contract",
            "../../Contract Hendriks;v2.pdf",
            PDF,
            false,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let file: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let file = file["id"].as_str().unwrap().to_string();
    let r = call(
        &w.dashboard,
        upload(&owner, &org_path, "signature", "sig", PNG, true),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.headers[header::LOCATION],
        format!("/organisations/{org}?files=uploaded").as_str()
    );
    assert_eq!(stored(&w).await, 2);

    // Sealed at rest: neither the PDF header nor its text in clear.
    let data_dir = crate::test_config("postgres://unused").data_dir;
    let dir = data_dir.join(format!("files/{DE_VRIES}/attachments"));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("%PDF") && !text.contains("Hendriks 2026"));
    }

    // The panels list them, with their download links, in both languages.
    let page = call(
        &w.dashboard,
        get_with(&format!("/deals/{deal}"), &[("metiva_session", &owner)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!("/files/{file}")),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Contract Hendriks_v2.pdf"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Contracts and signatures"),
        "{}",
        page.body
    );
    let page = call(
        &w.dashboard,
        get_with(
            &format!("/organisations/{org}?lang=nl&files=uploaded"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Contracten en handtekeningen"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Bestand geüpload."), "{}", page.body);
    assert!(page.body.contains("sig.png"), "{}", page.body);

    // The download: the bytes, the checked type, never rendered inline.
    let href = format!("/files/{file}");
    let r = call(
        &w.dashboard,
        get_with(&href, &[("metiva_session", &viewer)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let h = |k: &str| {
        r.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(h("content-type"), "application/pdf");
    assert_eq!(
        h("content-disposition"),
        "attachment; filename=\"Contract Hendriks_v2.pdf\""
    );
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("cache-control"), "no-store");
    assert_eq!(r.body.as_bytes(), PDF);
    let audit = w.audit_rows(DE_VRIES).await;
    let count = |action: &str, target: &str| {
        audit
            .iter()
            .filter(|a| a.action == action && a.target_id.as_deref() == Some(target))
            .count()
    };
    assert_eq!(count("files.uploaded", &deal.to_string()), 1);
    assert_eq!(count("files.uploaded", &org.to_string()), 1);
    assert_eq!(count("files.downloaded", &file), 1);

    // Another workspace's member, a malformed or unknown id: 404, and not
    // audited.
    for (token, path) in [
        (&other, href.clone()),
        (&owner, "/files/nope".to_string()),
        (&owner, format!("/files/{}", uuid::Uuid::new_v4())),
    ] {
        let r = call(&w.dashboard, get_with(&path, &[("metiva_session", token)])).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
    }
    let audit = w.audit_rows(DE_VRIES).await;
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "files.downloaded")
            .count(),
        1
    );
}

/// The delete form's post, as a browser (`html`, Dutch or English) or a
/// script sends it.
fn delete(token: &str, id: &str, html: bool, lang: &str) -> Request<Body> {
    let b = Request::post(format!("/files/{id}/delete"))
        .header(header::ACCEPT_LANGUAGE, lang)
        .header(header::COOKIE, format!("metiva_session={token}"));
    let b = if html {
        b.header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
    } else {
        b.header(header::ACCEPT, "application/json")
    };
    b.body(Body::empty()).unwrap()
}

/// The object key of a stored file (read by the superuser).
async fn object_key(w: &World, id: &str) -> Option<String> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct K {
        #[diesel(sql_type = diesel::sql_types::Text)]
        object_key: String,
    }
    let mut su = w.tdb.connect_as("postgres").await;
    diesel::sql_query(format!(
        "SELECT object_key FROM stored_files WHERE id = '{}'",
        uuid::Uuid::parse_str(id).unwrap()
    ))
    .load::<K>(&mut su)
    .await
    .unwrap()
    .pop()
    .map(|k| k.object_key)
}

#[tokio::test]
async fn attachments_are_deleted_by_writers_only_row_object_and_audit() {
    let w = World::new().await;
    // A data directory of this test's own: the shared one's objects are
    // counted by the other tests meanwhile.
    let data_dir = metiva_testkit::scratch_dir("attachment-delete");
    let config = server::config::Config {
        data_dir: data_dir.clone(),
        ..crate::test_config(&w.tdb.app_url())
    };
    let router = server::http::dashboard_router_with(&config, w.auth.clone());
    let (deal, org) = records(&w, DE_VRIES).await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let id_of = |body: &str| {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["id"].as_str().unwrap().to_string()
    };
    let r = call(
        &router,
        upload(
            &owner,
            &format!("/api/files/deal/{deal}"),
            "contract",
            "c.pdf",
            PDF,
            false,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let contract = id_of(&r.body);
    let r = call(
        &router,
        upload(
            &owner,
            &format!("/api/files/organisation/{org}"),
            "signature",
            "s.png",
            PNG,
            false,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let signature = id_of(&r.body);
    let key = object_key(&w, &contract).await.unwrap();
    let object = data_dir.join("files").join(&key);
    assert!(object.exists(), "{}", object.display());

    // The panel offers the delete form to a writer, in both languages.
    let page = call(
        &router,
        get_with(&format!("/deals/{deal}"), &[("metiva_session", &owner)]),
    )
    .await;
    assert!(
        page.body.contains(&format!("/files/{contract}/delete")),
        "{}",
        page.body
    );
    assert!(page.body.contains("Delete file"), "{}", page.body);
    let page = call(
        &router,
        get_with(
            &format!("/organisations/{org}?lang=nl"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert!(page.body.contains("Bestand verwijderen"), "{}", page.body);
    // Not to a reader, who is refused the post too (403, in Dutch here).
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let page = call(
        &router,
        get_with(&format!("/deals/{deal}"), &[("metiva_session", &viewer)]),
    )
    .await;
    assert!(
        page.body.contains(&format!("/files/{contract}"))
            && !page.body.contains(&format!("/files/{contract}/delete")),
        "{}",
        page.body
    );
    let r = call(&router, delete(&viewer, &contract, false, "nl")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        error_message(&r.body).contains("Bestanden verwijderen vraagt schrijfrecht"),
        "{}",
        r.body
    );
    // Another workspace's member, a malformed or unknown id: 404.
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    for (token, id) in [
        (&other, contract.clone()),
        (&owner, "nope".to_string()),
        (&owner, uuid::Uuid::new_v4().to_string()),
    ] {
        let r = call(&router, delete(token, &id, false, "en")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{id}: {}", r.body);
    }
    // A cross-site form post: refused by the dashboard's origin check.
    let mut forged = delete(&owner, &contract, true, "en");
    forged
        .headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    let r = call(&router, forged).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(stored(&w).await, 2, "nothing deleted so far");
    assert!(object.exists());

    // The owner's form: back to the deal, row and object gone, audited.
    let r = call(&router, delete(&owner, &contract, true, "en")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.headers[header::LOCATION],
        format!("/deals/{deal}?files=deleted").as_str()
    );
    assert_eq!(stored(&w).await, 1);
    assert_eq!(object_key(&w, &contract).await, None);
    assert!(!object.exists(), "{}", object.display());
    let audit = w.audit_rows(DE_VRIES).await;
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "files.deleted" && a.target_id.as_deref() == Some(&contract))
            .count(),
        1
    );
    let page = call(
        &router,
        get_with(
            &format!("/deals/{deal}?files=deleted"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert!(page.body.contains("File deleted."), "{}", page.body);
    assert!(
        !page.body.contains(&format!("/files/{contract}")),
        "{}",
        page.body
    );
    let r = call(
        &router,
        get_with(&format!("/files/{contract}"), &[("metiva_session", &owner)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // A script: 204; the same id again is 404 (gone), and audited once.
    let r = call(&router, delete(&owner, &signature, false, "en")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = call(&router, delete(&owner, &signature, false, "en")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(stored(&w).await, 0);
    let audit = w.audit_rows(DE_VRIES).await;
    assert_eq!(
        audit.iter().filter(|a| a.action == "files.deleted").count(),
        2
    );

    // The app role deletes attachments only: a logo (or an invoice PDF,
    // a fiscal record) survives even a bare DELETE under the binding.
    use diesel_async::SimpleAsyncConnection;
    let mut su = w.tdb.connect_as("postgres").await;
    su.batch_execute(
        "INSERT INTO stored_files (company_id, purpose, name, content_type, size_bytes, sha256,
                                   object_key, key_id, nonce)
         VALUES ('cmp_8fa2c1', 'logo', 'logo.png', 'image/png', 1, decode(repeat('00', 32), 'hex'),
                 'cmp_8fa2c1/branding/logo-test', 'k-test', decode(repeat('00', 12), 'hex'))",
    )
    .await
    .unwrap();
    let mut app = w.tdb.connect_as("metiva_app").await;
    app.batch_execute(
        "BEGIN; SELECT set_config('app.company_id', 'cmp_8fa2c1', true);
         DELETE FROM stored_files; COMMIT;",
    )
    .await
    .unwrap();
    assert_eq!(
        w.count_in(
            DE_VRIES,
            "SELECT count(*) AS n FROM stored_files WHERE purpose = 'logo'"
        )
        .await,
        1
    );
}
