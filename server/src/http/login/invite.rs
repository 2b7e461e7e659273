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
    error: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let (email, has_password) = (inv.email.clone(), inv.has_password);
    ui::page(status, &s.app_url, move || {
        view! { <pages::InvitePage lang email has_password error /> }
    })
}

pub(super) fn invite_gone(s: &LoginService, lang: Lang) -> Response {
    ui::page(StatusCode::NOT_FOUND, &s.app_url, move || {
        view! { <pages::InviteGonePage lang /> }
    })
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
        Ok(true) => {
            let app_url = s.app_url.clone();
            ui::page(StatusCode::OK, &s.app_url, move || {
                view! { <pages::InviteAcceptedPage lang app_url /> }
            })
        }
        Ok(false) => invite_gone(&s, lang),
        Err(e) => database_failure(&e),
    }
}
