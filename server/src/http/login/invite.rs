//! Invitations: the link a member follows once to set a password.

use super::*;

// Invitations --------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub(super) struct InviteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    lang: Option<String>,
}

pub(super) async fn load_invite(
    s: &LoginService,
    company: &str,
    token: &str,
) -> Result<(CompanyId, [u8; 32], metiva_db::login::Invitation), Option<Response>> {
    let company = CompanyId::parse(company).map_err(|_| None)?;
    if token.len() != 43 {
        return Err(None);
    }
    let hash = secret::sha256(token.as_bytes());
    match s.db.invitation(&company, &hash).await {
        Ok(Some(inv)) if inv.usable => Ok((company, hash, inv)),
        Ok(_) => Err(None),
        Err(e) => Err(Some(database_failure(&e))),
    }
}

pub(super) fn invite_page(
    s: &LoginService,
    lang: Lang,
    inv: &metiva_db::login::Invitation,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let err = error.map(|e| notice("error", e)).unwrap_or_default();
    let fields = if inv.has_password {
        format!(
            r#"<div><label for="password" class="block text-sm font-medium text-slate-700">{}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required class="{INPUT}"></div>"#,
            app::i18n::tr(lang, "Your current password")
        )
    } else {
        format!(
            r#"<div><label for="password" class="block text-sm font-medium text-slate-700">{}</label>
  <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" maxlength="72" class="{INPUT}"></div>
<div><label for="confirm" class="block text-sm font-medium text-slate-700">{}</label>
  <input id="confirm" name="confirm" type="password" autocomplete="new-password" required class="{INPUT}"></div>"#,
            app::i18n::tr(lang, "Choose a password (12 to 72 characters)"),
            app::i18n::tr(lang, "Repeat the password")
        )
    };
    let body = format!(
        r#"<p class="mt-1 text-sm text-slate-600">{intro} <strong>{email}</strong></p>{err}
<form method="post" class="mt-6 space-y-4">{fields}<input type="hidden" name="lang" value="{code}">
<button type="submit" class="{BUTTON}">{submit}</button></form>"#,
        intro = app::i18n::tr(lang, "Invitation for"),
        email = esc(&inv.email),
        code = lang.code(),
        submit = app::i18n::tr(lang, "Accept the invitation"),
    );
    page(
        status,
        lang,
        app::i18n::tr(lang, "Join a workspace"),
        &body,
        None,
        &s.app_url,
    )
}

pub(super) fn invite_gone(s: &LoginService, lang: Lang) -> Response {
    page(
        StatusCode::NOT_FOUND,
        lang,
        app::i18n::tr(lang, "Join a workspace"),
        &notice(
            "error",
            app::i18n::tr(
                lang,
                "This invitation link is not valid, was already used, or has expired.",
            ),
        ),
        None,
        &s.app_url,
    )
}

pub(super) async fn get_invite(
    State(s): St,
    headers: HeaderMap,
    Path((company, token)): Path<(String, String)>,
) -> Response {
    let lang = ui::negotiate(None, &headers);
    match load_invite(&s, &company, &token).await {
        Ok((_, _, inv)) => invite_page(&s, lang, &inv, None, StatusCode::OK),
        Err(Some(r)) => r,
        Err(None) => invite_gone(&s, lang),
    }
}

pub(super) async fn post_invite(
    State(s): St,
    headers: HeaderMap,
    Path((company, token)): Path<(String, String)>,
    Form(form): Form<InviteForm>,
) -> Response {
    let lang = ui::negotiate(form.lang.as_deref(), &headers);
    let (company, hash, inv) = match load_invite(&s, &company, &token).await {
        Ok(x) => x,
        Err(Some(r)) => return r,
        Err(None) => return invite_gone(&s, lang),
    };
    let new_hash = if inv.has_password {
        // An existing account proves itself with its own password; an
        // invitation link never resets anyone's password.
        let stored = match s.db.credentials(&inv.email).await {
            Ok(Some(c)) => c.password_hash,
            Ok(None) => None,
            Err(e) => return database_failure(&e),
        };
        let ok = match (Password::new(form.password), stored) {
            (Ok(pw), Some(h)) => s.verify(pw, h).await,
            _ => false,
        };
        if !ok {
            return invite_page(
                &s,
                lang,
                &inv,
                Some(app::i18n::tr(lang, "That password is incorrect.")),
                StatusCode::UNAUTHORIZED,
            );
        }
        None
    } else {
        let problem = if form.password.chars().count() < 12 {
            Some(app::i18n::tr(
                lang,
                "Choose a password of at least 12 characters.",
            ))
        } else if form.password.len() > password::MAX_PASSWORD_BYTES {
            Some(app::i18n::tr(
                lang,
                "Passwords can be at most 72 bytes long.",
            ))
        } else if !secret::ct_eq(form.password.as_bytes(), form.confirm.as_bytes()) {
            Some(app::i18n::tr(lang, "The passwords do not match."))
        } else {
            None
        };
        if let Some(p) = problem {
            return invite_page(&s, lang, &inv, Some(p), StatusCode::UNPROCESSABLE_ENTITY);
        }
        let Ok(pw) = Password::new(form.password) else {
            return invite_gone(&s, lang);
        };
        match s.hash(pw).await {
            Ok(h) => Some(h),
            Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "hashing failed").into_response(),
        }
    };
    match s
        .db
        .accept_invitation(&company, &hash, inv.user_id, new_hash.as_deref())
        .await
    {
        Ok(true) => page(
            StatusCode::OK,
            lang,
            app::i18n::tr(lang, "Welcome"),
            &format!(
                r#"{}<p class="mt-4 text-sm"><a class="{LINK}" href="{}/">{}</a></p>"#,
                notice(
                    "info",
                    app::i18n::tr(lang, "Invitation accepted. You can now sign in.")
                ),
                esc(&s.app_url),
                app::i18n::tr(lang, "Sign in")
            ),
            None,
            &s.app_url,
        ),
        Ok(false) => invite_gone(&s, lang),
        Err(e) => database_failure(&e),
    }
}
