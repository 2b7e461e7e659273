//! The English → Dutch catalog of the conversion uploads panel (deal and
//! person pages, issue 18).

pub const CONVERSIONS_CATALOG: &[(&str, &str)] = &[
    ("Conversion uploads", "Conversie-uploads"),
    (
        "Sent to the ad platforms only with the person's marketing consent on record at the moment of sending.",
        "Alleen naar de advertentieplatforms verzonden met marketingtoestemming van de persoon op het moment van verzenden.",
    ),
    ("uploaded", "geüpload"),
    ("waiting to be sent", "wacht op verzending"),
    (
        "not sent: no marketing consent",
        "niet verzonden: geen marketingtoestemming",
    ),
    ("not sent: person erased", "niet verzonden: persoon gewist"),
    (
        "not sent: platform disconnected",
        "niet verzonden: platform ontkoppeld",
    ),
    (
        "not sent: no email or phone on record",
        "niet verzonden: geen e-mailadres of telefoonnummer bekend",
    ),
    ("not sent", "niet verzonden"),
    ("failed", "mislukt"),
];
