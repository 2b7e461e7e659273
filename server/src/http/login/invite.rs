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
            lang.t("Your current password", "Uw huidige wachtwoord")
        )
    } else {
        format!(
            r#"<div><label for="password" class="block text-sm font-medium text-slate-700">{}</label>
  <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" maxlength="72" class="{INPUT}"></div>
<div><label for="confirm" class="block text-sm font-medium text-slate-700">{}</label>
  <input id="confirm" name="confirm" type="password" autocomplete="new-password" required class="{INPUT}"></div>"#,
            lang.t(
                "Choose a password (12 to 72 characters)",
                "Kies een wachtwoord (12 tot 72 tekens)"
            ),
            lang.t("Repeat the password", "Herhaal het wachtwoord")
        )
    };
    let body = format!(
        r#"<p class="mt-1 text-sm text-slate-600">{intro} <strong>{email}</strong></p>{err}
<form method="post" class="mt-6 space-y-4">{fields}<input type="hidden" name="lang" value="{code}">
<button type="submit" class="{BUTTON}">{submit}</button></form>"#,
        intro = lang.t("Invitation for", "Uitnodiging voor"),
        email = esc(&inv.email),
        code = lang.code(),
        submit = lang.t("Accept the invitation", "Uitnodiging accepteren"),
    );
    page(
        status,
        lang,
        lang.t("Join a workspace", "Word lid van een werkruimte"),
        &body,
        None,
        &s.app_url,
    )
}

pub(super) fn invite_gone(s: &LoginService, lang: Lang) -> Response {
    page(
        StatusCode::NOT_FOUND,
        lang,
        lang.t("Join a workspace", "Word lid van een werkruimte"),
        &notice(
            "error",
            lang.t(
                "This invitation link is not valid, was already used, or has expired.",
                "Deze uitnodigingslink is ongeldig, al gebruikt of verlopen.",
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
                Some(lang.t("That password is incorrect.", "Dat wachtwoord is onjuist.")),
                StatusCode::UNAUTHORIZED,
            );
        }
        None
    } else {
        let problem = if form.password.chars().count() < 12 {
            Some(lang.t(
                "Choose a password of at least 12 characters.",
                "Kies een wachtwoord van minstens 12 tekens.",
            ))
        } else if form.password.len() > password::MAX_PASSWORD_BYTES {
            Some(lang.t(
                "Passwords can be at most 72 bytes long.",
                "Wachtwoorden zijn maximaal 72 bytes lang.",
            ))
        } else if !secret::ct_eq(form.password.as_bytes(), form.confirm.as_bytes()) {
            Some(lang.t(
                "The passwords do not match.",
                "De wachtwoorden komen niet overeen.",
            ))
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
            lang.t("Welcome", "Welkom"),
            &format!(
                r#"{}<p class="mt-4 text-sm"><a class="{LINK}" href="{}/">{}</a></p>"#,
                notice(
                    "info",
                    lang.t(
                        "Invitation accepted. You can now sign in.",
                        "Uitnodiging geaccepteerd. U kunt nu inloggen."
                    )
                ),
                esc(&s.app_url),
                lang.t("Sign in", "Inloggen")
            ),
            None,
            &s.app_url,
        ),
        Ok(false) => invite_gone(&s, lang),
        Err(e) => database_failure(&e),
    }
}
