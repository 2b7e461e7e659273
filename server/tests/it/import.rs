//! The CSV import through the real router: upload (multipart), preview
//! and confirm, per role; a bad line is named with its line number and
//! nothing is written, the corrected file writes every row; the 5 MB and
//! 20,000-line limits; Excel's semicolons and byte-order mark; another
//! workspace's import is not found; plain forms and Dutch.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::world::{BROUWER, DE_VRIES, World, call, get_with, post_form};

const BOUNDARY: &str = "metiva-import-test-boundary";

/// The upload form as a browser posts it (`html`) or a script.
fn upload(token: &str, kind: &str, file: &[u8], html: bool) -> Request<Body> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"import.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(
        format!(
            "\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\r\n--{BOUNDARY}--\r\n"
        )
        .as_bytes(),
    );
    Request::post("/api/import")
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

fn plain(uri: &str, token: &str, form: &[(&str, &str)]) -> Request<Body> {
    let mut req = post_form(uri, &[("metiva_session", token)], form);
    req.headers_mut().insert(
        header::ACCEPT,
        header::HeaderValue::from_static("text/html,application/xhtml+xml"),
    );
    req
}

fn script(uri: &str, token: &str, form: &[(&str, &str)]) -> Request<Body> {
    post_form(uri, &[("metiva_session", token)], form)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Uploads as a script; the staged import's id.
async fn staged(w: &World, token: &str, kind: &str, file: &[u8]) -> String {
    let r = call(&w.dashboard, upload(token, kind, file, false)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    json(&r.body)["id"].as_str().unwrap().to_string()
}

async fn page(w: &World, token: &str, path: &str) -> crate::world::Resp {
    call(&w.dashboard, get_with(path, &[("metiva_session", token)])).await
}

/// Excel in a Dutch locale: a byte-order mark, semicolons, CRLF; line 3
/// has a bad email address.
const BAD: &str = "\u{feff}Naam;E-mailadres;Telefoon;Organisatie\r\n\
                   Anouk Jansma;anouk@bloemen.example;06 1234 5678;Kuipers Bloemen BV\r\n\
                   Bram Kuiper;bram@bloemen;;\r\n\
                   Carla Wouters;carla@bloemen.example;+31 20 123 4567;kuipers bloemen bv\r\n";

#[tokio::test]
async fn only_roles_with_crm_import_may_import() {
    let w = World::new().await;
    for (role, may) in [
        ("owner", true),
        ("admin", true),
        ("account_manager", true),
        ("sales", true),
        ("marketing", false),
        ("finance", false),
        ("member", false),
        ("viewer", false),
    ] {
        let token = w
            .sign_in(&format!("{role}@devries.example"), DE_VRIES)
            .await;
        let r = call(
            &w.dashboard,
            upload(&token, "contacts", b"name\nP\n", false),
        )
        .await;
        let want = if may {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(r.status, want, "{role}: {}", r.body);
        let p = page(&w, &token, "/import").await;
        assert_eq!(
            p.body.contains("import-form"),
            may,
            "{role} and the upload form"
        );
        let r = call(
            &w.dashboard,
            script(
                "/api/confirm_import",
                &token,
                &[
                    ("id", "00000000-0000-4000-8000-000000000000"),
                    ("mapping", "name"),
                ],
            ),
        )
        .await;
        let want = if may {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(r.status, want, "{role} confirming: {}", r.body);
        // The lists link the import for these roles only; the export is
        // linked for roles with crm.export (the same four here).
        let persons = page(&w, &token, "/persons").await;
        assert_eq!(
            persons.body.contains("/import?kind=contacts"),
            may,
            "{role}"
        );
        assert_eq!(persons.body.contains("/persons.csv"), may, "{role}");
        let orgs = page(&w, &token, "/organisations").await;
        assert_eq!(
            orgs.body.contains("/import?kind=organisations"),
            may,
            "{role}"
        );
    }
}

#[tokio::test]
async fn a_bad_line_is_named_and_nothing_is_written_then_the_fixed_file_writes_every_row() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;

    // A browser's upload goes to the preview.
    let r = call(
        &w.dashboard,
        upload(&sales, "contacts", BAD.as_bytes(), true),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let preview = r.location();
    assert!(preview.starts_with("/import/"), "{preview}");
    let id = preview.trim_start_matches("/import/").to_string();

    // The preview: semicolons and the BOM read, the Dutch headers mapped,
    // line 3's email named, the others shown as they will be stored.
    let r = call(
        &w.dashboard,
        script("/api/import_preview", &sales, &[("id", &id)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let p = json(&r.body);
    assert_eq!(p["separator"], "semicolon (;)", "{p}");
    assert_eq!(p["mapping"], "name,email,phone,organisation", "{p}");
    assert_eq!(
        p["columns"][0]["header"], "Naam",
        "BOM left in the header: {p}"
    );
    assert_eq!(p["lines"], 3);
    let problems = p["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{p}");
    assert_eq!(
        (&problems[0]["line"], &problems[0]["field"]),
        (&3.into(), &"Email".into())
    );
    assert_eq!(p["sample"][0][1][2], "+31612345678", "{p}");
    // Line 4 names the new organisation in other case: linked to the one
    // organisation the import creates, under its first spelling.
    assert_eq!(p["sample"][2][1][3], "Kuipers Bloemen BV", "{p}");
    assert_eq!(p["new_organisations"], 1, "{p}");
    let html = page(&w, &sales, &preview).await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(html.body.contains(r#"data-line="3""#), "line 3 not listed");
    assert!(
        !html.body.contains("import-confirm"),
        "a confirm button beside a failing line"
    );

    // Confirming anyway: a 422 naming line 3 and the field, and nothing
    // is written; a plain form goes back to the preview.
    let r = call(
        &w.dashboard,
        script(
            "/api/confirm_import",
            &sales,
            &[("id", &id), ("mapping", "name,email,phone,organisation")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let msg = json(&r.body)["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("Line 3: Email"), "{msg}");
    let r = call(
        &w.dashboard,
        plain(
            "/api/confirm_import",
            &sales,
            &[("id", &id), ("mapping", "name,email,phone,organisation")],
        ),
    )
    .await;
    assert!(r.status.is_redirection(), "{:?}", r.status);
    let back = r.location();
    assert!(
        back.starts_with(&format!("/import/{id}?c0=name&c1=email")) && back.contains("refused=1"),
        "{back}"
    );
    let html = page(&w, &sales, &back).await;
    assert!(html.body.contains("import-refused") && html.body.contains(r#"data-line="3""#));
    let persons = page(&w, &sales, "/persons").await;
    for name in ["Anouk Jansma", "Carla Wouters"] {
        assert!(!persons.body.contains(name), "{name} was written");
    }

    // The fixed file, by plain forms all the way: every row is written,
    // the organisation once, linked to both contacts.
    let fixed = BAD.replace("bram@bloemen;", "bram@bloemen.example;");
    let r = call(
        &w.dashboard,
        upload(&sales, "contacts", fixed.as_bytes(), true),
    )
    .await;
    let id = r.location().trim_start_matches("/import/").to_string();
    let html = page(&w, &sales, &r.location()).await;
    assert!(html.body.contains("import-confirm"), "no confirm button");
    assert!(!html.body.contains("import-problem"));
    let r = call(
        &w.dashboard,
        plain(
            "/api/confirm_import",
            &sales,
            &[("id", &id), ("mapping", "name,email,phone,organisation")],
        ),
    )
    .await;
    assert_eq!(r.location(), "/persons?done=imported");
    let persons = page(&w, &sales, "/persons?done=imported").await;
    for name in ["Anouk Jansma", "Bram Kuiper", "Carla Wouters"] {
        assert!(persons.body.contains(name), "{name} missing");
    }
    assert!(
        persons
            .body
            .contains("Imported: every line of the file was saved.")
    );
    let orgs = call(&w.dashboard, script("/api/organisations", &sales, &[])).await;
    let named = json(&orgs.body)["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["name"] == "Kuipers Bloemen BV")
        .count();
    assert_eq!(named, 1, "{}", orgs.body);

    // Audited with counts, never a name; the staged file is gone.
    let audit = w.audit_rows(DE_VRIES).await;
    let row = audit
        .iter()
        .find(|a| a.action == "crm.contacts_imported")
        .unwrap_or_else(|| panic!("the import was not audited"));
    assert_eq!(row.target_id.as_deref(), Some("3"));
    assert!(
        audit.iter().any(
            |a| a.action == "crm.organisations_imported" && a.target_id.as_deref() == Some("1")
        )
    );
    let r = call(
        &w.dashboard,
        script(
            "/api/confirm_import",
            &sales,
            &[("id", &id), ("mapping", "name,email,phone,organisation")],
        ),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "imported twice: {}",
        r.body
    );
    // The same file again: every email is now taken, named per line.
    let again = staged(&w, &sales, "contacts", fixed.as_bytes()).await;
    let r = call(
        &w.dashboard,
        script("/api/import_preview", &sales, &[("id", &again)]),
    )
    .await;
    let p = json(&r.body);
    let lines: Vec<u64> = p["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4], "{p}");
}

#[tokio::test]
async fn organisations_import_with_a_changed_mapping() {
    let w = World::new().await;
    let owner = w.sign_in("owner@brouwer.example", BROUWER).await;
    // Commas; the second column's header names no field, so it is left
    // out until the mapping says it is the KvK number.
    let file = "name,registration\nKaasboer Hoekstra,6912 3456\nVisboer Hoekstra,12345678\n";
    let id = staged(&w, &owner, "organisations", file.as_bytes()).await;
    let html = page(&w, &owner, &format!("/import/{id}")).await;
    assert!(html.body.contains("import-mapping"));
    assert!(html.body.contains(r#"name="c1""#));
    let html = page(&w, &owner, &format!("/import/{id}?c0=name&c1=kvk")).await;
    assert!(html.body.contains(r#"name="mapping" value="name,kvk""#));
    let r = call(
        &w.dashboard,
        plain(
            "/api/confirm_import",
            &owner,
            &[("id", &id), ("mapping", "name,kvk")],
        ),
    )
    .await;
    assert_eq!(r.location(), "/organisations?done=imported");
    let orgs = page(&w, &owner, "/organisations").await;
    assert!(orgs.body.contains("Kaasboer Hoekstra") && orgs.body.contains("69123456"));
    // Two columns for one field, or no name: refused as a whole.
    let id = staged(&w, &owner, "organisations", file.as_bytes()).await;
    for mapping in ["kvk,kvk", ",kvk"] {
        let r = call(
            &w.dashboard,
            script(
                "/api/confirm_import",
                &owner,
                &[("id", &id), ("mapping", mapping)],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{mapping}");
        assert!(r.body.contains("Column mapping"), "{}", r.body);
    }
}

#[tokio::test]
async fn files_over_5_mb_or_20000_lines_or_not_utf8_are_refused() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let check = |status: StatusCode, body: &str, want: StatusCode, words: &str| {
        assert_eq!(status, want, "{body}");
        let msg = json(body)["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains(words), "{msg}");
    };

    // Just over 5 MB: 413, in words; a browser goes back to the form,
    // which says so.
    let mut big = b"name,notes\n".to_vec();
    while big.len() <= 5 * 1024 * 1024 {
        big.extend_from_slice(b"Persoon,een regel met wat notities erin\n");
    }
    let r = call(&w.dashboard, upload(&sales, "contacts", &big, false)).await;
    check(
        r.status,
        &r.body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "larger than 5 MB",
    );
    let r = call(&w.dashboard, upload(&sales, "contacts", &big, true)).await;
    assert_eq!(r.location(), "/import?refused=file.too_large");
    let form = page(&w, &sales, &r.location()).await;
    assert!(form.body.contains("The file is larger than 5 MB."));
    // Far over: the body limit refuses it before it is read.
    let huge = vec![b'a'; 8 * 1024 * 1024];
    let r = call(&w.dashboard, upload(&sales, "contacts", &huge, false)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);

    // 20,000 data lines are accepted; one more is refused.
    let mut lines = String::from("name\n");
    for i in 0..20_000 {
        lines.push_str(&format!("P{i}\n"));
    }
    staged(&w, &sales, "contacts", lines.as_bytes()).await;
    lines.push_str("P20000\n");
    let r = call(
        &w.dashboard,
        upload(&sales, "contacts", lines.as_bytes(), false),
    )
    .await;
    check(
        r.status,
        &r.body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "more than 20,000 lines",
    );

    // Latin-1, not UTF-8: named, with how to save it.
    let r = call(
        &w.dashboard,
        upload(&sales, "contacts", b"naam\nRen\xe9\n", false),
    )
    .await;
    check(
        r.status,
        &r.body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "CSV UTF-8",
    );
    // No file at all, and a kind that does not exist.
    let r = call(&w.dashboard, upload(&sales, "contacts", b"", false)).await;
    check(
        r.status,
        &r.body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Choose a CSV file",
    );
    let r = call(&w.dashboard, upload(&sales, "deals", b"name\nX\n", false)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

#[tokio::test]
async fn another_workspaces_import_is_not_found() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let admin = w.sign_in("admin@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let id = staged(&w, &sales, "contacts", BAD.as_bytes()).await;
    // Another workspace, and another member of the same one: the same 404
    // for the page, the preview and the confirmation.
    for token in [&other, &admin] {
        let html = page(&w, token, &format!("/import/{id}")).await;
        assert_eq!(html.status, StatusCode::NOT_FOUND);
        assert!(!html.body.contains("Anouk Jansma"));
        let r = call(
            &w.dashboard,
            script("/api/import_preview", token, &[("id", &id)]),
        )
        .await;
        assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "null"));
        let r = call(
            &w.dashboard,
            script(
                "/api/confirm_import",
                token,
                &[("id", &id), ("mapping", "name,,,")],
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
        assert!(!r.body.contains("Jansma"), "{}", r.body);
    }
    // A plain form for a gone import goes back to the upload form.
    let r = call(
        &w.dashboard,
        plain(
            "/api/confirm_import",
            &other,
            &[("id", &id), ("mapping", "name,,,")],
        ),
    )
    .await;
    assert_eq!(r.location(), "/import?refused=import.gone");
    // The uploader still has it.
    let html = page(&w, &sales, &format!("/import/{id}")).await;
    assert_eq!(html.status, StatusCode::OK);
}

#[tokio::test]
async fn the_import_speaks_dutch() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let id = staged(&w, &sales, "contacts", BAD.as_bytes()).await;
    let dutch = |path: &str| {
        let mut req = get_with(path, &[("metiva_session", &sales)]);
        req.headers_mut().insert(
            header::ACCEPT_LANGUAGE,
            header::HeaderValue::from_static("nl-NL,nl;q=0.9"),
        );
        req
    };
    for path in [
        "/import".to_string(),
        "/import?refused=file.too_many_lines".to_string(),
        format!("/import/{id}"),
        format!("/import/{id}?c0=name&c1=name&c2=&c3=&refused=1"),
    ] {
        let r = call(&w.dashboard, dutch(&path)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let text = crate::security_page::visible_text(&r.body);
        for (en, nl) in app::i18n::CATALOG.iter().chain(app::i18n::CRM_CATALOG) {
            if en != nl {
                assert!(
                    !crate::security_page::has_word(&text, en),
                    "{path}: English {en:?} on the Dutch page:\n{text}"
                );
            }
        }
    }
    // A refusal names the line and field in Dutch.
    let mut req = script(
        "/api/confirm_import",
        &sales,
        &[("id", &id), ("mapping", "name,email,phone,organisation")],
    );
    req.headers_mut().insert(
        header::ACCEPT_LANGUAGE,
        header::HeaderValue::from_static("nl"),
    );
    let r = call(&w.dashboard, req).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Regel 3: E-mailadres"), "{}", r.body);
}
