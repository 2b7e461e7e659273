//! `/visitors`: company-level visits, the chart drawn on the server,
//! consented visitors and the most recent views.

use super::*;

#[server(endpoint = "visitors_overview")]
pub async fn visitors_overview() -> Result<VisitorsDto, AppError> {
    use crate::api::ssr::{database, require};
    use metiva_roles::Permission;
    use ssr::*;
    let ctx = require(Permission::VisitorsRead)?;
    let db = database()?;
    let l = crate::i18n::current();
    // Which visiting companies are already organisations (by name; the
    // company-level attribution never names a person): read in the
    // overview's own snapshot, for a role that may read the CRM.
    let mut o = db
        .visitors_overview(&ctx, 30, ctx.can(Permission::PersonsRead))
        .await
        .map_err(failure)?;
    // Lowercased once, not per listed company and CRM name; the first
    // CRM organisation of a name wins, as before.
    let mut crm_orgs = std::collections::HashMap::new();
    for (id, name) in std::mem::take(&mut o.crm_organisations) {
        crm_orgs.entry(name.to_lowercase()).or_insert(id);
    }
    let crm_id = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| crm_orgs.get(&n.to_lowercase()))
            .map(|id| id.to_string())
    };
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
                date: day(d.day),
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
                crm_id: crm_id(&r.organisation),
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
                // The whole id: the row links the visitor's record.
                visitor: v.id.to_string(),
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
        can_add_org: ctx.can(Permission::PersonsWrite),
        networks: o
            .networks
            .into_iter()
            .map(|n| (n.network, n.organisation))
            .collect(),
        asn_ranges: use_context::<crate::AsnStatus>().map_or(0, |a| a.ranges),
    })
}

/// Why an IP is revealed: the stored codes (`metiva_db::visitors::
/// REVEAL_REASONS`) and their labels.
#[cfg(feature = "ssr")]
const REVEAL_REASONS: [(&str, &str); 5] = [
    ("abuse_report", "Abuse report"),
    ("security_incident", "Security incident"),
    ("legal_request", "Request from an authority"),
    ("subject_request", "The visitor's own request"),
    ("other", "Other (say why in the note)"),
];

// The class of a muted table cell, of a monospace one, of a small one,
// and of a small link: fixed at compile time, not a `format!` per cell.
#[cfg(feature = "ssr")]
const TD_MUTED: &str = concat!(td_classes!(), " text-xs text-slate-600");
#[cfg(feature = "ssr")]
const TD_MONO: &str = concat!(td_classes!(), " font-mono text-xs");
#[cfg(feature = "ssr")]
const TD_XS: &str = concat!(td_classes!(), " text-xs");
#[cfg(feature = "ssr")]
const LINK_XS: &str = concat!(link_classes!(), " text-xs");

/// The page body, rendered once per request (see `crate::rendered`).
/// In the browser, where this page is never rendered (it is no island, and
/// islands hydrate only themselves), there is no body at all: the body is
/// server-only code and no weight in the wasm bundle.
fn body_view(body: &crate::rendered::RenderedOnce, d: &VisitorsDto) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        body.render(|| view! { <VisitorsBody d=d.clone() /> })
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (body, d);
        ().into_any()
    }
}

#[component]
pub fn VisitorsPage() -> impl IntoView {
    let l = crate::i18n::current();
    let data = Resource::new(|| (), crate::api::boxed(|_| visitors_overview()));
    let body = crate::rendered::RenderedOnce::default();
    view! {
        <section class="space-y-6">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Visitors")}</h1>
                <p class="mt-1 text-slate-600">{tr(l, "Company-level by default: which organisations visit, never who. A person appears only after a consented form capture.")}</p>
            </div>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 16rem"></div> }>
                {move || data.with(|r| r.as_ref().map(|r| match r {
                    Ok(d) => body_view(&body, d),
                    Err(e) => error_view(e.clone()),
                }))}
            </Suspense>
        </section>
    }
}

/// The visits-per-day chart: plain SVG from the server, readable without
/// JavaScript, with a text alternative (title per bar, summary).
#[cfg(feature = "ssr")]
#[component]
fn VisitsChart(days: Vec<DayBar>) -> impl IntoView {
    let l = crate::i18n::current();
    let max = days.iter().map(|d| d.views).max().unwrap_or(0).max(1);
    // Wide enough to fill the panel at desktop widths (it scales down).
    let (w, h, pad) = (900.0_f64, 160.0_f64, 20.0_f64);
    let n = days.len().max(1) as f64;
    let slot = (w - pad) / n;
    let page_views = tr(l, "page views");
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let bh = (d.views as f64 / max as f64) * (h - pad * 2.0);
            let x = pad + i as f64 * slot + slot * 0.15;
            let y = h - pad - bh;
            let title = format!("{}: {} {page_views}", d.date, d.views);
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
        page_views
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

#[cfg(feature = "ssr")]
#[component]
fn VisitorsBody(d: VisitorsDto) -> impl IntoView {
    let l = crate::i18n::current();
    let share = if d.total > 0 {
        format!("{}%", d.identified * 100 / d.total)
    } else {
        "0%".into()
    };
    let can_add_org = d.can_add_org;
    let unidentified = tr(l, "Not identified (consumer ISP or unknown network)");
    let orgs = d
        .organisations
        .into_iter()
        .map(|o| {
            let name = o
                .organisation
                .clone()
                .unwrap_or_else(|| unidentified.into());
            // One click makes a visiting company a CRM organisation (still
            // company level: no person is invented), and links it after.
            let crm = match (&o.crm_id, &o.organisation) {
                (Some(id), _) => Some(view! {
                    <a class=LINK_XS href=format!("/organisations/{id}")>{tr(l, "Open organisation")}</a>
                }.into_any()),
                (None, Some(org)) if can_add_org => Some(view! {
                    <form method="post" action="/api/save_organisation" class="mt-1">
                        <input type="hidden" name="name" value=org.clone() />
                        <button type="submit" class="rounded-md border border-slate-300 px-2 py-0.5 text-xs font-medium text-slate-700 hover:bg-slate-50" data-testid="add-organisation">{tr(l, "Add as organisation")}</button>
                    </form>
                }.into_any()),
                _ => None,
            };
            view! {
                <tr class="border-t border-slate-100" data-testid="org-row">
                    <td class=TD><span class="font-medium">{name}</span><div class="text-xs text-slate-500">{o.source}</div>{crm}</td>
                    <td class=TD>{o.views}</td>
                    <td class=TD>{o.pages}<div class="text-xs text-slate-500">{o.top_pages}</div></td>
                    <td class=TD_MUTED>{o.first_seen}</td>
                    <td class=TD_MUTED>{o.last_seen}</td>
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
                    <td class=TD_MONO><a class=LINK href=format!("/visitors/{}", v.visitor) data-testid="visitor-link">{v.visitor.chars().take(8).collect::<String>()}</a></td>
                    <td class=TD><div class="flex flex-wrap gap-1">{purposes}</div></td>
                    <td class=TD>{v.views}</td>
                    <td class=TD>{person}</td>
                    <td class=TD>{deal}</td>
                    <td class=TD_MUTED>{v.last_seen}</td>
                </tr>
            }
        })
        .collect_view();
    let can_reveal = d.can_reveal;
    let consented_label = tr(l, "Consented");
    let recent = d
        .recent
        .into_iter()
        .map(|r| {
            let action = format!("/api/visits/{}/reveal", r.id);
            let reveal = can_reveal.then(|| view! {
                <details>
                    <summary class="cursor-pointer text-xs font-medium text-indigo-700">{tr(l, "Reveal IP")}</summary>
                    <form method="post" action=action class="mt-2 flex flex-wrap items-end gap-2">
                        <label class="text-xs text-slate-600">{tr(l, "Reason (recorded in the audit log)")}
                            <select name="reason" required=true class="mt-1 block w-56 rounded-md border border-slate-300 px-2 py-1 text-sm">
                                <option value="">{tr(l, "— choose —")}</option>
                                {REVEAL_REASONS.into_iter().map(|(code, label)| view! { <option value=code>{tr(l, label)}</option> }).collect_view()}
                            </select>
                        </label>
                        <label class="text-xs text-slate-600">{tr(l, "Note (optional; do not write personal data)")}
                            <input name="note" maxlength="200" class="mt-1 block w-56 rounded-md border border-slate-300 px-2 py-1 text-sm" />
                        </label>
                        <button type="submit" class="rounded-md bg-indigo-600 px-2 py-1 text-xs font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">{tr(l, "Reveal")}</button>
                    </form>
                </details>
            });
            view! {
                <tr class="border-t border-slate-100" data-testid="recent-row">
                    <td class=TD_MUTED>{r.at}</td>
                    <td class=TD_MONO>{r.path}</td>
                    <td class=TD>{r.organisation.unwrap_or_else(|| "—".into())}</td>
                    <td class=TD_XS>{r.referrer.unwrap_or_default()}</td>
                    <td class=TD>{r.consented.then(|| view! { <span class=GRANTED>{consented_label}</span> })}</td>
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
