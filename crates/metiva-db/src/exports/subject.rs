//! A data subject's access request (GDPR art. 15): every row about one
//! contact or one website visitor, as JSON and CSV per table, with a
//! README in Dutch and English, in one ZIP.
//!
//! A visitor's export is the visitor part of a contact's: the visitor row,
//! its page views, consent decisions and forwards (audited with target
//! type `visitor`).
//!
//! What "about the subject" means: the person row (its capture source
//! included), the visitors linked to it and their page views, consent
//! decisions and forwards, the notes and tasks about the person, and the
//! deals it is linked to.
//!
//! # Security
//! - Requires `privacy.export`; another workspace's (or an unknown) id is
//!   `NotFound`. One read transaction bound to the member's company, every
//!   query filtering `company_id` beside RLS, and the export is audited
//!   (`privacy.subject_exported`, target the person, ids only).
//! - IP addresses: the subject has a right to them, but opening a sealed
//!   IP is itself a permission (`ip.reveal`), audited. So the truncated
//!   IPs are opened only when the exporting member holds `ip.reveal`, and
//!   then one `visitor.ip_revealed` audit row (target the person, the
//!   count in its reason) records it in the same transaction. Without it
//!   the column says `withheld` and the README tells the member to have
//!   someone with `ip.reveal` run the export: the member never sees more
//!   than their role allows, and the gap is visible, not silent.
//! - The ZIP is built in memory: one subject's rows are bounded (a visitor
//!   is one browser), unlike the workspace export, which streams to disk.

use std::io::{Cursor, Write};

use diesel::QueryableByName;
use diesel::sql_types::{Binary, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use metiva_roles::Permission;
use metiva_security::cipher::{KeyRing, Sealed};
use uuid::Uuid;
use zip::write::SimpleFileOptions;

use super::ExportError;
use crate::access::TenantCtx;
use crate::erasure::Subject;
use crate::repo::audit::{self, AuditEntry};
use crate::visitors::ip_context;
use crate::{Database, DbError, TenantConn};

/// The tenant-context filter beside RLS.
const OWN: &str = "t.company_id = (SELECT NULLIF(current_setting('app.company_id', true), ''))";
/// The subject's visitors.
const VISITORS: &str = "(SELECT v.id FROM visitors v WHERE v.company_id = (SELECT NULLIF(current_setting('app.company_id', true), '')) AND v.person_id = $1)";

/// The sections: file stem, table and the subject's rows in it (`$1` is
/// the subject's id). The first section is the subject's own row.
fn sections(subject: Subject) -> Vec<(&'static str, &'static str, String)> {
    if let Subject::Visitor(_) = subject {
        return vec![
            ("visitor", "visitors", "t.id = $1".to_string()),
            (
                "consent_decisions",
                "consent_decisions",
                "t.visitor_id = $1".to_string(),
            ),
            ("forwards", "forwards", "t.visitor_id = $1".to_string()),
        ];
    }
    vec![
        ("person", "persons", "t.id = $1".to_string()),
        ("visitors", "visitors", "t.person_id = $1".to_string()),
        (
            "consent_decisions",
            "consent_decisions",
            format!("t.visitor_id IN {VISITORS}"),
        ),
        (
            "forwards",
            "forwards",
            format!("(t.person_id = $1 OR t.visitor_id IN {VISITORS})"),
        ),
        ("notes", "notes", "t.person_id = $1".to_string()),
        ("tasks", "tasks", "t.person_id = $1".to_string()),
        ("deals", "deals", "t.person_id = $1".to_string()),
    ]
}

/// The subject's page views.
fn views_of(subject: Subject) -> String {
    match subject {
        Subject::Person(_) => format!("t.visitor_id IN {VISITORS}"),
        Subject::Visitor(_) => "t.visitor_id = $1".to_string(),
    }
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct ViewLine {
    #[diesel(sql_type = Text)]
    line: String,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    ip_key_id: String,
    #[diesel(sql_type = Binary)]
    ip_nonce: Vec<u8>,
    #[diesel(sql_type = Binary)]
    ip_ciphertext: Vec<u8>,
}

/// What the subject export answers: the ZIP and its file name.
#[derive(Debug)]
pub struct SubjectZip {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl Database {
    /// The access-request ZIP for the contact `person`, audited.
    pub async fn export_subject(
        &self,
        ctx: &TenantCtx,
        person: Uuid,
        request_id: &str,
        keys: &KeyRing,
    ) -> Result<SubjectZip, ExportError> {
        self.export_data_subject(ctx, Subject::Person(person), request_id, keys)
            .await
    }

    /// The access-request ZIP for the website visitor `visitor`, audited.
    pub async fn export_visitor(
        &self,
        ctx: &TenantCtx,
        visitor: Uuid,
        request_id: &str,
        keys: &KeyRing,
    ) -> Result<SubjectZip, ExportError> {
        self.export_data_subject(ctx, Subject::Visitor(visitor), request_id, keys)
            .await
    }

    /// The access-request ZIP for `subject`, audited.
    pub async fn export_data_subject(
        &self,
        ctx: &TenantCtx,
        subject: Subject,
        request_id: &str,
        keys: &KeyRing,
    ) -> Result<SubjectZip, ExportError> {
        if !ctx.can(Permission::PrivacyExport) {
            return Err(ExportError::Forbidden);
        }
        let reveal = ctx.can(Permission::IpReveal);
        let user = ctx.user_id();
        if reveal {
            // The company's data key, before the transaction (its own read);
            // a failure leaves the IPs unopened ("unreadable").
            let _ = keys.load(self, ctx.company().as_str()).await;
        }
        let files = self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                collect(tc, subject, reveal, keys, user, request_id).await
            })
            .await?;
        let Some(files) = files else {
            return Err(ExportError::NotFound);
        };
        let readme = match subject {
            Subject::Person(_) => README,
            Subject::Visitor(_) => README_VISITOR,
        };
        let bytes = build_zip(&files, readme, reveal)
            .map_err(|e| DbError::Internal(format!("zip: {e}")))?;
        let file_name = match subject {
            Subject::Person(id) => format!("metiva-subject-{id}.zip"),
            Subject::Visitor(id) => format!("metiva-visitor-{id}.zip"),
        };
        Ok(SubjectZip { file_name, bytes })
    }
}

/// Each section's rows as JSON objects; `None` when there is no such
/// subject in this workspace.
async fn collect(
    tc: &mut TenantConn<'_>,
    subject: Subject,
    reveal: bool,
    keys: &KeyRing,
    user: Uuid,
    request_id: &str,
) -> Result<Option<Vec<(&'static str, Vec<serde_json::Value>)>>, DbError> {
    let company = tc.company().as_str().to_string();
    let id = subject.id();
    let mut out = Vec::new();
    for (i, (stem, table, cond)) in sections(subject).into_iter().enumerate() {
        // Raw SQL: whole rows as JSON (every column, so a new column is
        // exported without code changes); the table and conditions are
        // constants above.
        let rows: Vec<Line> = diesel::sql_query(format!(
            "SELECT row_to_json(t)::text AS line FROM {table} t WHERE {OWN} AND {cond}"
        ))
        .bind::<SqlUuid, _>(id)
        .load(tc.conn())
        .await?;
        if i == 0 && rows.is_empty() {
            return Ok(None);
        }
        let vals = rows
            .iter()
            .filter_map(|l| serde_json::from_str(&l.line).ok())
            .collect();
        out.push((stem, vals));
    }
    // Page views: the sealed IP columns are replaced by the opened,
    // truncated IP (or "withheld").
    let views: Vec<ViewLine> = diesel::sql_query(format!(
        "SELECT (to_jsonb(t) - 'ip_key_id' - 'ip_nonce' - 'ip_ciphertext')::text AS line,
                t.id::text AS id, t.ip_key_id, t.ip_nonce, t.ip_ciphertext
         FROM page_views t WHERE {OWN} AND {views} ORDER BY t.at",
        views = views_of(subject)
    ))
    .bind::<SqlUuid, _>(id)
    .load(tc.conn())
    .await?;
    let mut opened = 0usize;
    let mut pv = Vec::with_capacity(views.len());
    for v in views {
        let mut obj: serde_json::Value =
            serde_json::from_str(&v.line).unwrap_or(serde_json::Value::Null);
        let ip = if reveal {
            let ip = v.ip_nonce.as_slice().try_into().ok().and_then(|nonce| {
                keys.open(
                    &Sealed {
                        key_id: v.ip_key_id,
                        nonce,
                        ciphertext: v.ip_ciphertext,
                    },
                    &ip_context(&company, &v.id),
                )
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            });
            opened += 1;
            ip.unwrap_or_else(|| "unreadable".to_string())
        } else {
            "withheld".to_string()
        };
        if let Some(o) = obj.as_object_mut() {
            o.insert("ip_truncated".into(), serde_json::Value::String(ip));
        }
        pv.push(obj);
    }
    out.push(("page_views", pv));

    let target = id.to_string();
    let kind = subject.kind();
    audit::append(
        tc,
        &AuditEntry {
            actor_user_id: Some(user),
            action: "privacy.subject_exported",
            target_type: Some(kind),
            target_id: Some(&target),
            request_id: Some(request_id),
            reason: None,
        },
    )
    .await?;
    if opened > 0 {
        let note = format!("{opened} page views");
        audit::append_with_note(
            tc,
            &AuditEntry {
                actor_user_id: Some(user),
                action: "visitor.ip_revealed",
                target_type: Some(kind),
                target_id: Some(&target),
                request_id: Some(request_id),
                reason: Some("subject_export"),
            },
            Some(&note),
        )
        .await?;
    }
    Ok(Some(out))
}

/// A JSON value as one CSV field.
fn field(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    // CSV injection: a leading = + - @ tab or CR would run as a formula.
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

fn to_csv(rows: &[serde_json::Value]) -> Result<Vec<u8>, csv::Error> {
    let mut header: Vec<String> = Vec::new();
    for r in rows {
        if let Some(o) = r.as_object() {
            for k in o.keys() {
                if !header.contains(k) {
                    header.push(k.clone());
                }
            }
        }
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(&header)?;
    for r in rows {
        w.write_record(
            header
                .iter()
                .map(|k| r.get(k).map(field).unwrap_or_default()),
        )?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

fn build_zip(
    files: &[(&'static str, Vec<serde_json::Value>)],
    readme: &str,
    revealed: bool,
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (stem, rows) in files {
        zip.start_file(format!("{stem}.json"), opts)?;
        serde_json::to_writer_pretty(&mut zip, rows)?;
        zip.start_file(format!("{stem}.csv"), opts)?;
        zip.write_all(&to_csv(rows)?)?;
    }
    zip.start_file("README.txt", opts)?;
    zip.write_all(readme.as_bytes())?;
    if !revealed {
        zip.write_all(README_WITHHELD.as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The README inside every subject export, Dutch and English.
pub const README: &str = "Metiva - inzageverzoek / subject access export
==============================================

NEDERLANDS
Dit archief bevat alle gegevens die deze werkruimte over deze persoon
bewaart (AVG artikel 15). Elk onderdeel staat er twee keer in: als JSON
(exact) en als CSV (voor een spreadsheet; tekst die met = + - @ begint
krijgt een apostrof ervoor).
- person.json/.csv: de contactpersoon zelf, met de bron (bijv. het
  formulier waarmee de gegevens zijn verzameld).
- visitors.json/.csv: de websitebezoekers die aan deze persoon gekoppeld
  zijn, met hun toestemmingskeuzes (analytics, identification, marketing).
- page_views.json/.csv: de bekeken pagina's van die bezoekers, met het
  ingekorte IP-adres (ip_truncated).
- consent_decisions.json/.csv: het bewijs van elke toestemming en
  intrekking (doel, beleidsversie, tijdstip).
- forwards.json/.csv: doorgestuurde conversies naar advertentieplatformen.
- notes.json/.csv en tasks.json/.csv: notities en taken over deze persoon.
- deals.json/.csv: deals waaraan deze persoon gekoppeld is.
Een leeg bestand betekent: geen gegevens van die soort.

ENGLISH
This archive holds every record this workspace keeps about this person
(GDPR article 15). Each part is included twice: as JSON (exact) and as
CSV (for a spreadsheet; text starting with = + - @ gets a leading
apostrophe).
- person.json/.csv: the contact itself, with its source (e.g. the form
  the data was captured with).
- visitors.json/.csv: the website visitors linked to this person, with
  their consent choices (analytics, identification, marketing).
- page_views.json/.csv: those visitors' page views, with the truncated IP
  address (ip_truncated).
- consent_decisions.json/.csv: proof of each consent and withdrawal
  (purpose, policy version, time).
- forwards.json/.csv: conversions forwarded to ad platforms.
- notes.json/.csv and tasks.json/.csv: notes and tasks about this person.
- deals.json/.csv: deals this person is linked to.
An empty file means: no records of that kind.
";

/// The README inside every visitor export, Dutch and English.
pub const README_VISITOR: &str = "Metiva - inzageverzoek websitebezoeker / visitor access export
===============================================================

NEDERLANDS
Dit archief bevat alle gegevens die deze werkruimte bewaart over deze
websitebezoeker: een browser, herkend aan een willekeurige sleutel in een
cookie (AVG artikel 15). Elk onderdeel staat er twee keer in: als JSON
(exact) en als CSV (voor een spreadsheet; tekst die met = + - @ begint
krijgt een apostrof ervoor).
- visitor.json/.csv: de bezoeker zelf, met de toestemmingskeuzes
  (analytics, identification, marketing) en eerste en laatste bezoek.
- page_views.json/.csv: de bekeken pagina's, met het ingekorte
  IP-adres (ip_truncated).
- consent_decisions.json/.csv: het bewijs van elke toestemming en
  intrekking (doel, beleidsversie, tijdstip).
- forwards.json/.csv: doorgestuurde conversies naar advertentieplatformen.
Een leeg bestand betekent: geen gegevens van die soort.

ENGLISH
This archive holds every record this workspace keeps about this website
visitor: one browser, recognised by a random key in a cookie (GDPR
article 15). Each part is included twice: as JSON (exact) and as CSV (for
a spreadsheet; text starting with = + - @ gets a leading apostrophe).
- visitor.json/.csv: the visitor itself, with its consent choices
  (analytics, identification, marketing) and first and last visit.
- page_views.json/.csv: the pages viewed, with the truncated IP address
  (ip_truncated).
- consent_decisions.json/.csv: proof of each consent and withdrawal
  (purpose, policy version, time).
- forwards.json/.csv: conversions forwarded to ad platforms.
An empty file means: no records of that kind.
";

const README_WITHHELD: &str = "
LET OP / NOTE
De IP-adressen staan als \"withheld\": wie deze export maakte, mag geen
IP-adressen inzien. Laat iemand met het recht ip.reveal de export maken
voor een volledig antwoord.
The IP addresses say \"withheld\": the member who made this export may
not reveal IP addresses. Have someone with ip.reveal make the export for
a complete answer.
";
