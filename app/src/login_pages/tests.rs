//! Hostile input is rendered as text, never as markup.

use leptos::prelude::*;
use metiva_db::CompanyId;
use metiva_db::login::Workspace;

use super::*;
use crate::i18n::Lang;

const HOSTILE: &str = r#""><script>alert(1)</script>&x"#;
const HOSTILE_TEXT: &str = r#""&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;x"#;
const HOSTILE_ATTR: &str = "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;x";

/// Nothing hostile got through as markup, and the page ships no script.
fn assert_inert(html: &str) {
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains(HOSTILE), "{html}");
    assert!(!html.contains("&x"), "a bare ampersand: {html}");
}

fn hostile_flow() -> FlowFields {
    FlowFields {
        return_to: format!("http://127.0.0.1:3000/{HOSTILE}"),
        state: HOSTILE.into(),
        company: Some(HOSTILE.into()),
        purpose: Some(HOSTILE.into()),
    }
}

#[test]
fn the_sign_in_page_escapes_the_flow_and_the_email() {
    let html = render(|| {
        view! {
            <SignInPage lang=Lang::Nl flow=hostile_flow() self_url=format!("/login?state={HOSTILE}")
                email=HOSTILE.to_string() error=Some(crate::i18n::tr(Lang::Nl, "Email or password is incorrect.")) />
        }
    });
    assert_inert(&html);
    assert!(
        html.starts_with(r#"<!DOCTYPE html><html lang="nl">"#),
        "{html}"
    );
    assert!(html.contains(r#"<link rel="stylesheet" href="/pkg/metiva.css">"#));
    assert!(html.contains("<title>Inloggen bij Metiva · Metiva</title>"));
    // As attribute values: four flow fields, the email, two language links.
    assert_eq!(html.matches(HOSTILE_ATTR).count(), 7, "{html}");
    assert!(html.contains(&format!(r#"value="{HOSTILE_ATTR}""#)));
    assert!(html.contains(r#"role="alert""#));
    assert!(html.contains(r#"<label for="email""#) && html.contains(r#"name="password""#));
}

#[test]
fn the_workspace_list_escapes_names() {
    let workspaces = vec![Workspace {
        company: CompanyId::parse("cmp_8fa2c1").unwrap(),
        name: HOSTILE.into(),
        role: "account_manager".into(),
    }];
    let html = render(|| {
        view! {
            <ChooseWorkspacePage lang=Lang::En flow=hostile_flow() self_url="/login".to_string() workspaces />
        }
    });
    assert_inert(&html);
    assert!(html.contains(HOSTILE_TEXT), "{html}");
    assert!(html.contains(r#"data-company="cmp_8fa2c1""#));
    assert!(html.contains("Account manager"));
}

#[test]
fn error_pages_escape_what_they_echo() {
    let pages = [
        render(|| {
            view! { <TooManyPage lang=Lang::En message=HOSTILE.to_string() back_url=format!("/login?return_to={HOSTILE}") /> }
        }),
        render(|| {
            view! { <RefusalPage lang=Lang::En title="Import refused" message=HOSTILE back_href="/visitors" back_label="Back to visitors" /> }
        }),
        render(
            || view! { <InvitePage lang=Lang::En email=HOSTILE.to_string() has_password=false error=Some("That password is incorrect.") /> },
        ),
        render(
            || view! { <IpRevealedPage lang=Lang::En address=HOSTILE.to_string() audit_id=7 /> },
        ),
        render(|| view! { <InvitationCreatedPage lang=Lang::En link=HOSTILE.to_string() /> }),
    ];
    for html in pages {
        assert_inert(&html);
        assert!(
            html.contains(HOSTILE_TEXT) || html.contains(HOSTILE_ATTR),
            "{html}"
        );
    }
}

#[test]
fn notices_are_announced() {
    let refused = render(|| view! { <CallbackFailedPage lang=Lang::En /> });
    assert!(refused.contains(r#"<p role="alert""#), "{refused}");
    assert!(refused.contains("This sign-in link has expired or was already used."));
    let info = render(
        || view! { <SignedOutPage lang=Lang::Nl app_url="http://127.0.0.1:3000".to_string() /> },
    );
    assert!(info.contains(r#"<p role="status""#), "{info}");
    assert!(info.contains(r#"href="http://127.0.0.1:3000/""#), "{info}");
    // Only where reloading loses nothing: no language links here.
    assert!(!info.contains("hreflang"));
}
