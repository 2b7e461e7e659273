//! Which column of a file goes to which field: guessed from the header
//! (English and Dutch names, as people and other CRMs write them), and
//! changed by the user in the preview. On the wire a mapping is the
//! fields' keys in column order, comma-separated, an empty key for a
//! column left out: `name,email,,phone`.

use super::super::validate::FieldError;
use super::ImportKind;

/// Each column's field, in column order; `None` leaves the column out.
pub type Mapping = Vec<Option<&'static str>>;

/// The names a header may give each field, compared after lower-casing
/// and dropping everything but letters and digits (`E-mail adres` is
/// `emailadres`).
const SYNONYMS: &[(&str, &[&str])] = &[
    (
        "email",
        &["email", "emailadres", "emailaddress", "mail", "mailadres"],
    ),
    (
        "phone",
        &[
            "phone",
            "phonenumber",
            "telephone",
            "tel",
            "telefoon",
            "telefoonnummer",
            "telnr",
            "mobile",
            "mobiel",
            "mobielnummer",
        ],
    ),
    (
        "notes",
        &[
            "notes",
            "note",
            "notities",
            "notitie",
            "opmerkingen",
            "opmerking",
            "toelichting",
            "comments",
        ],
    ),
    (
        "domain",
        &[
            "domain",
            "domein",
            "website",
            "websitedomain",
            "websitedomein",
            "url",
            "site",
            "web",
        ],
    ),
    (
        "kvk",
        &[
            "kvk",
            "kvknummer",
            "kvknr",
            "kamervankoophandel",
            "coc",
            "chamberofcommerce",
        ],
    ),
    (
        "vat",
        &[
            "vat",
            "vatnumber",
            "vatid",
            "btw",
            "btwnummer",
            "btwnr",
            "btwid",
            "btwidnummer",
        ],
    ),
    (
        "address",
        &[
            "address",
            "adres",
            "vestigingsadres",
            "bezoekadres",
            "postadres",
        ],
    ),
];

/// Names of a person (contacts) or of an organisation (organisations).
const PERSON_NAMES: &[&str] = &[
    "name",
    "naam",
    "fullname",
    "volledigenaam",
    "contact",
    "contactpersoon",
    "contactnaam",
];
const ORGANISATION_NAMES: &[&str] = &[
    "organisation",
    "organization",
    "organisatie",
    "organisatienaam",
    "company",
    "companyname",
    "bedrijf",
    "bedrijfsnaam",
];

fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The field a header names for this kind of import, if any.
fn field_for(kind: ImportKind, header: &str) -> Option<&'static str> {
    let h = normalise(header);
    let h = h.as_str();
    match kind {
        ImportKind::Contacts if PERSON_NAMES.contains(&h) => return Some("name"),
        ImportKind::Contacts if ORGANISATION_NAMES.contains(&h) => return Some("organisation"),
        ImportKind::Organisations
            if ORGANISATION_NAMES.contains(&h) || ["name", "naam"].contains(&h) =>
        {
            return Some("name");
        }
        _ => {}
    }
    SYNONYMS
        .iter()
        .find(|(_, names)| names.contains(&h))
        .map(|(field, _)| *field)
        .filter(|f| kind.fields().contains(f))
}

/// The mapping the header suggests: each column whose name is a field's
/// (the first such column, if several are) goes to that field.
pub fn guess(kind: ImportKind, header: &[String]) -> Mapping {
    let mut taken: Vec<&str> = Vec::new();
    header
        .iter()
        .map(|h| {
            let f = field_for(kind, h).filter(|f| !taken.contains(f))?;
            taken.push(f);
            Some(f)
        })
        .collect()
}

fn mapping_error(code: &'static str) -> FieldError {
    FieldError {
        field: "mapping",
        code,
    }
}

/// Reads a mapping as posted for a file of `columns` columns: one key
/// per column, each a field of this kind or empty. Anything else is
/// `mapping.format`.
pub fn parse(kind: ImportKind, raw: &str, columns: usize) -> Result<Mapping, FieldError> {
    let keys: Vec<&str> = raw.split(',').map(str::trim).collect();
    if keys.len() != columns {
        return Err(mapping_error("mapping.format"));
    }
    keys.into_iter()
        .map(|k| match k {
            "" => Ok(None),
            k => kind
                .fields()
                .iter()
                .find(|f| **f == k)
                .map(|f| Some(*f))
                .ok_or_else(|| mapping_error("mapping.format")),
        })
        .collect()
}

/// The mapping as posted (see [`parse`]).
pub fn format(m: &Mapping) -> String {
    m.iter()
        .map(|f| f.unwrap_or(""))
        .collect::<Vec<_>>()
        .join(",")
}

/// What makes a mapping unusable: no column for the name
/// (`mapping.name`), or one field taken by two columns
/// (`mapping.duplicate`).
pub fn check(m: &Mapping) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !m.contains(&Some("name")) {
        errors.push(mapping_error("mapping.name"));
    }
    let mut seen: Vec<&str> = Vec::new();
    for f in m.iter().flatten() {
        if seen.contains(f) {
            errors.push(mapping_error("mapping.duplicate"));
            break;
        }
        seen.push(f);
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cols: &[&str]) -> Vec<String> {
        cols.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dutch_and_english_headers_are_recognised() {
        let h = header(&[
            "Naam",
            "E-mailadres",
            "Telefoon",
            "Bedrijf",
            "Opmerkingen",
            "Geboortedatum",
        ]);
        assert_eq!(
            guess(ImportKind::Contacts, &h),
            [
                Some("name"),
                Some("email"),
                Some("phone"),
                Some("organisation"),
                Some("notes"),
                None
            ]
        );
        let h = header(&[
            "Company name",
            "Website",
            "KvK-nummer",
            "BTW-id",
            "Adres",
            "E-mail",
        ]);
        assert_eq!(
            guess(ImportKind::Organisations, &h),
            [
                Some("name"),
                Some("domain"),
                Some("kvk"),
                Some("vat"),
                Some("address"),
                None
            ]
        );
        // A field is guessed for its first column only.
        assert_eq!(
            guess(ImportKind::Contacts, &header(&["email", "mail"])),
            [Some("email"), None]
        );
    }

    #[test]
    fn a_posted_mapping_is_checked_against_the_kind_and_the_file() {
        let m = parse(ImportKind::Contacts, "name,, email", 3).unwrap();
        assert_eq!(m, [Some("name"), None, Some("email")]);
        assert_eq!(format(&m), "name,,email");
        assert!(check(&m).is_empty());
        for (raw, n) in [("name,email", 3), ("name,kvk", 2), ("name,'; drop", 2)] {
            assert_eq!(
                parse(ImportKind::Contacts, raw, n).unwrap_err().code,
                "mapping.format",
                "{raw}"
            );
        }
        let codes = |m: &Mapping| check(m).iter().map(|e| e.code).collect::<Vec<_>>();
        assert_eq!(codes(&vec![Some("email"), None]), ["mapping.name"]);
        assert_eq!(
            codes(&vec![Some("name"), Some("email"), Some("email")]),
            ["mapping.duplicate"]
        );
    }
}
