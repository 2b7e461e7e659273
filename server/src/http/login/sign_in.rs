//! Sign-in: the form, the password check (bcrypt, the same work for an
//! unknown email), the throttle, and the hand-off to a workspace.

use super::*;

pub(super) fn login_form(
    s: &LoginService,
    lang: Lang,
    flow: &Flow,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let err = error.map(|e| notice("error", e)).unwrap_or_default();
    let body = format!(
        r#"<p class="mt-1 text-sm text-slate-600">{intro}</p>{err}
<form method="post" action="/login" class="mt-6 space-y-4" data-testid="login-form">
  {hidden}
  <div><label for="email" class="block text-sm font-medium text-slate-700">{email_label}</label>
    <input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="{email}" class="{INPUT}"></div>
  <div><label for="password" class="block text-sm font-medium text-slate-700">{pw_label}</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required class="{INPUT}"></div>
  <input type="hidden" name="lang" value="{code}">
  <button type="submit" class="{BUTTON}">{submit}</button>
</form>"#,
        intro = app::i18n::tr(lang, "One front door for every workspace you work in."),
        hidden = flow.hidden(),
        email_label = app::i18n::tr(lang, "Email"),
        pw_label = app::i18n::tr(lang, "Password"),
        email = esc(email),
        code = lang.code(),
        submit = app::i18n::tr(lang, "Sign in"),
    );
    page(
        status,
        lang,
        app::i18n::tr(lang, "Sign in to Metiva"),
        &body,
        Some(&flow.self_url("/login")),
        &s.app_url,
    )
}

pub(super) async fn current_session(
    s: &LoginService,
    headers: &HeaderMap,
) -> Result<Option<metiva_db::login::LoginSession>, Response> {
    let Some(raw) = ui::cookie(headers, s.cookie_name()) else {
        return Ok(None);
    };
    if raw.len() != 43 {
        return Ok(None);
    }
    s.db.session_by_secret(&secret::sha256(raw.as_bytes()))
        .await
        .map_err(|e| database_failure(&e))
}

pub(super) async fn get_login(
    State(s): St,
    headers: HeaderMap,
    Query(flow): Query<Flow>,
) -> Response {
    let lang = ui::negotiate(flow.lang.as_deref(), &headers);
    if flow.return_to.is_empty() && flow.state.is_empty() {
        // Opened directly: the dashboard starts (and binds) every flow.
        return Redirect::to(&format!("{}/", s.app_url)).into_response();
    }
    if flow.checked(&s.app_url).is_none() {
        return restart(&s, lang);
    }
    let resp = match current_session(&s, &headers).await {
        Err(r) => r,
        Ok(Some(session)) => {
            proceed(&s, lang, &flow, session.id, session.user_id, flow.purpose()).await
        }
        Ok(None) => login_form(&s, lang, &flow, "", None, StatusCode::OK),
    };
    with_lang_cookie(resp, flow.lang.as_deref())
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(flatten)]
    flow: Flow,
}

#[tracing::instrument(skip_all)]
pub(super) async fn post_login(
    State(s): St,
    headers: HeaderMap,
    peer: ClientIp,
    Form(form): Form<LoginForm>,
) -> Response {
    let flow = form.flow;
    let lang = ui::negotiate(flow.lang.as_deref(), &headers);
    if flow.checked(&s.app_url).is_none() {
        return restart(&s, lang);
    }
    let email = form.email.trim().to_lowercase();
    let bad_credentials = app::i18n::tr(lang, "Email or password is incorrect.");
    if email.is_empty() || email.len() > 254 {
        return login_form(
            &s,
            lang,
            &flow,
            "",
            Some(bad_credentials),
            StatusCode::UNAUTHORIZED,
        );
    }
    let pw = match Password::new(form.password) {
        Ok(p) => p,
        Err(PasswordError::TooLong) => {
            return login_form(
                &s,
                lang,
                &flow,
                &email,
                Some(app::i18n::tr(
                    lang,
                    "Passwords can be at most 72 bytes long.",
                )),
                StatusCode::BAD_REQUEST,
            );
        }
        Err(_) => {
            return login_form(
                &s,
                lang,
                &flow,
                &email,
                Some(bad_credentials),
                StatusCode::UNAUTHORIZED,
            );
        }
    };
    let keys = [
        secret::keyed_hash(&s.hash_key, "throttle:account", email.as_bytes()),
        secret::keyed_hash(&s.hash_key, "throttle:ip", client_ip(&peer).as_bytes()),
    ];
    match s.db.throttle_wait(&keys).await {
        Err(e) => return database_failure(&e),
        Ok(Some(wait)) => return too_many(&s, lang, &flow, wait, ui::wants_html(&headers)),
        Ok(None) => {}
    }
    let creds = match s.db.credentials(&email).await {
        Ok(c) => c,
        Err(e) => return database_failure(&e),
    };
    // The same bcrypt work whether or not the email exists (or has a
    // password yet): the dummy hash has the configured cost.
    let (user, hash) = match &creds {
        Some(c) => (Some(c.user_id), c.password_hash.clone()),
        None => (None, None),
    };
    let has_hash = hash.is_some();
    let ok = s
        .verify(pw, hash.unwrap_or_else(|| s.dummy_hash.clone()))
        .await
        && has_hash;
    let rid = request_id();
    let Some(user_id) = user.filter(|_| ok) else {
        for (key, policy) in keys.iter().zip([ACCOUNT_POLICY, IP_POLICY]) {
            if let Err(e) = s.db.throttle_failure(key, policy).await {
                return database_failure(&e);
            }
        }
        if let Some(uid) = user {
            // Audited in the background, so a known email does not answer
            // measurably slower than an unknown one.
            let db = s.db.clone();
            tokio::spawn(async move {
                if let Err(e) = db.record_failed_sign_in(uid, &rid).await {
                    tracing::warn!(error = %e, "auditing a failed sign-in");
                }
            });
        }
        return login_form(
            &s,
            lang,
            &flow,
            &email,
            Some(bad_credentials),
            StatusCode::UNAUTHORIZED,
        );
    };
    if let Err(e) = s.db.throttle_reset(&keys).await {
        return database_failure(&e);
    }
    let raw = secret::random_secret();
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let sid = Uuid::new_v4();
    // Security: only the truncated address is kept, and only encrypted,
    // bound to this row (a ciphertext copied elsewhere fails to open).
    let ip = peer.0.and_then(|ip| {
        let truncated = metiva_security::ip::truncate(ip).to_string();
        let row = sid.to_string();
        s.field_keys
            .seal(truncated.as_bytes(), &metiva_db::sessions::ip_context(&row))
            .ok()
            .map(|sealed| SealedIp {
                key_id: sealed.key_id,
                nonce: sealed.nonce,
                ciphertext: sealed.ciphertext,
            })
    });
    let created =
        s.db.create_session(&NewSession {
            id: sid,
            user_id,
            secret_hash: &secret::sha256(raw.as_bytes()),
            user_agent: ua,
            ttl: SESSION_TTL,
            ip: ip.as_ref(),
        })
        .await;
    if let Err(e) = created {
        return database_failure(&e);
    }
    let resp = proceed(&s, lang, &flow, sid, user_id, Purpose::SignIn).await;
    let resp = with_cookies(resp, &[s.session_cookie(raw, SESSION_TTL)]);
    with_lang_cookie(resp, flow.lang.as_deref())
}

pub(super) fn too_many(
    s: &LoginService,
    lang: Lang,
    flow: &Flow,
    wait: Duration,
    html: bool,
) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let msg = match lang {
        Lang::En => format!("Too many attempts. Try again in {secs} seconds."),
        Lang::Nl => format!("Te veel pogingen. Probeer het over {secs} seconden opnieuw."),
    };
    if !html {
        return crate::http::error::AppError::rate_limited(msg, secs).into_response();
    }
    let mut resp = page(
        StatusCode::TOO_MANY_REQUESTS,
        lang,
        app::i18n::tr(lang, "Sign in to Metiva"),
        &format!(
            r#"{}<p class="mt-4 text-sm"><a class="{LINK}" href="{}">{}</a></p>"#,
            notice("error", &msg),
            esc(&flow.self_url("/login")),
            app::i18n::tr(lang, "Back to sign-in")
        ),
        None,
        &s.app_url,
    );
    if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// After authentication: pick the workspace (or ask), then hand off.
pub(super) async fn proceed(
    s: &LoginService,
    lang: Lang,
    flow: &Flow,
    sid: Uuid,
    user_id: Uuid,
    purpose: Purpose,
) -> Response {
    let workspaces = match s.db.workspaces(user_id).await {
        Ok(w) => w,
        Err(e) => return database_failure(&e),
    };
    if workspaces.is_empty() {
        let body = format!(
            r#"{}<form method="post" action="/logout" class="mt-6"><button type="submit" class="{BUTTON}">{}</button></form>"#,
            notice(
                "info",
                app::i18n::tr(
                    lang,
                    "Your account has no active workspace. Ask an owner of your agency's workspace to invite you."
                )
            ),
            app::i18n::tr(lang, "Sign out")
        );
        return page(
            StatusCode::FORBIDDEN,
            lang,
            app::i18n::tr(lang, "No workspace"),
            &body,
            None,
            &s.app_url,
        );
    }
    let hinted = flow
        .company()
        .and_then(|c| workspaces.iter().find(|w| w.company == c));
    let chosen = match (hinted, purpose) {
        (Some(w), Purpose::SignIn | Purpose::Renew) => Some(w),
        (_, Purpose::Switch) => None,
        (None, _) if workspaces.len() == 1 => workspaces.first(),
        (None, _) => None,
    };
    match chosen {
        Some(w) => issue(s, lang, flow, sid, user_id, w, purpose).await,
        None => choose_page(s, lang, flow, &workspaces),
    }
}
