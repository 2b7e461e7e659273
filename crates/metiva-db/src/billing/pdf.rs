//! The invoice PDF: one A4 page, written by hand (PDF 1.4, one content
//! stream, uncompressed) with the standard Helvetica fonts in
//! WinAnsiEncoding. No dependency: the layout is a fixed table of text
//! lines, which needs no more than a page of PDF syntax, and the standard
//! 14 fonts need no font files (every PDF reader has them). Characters
//! outside WinAnsi print as `?`.
//!
//! Branded per workspace (its name, and address, KvK and VAT number where
//! known), in Dutch or English.

use std::fmt::Write as _;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use metiva_security::cipher::KeyRing;
use uuid::Uuid;

use super::invoices::{
    Invoice, InvoiceLine, REVERSE_CHARGE_NOTE_EN, REVERSE_CHARGE_NOTE_NL, invoice_with_lines,
};
use super::money::cents_display;
use crate::files::{FileStore, NewFile};
use crate::schema::organisations as orgs;
use crate::{DbError, TenantConn};

/// Who sends the invoice: the workspace.
#[derive(Debug, Clone, Default)]
pub struct Branding {
    pub name: String,
    pub address: Option<String>,
    pub kvk: Option<String>,
    pub vat: Option<String>,
}

/// Everything one invoice PDF shows.
pub struct PdfInvoice<'a> {
    pub branding: &'a Branding,
    pub customer: &'a str,
    pub invoice: &'a Invoice,
    pub lines: &'a [InvoiceLine],
    pub dutch: bool,
}

/// The file name a download offers: `factuur-2026-0001.pdf`.
pub fn file_name(invoice: &Invoice, dutch: bool) -> String {
    let word = if dutch { "factuur" } else { "invoice" };
    format!("{word}-{}.pdf", invoice.number())
}

/// A string in WinAnsiEncoding, escaped for a PDF literal string.
fn pdf_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('(');
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            // WinAnsi: the euro sign is 0x80; Latin-1's upper half maps to
            // itself. Written as octal escapes, so the stream stays ASCII.
            '€' => out.push_str("\\200"),
            '\u{a0}'..='\u{ff}' => {
                let _ = write!(out, "\\{:03o}", u32::from(c));
            }
            _ => out.push('?'),
        }
    }
    out.push(')');
    out
}

/// Text drawing operations, top-left based (A4: 595 x 842 points).
struct Page {
    ops: String,
}

impl Page {
    fn text(&mut self, bold: bool, size: u8, x: u32, y_from_top: u32, s: &str) {
        let font = if bold { "F2" } else { "F1" };
        let y = 842u32.saturating_sub(y_from_top);
        let _ = writeln!(
            self.ops,
            "BT /{font} {size} Tf {x} {y} Td {} Tj ET",
            pdf_text(s)
        );
    }

    /// Right-aligned at `right` (an estimate: Helvetica's digits are
    /// 0.556 em wide, and amounts are mostly digits).
    fn amount(&mut self, bold: bool, size: u8, right: u32, y_from_top: u32, s: &str) {
        let width = (s.chars().count() as u32 * u32::from(size) * 556) / 1000;
        self.text(bold, size, right.saturating_sub(width), y_from_top, s);
    }
}

/// Renders the invoice as PDF bytes.
pub fn render(p: &PdfInvoice<'_>) -> Vec<u8> {
    let t = |en: &'static str, nl: &'static str| if p.dutch { nl } else { en };
    let money = |c: i64| cents_display(c, p.dutch);
    let inv = p.invoice;
    let mut page = Page { ops: String::new() };
    page.text(true, 20, 50, 70, &p.branding.name);
    let mut y = 90;
    let sender = [
        p.branding.address.clone(),
        p.branding.kvk.as_ref().map(|k| format!("KvK {k}")),
        p.branding
            .vat
            .as_ref()
            .map(|v| format!("{} {v}", t("VAT", "Btw"))),
    ];
    for line in sender.into_iter().flatten() {
        page.text(false, 10, 50, y, &line);
        y += 14;
    }
    page.text(true, 16, 50, 160, t("Invoice", "Factuur"));
    let facts = [
        (t("Invoice number", "Factuurnummer"), inv.number()),
        (t("Invoice date", "Factuurdatum"), inv.issued_on.to_string()),
        (t("Due date", "Vervaldatum"), inv.due_on.to_string()),
        (t("Customer", "Klant"), p.customer.to_string()),
    ];
    let mut y = 185;
    for (k, v) in facts {
        page.text(false, 10, 50, y, k);
        page.text(false, 10, 170, y, &v);
        y += 15;
    }
    if let Some(vat) = &inv.customer_vat {
        page.text(false, 10, 50, y, t("Customer VAT", "Btw-nummer klant"));
        page.text(false, 10, 170, y, vat);
        y += 15;
    }
    y += 20;
    page.text(true, 10, 50, y, t("Description", "Omschrijving"));
    page.text(true, 10, 330, y, t("VAT", "Btw"));
    page.amount(true, 10, 450, y, t("Net", "Netto"));
    page.amount(true, 10, 545, y, t("VAT amount", "Btw-bedrag"));
    y += 18;
    for l in p.lines {
        let desc: String = l.description.chars().take(50).collect();
        page.text(false, 10, 50, y, &desc);
        page.text(false, 10, 330, y, &format!("{}%", l.vat_rate));
        page.amount(false, 10, 450, y, &money(l.net_cents));
        page.amount(false, 10, 545, y, &money(l.vat_cents));
        y += 15;
    }
    y += 15;
    let sums = [
        (false, t("Subtotal", "Subtotaal"), inv.subtotal_cents),
        (false, t("VAT", "Btw"), inv.vat_cents),
        (true, t("Total", "Totaal"), inv.total_cents),
    ];
    for (bold, k, c) in sums {
        page.text(bold, 11, 330, y, k);
        page.amount(bold, 11, 545, y, &money(c));
        y += 17;
    }
    if inv.reverse_charge {
        y += 10;
        let note = if p.dutch {
            REVERSE_CHARGE_NOTE_NL
        } else {
            REVERSE_CHARGE_NOTE_EN
        };
        page.text(false, 9, 50, y, note);
    }
    let terms = t(
        "Please pay within 14 days, quoting the invoice number.",
        "Graag binnen 14 dagen betalen onder vermelding van het factuurnummer.",
    );
    page.text(false, 9, 50, 800, terms);
    document(&page.ops)
}

/// One line of a plain document ([`render_lines`]): bold or not, its
/// font size, and the text (WinAnsi; other characters print as `?`).
#[derive(Debug, Clone, Copy)]
pub struct TextLine<'a> {
    pub bold: bool,
    pub size: u8,
    pub text: &'a str,
}

/// Renders lines top to bottom on as many A4 pages as they need (the
/// erasure receipt's PDF). Long lines are wrapped at spaces to the page
/// width (an estimate: half an em per character).
pub fn render_lines(lines: &[TextLine<'_>]) -> Vec<u8> {
    const TOP: u32 = 60;
    const BOTTOM: u32 = 800;
    let mut pages = vec![Page { ops: String::new() }];
    let mut y = TOP;
    for l in lines {
        let size = l.size.max(6);
        let step = u32::from(size) + u32::from(size) / 2;
        // 495 points of width, characters about size/2 points wide.
        let width = (990 / usize::from(size)).max(20);
        for part in wrap(l.text, width) {
            if y + step > BOTTOM {
                pages.push(Page { ops: String::new() });
                y = TOP;
            }
            if let Some(page) = pages.last_mut() {
                page.text(l.bold, size, 50, y, &part);
            }
            y += step;
        }
    }
    let contents: Vec<&str> = pages.iter().map(|p| p.ops.as_str()).collect();
    document_pages(&contents)
}

/// `s` cut at spaces into lines of at most `width` characters (a longer
/// word is cut where it must be); an empty line stays one empty line.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        let mut word = word.to_string();
        while word.chars().count() > width {
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            out.push(head);
        }
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    out.push(line);
    out
}

/// The file around one page's content stream.
fn document(content: &str) -> Vec<u8> {
    document_pages(&[content])
}

/// The file around the pages' content streams: catalog, pages, each page
/// and its content, two fonts, the cross-reference table and the trailer.
/// With one page the objects are numbered as the invoice always had them
/// (page 3, content 4, fonts 5 and 6).
fn document_pages(contents: &[&str]) -> Vec<u8> {
    let n = contents.len();
    let font = 3 + 2 * n;
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 3 + 2 * i)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")),
    ];
    for (i, content) in contents.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {} 0 R \
             /Resources << /Font << /F1 {font} 0 R /F2 {} 0 R >> >> >>",
            4 + 2 * i,
            font + 1
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_string(),
    );
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_string(),
    );
    // A binary comment line tells transfer tools the file is binary.
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        let _ = writeln!(table, "{o:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

/// Renders invoice `id` of the bound workspace and stores the PDF
/// (sealed) in the object store, attached to the invoice, in the
/// caller's transaction. Answers the file's id; the existing one when the
/// invoice has a PDF already (at-least-once jobs); None when there is no
/// such invoice. The workspace's data key must be loaded.
pub async fn render_and_store(
    tc: &mut TenantConn<'_>,
    files: &FileStore,
    keys: &KeyRing,
    id: Uuid,
) -> Result<Option<Uuid>, DbError> {
    if let Some(f) = crate::files::invoice_pdf(tc, id).await? {
        return Ok(Some(f.id));
    }
    let Some((inv, lines)) = invoice_with_lines(tc, id).await? else {
        return Ok(None);
    };
    let company = tc.company().as_str().to_string();
    let name = crate::repo::companies::current(tc).await?.name;
    let customer: String = orgs::table
        .filter(orgs::company_id.eq(&company))
        .filter(orgs::id.eq(inv.organisation_id))
        .select(orgs::name)
        .first(tc.conn())
        .await?;
    // Dutch invoices for a Dutch business; English for customers abroad
    // (reverse charge).
    let dutch = !inv.reverse_charge;
    // The workspace's branding as saved now (settings, owners).
    let brand = crate::branding::read(tc).await?;
    let branding = Branding {
        name,
        address: brand.address,
        kvk: brand.kvk,
        vat: brand.vat,
    };
    let mut bytes = render(&PdfInvoice {
        branding: &branding,
        customer: &customer,
        invoice: &inv,
        lines: &lines,
        dutch,
    });
    if let Some(logo_id) = brand.logo_file_id
        && let Some(f) = crate::branding::logo_file(tc, logo_id).await?
    {
        let raw = crate::files::open(files, keys, &company, &f).await?;
        // Checked when it was uploaded; should it no longer decode, the
        // invoice goes out without it rather than not at all.
        if let Ok(img) = super::logo::decode(&raw)
            && let Some(stamped) = super::logo::stamp(&bytes, &img)
        {
            bytes = stamped;
        }
    }
    let key = format!("invoices/{id}.pdf");
    let name = file_name(&inv, dutch);
    let file = crate::files::store(
        tc,
        files,
        keys,
        &NewFile {
            purpose: "invoice_pdf",
            invoice_id: Some(id),
            deal_id: None,
            organisation_id: None,
            key_suffix: &key,
            name: &name,
            content_type: "application/pdf",
            bytes: &bytes,
        },
    )
    .await?;
    Ok(Some(file))
}

/// A downloaded invoice PDF: its file name and bytes.
pub struct PdfDownload {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl crate::Database {
    /// Invoice `id`'s PDF for a download (needs `billing.read`): audited
    /// (`billing.invoice_pdf_downloaded`, ids only) in the same
    /// transaction that reads its metadata, then read from the object
    /// store and opened. Another workspace's invoice, or one without a
    /// PDF yet, is not found.
    pub async fn invoice_pdf_download(
        &self,
        ctx: &crate::TenantCtx,
        keys: &KeyRing,
        files: &FileStore,
        id: Uuid,
        request_id: &str,
    ) -> Result<PdfDownload, super::BillingError> {
        if !ctx.can(metiva_roles::Permission::BillingRead) {
            return Err(super::BillingError::Forbidden);
        }
        super::connection::load_key(self, keys, ctx.company()).await?;
        let actor = ctx.user_id();
        let file = self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                let Some(f) = crate::files::invoice_pdf(tc, id).await? else {
                    return Ok(None);
                };
                crate::crm::audit(
                    tc,
                    actor,
                    "billing.invoice_pdf_downloaded",
                    "invoice",
                    id,
                    request_id,
                )
                .await?;
                Ok(Some(f))
            })
            .await?
            .ok_or(super::BillingError::NotFound)?;
        let bytes = crate::files::open(files, keys, ctx.company().as_str(), &file).await?;
        Ok(PdfDownload {
            name: file.name,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};

    fn invoice(reverse_charge: bool) -> (Invoice, Vec<InvoiceLine>) {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        let inv = Invoice {
            id: Uuid::nil(),
            organisation_id: Uuid::nil(),
            retainer_id: None,
            period: Some("2026-12".into()),
            year: 2026,
            seq: 7,
            status: "open".into(),
            issued_on: d("2026-12-01"),
            due_on: d("2026-12-15"),
            subtotal_cents: 125_000,
            vat_cents: if reverse_charge { 0 } else { 26_250 },
            total_cents: if reverse_charge { 125_000 } else { 151_250 },
            reverse_charge,
            customer_vat: reverse_charge.then(|| "DE123456789".to_string()),
            updated_at: Utc::now(),
        };
        let line = InvoiceLine {
            line_no: 1,
            description: "Website (SEO) retainer \\ december".into(),
            quantity: 1,
            unit_cents: 125_000,
            vat_rate: if reverse_charge { 0 } else { 21 },
            net_cents: 125_000,
            vat_cents: inv.vat_cents,
        };
        (inv, vec![line])
    }

    /// Parses the file back: header, every cross-reference offset points
    /// at its object, startxref at the table, the content stream's
    /// /Length is its length; answers the content stream.
    pub(crate) fn parse(pdf: &[u8]) -> String {
        // Byte for byte (offsets stay right): non-ASCII bytes as '?'.
        let s: String = pdf
            .iter()
            .map(|&b| if b.is_ascii() { char::from(b) } else { '?' })
            .collect();
        assert!(s.starts_with("%PDF-1.4\n"));
        assert!(s.ends_with("%%EOF\n"));
        let start: usize = s
            .rsplit("startxref\n")
            .next()
            .and_then(|r| r.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_default();
        let table = s.get(start..).unwrap_or_default();
        assert!(table.starts_with("xref\n0 7\n"), "{table}");
        for (i, line) in table.lines().skip(3).take(6).enumerate() {
            let off: usize = line.get(..10).and_then(|n| n.parse().ok()).unwrap_or(0);
            let at = s.get(off..).unwrap_or_default();
            assert!(
                at.starts_with(&format!("{} 0 obj\n", i + 1)),
                "object {}",
                i + 1
            );
        }
        let obj = s.split("4 0 obj\n").nth(1).unwrap_or_default();
        let len: usize = obj
            .strip_prefix("<< /Length ")
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_default();
        let body = obj
            .split_once("stream\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let content = body.get(..len).unwrap_or_default();
        assert!(body.get(len..).unwrap_or_default().starts_with("endstream"));
        content.to_string()
    }

    #[test]
    fn plain_lines_wrap_and_one_page_keeps_the_invoice_layout() {
        let long = vec!["word"; 60].join(" ");
        let lines = [
            TextLine {
                bold: true,
                size: 16,
                text: "Erasure receipt (1)",
            },
            TextLine {
                bold: false,
                size: 10,
                text: &long,
            },
        ];
        let content = parse(&render_lines(&lines));
        assert!(content.contains("/F2 16 Tf 50 782 Td (Erasure receipt \\(1\\)) Tj"));
        // 299 characters at 99 a line: three lines.
        assert_eq!(content.matches("(word word").count(), 3, "{content}");
        assert_eq!(wrap("", 10), vec![String::new()]);
        assert_eq!(wrap("abcdefghijkl xy", 5), vec!["abcde", "fghij", "kl xy"]);
    }

    #[test]
    fn many_lines_flow_onto_more_pages() {
        let texts: Vec<String> = (0..120).map(|i| format!("line {i}")).collect();
        let lines: Vec<TextLine<'_>> = texts
            .iter()
            .map(|t| TextLine {
                bold: false,
                size: 10,
                text: t,
            })
            .collect();
        let pdf = render_lines(&lines);
        let s = String::from_utf8_lossy(&pdf);
        // 740 points a page at 15 a line: 49 lines a page, three pages.
        assert!(s.contains("/Kids [3 0 R 5 0 R 7 0 R] /Count 3"), "{s}");
        assert!(s.contains("(line 0)") && s.contains("(line 119)"));
        assert!(s.contains("xref\n0 11\n"));
    }

    #[test]
    fn renders_a_valid_pdf_with_the_right_totals_in_english_and_dutch() {
        let (inv, lines) = invoice(false);
        let branding = Branding {
            name: "De Vries Media".into(),
            address: Some("Keizersgracht 1, Amsterdam".into()),
            kvk: Some("12345678".into()),
            vat: Some("NL123456789B01".into()),
        };
        let en = parse(&render(&PdfInvoice {
            branding: &branding,
            customer: "Bloemenhuis Hendriks",
            invoice: &inv,
            lines: &lines,
            dutch: false,
        }));
        for want in [
            "(De Vries Media)",
            "(2026-0007)",
            "(Bloemenhuis Hendriks)",
            "(\\2001,250.00)",
            "(\\200262.50)",
            "(Total)",
            "(\\2001,512.50)",
            "(21%)",
            "(KvK 12345678)",
            "(Website \\(SEO\\) retainer \\\\ december)",
        ] {
            assert!(en.contains(want), "{want} in {en}");
        }
        let nl = parse(&render(&PdfInvoice {
            branding: &branding,
            customer: "Bloemenhuis Hendriks",
            invoice: &inv,
            lines: &lines,
            dutch: true,
        }));
        assert!(
            nl.contains("(Totaal)") && nl.contains("(\\200 1.512,50)"),
            "{nl}"
        );
        assert_eq!(file_name(&inv, true), "factuur-2026-0007.pdf");
    }

    #[test]
    fn reverse_charge_prints_the_note_and_no_vat() {
        let (inv, lines) = invoice(true);
        let content = parse(&render(&PdfInvoice {
            branding: &Branding {
                name: "Café Ünïcode ✓".into(),
                ..Branding::default()
            },
            customer: "Kunde GmbH",
            invoice: &inv,
            lines: &lines,
            dutch: false,
        }));
        assert!(
            content.contains(&pdf_text(REVERSE_CHARGE_NOTE_EN)),
            "{content}"
        );
        assert!(content.contains("(DE123456789)"));
        assert!(
            content.contains("(Caf\\351 \\334n\\357code ?)"),
            "{content}"
        );
        assert!(content.contains("(\\2000.00)"));
    }
}
