//! The CRM forms' field labels and validation messages (English keys of
//! the translation catalog), by the stable codes the domain reports.

/// A field's label (the server words refusals with it).
#[cfg(feature = "ssr")]
pub fn label(field: &str) -> &'static str {
    match field {
        "name" => "Name",
        "domain" => "Website domain",
        "kvk" => "KvK number",
        "vat" => "VAT number",
        "address" => "Address",
        "owner" => "Owner",
        "notes" => "Notes",
        "email" => "Email",
        "phone" => "Phone",
        "organisation" => "Organisation",
        "source" => "Source",
        "title" => "Title",
        "value" => "Value (euro)",
        "expected_close" => "Expected close",
        "stage" => "Stage",
        "reason" => "Reason",
        "contact" => "Contact",
        "label" => "Stage name",
        "outcome" => "Outcome",
        "key" => "Stage",
        "move_to" => "Move its deals to",
        "target_minutes" => "Target (minutes)",
        "day_start" => "Business day starts",
        "day_end" => "Business day ends",
        "month" => "Closing month",
        "sort" => "Sort by",
        "dir" => "Order",
        "page" => "Page",
        "page_views_months" => "Page views",
        "visitors_months" => "Visitors without activity",
        "contacts_months" => "Contacts without a deal or activity",
        "audit_months" => "Audit log",
        "note" => "Note",
        "visitor" => "Visitor",
        _ => "Field",
    }
}

/// A validation code's message.
pub fn code_text(code: &str) -> &'static str {
    match code {
        "required" => "This field is required.",
        "too_long" => "This is too long.",
        "kvk.format" => "A KvK number is eight digits.",
        "vat.format" => "A Dutch VAT number is NL, nine digits, B and two digits (NL123456789B01).",
        "domain.format" => "Enter a website domain, like example.nl.",
        "domain.taken" => "Another organisation in this workspace has this domain.",
        "email.format" => "Enter a valid email address.",
        "email.taken" => "Another contact in this workspace has this email address.",
        "phone.format" => {
            "Enter a phone number with country code (+31 6 12345678) or a Dutch number (06 12345678)."
        }
        "unknown" => "Choose one from the list.",
        "value.format" => "Enter an amount in euro, like 12.500,00.",
        "date.format" => "Enter a date.",
        "reason.required" => "Say why the deal was won or lost.",
        "stage.closed" => "A new deal starts in an open stage.",
        "stage.taken" => "Another stage has this name.",
        "stage.limit" => "A pipeline has at most 20 stages.",
        "stage.last" => "The pipeline needs at least one open, one won and one lost stage.",
        "stage.move_to" => "Choose a stage with the same outcome for this stage's deals.",
        "sla.minutes" => "Enter a whole number of minutes between 5 and 10080 (one week).",
        "sla.day_order" => "The business day must end after it starts.",
        "time.format" => "Enter a time, like 09:00.",
        "month.format" => "Enter a month, like 2027-03.",
        "retention.months" => "Enter a whole number of months within the allowed range.",
        "note.personal" => "The note must not name the person.",
        "visitor.has_contact" => {
            "This visitor is linked to a contact: erase the contact, which erases this visitor too."
        }
        "contact.has_trail" => {
            "This contact has website visits or consent on record: erase it instead (a member who may erase personal data can)."
        }
        _ => "This value is not valid.",
    }
}
