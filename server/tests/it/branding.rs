//! Workspace branding for invoices (issue 17), through the real router:
//! owners save the address, KvK and VAT number (422 naming each bad
//! field, 403 for other roles) and a logo (PNG or JPEG by content, at
//! most 512 KB; nothing stored when refused); the settings page shows
//! them in Dutch; the next invoice PDF carries them and the logo image.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use metiva_db::CompanyId;

use crate::crm::{code, script};
use crate::world::{DE_VRIES, World, call, call_bytes, get_with};

const BOUNDARY: &str = "metiva-logo-test-boundary";
/// A 1 x 1 RGBA PNG.
const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0d\x49\x44\x41\x54\x78\xda\x63\x64\x60\xf8\x5f\x0f\x00\x02\x87\x01\x80\xeb\x47\xba\x92\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

fn logo(token: &str, file: &[u8]) -> Request<Body> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"logo.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Request::post("/api/files/branding/logo")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, format!("metiva_session={token}"))
        .body(Body::from(body))
        .unwrap()
}

async fn logos(w: &World) -> i64 {
    w.count_in(
        DE_VRIES,
        "SELECT count(*) AS n FROM stored_files WHERE purpose = 'logo'",
    )
    .await
}

#[tokio::test]
async fn owners_brand_their_invoices_with_checked_details_and_a_logo() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let admin = w.sign_in("admin@devries.example", DE_VRIES).await;

    // Bad fields: 422 naming each, nothing saved.
    let bad = [
        ("address", "Keizersgracht 1"),
        ("kvk", "1234"),
        ("vat", "DE123456789"),
    ];
    let r = call(&w.dashboard, script("/api/save_branding", &owner, &bad)).await;
    assert_eq!(
        (r.status, code(&r.body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation".into()),
        "{}",
        r.body
    );
    for field in ["KvK number", "VAT number"] {
        assert!(r.body.contains(field), "{field} not named: {}", r.body);
    }
    let good = [
        ("address", "Keizersgracht 1, 1015 CJ Amsterdam"),
        ("kvk", "1234 5678"),
        ("vat", "nl123456789b01"),
    ];
    // Another role: 403, for the fields and the logo.
    let r = call(&w.dashboard, script("/api/save_branding", &admin, &good)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(&w.dashboard, logo(&admin, PNG)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = call(&w.dashboard, script("/api/save_branding", &owner, &good)).await;
    assert!(r.status.is_success(), "{:?} {}", r.status, r.body);

    // Logo refusals store nothing.
    let r = call(&w.dashboard, logo(&owner, b"GIF89a\x01\x00\x01\x00")).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    let mut big = PNG.to_vec();
    big.resize(512 * 1024 + 1, 0);
    let r = call(&w.dashboard, logo(&owner, &big)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(r.body.contains("512 KB"), "{}", r.body);
    let mut damaged = PNG.to_vec();
    damaged.truncate(40);
    let r = call(&w.dashboard, logo(&owner, &damaged)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(logos(&w).await, 0);
    let r = call(&w.dashboard, logo(&owner, PNG)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(logos(&w).await, 1);

    // The settings page, in Dutch.
    let page = call(
        &w.dashboard,
        get_with("/settings/branding?lang=nl", &[("metiva_session", &owner)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "Huisstijl op facturen",
        "Keizersgracht 1, 1015 CJ Amsterdam",
        "12345678",
        "NL123456789B01",
        "opgeslagen",
    ] {
        assert!(page.body.contains(text), "{text}: {}", page.body);
    }
    let audit = w.audit_rows(DE_VRIES).await;
    for action in ["branding.saved", "branding.logo_saved"] {
        assert_eq!(
            audit.iter().filter(|a| a.action == action).count(),
            1,
            "{action}"
        );
    }

    // The next invoice PDF shows them, and draws the logo.
    use metiva_db::billing::{connection, pdf};
    use metiva_db::files::FileStore;
    assert!(w.owner_db.seed_demo_billing().await.unwrap());
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let db = w.tdb.database();
    let keys = w.auth.field_keys.clone();
    let files = FileStore::local(&crate::test_config(&w.tdb.app_url()).data_dir).unwrap();
    connection::load_key(&db, &keys, &company).await.unwrap();
    let id = w
        .id_in(
            DE_VRIES,
            "SELECT id FROM invoices ORDER BY seq DESC LIMIT 1",
        )
        .await;
    db.tenant(&company, async |tc| {
        pdf::render_and_store(tc, &files, &keys, id).await
    })
    .await
    .unwrap();
    let finance = w.sign_in("finance@devries.example", DE_VRIES).await;
    let (r, pdf) = call_bytes(
        &w.dashboard,
        get_with(
            &format!("/billing/invoices/{id}/pdf"),
            &[("metiva_session", &finance)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The text is in an embedded font: read back through its /ToUnicode.
    let runs = metiva_db::billing::pdf_text::text_runs(&pdf).unwrap();
    for text in [
        "Keizersgracht 1, 1015 CJ Amsterdam",
        "KvK 12345678",
        "Btw NL123456789B01",
    ] {
        assert!(runs.iter().any(|t| t == text), "{text}: {runs:?}");
    }
    // The 1 x 1 logo is drawn on the page.
    assert_eq!(
        metiva_db::billing::pdf_text::drawn_images(&pdf).unwrap(),
        [(1, 1)]
    );
}
