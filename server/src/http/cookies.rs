//! Setting cookies on the dashboard's and the login service's answers.
//! The cookies themselves are built by `app::cookies` (one place for their
//! attributes); this puts them on a response.
//!
//! # Security
//! A cookie that cannot be sent (a name or value RFC 6265 forbids: a bug,
//! since every value we set is our own) turns the answer into an opaque
//! 500, logged once. It never becomes an empty `Set-Cookie` or a response
//! that silently lacks the cookie (a sign-out that does not clear the
//! session, a callback that does not clear its state).

use app::cookies::{Cookie, set_cookie_header};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::AppError;
use super::ui::{LANG_COOKIE, Lang};

/// A remembered language choice lasts a year.
const LANG_MAX_AGE_SECS: i64 = 365 * 24 * 3600;

/// `resp` with `Set-Cookie` for each of `cookies`, or an opaque 500 when
/// one of them cannot be sent (see the module docs).
pub fn with_cookies(mut resp: Response, cookies: &[Cookie<'_>]) -> Response {
    let values: Result<Vec<_>, _> = cookies.iter().map(set_cookie_header).collect();
    match values {
        Ok(values) => {
            for v in values {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => AppError::internal(&uuid::Uuid::new_v4().to_string(), &e).into_response(),
    }
}

/// The cookie that remembers an explicit language choice (`?lang=`).
pub fn lang_cookie(lang: Lang) -> Cookie<'static> {
    app::cookies::preference(LANG_COOKIE, lang.code(), LANG_MAX_AGE_SECS)
}

#[cfg(test)]
mod tests {
    use app::cookies::{SameSite, server_only};
    use axum::http::StatusCode;

    use super::*;

    fn set_cookies(r: &Response) -> Vec<String> {
        r.headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    #[test]
    fn cookies_are_appended_in_order() {
        let r = with_cookies(
            StatusCode::SEE_OTHER.into_response(),
            &[
                server_only("metiva_session", "t.o.k", SameSite::Lax, 600, false),
                lang_cookie(Lang::Nl),
            ],
        );
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let set = set_cookies(&r);
        assert_eq!(set.len(), 2);
        assert!(set[0].starts_with("metiva_session=t.o.k; HttpOnly; SameSite=Lax"));
        assert!(set[0].contains("; Max-Age=600"));
        assert!(set[1].starts_with("metiva_lang=nl; SameSite=Lax; Path=/"));
        assert!(set[1].ends_with("; Max-Age=31536000"));
    }

    /// A cookie that cannot be sent makes the whole answer an opaque 500
    /// without any `Set-Cookie` (not a redirect missing one, nor an empty
    /// header); the value is not echoed.
    #[tokio::test]
    async fn a_cookie_that_cannot_be_sent_is_a_500_not_an_empty_header() {
        let r = with_cookies(
            StatusCode::SEE_OTHER.into_response(),
            &[
                lang_cookie(Lang::En),
                server_only("metiva_session", "x; Domain=evil", SameSite::Lax, 1, true),
            ],
        );
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(set_cookies(&r).is_empty());
        let body = axum::body::to_bytes(r.into_body(), 4096)
            .await
            .unwrap_or_default();
        assert!(!String::from_utf8_lossy(&body).contains("evil"));
    }
}
