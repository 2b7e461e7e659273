//! Money and VAT: integer euro cents, VAT rounded per line, invoice
//! numbers, and the amounts people type.
//!
//! Amounts never pass through floating point. VAT is computed per line
//! and rounded half away from zero to a whole cent (the common Dutch
//! practice; the Belastingdienst allows per line or per invoice, and per
//! line is what Stripe does too), so an invoice's VAT is the sum of its
//! lines' VAT.

use std::fmt;

/// A VAT rate this product invoices with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VatRate {
    /// 21%, the standard rate.
    Standard,
    /// 9%, the reduced rate.
    Reduced,
    /// 0%: zero-rated, or reverse-charged for an EU business customer.
    Zero,
}

impl VatRate {
    pub const ALL: [VatRate; 3] = [VatRate::Standard, VatRate::Reduced, VatRate::Zero];

    /// The rate in whole percent, as stored.
    pub const fn percent(self) -> i16 {
        match self {
            VatRate::Standard => 21,
            VatRate::Reduced => 9,
            VatRate::Zero => 0,
        }
    }

    /// The stored percentage back to a rate; anything else is refused.
    pub fn from_percent(p: i16) -> Option<Self> {
        VatRate::ALL.into_iter().find(|r| r.percent() == p)
    }
}

/// The VAT on one line of `net_cents` at `rate`, rounded half away from
/// zero to a whole cent. `None` on overflow (amounts far beyond any
/// invoice).
pub fn line_vat(net_cents: i64, rate: VatRate) -> Option<i64> {
    let product = net_cents.checked_mul(i64::from(rate.percent()))?;
    let whole = product / 100;
    let rest = product % 100;
    // Half away from zero: 10.5 -> 11, -10.5 -> -11.
    Some(if rest >= 50 {
        whole + 1
    } else if rest <= -50 {
        whole - 1
    } else {
        whole
    })
}

/// An invoice line's amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub net_cents: i64,
    pub vat_cents: i64,
}

/// Totals over lines, each line's VAT rounded on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub subtotal_cents: i64,
    pub vat_cents: i64,
    pub total_cents: i64,
}

/// Sums lines of (quantity, unit cents, rate); `None` on overflow.
pub fn totals(lines: &[(i32, i64, VatRate)]) -> Option<(Vec<LineAmounts>, Totals)> {
    let mut out = Vec::with_capacity(lines.len());
    let mut t = Totals::default();
    for &(qty, unit, rate) in lines {
        let net = unit.checked_mul(i64::from(qty))?;
        let vat = line_vat(net, rate)?;
        t.subtotal_cents = t.subtotal_cents.checked_add(net)?;
        t.vat_cents = t.vat_cents.checked_add(vat)?;
        out.push(LineAmounts {
            net_cents: net,
            vat_cents: vat,
        });
    }
    t.total_cents = t.subtotal_cents.checked_add(t.vat_cents)?;
    Some((out, t))
}

/// An invoice number, `2026-0001`: the year and a gapless sequence number
/// within the workspace and year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceNumber {
    pub year: i32,
    pub seq: i32,
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:04}", self.year, self.seq)
    }
}

/// Cents as a plain decimal, `1234.50` (no thousands separator): for
/// forms and CSV.
pub fn cents_plain(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Cents for people: `€ 1.234,50` in Dutch, `€1,234.50` in English.
pub fn cents_display(cents: i64, dutch: bool) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let euros = (abs / 100).to_string();
    let (group, decimal) = if dutch { ('.', ',') } else { (',', '.') };
    let mut grouped = String::new();
    for (i, c) in euros.chars().enumerate() {
        if i > 0 && (euros.len() - i).is_multiple_of(3) {
            grouped.push(group);
        }
        grouped.push(c);
    }
    let space = if dutch { " " } else { "" };
    format!("{sign}€{space}{grouped}{decimal}{:02}", abs % 100)
}

/// An amount typed in euros (`1250`, `1250.5`, `1.250,50`, `1250,00`) as
/// cents; `None` unless it is a positive amount with at most two
/// decimals and at most a billion euros.
pub fn parse_euros(raw: &str) -> Option<i64> {
    let s: String = raw
        .trim()
        .trim_start_matches('€')
        .trim()
        .chars()
        .filter(|c| *c != ' ')
        .collect();
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    // The last '.' or ',' followed by one or two digits is the decimal
    // mark; every other separator must group thousands.
    let (int_part, frac_part) = match s.rfind(['.', ',']) {
        Some(i) if s.len() - i - 1 <= 2 => (s.get(..i)?, s.get(i + 1..)?),
        _ => (s.as_str(), ""),
    };
    let digits: String = int_part
        .chars()
        .filter(|c| *c != '.' && *c != ',')
        .collect();
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || !frac_part.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    // Grouping separators must sit every three digits.
    if int_part.contains(['.', ',']) {
        let groups: Vec<&str> = int_part.split(['.', ',']).collect();
        let (first, rest) = groups.split_first()?;
        if first.is_empty() || first.len() > 3 || rest.iter().any(|g| g.len() != 3) {
            return None;
        }
    }
    let euros: i64 = digits.parse().ok()?;
    let cents: i64 = match frac_part.len() {
        0 => 0,
        1 => frac_part.parse::<i64>().ok()? * 10,
        _ => frac_part.parse().ok()?,
    };
    let total = euros.checked_mul(100)?.checked_add(cents)?;
    (1..=100_000_000_000).contains(&total).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_is_rounded_half_away_from_zero_per_line() {
        // (net cents, rate, expected VAT cents)
        for (net, rate, vat) in [
            (100_000, VatRate::Standard, 21_000),
            (1, VatRate::Standard, 0),   // 0.21
            (3, VatRate::Standard, 1),   // 0.63
            (50, VatRate::Standard, 11), // 10.5 -> 11
            (150, VatRate::Reduced, 14), // 13.5 -> 14
            (149, VatRate::Reduced, 13), // 13.41
            (-50, VatRate::Standard, -11),
            (99_999, VatRate::Reduced, 9_000), // 8999.91
            (12_345, VatRate::Zero, 0),
        ] {
            assert_eq!(line_vat(net, rate), Some(vat), "{net} at {rate:?}");
        }
        assert_eq!(line_vat(i64::MAX, VatRate::Standard), None);
    }

    #[test]
    fn an_invoices_vat_is_the_sum_of_its_rounded_lines() {
        // Two lines of 0.50 at 21%: 0.105 each rounds to 0.11, so 0.22,
        // where rounding the total (1.00 at 21%) would give 0.21.
        let (lines, t) = totals(&[(1, 50, VatRate::Standard), (1, 50, VatRate::Standard)]).unwrap();
        assert_eq!(lines[0].vat_cents, 11);
        assert_eq!(t.vat_cents, 22);
        assert_eq!(t.subtotal_cents, 100);
        assert_eq!(t.total_cents, 122);
        // Mixed rates and quantities.
        let (_, t) =
            totals(&[(3, 1_999, VatRate::Standard), (2, 1_050, VatRate::Reduced)]).unwrap();
        // 59.97 * 21% = 12.5937 -> 12.59; 21.00 * 9% = 1.89
        assert_eq!(
            t,
            Totals {
                subtotal_cents: 8_097,
                vat_cents: 1_448,
                total_cents: 9_545
            }
        );
    }

    #[test]
    fn numbers_are_year_dash_four_digits() {
        assert_eq!(
            InvoiceNumber { year: 2026, seq: 1 }.to_string(),
            "2026-0001"
        );
        assert_eq!(
            InvoiceNumber {
                year: 2027,
                seq: 1234
            }
            .to_string(),
            "2027-1234"
        );
    }

    #[test]
    fn amounts_display_per_language() {
        assert_eq!(cents_display(123_450, true), "€ 1.234,50");
        assert_eq!(cents_display(123_450, false), "€1,234.50");
        assert_eq!(cents_display(5, false), "€0.05");
        assert_eq!(cents_display(100_000_000, true), "€ 1.000.000,00");
        assert_eq!(cents_plain(123_405), "1234.05");
    }

    #[test]
    fn typed_amounts_parse_in_either_notation() {
        for (raw, cents) in [
            ("1250", 125_000),
            ("1250.5", 125_050),
            ("1250,50", 125_050),
            ("1.250,50", 125_050),
            ("1,250.50", 125_050),
            ("€ 2.000", 200_000),
            ("0,01", 1),
        ] {
            assert_eq!(parse_euros(raw), Some(cents), "{raw}");
        }
        for raw in [
            "",
            "abc",
            "-5",
            "0",
            "1.2.3",
            "12,3456",
            "1e5",
            "12.345.6789",
            "€",
        ] {
            assert_eq!(parse_euros(raw), None, "{raw}");
        }
    }
}
