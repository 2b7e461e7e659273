//! CSV exports: every field quoted, CRLF line ends, and the formula guard.

use std::borrow::Cow;

/// A field that a spreadsheet would run as a formula (a leading `= + - @`,
/// tab or CR) gets a leading apostrophe, so it shows as text.
///
/// # Security
/// Audit fields hold names and targets other users typed: without this an
/// export opened in a spreadsheet could run their formula (CSV injection).
pub fn formula_guard(s: &str) -> Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// `header`, then each record as CSV: every field quoted (quotes doubled)
/// after [`formula_guard`], CRLF line ends.
pub fn write_csv<R, F>(header: &str, records: R) -> Result<Vec<u8>, csv::Error>
where
    R: IntoIterator,
    R::Item: IntoIterator<Item = F>,
    F: AsRef<str>,
{
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::CRLF)
        .from_writer(header.as_bytes().to_vec());
    for record in records {
        w.write_record(
            record
                .into_iter()
                .map(|f| formula_guard(f.as_ref()).into_owned()),
        )?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
