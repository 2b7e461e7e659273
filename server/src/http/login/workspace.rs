//! Choosing a workspace, and issuing its token sealed in a one-time code.

use super::*;

pub(super) fn choose_page(
    s: &LoginService,
    lang: Lang,
    flow: &Flow,
    workspaces: Vec<Workspace>,
) -> Response {
    let (fields, self_url) = (flow.fields(), flow.self_url("/login"));
    ui::page(StatusCode::OK, &s.app_url, move || {
        view! { <pages::ChooseWorkspacePage lang flow=fields self_url workspaces /> }
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct ChooseForm {
    #[serde(default)]
    choice: String,
    #[serde(flatten)]
    flow: Flow,
}

pub(super) async fn post_choose(
    State(s): St,
    headers: HeaderMap,
    Form(form): Form<ChooseForm>,
) -> Response {
    let flow = form.flow;
    let lang = ui::negotiate(flow.lang.as_deref(), &headers);
    if flow.checked(&s.app_url).is_none() {
        return restart(&s, lang);
    }
    let session = match current_session(&s, &headers).await {
        Err(r) => return r,
        Ok(Some(x)) => x,
        Ok(None) => return Redirect::to(&flow.self_url("/login")).into_response(),
    };
    let workspaces = match s.db.workspaces(session.user_id).await {
        Ok(w) => w,
        Err(e) => return database_failure(&e),
    };
    // Security: only a workspace the user holds an active membership in.
    let Some(w) = CompanyId::parse(&form.choice)
        .ok()
        .and_then(|c| workspaces.into_iter().find(|w| w.company == c))
    else {
        return ui::page(StatusCode::FORBIDDEN, &s.app_url, move || {
            view! { <pages::NotMemberPage lang /> }
        });
    };
    let purpose = match flow.purpose() {
        Purpose::Switch => Purpose::Switch,
        _ => Purpose::SignIn,
    };
    issue(&s, lang, &flow, session.id, session.user_id, &w, purpose).await
}

/// Mints the token, seals it under a fresh one-time code and redirects to
/// the dashboard's callback with the code and the state.
pub(super) async fn issue(
    s: &LoginService,
    lang: Lang,
    flow: &Flow,
    sid: Uuid,
    user_id: Uuid,
    w: &Workspace,
    purpose: Purpose,
) -> Response {
    let Some((return_to, state)) = flow.checked(&s.app_url) else {
        return restart(s, lang);
    };
    let now = now_secs();
    let claims = AccessClaims {
        iss: s.login_url.clone(),
        aud: s.app_url.clone(),
        sub: user_id.to_string(),
        company_id: w.company.to_string(),
        sid: sid.to_string(),
        iat: now,
        nbf: now,
        exp: now + ACCESS_TOKEN_TTL_SECS,
    };
    let Ok(signer) = s.signing.signing_key().await else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "token signing is unavailable",
        )
            .into_response();
    };
    let Ok(token) = signer.mint(&claims) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "token signing failed").into_response();
    };
    let code = secret::random_secret();
    let Some(sealed) = secret::seal_with_code(&code, token.as_bytes()) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "sealing failed").into_response();
    };
    let rid = request_id();
    let action = match purpose {
        Purpose::SignIn => Some("auth.sign_in"),
        Purpose::Switch => Some("auth.switch_workspace"),
        Purpose::Renew => None,
    };
    let entered =
        s.db.enter(
            &w.company,
            user_id,
            sid,
            action,
            &NewCode {
                code_hash: &secret::sha256(code.as_bytes()),
                sealed_token: &sealed,
                return_to: &return_to,
                state: &state,
                ttl: CODE_TTL,
            },
            &rid,
        )
        .await;
    if let Err(e) = entered {
        return database_failure(&e);
    }
    Redirect::to(&format!(
        "{}/auth/callback?code={}&state={}",
        s.app_url,
        qs(&code),
        qs(&state)
    ))
    .into_response()
}
