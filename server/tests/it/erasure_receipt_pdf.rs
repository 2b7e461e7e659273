//! The erasure receipt as a PDF: downloaded through the real router,
//! parsed back (header, trailer, the text of every `Tj`), saying what the
//! text receipt says, and holding neither the subject's name nor email.

use axum::http::{StatusCode, header};

use crate::crm::script;
use crate::world::{BROUWER, DE_VRIES, World, call, get_with};

const NAME: &str = "Gerrit Lanting";
const EMAIL: &str = "gerrit.lanting@voorbeeld.nl";

/// The strings a PDF content stream draws (`(…) Tj`), unescaped.
fn drawn_text(pdf: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in pdf.lines() {
        let Some(start) = line.find(" Td (") else {
            continue;
        };
        let Some(end) = line.rfind(") Tj ET") else {
            continue;
        };
        let raw = &line[start + 5..end];
        let mut s = String::new();
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(n) = chars.next() {
                    s.push(n);
                }
            } else {
                s.push(c);
            }
        }
        out.push(s);
    }
    out
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
    let pdf = call(&w.dashboard, get_with(&href, &[("metiva_session", &owner)])).await;
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
    assert!(pdf.body.starts_with("%PDF-1.4\n"), "{}", pdf.body);
    assert!(pdf.body.ends_with("%%EOF\n"));
    assert!(pdf.body.contains("/Type /Catalog"));

    // Parsed back: the same lines as the text receipt.
    let drawn = drawn_text(&pdf.body);
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

    // No personal data, in the drawn text or anywhere in the file.
    let lower = pdf.body.to_lowercase();
    for pii in ["gerrit", "lanting", "voorbeeld.nl"] {
        assert!(!lower.contains(pii), "{pii} in the PDF");
    }

    // Another workspace: not found.
    let r = call(&w.dashboard, get_with(&href, &[("metiva_session", &other)])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
