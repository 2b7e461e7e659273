//! Sign-in: the form, the password check (bcrypt, the same work for an
//! unknown email), the throttle, and the hand-off to a workspace.

use super::*;

pub(super) fn login_form(
    s: &LoginService,
    lang: Lang,
    flow: &Flow,
    email: &str,
    error: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let (fields, self_url, email) = (flow.fields(), flow.self_url("/login"), email.to_string());
    ui::page(status, &s.app_url, move || {
        view! { <pages::SignInPage lang flow=fields self_url email error /> }
    })
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
    let msg = app::i18n::tr(lang, "Too many attempts. Try again in {secs} seconds.")
        .replace("{secs}", &secs.to_string());
    if !html {
        return crate::http::error::AppError::rate_limited(msg, secs).into_response();
    }
    let back_url = flow.self_url("/login");
    let mut resp = ui::page(StatusCode::TOO_MANY_REQUESTS, &s.app_url, move || {
        view! { <pages::TooManyPage lang message=msg back_url /> }
    });
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
        return ui::page(StatusCode::FORBIDDEN, &s.app_url, move || {
            view! { <pages::NoWorkspacePage lang /> }
        });
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
        None => choose_page(s, lang, flow, workspaces),
    }
}
