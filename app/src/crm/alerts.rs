//! `/settings/alerts`: the signed-in member's own phone for SMS alerts
//! (verified with a one-time code) and the opt-in for SLA breach alerts;
//! and the breach notices on `/tasks`.
//!
//! Plain HTML forms (they work without JavaScript): success goes back to
//! the page with `?done=<code>`, a refusal with `?error=<code>`; a script
//! gets the status (422, 429 with `Retry-After`) and the message.

use super::*;

/// The settings page's data: hints only, never the number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhoneDto {
    /// Last three digits of the verified phone.
    pub verified_hint: Option<String>,
    pub sms_alerts: bool,
    /// Last three digits of a number with a code waiting.
    pub pending_hint: Option<String>,
}

/// An unread notice on `/tasks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoticeDto {
    pub href: String,
    /// The task's deadline, Europe/Amsterdam.
    pub due: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoticesDto {
    pub notices: Vec<NoticeDto>,
    pub unread: i64,
}

/// Where the plain forms return (used by the server functions only).
#[cfg(feature = "ssr")]
const BACK: &str = "/settings/alerts";

/// The message for a refusal code (also the `?error=` of a plain form).
fn error_text(code: &str) -> &'static str {
    match code {
        "phone.format" => "Enter a mobile number, for example 06 1234 5678 or +31 6 1234 5678.",
        "throttled" => "Too many codes requested: at most 3 per hour. Try again later.",
        "code.none" => "Request a code first.",
        "code.expired" => {
            "That code has expired (codes are valid for 10 minutes). Request a new one."
        }
        "code.locked" => "Too many wrong tries (5). Request a new code.",
        "code.wrong" => "That code is not right. Check the SMS and try again.",
        "phone.unverified" => "Verify a phone number first.",
        _ => "Something went wrong",
    }
}

fn done_text(code: &str) -> Option<&'static str> {
    match code {
        "code_sent" => Some("A code is on its way by SMS. It is valid for 10 minutes."),
        "verified" => Some("Your phone number is verified."),
        "alerts_on" => Some("SMS alerts are on."),
        "alerts_off" => Some("SMS alerts are off."),
        _ => None,
    }
}

#[cfg(feature = "ssr")]
fn phone_refusal(e: metiva_db::alerts::phone::PhoneError) -> AppError {
    use metiva_db::alerts::phone::PhoneError as P;
    let l = crate::i18n::current();
    let (code, err) = match e {
        P::InvalidPhone => ("phone.format", None),
        // 429 with Retry-After: the window is an hour.
        P::Throttled => (
            "throttled",
            Some(AppError::rate_limited(tr(l, error_text("throttled")), 3600)),
        ),
        P::NoCode => ("code.none", None),
        P::Expired => ("code.expired", None),
        P::Locked => ("code.locked", None),
        P::WrongCode { .. } => ("code.wrong", None),
        P::NotVerified => ("phone.unverified", None),
        P::Db(db) => return crate::api::ssr::db_failure(db),
    };
    let err = err.unwrap_or_else(|| AppError::validation(tr(l, error_text(code))));
    let err = err.with_code(match code {
        "throttled" => "rate_limited",
        _ => "validation",
    });
    if crate::member_forms::ssr::plain_form() {
        leptos_axum::redirect(&format!("{BACK}?error={code}"));
    }
    err
}

#[cfg(feature = "ssr")]
fn field_keys() -> Result<std::sync::Arc<metiva_security::cipher::KeyRing>, AppError> {
    use_context::<crate::FieldKeys>()
        .map(|k| k.0.clone())
        .ok_or_else(|| AppError::internal_here(&"the field keys are not in context"))
}

#[server(endpoint = "my_phone")]
pub async fn my_phone() -> Result<PhoneDto, AppError> {
    use crate::api::ssr::{database, db_failure, tenant};
    let ctx = tenant()?;
    let p = database()?
        .my_phone(&ctx, chrono::Utc::now())
        .await
        .map_err(db_failure)?;
    Ok(PhoneDto {
        verified_hint: p.verified_hint,
        sms_alerts: p.sms_alerts,
        pending_hint: p.pending_hint,
    })
}

/// Sends a verification code to `phone` (the member's own; throttled).
#[server(endpoint = "request_phone_code")]
pub async fn request_phone_code(phone: String) -> Result<(), AppError> {
    use crate::api::ssr::{database, tenant};
    let ctx = tenant()?;
    let keys = field_keys()?;
    database()?
        .request_phone_code(&ctx, &keys, &phone, chrono::Utc::now())
        .await
        .map_err(phone_refusal)?;
    super::ssr::done(&format!("{BACK}?done=code_sent"));
    Ok(())
}

/// Confirms the code; the phone becomes the member's verified phone.
#[server(endpoint = "confirm_phone_code")]
pub async fn confirm_phone_code(code: String) -> Result<(), AppError> {
    use crate::api::ssr::{database, request_id, tenant};
    let ctx = tenant()?;
    let keys = field_keys()?;
    database()?
        .confirm_phone_code(&ctx, &keys, &code, chrono::Utc::now(), &request_id())
        .await
        .map_err(phone_refusal)?;
    super::ssr::done(&format!("{BACK}?done=verified"));
    Ok(())
}

/// Turns SMS breach alerts on (`on=true`, needs a verified phone) or off.
#[server(endpoint = "set_sms_alerts")]
pub async fn set_sms_alerts(on: String) -> Result<(), AppError> {
    use crate::api::ssr::{database, tenant};
    let ctx = tenant()?;
    let on = on == "true";
    database()?
        .set_sms_alerts(&ctx, on)
        .await
        .map_err(phone_refusal)?;
    super::ssr::done(&format!(
        "{BACK}?done={}",
        if on { "alerts_on" } else { "alerts_off" }
    ));
    Ok(())
}

#[server(endpoint = "my_notices")]
pub async fn my_notices() -> Result<NoticesDto, AppError> {
    use crate::api::ssr::{database, db_failure, tenant};
    let ctx = tenant()?;
    let (list, unread) = database()?.my_notices(&ctx).await.map_err(db_failure)?;
    Ok(NoticesDto {
        notices: list
            .into_iter()
            .map(|n| NoticeDto {
                href: n
                    .task_person_id
                    .map(|p| format!("/persons/{p}"))
                    .unwrap_or_default(),
                due: n
                    .task_due_at
                    .map(|t| {
                        t.with_timezone(&chrono_tz::Europe::Amsterdam)
                            .format("%Y-%m-%d %H:%M")
                            .to_string()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        unread,
    })
}

/// Marks the member's notices read.
#[server(endpoint = "dismiss_notices")]
pub async fn dismiss_notices() -> Result<(), AppError> {
    use crate::api::ssr::{database, db_failure, tenant};
    let ctx = tenant()?;
    database()?
        .dismiss_notices(&ctx)
        .await
        .map_err(db_failure)?;
    super::ssr::done("/tasks");
    Ok(())
}

/// The breach notices above the task list (nothing when there are none).
#[component]
pub fn NoticesPanel() -> impl IntoView {
    let l = crate::i18n::current();
    let data = Resource::new(|| (), crate::api::boxed(|_| my_notices()));
    view! {
        <Suspense fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(d) if d.unread > 0 => {
                    let rows = d.notices.into_iter().map(|n| view! {
                        <li class="py-1 text-sm" data-testid="notice-row">
                            {tr(l, "A first response passed its SLA deadline")}" ("{n.due}")"
                            {(!n.href.is_empty()).then(|| view! { " " <a class=LINK href=n.href>{tr(l, "Open record")}</a> })}
                        </li>
                    }).collect_view();
                    view! {
                        <div role="status" class="rounded-lg border border-red-200 bg-red-50 p-4" data-testid="notices">
                            <p class="text-sm font-semibold text-red-800">
                                {tr(l, "SLA breaches")}" "<span data-testid="notice-count">{d.unread}</span>
                            </p>
                            <ul>{rows}</ul>
                            <form method="post" action="/api/dismiss_notices" class="mt-2">
                                <button type="submit" class="rounded-md border border-red-300 px-2 py-0.5 text-xs font-medium text-red-800 hover:bg-red-100">{tr(l, "Dismiss")}</button>
                            </form>
                        </div>
                    }.into_any()
                }
                Ok(_) => ().into_any(),
                Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
            })}
        </Suspense>
    }
}

/// `/settings/alerts`.
#[component]
pub fn AlertsPage() -> impl IntoView {
    let l = crate::i18n::current();
    let q = leptos_router::hooks::use_query_map().read_untracked();
    let error = q.get("error").map(|c| tr(l, error_text(&c)));
    let done = q.get("done").and_then(|c| done_text(&c)).map(|t| tr(l, t));
    let data = Resource::new(|| (), crate::api::boxed(|_| my_phone()));
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "SMS alerts")}</h1>
            <p class="text-sm text-slate-600">{tr(l, "Get an SMS when a first response assigned to you passes its SLA deadline. Verify your mobile number first.")}</p>
            {done.map(|t| view! { <p role="status" class="rounded-md bg-green-50 p-3 text-sm text-green-800" data-testid="done">{t}</p> })}
            {error.map(|t| view! { <p role="alert" class="rounded-md bg-red-50 p-3 text-sm text-red-800" data-testid="error">{t}</p> })}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 6rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(p) => view! {
                        <div class=PANEL>
                            <h2 class="text-lg font-semibold">{tr(l, "Mobile number")}</h2>
                            <p class="mt-1 text-sm text-slate-600" data-testid="phone-state">{match &p.verified_hint {
                                Some(h) => format!("{} {h}", tr(l, "Verified; ends in")),
                                None => tr(l, "No verified number yet.").to_string(),
                            }}</p>
                            <form method="post" action="/api/request_phone_code" class="mt-3 flex flex-wrap items-end gap-2" data-testid="phone-form">
                                <div>
                                    <label class=LABEL for="a-phone">{tr(l, "Mobile number")}</label>
                                    <input class=INPUT id="a-phone" name="phone" type="tel" autocomplete="tel" required=true placeholder="+31 6 1234 5678" />
                                </div>
                                <button type="submit" class=PRIMARY>{tr(l, "Send code")}</button>
                            </form>
                            {p.pending_hint.clone().map(|h| view! {
                                <form method="post" action="/api/confirm_phone_code" class="mt-3 flex flex-wrap items-end gap-2" data-testid="code-form">
                                    <div>
                                        <label class=LABEL for="a-code">{format!("{} {h}", tr(l, "Code sent to the number ending in"))}</label>
                                        <input class=INPUT id="a-code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required=true />
                                    </div>
                                    <button type="submit" class=PRIMARY>{tr(l, "Verify")}</button>
                                </form>
                            })}
                        </div>
                        <div class=PANEL>
                            <h2 class="text-lg font-semibold">{tr(l, "SLA breach alerts by SMS")}</h2>
                            <p class="mt-1 text-sm" data-testid="alerts-state">{tr(l, if p.sms_alerts { "On" } else { "Off" })}</p>
                            {p.verified_hint.is_some().then(|| view! {
                                <form method="post" action="/api/set_sms_alerts" class="mt-2">
                                    <input type="hidden" name="on" value=if p.sms_alerts { "false" } else { "true" } />
                                    <button type="submit" class=PRIMARY data-testid="alerts-toggle">{tr(l, if p.sms_alerts { "Turn off" } else { "Turn on" })}</button>
                                </form>
                            })}
                        </div>
                    }.into_any(),
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
