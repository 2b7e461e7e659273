//! The cookies Metiva sets and reads, built and parsed with the `cookie`
//! crate: one place that knows their attributes, shared by the server's
//! handlers and the app's server functions.
//!
//! # Security
//! - A cookie that carries a credential or a secret is built by
//!   [`server_only`]: `HttpOnly`, `Path=/`, a `SameSite` and a `Max-Age`,
//!   and `Secure` over https, where its name has the `__Host-` prefix (no
//!   `Domain`: the browser then refuses it from any other host or path).
//! - [`set_cookie_header`] refuses a name that is not an RFC 6265 token or
//!   a value outside its cookie octets (`;`, `,`, spaces, quotes, controls,
//!   anything non-ASCII) with an error. A bad value is a bug to report, never
//!   a header silently dropped or sent empty.
//! - [`read`] answers `None` for a cookie sent twice: a duplicate is a
//!   cookie-tossing attempt (a sibling host setting its own copy), and the
//!   request fails closed.

use std::borrow::Cow;

pub use cookie::{Cookie, SameSite};

/// A cookie that cannot be sent: its name or value breaks RFC 6265. The
/// error names the cookie, never its value (which may be a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCookie {
    pub name: String,
}

impl std::fmt::Display for InvalidCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cookie {:?} has a name or value that cannot be sent",
            self.name
        )
    }
}

impl std::error::Error for InvalidCookie {}

/// A cookie only the server reads: `HttpOnly`, `Path=/`, `same_site`,
/// `Max-Age=max_age_secs` (0 removes it), and `Secure` when `secure`.
/// Removing a cookie takes the attributes it was set with (a `__Host-`
/// cookie is only replaced by a `Secure` one).
pub fn server_only(
    name: &'static str,
    value: impl Into<Cow<'static, str>>,
    same_site: SameSite,
    max_age_secs: i64,
    secure: bool,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(same_site)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .secure(secure)
        .build()
}

/// A preference the page may read too (the language): `Path=/`,
/// `SameSite=Lax`, kept for `max_age_secs`; not `HttpOnly`, and not a
/// secret.
pub fn preference(
    name: &'static str,
    value: impl Into<Cow<'static, str>>,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
}

/// The `Set-Cookie` value for `cookie`, or an error when its name or value
/// is not one RFC 6265 allows (see the module's security notes).
pub fn set_cookie_header(cookie: &Cookie<'_>) -> Result<http::HeaderValue, InvalidCookie> {
    let invalid = || InvalidCookie {
        name: cookie.name().chars().take(64).collect(),
    };
    let name_ok = !cookie.name().is_empty() && cookie.name().bytes().all(is_token_byte);
    let value_ok = cookie.value().bytes().all(is_cookie_octet);
    if !(name_ok && value_ok) {
        return Err(invalid());
    }
    http::HeaderValue::try_from(cookie.to_string()).map_err(|_| invalid())
}

/// RFC 9110 `tchar`: what a cookie name may hold.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 6265 `cookie-octet`: visible ASCII except `"`, `,`, `;` and `\`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// The value of cookie `name` in the request, or `None` when it is absent
/// or appears more than once (fail closed: see the module docs). A pair
/// of surrounding double quotes is removed.
pub fn read(headers: &http::HeaderMap, name: &str) -> Option<String> {
    let mut found = None;
    for h in headers.get_all(http::header::COOKIE) {
        let Ok(s) = h.to_str() else { continue };
        for c in Cookie::split_parse(s).flatten() {
            if c.name() == name {
                if found.is_some() {
                    return None;
                }
                found = Some(c.value_trimmed().to_string());
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(c: &Cookie<'_>) -> String {
        set_cookie_header(c)
            .ok()
            .and_then(|v| v.to_str().ok().map(str::to_string))
            .unwrap_or_default()
    }

    fn attrs(h: &str) -> Vec<&str> {
        let mut a: Vec<&str> = h.split("; ").collect();
        a.sort_unstable();
        a
    }

    #[test]
    fn server_only_cookies_keep_their_attributes() {
        let c = server_only("__Host-metiva_session", "tok.en", SameSite::Lax, 600, true);
        assert_eq!(
            attrs(&header(&c)),
            [
                "HttpOnly",
                "Max-Age=600",
                "Path=/",
                "SameSite=Lax",
                "Secure",
                "__Host-metiva_session=tok.en",
            ]
        );
        // The development exception (plain http): no Secure.
        let c = server_only("metiva_flash", "", SameSite::Strict, 0, false);
        assert_eq!(
            attrs(&header(&c)),
            [
                "HttpOnly",
                "Max-Age=0",
                "Path=/",
                "SameSite=Strict",
                "metiva_flash="
            ]
        );
        let c = preference("metiva_lang", "nl", 31_536_000);
        assert_eq!(
            attrs(&header(&c)),
            [
                "Max-Age=31536000",
                "Path=/",
                "SameSite=Lax",
                "metiva_lang=nl"
            ]
        );
    }

    /// A value that would end the cookie early, inject an attribute or
    /// break the header is refused with an error naming the cookie only.
    #[test]
    fn invalid_names_and_values_are_errors_not_empty_headers() {
        for value in [
            "a; Domain=evil.example",
            "a,b",
            "with space",
            "quo\"te",
            "back\\slash",
            "line\r\nSet-Cookie: x=y",
            "nul\0",
            "caf\u{e9}",
        ] {
            let c = server_only("metiva_session", value.to_string(), SameSite::Lax, 1, false);
            let err = set_cookie_header(&c).err();
            assert_eq!(
                err,
                Some(InvalidCookie {
                    name: "metiva_session".into()
                }),
                "{value:?}"
            );
            assert!(
                !err.map(|e| e.to_string())
                    .unwrap_or_default()
                    .contains(value)
            );
        }
        for name in ["", "a b", "a=b", "a;b", "n\u{e9}"] {
            let mut c = preference("x", "v", 1);
            c.set_name(name.to_string());
            assert!(set_cookie_header(&c).is_err(), "{name:?}");
        }
        // What we do send: base64url secrets, dotted tokens, empty values.
        for value in ["", "AbC-_09", "a.b.c", "eyJ0.eyJz.c2ln"] {
            let c = server_only("metiva_session", value.to_string(), SameSite::Lax, 1, true);
            assert!(set_cookie_header(&c).is_ok(), "{value:?}");
        }
    }

    fn headers(pairs: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in pairs {
            if let Ok(v) = http::HeaderValue::from_str(v) {
                h.append(http::header::COOKIE, v);
            }
        }
        h
    }

    #[test]
    fn reading_refuses_duplicates_and_skips_garbage() {
        assert_eq!(read(&headers(&["a=1; b=2"]), "b").as_deref(), Some("2"));
        assert_eq!(read(&headers(&["a=1;b=\"2\""]), "b").as_deref(), Some("2"));
        assert_eq!(read(&headers(&["a=1; a=2"]), "a"), None);
        assert_eq!(read(&headers(&["a=1", "a=2"]), "a"), None);
        assert_eq!(
            read(&headers(&["junk; =x; b=2;;"]), "b").as_deref(),
            Some("2")
        );
        assert_eq!(read(&headers(&["ab=1"]), "a"), None);
        assert_eq!(read(&headers(&[]), "a"), None);
        let mut h = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_bytes(b"a=\xff\xfe") {
            h.append(http::header::COOKIE, v);
        }
        assert_eq!(read(&h, "a"), None);
    }
}
