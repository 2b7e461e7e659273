//! A plain text PDF: the erasure receipt's document ([`render_lines`]),
//! written with krilla in the same embedded Liberation Sans as the
//! invoice (`pdf_page.rs`).
//!
//! Until issue 16 this was a hand-written PDF in the standard Helvetica
//! fonts in WinAnsiEncoding, where any character outside WinAnsi printed
//! as `?`: a receipt's note with a Polish or Czech word ("Łódź",
//! "Dvořák") did not print as written. With an embedded subset font and a
//! /ToUnicode map every character prints and reads back as written, and
//! the receipt no longer has a writer of its own to keep correct.

use krilla::Document;

use super::pdf::{PdfError, a4, pdf_err};
use super::pdf_page::{Fonts, TextPage, fonts};

/// One line of a plain document ([`render_lines`]): bold or not, its
/// font size, and the text (any Unicode the embedded font covers).
#[derive(Debug, Clone, Copy)]
pub struct TextLine<'a> {
    pub bold: bool,
    pub size: u8,
    pub text: &'a str,
}

/// The text column: 50 points in from either side of A4.
const LEFT: u32 = 50;
const WIDTH: f32 = 495.0;
const TOP: u32 = 60;
const BOTTOM: u32 = 800;

/// One line placed on a page: bold, size, baseline, text.
type Placed = (bool, u8, u32, String);

/// Renders lines top to bottom on as many A4 pages as they need (the
/// erasure receipt's PDF). Long lines are wrapped at spaces to the text
/// column, measured with the font's advance widths. An error only should
/// the embedded fonts not load or krilla refuse the document (a bug,
/// never the text).
pub fn render_lines(lines: &[TextLine<'_>]) -> Result<Vec<u8>, PdfError> {
    let fonts = fonts()?;
    let mut pages: Vec<Vec<Placed>> = vec![Vec::new()];
    let mut y = TOP;
    for l in lines {
        let size = l.size.max(6);
        let step = u32::from(size) + u32::from(size) / 2;
        let fits = |s: &str| fonts.width(l.bold, f32::from(size), s) <= WIDTH;
        for part in wrap(l.text, fits) {
            if y + step > BOTTOM {
                pages.push(Vec::new());
                y = TOP;
            }
            if let Some(page) = pages.last_mut() {
                page.push((l.bold, size, y, part));
            }
            y += step;
        }
    }
    document(fonts, &pages)
}

fn document(fonts: &'static Fonts, pages: &[Vec<Placed>]) -> Result<Vec<u8>, PdfError> {
    let mut doc = Document::new();
    for placed in pages {
        let mut pdf_page = doc.start_page_with(a4()?);
        let mut surface = pdf_page.surface();
        let mut page = TextPage {
            surface: &mut surface,
            fonts,
        };
        for (bold, size, y, text) in placed {
            page.text(*bold, *size, LEFT, *y, text);
        }
        surface.finish();
        pdf_page.finish();
    }
    doc.finish().map_err(|e| pdf_err(format!("{e:?}")))
}

/// `s` cut at spaces into lines that `fits` (a word too long for a line
/// of its own is cut where it must be); an empty line stays one empty
/// line.
fn wrap(s: &str, fits: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in s.split(' ') {
        let mut word = word.to_string();
        while !fits(&word) {
            // The longest head that fits, at least one character.
            let chars: Vec<char> = word.chars().collect();
            let mut n = chars.len().saturating_sub(1).max(1);
            while n > 1 && !fits(&chars.iter().take(n).collect::<String>()) {
                n -= 1;
            }
            let head: String = chars.iter().take(n).collect();
            word = chars.iter().skip(n).collect();
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            out.push(head);
            if word.is_empty() {
                break;
            }
        }
        if !line.is_empty() && !fits(&format!("{line} {word}")) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::pdf_text::text_runs;

    fn line(bold: bool, size: u8, text: &str) -> TextLine<'_> {
        TextLine { bold, size, text }
    }

    #[test]
    fn plain_lines_wrap_to_the_column() {
        let long = vec!["word"; 120].join(" ");
        let lines = [
            line(true, 16, "Erasure receipt (1)"),
            line(false, 10, &long),
        ];
        let runs = text_runs(&render_lines(&lines).unwrap()).unwrap();
        assert_eq!(
            runs.first().map(String::as_str),
            Some("Erasure receipt (1)")
        );
        // Every word drawn, on more than one line, none wider than the
        // column.
        let words: Vec<&String> = runs.iter().skip(1).collect();
        assert!(words.len() > 1, "{runs:?}");
        assert_eq!(
            words.iter().map(|r| r.split(' ').count()).sum::<usize>(),
            120
        );
        let fonts = fonts().unwrap();
        assert!(words.iter().all(|r| fonts.width(false, 10.0, r) <= WIDTH));
    }

    #[test]
    fn wrap_cuts_at_spaces_and_long_words_where_it_must() {
        let five = |s: &str| s.chars().count() <= 5;
        assert_eq!(wrap("", five), vec![String::new()]);
        assert_eq!(
            wrap("abcdefghijkl xy", five),
            vec!["abcde", "fghij", "kl xy"]
        );
        assert_eq!(wrap("ab cd ef", five), vec!["ab cd", "ef"]);
        // Nothing fits: one character a line, and it ends.
        assert_eq!(wrap("abc", |_| false), vec!["a", "b", "c", ""]);
    }

    #[test]
    fn many_lines_flow_onto_more_pages() {
        let texts: Vec<String> = (0..120).map(|i| format!("line {i}")).collect();
        let lines: Vec<TextLine<'_>> = texts.iter().map(|t| line(false, 10, t)).collect();
        let pdf = render_lines(&lines).unwrap();
        let runs = text_runs(&pdf).unwrap();
        assert_eq!(runs, texts);
        // 740 points a page at 15 a line: 49 lines a page, three pages.
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        assert_eq!(doc.get_pages().len(), 3);
    }

    /// The name that printed as "Zo\u{eb} ?ukasiewicz-Dvo?\u{e1}k" with
    /// the old WinAnsi writer.
    #[test]
    fn a_name_outside_winansi_reads_back_as_written() {
        let name = "Zoë Łukasiewicz-Dvořák";
        let note = format!("Note: request from {name} – €0,00");
        let lines = [
            line(true, 14, "Metiva erasure receipt"),
            line(false, 10, &note),
        ];
        let pdf = render_lines(&lines).unwrap();
        let runs = text_runs(&pdf).unwrap();
        assert_eq!(runs, ["Metiva erasure receipt".to_string(), note.clone(),]);
        assert!(crate::billing::pdf_text::embeds_truetype_font(&pdf).unwrap());
        assert!(!String::from_utf8_lossy(&pdf).contains("/Helvetica"));
    }

    /// Render time and size, printed (not asserted): `cargo nextest run
    /// -p metiva-db --lib plain_pdf::tests::render_figures --no-capture`.
    #[test]
    fn render_figures() {
        let texts = [
            "Metiva erasure receipt 0b5e2f4e-5c1a-4d0e-9a43-2f0c8b7d6a11",
            "Erased at: 2026-12-07 14:00:00 UTC",
            "By member: 3f1c2a9e-1111-4222-8333-944455556666",
            "Subject: person",
            "Reason: subject_request",
            "Consent decisions kept under: 9a0b1c2d3e4f",
            "",
            "persons: 1 erased, 0 kept",
            "notes: 2 erased, 0 kept",
            "tasks: 0 erased, 0 kept",
            "deals: 0 erased, 1 kept (invoice retention, 7 years)",
            "",
            "Staged CSV imports belong to the member who uploaded them and expire within an hour; one still staged that mentions the subject's email is counted under crm_imports.",
        ];
        let lines: Vec<TextLine<'_>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| line(i == 0, if i == 0 { 14 } else { 10 }, t))
            .collect();
        let start = std::time::Instant::now();
        let mut size = 0;
        for _ in 0..100 {
            size = render_lines(&lines).unwrap().len();
        }
        println!(
            "receipt pdf: {:.3} ms per render (100 renders), {size} bytes",
            start.elapsed().as_secs_f64() * 10.0
        );
    }
}
