//! `/import` and `/import/{id}`: CSV import of contacts or organisations.
//!
//! The upload form posts the file (multipart) to `POST /api/import`, an
//! axum handler (`server::http::crm_import`) that stages it and answers
//! with a redirect to its preview. The preview shows the column mapping
//! (a GET form: changing it changes nothing stored), the first lines as
//! they will be stored and every problem with its line; confirming posts
//! the mapping it showed to [`confirm_import`]. Plain forms throughout, so
//! all of it works without JavaScript.

use super::*;

/// The most problems a preview lists (the count says how many more).
#[cfg(feature = "ssr")]
const SHOWN_ERRORS: usize = 500;

/// A field's label, and a code's message: the forms' own, and those only
/// a file has.
#[cfg(feature = "ssr")]
fn import_label(field: &str) -> &'static str {
    match field {
        "file" => "File",
        "mapping" => "Column mapping",
        "row" => "Columns",
        "kind" => "What the file holds",
        other => fields::label(other),
    }
}

fn import_code_text(code: &str) -> &'static str {
    match code {
        "file.too_large" => "The file is larger than 5 MB. Split it into smaller files.",
        "file.too_many_lines" => {
            "The file has more than 20,000 lines. Split it into smaller files."
        }
        "file.encoding" => {
            "The file is not UTF-8 text. Save it as \"CSV UTF-8\" and upload it again."
        }
        "file.empty" => {
            "The file has no lines to import: the first line names the columns, the lines below it are imported."
        }
        "file.columns" => "The file has more than 50 columns.",
        "file.format" => "The file could not be read as CSV.",
        "file.required" => "Choose a CSV file, or paste its text.",
        "import.gone" => {
            "This import is no longer available: it expired an hour after the upload, or it was already imported. Upload the file again."
        }
        "mapping.name" => "Choose the column that holds the name.",
        "mapping.duplicate" => "Each field can take one column only.",
        "mapping.format" => "This column mapping does not fit the file. Preview the file again.",
        "row.columns" => "This line has more cells than the first line has columns.",
        "email.duplicate" => "An earlier line of this file has this email address.",
        "domain.duplicate" => "An earlier line of this file has this website domain.",
        "name.duplicate" => "An earlier line of this file has this name.",
        "name.taken" => "An organisation with this name already exists in this workspace.",
        "organisation.ambiguous" => {
            "Several organisations in this workspace have this name; link this contact by hand."
        }
        other => fields::code_text(other),
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "organisations" => "Organisations",
        _ => "Contacts",
    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Refusals of the import steps, shared with the upload handler.

    use super::{import_code_text, import_label};
    use crate::error::AppError;
    use crate::i18n::{Lang, tr};
    use metiva_db::crm::import::{ImportError, LineError};

    /// At most this many lines are named in a refusal's message.
    const NAMED_LINES: usize = 20;

    /// An import step's refusal in `l`: its status (403, 404, 413 for a
    /// file too large, 422 for anything invalid) and a message naming
    /// each field, and each line. A database failure is the shared
    /// policy's (server functions only; the upload handler answers those
    /// itself).
    pub fn refusal(l: Lang, e: ImportError) -> AppError {
        match e {
            ImportError::Forbidden => AppError::forbidden(tr(l, "Your role does not allow this.")),
            ImportError::NotFound => AppError::not_found(tr(l, import_code_text("import.gone"))),
            ImportError::Invalid(fields) => {
                let msg = fields
                    .iter()
                    .map(|f| {
                        format!(
                            "{}: {}",
                            tr(l, import_label(f.field)),
                            tr(l, import_code_text(f.code))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                if fields.iter().any(|f| f.code == "file.too_large") {
                    AppError::too_large(msg)
                } else {
                    AppError::validation(msg)
                }
            }
            ImportError::Lines(lines) => AppError::validation(lines_message(l, &lines)),
            ImportError::Db(db) => crate::api::ssr::db_failure(db),
        }
    }

    /// "Nothing was imported. Line 3: Email: …" for the first lines.
    fn lines_message(l: Lang, lines: &[LineError]) -> String {
        let mut msg = vec![tr(l, "Nothing was imported.").to_string()];
        msg.extend(lines.iter().take(NAMED_LINES).map(|e| {
            format!(
                "{} {}: {}: {}",
                tr(l, "Line"),
                e.line,
                tr(l, import_label(e.field)),
                tr(l, import_code_text(e.code))
            )
        }));
        if lines.len() > NAMED_LINES {
            msg.push(format!(
                "{} {}",
                tr(l, "Problems not listed here:"),
                lines.len() - NAMED_LINES
            ));
        }
        msg.join(" ")
    }
}

/// The upload form's choice of what the file holds.
#[server(endpoint = "import_form")]
pub async fn import_form() -> Result<(), AppError> {
    crate::api::ssr::require(metiva_roles::Permission::CrmImport)?;
    Ok(())
}

/// One column of the file and the field it goes to (`""`: left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportColumnDto {
    pub header: String,
    pub field: String,
}

/// One problem: the file's line, the field and what is wrong.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportProblemDto {
    pub line: u64,
    pub field: String,
    pub message: String,
}

/// A staged import's preview (see `metiva_db::crm::import::Preview`),
/// worded in the user's language.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportPreviewDto {
    pub id: String,
    /// `contacts` or `organisations`.
    pub kind: String,
    pub separator: String,
    pub lines: usize,
    pub columns: Vec<ImportColumnDto>,
    /// The fields a column may go to: (key, label).
    pub choices: Vec<Choice>,
    /// The mapping shown, as the confirmation posts it.
    pub mapping: String,
    pub mapping_problems: Vec<String>,
    /// The labels of the fields, in the order of `sample`'s values.
    pub fields: Vec<String>,
    /// (line, values, stored as shown)
    pub sample: Vec<(u64, Vec<String>, bool)>,
    pub problems: Vec<ImportProblemDto>,
    /// Problems beyond those listed.
    pub more_problems: usize,
    pub new_organisations: usize,
}

/// The preview of staged import `id` under `mapping` (comma-separated
/// field keys in column order; absent: the header's guess). `None` when
/// there is no such import for this member (another workspace's, another
/// member's, expired or already imported).
#[server(endpoint = "import_preview")]
pub async fn import_preview(
    id: String,
    mapping: Option<String>,
) -> Result<Option<ImportPreviewDto>, AppError> {
    use crate::api::ssr::{database, require};
    use metiva_db::crm::import::ImportError;
    let ctx = require(metiva_roles::Permission::CrmImport)?;
    let l = crate::i18n::current();
    let Ok(uuid) = uuid::Uuid::parse_str(id.trim()) else {
        return Ok(None);
    };
    let mapping = mapping.filter(|m| !m.is_empty());
    let p = match database()?
        .import_preview(&ctx, uuid, mapping.as_deref())
        .await
    {
        Ok(p) => p,
        Err(ImportError::NotFound) => return Ok(None),
        Err(e) => return Err(ssr::refusal(l, e)),
    };
    let problem = |field: &str, code: &str| {
        format!(
            "{}: {}",
            tr(l, import_label(field)),
            tr(l, import_code_text(code))
        )
    };
    Ok(Some(ImportPreviewDto {
        id: uuid.to_string(),
        kind: p.kind.key().to_string(),
        separator: match p.delimiter {
            ';' => tr(l, "semicolon (;)").to_string(),
            '\t' => tr(l, "tab").to_string(),
            _ => tr(l, "comma (,)").to_string(),
        },
        lines: p.lines,
        columns: p
            .header
            .iter()
            .zip(&p.mapping)
            .map(|(h, f)| ImportColumnDto {
                header: h.clone(),
                field: f.unwrap_or_default().to_string(),
            })
            .collect(),
        choices: p
            .kind
            .fields()
            .iter()
            .map(|f| (f.to_string(), tr(l, import_label(f)).to_string()))
            .collect(),
        mapping: metiva_db::crm::import::mapping::format(&p.mapping),
        mapping_problems: p
            .mapping_errors
            .iter()
            .map(|e| problem(e.field, e.code))
            .collect(),
        fields: p
            .kind
            .fields()
            .iter()
            .map(|f| tr(l, import_label(f)).to_string())
            .collect(),
        sample: p
            .sample
            .into_iter()
            .map(|s| (s.line, s.values, s.ok))
            .collect(),
        more_problems: p.errors.len().saturating_sub(SHOWN_ERRORS),
        problems: p
            .errors
            .iter()
            .take(SHOWN_ERRORS)
            .map(|e| ImportProblemDto {
                line: e.line,
                field: tr(l, import_label(e.field)).to_string(),
                message: tr(l, import_code_text(e.code)).to_string(),
            })
            .collect(),
        new_organisations: p.new_organisations,
    }))
}

/// What a confirmed import wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportDoneDto {
    pub contacts: usize,
    pub organisations: usize,
}

/// The preview's address for `mapping`, as its GET form writes it.
#[cfg(feature = "ssr")]
fn preview_path(id: uuid::Uuid, mapping: &str, extra: &str) -> String {
    let mut q: Vec<String> = mapping
        .split(',')
        .take(metiva_db::crm::import::file::MAX_COLUMNS)
        .enumerate()
        .map(|(i, f)| format!("c{i}={}", crate::query_escape(f.trim())))
        .collect();
    if !extra.is_empty() {
        q.push(extra.to_string());
    }
    format!("/import/{id}?{}", q.join("&"))
}

/// Imports every line of staged import `id` under `mapping` (as the
/// preview showed it), all or nothing, then goes to the list of what was
/// imported. Refused (422, naming each line) when any line fails.
#[server(endpoint = "confirm_import")]
pub async fn confirm_import(id: String, mapping: String) -> Result<ImportDoneDto, AppError> {
    use super::ssr::{done, parse_id};
    use crate::api::ssr::{database, request_id, require};
    use crate::member_forms::ssr::plain_form;
    use metiva_db::crm::import::ImportError;
    let ctx = require(metiva_roles::Permission::CrmImport)?;
    let l = crate::i18n::current();
    let uuid = parse_id(&id)?;
    match database()?
        .confirm_import(&ctx, uuid, &mapping, &request_id())
        .await
    {
        Ok(n) => {
            done(if n.contacts > 0 {
                "/persons?done=imported"
            } else {
                "/organisations?done=imported"
            });
            Ok(ImportDoneDto {
                contacts: n.contacts,
                organisations: n.organisations,
            })
        }
        Err(e) => {
            let back = match &e {
                ImportError::NotFound => Some("/import?refused=import.gone".to_string()),
                ImportError::Lines(_) | ImportError::Invalid(_) => {
                    Some(preview_path(uuid, &mapping, "refused=1"))
                }
                ImportError::Forbidden | ImportError::Db(_) => None,
            };
            // The error first (it sets the status), then the redirect
            // for a plain form, which the page words from the query.
            let err = ssr::refusal(l, e);
            if let Some(back) = back.filter(|_| plain_form()) {
                leptos_axum::redirect(&back);
            }
            Err(err)
        }
    }
}

/// `/import`: the upload form.
#[component]
pub fn ImportPage() -> impl IntoView {
    let l = crate::i18n::current();
    let q = leptos_router::hooks::use_query_map().read_untracked();
    let refused = q.get("refused");
    let organisations = q.get("kind").as_deref() == Some("organisations");
    let data = Resource::new(|| (), crate::api::boxed(|_| import_form()));
    view! {
        <section class="space-y-6">
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Import contacts or organisations")}</h1>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(()) => {
                        let refusal = refused.clone().map(|code| view! {
                            <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="import-refused">
                                {tr(l, import_code_text(&code))}
                            </p>
                        });
                        view! {
                            {refusal}
                            <form method="post" action="/api/import" enctype="multipart/form-data" class=format!("{PANEL} space-y-4") data-testid="import-form">
                                <fieldset>
                                    <legend class=LABEL>{tr(l, "What the file holds")}</legend>
                                    <div class="mt-2 flex gap-4 text-sm">
                                        <label class="flex items-center gap-2">
                                            <input type="radio" name="kind" value="contacts" checked=!organisations />
                                            {tr(l, "Contacts")}
                                        </label>
                                        <label class="flex items-center gap-2">
                                            <input type="radio" name="kind" value="organisations" checked=organisations />
                                            {tr(l, "Organisations")}
                                        </label>
                                    </div>
                                </fieldset>
                                <div>
                                    <label class=LABEL for="f-file">{tr(l, "CSV file")}</label>
                                    <input class="mt-1 block text-sm" id="f-file" name="file" type="file" accept=".csv,.txt,text/csv" />
                                </div>
                                <div>
                                    <label class=LABEL for="f-text">{tr(l, "Or paste the CSV text")}</label>
                                    <textarea class=INPUT id="f-text" name="text" rows="5"></textarea>
                                </div>
                                <button type="submit" class=PRIMARY>{tr(l, "Preview")}</button>
                            </form>
                            <div class=format!("{PANEL} space-y-2 text-sm text-slate-700")>
                                <p>{tr(l, "The first line names the columns; the preview lets you choose the field each column goes to. Columns may be separated by commas or semicolons (as Excel writes them); the file is UTF-8 text.")}</p>
                                <p>{tr(l, "At most 5 MB and 20,000 lines. Nothing is saved until you confirm the preview, and then every line is saved at once, or none is.")}</p>
                                <p>{tr(l, "Contacts: name, email, phone, organisation (by name: an organisation that does not exist yet is created), notes. Organisations: name, website domain, KvK number, VAT number, address, notes.")}</p>
                            </div>
                        }.into_any()
                    }
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The mapping form: one select per column of the file.
#[component]
fn MappingForm(p: ImportPreviewDto) -> impl IntoView {
    let l = crate::i18n::current();
    let rows = p
        .columns
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let id = format!("c-{i}");
            let options = p
                .choices
                .iter()
                .map(|(k, label)| {
                    let sel = *k == c.field;
                    view! { <option value=k.clone() selected=sel>{label.clone()}</option> }
                })
                .collect_view();
            view! {
                <tr class="border-t border-slate-100" data-testid="import-column">
                    <td class=TD><label for=id.clone()>{c.header}</label></td>
                    <td class=TD>
                        <select class=INPUT id=id name=format!("c{i}")>
                            <option value="" selected=c.field.is_empty()>{tr(l, "— leave out —")}</option>
                            {options}
                        </select>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <form method="get" action=format!("/import/{}", p.id) class=PANEL data-testid="import-mapping">
            <h2 class="text-lg font-semibold">{tr(l, "Column mapping")}</h2>
            <table class="mt-2 min-w-full text-sm">
                <thead><tr>
                    <th class=TH>{tr(l, "Column in the file")}</th>
                    <th class=TH>{tr(l, "Field")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <button type="submit" class=format!("mt-4 {PRIMARY}")>{tr(l, "Preview again")}</button>
        </form>
    }
}

/// `/import/{id}`: the preview, and the confirmation.
#[component]
pub fn ImportPreviewPage() -> impl IntoView {
    let l = crate::i18n::current();
    let id = leptos_router::hooks::use_params_map()
        .read_untracked()
        .get("id")
        .unwrap_or_default();
    let q = leptos_router::hooks::use_query_map().read_untracked();
    let refused = q.get("refused").is_some();
    // The GET form's selects, c0, c1, …: the mapping to preview.
    let columns: Vec<String> = (0..MAX_MAPPED_COLUMNS)
        .map_while(|i| q.get(&format!("c{i}")))
        .collect();
    let mapping = (!columns.is_empty()).then(|| columns.join(","));
    let data = Resource::new(
        move || (id.clone(), mapping.clone()),
        crate::api::boxed(|(id, mapping)| import_preview(id, mapping)),
    );
    view! {
        <section class="space-y-6">
            <a class=LINK href="/import">{tr(l, "← Upload another file")}</a>
            <h1 class="text-2xl font-semibold tracking-tight">{tr(l, "Import preview")}</h1>
            <Suspense fallback=move || view! { <div class=PANEL style="min-height: 12rem"></div> }>
                {move || data.get().map(|r| match r {
                    Ok(Some(p)) => view! { <Preview p=p refused=refused /> }.into_any(),
                    Ok(None) => view! {
                        <crate::error::ErrorView error=AppError::not_found(tr(l, import_code_text("import.gone"))) />
                    }.into_any(),
                    Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// How many `c{i}` query parameters the preview reads at most: as many
/// as a file may have columns.
const MAX_MAPPED_COLUMNS: usize = 50;
#[cfg(feature = "ssr")]
const _: () = assert!(MAX_MAPPED_COLUMNS == metiva_db::crm::import::file::MAX_COLUMNS);

#[component]
fn Preview(p: ImportPreviewDto, refused: bool) -> impl IntoView {
    let l = crate::i18n::current();
    let ready = p.mapping_problems.is_empty() && p.problems.is_empty();
    let summary = format!(
        "{}: {} · {}: {} · {}: {}",
        tr(l, "What the file holds"),
        tr(l, kind_label(&p.kind)),
        tr(l, "Lines"),
        p.lines,
        tr(l, "Separator"),
        p.separator
    );
    let banner = refused.then(|| view! {
        <p role="alert" class="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="import-refused">
            {tr(l, "Nothing was imported. Correct the lines listed below in the file and upload it again, or change the column mapping.")}
        </p>
    });
    let mapping_problems = (!p.mapping_problems.is_empty()).then(|| {
        let items = p
            .mapping_problems
            .iter()
            .map(|m| view! { <li>{m.clone()}</li> })
            .collect_view();
        view! {
            <ul role="alert" class="list-disc rounded-md border border-red-200 bg-red-50 py-2 pl-5 pr-3 text-sm text-red-800" data-testid="import-mapping-problem">{items}</ul>
        }
    });
    let problems = (!p.problems.is_empty()).then(|| {
        let count = p.problems.len() + p.more_problems;
        let rows = p
            .problems
            .iter()
            .map(|e| {
                view! {
                    <tr class="border-t border-slate-100" data-testid="import-problem" data-line=e.line.to_string()>
                        <td class=TD>{e.line}</td>
                        <td class=TD>{e.field.clone()}</td>
                        <td class=TD>{e.message.clone()}</td>
                    </tr>
                }
            })
            .collect_view();
        let more = (p.more_problems > 0).then(|| {
            view! { <p class="mt-2 text-sm text-slate-600">{format!("{} {}", tr(l, "Problems not listed here:"), p.more_problems)}</p> }
        });
        view! {
            <div class=PANEL>
                <h2 class="text-lg font-semibold text-red-800">{format!("{} ({count})", tr(l, "Problems"))}</h2>
                <p class="mt-1 text-sm text-slate-600">{tr(l, "Nothing is imported while a line has a problem. Line numbers count the first line (the column names) as line 1.")}</p>
                <div class="mt-2 overflow-x-auto"><table class="min-w-full text-sm">
                    <thead><tr>
                        <th class=TH>{tr(l, "Line")}</th>
                        <th class=TH>{tr(l, "Field")}</th>
                        <th class=TH>{tr(l, "Problem")}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table></div>
                {more}
            </div>
        }
    });
    let head = p
        .fields
        .iter()
        .map(|f| view! { <th class=TH>{f.clone()}</th> })
        .collect_view();
    let sample = p
        .sample
        .iter()
        .map(|(line, values, ok)| {
            let cells = values
                .iter()
                .map(|v| view! { <td class=format!("{TD} whitespace-pre-wrap")>{v.clone()}</td> })
                .collect_view();
            let class = if *ok {
                "border-t border-slate-100"
            } else {
                "border-t border-slate-100 bg-red-50"
            };
            view! { <tr class=class data-testid="import-sample"><td class=TD>{*line}</td>{cells}</tr> }
        })
        .collect_view();
    let confirm = if ready {
        let orgs = (p.new_organisations > 0).then(|| {
            view! {
                <p class="text-sm text-slate-700">
                    {format!("{}: {}", tr(l, "New organisations the contacts name (created by the import)"), p.new_organisations)}
                </p>
            }
        });
        view! {
            <form method="post" action="/api/confirm_import" class=format!("{PANEL} space-y-3") data-testid="import-confirm">
                <input type="hidden" name="id" value=p.id.clone() />
                <input type="hidden" name="mapping" value=p.mapping.clone() />
                <p class="text-sm text-slate-700">{format!("{}: {}", tr(l, "Lines to import"), p.lines)}</p>
                {orgs}
                <button type="submit" class=PRIMARY>{tr(l, "Import now")}</button>
            </form>
        }
        .into_any()
    } else {
        view! {
            <p class="text-sm text-slate-700" data-testid="import-blocked">
                {tr(l, "Correct the file and upload it again, or change the column mapping: nothing can be imported while there are problems.")}
            </p>
        }
        .into_any()
    };
    view! {
        {banner}
        <p class="text-sm text-slate-700" data-testid="import-summary">{summary}</p>
        {mapping_problems}
        {problems}
        <MappingForm p=p.clone() />
        <div class=PANEL>
            <h2 class="text-lg font-semibold">{tr(l, "The first lines, as they will be stored")}</h2>
            <div class="mt-2 overflow-x-auto"><table class="min-w-full text-sm">
                <thead><tr><th class=TH>{tr(l, "Line")}</th>{head}</tr></thead>
                <tbody>{sample}</tbody>
            </table></div>
        </div>
        {confirm}
    }
}
