//! Reads a PDF's text back (issues 16 and 17): the invoice and erasure
//! receipt tests parse a rendered PDF with this and look for names and
//! totals in it.
//!
//! With an embedded TrueType font in Identity-H encoding, a content
//! stream shows glyph ids, not characters; each font's /ToUnicode CMap
//! maps them back. This reads exactly what our writer (krilla) produces:
//! bfchar/bfrange CMaps, two-byte codes; a simple font without a map is
//! read as Latin-1. It goes through lopdf, and only tests build it: the
//! module and lopdf sit behind metiva-db's `test-support` feature, which
//! the server's tests switch on, so the release binary carries no PDF
//! parser. It is no general PDF text extractor (no positions, no other
//! encodings) and never panics on a damaged file: it answers an error
//! (and a page's content is inflated to at most [`MAX_CONTENT`] bytes).

use std::collections::HashMap;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};

/// The most a page's content streams may inflate to (16 MB; an invoice's
/// is a few KB).
pub const MAX_CONTENT: usize = 16 * 1024 * 1024;

/// Why a PDF's text could not be read.
#[derive(Debug, thiserror::Error)]
#[error("unreadable PDF: {0}")]
pub struct PdfTextError(String);

fn err(e: impl std::fmt::Display) -> PdfTextError {
    PdfTextError(e.to_string())
}

/// Every string a text-showing operator (`Tj`, `TJ`, `'`, `"`) draws,
/// page by page in content order, decoded to Unicode; a code the font's
/// CMap does not map comes back as U+FFFD.
pub fn text_runs(pdf: &[u8]) -> Result<Vec<String>, PdfTextError> {
    let doc = Document::load_mem(pdf).map_err(err)?;
    let mut out = Vec::new();
    for page in doc.get_pages().into_values() {
        let mut maps: HashMap<Vec<u8>, Option<HashMap<u32, String>>> = HashMap::new();
        for (name, font) in page_fonts(&doc, page) {
            maps.insert(name.to_vec(), to_unicode(&doc, font));
        }
        let content = doc
            .get_page_content_with_limit(page, MAX_CONTENT)
            .map_err(err)?;
        let ops = Content::decode(&content).map_err(err)?.operations;
        let mut current: Option<&Option<HashMap<u32, String>>> = None;
        for op in &ops {
            match op.operator.as_str() {
                "Tf" => {
                    current = op
                        .operands
                        .first()
                        .and_then(|o| o.as_name().ok())
                        .and_then(|n| maps.get(n));
                }
                "Tj" | "'" | "\"" | "TJ" => {
                    let mut run = String::new();
                    for operand in &op.operands {
                        let strings: Vec<&[u8]> = match operand {
                            Object::Array(items) => {
                                items.iter().filter_map(|i| i.as_str().ok()).collect()
                            }
                            other => other.as_str().ok().into_iter().collect(),
                        };
                        for s in strings {
                            run.push_str(&decode(s, current.and_then(Option::as_ref)));
                        }
                    }
                    out.push(run);
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// The page's fonts by resource name, following references (/Resources
/// and /Font may be indirect objects).
fn page_fonts(doc: &Document, page: ObjectId) -> Vec<(&[u8], &Dictionary)> {
    let fonts = doc
        .get_dictionary(page)
        .ok()
        .and_then(|p| p.get(b"Resources").ok())
        .and_then(|o| deref_dict(doc, o))
        .and_then(|r| r.get(b"Font").ok())
        .and_then(|o| deref_dict(doc, o));
    fonts
        .map(|f| {
            f.iter()
                .filter_map(|(name, o)| Some((name.as_slice(), deref_dict(doc, o)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// The (width, height) in pixels of every image a page draws (an image
/// XObject in its resources that a `Do` operator in its content paints).
pub fn drawn_images(pdf: &[u8]) -> Result<Vec<(i64, i64)>, PdfTextError> {
    let doc = Document::load_mem(pdf).map_err(err)?;
    let mut out = Vec::new();
    for page in doc.get_pages().into_values() {
        let content = doc
            .get_page_content_with_limit(page, MAX_CONTENT)
            .map_err(err)?;
        let ops = Content::decode(&content).map_err(err)?.operations;
        let xobjects = doc
            .get_dictionary(page)
            .ok()
            .and_then(|p| p.get(b"Resources").ok())
            .and_then(|o| deref_dict(&doc, o))
            .and_then(|r| r.get(b"XObject").ok())
            .and_then(|o| deref_dict(&doc, o));
        let Some(xobjects) = xobjects else { continue };
        for op in ops.iter().filter(|op| op.operator == "Do") {
            let Some(name) = op.operands.first().and_then(|o| o.as_name().ok()) else {
                continue;
            };
            let image = xobjects
                .get(name)
                .ok()
                .and_then(|o| doc.dereference(o).ok())
                .and_then(|(_, o)| o.as_stream().ok())
                .filter(|s| {
                    s.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image")
                });
            if let Some(s) = image {
                let dim = |k: &[u8]| s.dict.get(k).and_then(Object::as_i64).unwrap_or(0);
                out.push((dim(b"Width"), dim(b"Height")));
            }
        }
    }
    Ok(out)
}

fn deref_dict<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Dictionary> {
    doc.dereference(o).ok().and_then(|(_, o)| o.as_dict().ok())
}

/// Whether the file embeds a TrueType font program (a font descriptor
/// with a /FontFile2 stream).
pub fn embeds_truetype_font(pdf: &[u8]) -> Result<bool, PdfTextError> {
    let doc = Document::load_mem(pdf).map_err(err)?;
    Ok(doc.objects.values().any(|o| {
        o.as_dict()
            .is_ok_and(|d| d.get(b"FontFile2").and_then(Object::as_reference).is_ok())
    }))
}

/// A string's bytes through the font's map (two-byte codes), or as
/// Latin-1 for a simple font without one.
fn decode(s: &[u8], map: Option<&HashMap<u32, String>>) -> String {
    match map {
        Some(map) => s
            .chunks(2)
            .map(|c| {
                let code = c.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b));
                map.get(&code)
                    .map_or("\u{fffd}", String::as_str)
                    .to_string()
            })
            .collect(),
        None => s.iter().map(|b| char::from(*b)).collect(),
    }
}

/// The font's /ToUnicode CMap as code -> text; None without one.
fn to_unicode(doc: &Document, font: &Dictionary) -> Option<HashMap<u32, String>> {
    let (_, obj) = doc.dereference(font.get(b"ToUnicode").ok()?).ok()?;
    let stream = obj.as_stream().ok()?;
    let data = stream
        .decompressed_content()
        .unwrap_or_else(|_| stream.content.clone());
    Some(parse_cmap(&String::from_utf8_lossy(&data)))
}

/// The bfchar and bfrange entries of a CMap.
fn parse_cmap(cmap: &str) -> HashMap<u32, String> {
    let mut map = HashMap::new();
    let mut section = "";
    for line in cmap.lines().map(str::trim) {
        if line.ends_with("beginbfchar") {
            section = "char";
            continue;
        }
        if line.ends_with("beginbfrange") {
            section = "range";
            continue;
        }
        if line.starts_with("end") {
            section = "";
            continue;
        }
        let hex: Vec<&str> = line
            .split(['<', '>'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        match (section, hex.as_slice()) {
            ("char", [code, text]) => {
                if let (Some(c), Some(t)) = (number(code), utf16(text)) {
                    map.insert(c, t);
                }
            }
            ("range", [lo, hi, first]) => {
                if let (Some(lo), Some(hi), Some(first)) = (number(lo), number(hi), number(first)) {
                    for (i, code) in (lo..=hi.min(lo.saturating_add(0xFFFF))).enumerate() {
                        let t = u32::try_from(i)
                            .ok()
                            .and_then(|i| char::from_u32(first + i));
                        if let Some(t) = t {
                            map.insert(code, t.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    map
}

fn number(hex: &str) -> Option<u32> {
    u32::from_str_radix(hex, 16).ok()
}

/// A CMap destination: UTF-16BE in hex.
fn utf16(hex: &str) -> Option<String> {
    let units: Vec<u16> = hex
        .as_bytes()
        .chunks(4)
        .map(|c| {
            std::str::from_utf8(c)
                .ok()
                .and_then(|c| u16::from_str_radix(c, 16).ok())
        })
        .collect::<Option<_>>()?;
    Some(
        char::decode_utf16(units)
            .map(|c| c.unwrap_or('\u{fffd}'))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmaps_map_chars_and_ranges_and_garbage_is_an_error() {
        let map = parse_cmap(
            "2 beginbfchar\n<0001> <0141>\n<0002> <20ac>\nendbfchar\n\
             1 beginbfrange\n<0010> <0012> <0061>\nendbfrange\n",
        );
        assert_eq!(
            decode(&[0, 1, 0, 2, 0, 0x11, 0, 9], Some(&map)),
            "Ł€b\u{fffd}"
        );
        assert_eq!(decode(b"Caf\xe9", None), "Café");
        assert!(text_runs(b"%PDF-1.4\nnot a pdf").is_err());
        assert!(embeds_truetype_font(b"").is_err());
    }
}
