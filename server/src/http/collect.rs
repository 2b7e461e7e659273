//! The public ingest payloads (`POST /collect`, `POST /capture`): a strict
//! schema, parsed and validated before anything else happens.
//!
//! # Security
//! - Unknown fields, wrong types, over-long strings and control
//!   characters are refused with a message saying which field and why
//!   (400), so a sloppy or hostile client learns what to fix and never
//!   reaches the database with it.
//! - A page path carries no query string or fragment (they often hold
//!   emails or tokens); the referrer is kept as a hostname only.
//! - The parser never panics (see the property test below and
//!   `server/tests/it/ingest.rs`).

use serde::Deserialize;
use uuid::Uuid;

/// The most bytes `/collect` and `/capture` accept.
pub const MAX_PAYLOAD_BYTES: usize = 4 * 1024;

/// One `/collect` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CollectEvent {
    PageView(PageViewIn),
    Consent(ConsentIn),
}

impl CollectEvent {
    pub fn site(&self) -> &str {
        match self {
            CollectEvent::PageView(p) => &p.site,
            CollectEvent::Consent(c) => &c.site,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageViewIn {
    pub site: String,
    pub path: String,
    pub referrer: Option<String>,
    pub visitor: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentIn {
    pub site: String,
    pub analytics: bool,
    pub identification: bool,
    pub marketing: bool,
    pub banner_version: String,
    pub lang: String,
    pub visitor: Option<Uuid>,
    pub withdraw: bool,
}

/// A `/capture` form submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureIn {
    pub site: String,
    pub visitor: Uuid,
    pub name: String,
    pub email: String,
    pub company: Option<String>,
}

/// Why a payload was refused; the message is for the client's developer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PayloadError(pub String);

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum RawCollect {
    Pageview {
        site: String,
        path: String,
        #[serde(default)]
        referrer: Option<String>,
        #[serde(default)]
        visitor: Option<String>,
    },
    Consent {
        site: String,
        purposes: RawPurposes,
        banner_version: String,
        lang: String,
        #[serde(default)]
        visitor: Option<String>,
        #[serde(default)]
        withdraw: bool,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPurposes {
    analytics: bool,
    identification: bool,
    marketing: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapture {
    site: String,
    visitor: String,
    name: String,
    email: String,
    #[serde(default)]
    company: Option<String>,
}

fn err(msg: impl Into<String>) -> PayloadError {
    PayloadError(msg.into())
}

fn json_error(e: serde_json::Error) -> PayloadError {
    // serde's message names the field and the expectation; the position is
    // enough for a developer to find it.
    err(format!("invalid JSON payload: {e}"))
}

/// Parses a `/collect` body.
pub fn parse_collect(body: &[u8]) -> Result<CollectEvent, PayloadError> {
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(err(format!(
            "payload too large: the limit is {MAX_PAYLOAD_BYTES} bytes"
        )));
    }
    let raw: RawCollect = serde_json::from_slice(body).map_err(json_error)?;
    Ok(match raw {
        RawCollect::Pageview {
            site,
            path,
            referrer,
            visitor,
        } => CollectEvent::PageView(PageViewIn {
            site: site_key(site)?,
            path: page_path(path)?,
            referrer: referrer
                .filter(|r| !r.is_empty())
                .map(hostname)
                .transpose()?,
            visitor: visitor.map(visitor_id).transpose()?,
        }),
        RawCollect::Consent {
            site,
            purposes,
            banner_version,
            lang,
            visitor,
            withdraw,
        } => {
            if withdraw && (purposes.analytics || purposes.identification || purposes.marketing) {
                return Err(err(
                    "a withdrawal grants no purpose: all purposes must be false",
                ));
            }
            if !matches!(lang.as_str(), "nl" | "en") {
                return Err(err("lang: expected \"nl\" or \"en\""));
            }
            if app::consent_text::banner(&banner_version, &lang).is_none() {
                return Err(err(format!(
                    "banner_version: {:?} is not a published banner version",
                    truncate(&banner_version, 40)
                )));
            }
            CollectEvent::Consent(ConsentIn {
                site: site_key(site)?,
                analytics: purposes.analytics,
                identification: purposes.identification,
                marketing: purposes.marketing,
                banner_version,
                lang,
                visitor: visitor.map(visitor_id).transpose()?,
                withdraw,
            })
        }
    })
}

/// Parses a `/capture` body.
pub fn parse_capture(body: &[u8]) -> Result<CaptureIn, PayloadError> {
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(err(format!(
            "payload too large: the limit is {MAX_PAYLOAD_BYTES} bytes"
        )));
    }
    let raw: RawCapture = serde_json::from_slice(body).map_err(json_error)?;
    let name = text("name", raw.name, 200)?;
    let email = raw.email.trim().to_lowercase();
    let at = email.find('@').unwrap_or(0);
    if at == 0
        || at + 1 >= email.len()
        || email.len() > 254
        || email.chars().any(|c| c.is_whitespace() || c.is_control())
        || email.matches('@').count() != 1
    {
        return Err(err(
            "email: expected an email address like name@example.com",
        ));
    }
    Ok(CaptureIn {
        site: site_key(raw.site)?,
        visitor: visitor_id(raw.visitor)?,
        name,
        email,
        company: raw
            .company
            .filter(|c| !c.trim().is_empty())
            .map(|c| text("company", c, 200))
            .transpose()?,
    })
}

/// A site key: `pk_` and 8 to 64 of `[a-z0-9_]` (the database checks the
/// same shape).
pub fn is_site_key(key: &str) -> bool {
    key.strip_prefix("pk_").is_some_and(|rest| {
        (8..=64).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })
}

fn site_key(key: String) -> Result<String, PayloadError> {
    if is_site_key(&key) {
        Ok(key)
    } else {
        Err(err(
            "site: not a site key (expected pk_ followed by 8-64 of a-z, 0-9, _)",
        ))
    }
}

fn visitor_id(v: String) -> Result<Uuid, PayloadError> {
    Uuid::parse_str(&v).map_err(|_| err("visitor: expected a UUID"))
}

fn page_path(path: String) -> Result<String, PayloadError> {
    // Query and fragment are cut, not refused: old snippets and SPAs may
    // send them, and they must never be stored.
    let cut = path
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_string();
    if !cut.starts_with('/') {
        return Err(err("path: expected a page path starting with /"));
    }
    if cut.chars().count() > 512 {
        return Err(err("path: longer than 512 characters"));
    }
    if cut.chars().any(char::is_control) {
        return Err(err("path: contains control characters"));
    }
    Ok(cut)
}

fn hostname(h: String) -> Result<String, PayloadError> {
    let h = h.to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':')
        && !h.starts_with(['.', '-']);
    if ok {
        Ok(h)
    } else {
        Err(err(
            "referrer: expected a hostname only (no scheme or path)",
        ))
    }
}

fn text(field: &str, value: String, max: usize) -> Result<String, PayloadError> {
    let v = value.trim().to_string();
    if v.is_empty() {
        return Err(err(format!("{field}: required")));
    }
    if v.chars().count() > max {
        return Err(err(format!("{field}: longer than {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(err(format!("{field}: contains control characters")));
    }
    Ok(v)
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SITE: &str = "pk_devries_demo_site";

    #[test]
    fn a_page_view_parses_and_loses_its_query() {
        let e = parse_collect(
            br#"{"type":"pageview","site":"pk_devries_demo_site","path":"/contact?email=a@b.nl#x","referrer":"www.google.com","visitor":null}"#,
        )
        .unwrap();
        assert_eq!(
            e,
            CollectEvent::PageView(PageViewIn {
                site: SITE.into(),
                path: "/contact".into(),
                referrer: Some("www.google.com".into()),
                visitor: None,
            })
        );
    }

    #[test]
    fn a_decision_parses() {
        let e = parse_collect(
            br#"{"type":"consent","site":"pk_devries_demo_site","purposes":{"analytics":true,"identification":false,"marketing":false},"banner_version":"2026-11.1","lang":"nl","visitor":"6d657469-7661-4000-8000-000000000001","withdraw":false}"#,
        )
        .unwrap();
        let CollectEvent::Consent(c) = e else {
            panic!("not a decision")
        };
        assert!(c.analytics && !c.identification && !c.withdraw);
    }

    #[test]
    fn bad_payloads_say_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "invalid JSON"),
            (b"{", "invalid JSON"),
            (br#"{"type":"pageview","site":"pk_devries_demo_site","path":"/","extra":1}"#, "unknown field"),
            (br#"{"type":"click","site":"pk_devries_demo_site"}"#, "unknown variant"),
            (br#"{"type":"pageview","site":"nope","path":"/"}"#, "site:"),
            (br#"{"type":"pageview","site":"pk_devries_demo_site","path":"relative"}"#, "path:"),
            (br#"{"type":"pageview","site":"pk_devries_demo_site","path":"/","visitor":"x"}"#, "visitor:"),
            (br#"{"type":"pageview","site":"pk_devries_demo_site","path":"/","referrer":"https://a.nl/x"}"#, "referrer:"),
            (br#"{"type":"consent","site":"pk_devries_demo_site","purposes":{"analytics":true,"identification":false,"marketing":false},"banner_version":"1999-01.1","lang":"nl"}"#, "banner_version"),
            (br#"{"type":"consent","site":"pk_devries_demo_site","purposes":{"analytics":true,"identification":false,"marketing":false},"banner_version":"2026-11.1","lang":"de"}"#, "lang"),
            (br#"{"type":"consent","site":"pk_devries_demo_site","purposes":{"analytics":true,"identification":false,"marketing":false},"banner_version":"2026-11.1","lang":"nl","withdraw":true}"#, "withdrawal"),
        ];
        for (body, want) in cases {
            let e = parse_collect(body).unwrap_err();
            assert!(
                e.0.contains(want),
                "{:?}: {:?} lacks {want:?}",
                String::from_utf8_lossy(body),
                e.0
            );
        }
        let big = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        assert!(parse_collect(&big).unwrap_err().0.contains("too large"));
    }

    #[test]
    fn capture_checks_its_fields() {
        let ok = parse_capture(
            br#"{"site":"pk_devries_demo_site","visitor":"6d657469-7661-4000-8000-000000000001","name":" Eva ","email":"Eva@Example.NL","company":""}"#,
        )
        .unwrap();
        assert_eq!(ok.name, "Eva");
        assert_eq!(ok.email, "eva@example.nl");
        assert_eq!(ok.company, None);
        for bad in [
            r#"{"site":"pk_devries_demo_site","visitor":"6d657469-7661-4000-8000-000000000001","name":"","email":"a@b.nl"}"#,
            r#"{"site":"pk_devries_demo_site","visitor":"6d657469-7661-4000-8000-000000000001","name":"A","email":"nope"}"#,
            r#"{"site":"pk_devries_demo_site","visitor":"6d657469-7661-4000-8000-000000000001","name":"A","email":"a@"}"#,
            r#"{"site":"pk_devries_demo_site","name":"A","email":"a@b.nl"}"#,
        ] {
            assert!(parse_capture(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            ".{0,40}".prop_map(serde_json::Value::String),
            prop_oneof![
                Just("pageview"),
                Just("consent"),
                Just(SITE),
                Just("/"),
                Just("2026-11.1"),
                Just("nl"),
                Just("6d657469-7661-4000-8000-000000000001"),
            ]
            .prop_map(|s| serde_json::Value::String(s.into())),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_string()),
                    Just("site".to_string()),
                    Just("path".to_string()),
                    Just("referrer".to_string()),
                    Just("visitor".to_string()),
                    Just("purposes".to_string()),
                    Just("analytics".to_string()),
                    Just("identification".to_string()),
                    Just("marketing".to_string()),
                    Just("banner_version".to_string()),
                    Just("lang".to_string()),
                    Just("withdraw".to_string()),
                    Just("name".to_string()),
                    Just("email".to_string()),
                    "[a-z]{1,8}",
                ],
                inner,
                0..8,
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        /// Arbitrary bytes: an answer, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_collect(&body);
            let _ = parse_capture(&body);
        }

        /// Near-valid JSON objects (the schema's own field names and
        /// values, nested at random): an answer, never a panic; whatever
        /// parses satisfies the invariants.
        #[test]
        fn structured_payloads_never_panic(v in json_value()) {
            let body = serde_json::to_vec(&v).unwrap();
            if let Ok(e) = parse_collect(&body) {
                prop_assert!(is_site_key(e.site()));
                if let CollectEvent::PageView(p) = &e {
                    prop_assert!(p.path.starts_with('/'));
                    prop_assert!(!p.path.contains('?') && !p.path.contains('#'));
                }
            }
            let _ = parse_capture(&body);
        }

        /// Every valid page view survives a round trip.
        #[test]
        fn valid_page_views_parse(path in "/[a-z0-9/_-]{0,100}", host in "[a-z]{1,20}\\.(nl|com)") {
            let body = serde_json::json!({"type":"pageview","site":SITE,"path":path,"referrer":host});
            let e = parse_collect(&serde_json::to_vec(&body).unwrap()).unwrap();
            prop_assert_eq!(e, CollectEvent::PageView(PageViewIn { site: SITE.into(), path, referrer: Some(host), visitor: None }));
        }
    }
}
