//! Server-rendered HTML for the login service: its pages work without
//! JavaScript and ship none. English and Dutch.

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

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query parameter value.
pub use app::query_escape as qs;

/// A whole page in the login service's frame.
pub fn page(
    status: StatusCode,
    lang: Lang,
    title: &str,
    body: &str,
    lang_links: Option<&str>,
    app_url: &str,
) -> Response {
    let switch = match lang_links {
        Some(base) => {
            let sep = if base.contains('?') { '&' } else { '?' };
            format!(
                r#"<nav aria-label="{label}" class="flex gap-3 text-sm">
  <a class="rounded text-indigo-700 underline-offset-2 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500" href="{base}{sep}lang=en" lang="en" hreflang="en"{en_cur}>English</a>
  <a class="rounded text-indigo-700 underline-offset-2 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500" href="{base}{sep}lang=nl" lang="nl" hreflang="nl"{nl_cur}>Nederlands</a>
</nav>"#,
                label = app::i18n::tr(lang, "Language"),
                base = esc(base),
                en_cur = if lang == Lang::En {
                    r#" aria-current="true""#
                } else {
                    ""
                },
                nl_cur = if lang == Lang::Nl {
                    r#" aria-current="true""#
                } else {
                    ""
                },
            )
        }
        None => String::new(),
    };
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="{code}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Metiva</title>
<link rel="stylesheet" href="/pkg/metiva.css">
<link rel="icon" type="image/svg+xml" href="/favicon.svg">
</head>
<body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
<div class="mx-auto flex min-h-screen max-w-md flex-col px-4 py-10">
  <header class="mb-8 flex items-center justify-between gap-4">
    <span class="flex items-center gap-2 font-semibold"><span class="inline-block h-6 w-6 rounded bg-indigo-600" aria-hidden="true"></span>Metiva</span>
    {switch}
  </header>
  <main class="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
    <h1 class="text-xl font-semibold tracking-tight">{title}</h1>
    {body}
  </main>
  <p class="mt-6 text-xs text-slate-500">{footer}</p>
</div>
</body>
</html>"#,
        code = lang.code(),
        title = esc(title),
        footer = app::i18n::tr(
            lang,
            "Metiva sign-in service. The dashboard never sees your password."
        ),
    );
    let mut resp = (status, Html(html)).into_response();
    // Security: no script at all; forms post only to ourselves, and the
    // redirect after a form may only go to the dashboard.
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

/// A notice box (`kind` is "error" or "info").
pub fn notice(kind: &str, text: &str) -> String {
    let (cls, role) = match kind {
        "error" => ("border-red-200 bg-red-50 text-red-800", "alert"),
        _ => ("border-indigo-200 bg-indigo-50 text-indigo-900", "status"),
    };
    format!(
        r#"<p role="{role}" class="mt-4 rounded-md border px-3 py-2 text-sm {cls}">{}</p>"#,
        esc(text)
    )
}

pub const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
pub const BUTTON: &str = "inline-flex w-full justify-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2";
pub const LINK: &str = "text-indigo-700 underline underline-offset-2 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";

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
    fn escaping() {
        assert_eq!(
            esc(r#"<a href="x">'&"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
        assert_eq!(qs("http://a/b?c=d e"), "http%3A%2F%2Fa%2Fb%3Fc%3Dd%20e");
    }
}
