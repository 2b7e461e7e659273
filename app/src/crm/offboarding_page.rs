//! `/settings/offboarding`: an owner offboards the workspace. The page
//! first offers the full workspace export (the last copy there will be),
//! then asks for the workspace's name typed out. The form is a plain POST
//! to `/settings/offboarding/confirm` (server: `http::offboarding`), so it
//! works without JavaScript; a wrong name comes back as `?invalid=name`.
//! Every member reads the page; only an owner gets the form.

use super::*;

/// What the page needs: the name to type, and who is asking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OffboardingDto {
    /// The workspace's name (members see it in the frame anyway).
    pub name: String,
    pub is_owner: bool,
}

#[server(endpoint = "offboarding_info")]
pub async fn offboarding_info() -> Result<OffboardingDto, AppError> {
    use crate::api::ssr::tenant;
    let ctx = tenant()?;
    Ok(OffboardingDto {
        name: ctx.company_name().to_string(),
        is_owner: ctx.role() == metiva_roles::Role::Owner,
    })
}

/// The two steps, for an owner.
fn owner_steps(l: Lang, name: String, invalid: &str) -> AnyView {
    let name_error = (invalid == "name").then(|| {
        view! {
            <p class="mt-1 text-sm text-red-700" id="offboard-name-error" data-testid="error-name">
                {tr(l, "The name you typed is not this workspace's name. Nothing was changed.")}
            </p>
        }
    });
    let described = name_error.is_some().then_some("offboard-name-error");
    view! {
        <div class=PANEL data-testid="offboard-export-step">
            <h2 class="text-lg font-semibold">{tr(l, "1. Export everything first")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "Offboarding deletes every record of this workspace, its files and its data key. Download the full workspace export first: afterwards there is no copy left to give you.")}</p>
            <p class="mt-3"><a class=LINK href="/privacy/exports" data-testid="offboard-export">{tr(l, "Request the full workspace export")}</a></p>
        </div>
        <div class=PANEL data-testid="offboard-confirm-step">
            <h2 class="text-lg font-semibold">{tr(l, "2. Confirm with the workspace's name")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "Every member loses access at once and you are signed out of this workspace. Your request is recorded; the operator of this Metiva installation then completes the deletion with the offboarding command, which deletes its rows and files and destroys its data key. Until then the data stays stored, but nobody can reach it. A receipt with counts only is kept.")}</p>
            <form method="post" action="/settings/offboarding/confirm" class="mt-4 space-y-3" data-testid="offboard-form">
                <label class=LABEL for="offboard-name">
                    {tr(l, "Type the workspace's name to confirm:")}" "
                    <strong data-testid="workspace-name">{name}</strong>
                </label>
                <input class=INPUT id="offboard-name" name="name" type="text" required=true autocomplete="off"
                    aria-invalid=described.map(|_| "true") aria-describedby=described />
                {name_error}
                <button type="submit" class=DANGER>{tr(l, "Offboard workspace")}</button>
            </form>
        </div>
    }
    .into_any()
}

#[component]
pub fn OffboardingPage() -> impl IntoView {
    let l = crate::i18n::current();
    let invalid = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("invalid")
        .unwrap_or_default();
    let data = Resource::new(|| (), crate::api::boxed(|_| offboarding_info()));
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Offboard this workspace")}</h1>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(d) if d.is_owner => owner_steps(l, d.name, &invalid),
                    Ok(_) => view! {
                        <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="offboard-not-owner">
                            {tr(l, "Only an owner can offboard this workspace.")}
                        </p>
                    }.into_any(),
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
