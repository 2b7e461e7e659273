//! The conversion uploads of a deal or a person (issue 18): per ad
//! platform, "uploaded", pending, failed, or "not sent" with its reason
//! (above all "no marketing consent"), on the deal's and the person's page.

use super::*;

/// One upload as the pages show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UploadDto {
    pub deal: String,
    /// `Google Ads` or `Meta`.
    pub platform: String,
    /// `pending`, `uploaded`, `cancelled` or `failed` (a `data-state` for
    /// tests).
    pub state: String,
    /// The status in the reader's language.
    pub text: String,
    pub at: String,
}

/// The status line of one upload (rendered on the server).
#[cfg(feature = "ssr")]
pub fn status_text(l: Lang, state: &str, reason: Option<&str>) -> String {
    match (state, reason) {
        ("uploaded", _) => tr(l, "uploaded").to_string(),
        ("pending", _) => tr(l, "waiting to be sent").to_string(),
        ("cancelled", Some("no marketing consent")) => {
            tr(l, "not sent: no marketing consent").to_string()
        }
        ("cancelled", Some("person erased")) => tr(l, "not sent: person erased").to_string(),
        ("cancelled", Some("not connected")) => {
            tr(l, "not sent: platform disconnected").to_string()
        }
        ("cancelled", Some("no identifier")) => {
            tr(l, "not sent: no email or phone on record").to_string()
        }
        ("cancelled", _) => tr(l, "not sent").to_string(),
        // A failure's reason is a provider status code, not prose.
        (_, Some(r)) => format!("{} ({r})", tr(l, "failed")),
        _ => tr(l, "failed").to_string(),
    }
}

/// `kind` is `deal` (needs deals.read) or `person` (persons.read).
#[server(endpoint = "conversion_uploads")]
pub async fn conversion_uploads(kind: String, id: String) -> Result<Vec<UploadDto>, AppError> {
    use crate::api::ssr::{database, db_failure, require};
    use metiva_db::conversions::UploadsOf;
    let (permission, of): (_, fn(uuid::Uuid) -> UploadsOf) = match kind.as_str() {
        "deal" => (metiva_roles::Permission::DealsRead, UploadsOf::Deal),
        "person" => (metiva_roles::Permission::PersonsRead, UploadsOf::Person),
        _ => {
            return Err(AppError::not_found(tr(
                crate::i18n::current(),
                "Not found.",
            )));
        }
    };
    let ctx = require(permission)?;
    let Ok(uid) = uuid::Uuid::parse_str(&id) else {
        return Ok(Vec::new());
    };
    let l = crate::i18n::current();
    let rows = database()?
        .conversion_uploads(&ctx, of(uid))
        .await
        .map_err(db_failure)?;
    Ok(upload_dtos(l, rows))
}

/// The uploads as the panel shows them (the person page reads them in its
/// record's transaction, the deal page through [`conversion_uploads`]).
#[cfg(feature = "ssr")]
pub fn upload_dtos(l: Lang, rows: Vec<metiva_db::conversions::UploadStatus>) -> Vec<UploadDto> {
    rows.into_iter()
        .map(|u| UploadDto {
            deal: u.deal_id.to_string(),
            platform: match u.platform.as_str() {
                "google_ads" => "Google Ads".to_string(),
                "meta" => "Meta".to_string(),
                other => other.to_string(),
            },
            text: status_text(l, &u.state, u.reason.as_deref()),
            state: u.state,
            at: u
                .sent_at
                .unwrap_or(u.updated_at)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
        })
        .collect()
}

/// The uploads panel of a deal, loaded on its own; renders nothing when
/// there are none.
#[component]
pub fn ConversionPanel(kind: &'static str, id: String) -> impl IntoView {
    let data = Resource::new(
        move || id.clone(),
        crate::api::boxed(move |id| conversion_uploads(kind.to_string(), id)),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(list) => view! { <ConversionList kind=kind list=list /> }.into_any(),
                Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
            })}
        </Suspense>
    }
}

/// The uploads panel from data already read; renders nothing when there
/// are none.
#[component]
pub fn ConversionList(kind: &'static str, list: Vec<UploadDto>) -> impl IntoView {
    let l = crate::i18n::current();
    if list.is_empty() {
        return ().into_any();
    }
    let rows = list
        .into_iter()
        .map(|u| {
            view! {
                <li class="text-sm" data-testid="conversion-upload" data-state=u.state.clone()>
                    <span class="font-medium">{u.platform}</span>": "{u.text}
                    <span class="text-xs text-slate-500">" "{u.at}</span>
                    {(kind == "person").then(|| view! {
                        " "<a class=LINK href=format!("/deals/{}", u.deal)>{tr(l, "Deal")}</a>
                    })}
                </li>
            }
        })
        .collect_view();
    view! {
        <div class=PANEL data-testid="conversion-uploads">
            <h2 class="text-lg font-semibold">{tr(l, "Conversion uploads")}</h2>
            <p class="mt-1 text-xs text-slate-500">{tr(l, "Sent to the ad platforms only with the person's marketing consent on record at the moment of sending.")}</p>
            <ul class="mt-2 space-y-1">{rows}</ul>
        </div>
    }
    .into_any()
}
