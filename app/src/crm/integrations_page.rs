//! `/settings/integrations` (issue 18): the outbound providers (Twilio,
//! Google Ads, Meta, a webhook destination). Per provider: a connect form
//! with its credential fields (secrets are write-only: afterwards the
//! page shows only a hint such as the account id), disconnect, "test
//! connection", and the circuit breaker's state, last success and last
//! error. Everything needs `integrations.manage` (owner and admin); the
//! domain checks it again and audits every change.
//!
//! Plain POST forms to server functions, as `/settings/jobs`: a refused
//! connect form comes back to `?invalid=field:code,…` (codes only, never
//! what was typed), and scripts get a 422 naming each field.

#![allow(
    clippy::too_many_arguments,
    reason = "a server function takes one argument per form field, as the browser posts them"
)]

use super::*;

/// Where the plain forms return (used by the server functions only).
#[cfg(feature = "ssr")]
const BACK: &str = "/settings/integrations";

/// One credential field of a provider's connect form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldDto {
    pub name: String,
    /// A secret: a password input, never shown again.
    pub secret: bool,
}

/// One provider as the page shows it (never a credential).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderDto {
    /// `twilio`, `google_ads`, `meta`, `webhook`.
    pub key: String,
    pub fields: Vec<FieldDto>,
    /// The non-secret hint, when connected.
    pub hint: Option<String>,
    pub connected_at: Option<String>,
    /// `closed`, `open` or `half_open`.
    pub breaker: String,
    pub failures: i32,
    pub retry_at: Option<String>,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntegrationsDto {
    pub providers: Vec<ProviderDto>,
}

#[cfg(feature = "ssr")]
fn utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The message for a refused field's code.
fn code_text(code: &str) -> &'static str {
    match code {
        "required" => "This field is required.",
        "not_https" => "Use an https:// address.",
        "private_address" => "This address is on a private or local network.",
        "credentials_in_url" => "Leave user names and passwords out of the address.",
        "too_long" => "This is too long.",
        _ => "This value is not valid.",
    }
}

fn provider_name(key: &str) -> &'static str {
    match key {
        "twilio" => "Twilio (SMS)",
        "google_ads" => "Google Ads",
        "meta" => "Meta (Conversions API)",
        "webhook" => "Webhook (lead forwards)",
        _ => "Unknown",
    }
}

fn field_label(name: &str) -> &'static str {
    match name {
        "account_sid" => "Account SID",
        "auth_token" => "Auth token",
        "from_number" => "Sender number (E.164)",
        "customer_id" => "Customer ID",
        "conversion_action" => "Conversion action",
        "developer_token" => "Developer token",
        "access_token" => "Access token",
        "pixel_id" => "Pixel ID",
        "url" => "URL (https)",
        "secret" => "Signing secret (whsec_…)",
        _ => "Field",
    }
}

fn breaker_label(s: &str) -> &'static str {
    match s {
        "open" => "Open: calls are paused",
        "half_open" => "Half-open: testing",
        _ => "Closed: calls go out",
    }
}

#[cfg(feature = "ssr")]
fn refusal(e: metiva_db::adapters::integrations::IntegrationError) -> AppError {
    use metiva_db::adapters::integrations::IntegrationError as E;
    let l = crate::i18n::current();
    match e {
        E::Forbidden => AppError::forbidden(tr(l, "Your role may not manage integrations.")),
        E::NotConnected => AppError::not_found(tr(l, "This provider is not connected.")),
        E::Db(db) => crate::api::ssr::db_failure(db),
        E::Invalid(fields) => crate::form_refusal::ssr::refused(&fields, BACK, code_text),
    }
}

/// A provider name from a form; anything else is a 400 naming it.
#[cfg(feature = "ssr")]
fn parse_provider(raw: &str) -> Result<metiva_db::adapters::Provider, AppError> {
    raw.trim()
        .parse()
        .map_err(|_| AppError::bad_request(tr(crate::i18n::current(), "Unknown provider.")))
}

#[server(endpoint = "integrations_overview")]
pub async fn integrations_overview() -> Result<IntegrationsDto, AppError> {
    use crate::api::ssr::{database, require};
    let ctx = require(metiva_roles::Permission::IntegrationsManage)?;
    let views = database()?.integrations(&ctx).await.map_err(refusal)?;
    Ok(IntegrationsDto {
        providers: views
            .into_iter()
            .map(|v| {
                let p = v.provider;
                ProviderDto {
                    key: p.as_str().into(),
                    fields: p
                        .fields()
                        .iter()
                        .map(|f| FieldDto {
                            name: (*f).into(),
                            secret: p.secret_fields().contains(f),
                        })
                        .collect(),
                    hint: v.connection.as_ref().map(|c| c.hint.clone()),
                    connected_at: v.connection.as_ref().map(|c| utc(c.connected_at)),
                    breaker: v.breaker.phase.as_str().into(),
                    failures: v.breaker.consecutive_failures,
                    retry_at: v.breaker.retry_at.map(utc),
                    last_success: v.breaker.last_success_at.map(utc),
                    last_error: v.breaker.last_error.clone(),
                    last_error_at: v.breaker.last_error_at.map(utc),
                }
            })
            .collect(),
    })
}

/// Connects (or reconnects) a provider with its fields (the others are
/// ignored). 422 naming each refused field; 400 for an unknown provider.
#[server(endpoint = "connect_integration")]
pub async fn connect_integration(
    provider: String,
    account_sid: Option<String>,
    auth_token: Option<String>,
    from_number: Option<String>,
    customer_id: Option<String>,
    conversion_action: Option<String>,
    developer_token: Option<String>,
    access_token: Option<String>,
    pixel_id: Option<String>,
    url: Option<String>,
    secret: Option<String>,
) -> Result<String, AppError> {
    use super::ssr::done;
    use crate::api::ssr::{database, request_id, require};
    let ctx = require(metiva_roles::Permission::IntegrationsManage)?;
    let p = parse_provider(&provider)?;
    let keys = use_context::<crate::FieldKeys>()
        .ok_or_else(|| AppError::internal_here(&"the field keys are not in context"))?;
    let fields: std::collections::BTreeMap<String, String> = [
        ("account_sid", account_sid),
        ("auth_token", auth_token),
        ("from_number", from_number),
        ("customer_id", customer_id),
        ("conversion_action", conversion_action),
        ("developer_token", developer_token),
        ("access_token", access_token),
        ("pixel_id", pixel_id),
        ("url", url),
        ("secret", secret),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_string(), v?)))
    .collect();
    let allow_private = metiva_db::adapters::ProviderBases::from_env().allow_private_webhooks;
    let summary = database()?
        .connect_integration(&ctx, &keys.0, p, &fields, allow_private, &request_id())
        .await
        .map_err(refusal)?;
    done(&format!("{BACK}?done=connected"));
    Ok(summary.hint)
}

/// Disconnects a provider (its sealed credentials are deleted). 404 when
/// it is not connected.
#[server(endpoint = "disconnect_integration")]
pub async fn disconnect_integration(provider: String) -> Result<(), AppError> {
    use super::ssr::done;
    use crate::api::ssr::{database, request_id, require};
    let ctx = require(metiva_roles::Permission::IntegrationsManage)?;
    let p = parse_provider(&provider)?;
    database()?
        .disconnect_integration(&ctx, p, &request_id())
        .await
        .map_err(refusal)?;
    done(&format!("{BACK}?done=disconnected"));
    Ok(())
}

/// "Test connection": one authenticated GET against the provider (the
/// webhook: its URL is checked). Answers `ok` or the failure's reason
/// code; a plain form comes back to the page with it.
#[server(endpoint = "test_integration")]
pub async fn test_integration(provider: String) -> Result<String, AppError> {
    use super::ssr::done;
    use crate::api::ssr::{database, request_id, require};
    use metiva_db::adapters::integrations::TestOutcome;
    let ctx = require(metiva_roles::Permission::IntegrationsManage)?;
    let p = parse_provider(&provider)?;
    let keys = use_context::<crate::FieldKeys>()
        .ok_or_else(|| AppError::internal_here(&"the field keys are not in context"))?;
    let db = database()?;
    let adapters = metiva_db::adapters::Adapters::new(
        db.clone(),
        metiva_db::adapters::ProviderBases::from_env(),
    )
    .map_err(|e| AppError::internal_here(&e))?;
    let outcome = db
        .test_integration(&ctx, &keys.0, &adapters, p, &request_id())
        .await
        .map_err(refusal)?;
    let code = match outcome {
        TestOutcome::Ok => "ok".to_string(),
        TestOutcome::Failed(m) => m
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(60)
            .collect(),
    };
    done(&format!(
        "{BACK}?done=tested&provider={}&result={code}",
        p.as_str()
    ));
    Ok(code)
}

#[component]
fn ProviderPanel(p: ProviderDto) -> impl IntoView {
    let l = crate::i18n::current();
    let connected = p.hint.is_some();
    let inputs = p
        .fields
        .iter()
        .map(|f| {
            let id = format!("{}-{}", p.key, f.name);
            let for_id = id.clone();
            view! {
                <label class=LABEL for=for_id>{tr(l, field_label(&f.name))}
                    <input id=id class=INPUT name=f.name.clone()
                        type=if f.secret { "password" } else { "text" }
                        autocomplete="off" required=true />
                </label>
            }
        })
        .collect_view();
    let status = match &p.hint {
        Some(hint) => view! {
            <p class="text-sm" data-testid="integration-connected">
                {tr(l, "Connected:")}" "<span class="font-mono">{hint.clone()}</span>
                " · "<time datetime=p.connected_at.clone().unwrap_or_default()>{p.connected_at.clone().unwrap_or_default()}</time>
            </p>
        }
        .into_any(),
        None => view! { <p class="text-sm text-slate-600">{tr(l, "Not connected.")}</p> }.into_any(),
    };
    let manage_connected = connected.then(|| view! {
        <div class="mt-3 flex gap-2">
            <form method="post" action="/api/test_integration" class="inline">
                <input type="hidden" name="provider" value=p.key.clone() />
                <button type="submit" class=PRIMARY data-testid="test-integration">{tr(l, "Test connection")}</button>
            </form>
            <form method="post" action="/api/disconnect_integration" class="inline">
                <input type="hidden" name="provider" value=p.key.clone() />
                <button type="submit" class=DANGER data-testid="disconnect-integration">{tr(l, "Disconnect")}</button>
            </form>
        </div>
    });
    let none = || "—".to_string();
    view! {
        <div class=PANEL data-testid=format!("integration-{}", p.key) data-breaker=p.breaker.clone()>
            <h2 class="text-lg font-semibold">{tr(l, provider_name(&p.key))}</h2>
            {status}
            <dl class="mt-3 grid grid-cols-2 gap-x-4 gap-y-1 text-sm">
                <dt class="text-slate-500">{tr(l, "Circuit breaker")}</dt>
                <dd data-testid="breaker-state">{tr(l, breaker_label(&p.breaker))}
                    {(p.failures > 0).then(|| format!(" ({} {})", p.failures, tr(l, "failures in a row")))}
                    {p.retry_at.clone().filter(|_| p.breaker != "closed").map(|t| format!(", {} {t}", tr(l, "next try at")))}
                </dd>
                <dt class="text-slate-500">{tr(l, "Last success")}</dt>
                <dd data-testid="last-success">{p.last_success.clone().unwrap_or_else(none)}</dd>
                <dt class="text-slate-500">{tr(l, "Last error")}</dt>
                <dd data-testid="last-error"><span class="text-red-800">{p.last_error.clone().unwrap_or_else(none)}</span>
                    {p.last_error_at.clone().map(|t| format!(" ({t})"))}</dd>
            </dl>
            {manage_connected}
            <details class="mt-4">
                <summary class="cursor-pointer text-sm font-medium">
                    {if connected { tr(l, "Replace the credentials") } else { tr(l, "Connect") }}
                </summary>
                <form method="post" action="/api/connect_integration" class="mt-3 grid gap-3 sm:grid-cols-2" data-testid=format!("connect-{}", p.key)>
                    <input type="hidden" name="provider" value=p.key.clone() />
                    {inputs}
                    <div class="sm:col-span-2">
                        <p class="mb-2 text-xs text-slate-500">{tr(l, "Secrets are stored encrypted and never shown again.")}</p>
                        <button type="submit" class=PRIMARY>{tr(l, "Save and connect")}</button>
                    </div>
                </form>
            </details>
        </div>
    }
}

/// The banner after a form: connected, disconnected, a test's result, or
/// the refused fields.
fn outcome_banner(l: Lang) -> Option<AnyView> {
    let q = leptos_router::hooks::use_query_map().read_untracked();
    let ok = |text: String| {
        view! { <p role="status" data-testid="integrations-done" class="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">{text}</p> }.into_any()
    };
    let bad = |text: String| {
        view! { <p role="alert" data-testid="integrations-refused" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900">{text}</p> }.into_any()
    };
    if let Some(list) = q.get("invalid") {
        let text = crate::form_refusal::parse_invalid(&list)
            .iter()
            .map(|(f, c)| format!("{}: {}", tr(l, field_label(f)), tr(l, code_text(c))))
            .collect::<Vec<_>>()
            .join(" ");
        return Some(bad(format!("{} {text}", tr(l, "Not saved."))));
    }
    match q.get("done").as_deref() {
        Some("connected") => Some(ok(tr(l, "Connected.").to_string())),
        Some("disconnected") => Some(ok(tr(l, "Disconnected.").to_string())),
        Some("tested") => {
            // Codes only (checked): shown as text, never markup.
            let result: String = q
                .get("result")
                .unwrap_or_default()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(60)
                .collect();
            Some(if result == "ok" {
                ok(tr(l, "The connection works.").to_string())
            } else {
                bad(format!("{} {result}", tr(l, "The test failed:")))
            })
        }
        _ => None,
    }
}

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let l = crate::i18n::current();
    let banner = outcome_banner(l);
    let data = Resource::new(|| (), crate::api::boxed(|_| integrations_overview()));
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Integrations")}</h1>
            <p class="text-sm text-slate-600">{tr(l, "The services this workspace sends to. When a service keeps failing, its circuit breaker opens: sending pauses and the work waits in the queue until the service answers again.")}</p>
            {banner}
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(d) => d.providers.into_iter().map(|p| view! { <ProviderPanel p /> }).collect_view().into_any(),
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
