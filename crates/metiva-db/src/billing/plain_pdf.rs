//! A plain text PDF, written by hand (PDF 1.4, uncompressed content
//! streams, the standard Helvetica fonts in WinAnsiEncoding): the erasure
//! receipt's document ([`render_lines`]). Characters outside WinAnsi print
//! as `?`. Moved here unchanged from `pdf.rs` when the invoice moved to
//! printpdf with an embedded font (issue 17); the receipt's own tests
//! check this file's bytes, so it keeps its writer until the receipt is
//! migrated too.

use std::fmt::Write as _;

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

/// The file around the pages' content streams: catalog, pages, each page
/// and its content, two fonts, the cross-reference table and the trailer.
/// With one page the objects are numbered page 3, content 4, fonts 5
/// and 6.
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
