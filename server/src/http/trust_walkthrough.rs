//! `POST /trust/walkthrough`: the Trust Center's "Book a walkthrough"
//! form as a plain post, with or without JavaScript and consent.
//!
//! A browser (it accepts HTML) gets a page: 303 to the thanks page's
//! answer on success, the form again with each bad field marked (422),
//! or a refusal page. Other clients get JSON: 201 `{"stored":true}`,
//! 422 `{"errors":{field: message}}`, 503.
//!
//! # Security
//! - Public and unauthenticated by design; the same-origin rule for
//!   writes (`dashboard::common_layers`) still applies, so another site
//!   cannot post it from a visitor's browser.
//! - The workspace it writes to is the configured operator site's, looked
//!   up by its key on the public site-key path; nothing in the form can
//!   choose it. No visitor link is made (see `metiva_db::walkthrough`).
//! - Cheap and bounded: one site lookup and one short transaction, a
//!   body under the dashboard's 64 KB limit with each field capped here,
//!   so it sits comfortably behind a per-IP rate limit (answers are
//!   plain 4xx/5xx a limiter can add 429 to).
//! - Nothing typed is logged.

use std::sync::Arc;

use app::i18n::{Lang, tr};
use app::trust::WalkthroughFields;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::*;
use metiva_db::walkthrough::WalkthroughRequest;
use serde::Deserialize;

use super::trust::{TrustState, page};
use super::ui::wants_html;

/// The form as posted; every field optional so a missing one is named in
/// the answer, not refused by the extractor.
#[derive(Debug, Default, Deserialize)]
pub struct RawWalkthrough {
    name: Option<String>,
    email: Option<String>,
    company: Option<String>,
    message: Option<String>,
    lang: Option<String>,
}

/// Where a browser lands after a stored request.
pub const THANKS_PATH: &str = "/trust/thanks";

const NAME_MAX: usize = 120;
const EMAIL_MAX: usize = 254;
const COMPANY_MAX: usize = 120;
const MESSAGE_MAX: usize = 2000;

/// Checks every field; all problems at once, as (field, English message).
pub fn validate(
    raw: &RawWalkthrough,
    lang: Lang,
) -> Result<WalkthroughRequest, Vec<(&'static str, &'static str)>> {
    let mut errors = Vec::new();
    let trimmed = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_string();
    let single_line = |v: &str| !v.chars().any(char::is_control);
    let name = trimmed(&raw.name);
    if name.is_empty() {
        errors.push(("name", "Please enter your name."));
    } else if name.chars().count() > NAME_MAX || !single_line(&name) {
        errors.push((
            "name",
            "Your name must be one line of at most 120 characters.",
        ));
    }
    let email = trimmed(&raw.email).to_lowercase();
    if !is_email(&email) {
        errors.push((
            "email",
            "Please enter an email address like name@agency.nl.",
        ));
    }
    let company = trimmed(&raw.company);
    if company.chars().count() > COMPANY_MAX || !single_line(&company) {
        errors.push((
            "company",
            "The agency name must be one line of at most 120 characters.",
        ));
    }
    let message = trimmed(&raw.message);
    // Line breaks are welcome in a message; other control characters not.
    if message.chars().count() > MESSAGE_MAX
        || message
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        errors.push((
            "message",
            "The message may be at most 2,000 characters of text.",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(WalkthroughRequest {
        name,
        email,
        organisation: (!company.is_empty()).then_some(company),
        message: (!message.is_empty()).then_some(message),
        lang: lang.code(),
    })
}

/// One `@`, a dotted domain after it, no spaces, at most 254 bytes.
fn is_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && e.len() <= EMAIL_MAX
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub async fn post_walkthrough(
    State(s): State<Arc<TrustState>>,
    headers: HeaderMap,
    form: Result<Form<RawWalkthrough>, axum::extract::rejection::FormRejection>,
) -> Response {
    let html = wants_html(&headers);
    // The form's own language field first (the page it came from), then
    // the request's.
    let raw = form.map(|Form(f)| f).unwrap_or_default();
    let lang = raw
        .lang
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_else(|| super::trust::language(None, &headers).0);
    let request = match validate(&raw, lang) {
        Ok(r) => r,
        Err(errors) => return invalid(&s, html, lang, &raw, errors).await,
    };
    let site = match s.db.site_by_key(&s.site_key).await {
        Ok(Some(site)) => site,
        Ok(None) => {
            return refused(
                html,
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                "Booking is not set up on this deployment yet: its operator workspace has no site.",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "walkthrough: site lookup failed");
            return unavailable(html, lang);
        }
    };
    match s.db.record_walkthrough(&site.company, &request).await {
        Ok(stored) => {
            tracing::info!(company = %site.company.as_str(), person = %stored.person_id, created = stored.created, "walkthrough requested");
            if html {
                // Post/redirect/get: a reload does not post again.
                axum::response::Redirect::to(&format!("{THANKS_PATH}?lang={}", lang.code()))
                    .into_response()
            } else {
                (
                    StatusCode::CREATED,
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"stored":true}"#,
                )
                    .into_response()
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "walkthrough: storing failed");
            unavailable(html, lang)
        }
    }
}

/// 422: the form again with each field marked (a browser), or the
/// errors by field (JSON).
async fn invalid(
    s: &TrustState,
    html: bool,
    lang: Lang,
    raw: &RawWalkthrough,
    errors: Vec<(&'static str, &'static str)>,
) -> Response {
    if !html {
        let map: serde_json::Map<String, serde_json::Value> = errors
            .iter()
            .map(|(f, m)| ((*f).to_string(), serde_json::Value::from(*m)))
            .collect();
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(serde_json::json!({ "errors": map })),
        )
            .into_response();
    }
    let keep = |v: &Option<String>, max: usize| -> String {
        v.as_deref().unwrap_or_default().chars().take(max).collect()
    };
    let form = WalkthroughFields {
        name: keep(&raw.name, NAME_MAX),
        email: keep(&raw.email, EMAIL_MAX),
        company: keep(&raw.company, COMPANY_MAX),
        message: keep(&raw.message, MESSAGE_MAX),
        errors: errors.into_iter().map(|(f, m)| (f, tr(lang, m))).collect(),
    };
    let facts = s.facts().await;
    page(StatusCode::UNPROCESSABLE_ENTITY, None, move || {
        view! { <app::trust::TrustPage lang facts form /> }
    })
}

/// `GET /trust/thanks`.
pub async fn get_thanks(
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Response {
    let (lang, _) = super::trust::language(query.as_deref(), &headers);
    page(StatusCode::OK, None, move || {
        view! { <app::trust::WalkthroughThanksPage lang /> }
    })
}

fn refused(html: bool, lang: Lang, status: StatusCode, en: &'static str) -> Response {
    if html {
        let text = tr(lang, en);
        page(status, None, move || {
            view! { <app::trust::WalkthroughRefusedPage lang text /> }
        })
    } else {
        (status, axum::Json(serde_json::json!({ "error": en }))).into_response()
    }
}

fn unavailable(html: bool, lang: Lang) -> Response {
    let mut r = refused(
        html,
        lang,
        StatusCode::SERVICE_UNAVAILABLE,
        "Your request could not be stored right now; nothing was kept. Please try again in a minute.",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, email: &str, company: &str, message: &str) -> RawWalkthrough {
        RawWalkthrough {
            name: Some(name.into()),
            email: Some(email.into()),
            company: Some(company.into()),
            message: Some(message.into()),
            lang: None,
        }
    }

    #[test]
    fn every_bad_field_is_named() {
        let ok = validate(
            &raw(" Eva ", "Eva@Agency.NL", "", "Line 1\nLine 2"),
            Lang::Nl,
        )
        .unwrap();
        assert_eq!(ok.name, "Eva");
        assert_eq!(ok.email, "eva@agency.nl");
        assert_eq!(ok.organisation, None);
        assert_eq!(ok.lang, "nl");
        let long = "x".repeat(121);
        let errs =
            validate(&raw("", "no-at-sign", &long, &"y".repeat(2001)), Lang::En).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["name", "email", "company", "message"]);
        for bad in ["a@b", "a b@c.nl", "@c.nl", "a@.nl", "a@c.nl.", "a@b@c.nl"] {
            assert!(
                validate(&raw("Eva", bad, "", ""), Lang::En).is_err(),
                "{bad}"
            );
        }
        assert!(validate(&raw("Eva\u{7}", "e@a.nl", "", ""), Lang::En).is_err());
        assert!(validate(&RawWalkthrough::default(), Lang::En).is_err());
    }
}
