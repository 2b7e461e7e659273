//! The invoice PDF: one A4 page rendered with krilla, in Liberation Sans
//! (Regular and Bold) embedded as a subset with a /ToUnicode map, so any
//! name prints as written ("Łódź", "Ŝ", "ő", "€") and the text can be
//! searched and copied (`pdf_page.rs` draws the text).
//!
//! Why krilla: it writes exactly this (subset TrueType fonts in Identity-H
//! with ToUnicode, images, compressed streams) and nothing more, and it is
//! maintained. printpdf 0.7, which wrote the invoice before, pulled in
//! syn 1 and the unmaintained proc-macro-error (RUSTSEC-2024-0370) through
//! allsorts and ouroboros; its later releases bring a layout engine
//! (azul) this fixed layout does not need. krilla runs without its
//! `simple-text` shaper (rustybuzz): the glyphs come from the font's cmap.
//! The logo is checked and decoded by our own decoder (`logo.rs`); krilla
//! only receives its pixels (a PNG) or reads a checked JPEG's header.
//!
//! Branded per workspace (its name, logo, and address, KvK and VAT number
//! where known), in Dutch or English.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use krilla::Document;
use krilla::geom::{Size, Transform};
use krilla::image::{BitsPerComponent, CustomImage, Image, ImageColorspace};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use metiva_security::cipher::KeyRing;
use std::sync::Arc;
use uuid::Uuid;

use super::invoices::{
    Invoice, InvoiceLine, REVERSE_CHARGE_NOTE_EN, REVERSE_CHARGE_NOTE_NL, invoice_with_lines,
};
use super::logo::PdfImage;
use super::money::cents_display;
use super::pdf_page::{PAGE_H, PAGE_W, TextPage, fonts};
use crate::files::{FileStore, NewFile};
use crate::schema::organisations as orgs;
use crate::{DbError, TenantConn};

pub use super::plain_pdf::{TextLine, render_lines};

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

/// Rendering failed (the embedded fonts did not load, or the writer
/// refused): a bug, never the user's input.
#[derive(Debug, thiserror::Error)]
#[error("PDF: {0}")]
pub struct PdfError(String);

pub(super) fn pdf_err(e: impl std::fmt::Display) -> PdfError {
    PdfError(e.to_string())
}

/// The file name a download offers: `factuur-2026-0001.pdf`.
pub fn file_name(invoice: &Invoice, dutch: bool) -> String {
    let word = if dutch { "factuur" } else { "invoice" };
    format!("{word}-{}.pdf", invoice.number())
}

/// An A4 page's settings.
pub(super) fn a4() -> Result<PageSettings, PdfError> {
    PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| pdf_err("page size"))
}

/// Renders the invoice as PDF bytes (no logo).
pub fn render(p: &PdfInvoice<'_>) -> Result<Vec<u8>, PdfError> {
    render_with_logo(p, None)
}

/// Renders the invoice as PDF bytes, with the workspace's logo (checked
/// and decoded by `logo.rs`) at the top right.
pub fn render_with_logo(p: &PdfInvoice<'_>, logo: Option<&PdfImage>) -> Result<Vec<u8>, PdfError> {
    let t = |en: &'static str, nl: &'static str| if p.dutch { nl } else { en };
    let money = |c: i64| cents_display(c, p.dutch);
    let inv = p.invoice;
    let fonts = fonts()?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(format!("{} {}", t("Invoice", "Factuur"), inv.number()))
            .language(t("en", "nl").to_string()),
    );
    let mut pdf_page = doc.start_page_with(a4()?);
    let mut surface = pdf_page.surface();
    let mut page = TextPage {
        surface: &mut surface,
        fonts,
    };
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
    page.right(true, 10, 450, y, t("Net", "Netto"));
    page.right(true, 10, 545, y, t("VAT amount", "Btw-bedrag"));
    y += 18;
    for l in p.lines {
        let desc: String = l.description.chars().take(50).collect();
        page.text(false, 10, 50, y, &desc);
        page.text(false, 10, 330, y, &format!("{}%", l.vat_rate));
        page.right(false, 10, 450, y, &money(l.net_cents));
        page.right(false, 10, 545, y, &money(l.vat_cents));
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
        page.right(bold, 11, 545, y, &money(c));
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
    if let Some(img) = logo.and_then(image) {
        draw_logo(&mut surface, img);
    }
    surface.finish();
    pdf_page.finish();
    doc.finish().map_err(|e| pdf_err(format!("{e:?}")))
}

/// A PNG logo's pixels, for krilla: colour only, any transparency
/// blended onto the white page (`logo::pixels_on_white`), 8 bits a
/// component. The bytes are shared, so krilla's hashing and cloning of
/// the image stays cheap.
#[derive(Clone, Hash)]
struct LogoPixels {
    colour: Arc<[u8]>,
    width: u32,
    height: u32,
    grey: bool,
}

impl CustomImage for LogoPixels {
    fn color_channel(&self) -> &[u8] {
        &self.colour
    }

    fn alpha_channel(&self) -> Option<&[u8]> {
        None
    }

    fn bits_per_component(&self) -> BitsPerComponent {
        BitsPerComponent::Eight
    }

    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn icc_profile(&self) -> Option<&[u8]> {
        None
    }

    fn color_space(&self) -> ImageColorspace {
        if self.grey {
            ImageColorspace::Luma
        } else {
            ImageColorspace::Rgb
        }
    }
}

/// The logo as krilla's image: a JPEG as it is (krilla reads only its
/// header and embeds the bytes, DCTDecode); a PNG as its pixels. None
/// when the pixels do not come out. krilla asserts (panics) when the
/// pixels do not fill the image, so their length is checked here first.
fn image(img: &PdfImage) -> Option<Image> {
    if img.filter == "DCTDecode" {
        return Image::from_jpeg(img.data.clone().into(), true).ok();
    }
    let grey = img.color_space == "DeviceGray";
    let colour = super::logo::pixels_on_white(img)?;
    let channels = if grey { 1 } else { 3 };
    let pixels = usize::try_from(img.width)
        .ok()?
        .checked_mul(usize::try_from(img.height).ok()?)?;
    if colour.len() != pixels.checked_mul(channels)? {
        return None;
    }
    let pixels = LogoPixels {
        colour: colour.into(),
        width: img.width,
        height: img.height,
        grey,
    };
    Image::from_custom(pixels, true).ok()
}

/// At most 150 x 60 points, the aspect kept, 50 points from the right
/// edge and 40 from the top (where the stamped logo always sat).
fn draw_logo(surface: &mut krilla::surface::Surface<'_>, img: Image) {
    let (w, h) = img.size();
    #[expect(clippy::cast_precision_loss, reason = "at most 2000 pixels a side")]
    let (w, h) = (w.max(1) as f32, h.max(1) as f32);
    let scale = (150.0 / w).min(60.0 / h);
    let (dw, dh) = (w * scale, h * scale);
    let Some(size) = Size::from_wh(dw, dh) else {
        return;
    };
    surface.push_transform(&Transform::from_translate(PAGE_W - 50.0 - dw, 40.0));
    surface.draw_image(img, size);
    surface.pop();
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
    let mut logo = None;
    if let Some(logo_id) = brand.logo_file_id
        && let Some(f) = crate::branding::logo_file(tc, logo_id).await?
    {
        let raw = crate::files::open(files, keys, &company, &f).await?;
        // Checked when it was uploaded; should it no longer decode, the
        // invoice goes out without it rather than not at all.
        logo = super::logo::decode(&raw).ok();
    }
    let bytes = render_with_logo(
        &PdfInvoice {
            branding: &branding,
            customer: &customer,
            invoice: &inv,
            lines: &lines,
            dutch,
        },
        logo.as_ref(),
    )
    .map_err(|e| DbError::Internal(e.to_string()))?;
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
    use crate::billing::pdf_text::{embeds_truetype_font, text_runs};
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

    fn branding() -> Branding {
        Branding {
            name: "De Vries Media".into(),
            address: Some("Keizersgracht 1, Amsterdam".into()),
            kvk: Some("12345678".into()),
            vat: Some("NL123456789B01".into()),
        }
    }

    /// Renders, checks the file parses back, and answers its text runs.
    fn texts(p: &PdfInvoice<'_>, logo: Option<&PdfImage>) -> (Vec<u8>, Vec<String>) {
        let pdf = render_with_logo(p, logo).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let runs = text_runs(&pdf).unwrap();
        (pdf, runs)
    }

    #[test]
    fn renders_a_valid_pdf_with_the_right_totals_in_english_and_dutch() {
        let (inv, lines) = invoice(false);
        let branding = branding();
        let p = PdfInvoice {
            branding: &branding,
            customer: "Bloemenhuis Hendriks",
            invoice: &inv,
            lines: &lines,
            dutch: false,
        };
        let (_, en) = texts(&p, None);
        for want in [
            "De Vries Media",
            "2026-0007",
            "Bloemenhuis Hendriks",
            "€1,250.00",
            "€262.50",
            "Total",
            "€1,512.50",
            "21%",
            "KvK 12345678",
            "VAT NL123456789B01",
            "Keizersgracht 1, Amsterdam",
            "Website (SEO) retainer \\ december",
            "Please pay within 14 days, quoting the invoice number.",
        ] {
            assert!(en.iter().any(|r| r == want), "{want} in {en:?}");
        }
        let (_, nl) = texts(&PdfInvoice { dutch: true, ..p }, None);
        for want in ["Totaal", "€ 1.512,50", "Btw-bedrag", "Factuur"] {
            assert!(nl.iter().any(|r| r == want), "{want} in {nl:?}");
        }
        assert_eq!(file_name(&inv, true), "factuur-2026-0007.pdf");
    }

    #[test]
    fn names_outside_winansi_come_back_intact_from_an_embedded_font() {
        let (inv, lines) = invoice(false);
        let branding = Branding {
            name: "Łódź Ŝtudio".into(),
            ..branding()
        };
        let customer = "Kovács Ödön és Fiai Kft. – Dvořák Łódź";
        let (pdf, runs) = texts(
            &PdfInvoice {
                branding: &branding,
                customer,
                invoice: &inv,
                lines: &lines,
                dutch: true,
            },
            None,
        );
        for want in [
            "Łódź Ŝtudio",
            customer,
            "€ 1.250,00",
            "€ 262,50",
            "€ 1.512,50",
        ] {
            assert!(runs.iter().any(|r| r == want), "{want} in {runs:?}");
        }
        assert!(embeds_truetype_font(&pdf).unwrap(), "a FontFile2 stream");
        // Subset: far smaller than the two fonts (over 800 KB).
        assert!(pdf.len() < 100_000, "{} bytes", pdf.len());
        // No standard-14 font left to substitute.
        let raw = String::from_utf8_lossy(&pdf);
        assert!(!raw.contains("/Helvetica"));
    }

    #[test]
    fn a_damaged_pdf_is_an_error_not_a_panic() {
        let (inv, lines) = invoice(false);
        let branding = branding();
        let pdf = render(&PdfInvoice {
            branding: &branding,
            customer: "Bloemenhuis Hendriks",
            invoice: &inv,
            lines: &lines,
            dutch: true,
        })
        .unwrap();
        let half = pdf.get(..pdf.len() / 2).unwrap();
        assert!(text_runs(half).is_err());
        assert!(embeds_truetype_font(b"%PDF-1.7\n%%EOF\n").is_err());
        // Garbage over the middle of the file (streams, fonts, the
        // cross-reference table's targets): whatever comes back, no
        // panic.
        let mut bad = pdf.clone();
        let len = bad.len();
        for b in bad.iter_mut().skip(len / 4).take(len / 4) {
            *b = b'x';
        }
        let _ = text_runs(&bad);
        let _ = crate::billing::pdf_text::drawn_images(&bad);
        let _ = embeds_truetype_font(&bad);
    }

    #[test]
    fn reverse_charge_prints_the_note_and_no_vat() {
        let (inv, lines) = invoice(true);
        let (_, runs) = texts(
            &PdfInvoice {
                branding: &Branding {
                    name: "Café Ünïcode".into(),
                    ..Branding::default()
                },
                customer: "Kunde GmbH",
                invoice: &inv,
                lines: &lines,
                dutch: false,
            },
            None,
        );
        for want in [
            REVERSE_CHARGE_NOTE_EN,
            "DE123456789",
            "Customer VAT",
            "Café Ünïcode",
            "€0.00",
        ] {
            assert!(runs.iter().any(|r| r == want), "{want} in {runs:?}");
        }
    }

    #[test]
    fn the_logo_is_drawn_as_an_image() {
        let (inv, lines) = invoice(false);
        let branding = branding();
        let p = PdfInvoice {
            branding: &branding,
            customer: "Bloemenhuis Hendriks",
            invoice: &inv,
            lines: &lines,
            dutch: true,
        };
        // 2 x 1 grey + alpha PNG.
        let png = super::super::logo::tests::png_bytes(2, 1, 4, &[0, 0, 255, 0, 0]);
        let logo = super::super::logo::decode(&png).unwrap();
        let (pdf, runs) = texts(&p, Some(&logo));
        assert!(runs.iter().any(|r| r == "Totaal"));
        assert_eq!(
            crate::billing::pdf_text::drawn_images(&pdf).unwrap(),
            [(2, 1)]
        );
        assert!(
            crate::billing::pdf_text::drawn_images(&render(&p).unwrap())
                .unwrap()
                .is_empty()
        );
    }

    /// Render time and size, printed (not asserted): `cargo nextest run
    /// -p metiva-db --lib pdf::tests::render_figures --no-capture`.
    #[test]
    fn render_figures() {
        let (inv, lines) = invoice(false);
        let branding = branding();
        let p = PdfInvoice {
            branding: &branding,
            customer: "Bloemenhuis Hendriks",
            invoice: &inv,
            lines: &lines,
            dutch: true,
        };
        let start = std::time::Instant::now();
        let mut size = 0;
        for _ in 0..100 {
            size = render(&p).unwrap().len();
        }
        println!(
            "invoice pdf: {:.3} ms per render (100 renders), {size} bytes",
            start.elapsed().as_secs_f64() * 10.0
        );
    }
}
