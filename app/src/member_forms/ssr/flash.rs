//! The invitation flash cookie: after a plain form post the one-time
//! link reaches the page it returns to sealed in a cookie, never in a URL.

use crate::error::AppError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use leptos::prelude::*;
use metiva_security::cipher::{FieldContext, KeyRing, Sealed};

use super::append_set_cookie;
use crate::cookies::{self, SameSite};

/// A flash lives at most this long (seconds): long enough for one
/// redirect, short enough that a forgotten one is gone.
const FLASH_MAX_AGE: i64 = 300;

/// Where the cookie's value came from and whom it is for: the
/// workspace, and the session that created the invitation.
fn flash_context<'a>(company: &'a str, session: &'a str) -> FieldContext<'a> {
    FieldContext {
        company_id: company,
        table: "flash",
        column: "invite_link",
        row_id: session,
    }
}

/// The flash cookie's name: `__Host-` over https, like the token
/// cookie (the documented development exception drops it on http).
fn flash_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-metiva_flash"
    } else {
        "metiva_flash"
    }
}

fn secure() -> bool {
    use_context::<crate::SnippetBase>().is_some_and(|b| b.0.starts_with("https://"))
}

/// Sets the flash cookie (an empty value and `max_age` 0 remove it).
fn set_flash_cookie(value: String, max_age: i64) -> Result<(), AppError> {
    let secure = secure();
    let flash = cookies::server_only(
        flash_cookie(secure),
        value,
        SameSite::Strict,
        max_age,
        secure,
    );
    append_set_cookie(&flash)
}

/// Puts a one-time invitation link in a flash cookie for the page the
/// plain form returns to.
///
/// # Security
/// The link is a secret, so it never goes into a URL (history, logs,
/// Referer). The cookie is AES-256-GCM sealed with the field keys and
/// bound to this workspace and session (associated data), HttpOnly,
/// SameSite=Strict, and lives five minutes; the page clears it when it
/// shows the link.
pub fn seal_invite_flash(
    keys: &KeyRing,
    ctx: &metiva_db::TenantCtx,
    link: &str,
) -> Result<(), AppError> {
    let session = ctx.session_id().to_string();
    // A cookie, never stored: sealed under the master key (see
    // `KeyRing::seal_transient`), still bound to workspace and session.
    let sealed = keys
        .seal_transient(
            link.as_bytes(),
            &flash_context(ctx.company().as_str(), &session),
        )
        .map_err(|_| crate::error::AppError::internal_here(&"server misconfigured"))?;
    let value = format!(
        "{}.{}.{}",
        B64.encode(sealed.key_id.as_bytes()),
        B64.encode(sealed.nonce),
        B64.encode(&sealed.ciphertext)
    );
    set_flash_cookie(value, FLASH_MAX_AGE)
}

/// Takes the invitation link out of the request's flash cookie, if it
/// opens for this workspace and session, and clears the cookie.
pub fn take_invite_flash(keys: &KeyRing, ctx: &metiva_db::TenantCtx) -> Option<String> {
    let parts = use_context::<http::request::Parts>()?;
    let raw = cookies::read(&parts.headers, flash_cookie(secure()))?;
    // Whatever it held, it is used up; a link that cannot be cleared
    // is not shown.
    set_flash_cookie(String::new(), 0).ok()?;
    let mut it = raw.split('.');
    let (Some(kid), Some(nonce), Some(ct), None) = (it.next(), it.next(), it.next(), it.next())
    else {
        return None;
    };
    let sealed = Sealed {
        key_id: String::from_utf8(B64.decode(kid).ok()?).ok()?,
        nonce: B64.decode(nonce).ok()?.try_into().ok()?,
        ciphertext: B64.decode(ct).ok()?,
    };
    let session = ctx.session_id().to_string();
    let plain = keys
        .open(&sealed, &flash_context(ctx.company().as_str(), &session))
        .ok()?;
    String::from_utf8(plain).ok()
}
