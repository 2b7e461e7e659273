//! `/settings/security`: the live trust center for the current workspace.
//! Every value is read from the running system: the request's verified
//! token, the database catalog, the configuration.

use crate::error::AppError;
use leptos::prelude::*;

use crate::i18n::tr;
use crate::member_forms::RevokeButton;
use serde::{Deserialize, Serialize};

use crate::api::Fact;

mod audit;
mod sessions;
#[cfg(feature = "ssr")]
mod signing;

pub use audit::{AUDIT_PAGE_SIZE, AuditPage, AuditPageDto, AuditRowDto, audit_page};
pub use sessions::{SessionRowDto, SessionsPage, my_sessions};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceDto {
    pub company_id: String,
    pub name: String,
    pub role: String,
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityDto {
    pub company_id: String,
    pub company_name: String,
    /// Tenant-looking headers this request carried, which were ignored.
    pub ignored: Vec<(String, String)>,
    pub workspaces: Vec<WorkspaceDto>,
    /// True when every tenant table has FORCE RLS and a restrictive
    /// policy, and the runtime role cannot bypass them (checked now).
    pub isolated: bool,
    pub isolation_line: String,
    pub data_handling: Vec<Fact>,
    pub dev_keys_warning: bool,
    pub last_self_test: Option<String>,
    /// Whether the viewer may open the audit log (the server checks too).
    pub can_read_audit: bool,
}

/// The security page's audit-chain line: when the daily check last
/// verified the chain, or where it found it broken (a seq and a fixed
/// reason, never row content).
#[cfg(feature = "ssr")]
fn audit_chain_line(
    l: crate::i18n::Lang,
    last: Option<&metiva_db::audit_checks::LastCheck>,
) -> String {
    let Some(c) = last else {
        return tr(
            l,
            "Not verified yet: the daily check runs at 03:30 (Amsterdam time).",
        )
        .to_string();
    };
    let at = c.checked_at.format("%Y-%m-%d %H:%M:%S UTC");
    if c.ok {
        return format!(
            "{} {at} ({} {})",
            tr(l, "verified at"),
            c.rows_checked,
            tr(l, "rows, unbroken")
        );
    }
    let why = match c.broken_kind.as_deref() {
        Some("gap") => tr(l, "a row is missing"),
        Some("altered") => tr(l, "a row was changed"),
        Some("unlinked") => tr(l, "a row was changed or put in between"),
        Some("truncated") => tr(l, "rows were cut off the end"),
        Some("checkpoint") => tr(l, "a retention checkpoint was forged or edited"),
        _ => tr(l, "the chain was rewritten"),
    };
    format!(
        "{} {} ({why}); {} {at}",
        tr(l, "BROKEN at seq"),
        c.broken_seq.unwrap_or_default(),
        tr(l, "checked at")
    )
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfTestStepDto {
    pub label: String,
    pub passed: bool,
    pub detail: String,
}

/// Everything the security page shows, read live.
#[server(endpoint = "security_overview")]
pub async fn security_overview() -> Result<SecurityDto, AppError> {
    use crate::api::ssr;
    let ctx = ssr::tenant()?;
    let db = ssr::database()?;
    let l = crate::i18n::current();
    let ignored = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<crate::IgnoredTenantHeaders>().cloned())
        .map(|i| i.0)
        .unwrap_or_default();
    // Read before the first await: a request whose client went away is
    // disposed with its owner, and a context looked up after an await
    // would then be missing (logged as an internal error) instead of the
    // work simply being dropped.
    let dh = use_context::<crate::DataHandling>()
        .ok_or_else(|| crate::error::AppError::internal_here(&"server misconfigured"))?;
    // The workspaces, the last retention sweep, the daily audit-chain
    // check, the last self-test and the signing keys, live, in one read
    // transaction of two statements (which re-asserts the access; issue 15).
    let metiva_db::security_page::SecurityReads {
        workspaces,
        upkeep: (last_sweep, last_check, last_self_test),
        signing_keys,
    } = db.security_reads(&ctx).await.map_err(ssr::db_failure)?;
    // The catalog lint and the role's posture, computed at startup and
    // then at most 60 s apart (not per view); the line says when.
    let facts = db.isolation_facts().await.map_err(ssr::db_failure)?;
    let isolated = facts.isolated();
    let tables = facts.tenant_tables;
    let checked = facts.checked_at.format("%Y-%m-%d %H:%M:%S UTC");
    let isolation_line = if isolated {
        format!(
            "{} {checked}: {tables} {}",
            tr(l, "Checked"),
            tr(
                l,
                "tenant tables, each with row-level security enabled and forced and a restrictive tenant policy; the runtime role cannot bypass them."
            )
        )
    } else {
        format!(
            "{} {checked}: {tables} {} {}",
            tr(l, "Checked"),
            tr(l, "tenant tables, problems found:"),
            facts.findings
        )
    };
    let key = if dh.keys_generated_locally {
        format!(
            "{}, {} (key id {})",
            tr(l, "Present"),
            tr(
                l,
                "GENERATED LOCALLY FOR DEVELOPMENT; never use these keys in production"
            ),
            dh.encryption_key_id
        )
    } else if dh.encryption_key_present {
        format!("{} (key id {})", tr(l, "Present"), dh.encryption_key_id)
    } else {
        tr(l, "Missing").to_string()
    };
    // What the hourly `keys.migrate_values` job has left to move from the
    // master key to this workspace's data key (a count only): counted at
    // most 60 s ago, as the catalog facts are, and the line says when.
    let master = db
        .master_sealed_status(&ctx)
        .await
        .map_err(ssr::db_failure)?;
    let counted = master.checked_at.format("%Y-%m-%d %H:%M:%S UTC");
    let migration = if master.left == 0 {
        format!(
            "{} ({} {counted})",
            tr(l, "Every sealed value is under this workspace's data key"),
            tr(l, "checked at")
        )
    } else {
        format!(
            "{} {} ({} {counted})",
            master.left,
            tr(l, "sealed values still under the master key"),
            tr(l, "checked at")
        )
    };
    let data_handling = vec![
        Fact::new(tr(l, "Consent"), tr(l, "Deny by default"), "fact-consent"),
        Fact::new(
            tr(l, "IP at rest"),
            format!(
                "{} (IPv4 /24, IPv6 /48; AES-256-GCM, key id {})",
                tr(l, "Truncated + encrypted"),
                dh.encryption_key_id
            ),
            "fact-ip",
        ),
        Fact::new(
            tr(l, "Region"),
            dh.region
                .clone()
                .unwrap_or_else(|| tr(l, "not set (development)").into()),
            "fact-region",
        ),
        Fact::new(tr(l, "Encryption key"), key, "fact-key"),
        Fact::new(tr(l, "Data key migration"), migration, "fact-key-migration"),
        Fact::new(
            tr(l, "Token signing key"),
            signing::signing_key_line(l, &signing_keys, chrono::Utc::now()),
            "fact-signing-key",
        ),
        Fact::new(
            tr(l, "Retention sweep"),
            match last_sweep {
                Some(last) => format!(
                    "{} {}",
                    tr(l, "last run at"),
                    last.finished_at.format("%Y-%m-%d %H:%M:%S UTC")
                ),
                None => tr(l, "No sweep has run yet.").into(),
            },
            "fact-retention-sweep",
        ),
        Fact::new(
            tr(l, "Audit chain"),
            audit_chain_line(l, last_check.as_ref()),
            "fact-audit-chain",
        ),
    ];
    let last_self_test = last_self_test.map(|(at, outcome)| {
        let at = at.format("%Y-%m-%d %H:%M:%S UTC");
        let word = if outcome == "passed" {
            tr(l, "passed at")
        } else {
            tr(l, "failed at")
        };
        format!("{word} {at}")
    });
    Ok(SecurityDto {
        company_id: ctx.company().to_string(),
        company_name: ctx.company_name().to_string(),
        ignored,
        workspaces: workspaces
            .into_iter()
            .map(|(c, name, role)| WorkspaceDto {
                current: c == *ctx.company(),
                company_id: c.to_string(),
                name,
                role,
            })
            .collect(),
        isolated,
        isolation_line,
        data_handling,
        dev_keys_warning: dh.keys_generated_locally,
        last_self_test,
        can_read_audit: ctx.can(metiva_roles::Permission::AuditRead),
    })
}

/// Runs the isolation self-test inside the caller's own workspace; each
/// run is audited. Any member may run it: it reads and writes nothing of
/// the workspace's data (its probe write is refused and rolled back).
#[server(endpoint = "run_self_test")]
pub async fn run_self_test() -> Result<Vec<SelfTestStepDto>, AppError> {
    use crate::api::ssr;
    let ctx = ssr::tenant()?;
    let db = ssr::database()?;
    let rid = crate::api::ssr::request_id();
    let l = crate::i18n::current();
    let steps = db
        .isolation_self_test(&ctx, &rid)
        .await
        .map_err(ssr::db_failure)?;
    Ok(steps
        .into_iter()
        .map(|s| SelfTestStepDto {
            label: tr(
                l,
                match s.key {
                    "no_context" => "With the tenant context removed, reads see 0 rows",
                    "foreign_read" => "Reading rows of a workspace you do not own returns nothing",
                    "foreign_write" => "A write with a foreign company_id is rejected",
                    _ => "Fail",
                },
            )
            .to_string(),
            passed: s.passed,
            detail: self_test_detail(l, s.detail),
        })
        .collect())
}

/// A self-test step's finding in the user's language. PostgreSQL's own
/// message is quoted as it came.
#[cfg(feature = "ssr")]
fn self_test_detail(l: crate::i18n::Lang, d: metiva_db::self_test::SelfTestDetail) -> String {
    use metiva_db::self_test::SelfTestDetail as D;
    match d {
        D::NoContext { setting, visible } => {
            format!(
                "app.company_id = {setting:?}; {visible} {}",
                tr(l, "rows visible")
            )
        }
        D::ForeignRead { foreign, own } => format!(
            "{foreign} {}; {own} {}",
            tr(l, "rows of other workspaces returned"),
            tr(l, "of your own persons visible")
        ),
        D::WriteRefused(e) => format!("{}: {e}", tr(l, "refused by PostgreSQL")),
        D::WriteRefusedOtherwise(e) => {
            format!("{}: {e}", tr(l, "refused, but not by row-level security"))
        }
        D::Written(n) => format!("{n} {}", tr(l, "row(s) written (rolled back)")),
    }
}

const PANEL: &str = "rounded-lg border border-slate-200 bg-white p-6 shadow-sm";
const OK_BADGE: &str = "inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset bg-emerald-50 text-emerald-800 ring-emerald-600/20";
const BAD_BADGE: &str = "inline-flex rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset bg-red-50 text-red-800 ring-red-600/20";

#[component]
pub fn SecurityPage() -> impl IntoView {
    let l = crate::i18n::current();
    let overview = Resource::new(|| (), crate::api::boxed(|_| security_overview()));
    let panels = crate::rendered::RenderedOnce::default();
    view! {
        <section class="space-y-6">
            <div>
                <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Security and isolation")}</h1>
                <p class="mt-1 text-slate-600">{tr(l, "Read live from this workspace's token, the database catalog and the running configuration.")}</p>
            </div>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || overview.get().map(|r| match r {
                    Ok(s) => panels_view(&panels, &s),
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The page's panels, rendered once per request (see `crate::rendered`).
/// The self-test island inside renders the same markup either way (its
/// tag and props; islands hydrate from those, not from render order).
fn panels_view(panels: &crate::rendered::RenderedOnce, s: &SecurityDto) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        panels.render(|| view! { <Panels s=s.clone() /> })
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = panels;
        view! { <Panels s=s.clone() /> }.into_any()
    }
}

#[component]
fn Panels(s: SecurityDto) -> impl IntoView {
    let l = crate::i18n::current();
    let ignored = (!s.ignored.is_empty()).then(|| {
        let list = s
            .ignored
            .iter()
            .map(|(h, v)| format!("{h}: {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        view! {
            <p role="status" data-testid="ignored-headers" class="mt-4 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
                {format!("{} {list}. {}", tr(l, "This request carried a tenant-looking header, which was ignored:"), tr(l, "The workspace above comes from the signed token."))}
            </p>
        }
    });
    let workspaces = s
        .workspaces
        .into_iter()
        .map(|w| {
            let isolated = s.isolated;
            view! {
                <li class="flex flex-wrap items-center justify-between gap-2 py-2" data-testid="workspace-row">
                    <span>
                        <span class="font-medium">{w.name}</span>
                        " "
                        <span class="font-mono text-xs text-slate-500">{w.company_id}</span>
                        {w.current.then(|| view! { <span class="ml-2 text-xs text-indigo-700">{tr(l, "(current)")}</span> })}
                    </span>
                    <span class=if isolated { OK_BADGE } else { BAD_BADGE }>{tr(l, if isolated { "Isolated" } else { "Not isolated" })}</span>
                </li>
            }
        })
        .collect_view();
    let dev_warning = s.dev_keys_warning.then(|| view! {
        <p role="alert" data-testid="dev-keys" class="mt-4 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm font-semibold text-red-900">
            {tr(l, "DEVELOPMENT: the encryption and token keys were generated locally. Never use them in production.")}
        </p>
    });
    let link = "text-indigo-700 underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500";
    let audit_link = s.can_read_audit.then(|| {
        view! {
            <a class=link href="/settings/audit" data-testid="audit-link">{tr(l, "Audit log")}</a>
        }
    });
    let audit_link = view! {
        <p class="flex flex-wrap gap-4 text-sm">
            <a class=link href="/settings/sessions">{tr(l, "Your sessions")}</a>
            <a class=link href="/members">{tr(l, "Members and roles")}</a>
            {audit_link}
        </p>
    };
    view! {
        {audit_link}
        <div class=PANEL>
            <h2 class="font-medium">{tr(l, "Tenant binding")}</h2>
            <dl class="mt-3 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
                <dt class="text-slate-500">{tr(l, "Workspace")}</dt>
                <dd data-testid="binding-company-name">{s.company_name}</dd>
                <dt class="text-slate-500">"company_id"</dt>
                <dd class="font-mono" data-testid="binding-company-id">{s.company_id}</dd>
                <dt class="text-slate-500">{tr(l, "Source")}</dt>
                <dd data-testid="binding-source">{tr(l, "Signed token")}</dd>
                <dt class="text-slate-500">{tr(l, "Binding")}</dt>
                <dd data-testid="binding-state">{tr(l, "Fail-closed")}</dd>
            </dl>
            <p class="mt-3 text-sm text-slate-700">{tr(l, "Browser-sent headers ignored. The claim always wins.")}</p>
            {ignored}
        </div>
        <div class=PANEL>
            <h2 class="font-medium">{tr(l, "Your client workspaces")}</h2>
            <ul class="mt-2 divide-y divide-slate-100 text-sm">{workspaces}</ul>
            <p class="mt-3 text-xs text-slate-500" data-testid="isolation-check">{s.isolation_line}</p>
        </div>
        <div class=PANEL>
            <h2 class="font-medium">{tr(l, "Isolation self-test")}</h2>
            <p class="mt-1 text-sm text-slate-600">{tr(l, "Probes PostgreSQL's row-level security inside your own workspace, as the app's own database role. Each run is audited.")}</p>
            <SelfTest text=SelfTestText {
                last_run: format!("{} {}", tr(l, "Last run:"), s.last_self_test.unwrap_or_else(|| tr(l, "never").into())),
                passed_now: tr(l, "Last run: passed just now").into(),
                failed_now: tr(l, "Last run: failed just now").into(),
                run: tr(l, "Run the self-test").into(),
                running: tr(l, "Running…").into(),
                pass: tr(l, "Pass").into(),
                fail: tr(l, "Fail").into(),
            } />
        </div>
        <div class=PANEL>
            <h2 class="font-medium">{tr(l, "Data handling")}</h2>
            <dl class="mt-3 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
                {s.data_handling.into_iter().map(|f| view! {
                    <dt class="text-slate-500">{f.label}</dt>
                    <dd class="break-words" data-testid=f.testid>{f.value}</dd>
                }).collect_view()}
            </dl>
            {dev_warning}
        </div>
    }
}

/// The self-test island's words, translated on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfTestText {
    /// "Last run: passed at …" as rendered, until the island runs it.
    pub last_run: String,
    pub passed_now: String,
    pub failed_now: String,
    pub run: String,
    pub running: String,
    pub pass: String,
    pub fail: String,
}

/// The self-test button and its steps: an island. Without JavaScript the
/// form posts, the server runs the test, redirects back, and the page
/// shows the audited outcome ("Last run").
#[island]
fn SelfTest(text: SelfTestText) -> impl IntoView {
    let SelfTestText {
        last_run,
        passed_now,
        failed_now,
        run: run_label,
        running,
        pass,
        fail,
    } = text;
    let run = ServerAction::<RunSelfTest>::new();
    let pending = run.pending();
    let result = run.value();
    // The audited outcome as rendered, replaced by this run's once it is
    // back (the server audited it too).
    let last = move || match result.get() {
        Some(Ok(steps)) if steps.iter().all(|s| s.passed) => passed_now.clone(),
        Some(Ok(_)) => failed_now.clone(),
        _ => last_run.clone(),
    };
    view! {
        <p class="mt-2 text-xs text-slate-500" data-testid="last-self-test">{last}</p>
        <ActionForm action=run attr:class="mt-4">
            <button
                type="submit"
                data-testid="run-self-test"
                class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-medium text-white hover:bg-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-60"
                disabled=move || pending.get()
            >
                {move || if pending.get() { running.clone() } else { run_label.clone() }}
            </button>
        </ActionForm>
        <ol class="mt-4 space-y-2 text-sm" data-testid="self-test-steps" aria-live="polite">
            {move || result.get().map(|r| match r {
                Ok(steps) => steps.into_iter().map(|s| view! {
                    <li class="flex flex-col gap-1 rounded-md border border-slate-200 p-3" data-testid="self-test-step" data-passed=if s.passed { "true" } else { "false" }>
                        <span class="flex items-center gap-2">
                            <span class=if s.passed { OK_BADGE } else { BAD_BADGE }>{if s.passed { pass.clone() } else { fail.clone() }}</span>
                            <span class="font-medium">{s.label}</span>
                        </span>
                        <span class="break-words text-xs text-slate-500">{s.detail}</span>
                    </li>
                }).collect_view().into_any(),
                Err(e) => view! { <li role="alert" class="text-red-700">{e.to_string()}</li> }.into_any(),
            })}
        </ol>
    }
}
