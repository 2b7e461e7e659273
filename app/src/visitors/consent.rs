//! `/consent`: sites and their snippet, banner texts, consent totals and
//! the ledger.

use super::*;

#[server(endpoint = "consent_overview")]
pub async fn consent_overview() -> Result<ConsentDto, AppError> {
    use crate::api::ssr::{database, require};
    use metiva_roles::Permission;
    use ssr::*;
    let ctx = require(Permission::VisitorsRead)?;
    let db = database()?;
    let l = crate::i18n::current();
    let o = db.consent_overview(&ctx, 50).await.map_err(failure)?;
    let base = use_context::<crate::SnippetBase>()
        .map(|b| b.0)
        .unwrap_or_default();
    Ok(ConsentDto {
        can_configure: ctx.can(Permission::ConsentManage),
        banners: crate::consent_text::BANNERS
            .iter()
            .map(|b| BannerDto {
                version: b.version.into(),
                lang: b.lang.into(),
                hash: crate::consent_text::text_hash(b),
                title: b.title.into(),
                body: b.body.into(),
                purposes: b
                    .purposes
                    .iter()
                    .map(|p| (p.label.to_string(), p.help.to_string()))
                    .collect(),
                current: b.version == crate::consent_text::BANNER_VERSION,
            })
            .collect(),
        sites: o
            .sites
            .into_iter()
            .map(|s| SiteDto {
                tag: format!(
                    "<script src=\"{base}/s/{}/snippet.js\" async></script>",
                    s.site_key
                ),
                id: s.id.to_string(),
                domain: s.domain,
                key: s.site_key,
                origins: s.allowed_origins,
                enabled: s.enabled,
            })
            .collect(),
        decisions: o.totals.decisions,
        accepted: o.totals.accepted_any,
        rejected: o.totals.rejected_all,
        withdrawals: o.totals.withdrawals,
        pending_forwards: o.totals.pending_forwards,
        ledger: o
            .ledger
            .into_iter()
            .map(|e| LedgerRow {
                id: e.id,
                at: when(e.decided_at),
                domain: e.domain,
                visitor: e.visitor_id.map(short),
                outcome: tr(
                    l,
                    if e.withdrawal {
                        "Withdrawn"
                    } else if e.analytics || e.identification || e.marketing {
                        "Granted"
                    } else {
                        "Rejected"
                    },
                )
                .to_string(),
                purposes: purposes(l, e.analytics, e.identification, e.marketing),
                version: e.banner_version,
                lang: e.lang,
                hash: e.text_hash.chars().take(12).collect(),
            })
            .collect(),
    })
}

#[component]
pub fn ConsentPage() -> impl IntoView {
    let l = crate::i18n::current();
    let data = Resource::new(|| (), crate::api::boxed(|_| consent_overview()));
    view! {
        <section class="space-y-6">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Consent")}</h1>
                <p class="mt-1 text-slate-600">{tr(l, "What visitors of your clients' sites are asked, and the proof of every answer.")}</p>
            </div>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 16rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(d) => view! { <ConsentBody d /> }.into_any(),
                    Err(e) => error_view(e),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ConsentBody(d: ConsentDto) -> impl IntoView {
    let l = crate::i18n::current();
    let can_configure = d.can_configure;
    let sites = d
        .sites
        .into_iter()
        .map(|s| {
            let origins = s.origins.join(", ");
            let toggle = can_configure.then(|| {
                let (action, label) = if s.enabled {
                    ("disable", tr(l, "Disable"))
                } else {
                    ("enable", tr(l, "Enable"))
                };
                view! {
                    <form method="post" action=format!("/api/sites/{}/{action}", s.id) class="ml-auto">
                        <button type="submit" class="rounded-md border border-slate-300 px-2 py-1 text-xs font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">{label}</button>
                    </form>
                }
            });
            view! {
                <div class="border-t border-slate-100 py-3 first:border-t-0" data-testid="site">
                    <div class="flex flex-wrap items-baseline gap-2">
                        <span class="font-medium">{s.domain}</span>
                        <span class=BADGE>{if s.enabled { tr(l, "Enabled") } else { tr(l, "Disabled") }}</span>
                        {toggle}
                    </div>
                    <div class="mt-1 text-xs text-slate-600">{tr(l, "Site key")}": "<code data-testid="site-key">{s.key}</code></div>
                    <div class="text-xs text-slate-600">{tr(l, "Allowed origins")}": "{origins}</div>
                    <p class="mt-2 text-sm">{tr(l, "Paste this tag before </body> on every page of the site:")}</p>
                    <pre class="mt-1 overflow-x-auto rounded-md bg-slate-900 p-3 text-xs text-slate-50" data-testid="snippet-tag">{s.tag}</pre>
                    <p class="mt-1 text-xs text-slate-500">{tr(l, "Forms with the attribute data-metiva-capture (fields name, email, company) are captured only under recognition consent.")}</p>
                </div>
            }
        })
        .collect_view();
    let banners = d
        .banners
        .into_iter()
        .map(|b| {
            let purposes = b
                .purposes
                .into_iter()
                .map(|(label, help)| view! { <li><span class="font-medium">{label}</span>": "{help}</li> })
                .collect_view();
            view! {
                <div class="rounded-md border border-slate-200 p-4" data-testid="banner-text">
                    <div class="flex flex-wrap items-baseline gap-2 text-xs text-slate-500">
                        <span class=BADGE>{b.lang.to_uppercase()}</span>
                        <span>{tr(l, "Version")}" "{b.version}</span>
                        {b.current.then(|| view! { <span class=GRANTED>{tr(l, "Current")}</span> })}
                    </div>
                    // Quoted in its own language, whatever the page's.
                    <blockquote lang=b.lang.clone() class="mt-2">
                        <div class="font-medium">{b.title}</div>
                        <p class="mt-1 text-sm text-slate-700">{b.body}</p>
                        <ul class="mt-2 list-disc space-y-1 pl-5 text-sm text-slate-700">{purposes}</ul>
                    </blockquote>
                    <p class="mt-2 break-all font-mono text-[11px] text-slate-500">"SHA-256 "{b.hash}</p>
                </div>
            }
        })
        .collect_view();
    let ledger = d
        .ledger
        .into_iter()
        .map(|e| {
            let purposes = e.purposes.join(", ");
            view! {
                <tr class="border-t border-slate-100" data-testid="ledger-row">
                    <td class=format!("{TD} text-xs text-slate-600")>{e.at}</td>
                    <td class=TD>{e.outcome}</td>
                    <td class=format!("{TD} text-xs")>{purposes}</td>
                    <td class=format!("{TD} font-mono text-xs")>{e.visitor.unwrap_or_else(|| "—".into())}</td>
                    <td class=format!("{TD} text-xs")>{e.domain}</td>
                    <td class=format!("{TD} font-mono text-xs")>{format!("{} {} {}…", e.version, e.lang, e.hash)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Deny by default")}</h2>
            <p class="mt-1 text-sm text-slate-700" data-testid="deny-by-default">{tr(l, "Fixed, not a setting: before a visitor decides, nothing identifies them and visits count at company level only. Targeting and forwards wait for marketing consent.")}</p>
            <dl class="mt-4 grid grid-cols-2 gap-4 text-sm sm:grid-cols-5">
                <div><dt class="text-slate-500">{tr(l, "Decisions")}</dt><dd class="text-lg font-semibold">{d.decisions}</dd></div>
                <div><dt class="text-slate-500">{tr(l, "Granted")}</dt><dd class="text-lg font-semibold">{d.accepted}</dd></div>
                <div><dt class="text-slate-500">{tr(l, "Rejected")}</dt><dd class="text-lg font-semibold">{d.rejected}</dd></div>
                <div><dt class="text-slate-500">{tr(l, "Withdrawn")}</dt><dd class="text-lg font-semibold">{d.withdrawals}</dd></div>
                <div><dt class="text-slate-500">{tr(l, "Pending forwards")}</dt><dd class="text-lg font-semibold">{d.pending_forwards}</dd></div>
            </dl>
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Install the snippet")}</h2>
            {sites}
            {can_configure.then(|| view! {
                <details class="mt-4 border-t border-slate-100 pt-3">
                    <summary class="cursor-pointer text-sm font-medium text-indigo-700">{tr(l, "Register a site")}</summary>
                    <form method="post" action="/api/sites" class="mt-2 grid gap-2 sm:max-w-md">
                        <label class="text-xs text-slate-600">{tr(l, "Domain")}
                            <input name="domain" required placeholder="www.example.nl" class="mt-1 block w-full rounded-md border border-slate-300 px-2 py-1 text-sm" />
                        </label>
                        <label class="text-xs text-slate-600">{tr(l, "Allowed origins, one per line (empty: https:// and the domain)")}
                            <textarea name="origins" rows="3" placeholder="https://www.example.nl" class="mt-1 block w-full rounded-md border border-slate-300 px-2 py-1 font-mono text-xs"></textarea>
                        </label>
                        <button type="submit" class="justify-self-start rounded-md bg-indigo-600 px-3 py-1.5 text-xs font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">{tr(l, "Register")}</button>
                    </form>
                </details>
            })}
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Banner texts")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "Purposes: statistics, recognition (person-level) and marketing (forwards). Reject is as easy as accept: one click each, and no cookie wall. Every decision records the version and the SHA-256 of the text shown.")}</p>
            <div class="mt-3 grid gap-4 md:grid-cols-2">{banners}</div>
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Consent ledger")}</h2>
            <div class="mt-3 overflow-x-auto">
                <table class="min-w-full text-sm">
                    <thead><tr>
                        <th class=TH>{tr(l, "When")}</th>
                        <th class=TH>{tr(l, "Decision")}</th>
                        <th class=TH>{tr(l, "Purposes")}</th>
                        <th class=TH>{tr(l, "Visitor")}</th>
                        <th class=TH>{tr(l, "Site")}</th>
                        <th class=TH>{tr(l, "Banner")}</th>
                    </tr></thead>
                    <tbody>{ledger}</tbody>
                </table>
            </div>
        </div>
    }
}
