//! The English → Dutch catalog of the files panel on the deal and
//! organisation pages, and the branding settings (issue 17).

pub const FILES_CATALOG: &[(&str, &str)] = &[
    ("Contracts and signatures", "Contracten en handtekeningen"),
    ("Contract", "Contract"),
    ("Signature", "Handtekening"),
    ("Kind", "Soort"),
    (
        "File (PDF, PNG or JPEG, at most 10 MB)",
        "Bestand (PDF, PNG of JPEG, hoogstens 10 MB)",
    ),
    ("Upload", "Uploaden"),
    ("No files yet.", "Nog geen bestanden."),
    ("File uploaded.", "Bestand geüpload."),
    ("File deleted.", "Bestand verwijderd."),
    ("Delete file", "Bestand verwijderen"),
    (
        "The file is larger than 10 MB. Nothing was stored.",
        "Het bestand is groter dan 10 MB. Er is niets opgeslagen.",
    ),
    (
        "Only PDF, PNG and JPEG files (a signature: PNG or JPEG), recognised by their content. Nothing was stored.",
        "Alleen PDF, PNG en JPEG (een handtekening: PNG of JPEG), herkend aan de inhoud. Er is niets opgeslagen.",
    ),
    (
        "Choose the kind of file: contract or signature.",
        "Kies het soort bestand: contract of handtekening.",
    ),
    (
        "Choose a file to upload.",
        "Kies een bestand om te uploaden.",
    ),
    // /settings/branding
    ("Invoice branding", "Huisstijl op facturen"),
    (
        "New invoice PDFs show the workspace's name with these details as the sender. Issued invoices keep what they were rendered with.",
        "Nieuwe factuur-pdf's tonen de naam van de werkruimte met deze gegevens als afzender. Verzonden facturen houden wat er toen op stond.",
    ),
    ("Logo", "Logo"),
    ("saved", "opgeslagen"),
    ("not set", "niet ingevuld"),
    (
        "As it should appear on invoices, on one line.",
        "Zoals het op facturen moet staan, op één regel.",
    ),
    ("Eight digits.", "Acht cijfers."),
    (
        "NL, nine digits, B and two digits (NL123456789B01).",
        "NL, negen cijfers, B en twee cijfers (NL123456789B01).",
    ),
    ("Save branding", "Huisstijl opslaan"),
    (
        "Logo (PNG or JPEG, at most 512 KB)",
        "Logo (PNG of JPEG, hoogstens 512 KB)",
    ),
    ("Upload logo", "Logo uploaden"),
    (
        "Only owners change the workspace's branding.",
        "Alleen eigenaren wijzigen de huisstijl van de werkruimte.",
    ),
    (
        "Logo saved. New invoices show it.",
        "Logo opgeslagen. Nieuwe facturen tonen het.",
    ),
    (
        "A logo is at most 512 KB. Nothing was stored.",
        "Een logo is hoogstens 512 KB. Er is niets opgeslagen.",
    ),
    (
        "A logo is a PNG or JPEG image, recognised by its content. Nothing was stored.",
        "Een logo is een PNG- of JPEG-afbeelding, herkend aan de inhoud. Er is niets opgeslagen.",
    ),
    (
        "This image cannot be used: save it as an 8-bit PNG or a grey or RGB JPEG of at most 2000 pixels a side. Nothing was stored.",
        "Deze afbeelding is niet bruikbaar: sla haar op als 8-bits PNG of als grijze of RGB-JPEG van hoogstens 2000 pixels per zijde. Er is niets opgeslagen.",
    ),
];
