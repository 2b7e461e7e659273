//! Each line of a file, checked as its form would check it: the line's
//! cells go through the very validation of the contact and organisation
//! forms, so an import accepts exactly what a form accepts. On top come
//! the rules a file adds: a line with more filled cells than the header
//! has columns, and the same email, domain or organisation name twice.

use std::collections::HashMap;

use super::super::contacts::{ContactFields, ContactForm};
use super::super::organisations::{OrganisationFields, OrganisationForm};
use super::super::validate::{self, Check};
use super::file::{Row, Table};
use super::mapping::Mapping;
use super::{ImportKind, LineError};

/// A line that passed, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    /// A contact, and the name of its organisation as the file gave it.
    Contact(ContactFields, Option<String>),
    Organisation(OrganisationFields),
}

impl Checked {
    /// The values as they will be stored, in the order of
    /// [`ImportKind::fields`].
    pub fn values(&self) -> Vec<String> {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        match self {
            Checked::Contact(f, org) => vec![
                f.name.clone(),
                s(&f.email),
                s(&f.phone),
                s(org),
                s(&f.notes),
            ],
            Checked::Organisation(f) => vec![
                f.name.clone(),
                s(&f.domain),
                s(&f.kvk),
                s(&f.vat),
                s(&f.address),
                s(&f.notes),
            ],
        }
    }
}

/// The file's lines in order: each line's checked fields, or `None`
/// where the line failed; and every failure, by line.
pub struct Outcome {
    pub lines: Vec<(u64, Option<Checked>)>,
    pub errors: Vec<LineError>,
}

fn cell<'r>(row: &'r Row, mapping: &Mapping, field: &str) -> Option<&'r str> {
    mapping
        .iter()
        .position(|f| *f == Some(field))
        .and_then(|i| row.cell(i))
}

/// Checks one line as its form would.
fn check_line(
    kind: ImportKind,
    row: &Row,
    mapping: &Mapping,
) -> Result<Checked, Vec<validate::FieldError>> {
    let c = |f| cell(row, mapping, f);
    match kind {
        ImportKind::Contacts => {
            // The organisation is named, not picked from a list: checked
            // as the organisation form checks a name.
            let mut org = Check::default();
            let org_name = c("organisation").map(|n| validate::name(&mut org, "organisation", n));
            let form = ContactForm {
                name: c("name").unwrap_or(""),
                email: c("email"),
                phone: c("phone"),
                notes: c("notes"),
                ..Default::default()
            };
            match (form.validate(), org.finish(org_name)) {
                (Ok(mut f), Ok(org_name)) => {
                    f.source = "import";
                    Ok(Checked::Contact(f, org_name))
                }
                (a, b) => Err(a
                    .err()
                    .into_iter()
                    .flatten()
                    .chain(b.err().into_iter().flatten())
                    .collect()),
            }
        }
        ImportKind::Organisations => OrganisationForm {
            name: c("name").unwrap_or(""),
            domain: c("domain"),
            kvk: c("kvk"),
            vat: c("vat"),
            address: c("address"),
            notes: c("notes"),
            ..Default::default()
        }
        .validate()
        .map(Checked::Organisation),
    }
}

/// The keys that must be unique within one file: (field, key, code).
fn unique_keys(c: &Checked) -> Vec<(&'static str, String, &'static str)> {
    match c {
        Checked::Contact(f, _) => f
            .email
            .iter()
            .map(|e| ("email", e.clone(), "email.duplicate"))
            .collect(),
        Checked::Organisation(f) => {
            std::iter::once(("name", f.name.to_lowercase(), "name.duplicate"))
                .chain(
                    f.domain
                        .iter()
                        .map(|d| ("domain", d.clone(), "domain.duplicate")),
                )
                .collect()
        }
    }
}

/// Checks every line of `table` (with a usable `mapping`).
pub fn check(kind: ImportKind, table: &Table, mapping: &Mapping) -> Outcome {
    let mut errors = Vec::new();
    let mut seen: HashMap<(&'static str, String), u64> = HashMap::new();
    let lines = table
        .rows
        .iter()
        .map(|row| {
            let fail = |errors: &mut Vec<LineError>, field, code| {
                errors.push(LineError {
                    line: row.line,
                    field,
                    code,
                });
            };
            let mut ok = true;
            // A filled cell beyond the header: the line does not line up
            // with the columns (a separator too many, a missed quote).
            if row
                .cells
                .iter()
                .skip(table.header.len())
                .any(|c| !c.is_empty())
            {
                fail(&mut errors, "row", "row.columns");
                ok = false;
            }
            let checked = match check_line(kind, row, mapping) {
                Ok(c) => Some(c),
                Err(fields) => {
                    for f in fields {
                        fail(&mut errors, f.field, f.code);
                    }
                    None
                }
            };
            if let Some(c) = &checked {
                for (field, key, code) in unique_keys(c) {
                    if seen.insert((field, key), row.line).is_some() {
                        fail(&mut errors, field, code);
                        ok = false;
                    }
                }
            }
            (row.line, checked.filter(|_| ok))
        })
        .collect();
    Outcome { lines, errors }
}

#[cfg(test)]
mod tests {
    use super::super::file::parse;
    use super::super::mapping::guess;
    use super::*;

    fn run(kind: ImportKind, csv: &str) -> Outcome {
        let t = parse(csv).unwrap();
        let m = guess(kind, &t.header);
        check(kind, &t, &m)
    }

    fn codes(o: &Outcome) -> Vec<(u64, &str, &str)> {
        o.errors.iter().map(|e| (e.line, e.field, e.code)).collect()
    }

    #[test]
    fn contacts_are_checked_as_the_form_checks_them() {
        let o = run(
            ImportKind::Contacts,
            "naam;e-mail;telefoon;organisatie\n\
             Anouk Jansen;Anouk@Bloemenhuis.example;06 1234 5678;Bloemenhuis\n\
             ;bram@example.nl;12345;\n\
             Carla;anouk@bloemenhuis.example;;\n\
             Daan;;;Bloemenhuis;x\n",
        );
        assert_eq!(
            codes(&o),
            [
                (3, "name", "required"),
                (3, "phone", "phone.format"),
                (4, "email", "email.duplicate"),
                (5, "row", "row.columns"),
            ]
        );
        let Some((2, Some(Checked::Contact(f, org)))) = o.lines.first().cloned() else {
            panic!("line 2 should pass");
        };
        assert_eq!(f.email.as_deref(), Some("anouk@bloemenhuis.example"));
        assert_eq!(f.phone.as_deref(), Some("+31612345678"));
        assert_eq!((f.source, org.as_deref()), ("import", Some("Bloemenhuis")));
        assert_eq!(o.lines.iter().filter(|(_, c)| c.is_some()).count(), 1);
    }

    #[test]
    fn organisations_are_checked_as_the_form_checks_them() {
        let o = run(
            ImportKind::Organisations,
            "Bedrijfsnaam,Website,KvK,BTW\n\
             Bloemenhuis,https://www.bloemenhuis.example/,6912 3456,NL823456789B01\n\
             Kapot BV,,1234,BE0123\n\
             bloemenhuis,bloemenhuis.example,,\n",
        );
        assert_eq!(
            codes(&o),
            [
                (3, "kvk", "kvk.format"),
                (3, "vat", "vat.format"),
                (4, "name", "name.duplicate"),
                (4, "domain", "domain.duplicate"),
            ]
        );
        let Some((_, Some(first))) = o.lines.first() else {
            panic!("line 2 should pass")
        };
        assert_eq!(
            first.values(),
            [
                "Bloemenhuis",
                "bloemenhuis.example",
                "69123456",
                "NL823456789B01",
                "",
                ""
            ]
        );
    }
}
