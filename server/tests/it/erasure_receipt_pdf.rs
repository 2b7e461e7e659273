//! The erasure receipt as a PDF: downloaded through the real router,
//! parsed back (its text through the embedded font's /ToUnicode map),
//! saying what the text receipt says, and holding neither the subject's
//! name nor email; a note outside WinAnsi prints as written.

use axum::http::{StatusCode, header};

use crate::crm::script;
use crate::world::{BROUWER, DE_VRIES, World, call, call_bytes, get_with};

const NAME: &str = "Gerrit Lanting";
const EMAIL: &str = "gerrit.lanting@voorbeeld.nl";

/// The strings the PDF draws, read back through its embedded fonts'
/// /ToUnicode maps.
fn drawn_text(pdf: &[u8]) -> Vec<String> {
    metiva_db::billing::pdf_text::text_runs(pdf).unwrap()
}

#[tokio::test]
async fn the_erasure_receipt_downloads_as_a_pdf_without_personal_data() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let r = call(
        &w.dashboard,
        script(
            "/api/save_contact",
            &owner,
            &[("name", NAME), ("email", EMAIL)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id: String = serde_json::from_str(&r.body).unwrap();
    let r = call(
        &w.dashboard,
        script(
            "/api/erase_contact",
            &owner,
            &[("id", id.as_str()), ("reason", "subject_request")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let receipt: String = serde_json::from_str(&r.body).unwrap();

    // The page after an erasure links all three downloads.
    let page = call(
        &w.dashboard,
        get_with(
            &format!("/persons?done=erased&receipt={receipt}"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert!(
        page.body
            .contains(&format!("/erasures/{receipt}/receipt.pdf")),
        "no PDF link: {}",
        page.body
    );

    let href = format!("/erasures/{receipt}/receipt.pdf");
    let (pdf, bytes) =
        call_bytes(&w.dashboard, get_with(&href, &[("metiva_session", &owner)])).await;
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.body);
    let h = |name: header::HeaderName| {
        pdf.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(h(header::CONTENT_TYPE), "application/pdf");
    assert_eq!(
        h(header::CONTENT_DISPOSITION),
        format!("attachment; filename=\"metiva-erasure-{receipt}.pdf\"")
    );
    assert_eq!(h(header::CACHE_CONTROL), "no-store");
    assert!(bytes.starts_with(b"%PDF-"), "{}", pdf.body);
    assert!(pdf.body.trim_end().ends_with("%%EOF"));

    // Parsed back: the same lines as the text receipt.
    let drawn = drawn_text(&bytes);
    assert_eq!(
        drawn.first().map(String::as_str),
        Some(format!("Metiva erasure receipt {receipt}").as_str()),
        "{drawn:?}"
    );
    for want in [
        "Reason: subject_request",
        "Subject: person",
        "persons: 1 erased, 0 kept",
    ] {
        assert!(drawn.iter().any(|l| l == want), "{want} not in {drawn:?}");
    }
    let text = call(
        &w.dashboard,
        get_with(
            &format!("/erasures/{receipt}/receipt.txt"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    let text_lines: Vec<&str> = text.body.lines().filter(|l| !l.is_empty()).collect();
    for l in &text_lines {
        // Long lines are wrapped in the PDF: each word must be drawn.
        for word in l.split(' ') {
            assert!(
                drawn.iter().any(|d| d.contains(word)),
                "{word} of {l} missing from {drawn:?}"
            );
        }
    }

    // No personal data, in the drawn text or anywhere in the file (its
    // streams are compressed: the drawn text is what counts).
    let lower = pdf.body.to_lowercase();
    let drawn_lower = drawn.join("\n").to_lowercase();
    for pii in ["gerrit", "lanting", "voorbeeld.nl"] {
        assert!(!lower.contains(pii), "{pii} in the PDF");
        assert!(!drawn_lower.contains(pii), "{pii} drawn in the PDF");
    }

    // Another workspace: not found.
    let r = call(&w.dashboard, get_with(&href, &[("metiva_session", &other)])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// A note outside WinAnsi (the old writer printed `?` for "Ł" and "ř")
/// prints and reads back as written, while the subject's name, itself
/// outside WinAnsi, still appears nowhere.
#[tokio::test]
async fn a_receipt_note_outside_winansi_prints_as_written() {
    const SUBJECT: &str = "Zoë Łukasiewicz-Dvořák";
    const NOTE: &str = "Verzoek per brief uit Łódź – příloha č. 2, ontvangen 3 december";
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let r = call(
        &w.dashboard,
        script(
            "/api/save_contact",
            &owner,
            &[("name", SUBJECT), ("email", "zoe@voorbeeld.pl")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id: String = serde_json::from_str(&r.body).unwrap();
    let r = call(
        &w.dashboard,
        script(
            "/api/erase_contact",
            &owner,
            &[("id", id.as_str()), ("reason", "other"), ("note", NOTE)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let receipt: String = serde_json::from_str(&r.body).unwrap();
    let (pdf, bytes) = call_bytes(
        &w.dashboard,
        get_with(
            &format!("/erasures/{receipt}/receipt.pdf"),
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.body);
    let drawn = drawn_text(&bytes);
    let note = format!("Note: {NOTE}");
    assert!(drawn.contains(&note), "{note} not in {drawn:?}");
    assert!(!drawn.iter().any(|l| l.contains('?')), "{drawn:?}");
    let all = drawn.join("\n").to_lowercase();
    for word in ["zoë", "łukasiewicz", "dvořák", "voorbeeld.pl"] {
        assert!(!all.contains(word), "{word} drawn in {drawn:?}");
    }
}
