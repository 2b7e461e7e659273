//! Text on an A4 page with krilla, in Liberation Sans (Regular and Bold,
//! SIL OFL 1.1, metric-compatible with Helvetica) embedded as a subset:
//! what the invoice (`pdf.rs`) and the erasure receipt (`plain_pdf.rs`)
//! both write with.
//!
//! krilla embeds only the glyphs a document uses, as a CID font with a
//! /ToUnicode map, so any name prints as written ("Łódź", "Dvořák", "ő",
//! "€") and the text can be searched and copied. krilla draws glyphs, not
//! strings: each character goes through the font's own cmap (skrifa, the
//! font reader krilla itself uses), and its advance width comes from the
//! font, which is also what right-aligns amounts and wraps long lines.
//! There is no shaping (no kerning or ligatures); for Latin, Greek and
//! Cyrillic text in a fixed layout none is needed. A character the font
//! lacks (Liberation Sans covers Latin, Greek and Cyrillic, not CJK or
//! emoji) draws as the empty .notdef glyph, and all such characters share
//! one /ToUnicode entry, so they do not read back as written.

use std::sync::LazyLock;

use krilla::Data;
use krilla::geom::Point;
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::TableProvider;
use skrifa::{FontRef, MetadataProvider};

use super::pdf::{PdfError, pdf_err};

/// Liberation Sans 2.1.5, SIL Open Font License 1.1 (assets/fonts/OFL.txt).
static REGULAR: &[u8] = include_bytes!("../../assets/fonts/LiberationSans-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/LiberationSans-Bold.ttf");

/// A4 in points.
pub(super) const PAGE_W: f32 = 595.0;
pub(super) const PAGE_H: f32 = 842.0;

/// One font: krilla's handle (what the page embeds) and skrifa's view of
/// the same bytes (cmap and advance widths).
struct Face {
    font: Font,
    face: FontRef<'static>,
    units_per_em: f32,
}

impl Face {
    fn load(bytes: &'static [u8]) -> Option<Self> {
        let face = FontRef::new(bytes).ok()?;
        let units_per_em = f32::from(face.head().ok()?.units_per_em().max(1));
        Some(Self {
            font: Font::new(Data::from(bytes), 0)?,
            face,
            units_per_em,
        })
    }

    /// `s` as glyphs at 1 point (advances in ems), and its width in ems.
    fn glyphs(&self, s: &str) -> (Vec<KrillaGlyph>, f32) {
        let cmap = self.face.charmap();
        let metrics = self
            .face
            .glyph_metrics(Size::unscaled(), LocationRef::default());
        let mut width = 0.0;
        let glyphs = s
            .char_indices()
            .map(|(i, c)| {
                let id = cmap.map(c).unwrap_or_default();
                let advance = metrics.advance_width(id).unwrap_or(0.0) / self.units_per_em;
                width += advance;
                KrillaGlyph {
                    glyph_id: GlyphId::new(id.to_u32()),
                    text_range: i..i + c.len_utf8(),
                    x_advance: advance,
                    x_offset: 0.0,
                    y_offset: 0.0,
                    y_advance: 0.0,
                    location: None,
                }
            })
            .collect();
        (glyphs, width)
    }
}

/// The two embedded fonts, parsed once per process (they never change;
/// each document embeds its own subset of them).
pub(super) struct Fonts {
    regular: Face,
    bold: Face,
}

static FONTS: LazyLock<Option<Fonts>> = LazyLock::new(|| {
    Some(Fonts {
        regular: Face::load(REGULAR)?,
        bold: Face::load(BOLD)?,
    })
});

/// The embedded fonts; an error only should they not parse (a bug).
pub(super) fn fonts() -> Result<&'static Fonts, PdfError> {
    FONTS
        .as_ref()
        .ok_or_else(|| pdf_err("the embedded fonts did not load"))
}

impl Fonts {
    fn face(&self, bold: bool) -> &Face {
        if bold { &self.bold } else { &self.regular }
    }

    /// The width of `s` in points at `size`.
    pub(super) fn width(&self, bold: bool, size: f32, s: &str) -> f32 {
        self.face(bold).glyphs(s).1 * size
    }
}

/// Text drawing on one page, top-left based (A4: 595 x 842 points; `y`
/// is the baseline).
pub(super) struct TextPage<'s, 'p> {
    pub(super) surface: &'s mut Surface<'p>,
    pub(super) fonts: &'static Fonts,
}

impl TextPage<'_, '_> {
    pub(super) fn text(&mut self, bold: bool, size: u8, x: u32, y: u32, s: &str) {
        #[expect(clippy::cast_precision_loss, reason = "page coordinates are < 1000")]
        self.draw(bold, size, x as f32, y as f32, s);
    }

    fn draw(&mut self, bold: bool, size: u8, x: f32, y: f32, s: &str) {
        let face = self.fonts.face(bold);
        let (glyphs, _) = face.glyphs(s);
        self.surface.draw_glyphs(
            Point::from_xy(x, y),
            &glyphs,
            face.font.clone(),
            s,
            f32::from(size),
            false,
        );
    }

    /// Right-aligned at `right`, measured with the font's own advance
    /// widths.
    pub(super) fn right(&mut self, bold: bool, size: u8, right: u32, y: u32, s: &str) {
        let width = self.fonts.width(bold, f32::from(size), s);
        #[expect(clippy::cast_precision_loss, reason = "page coordinates are < 1000")]
        self.draw(bold, size, right as f32 - width, y as f32, s);
    }
}
