//! An uploaded CSV file: its limits, its text and its rows, each with the
//! line of the file it starts on (the header is line 1), as a user finds
//! it in a spreadsheet or an editor.
//!
//! Spreadsheets write CSV in more than one way: Excel in a Dutch locale
//! separates fields with `;` (the comma is the decimal separator) and may
//! put a UTF-8 byte-order mark in front. Both are accepted; the separator
//! is read from the header line.

use super::super::validate::FieldError;

/// The largest file accepted, in bytes (5 MB).
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;
/// The most data lines (records after the header) accepted.
pub const MAX_LINES: usize = 20_000;
/// The most columns a header may have.
pub const MAX_COLUMNS: usize = 50;

const BOM: &str = "\u{feff}";

fn file_error(code: &'static str) -> FieldError {
    FieldError {
        field: "file",
        code,
    }
}

/// The uploaded bytes as text. A UTF-8 byte-order mark is dropped; more
/// than [`MAX_FILE_BYTES`] is `file.too_large`; anything but UTF-8 text
/// (a NUL byte included: no text file holds one, and PostgreSQL text
/// cannot) is `file.encoding`; nothing but blanks is `file.empty`.
pub fn decode(bytes: &[u8]) -> Result<&str, FieldError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(file_error("file.too_large"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| file_error("file.encoding"))?;
    let text = text.strip_prefix(BOM).unwrap_or(text);
    if text.contains('\0') {
        return Err(file_error("file.encoding"));
    }
    if text.trim().is_empty() {
        return Err(file_error("file.empty"));
    }
    Ok(text)
}

/// One data line: where it starts in the file, and its cells, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

impl Row {
    /// The cell of column `i`, if the line has one and it is not blank.
    pub fn cell(&self, i: usize) -> Option<&str> {
        self.cells
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// A parsed file: the separator, the header and the data lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub delimiter: u8,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

/// The separator of the header line: `;`, a tab or `,`, whichever occurs
/// most outside quotes (a comma on a tie).
fn sniff(text: &str) -> u8 {
    let (mut commas, mut semicolons, mut tabs, mut quoted) = (0, 0, 0, false);
    for ch in text.chars() {
        match ch {
            '"' => quoted = !quoted,
            '\n' if !quoted => break,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semicolons += 1,
            '\t' if !quoted => tabs += 1,
            _ => {}
        }
    }
    if semicolons > commas && semicolons >= tabs {
        b';'
    } else if tabs > commas && tabs > semicolons {
        b'\t'
    } else {
        b','
    }
}

/// Line numbers of records, counted from their byte offsets: the
/// reader's own line count lags behind after a skipped blank line (it
/// reports a record's start before the line breaks in front of it).
struct LineCounter<'t> {
    text: &'t [u8],
    offset: usize,
    line: u64,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// The line of the record the reader says starts at `byte` (at or
    /// after the previous one's): line breaks in front of it are skipped,
    /// as no record starts with one.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).max(self.offset);
        while self.text.get(start) == Some(&b'\n') {
            start += 1;
        }
        let breaks = self
            .text
            .get(self.offset..start)
            .map_or(0, |s| s.iter().filter(|b| **b == b'\n').count());
        self.line += breaks as u64;
        self.offset = start;
        self.line
    }
}

/// Reads the text (see [`decode`]) as CSV. Lines whose every cell is
/// blank are skipped (spreadsheets write them below the data). More than
/// [`MAX_LINES`] data lines is `file.too_many_lines`; a header with more
/// than [`MAX_COLUMNS`] columns is `file.columns`; no data line at all is
/// `file.empty`.
pub fn parse(text: &str) -> Result<Table, FieldError> {
    // One line ending: the reader counts lines by `\n` and would number
    // a line after `\r\n` as the one before it (and a file of lone `\r`
    // as one line). Inside a quoted cell this only unifies line breaks.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let delimiter = sniff(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut lines = LineCounter::new(&text);
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|_| file_error("file.format"))?;
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        if header.is_none() {
            if cells.len() > MAX_COLUMNS {
                return Err(file_error("file.columns"));
            }
            header = Some(cells);
            continue;
        }
        if rows.len() == MAX_LINES {
            return Err(file_error("file.too_many_lines"));
        }
        rows.push(Row {
            line: lines.line_at(record.position().map_or(0, csv::Position::byte)),
            cells,
        });
    }
    match header {
        Some(header) if !rows.is_empty() => Ok(Table {
            delimiter,
            header,
            rows,
        }),
        _ => Err(file_error("file.empty")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_dropped_and_other_encodings_refused() {
        assert_eq!(decode(b"\xEF\xBB\xBFnaam\nAnouk\n"), Ok("naam\nAnouk\n"));
        // "Ren\xe9" in Latin-1: not UTF-8.
        assert_eq!(
            decode(b"naam\nRen\xe9\n").unwrap_err().code,
            "file.encoding"
        );
        assert_eq!(decode(b"naam\n\0\n").unwrap_err().code, "file.encoding");
        assert_eq!(decode(b" \r\n ").unwrap_err().code, "file.empty");
        let big = vec![b'a'; MAX_FILE_BYTES + 1];
        assert_eq!(decode(&big).unwrap_err().code, "file.too_large");
        assert!(decode(&big[..MAX_FILE_BYTES]).is_ok());
    }

    #[test]
    fn semicolons_commas_and_tabs_are_sniffed_from_the_header() {
        assert_eq!(sniff("naam;e-mail;telefoon\nA, B;x;y"), b';');
        assert_eq!(sniff("name,email\nA;B,x"), b',');
        assert_eq!(sniff("name\temail\n"), b'\t');
        // A separator inside quotes does not count.
        assert_eq!(sniff("\"a;b;c\",d\n"), b',');
        assert_eq!(sniff("name\n"), b',');
    }

    #[test]
    fn rows_carry_the_line_they_start_on() {
        let t = parse("naam;notities\r\nAnouk;\"twee\r\nregels\"\r\n;\r\n\r\nBram ; kort \r\n")
            .unwrap();
        assert_eq!(t.delimiter, b';');
        assert_eq!(t.header, ["naam", "notities"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            (t.rows[0].line, t.rows[0].cell(1)),
            (2, Some("twee\nregels"))
        );
        // The blank line and the line of empty cells are skipped, and the
        // next line keeps its own number.
        assert_eq!((t.rows[1].line, t.rows[1].cell(0)), (6, Some("Bram")));
        assert_eq!(t.rows[1].cell(1), Some("kort"));
        assert_eq!(t.rows[1].cell(7), None);
        // The same with lone carriage returns, and with plain line feeds.
        for text in ["naam\rA\r\rB\r", "naam\nA\n\nB"] {
            let lines: Vec<u64> = parse(text).unwrap().rows.iter().map(|r| r.line).collect();
            assert_eq!(lines, [2, 4], "{text:?}");
        }
    }

    #[test]
    fn limits_are_refused_by_name() {
        let mut ok = String::from("name\n");
        for i in 0..MAX_LINES {
            ok.push_str(&format!("P{i}\n"));
        }
        assert_eq!(parse(&ok).unwrap().rows.len(), MAX_LINES);
        ok.push_str("one too many\n");
        assert_eq!(parse(&ok).unwrap_err().code, "file.too_many_lines");
        assert_eq!(parse("name\n").unwrap_err().code, "file.empty");
        let wide = vec!["c"; MAX_COLUMNS + 1].join(",") + "\nx\n";
        assert_eq!(parse(&wide).unwrap_err().code, "file.columns");
    }
}
