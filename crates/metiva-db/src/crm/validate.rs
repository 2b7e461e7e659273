//! Field validation for the CRM forms, before any SQL. Each failure names
//! its field and a stable code the UI words in the user's language; the
//! database's CHECK constraints hold the same rules as the last line.

use std::fmt;

/// One field that failed, and why (a stable code, e.g. `kvk.format`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.code)
    }
}

/// Collects field errors while a form is checked.
#[derive(Debug, Default)]
pub struct Check(Vec<FieldError>);

impl Check {
    pub fn fail(&mut self, field: &'static str, code: &'static str) {
        self.0.push(FieldError { field, code });
    }

    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

/// The longest note, in characters.
pub const MAX_NOTES: usize = 10_000;

/// Trims; an empty string is absent.
pub fn optional(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A required name of 1..=200 characters.
pub fn name(c: &mut Check, field: &'static str, raw: &str) -> String {
    let v = raw.trim();
    if v.is_empty() {
        c.fail(field, "required");
    } else if v.chars().count() > 200 {
        c.fail(field, "too_long");
    }
    v.to_string()
}

/// Free text of at most `max` characters.
pub fn text(c: &mut Check, field: &'static str, raw: Option<&str>, max: usize) -> Option<String> {
    let v = optional(raw)?;
    if v.chars().count() > max {
        c.fail(field, "too_long");
    }
    Some(v)
}

/// A KvK (Kamer van Koophandel) number: exactly eight digits; spaces and
/// dots people type are ignored.
pub fn kvk(c: &mut Check, raw: Option<&str>) -> Option<String> {
    let v: String = optional(raw)?
        .chars()
        .filter(|ch| !matches!(ch, ' ' | '.'))
        .collect();
    if v.len() != 8 || !v.bytes().all(|b| b.is_ascii_digit()) {
        c.fail("kvk", "kvk.format");
    }
    Some(v)
}

/// A Dutch VAT number (btw-id): `NL`, nine digits, `B`, two digits.
/// Upper-cased; spaces and dots ignored.
pub fn vat(c: &mut Check, raw: Option<&str>) -> Option<String> {
    let v: String = optional(raw)?
        .chars()
        .filter(|ch| !matches!(ch, ' ' | '.'))
        .collect::<String>()
        .to_ascii_uppercase();
    let b = v.as_bytes();
    let ok = b.len() == 14
        && b.starts_with(b"NL")
        && b.get(2..11)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        && b.get(11) == Some(&b'B')
        && b.get(12..14)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if !ok {
        c.fail("vat", "vat.format");
    }
    Some(v)
}

/// A website's bare host name, lower-cased: a scheme, `www.`, a path or a
/// port typed with it are dropped.
pub fn domain(c: &mut Check, raw: Option<&str>) -> Option<String> {
    let v = optional(raw)?.to_ascii_lowercase();
    let v = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .unwrap_or(&v);
    let host = v.split(['/', '?', '#', ':']).next().unwrap_or("");
    let host = host.strip_prefix("www.").unwrap_or(host).to_string();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let labels: Vec<&str> = host.split('.').collect();
    if host.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
        c.fail("domain", "domain.format");
    }
    Some(host)
}

/// An email address, lower-cased: one `@`, something before it and a dot
/// in the domain after it; at most 254 characters.
pub fn email(c: &mut Check, raw: Option<&str>) -> Option<String> {
    let v = optional(raw)?.to_lowercase();
    let ok = v.len() <= 254
        && v.split_once('@').is_some_and(|(local, host)| {
            !local.is_empty()
                && !host.contains('@')
                && host.contains('.')
                && !host.starts_with('.')
                && !host.ends_with('.')
                && !v.chars().any(char::is_whitespace)
        });
    if !ok {
        c.fail("email", "email.format");
    }
    Some(v)
}

/// A phone number in E.164 (`+31612345678`). Dutch numbers are accepted in
/// their local form (`06 1234 5678`, `020-123 4567`, `0031 …`) and
/// normalised; spaces, dashes, dots and brackets are ignored.
pub fn phone(c: &mut Check, raw: Option<&str>) -> Option<String> {
    let v = optional(raw)?;
    let compact: String = v
        .chars()
        .filter(|ch| !matches!(ch, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let e164 = if let Some(rest) = compact.strip_prefix('+') {
        Some(format!("+{rest}"))
    } else if let Some(rest) = compact.strip_prefix("00") {
        Some(format!("+{rest}"))
    } else if let Some(rest) = compact.strip_prefix('0') {
        // A Dutch national number: 0 plus nine digits.
        (rest.len() == 9).then(|| format!("+31{rest}"))
    } else {
        None
    };
    match e164 {
        Some(n) if is_e164(&n) => Some(n),
        _ => {
            c.fail("phone", "phone.format");
            Some(compact)
        }
    }
}

fn is_e164(n: &str) -> bool {
    let digits = n.strip_prefix('+').unwrap_or("");
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T>(f: impl FnOnce(&mut Check) -> T) -> (T, Vec<FieldError>) {
        let mut c = Check::default();
        let v = f(&mut c);
        (v, c.0)
    }

    #[test]
    fn kvk_is_eight_digits() {
        assert_eq!(
            run(|c| kvk(c, Some("6912 3456"))),
            (Some("69123456".into()), vec![])
        );
        assert_eq!(run(|c| kvk(c, Some(""))).0, None);
        for bad in ["1234567", "123456789", "1234567a"] {
            assert_eq!(run(|c| kvk(c, Some(bad))).1[0].code, "kvk.format", "{bad}");
        }
    }

    #[test]
    fn vat_is_the_dutch_btw_id() {
        assert_eq!(
            run(|c| vat(c, Some("nl 8234.56789 b01"))),
            (Some("NL823456789B01".into()), vec![])
        );
        for bad in [
            "NL823456789B1",
            "BE0123456789",
            "NL82345678XB01",
            "NL823456789C01",
        ] {
            assert_eq!(run(|c| vat(c, Some(bad))).1[0].code, "vat.format", "{bad}");
        }
    }

    #[test]
    fn phones_become_e164_and_dutch_local_numbers_are_accepted() {
        let ok = [
            ("06 1234 5678", "+31612345678"),
            ("020-123 4567", "+31201234567"),
            ("0031 6 12345678", "+31612345678"),
            ("+44 20 7946 0958", "+442079460958"),
            ("(010) 123 45 67", "+31101234567"),
        ];
        for (raw, want) in ok {
            assert_eq!(
                run(|c| phone(c, Some(raw))),
                (Some(want.to_string()), vec![]),
                "{raw}"
            );
        }
        for bad in [
            "12345",
            "06 1234",
            "+0 123 456 789",
            "call me",
            "+3161234567890123",
        ] {
            assert_eq!(
                run(|c| phone(c, Some(bad))).1[0].code,
                "phone.format",
                "{bad}"
            );
        }
    }

    #[test]
    fn domains_are_bare_hosts() {
        assert_eq!(
            run(|c| domain(c, Some("https://www.Bloemenhuis.example/contact"))),
            (Some("bloemenhuis.example".into()), vec![])
        );
        for bad in ["localhost", "-bad.example", "a..b", "exa mple.nl"] {
            assert_eq!(
                run(|c| domain(c, Some(bad))).1[0].code,
                "domain.format",
                "{bad}"
            );
        }
    }

    #[test]
    fn names_and_notes_have_bounds() {
        assert_eq!(run(|c| name(c, "name", "  ")).1[0].code, "required");
        assert_eq!(
            run(|c| name(c, "name", &"x".repeat(201))).1[0].code,
            "too_long"
        );
        let long = "n".repeat(MAX_NOTES + 1);
        assert_eq!(
            run(|c| text(c, "notes", Some(&long), MAX_NOTES)).1[0].code,
            "too_long"
        );
        assert_eq!(
            run(|c| email(c, Some("Anouk@Bloemenhuis.example")))
                .0
                .as_deref(),
            Some("anouk@bloemenhuis.example")
        );
        assert_eq!(
            run(|c| email(c, Some("no-at-sign"))).1[0].code,
            "email.format"
        );
    }
}
