//! What the login service's pages share on the server: language
//! negotiation, the cookie reader, and the response around a page
//! rendered by `app::login_pages` (no JavaScript; English and Dutch).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

pub use app::i18n::Lang;

/// The cookie that remembers an explicit language choice (shared by the
/// dashboard and the login service).
pub const LANG_COOKIE: &str = "metiva_lang";

/// Whether the request is a browser form post (it accepts HTML), which
/// gets a page or a redirect; other clients get JSON.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// An explicit `?lang=`, then the remembered choice, then the
/// browser's `Accept-Language` (first of en/nl by quality), then English.
pub fn negotiate(query: Option<&str>, headers: &HeaderMap) -> Lang {
    if let Some(l) = query.and_then(Lang::parse) {
        return l;
    }
    if let Some(l) = cookie(headers, LANG_COOKIE).and_then(|v| Lang::parse(&v)) {
        return l;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut best: Option<(f32, Lang)> = None;
    for part in accept.split(',') {
        let mut it = part.trim().split(';');
        let tag = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let lang = match tag.split('-').next() {
            Some("nl") => Lang::Nl,
            Some("en") => Lang::En,
            _ => continue,
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::En, |(_, l)| l)
}

/// The one cookie reader, shared with the app's server functions.
pub use app::cookies::read as cookie;

/// Percent-encodes a query parameter value.
pub use app::query_escape as qs;

/// A page of the login service's frame (the components in
/// `app::login_pages`), as the response.
///
/// # Security
/// The page ships no script, so its CSP allows none at all; forms post
/// only to this origin, and the redirect after a form may only go to the
/// dashboard (`app_url`). `no-store`: these pages carry a user's flow and
/// messages, which no cache should keep.
pub fn page<V: leptos::IntoView + 'static>(
    status: StatusCode,
    app_url: &str,
    view: impl FnOnce() -> V,
) -> Response {
    let mut resp = (status, Html(app::login_pages::render(view))).into_response();
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' {app_url}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn language_comes_from_query_then_cookie_then_accept_language() {
        let h = headers(&[("accept-language", "nl-NL,nl;q=0.9,en;q=0.8")]);
        assert_eq!(negotiate(None, &h), Lang::Nl);
        assert_eq!(negotiate(Some("en"), &h), Lang::En);
        let h = headers(&[
            ("accept-language", "de, en;q=0.5, nl;q=0.7"),
            ("cookie", "metiva_lang=en"),
        ]);
        assert_eq!(negotiate(None, &h), Lang::En);
        let h = headers(&[("accept-language", "de, en;q=0.5, nl;q=0.7")]);
        assert_eq!(negotiate(None, &h), Lang::Nl);
        assert_eq!(negotiate(None, &HeaderMap::new()), Lang::En);
        assert_eq!(negotiate(Some("fr"), &HeaderMap::new()), Lang::En);
    }

    #[test]
    fn duplicate_cookies_are_refused() {
        let h = headers(&[("cookie", "a=1; b=2")]);
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        let h = headers(&[("cookie", "a=1; a=2")]);
        assert_eq!(cookie(&h, "a"), None);
        let h = headers(&[("cookie", "a=1"), ("cookie", "a=2")]);
        assert_eq!(cookie(&h, "a"), None);
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(qs("http://a/b?c=d e"), "http%3A%2F%2Fa%2Fb%3Fc%3Dd%20e");
    }
}
