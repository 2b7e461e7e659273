//! Reading the dataset's CSV lines (`start,end,asn,organisation`, the
//! addresses as decimal integers) into ranges, with errors that name the
//! line and what is wrong with it.

use std::borrow::Cow;
use std::fmt;

use super::org_table::OrgTable;
use crate::csv::split_record;
use crate::error::GeoError;

/// Parses every non-blank line of `text` (one file of the dataset) into
/// `(start, end, organisation index)`, interning organisations in `orgs`.
pub(super) fn parse_ranges<T>(
    text: &str,
    file: Option<String>,
    family: &str,
    orgs: &mut OrgTable,
) -> Result<Vec<(T, T, u32)>, GeoError>
where
    T: Number,
{
    let mut ranges = Vec::with_capacity(text.len() / 48);
    for (i, raw) in text.lines().enumerate() {
        let line = if i == 0 {
            raw.strip_prefix('\u{feff}').unwrap_or(raw)
        } else {
            raw
        };
        if line.trim().is_empty() {
            continue;
        }
        let range = parse_line::<T>(line, family, orgs).map_err(|message| GeoError::Line {
            file: file.clone(),
            line: i + 1,
            message,
        })?;
        ranges.push(range);
    }
    Ok(ranges)
}

fn parse_line<T>(line: &str, family: &str, orgs: &mut OrgTable) -> Result<(T, T, u32), String>
where
    T: Number,
{
    const FIELDS: &str = "start,end,asn,organisation";
    let fields = next_field(line).and_then(|(start, rest)| {
        let (end, rest) = next_field(rest)?;
        let (asn, rest) = next_field(rest)?;
        Some((start, end, asn, rest))
    });
    let Some((start, end, asn, rest)) = fields else {
        return Err(format!("expected 4 fields ({FIELDS})"));
    };
    let start: T = parse_number(start, "start", family)?;
    let end: T = parse_number(end, "end", family)?;
    let asn: u32 = parse_number(asn, "asn", "an ASN")?;
    if start > end {
        return Err(format!("start {start} is greater than end {end}"));
    }
    let name = if rest.contains(['"', ',']) {
        let mut fields = split_record(rest, ',')?;
        match (fields.pop(), fields.is_empty()) {
            (Some(name), true) => name,
            _ => {
                return Err(format!(
                    "expected 4 fields ({FIELDS}) but found {}; an organisation containing a comma must be quoted",
                    fields.len() + 4
                ));
            }
        }
    } else {
        Cow::Borrowed(rest)
    };
    let name = name.trim();
    let org = if name.is_empty() {
        orgs.intern(asn, &format!("AS{asn}"))
    } else {
        orgs.intern(asn, name)
    };
    let org = org.ok_or_else(|| "too many distinct organisations".to_owned())?;
    Ok((start, end, org))
}

/// The text up to the first comma, and the text after it.
fn next_field(text: &str) -> Option<(&str, &str)> {
    let comma = text.bytes().position(|b| b == b',')?;
    Some((text.get(..comma)?, text.get(comma + 1..)?))
}

/// An unsigned integer type the dataset's numbers are parsed into.
pub(super) trait Number: Copy + Ord + fmt::Display {
    const ZERO: Self;
    /// `self * 10 + digit`, or `None` on overflow.
    fn push_digit(self, digit: u8) -> Option<Self>;
}

impl Number for u32 {
    const ZERO: Self = 0;
    fn push_digit(self, digit: u8) -> Option<Self> {
        self.checked_mul(10)?.checked_add(u32::from(digit))
    }
}

impl Number for u128 {
    const ZERO: Self = 0;
    fn push_digit(self, digit: u8) -> Option<Self> {
        self.checked_mul(10)?.checked_add(u128::from(digit))
    }
}

/// Parses a non-negative decimal integer (ASCII digits only, no sign).
fn parse_number<T: Number>(field: &str, what: &str, family: &str) -> Result<T, String> {
    let digits = field.trim();
    if digits.is_empty() {
        return Err(format!("{what} \"\" is not a decimal number"));
    }
    let mut value = Some(T::ZERO);
    for byte in digits.bytes() {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return Err(format!(
                "{what} {:?} is not a decimal number",
                crate::known::shorten(digits)
            ));
        }
        value = value.and_then(|v| v.push_digit(digit));
    }
    value.ok_or_else(|| {
        format!(
            "{what} {} is out of range for {family}",
            crate::known::shorten(digits)
        )
    })
}
