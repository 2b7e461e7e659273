//! Visitors, consent, persons and deals: the pages that show what the
//! consent-first ingest stored, and the visitor → person → deal chain.
//!
//! All server-rendered (async SSR): the chart is an SVG drawn on the
//! server, the reveal is a plain form post. Nothing here needs JavaScript.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::tr;

const PANEL: &str = "rounded-lg border border-slate-200 bg-white p-6 shadow-sm";
const TH: &str = "px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500";
const TD: &str = "px-3 py-2 align-top";
const LINK: &str = "text-indigo-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 rounded";
const BADGE: &str = "inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset bg-slate-50 text-slate-700 ring-slate-500/20";
const GRANTED: &str = "inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset bg-emerald-50 text-emerald-800 ring-emerald-600/20";

/// One day of the chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayBar {
    pub date: String,
    pub label: String,
    pub views: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgRow {
    pub organisation: Option<String>,
    pub source: String,
    pub views: i64,
    pub pages: i64,
    pub top_pages: String,
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentedRow {
    pub visitor: String,
    pub purposes: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub views: i64,
    pub person: Option<(String, String)>,
    pub deal: Option<(String, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentRow {
    pub id: String,
    pub at: String,
    pub path: String,
    pub organisation: Option<String>,
    pub referrer: Option<String>,
    pub consented: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitorsDto {
    pub days: Vec<DayBar>,
    pub total: i64,
    pub identified: i64,
    pub organisations: Vec<OrgRow>,
    pub consented: Vec<ConsentedRow>,
    pub recent: Vec<RecentRow>,
    pub can_reveal: bool,
    pub can_configure: bool,
    pub networks: Vec<(String, String)>,
    pub asn_ranges: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BannerDto {
    pub version: String,
    pub lang: String,
    pub hash: String,
    pub title: String,
    pub body: String,
    pub purposes: Vec<(String, String)>,
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteDto {
    pub id: String,
    pub domain: String,
    pub key: String,
    pub origins: Vec<String>,
    pub enabled: bool,
    pub tag: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerRow {
    pub id: i64,
    pub at: String,
    pub domain: String,
    pub visitor: Option<String>,
    pub outcome: String,
    pub purposes: Vec<String>,
    pub version: String,
    pub lang: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentDto {
    pub can_configure: bool,
    pub banners: Vec<BannerDto>,
    pub sites: Vec<SiteDto>,
    pub decisions: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub withdrawals: i64,
    pub pending_forwards: i64,
    pub ledger: Vec<LedgerRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub deals: i64,
    pub visitors: i64,
    pub updated: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkedVisitorDto {
    pub visitor: String,
    pub domain: String,
    pub first_seen: String,
    pub last_seen: String,
    pub views: i64,
    pub marketing: bool,
    pub pending_forwards: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealRow {
    pub id: String,
    pub title: String,
    pub value: String,
    pub stage: String,
    pub person: Option<(String, String)>,
    pub updated: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonDto {
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub created: String,
    pub visitors: Vec<LinkedVisitorDto>,
    pub deals: Vec<DealRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealDto {
    pub deal: DealRow,
    pub email: String,
    pub visitors: Vec<LinkedVisitorDto>,
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use chrono::{DateTime, Utc};

    pub fn when(t: DateTime<Utc>) -> String {
        t.format("%Y-%m-%d %H:%M UTC").to_string()
    }

    pub fn short(id: uuid::Uuid) -> String {
        id.to_string().chars().take(8).collect()
    }

    pub fn money(cents: i64, currency: &str) -> String {
        let euros = cents / 100;
        let mut digits = euros.to_string();
        let mut grouped = String::new();
        while digits.len() > 3 {
            let tail = digits.split_off(digits.len() - 3);
            grouped = format!(".{tail}{grouped}");
        }
        let symbol = if currency == "EUR" { "€" } else { currency };
        format!("{symbol} {digits}{grouped}")
    }

    pub fn purposes(l: crate::i18n::Lang, a: bool, i: bool, m: bool) -> Vec<String> {
        let mut out = Vec::new();
        if a {
            out.push(tr(l, "Statistics").to_string());
        }
        if i {
            out.push(tr(l, "Recognition").to_string());
        }
        if m {
            out.push(tr(l, "Marketing").to_string());
        }
        out
    }

    pub fn linked(l: crate::i18n::Lang, v: metiva_db::visitors::LinkedVisitor) -> LinkedVisitorDto {
        let _ = l;
        LinkedVisitorDto {
            visitor: short(v.id),
            domain: v.domain,
            first_seen: when(v.first_seen),
            last_seen: when(v.last_seen),
            views: v.views,
            marketing: v.marketing,
            pending_forwards: v.pending_forwards,
        }
    }

    pub fn deal_row(
        l: crate::i18n::Lang,
        d: &metiva_db::repo::deals::Deal,
        person: Option<(String, String)>,
    ) -> DealRow {
        DealRow {
            id: d.id.to_string(),
            title: d.title.clone(),
            value: money(d.value_cents, &d.currency),
            stage: crate::i18n::stage(l, &d.stage).to_string(),
            person,
            updated: when(d.updated_at),
        }
    }

    pub fn failure(e: metiva_db::DbError) -> ServerFnError {
        crate::api::ssr::db_failure(e)
    }
}

#[server(endpoint = "visitors_overview")]
pub async fn visitors_overview() -> Result<VisitorsDto, ServerFnError> {
    use crate::api::ssr::{database, require};
    use metiva_roles::Permission;
    use ssr::*;
    let ctx = require(Permission::VisitorsRead)?;
    let db = database()?;
    let l = crate::i18n::current();
    let o = db.visitors_overview(&ctx, 30).await.map_err(failure)?;
    let total: i64 = o.days.iter().map(|d| d.views).sum();
    let identified: i64 = o
        .organisations
        .iter()
        .filter(|r| r.organisation.is_some())
        .map(|r| r.views)
        .sum();
    Ok(VisitorsDto {
        days: o
            .days
            .iter()
            .map(|d| DayBar {
                date: d.day.format("%Y-%m-%d").to_string(),
                label: d.day.format("%d-%m").to_string(),
                views: d.views,
            })
            .collect(),
        total,
        identified,
        organisations: o
            .organisations
            .into_iter()
            .map(|r| OrgRow {
                source: match r.source.as_deref() {
                    Some("known_network") => tr(l, "Known network"),
                    Some("asn") => tr(l, "ASN dataset"),
                    // The name already says it.
                    _ => "",
                }
                .to_string(),
                organisation: r.organisation,
                views: r.views,
                pages: r.pages,
                top_pages: r.top_pages.join(", "),
                first_seen: when(r.first_seen),
                last_seen: when(r.last_seen),
            })
            .collect(),
        consented: o
            .consented
            .into_iter()
            .map(|v| ConsentedRow {
                visitor: short(v.id),
                purposes: purposes(l, v.analytics, v.identification, v.marketing),
                first_seen: when(v.first_seen),
                last_seen: when(v.last_seen),
                views: v.views,
                person: v
                    .person_id
                    .zip(v.person_name)
                    .map(|(id, n)| (id.to_string(), n)),
                deal: match (v.deal_id, v.deal_title, v.deal_stage) {
                    (Some(id), Some(t), Some(s)) => {
                        Some((id.to_string(), t, crate::i18n::stage(l, &s).to_string()))
                    }
                    _ => None,
                },
            })
            .collect(),
        recent: o
            .recent
            .into_iter()
            .map(|r| RecentRow {
                id: r.id.to_string(),
                at: when(r.at),
                path: r.path,
                organisation: r.organisation,
                referrer: r.referrer_domain,
                consented: r.consented_visitor,
            })
            .collect(),
        can_reveal: ctx.can(Permission::IpReveal),
        can_configure: ctx.can(Permission::ConsentManage),
        networks: o
            .networks
            .into_iter()
            .map(|n| (n.network, n.organisation))
            .collect(),
        asn_ranges: use_context::<crate::AsnStatus>().map_or(0, |a| a.ranges),
    })
}

#[server(endpoint = "consent_overview")]
pub async fn consent_overview() -> Result<ConsentDto, ServerFnError> {
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

#[server(endpoint = "person_list")]
pub async fn person_list() -> Result<Vec<PersonRow>, ServerFnError> {
    use crate::api::ssr::{database, require};
    use ssr::*;
    let ctx = require(metiva_roles::Permission::PersonsRead)?;
    let rows = database()?.person_list(&ctx).await.map_err(failure)?;
    Ok(rows
        .into_iter()
        .map(|p| PersonRow {
            id: p.id.to_string(),
            name: p.name,
            email: p.email.unwrap_or_default(),
            organisation: p.organisation.unwrap_or_default(),
            deals: p.deals,
            visitors: p.visitors,
            updated: when(p.updated_at),
        })
        .collect())
}

#[server(endpoint = "person_record")]
pub async fn person_record(id: String) -> Result<Option<PersonDto>, ServerFnError> {
    use crate::api::ssr::{database, require};
    use ssr::*;
    let ctx = require(metiva_roles::Permission::PersonsRead)?;
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Ok(None);
    };
    let l = crate::i18n::current();
    let Some(r) = database()?.person_record(&ctx, id).await.map_err(failure)? else {
        return Ok(None);
    };
    let me = Some((r.person.id.to_string(), r.person.name.clone()));
    Ok(Some(PersonDto {
        name: r.person.name.clone(),
        email: r.person.email.clone().unwrap_or_default(),
        organisation: r.person.organisation.clone().unwrap_or_default(),
        created: when(r.person.created_at),
        visitors: r.visitors.into_iter().map(|v| linked(l, v)).collect(),
        deals: r.deals.iter().map(|d| deal_row(l, d, me.clone())).collect(),
    }))
}

#[server(endpoint = "deal_list")]
pub async fn deal_list() -> Result<Vec<DealRow>, ServerFnError> {
    use crate::api::ssr::{database, require};
    use ssr::*;
    let ctx = require(metiva_roles::Permission::DealsRead)?;
    let l = crate::i18n::current();
    let rows = database()?.deal_list(&ctx).await.map_err(failure)?;
    Ok(rows
        .into_iter()
        .map(|d| DealRow {
            id: d.id.to_string(),
            title: d.title,
            value: money(d.value_cents, &d.currency),
            stage: crate::i18n::stage(l, &d.stage).to_string(),
            person: d
                .person_id
                .zip(d.person_name)
                .map(|(id, n)| (id.to_string(), n)),
            updated: when(d.updated_at),
        })
        .collect())
}

#[server(endpoint = "deal_record")]
pub async fn deal_record(id: String) -> Result<Option<DealDto>, ServerFnError> {
    use crate::api::ssr::{database, require};
    use ssr::*;
    let ctx = require(metiva_roles::Permission::DealsRead)?;
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return Ok(None);
    };
    let l = crate::i18n::current();
    let Some(r) = database()?.deal_record(&ctx, id).await.map_err(failure)? else {
        return Ok(None);
    };
    let person = r
        .person
        .as_ref()
        .map(|p| (p.id.to_string(), p.name.clone()));
    Ok(Some(DealDto {
        deal: deal_row(l, &r.deal, person),
        email: r.person.and_then(|p| p.email).unwrap_or_default(),
        visitors: r.visitors.into_iter().map(|v| linked(l, v)).collect(),
    }))
}

fn error_view(e: ServerFnError) -> AnyView {
    view! { <p role="alert" class="text-sm text-red-700">{e.to_string()}</p> }.into_any()
}

#[component]
pub fn VisitorsPage() -> impl IntoView {
    let l = crate::i18n::current();
    let data = Resource::new(|| (), |_| visitors_overview());
    view! {
        <section class="space-y-6">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Visitors")}</h1>
                <p class="mt-1 text-slate-600">{tr(l, "Company-level by default: which organisations visit, never who. A person appears only after a consented form capture.")}</p>
            </div>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 16rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(d) => view! { <VisitorsBody d /> }.into_any(),
                    Err(e) => error_view(e),
                })}
            </Suspense>
        </section>
    }
}

/// The visits-per-day chart: plain SVG from the server, readable without
/// JavaScript, with a text alternative (title per bar, summary).
#[component]
fn VisitsChart(days: Vec<DayBar>) -> impl IntoView {
    let l = crate::i18n::current();
    let max = days.iter().map(|d| d.views).max().unwrap_or(0).max(1);
    // Wide enough to fill the panel at desktop widths (it scales down).
    let (w, h, pad) = (900.0_f64, 160.0_f64, 20.0_f64);
    let n = days.len().max(1) as f64;
    let slot = (w - pad) / n;
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let bh = (d.views as f64 / max as f64) * (h - pad * 2.0);
            let x = pad + i as f64 * slot + slot * 0.15;
            let y = h - pad - bh;
            let title = format!("{}: {} {}", d.date, d.views, tr(l, "page views"));
            view! {
                <rect x=format!("{x:.1}") y=format!("{y:.1}") width=format!("{:.1}", slot * 0.7) height=format!("{bh:.1}") rx="2" class="fill-indigo-500" data-date=d.date.clone() data-views=d.views.to_string()>
                    <title>{title}</title>
                </rect>
            }
        })
        .collect_view();
    let first = days.first().map(|d| d.label.clone()).unwrap_or_default();
    let last = days.last().map(|d| d.label.clone()).unwrap_or_default();
    let summary = format!(
        "{} {} {}",
        tr(l, "Page views per day, last 30 days; highest day:"),
        max,
        tr(l, "page views")
    );
    let label = summary.clone();
    view! {
        <svg viewBox=format!("0 0 {w} {h}") class="h-40 w-full" role="img" aria-label=label data-testid="visits-chart">
            <title>{summary}</title>
            <line x1=pad y1=h - pad x2=w y2=h - pad class="stroke-slate-300" stroke-width="1" />
            <text x=pad y="12" class="fill-slate-500 text-[10px]">{max.to_string()}</text>
            {bars}
            <text x=pad y=h - 4.0 class="fill-slate-500 text-[10px]">{first}</text>
            <text x=w - 30.0 y=h - 4.0 class="fill-slate-500 text-[10px]">{last}</text>
        </svg>
    }
}

#[component]
fn VisitorsBody(d: VisitorsDto) -> impl IntoView {
    let l = crate::i18n::current();
    let share = if d.total > 0 {
        format!("{}%", d.identified * 100 / d.total)
    } else {
        "0%".into()
    };
    let orgs = d
        .organisations
        .into_iter()
        .map(|o| {
            let name = o
                .organisation
                .clone()
                .unwrap_or_else(|| tr(l, "Not identified (consumer ISP or unknown network)").into());
            view! {
                <tr class="border-t border-slate-100" data-testid="org-row">
                    <td class=TD><span class="font-medium">{name}</span><div class="text-xs text-slate-500">{o.source}</div></td>
                    <td class=TD>{o.views}</td>
                    <td class=TD>{o.pages}<div class="text-xs text-slate-500">{o.top_pages}</div></td>
                    <td class=format!("{TD} text-xs text-slate-600")>{o.first_seen}</td>
                    <td class=format!("{TD} text-xs text-slate-600")>{o.last_seen}</td>
                </tr>
            }
        })
        .collect_view();
    let consented = d
        .consented
        .into_iter()
        .map(|v| {
            let person = v.person.map(|(id, name)| view! { <a class=LINK href=format!("/persons/{id}")>{name}</a> }.into_any())
                .unwrap_or_else(|| view! { <span class="text-slate-400">"—"</span> }.into_any());
            let deal = v.deal.map(|(id, title, stage)| view! { <a class=LINK href=format!("/deals/{id}")>{title}</a><span class="ml-1 text-xs text-slate-500">{stage}</span> }.into_any())
                .unwrap_or_else(|| view! { <span class="text-slate-400">"—"</span> }.into_any());
            let purposes = v.purposes.into_iter().map(|p| view! { <span class=GRANTED>{p}</span> }).collect_view();
            view! {
                <tr class="border-t border-slate-100" data-testid="consented-row">
                    <td class=format!("{TD} font-mono text-xs")>{v.visitor}</td>
                    <td class=TD><div class="flex flex-wrap gap-1">{purposes}</div></td>
                    <td class=TD>{v.views}</td>
                    <td class=TD>{person}</td>
                    <td class=TD>{deal}</td>
                    <td class=format!("{TD} text-xs text-slate-600")>{v.last_seen}</td>
                </tr>
            }
        })
        .collect_view();
    let can_reveal = d.can_reveal;
    let recent = d
        .recent
        .into_iter()
        .map(|r| {
            let action = format!("/api/visits/{}/reveal", r.id);
            let reveal = can_reveal.then(|| view! {
                <details>
                    <summary class="cursor-pointer text-xs font-medium text-indigo-700">{tr(l, "Reveal IP")}</summary>
                    <form method="post" action=action class="mt-2 flex flex-wrap items-end gap-2">
                        <label class="text-xs text-slate-600">{tr(l, "Reason (recorded in the audit log; no personal data)")}
                            <input name="reason" required minlength="3" maxlength="200" class="mt-1 block w-56 rounded-md border border-slate-300 px-2 py-1 text-sm" />
                        </label>
                        <button type="submit" class="rounded-md bg-indigo-600 px-2 py-1 text-xs font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">{tr(l, "Reveal")}</button>
                    </form>
                </details>
            });
            view! {
                <tr class="border-t border-slate-100" data-testid="recent-row">
                    <td class=format!("{TD} text-xs text-slate-600")>{r.at}</td>
                    <td class=format!("{TD} font-mono text-xs")>{r.path}</td>
                    <td class=TD>{r.organisation.unwrap_or_else(|| "—".into())}</td>
                    <td class=format!("{TD} text-xs")>{r.referrer.unwrap_or_default()}</td>
                    <td class=TD>{r.consented.then(|| view! { <span class=GRANTED>{tr(l, "Consented")}</span> })}</td>
                    <td class=TD>{reveal}</td>
                </tr>
            }
        })
        .collect_view();
    let networks = d
        .networks
        .iter()
        .map(|(cidr, org)| view! { <li class="py-1"><code class="text-xs">{cidr.clone()}</code>" → "{org.clone()}</li> })
        .collect_view();
    let import = d.can_configure.then(|| view! {
        <details class="mt-3">
            <summary class="cursor-pointer text-sm font-medium text-indigo-700">{tr(l, "Import known networks (CSV)")}</summary>
            <form method="post" action="/api/known-networks" class="mt-2 space-y-2">
                <label class="block text-xs text-slate-600">{tr(l, "One network per line: cidr,organisation. The import replaces the list.")}
                    <textarea name="csv" rows="6" required class="mt-1 block w-full rounded-md border border-slate-300 px-2 py-1 font-mono text-xs">"cidr,organisation\n"</textarea>
                </label>
                <button type="submit" class="rounded-md bg-indigo-600 px-3 py-1.5 text-xs font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">{tr(l, "Import")}</button>
            </form>
        </details>
    });
    let asn = if d.asn_ranges > 0 {
        format!("{} {}", d.asn_ranges, tr(l, "address ranges loaded."))
    } else {
        tr(
            l,
            "The ASN dataset is not installed; only known networks identify companies.",
        )
        .to_string()
    };
    view! {
        <div class=PANEL>
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="text-lg font-semibold">{tr(l, "Page views per day")}</h2>
                <p class="text-sm text-slate-600">
                    <span data-testid="total-views">{d.total}</span>" "{tr(l, "page views in 30 days")}" · "{share}" "{tr(l, "at company level")}
                </p>
            </div>
            <VisitsChart days=d.days />
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Visiting organisations")}</h2>
            <div class="mt-3 overflow-x-auto">
                <table class="min-w-full text-sm">
                    <thead><tr>
                        <th class=TH>{tr(l, "Organisation")}</th>
                        <th class=TH>{tr(l, "Views")}</th>
                        <th class=TH>{tr(l, "Pages")}</th>
                        <th class=TH>{tr(l, "First seen")}</th>
                        <th class=TH>{tr(l, "Last seen")}</th>
                    </tr></thead>
                    <tbody>{orgs}</tbody>
                </table>
            </div>
            <p class="mt-3 text-xs text-slate-500">{asn}" "{tr(l, "IP-to-ASN data: ip-location-db (@ip-location-db/asn), from RouteViews and DB-IP, licensed CC BY 4.0.")}</p>
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Known networks")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "Your own address ranges of organisations; they take precedence over the ASN dataset.")}</p>
            <ul class="mt-2 text-sm" data-testid="known-networks">{networks}</ul>
            {import}
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Consented visitors")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "Only visitors who granted statistics or recognition have an identifier. A person link exists only under recognition consent.")}</p>
            <div class="mt-3 overflow-x-auto">
                <table class="min-w-full text-sm">
                    <thead><tr>
                        <th class=TH>{tr(l, "Visitor")}</th>
                        <th class=TH>{tr(l, "Consent")}</th>
                        <th class=TH>{tr(l, "Views")}</th>
                        <th class=TH>{tr(l, "Person")}</th>
                        <th class=TH>{tr(l, "Deal")}</th>
                        <th class=TH>{tr(l, "Last seen")}</th>
                    </tr></thead>
                    <tbody>{consented}</tbody>
                </table>
            </div>
        </div>
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "Recent page views")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "Addresses are stored truncated (/24, /48) and encrypted. Revealing one needs the ip.reveal permission and a reason, and is audited.")}</p>
            <div class="mt-3 overflow-x-auto">
                <table class="min-w-full text-sm">
                    <thead><tr>
                        <th class=TH>{tr(l, "When")}</th>
                        <th class=TH>{tr(l, "Page")}</th>
                        <th class=TH>{tr(l, "Organisation")}</th>
                        <th class=TH>{tr(l, "Referrer")}</th>
                        <th class=TH>{tr(l, "Consent")}</th>
                        <th class=TH></th>
                    </tr></thead>
                    <tbody>{recent}</tbody>
                </table>
            </div>
        </div>
    }
}

#[component]
pub fn ConsentPage() -> impl IntoView {
    let l = crate::i18n::current();
    let data = Resource::new(|| (), |_| consent_overview());
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

#[component]
pub fn PersonsPage() -> impl IntoView {
    let l = crate::i18n::current();
    let data = Resource::new(|| (), |_| person_list());
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Persons")}</h1>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(rows) => {
                        let rows = rows.into_iter().map(|p| view! {
                            <tr class="border-t border-slate-100" data-testid="person-row">
                                <td class=TD><a class=LINK href=format!("/persons/{}", p.id)>{p.name}</a></td>
                                <td class=format!("{TD} text-xs")>{p.email}</td>
                                <td class=TD>{p.organisation}</td>
                                <td class=TD>{p.deals}</td>
                                <td class=TD>{p.visitors}</td>
                                <td class=format!("{TD} text-xs text-slate-600")>{p.updated}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <div class=PANEL><div class="overflow-x-auto"><table class="min-w-full text-sm">
                                <thead><tr>
                                    <th class=TH>{tr(l, "Name")}</th>
                                    <th class=TH>{tr(l, "Email")}</th>
                                    <th class=TH>{tr(l, "Organisation")}</th>
                                    <th class=TH>{tr(l, "Deals")}</th>
                                    <th class=TH>{tr(l, "Visitors")}</th>
                                    <th class=TH>{tr(l, "Updated")}</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table></div></div>
                        }.into_any()
                    }
                    Err(e) => error_view(e),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn VisitorChain(visitors: Vec<LinkedVisitorDto>) -> impl IntoView {
    let l = crate::i18n::current();
    if visitors.is_empty() {
        return view! { <p class="text-sm text-slate-500">{tr(l, "No consented website visitor is linked.")}</p> }.into_any();
    }
    let rows = visitors
        .into_iter()
        .map(|v| view! {
            <li class="py-2" data-testid="linked-visitor">
                <span class="font-mono text-xs">{v.visitor}</span>
                " · "{v.domain}" · "{v.views}" "{tr(l, "page views")}" · "{tr(l, "last seen")}" "{v.last_seen}
                {(v.pending_forwards > 0).then(|| view! { <span class="ml-2 text-xs text-slate-500">{v.pending_forwards}" "{tr(l, "pending forwards")}</span> })}
            </li>
        })
        .collect_view();
    view! { <ul class="divide-y divide-slate-100 text-sm">{rows}</ul> }.into_any()
}

#[component]
fn DealTable(deals: Vec<DealRow>) -> impl IntoView {
    let l = crate::i18n::current();
    let rows = deals
        .into_iter()
        .map(|d| {
            let person = d
                .person
                .map(|(id, name)| {
                    view! { <a class=LINK href=format!("/persons/{id}")>{name}</a> }.into_any()
                })
                .unwrap_or_else(|| view! { <span class="text-slate-400">"—"</span> }.into_any());
            view! {
                <tr class="border-t border-slate-100" data-testid="deal-row">
                    <td class=TD><a class=LINK href=format!("/deals/{}", d.id)>{d.title}</a></td>
                    <td class=TD>{d.value}</td>
                    <td class=TD><span class=BADGE>{d.stage}</span></td>
                    <td class=TD>{person}</td>
                    <td class=format!("{TD} text-xs text-slate-600")>{d.updated}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="overflow-x-auto"><table class="min-w-full text-sm">
            <thead><tr>
                <th class=TH>{tr(l, "Deal")}</th>
                <th class=TH>{tr(l, "Value")}</th>
                <th class=TH>{tr(l, "Stage")}</th>
                <th class=TH>{tr(l, "Person")}</th>
                <th class=TH>{tr(l, "Updated")}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table></div>
    }
}

fn route_id() -> String {
    leptos_router::hooks::use_params_map()
        .read_untracked()
        .get("id")
        .unwrap_or_default()
}

#[component]
pub fn PersonPage() -> impl IntoView {
    let l = crate::i18n::current();
    let id = route_id();
    let data = Resource::new(move || id.clone(), person_record);
    view! {
        <section class="space-y-6">
            <a class=LINK href="/persons">{tr(l, "← Persons")}</a>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(Some(p)) => view! {
                        <div class=PANEL>
                            <h1 class="text-2xl font-semibold tracking-tight" data-testid="person-name">{p.name}</h1>
                            <p class="mt-1 text-slate-600">{p.email}" · "{p.organisation}</p>
                            <p class="text-xs text-slate-500">{tr(l, "Created")}" "{p.created}</p>
                        </div>
                        <div class=PANEL>
                            <h2 class="text-lg font-semibold">{tr(l, "Website visitor → person → deal")}</h2>
                            <div class="mt-2"><VisitorChain visitors=p.visitors /></div>
                            <h3 class="mt-4 font-medium">{tr(l, "Deals")}</h3>
                            <DealTable deals=p.deals />
                        </div>
                    }.into_any(),
                    Ok(None) => {
                        // A missing and another workspace's person answer
                        // alike: a real 404, never a hint it exists.
                        crate::pages::set_not_found();
                        view! { <p class="text-sm text-slate-600">{tr(l, "No such person in this workspace.")}</p> }.into_any()
                    }
                    Err(e) => error_view(e),
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn DealsPage() -> impl IntoView {
    let l = crate::i18n::current();
    let data = Resource::new(|| (), |_| deal_list());
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Deals")}</h1>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(deals) => view! { <div class=PANEL><DealTable deals /></div> }.into_any(),
                    Err(e) => error_view(e),
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn DealPage() -> impl IntoView {
    let l = crate::i18n::current();
    let id = route_id();
    let data = Resource::new(move || id.clone(), deal_record);
    view! {
        <section class="space-y-6">
            <a class=LINK href="/deals">{tr(l, "← Deals")}</a>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(Some(d)) => {
                        let person = d.deal.person.clone().map(|(id, name)| view! { <a class=LINK href=format!("/persons/{id}") data-testid="deal-person">{name}</a>" "<span class="text-xs text-slate-500">{d.email.clone()}</span> }.into_any())
                            .unwrap_or_else(|| view! { <span class="text-slate-400">{tr(l, "No person linked.")}</span> }.into_any());
                        view! {
                            <div class=PANEL>
                                <h1 class="text-2xl font-semibold tracking-tight">{d.deal.title.clone()}</h1>
                                <p class="mt-1 text-slate-600">{d.deal.value.clone()}" · "<span class=BADGE>{d.deal.stage.clone()}</span></p>
                            </div>
                            <div class=PANEL>
                                <h2 class="text-lg font-semibold">{tr(l, "Website visitor → person → deal")}</h2>
                                <p class="mt-2 text-sm">{tr(l, "Person")}": "{person}</p>
                                <div class="mt-2"><VisitorChain visitors=d.visitors /></div>
                            </div>
                        }.into_any()
                    }
                    Ok(None) => {
                        // A missing and another workspace's deal answer
                        // alike: a real 404, never a hint it exists.
                        crate::pages::set_not_found();
                        view! { <p class="text-sm text-slate-600">{tr(l, "No such deal in this workspace.")}</p> }.into_any()
                    }
                    Err(e) => error_view(e),
                })}
            </Suspense>
        </section>
    }
}
