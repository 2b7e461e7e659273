//! The files panel of a deal's and an organisation's page (issue 17):
//! attached contracts and signature images, each downloadable through
//! `GET /files/{id}`, and plain forms (no JavaScript needed) to upload,
//! posting to `POST /api/files/{kind}/{id}`, and, for members who may
//! write the record, to delete one, posting to `POST /files/{id}/delete`
//! (each a redirect back with `?files=`; the dashboard's same-origin check
//! guards both posts against cross-site forms).

use super::*;

/// One attached file as the panel lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileDto {
    pub id: String,
    /// `contract` or `signature`.
    pub kind: String,
    pub name: String,
    /// `PDF`, `PNG` or `JPEG`, and the size (`1.2 MB`).
    pub what: String,
    pub at: String,
}

/// The panel's data: None when the reader may not see the record's files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FilesDto {
    pub files: Vec<FileDto>,
    pub can_write: bool,
}

/// A size for people: bytes, KB or MB (one decimal).
#[cfg(feature = "ssr")]
pub fn size_text(bytes: i64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{} KB", (bytes + 1023) / 1024)
    } else {
        let tenths = (bytes * 10 + 1024 * 1024 / 2) / (1024 * 1024);
        format!("{}.{} MB", tenths / 10, tenths % 10)
    }
}

/// `kind` is `deal` or `organisation`. A reader without the record's read
/// permission gets None (the panel then shows nothing).
#[server(endpoint = "record_files")]
pub async fn record_files(kind: String, id: String) -> Result<Option<FilesDto>, AppError> {
    use crate::api::ssr::{database, db_failure, tenant};
    use metiva_db::attachments::{AttachError, Record};
    let ctx = tenant()?;
    let Some(record) = Record::parse(&kind, &id) else {
        return Ok(None);
    };
    let can_write = ctx.can(match record {
        Record::Deal(_) => metiva_roles::Permission::DealsWrite,
        Record::Organisation(_) => metiva_roles::Permission::PersonsWrite,
    });
    let files = match database()?.attachments(&ctx, record).await {
        Ok(f) => f,
        Err(AttachError::Forbidden) => return Ok(None),
        Err(AttachError::Db(e)) => return Err(db_failure(e)),
        Err(e) => return Err(AppError::internal_here(&e)),
    };
    Ok(Some(FilesDto {
        files: files
            .into_iter()
            .map(|f| FileDto {
                id: f.id.to_string(),
                kind: f.kind,
                name: f.name,
                what: format!(
                    "{}, {}",
                    match f.content_type.as_str() {
                        "application/pdf" => "PDF",
                        "image/png" => "PNG",
                        _ => "JPEG",
                    },
                    size_text(f.size_bytes)
                ),
                at: f.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            })
            .collect(),
        can_write,
    }))
}

/// The `?files=` outcome of the last upload, worded.
fn outcome_text(l: Lang, code: &str) -> Option<(bool, &'static str)> {
    Some(match code {
        "uploaded" => (true, tr(l, "File uploaded.")),
        "deleted" => (true, tr(l, "File deleted.")),
        "too_large" => (
            false,
            tr(l, "The file is larger than 10 MB. Nothing was stored."),
        ),
        "type" => (
            false,
            tr(
                l,
                "Only PDF, PNG and JPEG files (a signature: PNG or JPEG), recognised by their content. Nothing was stored.",
            ),
        ),
        "kind" => (
            false,
            tr(l, "Choose the kind of file: contract or signature."),
        ),
        "file" => (false, tr(l, "Choose a file to upload.")),
        "forbidden" => (false, tr(l, "Your role does not allow this.")),
        _ => return None,
    })
}

/// The files panel (see the module docs).
#[component]
pub fn FilesPanel(kind: &'static str, id: String) -> impl IntoView {
    let l = crate::i18n::current();
    let outcome = leptos_router::hooks::use_query_map()
        .read_untracked()
        .get("files")
        .and_then(|c| outcome_text(l, &c));
    let action = format!("/api/files/{kind}/{id}");
    let data = Resource::new(
        move || id.clone(),
        crate::api::boxed(move |id| record_files(kind.to_string(), id)),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || data.get().map(|r| match r {
                Ok(None) => ().into_any(),
                Ok(Some(d)) => {
                    let none = d.files.is_empty();
                    let can_write = d.can_write;
                    let rows = d.files.into_iter().map(|f| {
                        let label = if f.kind == "signature" { tr(l, "Signature") } else { tr(l, "Contract") };
                        let delete = can_write.then(|| view! {
                            <form method="post" action=format!("/files/{}/delete", f.id) class="inline">
                                " "
                                <button type="submit" data-testid="delete-file"
                                        class="text-xs font-medium text-red-800 underline hover:text-red-900">
                                    {tr(l, "Delete file")}
                                </button>
                            </form>
                        });
                        view! {
                            <li class="text-sm" data-testid="attached-file" data-kind=f.kind.clone()>
                                <span class="font-medium">{label}</span>": "
                                <a class=LINK href=format!("/files/{}", f.id) download="">{f.name}</a>
                                <span class="text-xs text-slate-500">" "{f.what}" · "{f.at}</span>
                                {delete}
                            </li>
                        }
                    }).collect_view();
                    let banner = outcome.map(|(ok, text)| view! {
                        <p class={if ok { "mt-2 text-sm text-emerald-700" } else { "mt-2 text-sm text-red-700" }}
                           role="status" data-testid="files-outcome">{text}</p>
                    });
                    let form = d.can_write.then(|| view! {
                        <form method="post" enctype="multipart/form-data" action=action.clone()
                              class="mt-4 grid gap-3 sm:grid-cols-3 sm:items-end" data-testid="files-upload">
                            <label class=LABEL>{tr(l, "Kind")}
                                <select name="kind" class=INPUT>
                                    <option value="contract">{tr(l, "Contract")}</option>
                                    <option value="signature">{tr(l, "Signature")}</option>
                                </select>
                            </label>
                            <label class=LABEL>{tr(l, "File (PDF, PNG or JPEG, at most 10 MB)")}
                                <input type="file" name="file" required=true class=INPUT
                                       accept="application/pdf,image/png,image/jpeg" />
                            </label>
                            <div><button type="submit" class=PRIMARY>{tr(l, "Upload")}</button></div>
                        </form>
                    });
                    let empty = none.then(|| view! {
                        <p class="mt-2 text-sm text-slate-500">{tr(l, "No files yet.")}</p>
                    });
                    view! {
                        <div class=PANEL data-testid="files-panel">
                            <h2 class="text-lg font-semibold">{tr(l, "Contracts and signatures")}</h2>
                            {banner}
                            <ul class="mt-2 space-y-1">{rows}</ul>
                            {empty}
                            {form}
                        </div>
                    }.into_any()
                }
                Err(e) => view! { <crate::error::ErrorView error=e /> }.into_any(),
            })}
        </Suspense>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size_text(512), "512 B");
        assert_eq!(size_text(2048), "2 KB");
        assert_eq!(size_text(10 * 1024 * 1024), "10.0 MB");
        assert_eq!(size_text(1_300_000), "1.2 MB");
    }
}
